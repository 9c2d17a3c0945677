package awsiam

import (
	"os"
	"testing"
	"time"
)

func TestParseSamples(t *testing.T) {
	tests := []struct {
		file                                   string
		typ, user, role, session, roleID, acct string
		success                                bool
	}{
		{"iam-user-success.eventbridge.json", "IAMUser", "anaya", "", "", "", "111122223333", true},
		{"assumed-role-success.eventbridge.json", "AssumedRole", "", "admin", "youradmin", "AROXXXXXXXXXXXXXXXXX", "892xxxxxxxxx", true},
		{"saml-federated-success.detail.json", "AssumedRole", "tester", "okta", "tester@domain.tld", "", "123456789012", true},
		{"root-failure.eventbridge.json", "Root", "", "", "", "", "123456789012", false},
		{"iam-user-failure-unknown-name.detail.json", "IAMUser", HiddenUserName, "", "", "", "123456789012", false},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile("testdata/" + tt.file)
			if err != nil {
				t.Fatal(err)
			}
			s, err := ParseSignIn(data)
			if err != nil {
				t.Fatal(err)
			}
			if s.Type != tt.typ || s.UserName != tt.user || s.RoleName != tt.role || s.SessionName != tt.session || s.RoleID != tt.roleID || s.Account != tt.acct || s.Success != tt.success {
				t.Fatalf("%+v", s)
			}
			if s.EventTime.IsZero() || s.SourceIP == "" || s.EventID == "" {
				t.Fatalf("missing time, IP or id: %+v", s)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{
		`not json`,
		`{"detail":{"eventSource":"s3.amazonaws.com","eventName":"GetObject"}}`,
		`{"eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","eventTime":"yesterday"}`,
	} {
		if _, err := ParseSignIn([]byte(in)); err == nil {
			t.Errorf("accepted %s", in)
		}
	}
	s, err := ParseSignIn([]byte(`{"time":"2026-11-21T12:00:00Z","account":"1","detail":{"eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","userIdentity":{"type":"IAMUser","userName":"x"},"responseElements":{"ConsoleLogin":"Success"}}}`))
	if err != nil || !s.EventTime.Equal(time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)) || s.Account != "1" {
		t.Fatalf("envelope time/account fallback: %+v %v", s, err)
	}
}
