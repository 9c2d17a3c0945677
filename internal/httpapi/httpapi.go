// Package httpapi serves lockgate's HTTP APIs: the lock check (with the
// Next Level3 paths existing integrations call), the admin API, the owner
// API, health and metrics. It translates HTTP to lock.Service calls and
// maps domain errors to statuses in one place.
package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/lockgate/lockgate/internal/httpjson"
	"github.com/lockgate/lockgate/internal/lock"
)

// MaxCheckBody is the largest lock-check body; larger gets 413.
const MaxCheckBody = 64 << 10

// maxAdminBody bounds admin and owner request bodies.
const maxAdminBody = 64 << 10

// Handler serves every API.
type Handler struct {
	svc      *lock.Service
	log      *slog.Logger
	mux      *http.ServeMux
	metrics  *metrics
	failures *failureLimiter
	routes   []string
	degraded func() map[string]string
}

// Options configure a Handler.
type Options struct {
	Service *lock.Service
	Logger  *slog.Logger
	// Registry receives the metrics; a new one when nil. /metrics serves it.
	Registry *prometheus.Registry
	// Auth limits failed authentications; DefaultAuthConfig when zero.
	Auth AuthConfig
	// Now is the limiter's clock; time.Now when nil.
	Now func() time.Time
	// Degraded, when set, names the optional components that are not
	// working now (component → why): /readyz then answers 200 with
	// status "degraded" and the list.
	Degraded func() map[string]string
}

// New returns the API handler.
func New(o Options) *Handler {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	h := &Handler{svc: o.Service, log: o.Logger, mux: http.NewServeMux(), metrics: newMetrics(o.Registry), failures: newFailureLimiter(o.Auth, o.Now), degraded: o.Degraded}

	h.mux.Handle("GET /metrics", promhttp.HandlerFor(o.Registry, promhttp.HandlerOpts{}))
	// Every other pattern is more specific: this answers what none
	// matches, with the error body every API documents rather than the
	// mux's plain text.
	h.mux.HandleFunc("/", h.unrouted)
	h.Mount(h.endpoints()...)
	return h
}

// probeMethods are the methods unrouted tries on a path it was asked for
// with another.
var probeMethods = [...]string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"}

