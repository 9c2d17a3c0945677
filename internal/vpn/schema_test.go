package vpn_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/lockgate/lockgate/internal/vpn"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// The AWS Client VPN Administrator Guide, "Connection authorization",
// Lambda interface (docs.aws.amazon.com/vpn/latest/clientvpn-admin/
// connection-authorization.html). v1 is the guide's first version and
// the blog's handler; v2 the current one. AWS documents no v3 shape that
// we could find: lockgate answers v3 with v2's field names
// (shared/reference/aws-formats.md: "error-msg-on-denied-connection in
// v2"), echoing the version asked.
var versions = []struct {
	version, request, messageField string
	quote                          string
}{
	{"v1", "testdata/v1.json", "error-msg-on-failed-posture-compliance",
		"`error-msg-on-failed-posture-compliance` — Required. A string of up to 255 characters that can be used to provide steps and guidance to clients if the connection is denied by the Lambda function."},
	{"v2", "testdata/v2.json", "error-msg-on-denied-connection",
		"`error-msg-on-denied-connection` — Required. A string of up to 255 characters that can be used to provide steps and guidance to clients if the connection is denied by the Lambda function."},
	{"v3", "testdata/v3.json", "error-msg-on-denied-connection",
		"(v3: v2's response fields, per shared/reference/aws-formats.md)"},
}

// checkShape holds a response to the guide's response schema: "The Lambda
// function must return the following fields": allow, the message,
// posture-compliance-statuses and schema-version, every one "Required",
// nothing else.
func checkShape(t *testing.T, version, messageField string, raw []byte) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s: %v: %s", version, err, raw)
	}
	want := []string{"allow", messageField, "posture-compliance-statuses", "schema-version"}
	if got := slices.Sorted(maps.Keys(m)); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		t.Errorf("%s: fields %v, want exactly %v", version, got, want)
	}
	// "`allow` — Required. A boolean (true | false) that indicates
	// whether to allow or deny the new connection."
	if _, ok := m["allow"].(bool); !ok {
		t.Errorf("%s: allow is %T", version, m["allow"])
	}
	msg, ok := m[messageField].(string)
	if !ok || utf8.RuneCountInString(msg) > 255 {
		t.Errorf("%s: message %q", version, m[messageField])
	}
	// "Each name can be up to 255 characters in length. You can specify up
	// to 10 statuses."
	st, ok := m["posture-compliance-statuses"].([]any)
	if !ok || len(st) > 10 {
		t.Errorf("%s: statuses %v", version, m["posture-compliance-statuses"])
	}
	for _, s := range st {
		if s, ok := s.(string); !ok || utf8.RuneCountInString(s) > 255 {
			t.Errorf("%s: status %v", version, s)
		}
	}
	// "Answer in the version that was asked."
	if m["schema-version"] != version {
		t.Errorf("schema-version %v, want %s", m["schema-version"], version)
	}
}

// Golden files: each version's request, allowed (8.8.8.8, US) and denied
// (81.2.69.142, GB), through the Lambda handler, byte for byte.
func TestResponseShapesGolden(t *testing.T) {
	h := provision(t, vpn.Config{AllowedCountries: []string{"US", "CA"}}, vpn.Options{})
	for _, v := range versions {
		for _, c := range []struct{ name, ip string }{{"allow", "8.8.8.8"}, {"deny", "81.2.69.142"}} {
			t.Run(v.version+"-"+c.name, func(t *testing.T) {
				ev := bytes.Replace(readFile(t, v.request), []byte(`"8.8.8.8"`), []byte(`"`+c.ip+`"`), 1)
				resp, err := h.LambdaHandler()(context.Background(), ev)
				if err != nil {
					t.Fatal(err)
				}
				raw, err := json.Marshal(resp)
				if err != nil {
					t.Fatal(err)
				}
				checkShape(t, v.version, v.messageField, raw)
				golden := filepath.Join("testdata", "golden", v.version+"-"+c.name+".json")
				if *update {
					os.WriteFile(golden, append(raw, '\n'), 0o644)
				}
				if want := bytes.TrimSpace(readFile(t, golden)); !bytes.Equal(raw, want) {
					t.Errorf("%s (%s)\n got %s\nwant %s", golden, v.quote, raw, want)
				}
			})
		}
	}
}

// "`schema-version` — The schema version. The default is `v2`."
func TestMissingVersionAnswersV2(t *testing.T) {
	h := provision(t, vpn.Config{AllowedCountries: []string{"US"}}, vpn.Options{})
	resp, _ := h.LambdaHandler()(context.Background(), []byte(`{"public-ip":"8.8.8.8","username":"a"}`))
	raw, _ := json.Marshal(resp)
	checkShape(t, "v2", "error-msg-on-denied-connection", raw)
	if !resp.Allow {
		t.Errorf("%s", raw)
	}
	// A version lockgate does not know is denied in that version, with
	// v2's names: Client VPN reads the version it asked for.
	resp, _ = h.LambdaHandler()(context.Background(), []byte(`{"public-ip":"8.8.8.8","schema-version":"v9"}`))
	raw, _ = json.Marshal(resp)
	checkShape(t, "v9", "error-msg-on-denied-connection", raw)
	if resp.Allow || !slices.Contains(resp.Statuses, vpn.ReasonBadRequest) {
		t.Errorf("v9: %s", raw)
	}
}

// The limits hold whatever lockgate is configured or told to send: a lock
// service's long message, many statuses, multi-byte characters.
func TestResponseLimits(t *testing.T) {
	long := strings.Repeat("é", 300)
	var statuses []string
	for range 12 {
		statuses = append(statuses, long)
	}
	for _, v := range versions {
		raw, err := json.Marshal(vpn.Response{Message: long, Statuses: statuses, SchemaVersion: v.version})
		if err != nil {
			t.Fatal(err)
		}
		checkShape(t, v.version, v.messageField, raw)
		var back vpn.Response
		if err := json.Unmarshal(raw, &back); err != nil || utf8.RuneCountInString(back.Message) != 255 || len(back.Statuses) != 10 {
			t.Errorf("%s: %d characters, %d statuses, %v", v.version, utf8.RuneCountInString(back.Message), len(back.Statuses), err)
		}
	}
	raw, _ := json.Marshal(vpn.Response{SchemaVersion: "v2"})
	if !bytes.Contains(raw, []byte(`"posture-compliance-statuses":[]`)) {
		t.Errorf("no statuses must be [] (required), got %s", raw)
	}
	raw, _ = json.Marshal(vpn.Response{Message: "bad \xff byte", SchemaVersion: "v2"})
	if !utf8.Valid(raw) {
		t.Errorf("invalid UTF-8 sent: %q", raw)
	}
}

func TestGroupsForms(t *testing.T) {
	for _, tt := range []struct {
		json string
		want vpn.Groups
	}{
		{`{"groups":["a","b"]}`, vpn.Groups{"a", "b"}},
		{`{"groups":"a"}`, vpn.Groups{"a"}},
		{`{"groups":""}`, nil},
		{`{"groups":null}`, nil},
		{`{}`, nil},
	} {
		r, err := vpn.ParseRequest([]byte(tt.json))
		if err != nil || !slices.Equal(r.Groups, tt.want) {
			t.Errorf("%s: %v %v", tt.json, r.Groups, err)
		}
	}
	for _, bad := range []string{`{"groups":3}`, `[]`, `{"public-ip":"1.1.1.1"} {}`, `nope`} {
		if _, err := vpn.ParseRequest([]byte(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
