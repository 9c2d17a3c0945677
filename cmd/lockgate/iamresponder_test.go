package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/lockgate/lockgate/internal/awsiam"
	"github.com/lockgate/lockgate/internal/awsiam/iamtest"
)

const (
	eventsSecret = "eventbridge-api-destination-secret"
	sampleDir    = "../../internal/awsiam/testdata/"
)

// iamWorld is the IAM test server with the principals of the samples.
func iamWorld(t *testing.T) (*iamtest.Server, string, *iamtest.User) {
	srv := iamtest.New("111122223333")
	hs := srv.Start()
	t.Cleanup(hs.Close)
	admin := srv.AddManagedPolicy("AdministratorAccess", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)
	srv.AddManagedPolicy("LockgateDenyAll", awsiam.DenyAllDocument)
	anaya := srv.AddUser("anaya", 2)
	if err := srv.AttachUserPolicy("anaya", admin); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"admin", "okta"} {
		srv.AddRole(name)
		if err := srv.AttachRolePolicy(name, admin); err != nil {
			t.Fatal(err)
		}
	}
	srv.Do(func(users map[string]*iamtest.User, roles map[string]*iamtest.Role) {
		users["anaya"].Keys[1].Status = "Inactive" // disabled by an administrator
		roles["admin"].ID = "AROXXXXXXXXXXXXXXXXX" // as in the sample event
	})
	return srv, hs.URL, anaya
}

func awsEnv(iamURL string) []string {
	return []string{"AWS_ACCESS_KEY_ID=AKIDTEST", "AWS_SECRET_ACCESS_KEY=secret", "AWS_REGION=us-east-1",
		"AWS_ENDPOINT_URL_IAM=" + iamURL, "AWS_EC2_METADATA_DISABLED=true", "AWS_MAX_ATTEMPTS=2"}
}

func post(t *testing.T, url string, header map[string]string, body []byte) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var m map[string]any
	json.Unmarshal(data, &m)
	return resp.StatusCode, m
}

