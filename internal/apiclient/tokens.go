package apiclient

import (
	"context"
	"net/url"

	"github.com/lockgate/lockgate/internal/lock"
)

func tokenObj(id string) Object { return Object{Kind: "token", ID: id, List: "lockgate token list"} }

// TokenRequest creates a token: Scope is admin, admin:read or person
// (with PersonID); ExpiresIn a Go duration ("720h"), empty for none.
type TokenRequest struct {
	Name      string `json:"name"`
	Scope     string `json:"scope"`
	PersonID  string `json:"person_id,omitempty"`
	ExpiresIn string `json:"expires_in,omitempty"`
	ExpiresAt string `json:"expires_at,omitempty"`
}

// CreatedToken is a token with its secret, which is shown this once.
type CreatedToken struct {
	lock.Token
	Secret string `json:"token"`
}

// CreateToken issues a token.
func (c *Client) CreateToken(ctx context.Context, in TokenRequest) (CreatedToken, error) {
	var out CreatedToken
	err := c.do(ctx, Object{Kind: "token"}, "POST", admin+"/tokens", in, &out)
	return out, err
}

// TokenQuery selects tokens; empty fields do not filter.
type TokenQuery struct {
	Person, Scope  string
	IncludeRevoked bool
}

// Tokens lists tokens (never their secrets).
func (c *Client) Tokens(ctx context.Context, q TokenQuery) ([]lock.Token, error) {
	v := url.Values{}
	if q.Person != "" {
		v.Set("person", q.Person)
	}
	if q.Scope != "" {
		v.Set("scope", q.Scope)
	}
	if q.IncludeRevoked {
		v.Set("include_revoked", "true")
	}
	path := admin + "/tokens"
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	var out struct {
		Tokens []lock.Token `json:"tokens"`
	}
	err := c.do(ctx, Object{Kind: "tokens"}, "GET", path, nil, &out)
	return out.Tokens, err
}

// TokenInfo returns one token.
func (c *Client) TokenInfo(ctx context.Context, id string) (lock.Token, error) {
	var out lock.Token
	err := c.do(ctx, tokenObj(id), "GET", admin+"/tokens/"+esc(id), nil, &out)
	return out, err
}

// RevokeToken revokes a token at once.
func (c *Client) RevokeToken(ctx context.Context, id string) (lock.Token, error) {
	var out lock.Token
	err := c.do(ctx, tokenObj(id), "DELETE", admin+"/tokens/"+esc(id), nil, &out)
	return out, err
}
