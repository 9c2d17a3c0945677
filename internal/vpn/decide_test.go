package vpn_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/oschwald/maxminddb-golang/v2"

	"github.com/lockgate/lockgate/internal/config"
	"github.com/lockgate/lockgate/internal/geo"
	"github.com/lockgate/lockgate/internal/geo/geotest"
	"github.com/lockgate/lockgate/internal/vpn"
	"github.com/lockgate/lockgate/lockclient"
)

const secret = "vpn-secret-ECeZPQnxnWkMSNn8"

// damagedDB is the test City database with 81.2.69.0/24's record broken.
func damagedDB(t *testing.T) *geo.DB {
	t.Helper()
	path := geotest.Write(t, geotest.City, geotest.Records)
	data := readFile(t, path)
	r, err := maxminddb.OpenBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	at := int(r.Metadata.NodeCount*r.Metadata.RecordSize/4) + 16 + int(r.Lookup(mustAddr("81.2.69.142")).Offset())
	data[at], data[at+1] = 0x00, 0xff
	os.WriteFile(path, data, 0o644)
	db, err := geo.Open(geo.Config{DatabaseFile: config.Path(path)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// via sends one request through a path and returns the response.
type via func(t *testing.T, h *vpn.Handler, ev []byte) vpn.Response

// overHTTP posts to POST /vpn/connect on a real listener.
func overHTTP(t *testing.T, h *vpn.Handler, ev []byte) vpn.Response {
	t.Helper()
	mux := http.NewServeMux()
	for _, e := range h.Endpoints() {
		mux.Handle(e.Pattern, e.Handler)
	}
	srv := httptest.NewServer(mux)
	defer srv.Close()
	req, _ := http.NewRequest("POST", srv.URL+"/vpn/connect", bytes.NewReader(ev))
	req.Header.Set(vpn.DefaultSecretHeader, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("POST /vpn/connect: %d %s", resp.StatusCode, body)
	}
	var r vpn.Response
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// throughLambda invokes the function as the Lambda runtime does, through
// aws-lambda-go's handler (its JSON in and out).
func throughLambda(t *testing.T, h *vpn.Handler, ev []byte) vpn.Response {
	t.Helper()
	out, err := lambda.NewHandler(h.LambdaHandler()).Invoke(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	var r vpn.Response
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func event(t *testing.T, version, ip, username string) []byte {
	t.Helper()
	var m map[string]any
	json.Unmarshal(readFile(t, "testdata/"+version+".json"), &m)
	m["public-ip"], m["username"] = ip, username
	b, _ := json.Marshal(m)
	return b
}

// The must-show: allowed country allowed, another quarantined, a
// locked user denied, a database error denied — over HTTP and through
// the Lambda handler, in every schema version.
func TestDecisions(t *testing.T) {
	lg := startLockgate(t)
	lg.lock("mallory")
	cfg := vpn.Config{Secret: secret, AllowedCountries: []string{"US", "CA"}, AllowedRegions: []string{"SE-E"}, CheckLock: true,
		LockCheck: vpn.LockCheck{AppURI: lg.Issuer, APIURI: lg.URL, SigningKeyFile: config.Path(lg.KeyFile)}}
	healthy := provision(t, cfg, vpn.Options{Serve: true})
	broken := provision(t, cfg, vpn.Options{Serve: true, Geo: damagedDB(t)})
	tests := []struct {
		name, ip, user string
		h              *vpn.Handler
		allow          bool
		reason         string
		message        string
	}{
		{"allowed country", "8.8.8.8", "alice", healthy, true, vpn.ReasonAllowed, ""},
		{"allowed country, IPv6", "2001:4860:4860::8888", "alice", healthy, true, vpn.ReasonAllowed, ""},
		{"allowed country, IPv4-mapped", "::ffff:24.48.0.1", "alice", healthy, true, vpn.ReasonAllowed, ""},
		{"allowed region of another country", "89.160.20.112", "alice", healthy, true, vpn.ReasonAllowed, ""},
		{"another country is quarantined", "81.2.69.142", "alice", healthy, false, vpn.ReasonCountry, vpn.DefaultDeniedMessage},
		{"another country, IPv6", "2001:218::1", "alice", healthy, false, vpn.ReasonCountry, vpn.DefaultDeniedMessage},
		{"an address no database places", "9.9.9.9", "alice", healthy, false, vpn.ReasonCountry, vpn.DefaultDeniedMessage},
		{"a locked user is denied", "8.8.8.8", "mallory", healthy, false, vpn.ReasonLocked, ""},
		{"no username to check", "8.8.8.8", "", healthy, false, vpn.ReasonLockFailed, vpn.DefaultDeniedMessage},
		{"a database error denies", "81.2.69.142", "alice", broken, false, vpn.ReasonGeoFailed, vpn.DefaultDeniedMessage},
		{"a bad public-ip denies", "8.8.8.8.8", "alice", healthy, false, vpn.ReasonBadRequest, vpn.DefaultDeniedMessage},
	}
	for _, path := range []struct {
		name string
		via  via
	}{{"http", overHTTP}, {"lambda", throughLambda}} {
		for _, v := range []string{"v1", "v2", "v3"} {
			for _, tt := range tests {
				t.Run(path.name+"/"+v+"/"+tt.name, func(t *testing.T) {
					r := path.via(t, tt.h, event(t, v, tt.ip, tt.user))
					if r.Allow != tt.allow || r.SchemaVersion != v {
						t.Fatalf("%+v", r)
					}
					want := []string{vpn.StatusCompliant}
					if !tt.allow {
						want = []string{vpn.StatusQuarantined, tt.reason}
					}
					if !slices.Equal(r.Statuses, want) {
						t.Errorf("statuses %v, want %v", r.Statuses, want)
					}
					if tt.message != "" && r.Message != tt.message {
						t.Errorf("message %q", r.Message)
					}
					if tt.reason == vpn.ReasonLocked && r.Message == "" {
						t.Error("a locked user gets no message")
					}
				})
			}
		}
	}
}

func TestHTTPAuthentication(t *testing.T) {
	h := provision(t, vpn.Config{Secret: secret, AllowedCountries: []string{"US"}}, vpn.Options{Serve: true})
	mux := http.NewServeMux()
	for _, e := range h.Endpoints() {
		mux.Handle(e.Pattern, e.Handler)
	}
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ev := event(t, "v2", "8.8.8.8", "alice")
	for _, tt := range []struct {
		name, secret string
		body         []byte
		status       int
		code         string
	}{
		{"no secret", "", ev, 401, "unauthorized"},
		{"wrong secret", secret[:len(secret)-1] + "X", ev, 401, "unauthorized"},
		{"secret prefix", secret[:10], ev, 401, "unauthorized"},
		{"not JSON", secret, []byte("allow me"), 400, "bad_request"},
		// encoding/json would take the lone surrogate for U+FFFD.
		{"lone surrogate", secret, bytes.Replace(ev, []byte(`"alice"`), []byte(`"alice\ud800"`), 1), 400, "bad_request"},
		{"too large", secret, bytes.Repeat([]byte(" "), 70<<10), 413, "payload_too_large"},
		{"right secret", secret, ev, 200, ""},
	} {
		req, _ := http.NewRequest("POST", srv.URL+"/vpn/connect", bytes.NewReader(tt.body))
		if tt.secret != "" {
			req.Header.Set("x-lockgate-vpn-secret", tt.secret)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status || (tt.code != "" && !strings.Contains(string(body), `"error":"`+tt.code+`"`)) {
			t.Errorf("%s: %d %s", tt.name, resp.StatusCode, body)
		}
	}
}

func TestEndpointPolicies(t *testing.T) {
	const ep1, ep2 = "cvpn-endpoint-0123456789abcdef1", "cvpn-endpoint-0123456789abcdef2"
	h := provision(t, vpn.Config{Endpoints: []vpn.Endpoint{
		{ID: ep1, AllowedCountries: []string{"GB"}, DeniedMessage: "UK staff only"},
		{ID: ep2, AllowedRegions: []string{"US-CA"}},
	}}, vpn.Options{})
	for _, tt := range []struct {
		endpoint, ip string
		allow        bool
		reason       string
	}{
		{ep1, "81.2.69.142", true, vpn.ReasonAllowed},
		{ep1, "8.8.8.8", false, vpn.ReasonCountry},
		{ep2, "8.8.8.8", true, vpn.ReasonAllowed},
		{ep2, "24.48.0.1", false, vpn.ReasonCountry},
		{"cvpn-endpoint-0123456789abcdef9", "8.8.8.8", false, vpn.ReasonNoPolicy},
	} {
		o := h.Decide(context.Background(), vpn.Request{EndpointID: tt.endpoint, PublicIP: tt.ip, SchemaVersion: "v2"})
		if o.Response.Allow != tt.allow || o.Reason != tt.reason {
			t.Errorf("%s %s: %+v", tt.endpoint, tt.ip, o)
		}
		if tt.endpoint == ep1 && !tt.allow && o.Response.Message != "UK staff only" {
			t.Errorf("message %q", o.Response.Message)
		}
	}
}

// lockedSet is a LockChecker that knows which users are locked.
type lockedSet map[string]bool

func (l lockedSet) Check(_ context.Context, req lockclient.Request) (lockclient.Decision, error) {
	return lockclient.Decision{Locked: l[req.Username], Message: "locked by its owner"}, nil
}

// An endpoint's own policy narrows the section's and never drops one of
// its checks: with check_lock at the top, a locked user is denied on an
// endpoint that only lists countries.
func TestEndpointPoliciesKeepTheSectionsChecks(t *testing.T) {
	const ep1 = "cvpn-endpoint-0123456789abcdef1"
	h := provision(t, vpn.Config{AllowedCountries: []string{"US"}, CheckLock: true,
		LockCheck: vpn.LockCheck{AppURI: "https://vpn.example", APIURI: "https://lock.example", SigningKey: "0123456789abcdef0123456789abcdef"},
		Endpoints: []vpn.Endpoint{{ID: ep1, AllowedCountries: []string{"GB"}}, {ID: "cvpn-endpoint-0123456789abcdef2", DeniedMessage: "inherits all"}},
	}, vpn.Options{Locks: lockedSet{"mallory": true}})
	for _, tt := range []struct {
		endpoint, ip, user string
		allow              bool
		reason             string
	}{
		{ep1, "81.2.69.142", "alice", true, vpn.ReasonAllowed},
		{ep1, "81.2.69.142", "mallory", false, vpn.ReasonLocked},
		{ep1, "8.8.8.8", "alice", false, vpn.ReasonCountry}, // its own countries replace the section's
		{"cvpn-endpoint-0123456789abcdef2", "8.8.8.8", "alice", true, vpn.ReasonAllowed},
		{"cvpn-endpoint-0123456789abcdef2", "81.2.69.142", "alice", false, vpn.ReasonCountry},
		{"cvpn-endpoint-0123456789abcdef2", "8.8.8.8", "mallory", false, vpn.ReasonLocked},
	} {
		o := h.Decide(context.Background(), vpn.Request{EndpointID: tt.endpoint, PublicIP: tt.ip, Username: tt.user, SchemaVersion: "v2"})
		if o.Response.Allow != tt.allow || o.Reason != tt.reason {
			t.Errorf("%s %s %s: %+v", tt.endpoint, tt.ip, tt.user, o)
		}
	}
}
