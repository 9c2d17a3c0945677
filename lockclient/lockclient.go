// Package lockclient asks a lock-check API (lockgate's, or any service
// compatible with the Next Level3 Account Protection API) whether an
// account is locked.
//
// It signs tokens as existing integrations do (HS256 with the
// application's base64-decoded key; iss = the application URI, aud = the
// API URI, sub = the username, iat = now−60s, exp = now+5m), retries
// transient failures with backoff, and fails closed: unless FailOpen is
// set, an answer that cannot be had reads as locked.
package lockclient

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// DefaultPath is lockgate's lock-check path. Next Level3 integrations use
// /nl3/api/v1/accountProtectionCheck, which lockgate also serves.
const DefaultPath = "/api/v1/lock-check"

// Config configures a Client.
type Config struct {
	// APIURI is the service's base URI and the token's aud.
	APIURI string
	// Audience, when set, is the token's aud instead of APIURI: for a
	// service reached at another address than its public URL (a
	// port-forward, a private load balancer).
	Audience string
	// Path is appended to APIURI; DefaultPath when empty.
	Path string
	// Issuer is the application's URI, the token's iss.
	Issuer string
	// SigningKey is the application's key, decoded (see DecodeKey).
	SigningKey []byte
	// KeyID, when set, is sent as the token's kid.
	KeyID string
	// Timeout bounds each HTTP attempt; 5s when zero.
	Timeout time.Duration
	// Retries is how many times a transient failure is retried; 2 when
	// zero, none when negative.
	Retries int
	// Backoff is the first wait between attempts, doubled each time;
	// 200ms when zero.
	Backoff time.Duration
	// FailOpen answers unlocked when no answer can be had. The default,
	// false, answers locked: an attacker who can break the check must not
	// gain access by doing so.
	FailOpen   bool
	HTTPClient *http.Client
	Now        func() time.Time
}

// Request describes one sign-in.
type Request struct {
	Username        string
	UserIP          string
	UserDevice      string
	UserLocation    string
	IntegrationType string
	IntegrationData any
}

// Decision is the answer to a check.
type Decision struct {
	Locked    bool
	Status    string
	Message   string
	SessionID string
	// Failed is true when no answer was had and Locked comes from the
	// fail-open/fail-closed setting; Check then also returns the error.
	Failed bool
}

// Client checks lock states. It is safe for concurrent use.
type Client struct {
	cfg Config
	url string
}

// DecodeKey decodes a signing key as applications hold it: base64.
func DecodeKey(s string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("lockclient: signing key is not base64: %w", err)
	}
	return k, nil
}

// New returns a Client.
func New(cfg Config) (*Client, error) {
	switch {
	case cfg.APIURI == "":
		return nil, errors.New("lockclient: APIURI is required")
	case cfg.Issuer == "":
		return nil, errors.New("lockclient: Issuer is required")
	case len(cfg.SigningKey) < 16:
		return nil, errors.New("lockclient: SigningKey is missing or shorter than 128 bits")
	}
	if cfg.Path == "" {
		cfg.Path = DefaultPath
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.Retries == 0 {
		cfg.Retries = 2
	}
	if cfg.Retries < 0 {
		cfg.Retries = 0
	}
	if cfg.Backoff == 0 {
		cfg.Backoff = 200 * time.Millisecond
	}
	// Redirects are never followed, whoever built the client: the token
	// travels in a header Go copies to the redirect's target (even on
	// another host), and an answer from wherever a 3xx points is not the
	// lock service's. A 3xx is a failure, decided by the fail mode.
	hc := http.Client{}
	if cfg.HTTPClient != nil {
		hc = *cfg.HTTPClient
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	cfg.HTTPClient = &hc
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Client{cfg: cfg, url: strings.TrimSuffix(cfg.APIURI, "/") + cfg.Path}, nil
}

// Token returns a signed token for username, as Check sends it.
func (c *Client) Token(username string) (string, error) {
	now := c.cfg.Now()
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss": c.cfg.Issuer,
		"aud": cmp.Or(c.cfg.Audience, c.cfg.APIURI),
		"sub": username,
		"iat": now.Add(-60 * time.Second).Unix(),
		"exp": now.Add(5 * time.Minute).Unix(),
	})
	if c.cfg.KeyID != "" {
		t.Header["kid"] = c.cfg.KeyID
	}
	return t.SignedString(c.cfg.SigningKey)
}

