package lock

import (
	"context"
	"fmt"
	"testing"
)

// claimsWith is a valid claims set for key A, with extra members.
func claimsWith(extra string) string {
	return `{"aud":"https://lockgate.example.com","iss":"https://a.example","sub":"alice"` + extra + `}`
}

// now is diffNow, 1795262400; the leeway 60 s, the longest lifetime 10 min.
const okExp = `,"exp":1795262700`

// strictTokens are tokens golang-jwt accepted and lockgate refuses (or
// must keep accepting), each on both verification paths.
var strictTokens = []struct {
	name, header, claims string
	accept               bool
}{
	{"baseline", hdrHS256, claimsWith(okExp), true},

	// F1: a NumericDate outside 1970 to about 5000 overflowed golang-jwt's
	// float-to-integer conversion into the past.
	{"nbf 1e300", hdrHS256, claimsWith(okExp + `,"nbf":1e300`), false},
	{"nbf 1e19", hdrHS256, claimsWith(okExp + `,"nbf":1e19`), false},
	{"nbf 9.3e18", hdrHS256, claimsWith(okExp + `,"nbf":9.3e18`), false},
	{"nbf 2^63-1", hdrHS256, claimsWith(okExp + `,"nbf":9223372036854775807`), false},
	{"nbf -1e300", hdrHS256, claimsWith(okExp + `,"nbf":-1e300`), false},
	{"iat 1e19", hdrHS256, claimsWith(okExp + `,"iat":1e19`), false},
	{"nbf 1e11", hdrHS256, claimsWith(okExp + `,"nbf":1e11`), false},
	{"nbf 0", hdrHS256, claimsWith(okExp + `,"nbf":0`), true},

	// F2: claim names are case-sensitive (RFC 7519 §4); encoding/json
	// matched them case-insensitively, with Unicode folding.
	{"SUB without sub", hdrHS256, `{"aud":"https://lockgate.example.com","iss":"https://a.example","SUB":"alice"` + okExp + `}`, false},
	{"Exp without exp", hdrHS256, claimsWith(`,"Exp":1795262700`), false},
	{"long-s sub after sub", hdrHS256, claimsWith(okExp + `,"ſub":"carol"`), false},
	{"Sub after sub", hdrHS256, claimsWith(okExp + `,"Sub":"carol"`), false},
	{"eXp before exp", hdrHS256, claimsWith(`,"eXp":1795262000` + okExp), false},
	{"escaped ſ", hdrHS256, claimsWith(okExp + `,"\u017fub":"carol"`), false},
	{"sub twice", hdrHS256, claimsWith(okExp + `,"sub":"carol"`), false},
	{"sub twice, once escaped", hdrHS256, claimsWith(okExp + `,"s\u0075b":"carol"`), false},
	{"unknown claim twice", hdrHS256, claimsWith(okExp + `,"x":1,"x":2`), false},
	{"alg twice", `{"alg":"HS256","alg":"HS256"}`, claimsWith(okExp), false},
	{"unknown header member twice", `{"alg":"HS256","x":1,"x":1}`, claimsWith(okExp), false},
	{"other names are free", hdrHS256, claimsWith(okExp + `,"subject":"x","Übung":1,"SUBS":2`), true},
	{"header names stay exact", `{"alg":"HS256","ALG":"none"}`, claimsWith(okExp), true},

	// F13: RFC 7515 §5.2, the header is UTF-8 JSON; enc and zip make a
	// JWE (RFC 7516); dates compare exactly, not truncated.
	{"invalid UTF-8 in header", `{"alg":"HS256","x":"` + "\xff" + `"}`, claimsWith(okExp), false},
	{"invalid UTF-8 in claims", hdrHS256, claimsWith(okExp + `,"x":"` + "\xff" + `"`), false},
	{"invalid UTF-8 in a claim name", hdrHS256, claimsWith(okExp + `,"` + "\xc0\xaf" + `":1`), false},
	{"enc", `{"alg":"HS256","enc":"A128GCM"}`, claimsWith(okExp), false},
	{"zip", `{"alg":"HS256","zip":"DEF"}`, claimsWith(okExp), false},
	{"lifetime 600.9 s over the leeway", hdrHS256, claimsWith(`,"exp":1795263060.9`), false},
	{"lifetime 600 s over the leeway", hdrHS256, claimsWith(`,"exp":1795263060`), true},
	{"nbf 60.999 s ahead", hdrHS256, claimsWith(okExp + `,"nbf":1795262460.999`), false},
	{"nbf 60 s ahead", hdrHS256, claimsWith(okExp + `,"nbf":1795262460`), true},
	{"iat 60.5 s ahead", hdrHS256, claimsWith(okExp + `,"iat":1795262460.5`), false},
	{"exp 59.5 s ago", hdrHS256, claimsWith(`,"exp":1795262340.5`), false},
	{"exp 59 s ago", hdrHS256, claimsWith(`,"exp":1795262341`), true},
	{"claims an array", hdrHS256, `[` + claimsWith(okExp) + `]`, false},
}

func TestTokenStrictness(t *testing.T) {
	v := diffVerifier()
	ctx := context.Background()
	for _, tt := range strictTokens {
		for _, fast := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/fast=%v", tt.name, fast), func(t *testing.T) {
				tok := signRaw(keyA1, tt.header, tt.claims)
				_, sub, err := v.verifyWith(ctx, tok, fast)
				if (err == nil) != tt.accept {
					t.Fatalf("verify = %q, %v; want accepted %v", sub, err, tt.accept)
				}
				if tt.accept && sub != "alice" {
					t.Fatalf("sub = %q, want alice", sub)
				}
			})
		}
	}
}
