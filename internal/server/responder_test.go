package server

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lockgate/lockgate/internal/config"
	"github.com/lockgate/lockgate/internal/lock"
)

// Inside serve the IAM responder's start probe reaches the lock service
// in this process: the API does not serve while Open builds the
// responder, so the probe used to wait for its own listener, time out
// and start a responder every check refused (atk9f F17).
// docs/iam-responder.md: "At start the responder reads lockgate once
// with a signed token (GET /api/v1/integration-events) and refuses to
// start on a 401".
func TestResponderStartProbeInServe(t *testing.T) {
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKID")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	ctx := context.Background()
	cfg := testConfig(t)
	// Nothing listens at the public URL: only an in-process probe can
	// get an answer.
	cfg.Listen = "127.0.0.1:1"
	cfg.PublicURLs = []string{"http://127.0.0.1:1"}

	// An application whose issuer the responder names, and its key.
	s, err := Open(ctx, cfg, quiet, Options{})
	if err != nil {
		t.Fatal(err)
	}
	name := "AWS"
	_, key, err := s.Service().CreateApplication(ctx, lock.ApplicationInput{Name: &name, Issuers: []string{"https://aws.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	keyFile := filepath.Join(t.TempDir(), "signing.key")
	if err := os.WriteFile(keyFile, []byte(key.Secret), 0o600); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name, appURI string
		refused      bool
	}{
		{"the application's issuer", "https://aws.example.com", false},
		{"not an issuer: 401", "https://other.example.com", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := cfg
			c.IAMResponder.Enabled = true
			c.IAMResponder.AppURI = tc.appURI
			c.IAMResponder.APIURI = "http://127.0.0.1:1"
			c.IAMResponder.SigningKeyFile = config.Path(keyFile)
			c.IAMResponder.EventsSecret = "4f1d2c7b9e0a8f6d3c5b1a2e7f9d0c8b"
			var logs bytes.Buffer
			s, err := Open(ctx, c, slog.New(slog.NewTextHandler(&logs, nil)), Options{})
			if err == nil {
				s.Close()
			}
			if tc.refused != (err != nil) {
				t.Fatalf("Open: %v, want refused %v\n%s", err, tc.refused, logs.String())
			}
			if tc.refused && !strings.Contains(err.Error(), "refuses tokens signed for it (401)") {
				t.Errorf("refusal does not say why: %v", err)
			}
			if strings.Contains(logs.String(), "could not ask the lock service") {
				t.Errorf("the probe did not reach the lock service:\n%s", logs.String())
			}
		})
	}
}