// unrouted answers a request no route matches: 405 with Allow when the
// path has routes for other methods, else 404.
func (h *Handler) unrouted(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range probeMethods {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := h.mux.Handler(probe); pattern != "/" && pattern != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		httpjson.Error(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed on this path; allowed: "+strings.Join(allow, ", "))
		return
	}
	httpjson.Error(w, http.StatusNotFound, "not_found", "no such path: see docs/api.md")
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// A chunked request may also have carried a Content-Length, which
	// net/http drops before the handler sees it; RFC 9112, section 6.3:
	// "the server MUST close the connection after responding to such a
	// request", since a front end that framed it by its length is out of
	// step with us from here on (atk14j F1). Closing after every chunked
	// request covers it: integrations send lengths.
	if len(r.TransferEncoding) > 0 {
		w.Header().Set("Connection", "close")
	}
	h.mux.ServeHTTP(w, r)
}

func (h *Handler) healthz(w http.ResponseWriter, r *http.Request) {
	httpjson.Write(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (h *Handler) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := h.svc.Ping(ctx); err != nil {
		h.log.Warn("readiness: storage unreachable", "err", err)
		httpjson.Write(w, http.StatusServiceUnavailable, map[string]string{"status": "storage unreachable"})
		return
	}
	// An optional component that fails (Redis for shared rate limits)
	// does not take lockgate out of rotation, which would turn its outage
	// into a whole one: it is reported, with 200.
	if h.degraded != nil {
		if d := h.degraded(); len(d) > 0 {
			httpjson.Write(w, http.StatusOK, map[string]any{"status": "degraded", "degraded": d})
			return
		}
	}
	httpjson.Write(w, http.StatusOK, map[string]string{"status": "ready"})
}

// --- lock check ---

func (h *Handler) lockCheck(w http.ResponseWriter, r *http.Request) {
	token := httpjson.IntegrationToken(r)
	var in lock.CheckInput
	if status, msg := decodeCheckBody(w, r, &in); status != 0 {
		h.metrics.badRequest.Inc()
		code := "bad_request"
		if status == http.StatusRequestEntityTooLarge {
			code = httpjson.PayloadTooLarge
		}
		httpjson.Error(w, status, code, msg)
		return
	}
	res, err := h.svc.Check(r.Context(), token, in)
	switch {
	case errors.Is(err, lock.ErrUnauthorized):
		h.metrics.unauthorized.Inc()
		// The reason is for the operator only: telling a client why its
		// token failed helps an attacker forge the next one.
		h.log.Info("lock-check: token rejected", "reason", err.Error(), "remote", clientIP(r))
		httpjson.Error(w, http.StatusUnauthorized, "unauthorized", "Unauthorized")
		return
	case err != nil:
		h.metrics.checkError.Inc()
		h.log.Error("lock-check failed", "err", err)
		httpjson.Error(w, http.StatusInternalServerError, "internal", "internal error")
		return
	}
	status, counter := "unlocked", &h.metrics.unlocked
	if res.Locked {
		status, counter = "locked", &h.metrics.locked
	}
	counter.Inc()
	writeCheck(w, checkResponse{Locked: res.Locked, Status: status, Message: res.Message, SessionID: res.AttemptID})
}

// integrationEvent records what an integration did about the token's
// account: {"source": "...", "detail": {...}}. Authenticated like a lock
// check.
func (h *Handler) integrationEvent(w http.ResponseWriter, r *http.Request) {
	token := httpjson.IntegrationToken(r)
	var in struct {
		Source string          `json:"source"`
		Detail json.RawMessage `json:"detail"`
	}
	if err := readJSON(w, r, &in); err != nil {
		if errors.Is(err, errTooLarge) {
			httpjson.TooLarge(w, err.Error()) // 413, as every route (rechk9: 400 here)
			return
		}
		httpjson.Error(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	e, err := h.svc.ReportEvent(r.Context(), token, in.Source, in.Detail)
	if errors.Is(err, lock.ErrUnauthorized) {
		h.log.Info("integration event: token rejected", "reason", err.Error(), "remote", clientIP(r))
		httpjson.Error(w, http.StatusUnauthorized, "unauthorized", "Unauthorized")
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpjson.Write(w, http.StatusCreated, map[string]string{"id": e.ID})
}

// decodeCheckBody reads an optional JSON object; it returns a status and
// message on failure.
func decodeCheckBody(w http.ResponseWriter, r *http.Request, in *lock.CheckInput) (int, string) {
	if r.ContentLength > MaxCheckBody {
		return http.StatusRequestEntityTooLarge, "body is over 64 KiB"
	}
	// The body is read into a pooled buffer: every check has one, and
	// nothing decoded from it refers to it afterwards.
	buf := bodyPool.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 16<<10 {
			buf.Reset()
			bodyPool.Put(buf)
		}
	}()
	buf.Reset()
	// A body of known length is already cut at that length by net/http,
	// and the length was checked above: only a chunked body needs the
	// limiting reader (which allocates).
	body := r.Body
	if r.ContentLength < 0 {
		body = http.MaxBytesReader(w, r.Body, MaxCheckBody)
	}
	if _, err := buf.ReadFrom(body); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return http.StatusRequestEntityTooLarge, "body is over 64 KiB"
		}
		return http.StatusBadRequest, "cannot read body"
	}
	data := buf.Bytes()
	if len(bytes.TrimSpace(data)) == 0 {
		return 0, ""
	}
	// The shape integrations send is read directly; anything else, and
	// every error, is encoding/json's.
	if v, ok := lock.DecodeCheckInput(data); ok {
		*in = v
		return 0, ""
	}
	// encoding/json gets a copy: handing it in itself (as an any) would
	// move every check's input to the heap, not only this rare one's.
	v := new(lock.CheckInput)
	*v = *in
	if err := decodeStrict(data, v); err != nil {
		return http.StatusBadRequest, "body: " + err.Error()
	}
	*in = *v
	return 0, ""
}

var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// decodeStrict decodes one JSON value, refusing trailing data. Unknown
// fields are allowed: integrations send more than lockgate reads.
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return errors.New("trailing data after the JSON value")
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON value")
	}
	// encoding/json took invalid UTF-8 and any lone surrogate for U+FFFD,
	// and \u0000 for a NUL no database stores the same way.
	return httpjson.CheckText(body)
}

func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return errors.New(te.Field + ": expected " + te.Type.String() + ", got " + te.Value)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return errors.New("invalid JSON at byte " + strconv.FormatInt(se.Offset, 10) + ": " + se.Error())
	}
	return err
}

// --- helpers ---

// clientIP is the peer address; lockgate's own APIs trust no forwarded
// header (the gateway has its own trusted-proxy logic).
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
