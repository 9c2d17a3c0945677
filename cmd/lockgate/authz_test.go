package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/authz/idptest"
)

const authzAdminToken = "authz-admin-token-sHu4n8ZbcFAzSWQsFsG"

// authzConfig writes the blog's architecture with lockgate: the gateway
// in front of the pets API, the petstore authorizer trusting the pool
// double's keys, a lock check at app (when given).
func authzConfig(t *testing.T, dir, gwAddr, upstream, jwks, app string) string {
	t.Helper()
	lockCheck := ""
	if app != "" {
		lockCheck = "\n      lock_check:\n        application: " + app
	}
	cfg := filepath.Join(dir, "lockgate.yaml")
	os.WriteFile(cfg, []byte(`data_dir: `+filepath.Join(dir, "data")+`
gateway:
  listen: `+gwAddr+`
  trusted_proxies: ["127.0.0.0/8"]
  routes:
    - name: petstore
      upstreams: [`+upstream+`]
      authorizer: petstore
authz:
  issuers:
    - name: pool
      cognito: {region: us-east-1, user_pool_id: us-east-1_PetStore1}
      jwks_url: `+jwks+`
      client_ids: [petstoreclient0001]
  authorizers:
    - name: petstore
      issuers: [pool]
      region: us-east-1
      account: "123456789012"
      api_id: a1b2c3d4e5
      stage: prod
      headers:
        claims: {X-Lockgate-Scope: scope}`+lockCheck+`
`), 0o600)
	return cfg
}

// petsUpstream answers the pets list and echoes the identity headers it
// received, every spelling of their names included.
func petsUpstream(t *testing.T) (*httptest.Server, func() http.Header) {
	var mu sync.Mutex
	var last http.Header
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		last = r.Header.Clone()
		mu.Unlock()
		io.WriteString(w, `{"pets":[{"id":1,"name":"Birds"},{"id":2,"name":"Cats"},{"id":3,"name":"Dogs"},{"id":4,"name":"Fish"}]}`)
	}))
	t.Cleanup(up.Close)
	return up, func() http.Header { mu.Lock(); defer mu.Unlock(); return last }
}

func gwDo(t *testing.T, gw, method, path, token, client string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, gw+path, nil)
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	req.Header.Set("X-Forwarded-For", client)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, string(body)
}

