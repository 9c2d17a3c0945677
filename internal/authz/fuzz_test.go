package authz

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
)

// Any bytes as a JWK set: an error or keys, never a panic, and only
// signature keys with a kid usable with the algorithms asked.
func FuzzParseJWKS(f *testing.F) {
	f.Add([]byte(`{"keys":[{"alg":"RS256","e":"AQAB","kid":"k","kty":"RSA","n":"sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw","use":"sig"}]}`), "RS256")
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256","kid":"e","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}`), "ES256")
	f.Add([]byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"o","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`), "EdDSA")
	f.Add([]byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"h"}]}`), "RS256")
	f.Add([]byte(`[]`), "RS256")
	f.Fuzz(func(t *testing.T, data []byte, alg string) {
		keys, err := parseJWKS(data, []string{alg}, "fuzz")
		if err == nil && len(keys) == 0 {
			t.Fatal("no error and no key")
		}
		for _, k := range keys {
			m := k.Marshal()
			if m.KID == "" || !keyFits(m.KTY, []string{alg}) {
				t.Fatalf("kept %+v for %s", m, alg)
			}
		}
	})
}

// Any token: refused or verified, never a panic; anything not minted by
// the pool double is refused.
func FuzzDecideToken(f *testing.F) {
	w := newWorld(f)
	good := w.idp.AccessToken(w.vet)
	f.Add(good)
	f.Add("Bearer " + good)
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")
	f.Add("a.b.c")
	f.Add(strings.Repeat(".", 3))
	f.Fuzz(func(t *testing.T, tok string) {
		d := w.az.Decide(w.request("GET", "/petstore/v1/pets", tok), inside)
		if d.Outcome == Allow && bearer(tok) != good {
			t.Fatalf("allowed %q", tok)
		}
	})
}

// Any event: an answer or an error, never a panic; a policy answer holds
// only statements for execute-api:Invoke with ARNs of the event's API.
func FuzzLambdaEvent(f *testing.F) {
	w := newWorld(f)
	good := w.idp.AccessToken(w.vet)
	f.Add(`{"type":"TOKEN","authorizationToken":"TOKEN","methodArn":"arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/petstore/v1/pets"}`)
	f.Add(`{"version":"2.0","type":"REQUEST","routeArn":"arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/$default/GET/x","identitySource":["TOKEN"]}`)
	f.Add(`{"type":"REQUEST","methodArn":"arn:aws:execute-api:::/","headers":{"authorization":"TOKEN"}}`)
	f.Fuzz(func(t *testing.T, raw string) {
		var ev LambdaEvent
		if json.Unmarshal([]byte(strings.ReplaceAll(raw, "TOKEN", good)), &ev) != nil {
			return
		}
		out, err := w.az.Lambda(context.Background(), ev, false)
		if err != nil {
			return
		}
		arn, _ := parseExecuteAPIARN(ev.MethodArn + ev.RouteArn)
		for _, st := range out.(PolicyResponse).PolicyDocument.Statement {
			if st["Action"] != "execute-api:Invoke" {
				t.Fatalf("statement %v", st)
			}
			for _, r := range asList(st["Resource"]) {
				if !strings.HasPrefix(r, "arn:"+arn.partition+":execute-api:"+arn.region+":"+arn.account+":") {
					t.Fatalf("resource %s outside %+v", r, arn)
				}
			}
		}
	})
}

// Any request target: canonical paths are their own Clean.
func FuzzCanonicalPath(f *testing.F) {
	for _, s := range []string{"/a/b", "/a/../b", "/a/..;/b", "/%2e%2e/", "/a%2fb", "//a", "/a/./b/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, target string) {
		if !strings.HasPrefix(target, "/") || strings.ContainsAny(target, " \r\n#?") {
			return
		}
		defer func() {
			if recover() != nil {
				t.Skip() // httptest.NewRequest panics on targets net/http refuses
			}
		}()
		r := httptest.NewRequest("GET", target, nil)
		p, ok := canonicalPath(r)
		if ok && (strings.Contains(p, "/../") || strings.Contains(p, "/./") || strings.Contains(p, "//") || strings.HasSuffix(p, "/..")) {
			t.Fatalf("%q accepted as %q", target, p)
		}
	})
}
