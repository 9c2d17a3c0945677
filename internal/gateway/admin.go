package gateway

import (
	"net/http"
	"time"

	"github.com/lockgate/lockgate/internal/endpoint"
	"github.com/lockgate/lockgate/internal/httpjson"
)

// AdminPrefix is where the gateway's admin routes live.
const AdminPrefix = "/api/v1/admin/gateway"

// Endpoints are the gateway's admin endpoints on lockgate's main listener:
//
//	GET  …/config   the running gateway configuration and when it loaded
//	GET  …/limited  the keys each rate-based rule is limiting now
//	POST …/reload   read the configuration again
func (g *Gateway) Endpoints() []endpoint.Endpoint {
	return []endpoint.Endpoint{
		{Pattern: "GET " + AdminPrefix + "/config", Access: endpoint.AdminRead, Handler: http.HandlerFunc(g.serveConfig)},
		{Pattern: "GET " + AdminPrefix + "/limited", Access: endpoint.AdminRead, Handler: http.HandlerFunc(g.serveLimited)},
		{Pattern: "POST " + AdminPrefix + "/reload", Access: endpoint.Admin, Handler: http.HandlerFunc(g.serveReload)},
	}
}

func (g *Gateway) serveConfig(w http.ResponseWriter, r *http.Request) {
	st := g.state.Load()
	type routeView struct {
		Name       string   `json:"name"`
		Host       string   `json:"host,omitempty"`
		PathPrefix string   `json:"path_prefix"`
		Upstreams  []string `json:"upstreams"`
		WebACL     string   `json:"web_acl,omitempty"`
		Rules      int      `json:"rules"`
	}
	var routes []routeView
	for _, rt := range st.routes {
		v := routeView{Name: rt.name, Host: rt.host, PathPrefix: rt.prefix}
		for _, u := range rt.upstreams {
			v.Upstreams = append(v.Upstreams, u.url.String())
		}
		if rt.acl != nil {
			v.WebACL, v.Rules = rt.acl.Name, len(rt.acl.Rules)
		}
		routes = append(routes, v)
	}
	httpjson.Write(w, http.StatusOK, map[string]any{
		"loaded_at": st.loaded.UTC().Format(time.RFC3339), "listen": st.cfg.Listen,
		"trusted_proxies": st.cfg.TrustedProxies, "client_ip_header": st.header, "routes": routes,
	})
}

func (g *Gateway) serveLimited(w http.ResponseWriter, r *http.Request) {
	st := g.state.Load()
	type keyView struct {
		Key   string `json:"key"`
		Count int64  `json:"count"`
	}
	out := map[string]map[string][]keyView{}
	for _, rt := range st.routes {
		for _, rule := range rt.rateRules {
			keys, err := rt.eng.Limited(r.Context(), rule)
			if err != nil {
				httpjson.Error(w, http.StatusServiceUnavailable, "counters_unavailable", err.Error())
				return
			}
			if out[rt.acl.Name] == nil {
				out[rt.acl.Name] = map[string][]keyView{}
			}
			list := []keyView{}
			for _, k := range keys {
				list = append(list, keyView{Key: k.Key.String(), Count: k.Count})
			}
			out[rt.acl.Name][rule] = list
		}
	}
	httpjson.Write(w, http.StatusOK, out)
}

func (g *Gateway) serveReload(w http.ResponseWriter, r *http.Request) {
	if err := g.Reload(); err != nil {
		httpjson.Error(w, http.StatusUnprocessableEntity, "reload_refused", err.Error())
		return
	}
	httpjson.Write(w, http.StatusOK, map[string]string{"status": "reloaded"})
}
