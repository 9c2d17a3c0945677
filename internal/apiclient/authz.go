package apiclient

import (
	"context"
	"encoding/json"

	"github.com/lockgate/lockgate/internal/authz"
)

func groupObj(name string) Object {
	return Object{Kind: "group", ID: name, List: "lockgate authz group list"}
}

// GroupPolicies lists the group → IAM policy mappings and where they
// come from (store, file or dynamodb).
func (c *Client) GroupPolicies(ctx context.Context) ([]authz.GroupPolicy, string, error) {
	var out struct {
		Groups []authz.GroupPolicy `json:"groups"`
		Source string              `json:"source"`
	}
	err := c.do(ctx, Object{Kind: "groups"}, "GET", authz.AdminPrefix, nil, &out)
	return out.Groups, out.Source, err
}

// GroupPolicy returns one group's policy.
func (c *Client) GroupPolicy(ctx context.Context, group string) (authz.GroupPolicy, error) {
	var out authz.GroupPolicy
	err := c.do(ctx, groupObj(group), "GET", authz.AdminPrefix+"/"+esc(group), nil, &out)
	return out, err
}

// SetGroupPolicy maps a group to a policy document (checked by the
// server first).
func (c *Client) SetGroupPolicy(ctx context.Context, group string, policy json.RawMessage) (authz.GroupPolicy, error) {
	var out authz.GroupPolicy
	err := c.do(ctx, groupObj(group), "PUT", authz.AdminPrefix+"/"+esc(group), map[string]json.RawMessage{"policy": policy}, &out)
	return out, err
}

// DeleteGroupPolicy removes a group's policy.
func (c *Client) DeleteGroupPolicy(ctx context.Context, group string) error {
	return c.do(ctx, groupObj(group), "DELETE", authz.AdminPrefix+"/"+esc(group), nil, nil)
}
