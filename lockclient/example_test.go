package lockclient_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/golang-jwt/jwt/v5"

	"github.com/lockgate/lockgate/lockclient"
)

// An integration asks lockgate whether an account is locked before it lets
// the user in. The signing key is the application's secret as
// `lockgate app create` printed it (base64).
func Example() {
	// A stand-in for lockgate: it checks the token the way lockgate does
	// and answers that alice is locked.
	key, _ := lockclient.DecodeKey("c2VjcmV0LWtleS0wMTIzNDU2Nzg5YWJjZGVmZ2hpams=")
	lockgate := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, err := jwt.Parse(r.Header.Get("x-nl3-authorization-token"), func(*jwt.Token) (any, error) { return key, nil },
			jwt.WithValidMethods([]string{"HS256"}), jwt.WithIssuer("https://shop.example.com"))
		if err != nil {
			http.Error(w, `{"error":"unauthorized","message":"Unauthorized"}`, http.StatusUnauthorized)
			return
		}
		sub, _ := tok.Claims.GetSubject()
		fmt.Fprintf(w, `{"locked":%t,"status":"locked","message":"Unlock your account first","sessionID":"att_1"}`, sub == "alice")
	}))
	defer lockgate.Close()

	client, err := lockclient.New(lockclient.Config{
		APIURI:     lockgate.URL, // lockgate's public URL: the token's audience
		Issuer:     "https://shop.example.com",
		SigningKey: key,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	d, err := client.Check(context.Background(), lockclient.Request{Username: "alice", UserIP: "203.0.113.7", IntegrationType: "shop-login"})
	if err != nil {
		// By default the client fails closed: d.Locked is true here too.
		fmt.Println("lock check failed:", err)
	}
	if d.Locked {
		fmt.Println("deny sign-in:", d.Message)
	}
	// Output: deny sign-in: Unlock your account first
}
