package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/lockgate/lockgate/internal/awsiam"
	"github.com/lockgate/lockgate/internal/awsiam/iamtest"
)

// lockService starts lockgate serve as the lock service with the AWS
// application; it returns its URL, the app id and the signing key file.
func lockService(t *testing.T) (url, appID, keyFile string) {
	t.Helper()
	a := startServe(t, freeAddr(t), "LOCKGATE_DATA_DIR="+t.TempDir(), "LOCKGATE_ADMIN_TOKEN="+crashAdmin, "LOCKGATE_WEBHOOK_ALLOW_NETWORKS=127.0.0.0/8")
	var app struct {
		ID         string                  `json:"id"`
		SigningKey struct{ Secret string } `json:"signing_key"`
	}
	client := &http.Client{Timeout: 10 * time.Second}
	if code, err := adminDo(client, a.url(), "POST", "/api/v1/admin/applications", map[string]any{"name": "AWS", "issuers": []string{"https://aws.example.com"}}, &app); code != 201 {
		t.Fatalf("create app: %d %v", code, err)
	}
	keyFile = filepath.Join(t.TempDir(), "signing.key")
	os.WriteFile(keyFile, []byte(app.SigningKey.Secret), 0o600)
	return a.url(), app.ID, keyFile
}

// lambdaFromEnv builds the Lambda function's handler in this process,
// configured by the environment as the function is.
func lambdaFromEnv(t *testing.T, env ...string) lambda.Handler {
	t.Helper()
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	r, err := responderFromEnv(context.Background(), lambdaLogger())
	if err != nil {
		t.Fatal(err)
	}
	return lambda.NewHandler(lambdaHandler(r))
}

type accountEvent struct {
	Source string          `json:"source"`
	Detail json.RawMessage `json:"detail"`
}

func accountEvents(t *testing.T, base, appID, user string) []accountEvent {
	t.Helper()
	var evs struct {
		Events []accountEvent `json:"events"`
	}
	client := &http.Client{Timeout: 10 * time.Second}
	if code, err := adminDo(client, base, "GET", "/api/v1/admin/applications/"+appID+"/accounts/"+url.PathEscape(user)+"/events", nil, &evs); code != 200 {
		t.Fatalf("events of %s: %d %v", user, code, err)
	}
	return evs.Events
}

// The documented deployment: the Lambda function handles sign-ins, a
// lockgate serve receives the lock service's lock.changed pushes. A role
// person signs in through the Lambda only; locking them in lockgate
// reaches their role session at once through the serve, which never saw
// the sign-in: the Lambda recorded it in the lock service's store.
func TestLambdaPlusServePushReachesRoleSession(t *testing.T) {
	if testing.Short() {
		t.Skip("process test")
	}
	srv, iamURL, _ := iamWorld(t)
	lockURL, appID, keyFile := lockService(t)
	client := &http.Client{Timeout: 10 * time.Second}

	// The serve receiving pushes.
	respAddr := freeAddr(t)
	var hook struct {
		Secret string `json:"secret"`
	}
	adminDo(client, lockURL, "POST", "/api/v1/admin/applications/"+appID+"/webhooks", map[string]string{"url": "http://" + respAddr + "/events/lock-changed"}, &hook)
	cfg := filepath.Join(t.TempDir(), "responder.yaml")
	os.WriteFile(cfg, []byte(`iam_responder:
  enabled: true
  app_uri: https://aws.example.com
  api_uri: `+lockURL+`
  signing_key_file: `+keyFile+`
  report: true
`), 0o600)
	startServeArgs(t, respAddr, []string{"--config", cfg}, append(awsEnv(iamURL), "LOCKGATE_DATA_DIR="+t.TempDir(), "LOCKGATE_ADMIN_TOKEN="+crashAdmin,
		"LOCKGATE_EVENTS_SECRET="+eventsSecret, "LOCKGATE_WEBHOOK_SECRET="+hook.Secret)...)

	// The Lambda function.
	h := lambdaFromEnv(t, append(awsEnv(iamURL), "LOCKGATE_APP_URI=https://aws.example.com", "LOCKGATE_API_URI="+lockURL,
		"LOCKGATE_SIGNING_KEY_FILE="+keyFile, "LOCKGATE_REPORT=true")...)
	payload, _ := os.ReadFile(sampleDir + "assumed-role-success.eventbridge.json")
	resp, err := h.Invoke(context.Background(), payload)
	var out awsiam.Outcome
	if err != nil || json.Unmarshal(resp, &out) != nil || out.Result != "unlocked" || out.Changed {
		t.Fatalf("sign-in through the Lambda: %s %v", resp, err)
	}
	role := func() bool {
		return srv.Authorize(iamtest.AuthorizeRequest{Role: "admin", Session: "youradmin", IssuedAt: time.Now(), Action: "ec2:RunInstances", Resource: "*"}).Allowed
	}
	if !role() {
		t.Fatal("youradmin has no access before the lock")
	}
	recorded := false
	for _, e := range accountEvents(t, lockURL, appID, "youradmin") {
		recorded = recorded || e.Source == awsiam.SourceRoleSession && strings.Contains(string(e.Detail), `"role":"admin"`)
	}
	if !recorded {
		t.Fatal("the Lambda did not record the role session at the lock service")
	}

	adminDo(client, lockURL, "POST", "/api/v1/admin/applications/"+appID+"/accounts/youradmin/lock", map[string]string{"reason": "laptop stolen"}, nil)
	eventually(t, "youradmin's role session to be locked by the push", func() bool { return !role() })
	if !srv.Authorize(iamtest.AuthorizeRequest{Role: "admin", Session: "colleague", IssuedAt: time.Now(), Action: "ec2:RunInstances", Resource: "*"}).Allowed {
		t.Fatal("the role's other people lost access")
	}
	// The serve reported what the push did: locked, not failed or skipped.
	eventually(t, "the push's outcome in the account history", func() bool {
		for _, e := range accountEvents(t, lockURL, appID, "youradmin") {
			if e.Source == awsiam.Source && strings.Contains(string(e.Detail), `"result":"locked"`) && strings.Contains(string(e.Detail), "lock.changed") {
				return true
			}
		}
		return false
	})
	adminDo(client, lockURL, "POST", "/api/v1/admin/applications/"+appID+"/accounts/youradmin/unlock", nil, nil)
	eventually(t, "youradmin's access to come back", role)
}

