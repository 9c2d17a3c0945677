package portal_test

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/config"
	"github.com/lockgate/lockgate/internal/lock"
	"github.com/lockgate/lockgate/internal/portal"
	"github.com/lockgate/lockgate/internal/server"
	"github.com/lockgate/lockgate/lockclient"
)

// smtpSink is a local SMTP server that keeps what it is sent: enough of
// RFC 5321 for net/smtp (EHLO, MAIL, RCPT, DATA, QUIT).
type smtpSink struct {
	ln   net.Listener
	mail chan string // "to\nmessage"
}

func newSMTPSink(t *testing.T) *smtpSink {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpSink{ln: ln, mail: make(chan string, 10)}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *smtpSink) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	say := func(l string) { fmt.Fprintf(c, "%s\r\n", l) }
	say("220 sink ESMTP")
	var to string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			say("250-sink")
			say("250 8BITMIME")
		case strings.HasPrefix(cmd, "MAIL FROM:"):
			say("250 ok")
		case strings.HasPrefix(cmd, "RCPT TO:"):
			to = strings.Trim(strings.TrimSpace(line)[8:], " <>\r\n")
			say("250 ok")
		case cmd == "DATA":
			say("354 go on")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(l)
			}
			s.mail <- to + "\n" + b.String()
			say("250 queued")
		case cmd == "QUIT":
			say("221 bye")
			return
		default:
			say("250 ok")
		}
	}
}

func (s *smtpSink) next(t *testing.T) string {
	t.Helper()
	select {
	case m := <-s.mail:
		return m
	case <-time.After(20 * time.Second):
		t.Fatal("no mail arrived")
		return ""
	}
}

// Alerts by e-mail: a test mail from the settings page, then a mail about
// an attempt on a locked account (with the attacker-chosen device text
// kept on one line), and one about an unlock request.
func TestEmailAlerts(t *testing.T) {
	t.Parallel()
	sink := newSMTPSink(t)
	e := start(t, func(c *server.Config) {
		c.Portal.SMTP = portal.SMTPConfig{Addr: sink.ln.Addr().String(), From: "lockgate@example.com", Security: "none"}
		c.Portal.AlertInterval = config.Duration(200 * time.Millisecond)
	})
	c, p := e.signedIn("Mia", "mia")
	if res := c.submit("/portal/settings", "/portal/settings/email", url.Values{"address": {"mia@example.com"}, "enabled": {"on"}}); res.status != http.StatusSeeOther {
		t.Fatalf("save: %d %s", res.status, res.body)
	}
	if res := c.submit("/portal/settings", "/portal/settings/email/test", nil); res.status != http.StatusSeeOther {
		t.Fatalf("test mail: %d %s", res.status, res.body)
	}
	if m := sink.next(t); !strings.HasPrefix(m, "mia@example.com\n") || !strings.Contains(m, "Subject: lockgate: test alert") {
		t.Fatalf("test mail: %s", m)
	}
	e.svc.SetLock(context.Background(), e.app.ID, "mia", lock.Target{Lock: true}, lock.Actor{Name: "test"})
	d := e.check(lockclient.Request{Username: "mia", UserIP: "192.0.2.77", UserDevice: "evil\r\nBcc: victim@example.com"})
	m := sink.next(t)
	if !strings.Contains(m, "1 attempt(s) on your locked accounts") || !strings.Contains(m, "192.0.2.77") || strings.Contains(m, "\nBcc:") {
		t.Fatalf("alert mail: %s", m)
	}
	tok, _ := e.lc.Token("mia")
	api := e.client()
	api.bearer = tok
	api.do("POST", "/api/v1/unlock-requests", strings.NewReader(`{"attempt_id":"`+d.SessionID+`"}`), "application/json")
	if m := sink.next(t); !strings.Contains(m, "unlock request for mia") || !strings.Contains(m, "/portal/requests") {
		t.Fatalf("request mail: %s", m)
	}
	_ = p
}

