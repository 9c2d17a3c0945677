package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lockgate/lockgate/internal/authz/idptest"
)

// `lockgate lambda authorizer --event FILE` answers the blog's scenario
// exactly as the golden answers of internal/authz say, configured by the
// function's environment, the JWK set fetched from a pool double started
// here and the group policies read from a file.
func TestLambdaAuthorizerEvents(t *testing.T) {
	t.Parallel()
	idp := idptest.NewCognito("us-east-1", "us-east-1_PetStore1", "petstoreclient0001")
	defer idp.Close()
	other := idptest.NewCognito("us-east-1", "us-east-1_OtherPool", "petstoreclient0001")
	defer other.Close()
	dir := t.TempDir()
	pet := mustReadFile(t, "../../iampolicy/testdata/petstore.json")
	groups := filepath.Join(dir, "groups.json")
	os.WriteFile(groups, []byte(`{"pet-veterinarian": `+string(pet)+`}`), 0o600)
	vet := idptest.User{Sub: "8f2b6a1e-0c1d-4e5f-9a8b-7c6d5e4f3a2b", Username: "cognitouser", Groups: []string{"pet-veterinarian"}}
	good := idp.AccessToken(vet)
	fill := strings.NewReplacer(
		"{{ACCESS_TOKEN}}", good,
		"{{ID_TOKEN}}", idp.IDToken(vet),
		"{{FORGED_TOKEN}}", idptest.ForgeWithKid(idp.KeyID(), "RS256", idptest.Claims(good)),
		"{{OTHER_POOL_TOKEN}}", other.AccessToken(vet),
		"{{NO_GROUP_TOKEN}}", idp.AccessToken(idptest.User{Sub: "0d7c5e21-no-groups", Username: "newcomer"}),
	)
	env := []string{
		"LOCKGATE_AUTHZ_USER_POOL_ID=us-east-1_PetStore1", "AWS_REGION=us-east-1",
		"LOCKGATE_AUTHZ_CLIENT_IDS=petstoreclient0001", "LOCKGATE_AUTHZ_JWKS_URL=" + idp.JWKSURL(),
		"LOCKGATE_AUTHZ_GROUPS_SOURCE=file", "LOCKGATE_AUTHZ_GROUPS_FILE=" + groups,
		"LOCKGATE_AUTHZ_CONTEXT_CLAIMS=scope",
	}
	events, _ := filepath.Glob("../../internal/authz/testdata/lambda/*.event.json")
	if len(events) < 10 {
		t.Fatalf("%d events", len(events))
	}
	for _, ev := range events {
		name := strings.TrimSuffix(filepath.Base(ev), ".event.json")
		t.Run(name, func(t *testing.T) {
			raw, _ := os.ReadFile(ev)
			file := filepath.Join(dir, name+".json")
			os.WriteFile(file, []byte(fill.Replace(string(raw))), 0o600)
			e := env
			if strings.HasPrefix(name, "http-simple") {
				e = append(e, "LOCKGATE_AUTHZ_RESPONSE=simple")
			}
			want := string(mustReadFile(t, strings.TrimSuffix(ev, ".event.json")+".answer.json"))
			out, errOut, code := runCLI(t, e, "lambda", "authorizer", "--event", file)
			wantCode := 0
			if strings.Contains(want, "errorMessage") {
				wantCode = 1
			}
			if out != want || code != wantCode {
				t.Fatalf("exit %d (want %d)\n%s%s\nwant:\n%s", code, wantCode, out, errOut, want)
			}
		})
	}
}

// Bad configuration is named before any event is handled.
func TestLambdaAuthorizerConfigErrors(t *testing.T) {
	for _, tt := range []struct {
		env  []string
		want string
	}{
		{[]string{"LOCKGATE_AUTHZ_RESPONSE=maybe"}, `"maybe" is not iam or simple`},
		{[]string{"LOCKGATE_AUTHZ_USER_POOL_ID=nope", "AWS_REGION=us-east-1", "LOCKGATE_AUTHZ_CLIENT_IDS=x", "LOCKGATE_AUTHZ_GROUPS_SOURCE=file", "LOCKGATE_AUTHZ_GROUPS_FILE=/nonexistent"},
			`"nope" is not a user pool id`},
		{[]string{"LOCKGATE_AUTHZ_OIDC_ISSUER=https://idp.example.com", "LOCKGATE_AUTHZ_ALGORITHMS=HS256", "LOCKGATE_AUTHZ_CLIENT_IDS=x"}, `"HS256" is not one of RS256, ES256, EdDSA`},
	} {
		_, errOut, code := runCLI(t, tt.env, "lambda", "authorizer", "--event", "/dev/null")
		if code == 0 || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d: %s", tt.env, code, errOut)
		}
	}
}

func TestBootstrapHandler(t *testing.T) {
	t.Setenv("_HANDLER", "authorizer")
	if got := strings.Join(bootstrapArgs(), " "); got != "lambda authorizer" {
		t.Fatal(got)
	}
	t.Setenv("_HANDLER", "bootstrap")
	if got := strings.Join(bootstrapArgs(), " "); got != "lambda iam-responder" {
		t.Fatal(got)
	}
}