// permanentError is a failure retrying cannot fix (a 4xx answer).
type permanentError struct{ error }

// Check asks whether req.Username is locked. On failure it returns the
// error together with the decision the fail mode gives (Failed set).
func (c *Client) Check(ctx context.Context, req Request) (Decision, error) {
	if req.Username == "" {
		return c.failed(errors.New("lockclient: Username is required"))
	}
	body, err := json.Marshal(map[string]any{
		"userIP":          req.UserIP,
		"userDevice":      req.UserDevice,
		"userLocation":    req.UserLocation,
		"integrationType": req.IntegrationType,
		"integrationData": req.IntegrationData,
	})
	if err != nil {
		return c.failed(fmt.Errorf("lockclient: encoding request: %w", err))
	}
	wait := c.cfg.Backoff
	var lastErr error
	for attempt := 0; attempt <= c.cfg.Retries; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return c.failed(fmt.Errorf("lockclient: %w (last error: %v)", ctx.Err(), lastErr))
			case <-time.After(wait):
			}
			wait *= 2
		}
		d, err := c.once(ctx, req.Username, body)
		if err == nil {
			return d, nil
		}
		lastErr = err
		var pe permanentError
		if errors.As(err, &pe) || ctx.Err() != nil {
			break
		}
	}
	return c.failed(lastErr)
}

func (c *Client) failed(err error) (Decision, error) {
	return Decision{Locked: !c.cfg.FailOpen, Failed: true}, err
}

func (c *Client) once(ctx context.Context, username string, body []byte) (Decision, error) {
	token, err := c.Token(username)
	if err != nil {
		return Decision{}, permanentError{fmt.Errorf("lockclient: signing: %w", err)}
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return Decision{}, permanentError{err}
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("x-nl3-authorization-token", token)
	resp, err := c.cfg.HTTPClient.Do(hreq)
	if err != nil {
		return Decision{}, fmt.Errorf("lockclient: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return Decision{}, fmt.Errorf("lockclient: reading answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		err := fmt.Errorf("lockclient: %s answered %d", c.url, resp.StatusCode)
		if resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusRequestTimeout {
			return Decision{}, permanentError{err}
		}
		return Decision{}, err
	}
	return parseAnswer(data)
}

// parseAnswer reads {"locked": …}. An answer without "locked" is a
// failure, never "unlocked": reading a missing field as false is how the
// seed integration let a broken check remove a lock.
func parseAnswer(data []byte) (Decision, error) {
	var ans struct {
		Locked    json.RawMessage `json:"locked"`
		Status    string          `json:"status"`
		Message   string          `json:"message"`
		SessionID string          `json:"sessionID"`
	}
	if err := json.Unmarshal(data, &ans); err != nil {
		return Decision{}, fmt.Errorf("lockclient: answer is not JSON: %w", err)
	}
	d := Decision{Status: ans.Status, Message: ans.Message, SessionID: ans.SessionID}
	// One published example writes the boolean as a string.
	switch strings.TrimSpace(string(ans.Locked)) {
	case "true", `"true"`:
		d.Locked = true
	case "false", `"false"`:
		d.Locked = false
	case "":
		return Decision{}, errors.New("lockclient: answer has no \"locked\" field")
	default:
		return Decision{}, fmt.Errorf("lockclient: \"locked\" is %s, not a boolean", ans.Locked)
	}
	return d, nil
}

// ReportPath is where integrations post what they did about an account.
const ReportPath = "/api/v1/integration-events"

// Report posts what an integration did about username (source names the
// integration; detail is any JSON value) to the lock service's history.
// Unlike Check it does not retry: a report is informative.
func (c *Client) Report(ctx context.Context, username, source string, detail any) error {
	token, err := c.Token(username)
	if err != nil {
		return err
	}
	body, err := json.Marshal(map[string]any{"source": source, "detail": detail})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.reportURL(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-nl3-authorization-token", token)
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("lockclient: report: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode == http.StatusUnauthorized {
		return fmt.Errorf("%w: POST %s", ErrUnauthorized, c.reportURL())
	}
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return fmt.Errorf("lockclient: report: %s answered %d", c.reportURL(), resp.StatusCode)
	}
	return nil
}
