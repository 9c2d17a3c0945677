package awsiam

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// The configuration reference names every setting of the iam_responder
// section and its variable; the responder's page says what state is kept
// where.
func TestDocsNameEverySetting(t *testing.T) {
	conf, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	start := strings.Index(string(conf), "iam_responder:")
	end := strings.Index(string(conf), "\nwaf:")
	if start < 0 || end < start {
		t.Fatal("docs/configuration.md has no iam_responder block before waf")
	}
	block := string(conf)[start:end]
	st := reflect.TypeOf(Settings{})
	for i := range st.NumField() {
		f := st.Field(i)
		if !f.IsExported() {
			continue
		}
		if y := strings.Split(f.Tag.Get("yaml"), ",")[0]; y != "-" && !strings.Contains(block, "\n  "+y+":") {
			t.Errorf("docs/configuration.md: iam_responder.%s is missing", y)
		}
		if e := f.Tag.Get("env"); !strings.Contains(block, e) {
			t.Errorf("docs/configuration.md: %s is missing from the iam_responder block", e)
		}
	}
	page, err := os.ReadFile("../../docs/iam-responder.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"## What state is kept where, and why", "LOCKGATE_PUBLIC_URL", "iam_call_timeout", "event_deadline", tagLocked, tagKeyPrefix, SessionPolicyName, SourceRoleSession} {
		if !strings.Contains(string(page), w) {
			t.Errorf("docs/iam-responder.md lacks %q", w)
		}
	}
}
