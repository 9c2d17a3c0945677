package portal

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/lockgate/lockgate/internal/httpjson"
)

// view is what every page template gets: the page's own data in D.
type view struct {
	Title   string
	Area    string // portal or console
	Session *session
	CSRF    string
	Flash   string
	// Passkeys is false when the portal's origin is an IP address.
	Passkeys bool
	Now      time.Time
	D        map[string]any
}

// flashes are the messages a redirect after a post may show, by key: a
// fixed list, so nothing a link carries is echoed into the page.
var flashes = map[string]string{
	"locked":           "Locked.",
	"unlocked":         "Unlocked.",
	"locked-all":       "Every account is locked.",
	"approved":         "Request approved: the account is unlocked for a short time.",
	"rejected":         "Request rejected.",
	"fence-saved":      "Geo-fence saved.",
	"fence-deleted":    "Geo-fence removed.",
	"webhook-deleted":  "Webhook removed.",
	"email-saved":      "E-mail alerts saved.",
	"email-sent":       "Test e-mail sent.",
	"token-revoked":    "Token revoked.",
	"session-revoked":  "Session signed out.",
	"passkey-deleted":  "Passkey removed.",
	"passkey-added":    "Passkey added.",
	"key-revoked":      "Signing key revoked.",
	"account-assigned": "Account assigned.",
	"reloaded":         "Gateway configuration reloaded.",
	"signed-out":       "You are signed out.",
	"enrolled":         "Sign-in is set up. Welcome.",
}

var funcs = template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"hhmm":    func(t time.Time) string { return t.UTC().Format("15:04") + " UTC" },
	"iso":     func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"minutes": func(until, now time.Time) int { return int(until.Sub(now).Round(time.Minute) / time.Minute) },
	"short": func(id string) string {
		if i := strings.IndexByte(id, '_'); i >= 0 && len(id) > i+9 {
			return id[:i+9] + "…"
		}
		return id
	},
	"ptime": func(t *time.Time) time.Time {
		if t == nil {
			return time.Time{}
		}
		return *t
	},
}

// parsePages parses each page with the layout: pages are templates named
// after their file, each defining "content".
func parsePages() (map[string]*template.Template, error) {
	layout, err := fs.ReadFile(templateFiles, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimSuffix(path.Base(n), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New("layout").Funcs(funcs).Parse(string(layout))
		if err != nil {
			return nil, fmt.Errorf("portal: layout: %w", err)
		}
		body, err := fs.ReadFile(templateFiles, n)
		if err != nil {
			return nil, err
		}
		if _, err := t.Parse(string(body)); err != nil {
			return nil, fmt.Errorf("portal: %s: %w", n, err)
		}
		pages[base] = t
	}
	return pages, nil
}

// render writes a page. The title comes from data's "Title".
func (p *Portal) render(w http.ResponseWriter, r *http.Request, status int, page string, s *session, data map[string]any) {
	t, ok := p.pages[page]
	if !ok {
		p.log.Error("portal: no such page", "page", page)
		httpjson.Error(w, http.StatusInternalServerError, "internal", "internal error")
		return
	}
	v := view{Area: "portal", Session: s, Now: p.now(), D: data, Flash: flashes[r.URL.Query().Get("m")], Passkeys: p.wa != nil}
	if strings.HasPrefix(r.URL.Path, "/console") {
		v.Area = "console"
	}
	if title, ok := data["Title"].(string); ok {
		v.Title = title
	}
	if s != nil {
		v.CSRF = s.CSRF
	} else if c, ok := data["PreCSRF"].(string); ok {
		v.CSRF = c
	}
	var b bytes.Buffer
	if err := t.Execute(&b, v); err != nil {
		p.log.Error("portal: rendering", "page", page, "error", err)
		httpjson.Error(w, http.StatusInternalServerError, "internal", "internal error")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// done redirects after a post to a page (see other), with a flash key.
func done(w http.ResponseWriter, r *http.Request, to, flash string) {
	if flash != "" {
		to += "?m=" + flash
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}
