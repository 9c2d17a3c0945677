package portal

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"strings"
	"time"
	"unicode"

	"github.com/lockgate/lockgate/internal/lock"
)

func checkAddress(s string) (string, error) {
	a, err := mail.ParseAddress(strings.TrimSpace(s))
	if err != nil || a.Name != "" || len(a.Address) > 254 {
		return "", errors.New("that is not an e-mail address such as alice@example.com")
	}
	return a.Address, nil
}

// oneLine makes attacker-chosen text (usernames, devices) safe in a
// plain-text mail: no control characters, bounded.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return truncate(s, 200)
}

// mail sends a plain-text message through the configured SMTP server,
// with STARTTLS required unless the configuration says otherwise.
func (p *Portal) mail(to, subject, body string) error {
	c := p.cfg.SMTP
	if c.Addr == "" {
		return errors.New("no SMTP server is configured (portal.smtp.addr)")
	}
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return err
	}
	d := net.Dialer{Timeout: 10 * time.Second}
	var conn net.Conn
	if c.Security == "tls" {
		conn, err = tls.DialWithDialer(&d, "tcp", c.Addr, &tls.Config{ServerName: host})
	} else {
		conn, err = d.Dial("tcp", c.Addr)
	}
	if err != nil {
		return err
	}
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	cl, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return err
	}
	defer cl.Close()
	if c.Security == "starttls" {
		if ok, _ := cl.Extension("STARTTLS"); !ok {
			return fmt.Errorf("%s does not offer STARTTLS (set portal.smtp.security to tls, or to none for a relay on loopback)", c.Addr)
		}
		if err := cl.StartTLS(&tls.Config{ServerName: host}); err != nil {
			return err
		}
	}
	if c.Username != "" {
		if err := cl.Auth(smtp.PlainAuth("", c.Username, c.Password, host)); err != nil {
			return err
		}
	}
	from, _ := mail.ParseAddress(c.From)
	if err := cl.Mail(from.Address); err != nil {
		return err
	}
	if err := cl.Rcpt(to); err != nil {
		return err
	}
	wc, err := cl.Data()
	if err != nil {
		return err
	}
	var msg bytes.Buffer
	fmt.Fprintf(&msg, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s@lockgate>\r\nMIME-Version: 1.0\r\n"+
		"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n",
		from.String(), to, oneLine(subject), p.now().Format(time.RFC1123Z), randomHex(12))
	qp := quotedprintable.NewWriter(&msg)
	qp.Write([]byte(strings.ReplaceAll(body, "\n", "\r\n")))
	qp.Close()
	if _, err := wc.Write(msg.Bytes()); err != nil {
		return err
	}
	if err := wc.Close(); err != nil {
		return err
	}
	return cl.Quit()
}

// alertStore is what the alert loop reads beside the portal's store.
type alertStore interface {
	UnnotifiedUnlockRequests(ctx context.Context, now time.Time, limit int) ([]lock.UnlockRequest, error)
	MarkUnlockRequestNotified(ctx context.Context, id string, at time.Time) error
}

// sendAlerts mails each person with alerts on about the attempts made on
// their locked accounts since the last mail, and about new unlock
// requests. A mail that fails is tried again next round: the cursor moves
// only after a mail is accepted.
func (p *Portal) sendAlerts(ctx context.Context) error {
	if p.cfg.SMTP.Addr == "" {
		return nil
	}
	alerts, err := p.st.EnabledAlertEmails(ctx)
	if err != nil {
		return err
	}
	byPerson := map[string]lock.AlertEmail{}
	names := p.appNames(ctx)
	var errs []error
	for _, a := range alerts {
		byPerson[a.PersonID] = a
		list, err := p.svc.Attempts(ctx, lock.AttemptFilter{PersonID: a.PersonID, Limit: 100})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var newest string
		var b strings.Builder
		n := 0
		for _, at := range list {
			if at.ID <= a.Cursor {
				break
			}
			if newest == "" {
				newest = at.ID
			}
			if at.Locked {
				n++
				fmt.Fprintf(&b, "- %s  %s at %s  from %s (%s)  device: %s\n", at.At.UTC().Format("2006-01-02 15:04:05 UTC"),
					oneLine(at.Username), oneLine(cmp.Or(names[at.AppID], at.AppID)), oneLine(at.UserIP), oneLine(at.UserLocation), oneLine(at.UserDevice))
			}
		}
		if newest == "" {
			continue
		}
		if n > 0 {
			body := fmt.Sprintf("%d sign-in attempt(s) were made on your locked accounts:\n\n%s\nIf these were not you, keep your accounts locked: %s/portal/attempts\n", n, b.String(), p.origin)
			if err := p.mail(a.Address, fmt.Sprintf("lockgate: %d attempt(s) on your locked accounts", n), body); err != nil {
				errs = append(errs, fmt.Errorf("alert for %s: %w", a.PersonID, err))
				continue
			}
			p.log.Info("portal: alert mailed", "person", a.PersonID, "attempts", n)
		}
		if err := p.st.SetAlertCursor(ctx, a.PersonID, newest); err != nil {
			errs = append(errs, err)
		}
	}
	as, ok := p.st.(alertStore)
	if !ok {
		return errors.Join(errs...)
	}
	reqs, err := as.UnnotifiedUnlockRequests(ctx, p.now(), 100)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, q := range reqs {
		if a, ok := byPerson[q.PersonID]; ok {
			body := fmt.Sprintf("Someone signing in as %s asks you to unlock the account.\nFrom %s (%s), device: %s\n\nApprove or reject before %s: %s/portal/requests\n",
				oneLine(q.Username), oneLine(q.UserIP), oneLine(q.UserLocation), oneLine(q.UserDevice), q.ExpiresAt.UTC().Format("15:04 UTC"), p.origin)
			if err := p.mail(a.Address, "lockgate: unlock request for "+oneLine(q.Username), body); err != nil {
				errs = append(errs, fmt.Errorf("unlock request %s: %w", q.ID, err))
				continue
			}
		}
		if err := as.MarkUnlockRequestNotified(ctx, q.ID, p.now()); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
