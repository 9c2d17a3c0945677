package vpn

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/lockgate/lockgate/internal/appkey"
	"github.com/lockgate/lockgate/internal/geo"
	"github.com/lockgate/lockgate/internal/lock"
	"github.com/lockgate/lockgate/internal/webacl"
	"github.com/lockgate/lockgate/lockclient"
	"github.com/lockgate/lockgate/problem"
	"github.com/lockgate/lockgate/waf"
)

// The posture compliance statuses, as the blog's handler uses them.
const (
	StatusCompliant   = "compliant"
	StatusQuarantined = "quarantined"
)

// The reasons for a denial, sent as the second posture status so that
// Client VPN's connection log says why, and logged.
const (
	ReasonAllowed        = "allowed"
	ReasonCountry        = "country-not-allowed"
	ReasonWAF            = "waf-blocked"
	ReasonLocked         = "account-locked"
	ReasonLockFailed     = "lock-check-failed"
	ReasonGeoFailed      = "geo-lookup-failed"
	ReasonTimeout        = "timeout"
	ReasonBadRequest     = "bad-request"
	ReasonNoPolicy       = "no-policy-for-endpoint"
	ReasonHandlerFailure = "handler-error"
)

// LockChecker is what the handler needs of the lock service
// (*lockclient.Client).
type LockChecker interface {
	Check(ctx context.Context, req lockclient.Request) (lockclient.Decision, error)
}

// Options are what a Handler is built with besides its section.
type Options struct {
	// Geo places public IPs (required).
	Geo geo.Locator
	// WAF holds the IP sets, regex sets and rule groups web ACLs name;
	// nil: none.
	WAF *webacl.Set
	// Locks answers lock checks; built from the section's lock_check by
	// Open when nil.
	Locks  LockChecker
	Logger *slog.Logger
	// Now is the WAF engine's clock (rate-based rules).
	Now func() time.Time
	// Serve says that POST /vpn/connect is served, which needs a secret.
	Serve bool
}

// Handler decides Client VPN connections. It is safe for concurrent use.
type Handler struct {
	cfg      Config
	def      policy
	eps      map[string]policy
	engines  map[string]*waf.Engine // by web ACL file
	geo      geo.Locator
	locks    LockChecker
	deadline time.Duration
	log      *slog.Logger
}

// Provision checks the section and compiles every web ACL it names,
// without side effects. Problems carry paths relative to the section.
func Provision(c Config, o Options) (*Handler, problem.List) {
	def, eps, probs := c.validate(o.Serve)
	h := &Handler{cfg: c, def: def, eps: eps, engines: map[string]*waf.Engine{}, geo: o.Geo, locks: o.Locks, log: o.Logger, deadline: c.Deadline.Std()}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.deadline == 0 {
		h.deadline = DefaultDeadline
	}
	if h.geo == nil {
		probs.Add("", "no geolocation database")
	}
	set := o.WAF
	if set == nil {
		set, _ = webacl.Provision(webacl.Config{}, nil)
	}
	copied := *set // the handler's clock and locator are its own
	set = &copied
	set.Options.Now = o.Now
	if set.Options.Geo == nil && o.Geo != nil {
		set.Options.Geo = wafGeo{o.Geo}
	}
	compile := func(path, file string) {
		if file == "" || h.engines[file] != nil {
			return
		}
		_, eng, err := set.Compile(file, nil)
		if err != nil {
			probs = append(probs, problem.Within(path, err)...)
			return
		}
		h.engines[file] = eng
	}
	// The key Open reads, read now (Secrets Manager only at Open): a
	// missing or malformed key file is found by config validate, not by a
	// start that has already created the data directory.
	if h.needsLocks() && h.locks == nil {
		if err := appkey.Check(c.LockCheck.keySource()); err != nil {
			key := "lock_check.signing_key_file"
			if c.LockCheck.SigningKeyFile == "" {
				key = "lock_check"
			}
			probs.Add(key, err.Error())
		}
	}
	compile("web_acl_file", def.webACL)
	for i, e := range c.Endpoints {
		compile(fmt.Sprintf("endpoints[%d].web_acl_file", i), string(e.WebACLFile))
	}
	return h, probs
}

// wafGeo adapts a Locator to the WAF engine's: a country and a region
// code, nothing when the database cannot answer.
type wafGeo struct{ l geo.Locator }

