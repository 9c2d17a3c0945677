package gateway

import (
	"net/http"

	"github.com/gaissmai/bart"
)

// Refusal is why the gateway answers r 400 before its web ACL sees it,
// or "": a host that is not host[:port], a header sent more than once, a
// target it cannot forward as received, or (underscoreHeaders "refuse")
// a header name holding '_'. It runs the gateway's own checks (match,
// then screen) with one route for every host and path and no trusted
// proxy, the gateway lockgate waf test simulates, so that the command
// does not answer ALLOW for a request the gateway never evaluates.
func Refusal(r *http.Request, underscoreHeaders string) string {
	st := &state{cfg: Config{UnderscoreHeaders: underscoreHeaders}, routes: []*route{{name: "waf-test", prefix: "/"}}, trusted: new(bart.Lite)}
	if _, refused := st.match(r); refused != "" {
		return string(refused)
	}
	refused, _ := st.screen(r)
	return string(refused)
}
