package webhook_test

import (
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"

	"github.com/lockgate/lockgate/webhook"
)

// A receiver verifies each delivery before it acts on it, and answers 2xx
// at once; a delivery it has seen (same X-Lockgate-Delivery) is
// acknowledged again without acting twice.
func Example() {
	secret := []byte("the secret shown when the webhook was added")
	seen := map[string]bool{}
	receiver := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := webhook.VerifyRequest(secret, r)
		if err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		if id := r.Header.Get(webhook.HeaderDelivery); seen[id] {
			return // a retry of a delivery already handled
		} else {
			seen[id] = true
		}
		var ev struct {
			Type string `json:"type"`
			Data struct {
				Change struct {
					Username string `json:"username"`
					To       string `json:"to"`
				} `json:"change"`
			} `json:"data"`
		}
		if err := json.Unmarshal(body, &ev); err != nil {
			http.Error(w, "bad event", http.StatusBadRequest)
			return
		}
		fmt.Printf("%s: %s is now %s\n", ev.Type, ev.Data.Change.Username, ev.Data.Change.To)
	})

	// What lockgate sends:
	body := `{"id":"evt_1","type":"lock.changed","data":{"change":{"username":"alice","to":"locked"}}}`
	ts := time.Now().Unix()
	req := httptest.NewRequest("POST", "/lockgate-events", strings.NewReader(body))
	req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(webhook.HeaderSignature, webhook.Sign(secret, ts, []byte(body)))
	req.Header.Set(webhook.HeaderDelivery, "out_1")
	rec := httptest.NewRecorder()
	receiver.ServeHTTP(rec, req)

	// A forged one:
	req = httptest.NewRequest("POST", "/lockgate-events", strings.NewReader(body))
	req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(webhook.HeaderSignature, "v1=00")
	rec = httptest.NewRecorder()
	receiver.ServeHTTP(rec, req)
	fmt.Println("forged:", rec.Code)
	if rec.Code != http.StatusUnauthorized {
		log.Fatal("forgery accepted")
	}
	// Output:
	// lock.changed: alice is now locked
	// forged: 401
}