// A root sign-in is reported to the account history under the root's ARN
// (it has no user name), not refused with 401.
func TestRootSignInReported(t *testing.T) {
	_, iamURL, _ := iamWorld(t)
	lockURL, appID, keyFile := lockService(t)
	h := lambdaFromEnv(t, append(awsEnv(iamURL), "LOCKGATE_APP_URI=https://aws.example.com", "LOCKGATE_API_URI="+lockURL,
		"LOCKGATE_SIGNING_KEY_FILE="+keyFile, "LOCKGATE_REPORT=true")...)
	data, _ := os.ReadFile(sampleDir + "root-failure.eventbridge.json")
	resp, err := h.Invoke(context.Background(), []byte(strings.ReplaceAll(string(data), `"Failure"`, `"Success"`)))
	if err != nil || !strings.Contains(string(resp), `"result":"not-lockable"`) {
		t.Fatalf("%s %v", resp, err)
	}
	evs := accountEvents(t, lockURL, appID, "arn:aws:iam::123456789012:root")
	if len(evs) != 1 || evs[0].Source != awsiam.Source || !strings.Contains(string(evs[0].Detail), "not-lockable") {
		t.Fatalf("root's history: %+v", evs)
	}
}

// lockgate lambda iam-responder --event FILE runs the handler once and
// prints its response, or Lambda's error payload with exit 1.
func TestLambdaEventFlag(t *testing.T) {
	srv, iamURL, _ := iamWorld(t)
	lockURL, appID, keyFile := lockService(t)
	adminDo(&http.Client{Timeout: 10 * time.Second}, lockURL, "POST", "/api/v1/admin/applications/"+appID+"/accounts/anaya/lock", nil, nil)
	env := append(awsEnv(iamURL), "LOCKGATE_APP_URI=https://aws.example.com", "LOCKGATE_API_URI="+lockURL, "LOCKGATE_SIGNING_KEY_FILE="+keyFile)
	stdout, stderr, code := runCLI(t, env, "lambda", "iam-responder", "--event", sampleDir+"iam-user-success.eventbridge.json")
	var out awsiam.Outcome
	if code != 0 || json.Unmarshal([]byte(stdout), &out) != nil || out.Result != "locked" || !out.Changed {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if keyStatuses(srv, "anaya") != "Inactive,Inactive" {
		t.Fatalf("keys %s", keyStatuses(srv, "anaya"))
	}
	// IAM failing: the error payload, exit 1.
	srv.Fail("*", "ServiceFailure", 100)
	stdout, stderr, code = runCLI(t, env, "lambda", "iam-responder", "--event", sampleDir+"iam-user-success.eventbridge.json")
	var payload struct{ ErrorMessage, ErrorType string }
	if code != 1 || json.Unmarshal([]byte(stdout), &payload) != nil || !strings.Contains(payload.ErrorMessage, "ServiceFailure") || payload.ErrorType == "" {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	// A setting that cannot be read stops the start.
	_, stderr, code = runCLI(t, append(env, "LOCKGATE_REPORT=yes"), "lambda", "iam-responder", "--event", sampleDir+"iam-user-success.eventbridge.json")
	if code == 0 || !strings.Contains(stderr, `LOCKGATE_REPORT: expected true or false, got "yes"`) {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
}

// The help names every variable the function reads.
func TestLambdaHelpNamesEveryVariable(t *testing.T) {
	stdout, _, code := runCLI(t, nil, "lambda", "iam-responder", "--help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	st := reflect.TypeOf(awsiam.Settings{})
	for i := range st.NumField() {
		if name := st.Field(i).Tag.Get("env"); name != "" && !strings.Contains(stdout, name+" ") {
			t.Errorf("--help lacks %s", name)
		}
	}
	for _, w := range []string{"--event", "LOCKGATE_PUBLIC_URL"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("--help lacks %s", w)
		}
	}
}

// lockgate serve refuses a responder whose api_uri names itself but is
// not one of its public URLs: every check would be refused.
func TestServeRefusesAnAPIURIThatIsNotAPublicURL(t *testing.T) {
	addr := freeAddr(t)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	os.WriteFile(keyFile, []byte("c2VjcmV0LWtleS0wMTIzNDU2Nzg5YWJjZGVm"), 0o600)
	cfg := filepath.Join(dir, "lockgate.yaml")
	os.WriteFile(cfg, []byte(`iam_responder:
  enabled: true
  app_uri: https://aws.example.com
  api_uri: http://`+addr+`/
  signing_key_file: `+keyFile+`
  events_secret: `+eventsSecret+`
`), 0o600)
	_, stderr, code := runCLI(t, []string{"LOCKGATE_LISTEN=" + addr, "LOCKGATE_PUBLIC_URL=http://" + addr, "LOCKGATE_DATA_DIR=" + dir, "AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=x", "AWS_SECRET_ACCESS_KEY=y"},
		"serve", "--config", cfg)
	if code == 0 || !strings.Contains(stderr, "is not one of its public URLs") || !strings.Contains(stderr, "LOCKGATE_PUBLIC_URL") {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
}
