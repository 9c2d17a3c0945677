package portal

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"golang.org/x/crypto/argon2"

	"github.com/lockgate/lockgate/internal/lock"
)

// --- passwords ---

// argon2id with OWASP's minimum: 19 MiB, 2 passes, 1 lane.
const (
	argonMemory = 19 * 1024
	argonTime   = 2
	argonLanes  = 1
)

// Password bounds: long enough to resist guessing, short enough that
// hashing one costs no more than intended.
const (
	minPassword = 12
	maxPassword = 256
)

func hashPassword(pw string) string {
	salt := []byte(randomString(16))
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonLanes, 32)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonLanes,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

func verifyPassword(stored, pw string) bool {
	parts := strings.Split(stored, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var l uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &l); err != nil || m > 1<<20 || t > 20 || l == 0 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, l, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is verified against when the name is unknown, so that an
// unknown name takes as long to refuse as a wrong password. It is made on
// first use: argon2id costs every lockgate process (each CLI call
// included) about 48 ms of CPU and 20 MB at start otherwise.
var dummyHash = sync.OnceValue(func() string { return hashPassword("lockgate-no-such-login") })

func checkNewPassword(pw, confirm string) error {
	switch n := utf8.RuneCountInString(pw); {
	case n < minPassword:
		return fmt.Errorf("the password must have at least %d characters", minPassword)
	case len(pw) > maxPassword:
		return fmt.Errorf("the password must have at most %d bytes", maxPassword)
	case pw != confirm:
		return errors.New("the two passwords differ")
	}
	return nil
}

// --- TOTP ---

var totpOpts = totp.ValidateOpts{Period: 30, Skew: 1, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// totpStep returns the time step code is good for at now (one step of
// clock skew either way), or false.
func totpStep(secret, code string, now time.Time) (int64, bool) {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if len(code) != 6 {
		return 0, false
	}
	for _, skew := range []int64{0, -1, 1} {
		t := now.Add(time.Duration(skew*30) * time.Second)
		want, err := totp.GenerateCodeCustom(secret, t, totpOpts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return t.Unix() / 30, true
		}
	}
	return 0, false
}

// --- failed sign-ins ---

// limiter counts failed sign-ins per key (a source network, a sign-in
// name): a budget of burst failures refilled by one every refill.
type limiter struct {
	burst  float64
	refill time.Duration
	now    func() time.Time
	mu     sync.Mutex
	m      map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

const maxLimiterKeys = 100_000

func newLimiter(burst int, refill time.Duration, now func() time.Time) *limiter {
	return &limiter{burst: float64(burst), refill: refill, now: now, m: map[string]*bucket{}}
}

func (l *limiter) level(b *bucket, now time.Time) float64 {
	b.tokens = math.Min(l.burst, b.tokens+float64(now.Sub(b.at))/float64(l.refill))
	b.at = now
	return b.tokens
}

// blocked reports whether any of keys has no failure left, and for how
// long.
func (l *limiter) blocked(keys ...string) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var wait time.Duration
	for _, k := range keys {
		if b := l.m[k]; b != nil {
			if t := l.level(b, l.now()); t < 1 {
				wait = max(wait, time.Duration((1-t)*float64(l.refill)))
			}
		}
	}
	return wait, wait > 0
}

func (l *limiter) fail(keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for _, k := range keys {
		b := l.m[k]
		if b == nil {
			if len(l.m) >= maxLimiterKeys {
				for k, v := range l.m {
					if l.level(v, now) >= l.burst {
						delete(l.m, k)
					}
				}
			}
			b = &bucket{tokens: l.burst, at: now}
			l.m[k] = b
		}
		l.level(b, now)
		b.tokens = math.Max(0, b.tokens-1)
	}
}

// sourceKey is the limiter's key of a client: its IPv4 address or IPv6 /64.
func sourceKey(r *http.Request) string {
	a, err := netip.ParseAddr(clientIP(r))
	if err != nil {
		return "ip:?"
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return "ip:" + p.String()
	}
	return "ip:" + a.String()
}

func loginName(s string) string { return lock.CanonicalUsername(lock.MatchCaseless, s) }

// tooMany answers a sign-in that the limiter refuses.
func (p *Portal) tooMany(w http.ResponseWriter, r *http.Request, page string, wait time.Duration, data map[string]any) {
	secs := strconv.Itoa(max(1, int(math.Ceil(wait.Seconds()))))
	w.Header().Set("Retry-After", secs)
	data["Error"] = "Too many failed sign-ins from here or for this name. Try again in " + secs + " seconds."
	p.render(w, r, http.StatusTooManyRequests, page, nil, data)
}

// --- owner sign-in ---

func (p *Portal) signInPage(w http.ResponseWriter, r *http.Request) {
	if _, err := p.loadSession(r, ownerCookie, lock.SessionOwner); err == nil {
		http.Redirect(w, r, "/portal/", http.StatusSeeOther)
		return
	}
	p.render(w, r, http.StatusOK, "signin", nil, map[string]any{"Title": "Sign in", "PreCSRF": preToken(w, r)})
}

// signInPassword signs in with a name, a password and a TOTP code. Every
// failure looks the same to the client and is logged with its reason.
func (p *Portal) signInPassword(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	data := map[string]any{"Title": "Sign in", "PreCSRF": preToken(w, r)}
	if !checkPre(r) {
		p.refuse(w, r, http.StatusForbidden, "csrf", csrfRefused)
		return
	}
	name := loginName(r.PostFormValue("login"))
	src, who := sourceKey(r), "login:"+name
	if wait, blocked := p.limiter.blocked(src, who); blocked {
		p.log.Warn("portal: sign-in refused: too many failures", "login", name, "remote", clientIP(r))
		p.tooMany(w, r, "signin", wait, data)
		return
	}
	reason := ""
	l, err := p.st.LoginByName(r.Context(), name)
	switch {
	case errors.Is(err, lock.ErrNotFound):
		verifyPassword(dummyHash(), r.PostFormValue("password"))
		reason = "unknown name"
	case err != nil:
		p.fail(w, r, nil, err)
		return
	case !verifyPassword(l.PasswordHash, r.PostFormValue("password")):
		reason = "wrong password"
	default:
		secret, err := p.box.Open(l.TOTPSealed, "totp:"+l.PersonID)
		if err != nil {
			p.fail(w, r, nil, err)
			return
		}
		step, ok := totpStep(string(secret), r.PostFormValue("code"), p.now())
		if !ok {
			reason = "wrong TOTP code"
		} else if fresh, err := p.st.AcceptTOTPStep(r.Context(), l.PersonID, step); err != nil {
			p.fail(w, r, nil, err)
			return
		} else if !fresh {
			reason = "TOTP code already used"
		}
	}
	if reason != "" {
		p.limiter.fail(src, who)
		p.log.Warn("portal: sign-in failed", "method", "password+totp", "login", name, "reason", reason, "remote", clientIP(r))
		data["Error"] = "Sign-in failed: the name, password or code is wrong."
		data["Login"] = r.PostFormValue("login")
		p.render(w, r, http.StatusUnauthorized, "signin", nil, data)
		return
	}
	if _, err := p.startSession(w, r, ownerCookie, lock.WebSession{Kind: lock.SessionOwner, PersonID: l.PersonID, Method: "password+totp"}, p.cfg.SessionLifetime.Std()); err != nil {
		p.fail(w, r, nil, err)
		return
	}
	p.log.Info("portal: signed in", "method", "password+totp", "person", l.PersonID, "remote", clientIP(r))
	http.Redirect(w, r, "/portal/", http.StatusSeeOther)
}

// --- admin sign-in ---

func (p *Portal) consoleSignInPage(w http.ResponseWriter, r *http.Request) {
	if _, err := p.loadSession(r, adminCookie, lock.SessionAdmin); err == nil {
		http.Redirect(w, r, "/console/", http.StatusSeeOther)
		return
	}
	p.render(w, r, http.StatusOK, "console-signin", nil, map[string]any{"Title": "Admin console", "PreCSRF": preToken(w, r)})
}

// consoleSignIn exchanges an admin token for a console session: the token
// crosses the network once, in a form post, and is never kept by the
// browser; the session ends when the token is revoked or expires.
func (p *Portal) consoleSignIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	data := map[string]any{"Title": "Admin console", "PreCSRF": preToken(w, r)}
	if !checkPre(r) {
		p.refuse(w, r, http.StatusForbidden, "csrf", csrfRefused)
		return
	}
	src := sourceKey(r)
	if wait, blocked := p.limiter.blocked(src); blocked {
		p.log.Warn("portal: console sign-in refused: too many failures", "remote", clientIP(r))
		p.tooMany(w, r, "console-signin", wait, data)
		return
	}
	tok, err := p.svc.Authenticate(r.Context(), strings.TrimSpace(r.PostFormValue("token")))
	if err == nil && tok.Scope != lock.ScopeAdmin && tok.Scope != lock.ScopeAdminRead {
		err = fmt.Errorf("%w: token %s has scope %s", lock.ErrUnauthorized, tok.ID, tok.Scope)
	}
	if errors.Is(err, lock.ErrUnauthorized) {
		p.limiter.fail(src)
		p.log.Warn("portal: console sign-in failed", "reason", err.Error(), "remote", clientIP(r))
		data["Error"] = "Sign-in failed: that is not a usable admin token."
		p.render(w, r, http.StatusUnauthorized, "console-signin", nil, data)
		return
	}
	if err != nil {
		p.fail(w, r, nil, err)
		return
	}
	life := p.cfg.SessionLifetime.Std()
	if !tok.ExpiresAt.IsZero() {
		life = min(life, tok.ExpiresAt.Sub(p.now()))
	}
	if _, err := p.startSession(w, r, adminCookie, lock.WebSession{Kind: lock.SessionAdmin, TokenID: tok.ID, Method: "admin-token"}, life); err != nil {
		p.fail(w, r, nil, err)
		return
	}
	p.log.Info("portal: console signed in", "token", tok.ID, "scope", tok.Scope, "remote", clientIP(r))
	http.Redirect(w, r, "/console/", http.StatusSeeOther)
}
