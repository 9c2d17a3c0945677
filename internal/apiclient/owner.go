package apiclient

import (
	"context"

	"github.com/lockgate/lockgate/internal/lock"
)

const me = "/api/v1/me"

func myAccountObj(id string) Object {
	return Object{Kind: "account", ID: id, List: "lockgate me accounts"}
}

// Me returns the person the token belongs to.
func (c *Client) Me(ctx context.Context) (lock.Person, error) {
	var out lock.Person
	err := c.do(ctx, Object{Kind: "person"}, "GET", me, nil, &out)
	return out, err
}

// MyAccounts lists the token's person's accounts.
func (c *Client) MyAccounts(ctx context.Context) ([]lock.AccountStatus, error) {
	var out struct {
		Accounts []lock.AccountStatus `json:"accounts"`
	}
	err := c.do(ctx, Object{Kind: "accounts"}, "GET", me+"/accounts", nil, &out)
	return out.Accounts, err
}

// SetMyLock locks (or unlocks) one of the person's accounts, by account ID.
func (c *Client) SetMyLock(ctx context.Context, account string, lockIt bool, ch LockChange) (lock.AccountStatus, error) {
	verb := "/unlock"
	if lockIt {
		verb = "/lock"
	}
	var out lock.AccountStatus
	err := c.do(ctx, myAccountObj(account), "POST", me+"/accounts/"+esc(account)+verb, ch.body(), &out)
	return out, err
}

// SetMyLockAll locks (or unlocks) every account of the person.
func (c *Client) SetMyLockAll(ctx context.Context, lockIt bool, ch LockChange) ([]lock.AccountStatus, error) {
	verb := "/unlock-all"
	if lockIt {
		verb = "/lock-all"
	}
	var out struct {
		Accounts []lock.AccountStatus `json:"accounts"`
	}
	err := c.do(ctx, Object{Kind: "accounts"}, "POST", me+verb, ch.body(), &out)
	return out.Accounts, err
}

// MyHistory lists one of the person's accounts' lock changes.
func (c *Client) MyHistory(ctx context.Context, account string) ([]lock.LockChange, error) {
	var out struct {
		History []lock.LockChange `json:"history"`
	}
	err := c.do(ctx, myAccountObj(account), "GET", me+"/accounts/"+esc(account)+"/history", nil, &out)
	return out.History, err
}

// MyAttempts lists the lock checks of the person's accounts.
func (c *Client) MyAttempts(ctx context.Context, q AttemptQuery) (AttemptsPage, error) {
	var out AttemptsPage
	err := c.do(ctx, Object{Kind: "attempts"}, "GET", me+"/attempts"+q.encode(), nil, &out)
	return out, err
}
