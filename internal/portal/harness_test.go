package portal_test

import (
	"bytes"
	"context"
	"errors"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/lockgate/lockgate/internal/config"
	"github.com/lockgate/lockgate/internal/lock"
	"github.com/lockgate/lockgate/internal/server"
	"github.com/lockgate/lockgate/lockclient"
)

const adminToken = "portal-test-admin-token-7aErYS3BhiEGKr95"

// clock is the server's clock: real time plus an offset a test moves.
type clock struct{ offset atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// logBuffer keeps the server's log for tests that check what it says.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// env is a running lockgate with the portal, an application "Shop" and its
// lock-check client.
type env struct {
	t     *testing.T
	base  string // http://localhost:PORT: the portal's origin
	srv   *server.Server
	svc   *lock.Service
	clock *clock
	log   *logBuffer
	app   lock.Application
	key   lock.NewKey
	lc    *lockclient.Client
}

// start runs lockgate on a loopback port; edit changes the configuration.
func start(t *testing.T, edit func(*server.Config)) *env {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://localhost:" + strings.TrimPrefix(ln.Addr().String(), "127.0.0.1:")
	cfg := server.Default()
	cfg.DataDir = config.Path(t.TempDir())
	cfg.AdminToken = adminToken
	cfg.PublicURLs = []string{base}
	cfg.Webhooks.AllowNetworks = []string{"127.0.0.0/8"}
	if edit != nil {
		edit(&cfg)
	}
	e := &env{t: t, base: base, clock: &clock{}, log: &logBuffer{}}
	log := slog.New(slog.NewTextHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.Open(ctx, cfg, log, server.Options{Now: e.clock.Now})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	e.srv, e.svc = srv, srv.Service()
	name := "Shop"
	e.app, e.key, err = e.svc.CreateApplication(ctx, lock.ApplicationInput{Name: &name, Issuers: []string{"https://shop.example"}})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := lockclient.DecodeKey(e.key.Secret)
	e.lc, err = lockclient.New(lockclient.Config{APIURI: base, Issuer: "https://shop.example", SigningKey: key, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// person creates a person owning the Shop accounts named.
func (e *env) person(name, email string, usernames ...string) lock.Person {
	e.t.Helper()
	ctx := context.Background()
	p, err := e.svc.CreatePerson(ctx, name, email)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, u := range usernames {
		if _, err := e.svc.AssignAccount(ctx, e.app.ID, u, p.ID); err != nil {
			e.t.Fatal(err)
		}
	}
	return p
}

// check asks the lock check for a Shop username.
func (e *env) check(req lockclient.Request) lockclient.Decision {
	e.t.Helper()
	d, err := e.lc.Check(context.Background(), req)
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

// enrolLink issues an enrolment link through the admin API.
func (e *env) enrolLink(personID string) string {
	e.t.Helper()
	c := e.client()
	c.bearer = adminToken
	res := c.post("/api/v1/admin/persons/"+personID+"/enrol-links", nil)
	if res.status != http.StatusCreated {
		e.t.Fatalf("enrol link: %d %s", res.status, res.body)
	}
	m := regexp.MustCompile(`"url":"([^"]+)"`).FindStringSubmatch(res.body)
	if m == nil {
		e.t.Fatalf("enrol link: %s", res.body)
	}
	return m[1]
}

// client is a browser as far as cookies go: it keeps what servers set,
// Secure cookies included (the origin is localhost, which browsers treat
// as secure), sends them back, and follows no redirect.
type client struct {
	t       *testing.T
	base    string
	cookies map[string]string
	bearer  string
	header  http.Header
	now     func() time.Time // the server's clock, for TOTP codes
}

func (e *env) client() *client {
	return &client{t: e.t, base: e.base, cookies: map[string]string{}, header: http.Header{}, now: e.clock.Now}
}

type response struct {
	status  int
	body    string
	header  http.Header
	cookies []*http.Cookie
}

func (r response) location() string { return r.header.Get("Location") }

func (c *client) do(method, path string, body io.Reader, ctype string) response {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, vs := range c.header {
		req.Header[k] = vs
	}
	for k, v := range c.cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 30 * time.Second}
	res, err := hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	for _, ck := range res.Cookies() {
		if ck.MaxAge < 0 {
			delete(c.cookies, ck.Name)
		} else {
			c.cookies[ck.Name] = ck.Value
		}
	}
	return response{status: res.StatusCode, body: string(b), header: res.Header, cookies: res.Cookies()}
}

func (c *client) get(path string) response { return c.do("GET", path, nil, "") }

func (c *client) post(path string, form url.Values) response {
	return c.do("POST", path, strings.NewReader(form.Encode()), "application/x-www-form-urlencoded")
}

var (
	csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	csrfMeta  = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`)
)

// csrf is the CSRF token of the page at path.
func (c *client) csrf(path string) string {
	c.t.Helper()
	res := c.get(path)
	m := csrfField.FindStringSubmatch(res.body)
	if m == nil {
		m = csrfMeta.FindStringSubmatch(res.body)
	}
	if m == nil {
		c.t.Fatalf("no CSRF token on %s (%d): %.300s", path, res.status, res.body)
	}
	return html.UnescapeString(m[1])
}

// submit posts a form of the page at page, with its CSRF token.
func (c *client) submit(page, action string, form url.Values) response {
	c.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", c.csrf(page))
	return c.post(action, form)
}

const password = "correct horse battery staple"

var secretOnPage = regexp.MustCompile(`<code id="totp-secret">([A-Z2-7]+)</code>`)

// enrolPassword goes through an enrolment link with a password and TOTP,
// and returns the TOTP secret; c is signed in afterwards.
func (c *client) enrolPassword(link, login string) string {
	c.t.Helper()
	u, _ := url.Parse(link)
	path := u.Path + "?" + u.RawQuery
	res := c.submit(path, "/portal/enrol", url.Values{"t": {u.Query().Get("t")}})
	if res.status != http.StatusSeeOther || res.location() != "/portal/enrol/setup" {
		c.t.Fatalf("enrol start: %d %s", res.status, res.body)
	}
	page := c.get("/portal/enrol/setup")
	m := secretOnPage.FindStringSubmatch(page.body)
	if m == nil {
		c.t.Fatalf("no TOTP secret on the set-up page: %.500s", page.body)
	}
	code := totpCode(c.t, m[1], c.now())
	res = c.submit("/portal/enrol/setup", "/portal/enrol/password", url.Values{"login": {login}, "password": {password}, "confirm": {password}, "code": {code}})
	if res.status != http.StatusSeeOther || res.location() != "/portal/?m=enrolled" {
		c.t.Fatalf("enrol with a password: %d %s", res.status, res.body)
	}
	return m[1]
}

// signIn signs in with a password and the TOTP code of the next time step
// (the current one was used by the enrolment).
func (c *client) signIn(login, pw, secret string) response {
	c.t.Helper()
	code := totpCode(c.t, secret, c.now().Add(30*time.Second))
	return c.submit("/portal/sign-in", "/portal/sign-in", url.Values{"login": {login}, "password": {pw}, "code": {code}})
}

func totpCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	code, err := totp.GenerateCode(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return code
}
