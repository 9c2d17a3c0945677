// Package vpn is lockgate's AWS Client VPN client connect handler: it
// decides whether a new VPN connection may be established from where the
// device is (its public IP's country and region, or a whole web ACL) and
// whose account it is (a lock check of the VPN username), and answers in
// the schema version Client VPN asked for.
//
// The same decision serves the Lambda function Client VPN invokes
// (lockgate lambda vpn-connect) and POST /vpn/connect on lockgate serve.
package vpn

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"unicode/utf8"
)

// Request is what Client VPN sends the handler, in every schema version:
// v1 has no groups; v2 added them. Fields lockgate does not know are
// ignored.
type Request struct {
	ConnectionID         string `json:"connection-id"`
	EndpointID           string `json:"endpoint-id"`
	CommonName           string `json:"common-name"`
	Username             string `json:"username"`
	Platform             string `json:"platform"`
	PlatformVersion      string `json:"platform-version"`
	PublicIP             string `json:"public-ip"`
	ClientOpenVPNVersion string `json:"client-openvpn-version"`
	Groups               Groups `json:"groups"`
	SchemaVersion        string `json:"schema-version"`
}

// Groups are the user's Active Directory or IdP groups: AWS documents a
// list, and shows a single identifier in its example, so both are read.
type Groups []string

// UnmarshalJSON reads a list of strings, one string, or null.
func (g *Groups) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	switch {
	case bytes.Equal(data, []byte("null")):
		*g = nil
		return nil
	case len(data) > 0 && data[0] == '"':
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		if s == "" {
			*g = nil
		} else {
			*g = Groups{s}
		}
		return nil
	}
	var list []string
	if err := json.Unmarshal(data, &list); err != nil {
		return errors.New("groups: expected a list of strings or a string")
	}
	*g = list
	return nil
}

// ParseRequest reads a connect request. Only JSON that is not an object
// of the fields above is an error; what a field holds is judged by the
// decision (a bad public-ip denies).
func ParseRequest(data []byte) (Request, error) {
	var r Request
	if err := checkKeys(data); err != nil {
		return r, fmt.Errorf("not a Client VPN connect request: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&r); err != nil {
		return r, fmt.Errorf("not a Client VPN connect request: %w", err)
	}
	if dec.More() {
		return r, errors.New("not a Client VPN connect request: data after the object")
	}
	return r, nil
}

// requestFields are the JSON names of Request's fields.
var requestFields = func() map[string]bool {
	m := map[string]bool{}
	t := reflect.TypeFor[Request]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		m[name] = true
	}
	return m
}()

// checkKeys refuses what encoding/json would read differently from Client
// VPN: it matches field names case-insensitively and keeps the last of
// two equal keys, so {"public-ip":"5.9.0.1","PUBLIC-IP":"8.8.8.8"} would
// be decided on the second address. A field is read only under its own
// name, once; other keys are ignored.
func checkKeys(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil // not an object: the decoder says so
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil
		}
		key, _ := t.(string)
		switch {
		case requestFields[key] && seen[key]:
			return fmt.Errorf("%q appears twice", key)
		case requestFields[key]:
			seen[key] = true
		default:
			for f := range requestFields {
				if strings.EqualFold(f, key) {
					return fmt.Errorf("%q is not a field; the field is %q (names are case-sensitive)", key, f)
				}
			}
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil
		}
	}
	return nil
}

// Response is the handler's answer. It is written in the schema version of
// the request, with that version's name for the message.
type Response struct {
	Allow bool
	// Message is shown to the user when the connection is denied; at
	// most MaxMessage characters are sent.
	Message string
	// Statuses are the device's posture compliance statuses (compliant,
	// quarantined, ...): at most MaxStatuses of at most MaxMessage
	// characters are sent.
	Statuses      []string
	SchemaVersion string
}

// AWS's limits on a response.
const (
	MaxMessage  = 255
	MaxStatuses = 10
)

// DefaultVersion is the schema version of a request that names none: "The
// default is v2".
const DefaultVersion = "v2"

// messageField names the message in each schema version: v1 has
// error-msg-on-failed-posture-compliance, v2 and later
// error-msg-on-denied-connection.
func messageField(version string) string {
	if version == "v1" {
		return "error-msg-on-failed-posture-compliance"
	}
	return "error-msg-on-denied-connection"
}

// knownVersion reports the versions lockgate has been written for.
func knownVersion(v string) bool { return v == "v1" || v == "v2" || v == "v3" }

// MarshalJSON writes every required field, in AWS's documented order, in
// the response's schema version: the message cut to 255 characters, at
// most 10 statuses of at most 255, never null.
func (r Response) MarshalJSON() ([]byte, error) {
	v := r.SchemaVersion
	if v == "" {
		v = DefaultVersion
	}
	statuses := make([]string, 0, min(len(r.Statuses), MaxStatuses))
	for _, s := range r.Statuses {
		if len(statuses) == MaxStatuses {
			break
		}
		statuses = append(statuses, truncate(s, MaxMessage))
	}
	var b bytes.Buffer
	b.WriteString(`{"allow":`)
	b.WriteString(fmt.Sprint(r.Allow))
	b.WriteString(`,"` + messageField(v) + `":`)
	writeString(&b, truncate(r.Message, MaxMessage))
	b.WriteString(`,"posture-compliance-statuses":`)
	s, err := json.Marshal(statuses)
	if err != nil {
		return nil, err
	}
	b.Write(s)
	b.WriteString(`,"schema-version":`)
	writeString(&b, v)
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads a response of any version (for tests and for
// lockgate lambda vpn-connect's callers).
func (r *Response) UnmarshalJSON(data []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	var v struct {
		Allow    bool     `json:"allow"`
		Statuses []string `json:"posture-compliance-statuses"`
		Version  string   `json:"schema-version"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	r.Allow, r.Statuses, r.SchemaVersion = v.Allow, v.Statuses, v.Version
	r.Message = ""
	if raw, ok := m[messageField(v.Version)]; ok {
		return json.Unmarshal(raw, &r.Message)
	}
	return nil
}

func writeString(b *bytes.Buffer, s string) {
	q, _ := json.Marshal(s)
	b.Write(q)
}

// truncate cuts s to at most n characters (runes), keeping it valid
// UTF-8.
func truncate(s string, n int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}
