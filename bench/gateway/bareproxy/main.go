// Command bareproxy is the baseline of bench/gateway/run.sh: a bare
// httputil.ReverseProxy with the same transport settings as lockgate's.
package main

import (
	"flag"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"
)

func main() {
	addr := flag.String("listen", "127.0.0.1:19001", "address")
	to := flag.String("upstream", "http://127.0.0.1:19000", "upstream URL")
	flag.Parse()
	u, err := url.Parse(*to)
	if err != nil {
		log.Fatal(err)
	}
	p := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(u); pr.Out.Host = pr.In.Host; pr.SetXForwarded() },
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        1024,
			MaxIdleConnsPerHost: 256,
			IdleConnTimeout:     90 * time.Second,
		},
		FlushInterval: -1,
	}
	log.Fatal(http.ListenAndServe(*addr, p))
}