// The colours of the style sheet: every pair of text and background the
// pages use has a contrast ratio of at least 4.5:1 (WCAG 2.1 AA, 1.4.3).
func TestContrast(t *testing.T) {
	t.Parallel()
	css, err := os.ReadFile("static/app.css")
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string][3]float64{}
	for _, m := range regexp.MustCompile(`--([a-z-]+):\s*#([0-9a-f]{6});`).FindAllStringSubmatch(string(css), -1) {
		var c [3]float64
		for i := range 3 {
			v, _ := strconv.ParseUint(m[2][2*i:2*i+2], 16, 8)
			c[i] = float64(v) / 255
		}
		vars[m[1]] = c
	}
	lum := func(c [3]float64) float64 {
		var l [3]float64
		for i, v := range c {
			if v <= 0.03928 {
				l[i] = v / 12.92
			} else {
				l[i] = math.Pow((v+0.055)/1.055, 2.4)
			}
		}
		return 0.2126*l[0] + 0.7152*l[1] + 0.0722*l[2]
	}
	pairs := [][2]string{
		{"fg", "bg"}, {"fg", "card"}, {"muted", "bg"}, {"muted", "card"}, {"accent", "bg"}, {"accent", "card"},
		{"accent-fg", "accent"}, {"danger-fg", "danger"}, {"locked-fg", "locked-bg"}, {"unlocked-fg", "unlocked-bg"},
		{"notice-fg", "notice-bg"}, {"accent", "notice-bg"}, {"fg", "locked-bg"},
	}
	for _, p := range pairs {
		fg, ok1 := vars[p[0]]
		bg, ok2 := vars[p[1]]
		if !ok1 || !ok2 {
			t.Fatalf("--%s or --%s is not a colour of the style sheet", p[0], p[1])
		}
		a, b := lum(fg), lum(bg)
		ratio := (math.Max(a, b) + 0.05) / (math.Min(a, b) + 0.05)
		if ratio < 4.5 {
			t.Errorf("--%s on --%s: contrast %.2f:1, under 4.5:1", p[0], p[1], ratio)
		}
	}
	// Every colour in the sheet is a variable the pairs cover.
	for _, m := range regexp.MustCompile(`#[0-9a-fA-F]{3,6}\b`).FindAllStringIndex(string(css), -1) {
		line := string(css[strings.LastIndex(string(css[:m[0]]), "\n")+1 : m[1]])
		if !strings.HasPrefix(strings.TrimSpace(line), "--") {
			t.Errorf("a colour outside the variables: %s", line)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		edit func(*portal.Config)
		want string // "" for none
	}{
		{"defaults", func(*portal.Config) {}, ""},
		{"origin with a path", func(c *portal.Config) { c.Origin = "https://x.example/portal" }, "origin"},
		{"origin not http", func(c *portal.Config) { c.Origin = "ftp://x.example" }, "origin"},
		{"session lifetime too short", func(c *portal.Config) { c.SessionLifetime = config.Duration(time.Second) }, "session_lifetime"},
		{"burst 0", func(c *portal.Config) { c.SignIn.FailureBurst = 0 }, "sign_in.failure_burst"},
		{"smtp without from", func(c *portal.Config) { c.SMTP.Addr = "mail.example:587" }, "smtp.from"},
		{"plain smtp to a remote relay", func(c *portal.Config) {
			c.SMTP = portal.SMTPConfig{Addr: "mail.example:25", From: "a@example.com", Security: "none"}
		}, "smtp.security"},
		{"plain smtp on loopback", func(c *portal.Config) {
			c.SMTP = portal.SMTPConfig{Addr: "127.0.0.1:25", From: "a@example.com", Security: "none"}
		}, ""},
		{"unknown security", func(c *portal.Config) {
			c.SMTP = portal.SMTPConfig{Addr: "mail.example:25", From: "a@example.com", Security: "ssl"}
		}, "smtp.security"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := portal.DefaultConfig()
			tc.edit(&c)
			probs := c.Validate()
			switch {
			case tc.want == "" && len(probs) > 0:
				t.Fatalf("problems: %v", probs)
			case tc.want != "" && (len(probs) != 1 || probs[0].Path != tc.want):
				t.Fatalf("want one problem at %s, got %v", tc.want, probs)
			}
		})
	}
}
