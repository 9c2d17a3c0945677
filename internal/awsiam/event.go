// Package awsiam is the AWS IAM lockout responder: on a console sign-in
// event it asks the lock service whether the account is locked and, for a
// locked IAM user or role session, denies everything, revokes older
// sessions and deactivates access keys; on unlock it restores exactly
// what it changed.
package awsiam

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// SignIn is a console sign-in, from an EventBridge event or a bare
// CloudTrail record.
type SignIn struct {
	EventID   string
	EventTime time.Time
	Account   string
	Region    string
	// Type is the userIdentity type: IAMUser, AssumedRole, Root,
	// FederatedUser, ...
	Type        string
	ARN         string
	PrincipalID string
	// UserName is the IAM user's name (IAMUser), or for a role session
	// the name the event gives (SAML), which may be empty.
	UserName string
	// RoleName and SessionName are set for AssumedRole.
	RoleName    string
	SessionName string
	// RoleID is the role's unique id when the event carries it
	// (principalId "AROA…:session").
	RoleID       string
	SourceIP     string
	UserAgent    string
	Success      bool
	ErrorMessage string
	// Raw is the decoded event, for pattern matching.
	Raw map[string]any
}

// HiddenUserName is what CloudTrail writes for a sign-in with an unknown
// user name.
const HiddenUserName = "HIDDEN_DUE_TO_SECURITY_REASONS"

// ErrNotSignIn means the JSON is not a console sign-in event.
var ErrNotSignIn = errors.New("not a console sign-in event")

type record struct {
	EventTime    string `json:"eventTime"`
	EventSource  string `json:"eventSource"`
	EventName    string `json:"eventName"`
	EventID      string `json:"eventID"`
	AWSRegion    string `json:"awsRegion"`
	SourceIP     string `json:"sourceIPAddress"`
	UserAgent    string `json:"userAgent"`
	ErrorMessage string `json:"errorMessage"`
	Recipient    string `json:"recipientAccountId"`
	UserIdentity struct {
		Type           string `json:"type"`
		PrincipalID    string `json:"principalId"`
		ARN            string `json:"arn"`
		AccountID      string `json:"accountId"`
		UserName       string `json:"userName"`
		SessionContext struct {
			SessionIssuer struct {
				Type        string `json:"type"`
				PrincipalID string `json:"principalId"`
				ARN         string `json:"arn"`
				UserName    string `json:"userName"`
			} `json:"sessionIssuer"`
		} `json:"sessionContext"`
	} `json:"userIdentity"`
	ResponseElements struct {
		ConsoleLogin string `json:"ConsoleLogin"`
	} `json:"responseElements"`
}

// ParseSignIn reads an EventBridge event ({"detail-type": …, "detail":
// {…}}) or a bare CloudTrail record.
func ParseSignIn(data []byte) (SignIn, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return SignIn{}, fmt.Errorf("event: %w", err)
	}
	detail := data
	account, region, envTime := "", "", ""
	if d, ok := raw["detail"]; ok {
		var err error
		if detail, err = json.Marshal(d); err != nil {
			return SignIn{}, err
		}
		account, _ = raw["account"].(string)
		region, _ = raw["region"].(string)
		envTime, _ = raw["time"].(string)
	}
	var r record
	if err := json.Unmarshal(detail, &r); err != nil {
		return SignIn{}, fmt.Errorf("event detail: %w", err)
	}
	if r.EventSource != "signin.amazonaws.com" || r.EventName != "ConsoleLogin" {
		return SignIn{}, fmt.Errorf("%w (eventSource %q, eventName %q)", ErrNotSignIn, r.EventSource, r.EventName)
	}
	s := SignIn{
		EventID: r.EventID, Region: r.AWSRegion, Type: r.UserIdentity.Type, ARN: r.UserIdentity.ARN,
		PrincipalID: r.UserIdentity.PrincipalID, UserName: r.UserIdentity.UserName,
		SourceIP: r.SourceIP, UserAgent: r.UserAgent, ErrorMessage: r.ErrorMessage,
		Success: r.ResponseElements.ConsoleLogin == "Success", Raw: raw,
		Account: firstOf(r.UserIdentity.AccountID, r.Recipient, account),
	}
	if s.Region == "" || s.Region == "global" {
		s.Region = firstOf(region, s.Region)
	}
	when := firstOf(r.EventTime, envTime)
	if when != "" {
		t, err := time.Parse(time.RFC3339, when)
		if err != nil {
			return SignIn{}, fmt.Errorf("event: eventTime %q: %w", when, err)
		}
		s.EventTime = t
	}
	if s.Type == "AssumedRole" {
		s.RoleName, s.SessionName = assumedRole(s.ARN)
		if s.RoleName == "" {
			s.RoleName = r.UserIdentity.SessionContext.SessionIssuer.UserName
		}
		if id, session, ok := strings.Cut(s.PrincipalID, ":"); ok {
			s.RoleID = id
			if s.SessionName == "" {
				s.SessionName = session
			}
		}
		if s.RoleID == "" {
			s.RoleID = r.UserIdentity.SessionContext.SessionIssuer.PrincipalID
		}
	}
	return s, nil
}

// assumedRole reads ROLE and SESSION from an assumed-role ARN, written
// arn:aws:sts::ACCT:assumed-role/ROLE/SESSION (and, in some SAML events,
// with iam in place of sts).
func assumedRole(arn string) (role, session string) {
	i := strings.Index(arn, ":assumed-role/")
	if i < 0 {
		return "", ""
	}
	rest := arn[i+len(":assumed-role/"):]
	role, session, _ = strings.Cut(rest, "/")
	return role, session
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// Subject is the name the lock service knows the person by: the IAM
// user name, or the role session name (the person's name or email with
// SAML and IAM Identity Center).
func (s SignIn) Subject() string {
	if s.Type == "AssumedRole" {
		return s.SessionName
	}
	return s.UserName
}
