package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/lockgate/lockgate/internal/apiclient"
	"github.com/lockgate/lockgate/internal/lock"
)

func newToken() *cobra.Command {
	c := group("token", "Create, list and revoke admin and person tokens")
	create := adminCmd(&cobra.Command{
		Use:   "create --name NAME --scope admin|admin:read|person",
		Short: "Create a token (its secret is shown once)",
		Long: `Create a token. Scopes: admin (the whole admin API), admin:read (the admin
API's reads only: dashboards, audits), person (the owner API as one person,
with --person). --expires-in ends the token after a while; without it the
token lasts until revoked.`,
		Example: `  lockgate token create --name ci --scope admin --expires-in 720h
  lockgate token create --name grafana --scope admin:read -o json | jq -r .token
  lockgate token create --name "ann's laptop" --scope person --person per_01J…`,
		Args: noArgs,
	}, func(k *call, _ []string) error {
		if err := requireFlags(k.cmd, "name", "scope"); err != nil {
			return err
		}
		in := apiclient.TokenRequest{Name: str(k.cmd, "name"), Scope: str(k.cmd, "scope"), PersonID: str(k.cmd, "person")}
		if d, _ := k.cmd.Flags().GetDuration("expires-in"); d < 0 {
			return usagef("--expires-in must be positive")
		} else if d > 0 {
			in.ExpiresIn = d.String()
		}
		out, err := k.client.CreateToken(k.ctx, in)
		if err != nil {
			return err
		}
		err = k.print.object(out, func(t *table) {
			t.head("FIELD", "VALUE")
			tokenRows(t, out.Token)
			t.row("token", out.Secret)
		})
		k.notice("The token is shown only now: store it (lockgate keeps a salted hash).")
		return err
	})
	create.Flags().String("name", "", "what the token is for (shown in listings and logs)")
	create.Flags().String("scope", "", "admin, admin:read or person")
	create.Flags().String("person", "", "the person, for scope person")
	create.Flags().Duration("expires-in", 0, "end the token after this long (e.g. 720h)")

	list := adminCmd(&cobra.Command{
		Use:     "list",
		Short:   "List tokens: name, scope, creation, last use, expiry (never secrets)",
		Example: "  lockgate token list --all\n  lockgate token list --person per_01J…",
		Args:    noArgs,
	}, func(k *call, _ []string) error {
		all, _ := k.cmd.Flags().GetBool("all")
		toks, err := k.client.Tokens(k.ctx, apiclient.TokenQuery{Person: str(k.cmd, "person"), Scope: str(k.cmd, "scope"), IncludeRevoked: all})
		if err != nil {
			return err
		}
		return k.print.list(toks, func(t *table) {
			t.head("ID", "NAME", "SCOPE", "PERSON", "SOURCE", "CREATED", "LAST USED", "EXPIRES", "REVOKED")
			for _, tk := range toks {
				t.row(tk.ID, tk.Name, string(tk.Scope), tk.PersonID, tk.Source, when(tk.CreatedAt), when(tk.LastUsedAt), when(tk.ExpiresAt), when(tk.RevokedAt))
			}
		})
	})
	list.Flags().String("person", "", "only this person's tokens")
	list.Flags().String("scope", "", "only tokens of this scope")
	list.Flags().Bool("all", false, "include revoked tokens")

	get := adminCmd(&cobra.Command{Use: "get TOKEN_ID", Short: "Show a token (never its secret)", Example: `  lockgate token get tok_01J…`, Args: exactArgs(1)}, func(k *call, args []string) error {
		tk, err := k.client.TokenInfo(k.ctx, args[0])
		if err != nil {
			return err
		}
		return k.print.object(tk, func(t *table) { t.head("FIELD", "VALUE"); tokenRows(t, tk) })
	})

	revoke := adminCmd(&cobra.Command{
		Use:     "revoke TOKEN_ID",
		Short:   "Revoke a token: it stops working at once, on every replica",
		Example: "  lockgate token revoke tok_01J…",
		Args:    exactArgs(1),
	}, func(k *call, args []string) error {
		tk, err := k.client.RevokeToken(k.ctx, args[0])
		if err != nil {
			return err
		}
		return k.print.object(tk, func(t *table) { t.head("FIELD", "VALUE"); tokenRows(t, tk) })
	})
	c.AddCommand(create, list, get, revoke)
	return c
}

func tokenRows(t *table, tk lock.Token) {
	t.row("id", tk.ID)
	t.row("name", tk.Name)
	t.row("scope", string(tk.Scope))
	if tk.PersonID != "" {
		t.row("person", tk.PersonID)
	}
	t.row("source", tk.Source)
	t.row("created", when(tk.CreatedAt))
	t.row("last used", when(tk.LastUsedAt))
	t.row("expires", when(tk.ExpiresAt))
	t.row("revoked", when(tk.RevokedAt))
}

// when is a time for a table: local RFC 3339, "-" for none.
func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format(time.RFC3339)
}
