package apiclient

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/lockgate/lockgate/internal/lock"
)

const admin = "/api/v1/admin"

func appObj(id string) Object    { return Object{Kind: "application", ID: id, List: "lockgate app list"} }
func personObj(id string) Object { return Object{Kind: "person", ID: id, List: "lockgate person list"} }
func accountObj(app, user string) Object {
	return Object{Kind: "account", ID: user + " of application " + app, List: "lockgate account list " + app}
}

// CreatedApplication is an application with its first signing key, whose
// secret is shown this once.
type CreatedApplication struct {
	lock.Application
	SigningKey lock.NewKey `json:"signing_key"`
}

// CreateApplication creates an application and its first signing key.
func (c *Client) CreateApplication(ctx context.Context, in lock.ApplicationInput) (CreatedApplication, error) {
	var out CreatedApplication
	err := c.do(ctx, Object{Kind: "application"}, "POST", admin+"/applications", in, &out)
	return out, err
}

// Applications lists applications.
func (c *Client) Applications(ctx context.Context) ([]lock.Application, error) {
	var out struct {
		Applications []lock.Application `json:"applications"`
	}
	err := c.do(ctx, Object{Kind: "applications"}, "GET", admin+"/applications", nil, &out)
	return out.Applications, err
}

// Application returns one application.
func (c *Client) Application(ctx context.Context, id string) (lock.Application, error) {
	var out lock.Application
	err := c.do(ctx, appObj(id), "GET", admin+"/applications/"+esc(id), nil, &out)
	return out, err
}

// UpdateApplication changes the fields of in that are set.
func (c *Client) UpdateApplication(ctx context.Context, id string, in lock.ApplicationInput) (lock.Application, error) {
	var out lock.Application
	err := c.do(ctx, appObj(id), "PATCH", admin+"/applications/"+esc(id), in, &out)
	return out, err
}

// DeleteApplication deletes an application with its keys and accounts.
func (c *Client) DeleteApplication(ctx context.Context, id string) error {
	return c.do(ctx, appObj(id), "DELETE", admin+"/applications/"+esc(id), nil, nil)
}

// Keys lists an application's signing keys (never their secrets).
func (c *Client) Keys(ctx context.Context, app string) ([]lock.KeyInfo, error) {
	var out struct {
		Keys []lock.KeyInfo `json:"keys"`
	}
	err := c.do(ctx, appObj(app), "GET", admin+"/applications/"+esc(app)+"/keys", nil, &out)
	return out.Keys, err
}

// RotateKey adds a signing key; older keys stay valid until revoked.
func (c *Client) RotateKey(ctx context.Context, app string) (lock.NewKey, error) {
	var out lock.NewKey
	err := c.do(ctx, appObj(app), "POST", admin+"/applications/"+esc(app)+"/keys", nil, &out)
	return out, err
}

// RevokeKey revokes a signing key.
func (c *Client) RevokeKey(ctx context.Context, app, key string) error {
	return c.do(ctx, Object{Kind: "signing key", ID: key + " of application " + app, List: "lockgate app get " + app},
		"DELETE", admin+"/applications/"+esc(app)+"/keys/"+esc(key), nil, nil)
}

// Accounts lists an application's accounts.
func (c *Client) Accounts(ctx context.Context, app string) ([]lock.AccountStatus, error) {
	var out struct {
		Accounts []lock.AccountStatus `json:"accounts"`
	}
	err := c.do(ctx, appObj(app), "GET", admin+"/applications/"+esc(app)+"/accounts", nil, &out)
	return out.Accounts, err
}

// gatewayObj explains a 404 from the gateway endpoints: the server has
// no gateway configured.
var gatewayObj = Object{Kind: "gateway", Missing: "no gateway is configured on this lockgate — add a `gateway:` section " +
	"(listen, routes) to the configuration (see docs/gateway.md) and restart `lockgate serve`"}

// accountErr turns an account's "not found" into the application's when
// the application is what is missing: locking creates accounts, so only
// a missing application makes it fail.
func (c *Client) accountErr(ctx context.Context, app string, err error) error {
	var e *Error
	if !errors.As(err, &e) || e.Status != http.StatusNotFound {
		return err
	}
	if _, aerr := c.Application(ctx, app); aerr != nil {
		var ae *Error
		if errors.As(aerr, &ae) && ae.Status == http.StatusNotFound {
			return aerr
		}
	}
	return err
}

func accountPath(app, user string) string {
	return admin + "/applications/" + esc(app) + "/accounts/" + esc(user)
}

// Account returns an account's lock state.
func (c *Client) Account(ctx context.Context, app, user string) (lock.AccountStatus, error) {
	var out lock.AccountStatus
	err := c.do(ctx, accountObj(app, user), "GET", accountPath(app, user), nil, &out)
	return out, c.accountErr(ctx, app, err)
}

