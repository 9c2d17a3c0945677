// Command upstream answers every request with a small fixed page: the
// application behind the proxies bench/gateway/run.sh compares.
package main

import (
	"flag"
	"log"
	"net/http"
)

func main() {
	addr := flag.String("listen", "127.0.0.1:19000", "address")
	flag.Parse()
	page := []byte(`{"product":42,"name":"demo","price":"9.99","stock":7}` + "\n")
	log.Fatal(http.ListenAndServe(*addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(page)
	})))
}