func keyStatuses(srv *iamtest.Server, user string) string {
	var out []string
	srv.Do(func(users map[string]*iamtest.User, _ map[string]*iamtest.Role) {
		for _, k := range users[user].Keys {
			out = append(out, k.Status)
		}
	})
	return strings.Join(out, ",")
}

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if ok() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestIAMResponderFlow runs the lock service and the responder as
// processes against the IAM test server, driven by the sample events and
// by lock changes the lock service pushes.
func TestIAMResponderFlow(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("process test")
	}
	srv, iamURL, anaya := iamWorld(t)

	// The lock service.
	lockAddr := freeAddr(t)
	// The responder listens on loopback, which webhooks reach only when
	// allowed.
	a := startServe(t, lockAddr, "LOCKGATE_DATA_DIR="+t.TempDir(), "LOCKGATE_ADMIN_TOKEN="+crashAdmin, "LOCKGATE_WEBHOOK_ALLOW_NETWORKS=127.0.0.0/8")
	client := &http.Client{Timeout: 10 * time.Second}
	var app struct {
		ID         string                  `json:"id"`
		SigningKey struct{ Secret string } `json:"signing_key"`
	}
	if code, err := adminDo(client, a.url(), "POST", "/api/v1/admin/applications", map[string]any{"name": "AWS", "issuers": []string{"https://aws.example.com"}}, &app); code != 201 {
		t.Fatalf("create app: %d %v", code, err)
	}
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "signing.key")
	os.WriteFile(keyFile, []byte(app.SigningKey.Secret), 0o600)

	// The responder, in HTTP mode: it receives EventBridge events and the
	// lock service's pushes.
	respAddr := freeAddr(t)
	var hook struct {
		Secret string `json:"secret"`
	}
	adminDo(client, a.url(), "POST", "/api/v1/admin/applications/"+app.ID+"/webhooks", map[string]string{"url": "http://" + respAddr + "/events/lock-changed"}, &hook)
	cfg := filepath.Join(dir, "responder.yaml")
	os.WriteFile(cfg, []byte(`iam_responder:
  enabled: true
  app_uri: https://aws.example.com
  api_uri: `+a.url()+`
  signing_key_file: `+keyFile+`
  deny_policy_arn: arn:aws:iam::111122223333:policy/LockgateDenyAll
  report: true
`), 0o600)
	env := append(awsEnv(iamURL), "LOCKGATE_DATA_DIR="+t.TempDir(), "LOCKGATE_ADMIN_TOKEN="+crashAdmin, "LOCKGATE_EVENTS_SECRET="+eventsSecret, "LOCKGATE_WEBHOOK_SECRET="+hook.Secret)
	b := startServeArgs(t, respAddr, []string{"--config", cfg}, env...)
	events := "http://" + respAddr + "/events/aws-signin"
	auth := map[string]string{"X-Lockgate-Events-Secret": eventsSecret}
	sample := func(name string) []byte {
		data, err := os.ReadFile(sampleDir + name)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}

	if code, _ := post(t, events, map[string]string{"X-Lockgate-Events-Secret": "wrong"}, sample("iam-user-success.eventbridge.json")); code != 401 {
		t.Fatalf("wrong secret: %d", code)
	}
	// anaya is not locked: nothing to do.
	if code, out := post(t, events, auth, sample("iam-user-success.eventbridge.json")); code != 200 || out["result"] != "unlocked" {
		t.Fatalf("first sign-in: %d %v\n%s", code, out, b.logs)
	}
	if got := keyStatuses(srv, "anaya"); got != "Active,Inactive" {
		t.Fatalf("keys changed for an unlocked user: %s", got)
	}

	// Locking anaya in lockgate ends her AWS access at once: the lock
	// service pushes lock.changed to the responder.
	lockTime := time.Now()
	adminDo(client, a.url(), "POST", "/api/v1/admin/applications/"+app.ID+"/accounts/anaya/lock", map[string]string{"reason": "phone stolen"}, nil)
	eventually(t, "anaya's keys to be deactivated", func() bool { return keyStatuses(srv, "anaya") == "Inactive,Inactive" })
	if srv.Authorize(iamtest.AuthorizeRequest{User: "anaya", IssuedAt: lockTime.Add(-time.Hour), Action: "s3:ListAllMyBuckets", Resource: "*"}).Allowed {
		t.Fatal("a session from before the lock still works")
	}
	if srv.Authorize(iamtest.AuthorizeRequest{User: "anaya", AccessKeyID: anaya.Keys[0].ID, Action: "s3:ListAllMyBuckets", Resource: "*"}).Allowed {
		t.Fatal("an access key still works")
	}
	// A later sign-in event confirms the lock.
	if code, out := post(t, events, auth, sample("iam-user-success.eventbridge.json")); code != 200 || out["result"] != "locked" {
		t.Fatalf("sign-in while locked: %d %v", code, out)
	}

	adminDo(client, a.url(), "POST", "/api/v1/admin/applications/"+app.ID+"/accounts/anaya/unlock", map[string]string{"for": "15m"}, nil)
	eventually(t, "anaya's keys to be restored", func() bool { return keyStatuses(srv, "anaya") == "Active,Inactive" })
	if !srv.Authorize(iamtest.AuthorizeRequest{User: "anaya", AccessKeyID: anaya.Keys[0].ID, Action: "s3:ListAllMyBuckets", Resource: "*"}).Allowed {
		t.Fatal("access not back after unlock")
	}

	// One person of a shared role.
	adminDo(client, a.url(), "POST", "/api/v1/admin/applications/"+app.ID+"/accounts/youradmin/lock", nil, nil)
	if code, out := post(t, events, auth, sample("assumed-role-success.eventbridge.json")); code != 200 || out["result"] != "locked" {
		t.Fatalf("role sign-in: %d %v", code, out)
	}
	role := func(session string) bool {
		return srv.Authorize(iamtest.AuthorizeRequest{Role: "admin", Session: session, IssuedAt: time.Now(), Action: "ec2:RunInstances", Resource: "*"}).Allowed
	}
	if role("youradmin") || !role("colleague") {
		t.Fatalf("role: locked person allowed=%v, colleague allowed=%v", role("youradmin"), role("colleague"))
	}
	// Unlocking pushes to the session the responder has seen.
	adminDo(client, a.url(), "POST", "/api/v1/admin/applications/"+app.ID+"/accounts/youradmin/unlock", nil, nil)
	eventually(t, "youradmin's access to be restored", func() bool { return role("youradmin") })

	// Root is reported, not acted on.
	root := strings.ReplaceAll(string(sample("root-failure.eventbridge.json")), `"Failure"`, `"Success"`)
	if code, out := post(t, events, auth, []byte(root)); code != 200 || out["result"] != "not-lockable" {
		t.Fatalf("root: %d %v", code, out)
	}

	// The outcomes are in anaya's account history at the lock service.
	var evs struct {
		Events []struct {
			Source string          `json:"source"`
			Detail json.RawMessage `json:"detail"`
		} `json:"events"`
	}
	adminDo(client, a.url(), "GET", "/api/v1/admin/applications/"+app.ID+"/accounts/anaya/events", nil, &evs)
	if len(evs.Events) < 3 || evs.Events[0].Source != "aws-iam-responder" || !strings.Contains(string(evs.Events[0].Detail), "UpdateAccessKey") {
		t.Fatalf("account events: %+v", evs)
	}
}