// DeleteAccount deletes an account. A locked one is refused (409) unless
// force: deleting frees its name, and the next check of the name answers
// as for an unknown account.
func (c *Client) DeleteAccount(ctx context.Context, app, user string, force bool) error {
	err := c.do(ctx, accountObj(app, user), "DELETE", accountPath(app, user)+forceQuery(force), nil, nil)
	return c.accountErr(ctx, app, err)
}

// RenameAccount gives an account the name to; refused (409) when another
// account of the application has that name (under its username
// matching), or, unless force, when the account is locked.
func (c *Client) RenameAccount(ctx context.Context, app, user, to string, force bool) (lock.AccountStatus, error) {
	var out lock.AccountStatus
	err := c.do(ctx, accountObj(app, user), "POST", accountPath(app, user)+"/rename"+forceQuery(force), map[string]string{"username": to}, &out)
	return out, c.accountErr(ctx, app, err)
}

func forceQuery(force bool) string {
	if force {
		return "?force=true"
	}
	return ""
}

// LockChange is what a lock or unlock asks for.
type LockChange struct {
	For    time.Duration // unlock only: relock after this long; 0 for good
	Reason string
}

func (l LockChange) body() map[string]string {
	in := map[string]string{}
	if l.Reason != "" {
		in["reason"] = l.Reason
	}
	if l.For > 0 {
		in["for"] = l.For.String()
	}
	return in
}

// SetLock locks (or unlocks) an account.
func (c *Client) SetLock(ctx context.Context, app, user string, lockIt bool, ch LockChange) (lock.AccountStatus, error) {
	verb := "/unlock"
	if lockIt {
		verb = "/lock"
	}
	var out lock.AccountStatus
	err := c.do(ctx, accountObj(app, user), "POST", accountPath(app, user)+verb, ch.body(), &out)
	return out, c.accountErr(ctx, app, err)
}

// History lists an account's lock changes.
func (c *Client) History(ctx context.Context, app, user string) ([]lock.LockChange, error) {
	var out struct {
		History []lock.LockChange `json:"history"`
	}
	err := c.do(ctx, accountObj(app, user), "GET", accountPath(app, user)+"/history", nil, &out)
	return out.History, c.accountErr(ctx, app, err)
}

// AccountEvents lists what integrations reported about an account.
func (c *Client) AccountEvents(ctx context.Context, app, user string) ([]lock.AccountEvent, error) {
	var out struct {
		Events []lock.AccountEvent `json:"events"`
	}
	err := c.do(ctx, accountObj(app, user), "GET", accountPath(app, user)+"/events", nil, &out)
	return out.Events, c.accountErr(ctx, app, err)
}

// SetOwner makes a person the owner of an account.
func (c *Client) SetOwner(ctx context.Context, app, user, person string) (lock.AccountStatus, error) {
	var out lock.AccountStatus
	err := c.do(ctx, accountObj(app, user), "PUT", accountPath(app, user)+"/owner", map[string]string{"person_id": person}, &out)
	return out, err
}

// CreatePerson creates a person.
func (c *Client) CreatePerson(ctx context.Context, name, email string) (lock.Person, error) {
	var out lock.Person
	err := c.do(ctx, Object{Kind: "person"}, "POST", admin+"/persons", map[string]string{"name": name, "email": email}, &out)
	return out, err
}

// Persons lists persons.
func (c *Client) Persons(ctx context.Context) ([]lock.Person, error) {
	var out struct {
		Persons []lock.Person `json:"persons"`
	}
	err := c.do(ctx, Object{Kind: "persons"}, "GET", admin+"/persons", nil, &out)
	return out.Persons, err
}

// Person returns one person.
func (c *Client) Person(ctx context.Context, id string) (lock.Person, error) {
	var out lock.Person
	err := c.do(ctx, personObj(id), "GET", admin+"/persons/"+esc(id), nil, &out)
	return out, err
}

// DeletePerson deletes a person (their accounts lose their owner).
func (c *Client) DeletePerson(ctx context.Context, id string) error {
	return c.do(ctx, personObj(id), "DELETE", admin+"/persons/"+esc(id), nil, nil)
}

// PersonAccounts lists the accounts a person owns.
func (c *Client) PersonAccounts(ctx context.Context, id string) ([]lock.AccountStatus, error) {
	var out struct {
		Accounts []lock.AccountStatus `json:"accounts"`
	}
	err := c.do(ctx, personObj(id), "GET", admin+"/persons/"+esc(id)+"/accounts", nil, &out)
	return out.Accounts, err
}

// PersonToken issues an owner-API token for a person (shown once).
func (c *Client) PersonToken(ctx context.Context, id string) (string, error) {
	var out struct {
		Token string `json:"token"`
	}
	err := c.do(ctx, personObj(id), "POST", admin+"/persons/"+esc(id)+"/tokens", nil, &out)
	return out.Token, err
}