func (g wafGeo) Locate(ip netip.Addr) (country, region string) {
	loc, err := g.l.Lookup(ip)
	if err != nil {
		return "", ""
	}
	return loc.Country, loc.RegionCode()
}

// needsLocks reports whether some policy checks locks.
func (h *Handler) needsLocks() bool { return h.def.checkLock || anyLock(h.eps) }

// Open builds the lock-check client when a policy checks locks and
// Options gave none: it reads the signing key (from AWS Secrets Manager
// when so configured).
func (h *Handler) Open(ctx context.Context) error {
	if h.locks != nil || !h.needsLocks() {
		return nil
	}
	c, err := h.cfg.LockCheck.client(ctx, h.log)
	if err != nil {
		return fmt.Errorf("vpn.lock_check: %w", err)
	}
	h.locks = c
	return nil
}

// Outcome is a decision with why it was taken.
type Outcome struct {
	Response Response
	Reason   string
	Location geo.Location
	// Detail says more: the WAF rule that blocked, the lock service's
	// error.
	Detail string
}

// Decide answers a connect request within the deadline. Whatever fails
// (a bad request, the database, the lock service, the deadline) denies,
// as Client VPN itself does when a handler fails. Every decision is
// logged.
func (h *Handler) Decide(ctx context.Context, req Request) Outcome {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, h.deadline)
	defer cancel()
	done := make(chan Outcome, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- h.deny(req, policy{message: h.def.message}, ReasonHandlerFailure, geo.Location{}, fmt.Sprint(p))
			}
		}()
		done <- h.decide(ctx, req)
	}()
	var o Outcome
	select {
	case o = <-done:
	case <-ctx.Done():
		o = h.deny(req, h.policyFor(req), ReasonTimeout, geo.Location{}, "no decision within "+h.deadline.String())
	}
	o.Response.SchemaVersion = responseVersion(req.SchemaVersion)
	lvl := slog.LevelInfo
	if !o.Response.Allow {
		lvl = slog.LevelWarn
	}
	h.log.Log(ctx, lvl, "vpn: connection "+map[bool]string{true: "allowed", false: "denied"}[o.Response.Allow],
		"reason", o.Reason, "endpoint", req.EndpointID, "connection", req.ConnectionID, "username", req.Username,
		"common_name", req.CommonName, "public_ip", req.PublicIP, "country", o.Location.Country, "region", o.Location.Region,
		"detail", o.Detail, "took", time.Since(start))
	return o
}

// responseVersion is the version an answer is written in: the request's
// (an unknown one too, with v2's field names, since Client VPN reads the
// version it asked for), v2 when the request named none.
func responseVersion(v string) string {
	if v == "" {
		return DefaultVersion
	}
	return v
}

func (h *Handler) policyFor(req Request) policy {
	if p, ok := h.eps[req.EndpointID]; ok {
		return p
	}
	return h.def
}

func (h *Handler) decide(ctx context.Context, req Request) Outcome {
	if !knownVersion(responseVersion(req.SchemaVersion)) {
		return h.deny(req, h.def, ReasonBadRequest, geo.Location{}, "schema-version "+req.SchemaVersion+" is not v1, v2 or v3")
	}
	p := h.policyFor(req)
	if p.empty() {
		return h.deny(req, p, ReasonNoPolicy, geo.Location{}, "no policy for endpoint "+req.EndpointID)
	}
	ip, err := netip.ParseAddr(strings.TrimSpace(req.PublicIP))
	if err != nil {
		return h.deny(req, p, ReasonBadRequest, geo.Location{}, fmt.Sprintf("public-ip %q is not an IP address", req.PublicIP))
	}
	ip = ip.Unmap()
	loc, err := h.geo.Lookup(ip)
	if err != nil {
		return h.deny(req, p, ReasonGeoFailed, loc, err.Error())
	}
	if len(p.countries) > 0 || len(p.regions) > 0 {
		if !slices.Contains(p.countries, loc.Country) && (loc.Region == "" || !slices.Contains(p.regions, loc.Region)) {
			return h.deny(req, p, ReasonCountry, loc, fmt.Sprintf("%s is in %q %q", ip, loc.Country, loc.Region))
		}
	}
	if eng := h.engines[p.webACL]; eng != nil {
		d := eng.Evaluate(ctx, wafRequest(ip, req))
		if d.Action != "ALLOW" {
			return h.deny(req, p, ReasonWAF, loc, d.Action+" by "+d.TerminatingRuleID)
		}
	}
	if p.checkLock {
		if o, denied := h.checkLock(ctx, req, p, ip, loc); denied {
			return o
		}
	}
	return Outcome{Response: Response{Allow: true, Statuses: []string{StatusCompliant}}, Reason: ReasonAllowed, Location: loc}
}

