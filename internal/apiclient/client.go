// Package apiclient is the typed client of lockgate's admin and owner
// APIs: every CLI command talks to a server through it, so each API path
// is written once and every error names what was asked for.
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Client calls one lockgate server with one token.
type Client struct {
	BaseURL string
	Token   string
	HTTP    *http.Client
	// NoToken, when set, is returned by every call while Token is empty:
	// the caller's way of saying where a token comes from, reported only
	// once the command's own arguments were found right.
	NoToken error
}

// New returns a client with a 30-second timeout.
func New(baseURL, token string) *Client {
	return &Client{BaseURL: strings.TrimSuffix(baseURL, "/"), Token: token, HTTP: &http.Client{Timeout: 30 * time.Second}}
}

// Object names what a request was about, for error messages:
// "application app_x".
type Object struct {
	Kind string // application, account, person, webhook, signing key…
	ID   string
	// List is the command that lists objects of this kind, suggested
	// when one is not found.
	List string
	// Missing, when set, replaces "not found" and the list hint: for
	// objects whose absence means something is not configured.
	Missing string
}

func (o Object) String() string {
	if o.ID == "" {
		return o.Kind
	}
	return o.Kind + " " + o.ID
}

// Error is an error answer of the server.
type Error struct {
	Status  int
	Code    string `json:"error"`
	Message string `json:"message"`
	Object  Object `json:"-"`
	Server  string `json:"-"`
}

func (e *Error) Error() string {
	switch {
	case e.Status == http.StatusNotFound && e.Object.Missing != "":
		return e.Object.Missing
	case e.Status == http.StatusNotFound && e.Object.Kind != "":
		msg := e.Object.String() + " not found"
		if e.Object.List != "" {
			msg += " — list them with `" + e.Object.List + "`"
		}
		return msg
	case e.Status == http.StatusUnauthorized:
		return fmt.Sprintf("%s refused the token: %s — check --token or the LOCKGATE_*_TOKEN variable", e.Server, e.text())
	case e.Status == http.StatusForbidden:
		return fmt.Sprintf("%s: this token may not do that: %s", e.Server, e.text())
	}
	if e.Object.Kind != "" {
		return fmt.Sprintf("%s: %s", e.Object, e.text())
	}
	return e.text()
}

func (e *Error) text() string {
	if e.Message != "" {
		return e.Message
	}
	return fmt.Sprintf("the server answered %d %s", e.Status, http.StatusText(e.Status))
}

// UnreachableError says the server could not be reached at all.
type UnreachableError struct {
	Server string
	Err    error
}

func (e *UnreachableError) Error() string {
	reason := "the connection failed"
	var dns *net.DNSError
	switch {
	case errors.Is(e.Err, syscall.ECONNREFUSED):
		reason = "nothing is listening there"
	case errors.As(e.Err, &dns):
		reason = "the host name does not resolve"
	case errors.Is(e.Err, context.DeadlineExceeded) || isTimeout(e.Err):
		reason = "it did not answer in time"
	}
	return fmt.Sprintf("cannot reach lockgate at %s (%s) — is `lockgate serve` running? set --server or LOCKGATE_SERVER", e.Server, reason)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// do sends in (when not nil) as JSON and decodes the answer into out
// (when not nil). obj names the object for error messages.
func (c *Client) do(ctx context.Context, obj Object, method, path string, in, out any) error {
	if c.Token == "" && c.NoToken != nil {
		return c.NoToken
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return &UnreachableError{Server: c.BaseURL, Err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		e := &Error{Status: resp.StatusCode, Object: obj, Server: c.BaseURL}
		json.Unmarshal(data, e)
		return e
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s answered %s with something that is not lockgate's JSON: %w", c.BaseURL, path, err)
		}
	}
	return nil
}

func esc(s string) string { return url.PathEscape(s) }