// TestLambdaHandler invokes the handler through aws-lambda-go's handler
// path, configured by the environment as the function is.
func TestLambdaHandler(t *testing.T) {
	srv, iamURL, _ := iamWorld(t)
	lockAddr := freeAddr(t)
	a := startServe(t, lockAddr, "LOCKGATE_DATA_DIR="+t.TempDir(), "LOCKGATE_ADMIN_TOKEN="+crashAdmin)
	client := &http.Client{Timeout: 10 * time.Second}
	var app struct {
		ID         string                  `json:"id"`
		SigningKey struct{ Secret string } `json:"signing_key"`
	}
	adminDo(client, a.url(), "POST", "/api/v1/admin/applications", map[string]any{"name": "AWS", "issuers": []string{"https://aws.example.com"}}, &app)
	adminDo(client, a.url(), "POST", "/api/v1/admin/applications/"+app.ID+"/accounts/tester@domain.tld/lock", nil, nil)
	keyFile := filepath.Join(t.TempDir(), "key")
	os.WriteFile(keyFile, []byte(app.SigningKey.Secret), 0o600)
	for _, kv := range append(awsEnv(iamURL), "LOCKGATE_APP_URI=https://aws.example.com", "LOCKGATE_API_URI="+a.url(), "LOCKGATE_SIGNING_KEY_FILE="+keyFile, "LOCKGATE_DENY_POLICY_ARN=arn:aws:iam::111122223333:policy/LockgateDenyAll") {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	r, err := responderFromEnv(context.Background(), lambdaLogger())
	if err != nil {
		t.Fatal(err)
	}
	h := lambda.NewHandler(lambdaHandler(r))
	payload, _ := os.ReadFile(sampleDir + "saml-federated-success.detail.json")
	resp, err := h.Invoke(context.Background(), payload)
	if err != nil {
		t.Fatal(err)
	}
	var out awsiam.Outcome
	if err := json.Unmarshal(resp, &out); err != nil || out.Result != "locked" || out.Target.Role != "okta" {
		t.Fatalf("lambda outcome %s: %v", resp, err)
	}
	if srv.Authorize(iamtest.AuthorizeRequest{Role: "okta", Session: "tester@domain.tld", IssuedAt: time.Now(), Action: "s3:GetObject", Resource: "*"}).Allowed {
		t.Fatal("locked SAML person allowed after the Lambda ran")
	}
}

// TestReplay runs lockgate iam-responder replay on a JSON-lines file.
func TestReplay(t *testing.T) {
	srv, iamURL, _ := iamWorld(t)
	lockAddr := freeAddr(t)
	a := startServe(t, lockAddr, "LOCKGATE_DATA_DIR="+t.TempDir(), "LOCKGATE_ADMIN_TOKEN="+crashAdmin)
	client := &http.Client{Timeout: 10 * time.Second}
	var app struct {
		ID         string                  `json:"id"`
		SigningKey struct{ Secret string } `json:"signing_key"`
	}
	adminDo(client, a.url(), "POST", "/api/v1/admin/applications", map[string]any{"name": "AWS", "issuers": []string{"https://aws.example.com"}}, &app)
	adminDo(client, a.url(), "POST", "/api/v1/admin/applications/"+app.ID+"/accounts/anaya/lock", nil, nil)
	dir := t.TempDir()
	var lines []string
	for _, f := range []string{"iam-user-success.eventbridge.json", "root-failure.eventbridge.json"} {
		data, _ := os.ReadFile(sampleDir + f)
		var v any
		json.Unmarshal(data, &v)
		line, _ := json.Marshal(v)
		lines = append(lines, string(line))
	}
	// A Lambda invocation record, as the dead-letter queue keeps it.
	record, _ := json.Marshal(map[string]any{"version": "1.0", "timestamp": "2026-11-21T12:00:00.000Z",
		"requestContext": map[string]any{"requestId": "r1", "condition": "RetriesExhausted", "approximateInvokeCount": 3},
		"requestPayload": json.RawMessage(lines[0]), "responseContext": map[string]any{"statusCode": 200, "functionError": "Unhandled"},
		"responsePayload": map[string]any{"errorMessage": "IAM did not answer"}})
	lines = append(lines, string(record))
	events := filepath.Join(dir, "events.jsonl")
	os.WriteFile(events, []byte(strings.Join(lines, "\n")+"\n"), 0o600)
	env := append(awsEnv(iamURL), "LOCKGATE_APP_URI=https://aws.example.com", "LOCKGATE_API_URI="+a.url(), "LOCKGATE_SIGNING_KEY="+app.SigningKey.Secret)
	stdout, stderr, code := runCLI(t, env, "iam-responder", "replay", events)
	if code != 0 || strings.Count(stdout, "\n") != 3 || strings.Count(stdout, `"result":"locked"`) != 2 || !strings.Contains(stdout, `"result":"skipped"`) || !strings.Contains(stdout, `"changed":false`) {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "LOCKGATE_SIGNING_KEY environment variable") {
		t.Errorf("no warning about the signing key in the environment:\n%s", stderr)
	}
	if keyStatuses(srv, "anaya") != "Inactive,Inactive" {
		t.Fatalf("replay did not lock: %s", keyStatuses(srv, "anaya"))
	}
}
