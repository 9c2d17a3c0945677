package main

import (
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lockgate/lockgate/internal/lock"
)

func newApp() *cobra.Command {
	c := group("app", "Manage integrated applications")

	create := adminCmd(&cobra.Command{
		Use:   "create --name NAME --issuer URI",
		Short: "Create an application and its first signing key (the secret is shown once)",
		Example: `  lockgate app create --name Demo --issuer https://demo.example.com
  lockgate app create --name Demo --issuer https://demo.example.com -o json > demo-app.json`,
		Args: noArgs,
	}, func(k *call, _ []string) error {
		in, err := appInput(k.cmd, true)
		if err != nil {
			return err
		}
		out, err := k.client.CreateApplication(k.ctx, in)
		if err != nil {
			return err
		}
		// The JSON is the file `check --key-file` reads: id, name,
		// issuers and the signing key.
		err = k.print.object(struct {
			ID         string      `json:"id"`
			Name       string      `json:"name"`
			Issuers    []string    `json:"issuers"`
			SigningKey lock.NewKey `json:"signing_key"`
		}{out.ID, out.Name, out.Issuers, out.SigningKey}, func(t *table) {
			t.head("FIELD", "VALUE")
			t.row("id", out.ID)
			t.row("name", out.Name)
			t.row("issuers", strings.Join(out.Issuers, ","))
			t.row("signing key id", out.SigningKey.ID)
			t.row("signing key secret", out.SigningKey.Secret)
		})
		k.notice("The signing key secret is shown only now: give it to the application (it signs HS256 tokens with its base64-decoded value).")
		return err
	})
	appFlags(create)

	update := adminCmd(&cobra.Command{
		Use:     "update APP",
		Short:   "Change an application's name, issuers or settings",
		Example: `  lockgate app update app_01J… --unknown-account locked --locked-message "Unlock first at https://lock.example.com"`,
		Args:    exactArgs(1),
	}, func(k *call, args []string) error {
		in, err := appInput(k.cmd, false)
		if err != nil {
			return err
		}
		app, err := k.client.UpdateApplication(k.ctx, args[0], in)
		if err != nil {
			return err
		}
		return printApp(k, app, nil)
	})
	appFlags(update)

	list := adminCmd(&cobra.Command{Use: "list", Short: "List applications", Example: "  lockgate app list -o json | jq -r '.items[].id'", Args: noArgs},
		func(k *call, _ []string) error {
			apps, err := k.client.Applications(k.ctx)
			if err != nil {
				return err
			}
			return k.print.list(apps, func(t *table) {
				t.head("ID", "NAME", "ISSUERS", "UNKNOWN ACCOUNTS")
				for _, a := range apps {
					t.row(a.ID, a.Name, strings.Join(a.Issuers, ","), string(a.Settings.UnknownAccount))
				}
			})
		})

	get := adminCmd(&cobra.Command{Use: "get APP", Short: "Show an application and its signing keys", Example: "  lockgate app get app_01J…", Args: exactArgs(1)},
		func(k *call, args []string) error {
			app, err := k.client.Application(k.ctx, args[0])
			if err != nil {
				return err
			}
			keys, err := k.client.Keys(k.ctx, args[0])
			if err != nil {
				return err
			}
			return printApp(k, app, keys)
		})

	rotate := adminCmd(&cobra.Command{Use: "rotate-key APP", Short: "Add a signing key (older keys stay valid until revoked; the secret is shown once)", Example: "  lockgate app rotate-key app_01J…", Args: exactArgs(1)},
		func(k *call, args []string) error {
			key, err := k.client.RotateKey(k.ctx, args[0])
			if err != nil {
				return err
			}
			err = k.print.object(key, func(t *table) {
				t.head("FIELD", "VALUE")
				t.row("signing key id", key.ID)
				t.row("signing key secret", key.Secret)
			})
			k.notice("The secret is shown only now. Revoke the old key with `lockgate app revoke-key %s KEY` once integrations use this one.", args[0])
			return err
		})

	revoke := adminCmd(&cobra.Command{Use: "revoke-key APP KEY", Short: "Revoke a signing key", Example: "  lockgate app revoke-key app_01J… key_01J…", Args: exactArgs(2)},
		func(k *call, args []string) error {
			if err := k.client.RevokeKey(k.ctx, args[0], args[1]); err != nil {
				return err
			}
			return k.print.object(done{"revoked", "signing key", args[1]}, done{"revoked", "signing key", args[1]}.table)
		})

	del := adminCmd(&cobra.Command{Use: "delete APP", Short: "Delete an application with its keys and accounts", Example: "  lockgate app delete app_01J…", Args: exactArgs(1)},
		func(k *call, args []string) error {
			if err := k.client.DeleteApplication(k.ctx, args[0]); err != nil {
				return err
			}
			return k.print.object(done{"deleted", "application", args[0]}, done{"deleted", "application", args[0]}.table)
		})
	c.AddCommand(create, update, list, get, rotate, revoke, del)
	return c
}

