package gateway

import (
	"net/http"
	"time"
)

// AdminHandler serves, behind the caller's admin check:
//
//	GET  …/config   the running gateway configuration and when it loaded
//	GET  …/limited  the keys each rate-based rule is limiting now
//	POST …/reload   read the configuration again
func (g *Gateway) AdminHandler(prefix string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+prefix+"/config", func(w http.ResponseWriter, r *http.Request) {
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
		writeJSON(w, http.StatusOK, map[string]any{
			"loaded_at": st.loaded.UTC().Format(time.RFC3339), "listen": st.cfg.Gateway.Listen,
			"trusted_proxies": st.cfg.Gateway.TrustedProxies, "client_ip_header": st.header, "routes": routes,
		})
	})
	mux.HandleFunc("GET "+prefix+"/limited", func(w http.ResponseWriter, r *http.Request) {
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
					writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error()})
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
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("POST "+prefix+"/reload", func(w http.ResponseWriter, r *http.Request) {
		if err := g.Reload(); err != nil {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "reloaded"})
	})
	return mux
}
