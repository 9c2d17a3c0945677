package authz

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lockgate/lockgate/internal/gateway"
	"github.com/lockgate/lockgate/internal/geo"
	"github.com/lockgate/lockgate/internal/webacl"
)

// The decision alone: a cached token (the common case: one verification
// per token per 300 s), and a token seen for the first time (RS256
// signature, claims, groups; the group's compiled policy is warm).
//
//	go test -run XXX -bench 'Decide|Gateway' -benchtime 2s -count 3 ./internal/authz/

func BenchmarkDecideCachedToken(b *testing.B) {
	w := newWorld(b)
	tok := "Bearer " + w.idp.AccessToken(w.vet)
	r := w.request("GET", "/petstore/v1/pets", tok)
	if d := w.az.Decide(r, inside); d.Outcome != Allow {
		b.Fatal(d.Outcome)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if w.az.Decide(r, inside).Outcome != Allow {
				b.Fatal("denied")
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
}

func BenchmarkDecideFirstTimeRS256(b *testing.B) {
	w := newWorld(b)
	tok := "Bearer " + w.idp.AccessToken(w.vet)
	r := w.request("GET", "/petstore/v1/pets", tok)
	if d := w.az.Decide(r, inside); d.Outcome != Allow {
		b.Fatal(d.Outcome)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w.az.cache.forget(tokenKey(bearer(tok)))
			if w.az.Decide(r, inside).Outcome != Allow {
				b.Fatal("denied")
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
}

// The gateway in process (no listener; the upstream on the loopback):
// the same request through a route without an authorizer (the
// baseline), with one and a cached token, and with one verifying the
// token every time.
func benchGateway(b *testing.B, path string, firstTime bool) {
	w := newWorld(b)
	up := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		io.WriteString(rw, `{"pets":[{"id":1,"name":"Birds"}]}`)
	}))
	defer up.Close()
	set, probs := webacl.Provision(webacl.Config{}, geo.Default)
	if len(probs) > 0 {
		b.Fatal(probs)
	}
	gc := gateway.DefaultConfig()
	gc.Listen = "127.0.0.1:0"
	gc.Routes = []gateway.RouteConfig{
		{Name: "open", PathPrefix: "/open/", Upstreams: []string{up.URL}},
		{Name: "petstore", PathPrefix: "/petstore/", Upstreams: []string{up.URL}, Authorizer: "petstore"},
	}
	g, err := gateway.New(gateway.Options{Registry: prometheus.NewRegistry(), Load: func() (gateway.Snapshot, error) {
		return gateway.Snapshot{Config: gc, WAF: set, Authorizer: func(string) gateway.Authorizer { return w.az }}, nil
	}})
	if err != nil {
		b.Fatal(err)
	}
	defer g.Close()
	tok := "Bearer " + w.idp.AccessToken(w.vet)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := httptest.NewRequest("GET", "http://api.example.com"+path, nil)
			r.RemoteAddr = "192.0.2.10:40000"
			r.Header.Set("Authorization", tok)
			if firstTime {
				w.az.cache.forget(tokenKey(bearer(tok)))
			}
			rec := httptest.NewRecorder()
			g.ServeHTTP(rec, r)
			if rec.Code != 200 {
				b.Fatalf("%d %s", rec.Code, rec.Body)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

func BenchmarkGatewayNoAuthz(b *testing.B)          { benchGateway(b, "/open/petstore/v1/pets", false) }
func BenchmarkGatewayAuthzCachedToken(b *testing.B) { benchGateway(b, "/petstore/v1/pets", false) }
func BenchmarkGatewayAuthzFirstTimeRS256(b *testing.B) {
	benchGateway(b, "/petstore/v1/pets", true)
}
