package awsiam

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/lockgate/lockgate/internal/config"
)

func TestSettingsValidate(t *testing.T) {
	err := Settings{OnError: "maybe", EventPattern: `{"a":"x"}`, APIPath: "check", IAMCallTimeout: config.Duration(30 * time.Second), EventsSecretHeader: "X Secret"}.Validate()
	for _, want := range []string{"app_uri: required (LOCKGATE_APP_URI)", "api_uri: required", "signing_key_file", `on_error: "maybe"`, "event_pattern",
		`api_path: "check" must begin with /`, "iam_call_timeout: 30s is not shorter than event_deadline 25s", "events_secret_header"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate lacks %q: %v", want, err)
		}
	}
	ok := Settings{AppURI: "https://a", APIURI: "https://b", SigningKeyFile: "/k"}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	both := ok
	both.SigningKeySecretARN = "arn:aws:secretsmanager:us-east-1:111122223333:secret:x"
	if err := both.Validate(); err == nil {
		t.Fatal("two signing key sources accepted")
	}
}

// Every setting has a yaml name and an env variable, and SettingsFromEnv
// reads each; a value that is not a boolean or duration is an error,
// never false or zero.
func TestSettingsFromEnv(t *testing.T) {
	env := map[string]string{}
	want := Settings{Enabled: true}
	v := reflect.ValueOf(&want).Elem()
	for i := range v.NumField() {
		f := v.Type().Field(i)
		name := f.Tag.Get("env")
		if name == "" || f.Tag.Get("yaml") == "" {
			t.Errorf("field %s lacks a yaml or env tag", f.Name)
			continue
		}
		switch p := v.Field(i).Addr().Interface().(type) {
		case *string:
			*p = "value of " + name
			env[name] = *p
		case *config.Path:
			*p = config.Path("/value/of/" + name)
			env[name] = string(*p)
		case *bool:
			*p = true
			env[name] = "true"
		case *config.Duration:
			*p = config.Duration(time.Duration(i+1) * time.Second)
			env[name] = p.Std().String()
		default:
			t.Errorf("field %s: no env reading for %T", f.Name, p)
		}
	}
	got, err := SettingsFromEnv(func(k string) string { return env[k] })
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v %v\nwant %+v", got, err, want)
	}
	_, err = SettingsFromEnv(func(k string) string {
		return map[string]string{"LOCKGATE_REPORT": "yes please", "LOCKGATE_EVENT_DEADLINE": "soon"}[k]
	})
	if err == nil || !strings.Contains(err.Error(), "LOCKGATE_REPORT") || !strings.Contains(err.Error(), "LOCKGATE_EVENT_DEADLINE") {
		t.Fatalf("%v", err)
	}
}

// The lock service accepts a token only when its aud is one of its public
// URLs exactly: a responder in lockgate serve whose api_uri names this
// lockgate otherwise refuses to start.
func TestCheckAPIURI(t *testing.T) {
	public := []string{"https://lockgate.example.com", "http://127.0.0.1:8080"}
	for _, tt := range []struct {
		api string
		ok  bool
	}{
		{"https://lockgate.example.com", true},
		{"http://127.0.0.1:8080", true},
		{"https://lockgate.example.com/", false},
		{"https://LOCKGATE.example.com", false},
		{"http://127.0.0.1:8080/api", false},
		{"https://other.example.com", true}, // another lockgate: asked at start
		{"http://lockgate.example.com", true},
		// rechk9: this lockgate by another name, or scheme, is this lockgate.
		{"http://localhost:8080", false},
		{"http://[::1]:8080", false},
		{"https://127.0.0.1:8080", false},
		{"http://localhost:9090", true},
	} {
		err := CheckAPIURI(tt.api, public)
		if (err == nil) != tt.ok {
			t.Errorf("%s: %v", tt.api, err)
		}
		if err != nil && !strings.Contains(err.Error(), "LOCKGATE_PUBLIC_URL") {
			t.Errorf("%s: the error does not say how to fix it: %v", tt.api, err)
		}
	}
}

// At start the responder asks the lock service with a signed token: a
// 401 stops it (every check would fail, and with on_error lock everyone
// would be locked); no answer is only a warning.
func TestStartRefusedWhenTheLockServiceRefusesTokens(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "key")
	os.WriteFile(keyFile, []byte(base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123"))), 0o600)
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", "")}
	for _, tt := range []struct {
		status int
		ok     bool
		local  bool // answered in-process (Options.Local), as inside serve
	}{{401, false, false}, {200, true, false}, {404, true, false}, {503, true, false}, {401, false, true}, {200, true, true}} {
		var asked string
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			asked = r.Method + " " + r.URL.Path + " " + r.URL.Query().Get("source")
			w.WriteHeader(tt.status)
			fmt.Fprint(w, `{"events":[]}`)
		})
		var logs strings.Builder
		settings := Settings{AppURI: "https://aws.example.com", SigningKeyFile: config.Path(keyFile)}
		var opts Options
		if tt.local {
			// Nothing listens there: only the handler can answer.
			settings.APIURI, opts.Local = "http://127.0.0.1:1", h
		} else {
			srv := httptest.NewServer(h)
			defer srv.Close()
			settings.APIURI = srv.URL
		}
		_, err := New(context.Background(), settings, cfg, slog.New(slog.NewTextHandler(&logs, nil)), opts)
		if (err == nil) != tt.ok {
			t.Errorf("%d: %v", tt.status, err)
		}
		if asked != "GET /api/v1/integration-events "+SourceRoleSession {
			t.Errorf("%d: asked %q", tt.status, asked)
		}
		if !tt.ok && !strings.Contains(err.Error(), "LOCKGATE_PUBLIC_URL") {
			t.Errorf("%d: %v", tt.status, err)
		}
		if tt.status >= 404 && !strings.Contains(logs.String(), "could not ask the lock service") {
			t.Errorf("%d: no warning: %s", tt.status, logs.String())
		}
	}
}