func (h *Handler) checkLock(ctx context.Context, req Request, p policy, ip netip.Addr, loc geo.Location) (Outcome, bool) {
	if req.Username == "" {
		return h.deny(req, p, ReasonLockFailed, loc, "no username to check (mutual authentication only)"), true
	}
	if h.locks == nil {
		return h.deny(req, p, ReasonLockFailed, loc, "no lock-check client"), true
	}
	where := loc.Country
	if loc.Region != "" {
		where = loc.Region
	}
	d, err := h.locks.Check(ctx, lockclient.Request{
		Username: req.Username, UserIP: ip.String(), UserDevice: strings.TrimSpace(req.Platform + " " + req.PlatformVersion),
		UserLocation: where, IntegrationType: "aws-client-vpn",
	})
	switch {
	case err != nil || d.Failed:
		detail := "no answer"
		if err != nil {
			detail = err.Error()
		}
		return h.deny(req, p, ReasonLockFailed, loc, detail), true
	case d.Locked:
		o := h.deny(req, p, ReasonLocked, loc, "status "+d.Status)
		if d.Message != "" {
			o.Response.Message = d.Message
		}
		return o, true
	}
	return Outcome{}, false
}

func (h *Handler) deny(req Request, p policy, reason string, loc geo.Location, detail string) Outcome {
	msg := p.message
	if msg == "" {
		msg = DefaultDeniedMessage
	}
	return Outcome{
		Response: Response{Allow: false, Message: msg, Statuses: []string{StatusQuarantined, reason}},
		Reason:   reason, Location: loc, Detail: detail,
	}
}

// The names of the headers a connection carries through a web ACL.
const (
	HeaderUsername      = "x-vpn-username"
	HeaderCommonName    = "x-vpn-common-name"
	HeaderEndpointID    = "x-vpn-endpoint-id"
	HeaderConnectionID  = "x-vpn-connection-id"
	HeaderPlatform      = "x-vpn-platform"
	HeaderPlatformVer   = "x-vpn-platform-version"
	HeaderOpenVPN       = "x-vpn-client-openvpn-version"
	HeaderGroups        = "x-vpn-groups"
	HeaderSchemaVersion = "x-vpn-schema-version"
)

// rateKey is the username as the lock check reads it (lock's caseless
// form: NFKC, case folded, invisible characters removed, spaces trimmed),
// so that a rate-based rule keyed on x-vpn-username counts "bob", "bob "
// and "BOB\u200b" as the one account they are. WAF's text
// transformations have no trim: the handler writes the key already
// normalised. A name with nothing visible keeps its raw form.
func rateKey(username string) string {
	if k := lock.CanonicalUsername(lock.MatchCaseless, username); k != "" {
		return k
	}
	return username
}

// wafRequest is how a connection looks to a web ACL: POST /vpn/connect
// from the device's public IP, its attributes as x-vpn-* headers (so a
// rate-based rule can count attempts per username with a custom key on
// x-vpn-username), the request itself as a JSON body.
func wafRequest(ip netip.Addr, req Request) *waf.Request {
	body, _ := json.Marshal(req)
	return &waf.Request{
		ClientIP: ip, Method: "POST", URI: "/vpn/connect",
		Headers: []waf.Header{
			{Name: "host", Value: "vpn.lockgate.invalid"},
			{Name: "content-type", Value: "application/json"},
			{Name: HeaderUsername, Value: rateKey(req.Username)},
			{Name: HeaderCommonName, Value: req.CommonName},
			{Name: HeaderEndpointID, Value: req.EndpointID},
			{Name: HeaderConnectionID, Value: req.ConnectionID},
			{Name: HeaderPlatform, Value: req.Platform},
			{Name: HeaderPlatformVer, Value: req.PlatformVersion},
			{Name: HeaderOpenVPN, Value: req.ClientOpenVPNVersion},
			{Name: HeaderGroups, Value: strings.Join(req.Groups, ",")},
			{Name: HeaderSchemaVersion, Value: req.SchemaVersion},
		},
		Body: body, BodySize: int64(len(body)),
	}
}
