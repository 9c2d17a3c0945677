package authz

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/lockgate/lockgate/internal/authz/idptest"
)

// Tokens no Cognito pool issues are refused before any policy is read.
func TestForgedTokens(t *testing.T) {
	w := newWorld(t)
	good := idptest.Claims(w.idp.AccessToken(w.vet))
	kid := w.idp.KeyID()
	expired := idptest.Claims(w.idp.AccessToken(w.vet))
	expired["exp"] = float64(w.clock.Now().Add(-time.Hour).Unix())
	future := idptest.Claims(w.idp.AccessToken(w.vet))
	future["iat"] = float64(w.clock.Now().Add(time.Hour).Unix())
	noSub := idptest.Claims(w.idp.AccessToken(w.vet))
	delete(noSub, "sub")
	good2 := w.idp.AccessToken(w.vet)
	for _, tt := range []struct {
		name, token, page, sentence string
	}{
		{"forged signature (a key the pool never published, its kid)", idptest.ForgeWithKid(kid, "RS256", good),
			"Verifying JSON web tokens (Amazon Cognito)", "A malicious user can modify a token, but if your application retrieves the public key and compares the signature, it won't match."},
		{"tampered claims", tamper(good2),
			"Verifying JSON web tokens (Amazon Cognito)", "A modified access token creates a risk of privilege escalation."},
		{"alg none", idptest.ForgeNone(kid, good),
			"aws-formats.md", "Verify: three segments; key by kid; RS256 only"},
		{"HS256 keyed with the public key", idptest.ForgeHS256(kid, w.idp.PublicKeyBytes(), good),
			"aws-formats.md", "Library notes: ... always WithValidMethods"},
		{"ES256 from an unknown key", idptest.ForgeWithKid(kid, "ES256", good),
			"aws-formats.md", "Access token: header kid, alg RS256"},
		{"expired", idptest.ForgeWithKid(kid, "RS256", expired), "aws-formats.md", "exp"},
		{"issued in the future", idptest.ForgeWithKid(kid, "RS256", future), "RFC 7519 §4.1.6", "iat"},
		{"no sub", idptest.ForgeWithKid(kid, "RS256", noSub), "aws-formats.md", "claims sub, ..."},
		{"two segments", "abc.def", "RFC 7515 §7.1", "JWS Compact Serialization"},
		{"garbage", "Bearer ", "seed 003", "The request is denied with the message Unauthorized."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if d := w.az.Decide(w.request("GET", "/petstore/v1/pets", tt.token), inside); d.Outcome != Unauthorized {
				t.Fatalf("%v (%v)\n%s: %q", d.Outcome, d.Err, tt.page, tt.sentence)
			}
		})
	}
	// The genuine token of the same claims passes (the cases above fail
	// for their reason, not for a broken fixture).
	if d := w.az.Decide(w.request("GET", "/petstore/v1/pets", good2), inside); d.Outcome != Allow {
		t.Fatalf("genuine token: %v %v", d.Outcome, d.Err)
	}
}

func tamper(tok string) string {
	c := idptest.Claims(tok)
	c["cognito:groups"] = []string{"admins"}
	seg := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	s, _ := seg.SigningString()
	parts := splitToken(tok)
	return parts[0] + "." + splitToken(s + ".x")[1] + "." + parts[2]
}

func splitToken(s string) [3]string {
	var out [3]string
	i := 0
	for j := range s {
		if s[j] == '.' && i < 2 {
			i++
			continue
		}
		out[i] += string(s[j])
	}
	return out
}

// Clock skew: a token a little past exp, or a little before nbf, passes
// within the configured skew and not beyond.
func TestClockSkew(t *testing.T) {
	w := newWorld(t)
	tok := w.idp.AccessToken(w.vet, idptest.Lifetime(10*time.Minute))
	w.clock.Add(10*time.Minute + DefaultClockSkew - time.Second)
	if d := w.az.Decide(w.request("GET", "/petstore/v1/pets", tok), inside); d.Outcome != Allow {
		t.Fatalf("within the skew: %v %v", d.Outcome, d.Err)
	}
	tok2 := w.idp.AccessToken(w.vet, idptest.Lifetime(10*time.Minute))
	w.clock.Add(10*time.Minute + DefaultClockSkew + time.Second)
	if d := w.az.Decide(w.request("GET", "/petstore/v1/pets", tok2), inside); d.Outcome != Unauthorized {
		t.Fatalf("beyond the skew: %v", d.Outcome)
	}
}

// A key rotation: the new kid is unknown, the set is fetched again, the
// token verifies.
func TestKeyRotation(t *testing.T) {
	w := newWorld(t)
	if d := w.az.Decide(w.request("GET", "/petstore/v1/pets", w.idp.AccessToken(w.vet)), inside); d.Outcome != Allow {
		t.Fatal(d.Outcome, d.Err)
	}
	w.idp.Rotate()
	w.clock.Add(DefaultRefreshUnknownKID)
	if d := w.az.Decide(w.request("GET", "/petstore/v1/pets", w.idp.AccessToken(w.vet)), inside); d.Outcome != Allow {
		t.Fatalf("after rotation: %v %v", d.Outcome, d.Err)
	}
}