func appFlags(c *cobra.Command) {
	c.Flags().String("name", "", "application name")
	c.Flags().StringSlice("issuer", nil, "issuer URI its tokens carry as iss (repeatable)")
	c.Flags().String("unknown-account", "", "answer for accounts lockgate does not know: unlocked (default), locked or auto-enrol")
	c.Flags().String("default-state", "", "state of auto-enrolled accounts: locked or unlocked (default)")
	c.Flags().String("locked-message", "", "message returned with a locked answer")
	c.Flags().String("username-match", "", "which usernames are one account: caseless (default: case, width, spacing and invisible characters ignored) or exact")
}

// appInput reads the flags that were given; create needs a name and an
// issuer.
func appInput(c *cobra.Command, create bool) (lock.ApplicationInput, error) {
	var in lock.ApplicationInput
	if create {
		if err := requireFlags(c, "name"); err != nil {
			return in, err
		}
	}
	if c.Flags().Changed("name") {
		v := str(c, "name")
		in.Name = &v
	}
	issuers, _ := c.Flags().GetStringSlice("issuer")
	if create && len(issuers) == 0 {
		return in, usagef("at least one --issuer URI is required")
	}
	if len(issuers) > 0 {
		in.Issuers = issuers
	}
	if c.Flags().Changed("unknown-account") {
		v := lock.UnknownAccountPolicy(str(c, "unknown-account"))
		in.UnknownAccount = &v
	}
	if c.Flags().Changed("default-state") {
		v := lock.State(str(c, "default-state"))
		in.DefaultState = &v
	}
	if c.Flags().Changed("locked-message") {
		v := str(c, "locked-message")
		in.LockedMessage = &v
	}
	if c.Flags().Changed("username-match") {
		v := lock.UsernameMatch(str(c, "username-match"))
		in.UsernameMatch = &v
	}
	if !create && in.Name == nil && in.Issuers == nil && in.UnknownAccount == nil && in.DefaultState == nil && in.LockedMessage == nil && in.UsernameMatch == nil {
		return in, usagef("nothing to change: give --name, --issuer, --unknown-account, --default-state or --locked-message")
	}
	return in, nil
}

func printApp(k *call, app lock.Application, keys []lock.KeyInfo) error {
	v := any(app)
	if keys != nil {
		v = map[string]any{"application": app, "keys": keys}
	}
	return k.print.object(v, func(t *table) {
		t.head("FIELD", "VALUE")
		t.row("id", app.ID)
		t.row("name", app.Name)
		t.row("issuers", strings.Join(app.Issuers, ","))
		t.row("unknown accounts", string(app.Settings.UnknownAccount))
		t.row("default state", string(app.Settings.DefaultState))
		t.row("locked message", app.Settings.LockedMessage)
		for _, key := range keys {
			st := "active"
			if key.RevokedAt != nil {
				st = "revoked " + key.RevokedAt.Format(time.RFC3339)
			}
			t.row("key "+key.ID, st)
		}
	})
}

// done is what a command that changes something without returning it
// prints: {"status": "deleted", "kind": "application", "id": "app_…"}.
type done struct {
	Status string `json:"status"`
	Kind   string `json:"kind"`
	ID     string `json:"id"`
}

func (d done) table(t *table) { t.row(d.Status + " " + d.Kind + " " + d.ID) }
