package apiclient

import (
	"context"

	"github.com/lockgate/lockgate/internal/lock"
)

// FenceTarget names whose geo-fence a call is about: the token's person
// (the zero value), one of their accounts, or (admin) a person or an
// application's account.
type FenceTarget struct {
	MyAccount string // an account ID of the token's person
	Person    string // admin: a person ID
	App, User string // admin: an application's account
}

func (t FenceTarget) path() (string, Object) {
	switch {
	case t.MyAccount != "":
		return me + "/accounts/" + esc(t.MyAccount) + "/geofence", Object{Kind: "geo-fence of account", ID: t.MyAccount, List: "lockgate me accounts"}
	case t.Person != "":
		return "/api/v1/admin/persons/" + esc(t.Person) + "/geofence", Object{Kind: "geo-fence of person", ID: t.Person, List: "lockgate person list"}
	case t.App != "":
		return "/api/v1/admin/applications/" + esc(t.App) + "/accounts/" + esc(t.User) + "/geofence", Object{Kind: "geo-fence of account", ID: t.App + "/" + t.User}
	}
	return me + "/geofence", Object{Kind: "geo-fence", List: "lockgate me geofence set"}
}

// GeoFence returns a fence.
func (c *Client) GeoFence(ctx context.Context, t FenceTarget) (lock.GeoFence, error) {
	var out lock.GeoFence
	p, obj := t.path()
	err := c.do(ctx, obj, "GET", p, nil, &out)
	return out, err
}

// SetGeoFence replaces a fence.
func (c *Client) SetGeoFence(ctx context.Context, t FenceTarget, in lock.GeoFenceInput) (lock.GeoFence, error) {
	var out lock.GeoFence
	p, obj := t.path()
	err := c.do(ctx, obj, "PUT", p, in, &out)
	return out, err
}

// DeleteGeoFence removes a fence.
func (c *Client) DeleteGeoFence(ctx context.Context, t FenceTarget) error {
	p, obj := t.path()
	return c.do(ctx, obj, "DELETE", p, nil, nil)
}