// Forged kids cannot hammer the IdP: however many tokens name unknown
// keys, the JWK set is fetched at most once per refresh_unknown_kid; and
// they cannot stall verification: while a fetch hangs, other requests
// with unknown kids are refused at once and good tokens verify.
func TestUnknownKidsCannotHammerOrStall(t *testing.T) {
	w := newWorld(t)
	good := w.idp.AccessToken(w.vet)
	if d := w.az.Decide(w.request("GET", "/petstore/v1/pets", good), inside); d.Outcome != Allow {
		t.Fatal(d.Outcome, d.Err)
	}
	w.clock.Add(DefaultRefreshUnknownKID) // the interval since the first fetch has passed
	base := w.idp.JWKSHits()
	claims := idptest.Claims(good)
	forge := func(i int) string { return idptest.ForgeWithKid(fmt.Sprintf("made-up-%d", i), "RS256", claims) }
	forged := make([]string, 200)
	for i := range forged {
		forged[i] = forge(i)
	}
	for _, f := range forged {
		if d := w.az.Decide(w.request("GET", "/petstore/v1/pets", f), inside); d.Outcome != Unauthorized {
			t.Fatal(d.Outcome)
		}
	}
	if got := w.idp.JWKSHits() - base; got != 1 {
		t.Fatalf("200 forged kids fetched the key set %d times, want 1 within the interval", got)
	}
	w.clock.Add(DefaultRefreshUnknownKID - time.Second)
	w.az.Decide(w.request("GET", "/petstore/v1/pets", forge(1)), inside)
	if got := w.idp.JWKSHits() - base; got != 1 {
		t.Fatalf("a fetch before the interval ended (%d)", got)
	}
	w.clock.Add(time.Second)

	// Now the IdP hangs. The request that starts the fetch waits for it
	// (bounded by the HTTP timeout); every other one does not.
	release := w.idp.Stall()
	defer release()
	started := make(chan struct{})
	go func() {
		close(started)
		w.az.Decide(w.request("GET", "/petstore/v1/pets", forge(2)), inside)
	}()
	<-started
	for w.idp.JWKSHits()-base < 2 {
		time.Sleep(time.Millisecond) // until the fetch is in flight at the IdP
	}
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if d := w.az.Decide(w.request("GET", "/petstore/v1/pets", forge(i+3)), inside); d.Outcome != Unauthorized {
				t.Error(d.Outcome)
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("requests with unknown kids waited for the hanging IdP")
	}
	fresh := w.idp.AccessToken(idptest.User{Sub: "other", Username: "o", Groups: []string{"pet-veterinarian"}})
	if d := w.az.Decide(w.request("GET", "/petstore/v1/pets", fresh), inside); d.Outcome != Allow {
		t.Fatalf("a good token during the hang: %v %v", d.Outcome, d.Err)
	}
	if got := w.idp.JWKSHits() - base; got != 2 {
		t.Fatalf("%d fetches, want 2", got)
	}
}

// OpenID Connect issuers: keys through the discovery document, ES256
// and EdDSA pinned per issuer, aud and nbf checked.
func TestOIDCIssuers(t *testing.T) {
	for _, alg := range []string{"ES256", "EdDSA", "RS256"} {
		t.Run(alg, func(t *testing.T) {
			idp := idptest.NewOIDC(alg, "my-api")
			defer idp.Close()
			clk := &clock{t: time.Now().Truncate(time.Second)}
			idp.SetClock(clk.Now)
			cfg := DefaultConfig()
			cfg.Issuers = []IssuerConfig{{Name: "okta", OIDC: idp.Issuer(), Algorithms: []string{alg}, ClientIDs: []string{"my-api"}}}
			cfg.Authorizers = []AuthorizerConfig{{Name: "a", Issuers: []string{"okta"}, GroupsClaim: "groups", Region: testRegion, Account: "123456789012", APIID: "a1b2c3d4e5", Stage: "prod"}}
			svc, probs := Provision(cfg, Options{Now: clk.Now})
			if len(probs) > 0 {
				t.Fatal(probs)
			}
			st := newMemStore()
			st.PutGroupPolicy(context.Background(), GroupPolicy{Group: "vets", Policy: mustRead(t, "testdata/petstore.json")})
			svc.SetStore(st)
			az := svc.Authorizer("a")
			req := func(tok string) Outcome {
				r := (&world{}).request("GET", "/petstore/v1/pets", "Bearer "+tok)
				return az.Decide(r, inside).Outcome
			}
			if o := req(idp.Token("u1", "groups", []string{"vets"}, time.Hour, nil)); o != Allow {
				t.Fatalf("good token: %v", o)
			}
			if o := req(idp.Token("u1", "groups", []string{"vets"}, time.Hour, jwt.MapClaims{"aud": "another-api"})); o != Unauthorized {
				t.Fatalf("another audience: %v", o)
			}
			if o := req(idp.Token("u1", "groups", []string{"vets"}, time.Hour, jwt.MapClaims{"nbf": clk.Now().Add(time.Hour).Unix()})); o != Unauthorized {
				t.Fatalf("not yet valid: %v", o)
			}
			other := "RS256"
			if alg == "RS256" {
				other = "ES256"
			}
			if o := req(idptest.ForgeWithKid(idp.KeyID(), other, idptest.Claims(idp.Token("u1", "groups", []string{"vets"}, time.Hour, nil)))); o != Unauthorized {
				t.Fatalf("an algorithm the issuer is not pinned to: %v", o)
			}
		})
	}
}

// A discovery document naming another issuer is refused (OpenID Connect
// Discovery 1.0 §4.3: "The issuer value returned MUST be identical to the
// Issuer URL that was used as the prefix to /.well-known/openid-configuration").
func TestDiscoveryIssuerMismatch(t *testing.T) {
	idp := idptest.NewOIDC("ES256", "my-api")
	defer idp.Close()
	if _, err := discover(context.Background(), nil2(), idp.Issuer()+"/"); err == nil {
		t.Fatal("a discovery document for another issuer string was accepted")
	}
	if u, err := discover(context.Background(), nil2(), idp.Issuer()); err != nil || u != idp.Issuer()+"/jwks" {
		t.Fatal(u, err)
	}
}
