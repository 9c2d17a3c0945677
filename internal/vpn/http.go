package vpn

import (
	"crypto/subtle"
	"io"
	"net/http"

	"github.com/lockgate/lockgate/internal/endpoint"
	"github.com/lockgate/lockgate/internal/httpjson"
)

// maxRequestBytes bounds a connect request's body: Client VPN's requests
// are a few hundred bytes.
const maxRequestBytes = 64 << 10

// Endpoints is POST /vpn/connect on lockgate's main listener. It is public
// to the route table and authenticates its callers itself, with a shared
// secret header compared in constant time (as /events/aws-signin does):
// a Lambda function in the endpoint's account, or any other caller that
// forwards Client VPN's request, sends it.
//
// A well-formed request always gets 200 and a Client VPN response (a
// denial too); an unauthenticated one 401, a body that is not a connect
// request 400, both with lockgate's JSON error body.
func (h *Handler) Endpoints() []endpoint.Endpoint {
	return []endpoint.Endpoint{{Pattern: "POST /vpn/connect", Access: endpoint.Public, Handler: http.HandlerFunc(h.serveConnect)}}
}

func (h *Handler) serveConnect(w http.ResponseWriter, r *http.Request) {
	header := h.cfg.SecretHeader
	if header == "" {
		header = DefaultSecretHeader
	}
	got := r.Header.Get(header)
	if h.cfg.Secret == "" || subtle.ConstantTimeCompare([]byte(got), []byte(h.cfg.Secret)) != 1 {
		httpjson.Error(w, http.StatusUnauthorized, "unauthorized", "missing or wrong "+header+" header")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBytes))
	if err != nil {
		httpjson.TooLarge(w, "a connect request is at most 64 KiB")
		return
	}
	req, err := ParseRequest(body)
	if err == nil {
		err = httpjson.CheckSurrogates(body)
	}
	if err != nil {
		httpjson.Error(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	o := h.Decide(r.Context(), req)
	httpjson.Write(w, http.StatusOK, o.Response)
}