// SetPersonLock locks (or unlocks) every account of a person.
func (c *Client) SetPersonLock(ctx context.Context, id string, lockIt bool, ch LockChange) ([]lock.AccountStatus, error) {
	verb := "/unlock"
	if lockIt {
		verb = "/lock"
	}
	var out struct {
		Accounts []lock.AccountStatus `json:"accounts"`
	}
	err := c.do(ctx, personObj(id), "POST", admin+"/persons/"+esc(id)+verb, ch.body(), &out)
	return out.Accounts, err
}

// AttemptsPage is one page of attempts, newest first.
type AttemptsPage struct {
	Attempts []lock.Attempt `json:"attempts"`
	Next     string         `json:"next,omitempty"` // the Before of the next page
}

// AttemptQuery selects attempts; empty fields do not filter.
type AttemptQuery struct {
	App, User, Person, Since, Until, Before string
	Limit                                   int
}

func (q AttemptQuery) encode() string {
	v := url.Values{}
	for k, s := range map[string]string{"app": q.App, "user": q.User, "person": q.Person, "since": q.Since, "until": q.Until, "before": q.Before} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if q.Limit > 0 {
		v.Set("limit", itoa(q.Limit))
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

// Attempts lists recorded lock checks.
func (c *Client) Attempts(ctx context.Context, q AttemptQuery) (AttemptsPage, error) {
	var out AttemptsPage
	err := c.do(ctx, Object{Kind: "attempts"}, "GET", admin+"/attempts"+q.encode(), nil, &out)
	return out, err
}

// WebhookOwner is whose events a webhook receives.
type WebhookOwner struct {
	Kind string // application or person
	ID   string
}

func (o WebhookOwner) path() (string, Object) {
	if o.Kind == "person" {
		return admin + "/persons/" + esc(o.ID) + "/webhooks", personObj(o.ID)
	}
	return admin + "/applications/" + esc(o.ID) + "/webhooks", appObj(o.ID)
}

// CreatedWebhook is a webhook with its signing secret, shown this once.
//
// Its fields are its own: embedding lock.Webhook would promote that
// type's MarshalJSON and UnmarshalJSON, which know no secret, and the
// secret — shown only at creation — would be lost on the way to the CLI.
type CreatedWebhook struct {
	ID        string    `json:"id"`
	OwnerKind string    `json:"owner_kind"`
	OwnerID   string    `json:"owner_id"`
	URL       string    `json:"url"` // redacted by the server
	CreatedAt time.Time `json:"created_at"`
	Secret    string    `json:"secret"`
}

// AddWebhook sends an owner's events to url.
func (c *Client) AddWebhook(ctx context.Context, owner WebhookOwner, u string) (CreatedWebhook, error) {
	p, obj := owner.path()
	var out CreatedWebhook
	err := c.do(ctx, obj, "POST", p, map[string]string{"url": u}, &out)
	return out, err
}

// Webhooks lists an owner's webhooks.
func (c *Client) Webhooks(ctx context.Context, owner WebhookOwner) ([]lock.Webhook, error) {
	p, obj := owner.path()
	var out struct {
		Webhooks []lock.Webhook `json:"webhooks"`
	}
	err := c.do(ctx, obj, "GET", p, nil, &out)
	return out.Webhooks, err
}

// DeleteWebhook deletes a webhook.
func (c *Client) DeleteWebhook(ctx context.Context, id string) error {
	return c.do(ctx, Object{Kind: "webhook", ID: id, List: "lockgate webhook list --app APP"}, "DELETE", admin+"/webhooks/"+esc(id), nil, nil)
}

// GatewayConfig returns the running gateway's configuration and when it
// loaded.
func (c *Client) GatewayConfig(ctx context.Context) (map[string]any, error) {
	var out map[string]any
	err := c.do(ctx, gatewayObj, "GET", admin+"/gateway/config", nil, &out)
	return out, err
}

// LimitedKey is a key a rate-based rule is limiting now.
type LimitedKey struct {
	Key   string `json:"key"`
	Count int64  `json:"count"`
}

// GatewayLimited returns, by web ACL and rule, the keys being limited.
func (c *Client) GatewayLimited(ctx context.Context) (map[string]map[string][]LimitedKey, error) {
	var out map[string]map[string][]LimitedKey
	err := c.do(ctx, gatewayObj, "GET", admin+"/gateway/limited", nil, &out)
	return out, err
}

// GatewayReload makes the gateway read its configuration again.
func (c *Client) GatewayReload(ctx context.Context) error {
	return c.do(ctx, gatewayObj, "POST", admin+"/gateway/reload", nil, nil)
}

func itoa(n int) string { return strconv.Itoa(n) }
