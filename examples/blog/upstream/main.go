// Command upstream is the demo shop behind the gateway in examples/blog.
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
)

func main() {
	addr := flag.String("listen", "127.0.0.1:9000", "address")
	flag.Parse()
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "demo shop: %s %s (client as the gateway saw it: %s)\n", r.Method, r.URL.Path, r.Header.Get("X-Forwarded-For"))
	})
	log.Printf("demo shop on %s", *addr)
	log.Fatal(http.ListenAndServe(*addr, nil))
}