// The blog's scenario end to end with processes: a JWKS server (the
// Cognito pool double) started by the test, lockgate serve with the
// gateway and the petstore authorizer, the policy set with the CLI,
// requests through the gateway from inside and outside the policy's
// address ranges, and a locked account.
func TestAuthzBlogScenarioProcess(t *testing.T) {
	t.Parallel()
	idp := idptest.NewCognito("us-east-1", "us-east-1_PetStore1", "petstoreclient0001")
	defer idp.Close()
	other := idptest.NewCognito("us-east-1", "us-east-1_Elsewhere", "petstoreclient0001")
	defer other.Close()
	up, received := petsUpstream(t)
	dir := t.TempDir()
	addr, gwAddr := freeAddr(t), freeAddr(t)
	env := []string{"LOCKGATE_ADMIN_TOKEN=" + authzAdminToken}
	cli := []string{"LOCKGATE_ADMIN_TOKEN=" + authzAdminToken, "LOCKGATE_SERVER=http://" + addr}

	// First start: the lock application is created, then named in the
	// configuration of the second start.
	p := startServeArgs(t, addr, []string{"--config", authzConfig(t, dir, gwAddr, up.URL, idp.JWKSURL(), "")}, env...)
	out, errOut, code := runCLI(t, cli, "app", "create", "--name", "Pet store", "--issuer", "https://pets.example.com", "-o", "json")
	if code != 0 {
		t.Fatalf("app create: %s%s", out, errOut)
	}
	var app struct{ ID string }
	json.Unmarshal([]byte(out), &app)
	if out, errOut, code := runCLI(t, cli, "app", "update", app.ID, "--locked-message", "This account is locked by its owner."); code != 0 {
		t.Fatalf("app update: %s%s", out, errOut)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.cmd.Wait()
	startServeArgs(t, addr, []string{"--config", authzConfig(t, dir, gwAddr, up.URL, idp.JWKSURL(), app.ID)}, env...)

	os.WriteFile(filepath.Join(dir, "petstore.json"), mustReadFile(t, "../../iampolicy/testdata/petstore.json"), 0o600)
	if out, errOut, code := runCLI(t, cli, "authz", "group", "set", "pet-veterinarian", "--policy", filepath.Join(dir, "petstore.json")); code != 0 {
		t.Fatalf("authz group set: %s%s", out, errOut)
	}
	out, _, _ = runCLI(t, cli, "authz", "group", "list", "-o", "json")
	if !strings.Contains(out, `"group": "pet-veterinarian"`) {
		t.Fatalf("group list: %s", out)
	}

	vet := idptest.User{Sub: "8f2b6a1e-0c1d-4e5f-9a8b-7c6d5e4f3a2b", Username: "cognitouser", Groups: []string{"pet-veterinarian"}}
	access := "Bearer " + idp.AccessToken(vet)
	gw := "http://" + gwAddr
	const (
		unauthorized = `{"message":"Unauthorized"}`
		denied       = `{"Message":"User is not authorized to access this resource"}`
	)
	for _, tt := range []struct {
		name, method, path, token, client string
		status                            int
		body                              string
	}{
		{"no token", "GET", "/petstore/v1/pets", "", "192.0.2.10", 401, unauthorized},
		{"forged signature", "GET", "/petstore/v1/pets", "Bearer " + idptest.ForgeWithKid(idp.KeyID(), "RS256", idptest.Claims(idp.AccessToken(vet))), "192.0.2.10", 401, unauthorized},
		{"wrong issuer", "GET", "/petstore/v1/pets", "Bearer " + other.AccessToken(vet), "192.0.2.10", 401, unauthorized},
		{"ID token where access is required", "GET", "/petstore/v1/pets", "Bearer " + idp.IDToken(vet), "192.0.2.10", 401, unauthorized},
		{"GET v1 pets", "GET", "/petstore/v1/pets", access, "192.0.2.10", 200, `{"pets":`},
		{"GET v2 status", "GET", "/petstore/v2/status", access, "198.51.100.20", 200, `{"pets":`},
		{"GET v2 pets", "GET", "/petstore/v2/pets", access, "192.0.2.10", 403, denied},
		{"POST v2 status", "POST", "/petstore/v2/status", access, "192.0.2.10", 403, denied},
		{"outside the IP range", "GET", "/petstore/v1/pets", access, "203.0.113.9", 403, denied},
		{"dot segments", "GET", "/petstore/v1/../v2/pets", access, "192.0.2.10", 400, `{"message":"Bad Request"}`},
	} {
		status, body := gwDo(t, gw, tt.method, tt.path, tt.token, tt.client)
		if status != tt.status || !strings.HasPrefix(body, tt.body) {
			t.Errorf("%s: %d %s, want %d %s", tt.name, status, body, tt.status, tt.body)
		}
	}
	if h := received(); h.Get("X-Lockgate-Principal") != vet.Sub || h.Get("X-Lockgate-Groups") != "pet-veterinarian" || h.Get("X-Lockgate-Username") != "cognitouser" || h.Get("X-Lockgate-Scope") != "openid email" {
		t.Errorf("identity headers at the upstream: %v", h)
	}

	// The owner locks the account: the same token is refused with the
	// application's message, though its policy allows the request.
	if out, errOut, code := runCLI(t, cli, "account", "lock", app.ID, "cognitouser"); code != 0 {
		t.Fatalf("account lock: %s%s", out, errOut)
	}
	if status, body := gwDo(t, gw, "GET", "/petstore/v1/pets", access, "192.0.2.10"); status != 403 || body != `{"Message":"This account is locked by its owner."}` {
		t.Errorf("locked account: %d %s", status, body)
	}
	runCLI(t, cli, "account", "unlock", app.ID, "cognitouser")
	if status, _ := gwDo(t, gw, "GET", "/petstore/v1/pets", access, "192.0.2.10"); status != 200 {
		t.Errorf("unlocked again: %d", status)
	}

	// A group policy removed applies at once: nothing allows any more.
	runCLI(t, cli, "authz", "group", "delete", "pet-veterinarian")
	if status, _ := gwDo(t, gw, "GET", "/petstore/v1/pets", access, "192.0.2.10"); status != 403 {
		t.Errorf("after the policy was deleted: %d", status)
	}
	if _, errOut, code := runCLI(t, cli, "authz", "group", "get", "pet-veterinarian"); code != 1 || !strings.Contains(errOut, "group pet-veterinarian not found — list them with `lockgate authz group list`") {
		t.Errorf("get a deleted group: %d %s", code, errOut)
	}
}

// Identity headers sent by the client never reach the upstream, however
// their names are spelled: written on a raw socket, where a client
// library would normalise them.
func TestAuthzStripsClientIdentityHeaders(t *testing.T) {
	idp := idptest.NewCognito("us-east-1", "us-east-1_PetStore1", "petstoreclient0001")
	defer idp.Close()
	up, received := petsUpstream(t)
	dir := t.TempDir()
	addr, gwAddr := freeAddr(t), freeAddr(t)
	cli := []string{"LOCKGATE_ADMIN_TOKEN=" + authzAdminToken, "LOCKGATE_SERVER=http://" + addr}
	startServeArgs(t, addr, []string{"--config", authzConfig(t, dir, gwAddr, up.URL, idp.JWKSURL(), "")}, "LOCKGATE_ADMIN_TOKEN="+authzAdminToken)
	os.WriteFile(filepath.Join(dir, "p.json"), mustReadFile(t, "../../iampolicy/testdata/petstore.json"), 0o600)
	if out, errOut, code := runCLI(t, cli, "authz", "group", "set", "pet-veterinarian", "--policy", filepath.Join(dir, "p.json")); code != 0 {
		t.Fatal(out, errOut)
	}
	tok := idp.AccessToken(idptest.User{Sub: "real-sub", Username: "real-user", Groups: []string{"pet-veterinarian"}})
	conn, err := net.Dial("tcp", gwAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /petstore/v1/pets HTTP/1.1\r\nHost: api.example.com\r\nAuthorization: %s\r\nX-Forwarded-For: 192.0.2.10\r\n"+
		"x-lockgate-principal: admin\r\nX-LOCKGATE-GROUPS: admins\r\nX_Lockgate_Username: root\r\nx_lockgate_principal: admin2\r\nX-Lockgate-Scope: everything\r\n"+
		"Connection: close\r\n\r\n", tok)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	h := received()
	var identity []string
	for name, vs := range h {
		if strings.HasPrefix(strings.ReplaceAll(strings.ToLower(name), "_", "-"), "x-lockgate-") {
			identity = append(identity, name+"="+strings.Join(vs, "|"))
		}
	}
	want := map[string]bool{"X-Lockgate-Principal=real-sub": true, "X-Lockgate-Groups=pet-veterinarian": true, "X-Lockgate-Username=real-user": true, "X-Lockgate-Scope=openid email": true}
	if len(identity) != len(want) {
		t.Fatalf("upstream saw %v", identity)
	}
	for _, kv := range identity {
		if !want[kv] {
			t.Errorf("upstream saw %s", kv)
		}
	}
	// A header sent twice (in any case) is refused before anything is
	// decided: no single value would be the one every rule inspected.
	conn2, err := net.Dial("tcp", gwAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn2.Close()
	fmt.Fprintf(conn2, "GET /petstore/v1/pets HTTP/1.1\r\nHost: api.example.com\r\nAuthorization: %s\r\n"+
		"X-LOCKGATE-GROUPS: admins\r\nX-Lockgate-Groups: more\r\nConnection: close\r\n\r\n", tok)
	resp2, err := http.ReadResponse(bufio.NewReader(conn2), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusBadRequest {
		t.Fatalf("a repeated identity header: status %d, want 400", resp2.StatusCode)
	}
	_ = time.Second
}

func mustReadFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// config validate names what is wrong with the authz section: a JWK set
// file that is missing, a group policy that does not compile (located in
// its own file), an authorizer naming no issuer, and — once the section
// is right — a gateway route naming no authorizer.
func TestAuthzConfigValidate(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "lockgate.yaml")
	os.WriteFile(filepath.Join(dir, "groups.yaml"), []byte(`pet-veterinarian:
  Version: "2012-10-17"
  Statement:
    - Effect: Permit
      Action: execute-api:Invoke
      Resource: "*"
`), 0o600)
	os.WriteFile(cfg, []byte(`gateway:
  listen: 127.0.0.1:0
  routes:
    - name: pets
      upstreams: [http://127.0.0.1:9]
      authorizer: petstor
authz:
  issuers:
    - name: pool
      cognito: {region: us-east-1, user_pool_id: us-east-1_PetStore1}
      jwks_file: keys/jwks.json
      client_ids: [c]
  groups:
    source: file
    file: groups.yaml
  authorizers:
    - name: petstore
      issuers: [pol]
      region: us-east-1
      account: "123456789012"
      api_id: a1b2c3d4e5
      stage: prod
`), 0o600)
	_, stderr, code := runCLI(t, nil, "config", "validate", cfg)
	if code != 1 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		cfg + ":11:18: authz.issuers[0].jwks_file: open " + filepath.Join(dir, "keys/jwks.json") + ": no such file or directory",
		cfg + ":15:11: authz.groups.file: " + filepath.Join(dir, "groups.yaml") + `:4:15: pet-veterinarian.Statement[0].Effect: "Permit" is not Allow or Deny`,
		cfg + `:18:17: authz.authorizers[0].issuers[0]: "pol" is not an issuer of this section (known: pool)`,
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("lacks %q\n%s", want, stderr)
		}
	}
	// With the section right, the route's authorizer is checked.
	idp := idptest.NewCognito("us-east-1", "us-east-1_PetStore1", "c")
	defer idp.Close()
	os.MkdirAll(filepath.Join(dir, "keys"), 0o700)
	resp, err := http.Get(idp.JWKSURL())
	if err != nil {
		t.Fatal(err)
	}
	jwks, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	os.WriteFile(filepath.Join(dir, "keys/jwks.json"), jwks, 0o600)
	os.WriteFile(filepath.Join(dir, "groups.yaml"), []byte("pet-veterinarian: "+string(mustReadFile(t, "../../iampolicy/testdata/petstore.json"))), 0o600)
	data, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, []byte(strings.Replace(string(data), "[pol]", "[pool]", 1)), 0o600)
	_, stderr, code = runCLI(t, nil, "config", "validate", cfg)
	if want := cfg + `:6:19: gateway.routes[0].authorizer: "petstor" is not an authorizer of the authz section`; code != 1 || !strings.Contains(stderr, want) {
		t.Errorf("exit %d, lacks %q\n%s", code, want, stderr)
	}
	os.WriteFile(cfg, []byte(strings.Replace(strings.Replace(string(data), "[pol]", "[pool]", 1), "petstor\n", "petstore\n", 1)), 0o600)
	if out, stderr, code := runCLI(t, nil, "config", "validate", cfg); code != 0 {
		t.Errorf("a right configuration: exit %d\n%s%s", code, out, stderr)
	}
}
