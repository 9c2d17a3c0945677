package lock

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// AddWebhook registers a URL for an application's or person's events and
// returns its signing secret, shown once. The URL is vetted by the
// configured policy (no loopback, link-local or private destinations
// unless allowed).
func (s *Service) AddWebhook(ctx context.Context, ownerKind, ownerID, rawURL string) (Webhook, string, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || !validText(rawURL, 2000) {
		return Webhook{}, "", invalid("url: %q is not an http(s) URL", RedactURL(rawURL))
	}
	if err := checkURLHost(u); err != nil {
		return Webhook{}, "", invalid("url: %q: %v", RedactURL(rawURL), err)
	}
	switch ownerKind {
	case "application":
		_, err = s.store.Application(ctx, ownerID)
	case "person":
		_, err = s.store.Person(ctx, ownerID)
	default:
		return Webhook{}, "", invalid("owner_kind: %q", ownerKind)
	}
	if err != nil {
		return Webhook{}, "", err
	}
	if s.urls != nil {
		if err := s.urls.CheckURL(ctx, u); err != nil {
			return Webhook{}, "", invalid("url: %v", err)
		}
	}
	now := s.now()
	secret := base64.RawURLEncoding.EncodeToString(newSecret(32))
	w := Webhook{ID: newID("whk", now), OwnerKind: ownerKind, OwnerID: ownerID, URL: rawURL, CreatedAt: now}
	w.Sealed = s.box.Seal([]byte(secret), w.ID)
	return w, secret, s.store.CreateWebhook(ctx, w)
}

// checkURLHost refuses hosts and ports written so that what is vetted is
// not what is dialled. The HTTP client maps a non-ASCII host through IDNA
// before it resolves it ("１２７.0.0.1" and "127。0。0。1" dial 127.0.0.1),
// while the registration check would look up the name as written; an
// IPv6 literal carrying an IPv4 address ("[::ffff:127.0.0.1]",
// "[::127.0.0.1]") hides the address it reaches from anyone reading the
// URL; a port outside 1–65535 names no port.
func checkURLHost(u *url.URL) error {
	host := u.Hostname()
	for i, r := range host {
		if r >= utf8.RuneSelf {
			return fmt.Errorf("host holds the non-ASCII character %U at byte %d: write an internationalised name in its ASCII (xn--) form, digits and dots as ASCII", r, i)
		}
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("port %s is not between 1 and 65535", p)
		}
	}
	if strings.HasPrefix(u.Host, "[") {
		a, err := netip.ParseAddr(host)
		if err != nil {
			return fmt.Errorf("host [%s] is not an IPv6 address", host)
		}
		if a.Is4In6() || a.Is6() && a.Zone() == "" && (compat.Contains(a) && a != netip.IPv6Unspecified() && a != netip.IPv6Loopback() || translated.Contains(a)) {
			b := a.As16()
			return fmt.Errorf("host [%s] is an IPv6 form of the IPv4 address %s: write the IPv4 address itself", host, netip.AddrFrom4([4]byte(b[12:])))
		}
	}
	return nil
}

// compat is the deprecated IPv4-compatible IPv6 range (RFC 4291 §2.5.5.1);
// translated the IPv4-translated one (SIIT, RFC 2765 §2.1), which a
// stack dials as given ("[::ffff:0:127.0.0.1]").
var (
	compat     = netip.MustParsePrefix("::/96")
	translated = netip.MustParsePrefix("::ffff:0:0:0/96")
)

// Webhooks lists an owner's webhooks.
func (s *Service) Webhooks(ctx context.Context, ownerKind, ownerID string) ([]Webhook, error) {
	return s.store.Webhooks(ctx, ownerKind, ownerID)
}

// DeleteWebhook removes a webhook; its undelivered events are dropped.
func (s *Service) DeleteWebhook(ctx context.Context, id string) error {
	return s.store.DeleteWebhook(ctx, id)
}

// events builds one outbox row per webhook of the application and the
// person (when there is one) for an event body.
func (s *Service) events(ctx context.Context, typ string, now time.Time, data any, appID, personID string) ([]Event, error) {
	return buildEvents(ctx, s.store, typ, now, data, appID, personID)
}

func buildEvents(ctx context.Context, st hookLister, typ string, now time.Time, data any, appID, personID string) ([]Event, error) {
	hooks, err := listHooks(ctx, st, appID, personID)
	if err != nil {
		return nil, err
	}
	return makeEvents(hooks, typ, now, data)
}

// listHooks returns the webhooks of the application and of the person
// (when there is one).
func listHooks(ctx context.Context, st hookLister, appID, personID string) ([]Webhook, error) {
	hooks, err := st.Webhooks(ctx, "application", appID)
	if err != nil {
		return nil, err
	}
	if personID != "" {
		ph, err := st.Webhooks(ctx, "person", personID)
		if err != nil {
			return nil, err
		}
		hooks = append(hooks, ph...)
	}
	return hooks, nil
}

// makeEvents builds one outbox row per webhook for an event body.
func makeEvents(hooks []Webhook, typ string, now time.Time, data any) ([]Event, error) {
	if len(hooks) == 0 {
		return nil, nil
	}
	body, err := json.Marshal(map[string]any{"id": newID("evt", now), "type": typ, "created_at": now, "data": data})
	if err != nil {
		return nil, err
	}
	events := make([]Event, len(hooks))
	for i, h := range hooks {
		events[i] = Event{ID: newID("out", now), WebhookID: h.ID, Type: typ, Body: body, CreatedAt: now}
	}
	return events, nil
}

// RedactURL returns raw with the credentials it may carry hidden: the
// user information, and the values of its query parameters (API keys are
// often passed as ?token=…). What is left still tells the destination.
// The query is redacted as written, part by part, rather than decoded:
// decoding drops what it cannot parse ("a=1;token=x", "x=%zz"), and the
// listing must show that such parts are there. A part without "=" is a
// value on its own ("?SECRET", a common way to pass a receiver's key)
// and is redacted whole; a key is kept.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	if u.User != nil {
		u.User = url.User("REDACTED")
	}
	u.RawQuery = redactQuery(u.RawQuery)
	u.Fragment, u.RawFragment = "", ""
	return u.String()
}

// redactQuery replaces each value of a raw query, parts separated by "&"
// or ";" (both kept), with REDACTED.
func redactQuery(q string) string {
	if q == "" {
		return ""
	}
	var b strings.Builder
	for {
		i := strings.IndexAny(q, "&;")
		part := q
		if i >= 0 {
			part = q[:i]
		}
		switch k, _, ok := strings.Cut(part, "="); {
		case ok:
			b.WriteString(k + "=REDACTED")
		case part != "":
			b.WriteString("REDACTED")
		}
		if i < 0 {
			return b.String()
		}
		b.WriteByte(q[i])
		q = q[i+1:]
	}
}
