package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/lockgate/lockgate/internal/adminclient"
	"github.com/lockgate/lockgate/internal/lock"
)

// adminFlags adds --server, --token and -o to an admin command.
func adminFlags(c *cobra.Command) {
	c.Flags().String("server", "", "lockgate server URL (default: the local one, from the config's listen address)")
	c.Flags().String("token", "", "admin token (default $LOCKGATE_ADMIN_TOKEN)")
	c.Flags().StringP("output", "o", "table", "output format: table or json")
}

type adminCtx struct {
	client *adminclient.Client
	json   bool
	out    io.Writer
}

func newAdminCtx(c *cobra.Command) (*adminCtx, error) {
	format, _ := c.Flags().GetString("output")
	if format != "table" && format != "json" {
		return nil, usagef("-o %q: use table or json", format)
	}
	srv, _ := c.Flags().GetString("server")
	if srv == "" {
		cfg, _, err := loadConfig(c)
		if err != nil {
			return nil, err
		}
		host, port, _ := net.SplitHostPort(cfg.Listen)
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		scheme := "http"
		if cfg.TLS.CertFile != "" {
			scheme = "https"
		}
		srv = scheme + "://" + net.JoinHostPort(host, port)
	}
	tok, _ := c.Flags().GetString("token")
	if tok == "" {
		tok = os.Getenv("LOCKGATE_ADMIN_TOKEN")
	}
	if tok == "" {
		return nil, usagef("no admin token: set LOCKGATE_ADMIN_TOKEN or pass --token")
	}
	return &adminCtx{client: adminclient.New(srv, tok), json: format == "json", out: c.OutOrStdout()}, nil
}

func (a *adminCtx) do(method, path string, in, out any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return a.client.Do(ctx, method, path, in, out)
}

func (a *adminCtx) printJSON(v any) error {
	enc := json.NewEncoder(a.out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (a *adminCtx) table(header string, rows [][]string) {
	tw := tabwriter.NewWriter(a.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}

func esc(s string) string { return url.PathEscape(s) }

func requireFlags(c *cobra.Command, names ...string) error {
	for _, n := range names {
		if v, _ := c.Flags().GetString(n); v == "" {
			return usagef("%s: --%s is required", c.CommandPath(), n)
		}
	}
	return nil
}

func str(c *cobra.Command, name string) string { v, _ := c.Flags().GetString(name); return v }

// adminCmd builds an admin subcommand whose RunE gets an adminCtx.
func adminCmd(use, short string, args cobra.PositionalArgs, required []string, run func(c *cobra.Command, a *adminCtx, args []string) error) *cobra.Command {
	c := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  args,
		RunE: func(c *cobra.Command, args []string) error {
			if err := requireFlags(c, required...); err != nil {
				return err
			}
			a, err := newAdminCtx(c)
			if err != nil {
				return err
			}
			return run(c, a, args)
		},
	}
	adminFlags(c)
	return c
}

// --- app ---

func newApp() *cobra.Command {
	c := &cobra.Command{Use: "app", Short: "Manage integrated applications"}

	create := adminCmd("create", "Create an application and its first signing key (the secret is shown once)", noArgs, []string{"name"},
		func(c *cobra.Command, a *adminCtx, _ []string) error {
			issuers, _ := c.Flags().GetStringSlice("issuer")
			if len(issuers) == 0 {
				return usagef("app create: at least one --issuer URI is required")
			}
			in := map[string]any{"name": str(c, "name"), "issuers": issuers}
			for flag, field := range map[string]string{"unknown-account": "unknown_account", "default-state": "default_state", "locked-message": "locked_message"} {
				if c.Flags().Changed(flag) {
					in[field] = str(c, flag)
				}
			}
			var out struct {
				lock.Application
				SigningKey lock.NewKey `json:"signing_key"`
			}
			if err := a.do("POST", "/api/v1/admin/applications", in, &out); err != nil {
				return err
			}
			if a.json {
				return json.NewEncoder(a.out).Encode(struct {
					ID         string      `json:"id"`
					Name       string      `json:"name"`
					Issuers    []string    `json:"issuers"`
					SigningKey lock.NewKey `json:"signing_key"`
				}{out.ID, out.Name, out.Issuers, out.SigningKey})
			}
			a.table("FIELD\tVALUE", [][]string{
				{"id", out.ID}, {"name", out.Name}, {"issuers", strings.Join(out.Issuers, ",")},
				{"signing key id", out.SigningKey.ID}, {"signing key secret", out.SigningKey.Secret},
			})
			fmt.Fprintln(c.ErrOrStderr(), "The signing key secret is shown only now: give it to the application (it signs HS256 tokens with its base64-decoded value).")
			return nil
		})
	create.Flags().String("name", "", "application name")
	create.Flags().StringSlice("issuer", nil, "issuer URI its tokens carry as iss (repeatable)")
	create.Flags().String("unknown-account", "unlocked", "answer for accounts lockgate does not know: unlocked, locked or auto-enrol")
	create.Flags().String("default-state", "unlocked", "state of auto-enrolled accounts: locked or unlocked")
	create.Flags().String("locked-message", "", "message returned with a locked answer")

	list := adminCmd("list", "List applications", noArgs, nil, func(c *cobra.Command, a *adminCtx, _ []string) error {
		var out struct {
			Applications []lock.Application `json:"applications"`
		}
		if err := a.do("GET", "/api/v1/admin/applications", nil, &out); err != nil {
			return err
		}
		if a.json {
			return a.printJSON(out)
		}
		var rows [][]string
		for _, app := range out.Applications {
			rows = append(rows, []string{app.ID, app.Name, strings.Join(app.Issuers, ","), string(app.Settings.UnknownAccount)})
		}
		a.table("ID\tNAME\tISSUERS\tUNKNOWN ACCOUNTS", rows)
		return nil
	})

	get := adminCmd("get APP_ID", "Show an application and its keys", exactArgs(1), nil, func(c *cobra.Command, a *adminCtx, args []string) error {
		var app lock.Application
		if err := a.do("GET", "/api/v1/admin/applications/"+esc(args[0]), nil, &app); err != nil {
			return err
		}
		var keys struct {
			Keys []lock.KeyInfo `json:"keys"`
		}
		if err := a.do("GET", "/api/v1/admin/applications/"+esc(args[0])+"/keys", nil, &keys); err != nil {
			return err
		}
		if a.json {
			return a.printJSON(map[string]any{"application": app, "keys": keys.Keys})
		}
		rows := [][]string{{"id", app.ID}, {"name", app.Name}, {"issuers", strings.Join(app.Issuers, ",")},
			{"unknown accounts", string(app.Settings.UnknownAccount)}, {"default state", string(app.Settings.DefaultState)}, {"locked message", app.Settings.LockedMessage}}
		for _, k := range keys.Keys {
			st := "active"
			if k.RevokedAt != nil {
				st = "revoked " + k.RevokedAt.Format(time.RFC3339)
			}
			rows = append(rows, []string{"key " + k.ID, st})
		}
		a.table("FIELD\tVALUE", rows)
		return nil
	})

	rotate := adminCmd("rotate-key APP_ID", "Add a signing key (old keys stay valid until revoked)", exactArgs(1), nil, func(c *cobra.Command, a *adminCtx, args []string) error {
		var key lock.NewKey
		if err := a.do("POST", "/api/v1/admin/applications/"+esc(args[0])+"/keys", nil, &key); err != nil {
			return err
		}
		if a.json {
			return json.NewEncoder(a.out).Encode(key)
		}
		a.table("FIELD\tVALUE", [][]string{{"signing key id", key.ID}, {"signing key secret", key.Secret}})
		fmt.Fprintln(c.ErrOrStderr(), "The secret is shown only now. Revoke the old key with 'lockgate app revoke-key' once integrations use this one.")
		return nil
	})

	revoke := adminCmd("revoke-key APP_ID KEY_ID", "Revoke a signing key", exactArgs(2), nil, func(c *cobra.Command, a *adminCtx, args []string) error {
		if err := a.do("DELETE", "/api/v1/admin/applications/"+esc(args[0])+"/keys/"+esc(args[1]), nil, nil); err != nil {
			return err
		}
		fmt.Fprintf(a.out, "revoked %s\n", args[1])
		return nil
	})

	del := adminCmd("delete APP_ID", "Delete an application with its keys and accounts", exactArgs(1), nil, func(c *cobra.Command, a *adminCtx, args []string) error {
		if err := a.do("DELETE", "/api/v1/admin/applications/"+esc(args[0]), nil, nil); err != nil {
			return err
		}
		fmt.Fprintf(a.out, "deleted %s\n", args[0])
		return nil
	})
	c.AddCommand(create, list, get, rotate, revoke, del)
	return c
}

// --- account ---

func accountPath(c *cobra.Command, suffix string) string {
	return "/api/v1/admin/applications/" + esc(str(c, "app")) + "/accounts/" + esc(str(c, "user")) + suffix
}

func printStatuses(a *adminCtx, accs ...lock.AccountStatus) error {
	if a.json {
		if len(accs) == 1 {
			return a.printJSON(accs[0])
		}
		return a.printJSON(map[string]any{"accounts": accs})
	}
	var rows [][]string
	for _, s := range accs {
		until := ""
		if s.UnlockUntil != nil {
			until = s.UnlockUntil.Local().Format(time.RFC3339)
		}
		state := string(lock.StateUnlocked)
		if s.Locked {
			state = string(lock.StateLocked)
		}
		rows = append(rows, []string{s.AppID, s.Username, state, until, s.PersonID, s.ID})
	}
	a.table("APP\tUSER\tSTATE\tUNLOCKED UNTIL\tOWNER\tACCOUNT ID", rows)
	return nil
}

func newAccount() *cobra.Command {
	c := &cobra.Command{Use: "account", Short: "Lock, unlock and inspect accounts"}
	withAppUser := func(cmd *cobra.Command) *cobra.Command {
		cmd.Flags().String("app", "", "application ID")
		cmd.Flags().String("user", "", "username at the application")
		return cmd
	}
	setLock := func(lockIt bool) func(c *cobra.Command, a *adminCtx, _ []string) error {
		return func(c *cobra.Command, a *adminCtx, _ []string) error {
			in := map[string]string{"reason": str(c, "reason")}
			verb := "/lock"
			if !lockIt {
				verb = "/unlock"
				if d, _ := c.Flags().GetDuration("for"); d > 0 {
					in["for"] = d.String()
				} else if d < 0 {
					return usagef("--for must be positive")
				}
			}
			var st lock.AccountStatus
			if err := a.do("POST", accountPath(c, verb), in, &st); err != nil {
				return err
			}
			return printStatuses(a, st)
		}
	}
	lockCmd := withAppUser(adminCmd("lock", "Lock an account", noArgs, []string{"app", "user"}, setLock(true)))
	lockCmd.Flags().String("reason", "", "why, for the history")
	unlock := withAppUser(adminCmd("unlock", "Unlock an account, for good or --for a while", noArgs, []string{"app", "user"}, setLock(false)))
	unlock.Flags().Duration("for", 0, "unlock for this long, then relock by itself (e.g. 15m)")
	unlock.Flags().String("reason", "", "why, for the history")

	status := withAppUser(adminCmd("status", "Show an account's lock state", noArgs, []string{"app", "user"}, func(c *cobra.Command, a *adminCtx, _ []string) error {
		var st lock.AccountStatus
		if err := a.do("GET", accountPath(c, ""), nil, &st); err != nil {
			return err
		}
		return printStatuses(a, st)
	}))

	list := adminCmd("list", "List an application's accounts", noArgs, []string{"app"}, func(c *cobra.Command, a *adminCtx, _ []string) error {
		var out struct {
			Accounts []lock.AccountStatus `json:"accounts"`
		}
		if err := a.do("GET", "/api/v1/admin/applications/"+esc(str(c, "app"))+"/accounts", nil, &out); err != nil {
			return err
		}
		return printStatuses(a, out.Accounts...)
	})
	list.Flags().String("app", "", "application ID")

	history := withAppUser(adminCmd("history", "Show an account's lock history", noArgs, []string{"app", "user"}, func(c *cobra.Command, a *adminCtx, _ []string) error {
		var out struct {
			History []lock.LockChange `json:"history"`
		}
		if err := a.do("GET", accountPath(c, "/history"), nil, &out); err != nil {
			return err
		}
		if a.json {
			return a.printJSON(out)
		}
		var rows [][]string
		for _, h := range out.History {
			until := ""
			if h.UnlockUntil != nil {
				until = h.UnlockUntil.Local().Format(time.RFC3339)
			}
			rows = append(rows, []string{h.At.Local().Format(time.RFC3339), string(h.From), string(h.To), until, h.Actor, h.ActorIP, h.Reason})
		}
		a.table("TIME\tFROM\tTO\tUNTIL\tBY\tFROM IP\tREASON", rows)
		return nil
	}))

	assign := withAppUser(adminCmd("assign", "Make a person the owner of an account", noArgs, []string{"app", "user", "person"}, func(c *cobra.Command, a *adminCtx, _ []string) error {
		var st lock.AccountStatus
		if err := a.do("PUT", accountPath(c, "/owner"), map[string]string{"person_id": str(c, "person")}, &st); err != nil {
			return err
		}
		return printStatuses(a, st)
	}))
	assign.Flags().String("person", "", "person ID")
	c.AddCommand(lockCmd, unlock, status, list, history, assign)
	return c
}

// --- person ---

func newPerson() *cobra.Command {
	c := &cobra.Command{Use: "person", Short: "Manage account owners"}
	create := adminCmd("create", "Create a person", noArgs, []string{"name"}, func(c *cobra.Command, a *adminCtx, _ []string) error {
		var p lock.Person
		if err := a.do("POST", "/api/v1/admin/persons", map[string]string{"name": str(c, "name"), "email": str(c, "email")}, &p); err != nil {
			return err
		}
		if a.json {
			return a.printJSON(p)
		}
		a.table("ID\tNAME\tEMAIL", [][]string{{p.ID, p.Name, p.Email}})
		return nil
	})
	create.Flags().String("name", "", "name")
	create.Flags().String("email", "", "email")
	list := adminCmd("list", "List persons", noArgs, nil, func(c *cobra.Command, a *adminCtx, _ []string) error {
		var out struct {
			Persons []lock.Person `json:"persons"`
		}
		if err := a.do("GET", "/api/v1/admin/persons", nil, &out); err != nil {
			return err
		}
		if a.json {
			return a.printJSON(out)
		}
		var rows [][]string
		for _, p := range out.Persons {
			rows = append(rows, []string{p.ID, p.Name, p.Email})
		}
		a.table("ID\tNAME\tEMAIL", rows)
		return nil
	})
	token := adminCmd("token PERSON_ID", "Issue an owner-API token for a person (shown once)", exactArgs(1), nil, func(c *cobra.Command, a *adminCtx, args []string) error {
		var out struct {
			Token string `json:"token"`
		}
		if err := a.do("POST", "/api/v1/admin/persons/"+esc(args[0])+"/tokens", nil, &out); err != nil {
			return err
		}
		if a.json {
			return json.NewEncoder(a.out).Encode(out)
		}
		fmt.Fprintln(a.out, out.Token)
		return nil
	})
	all := func(lockIt bool) func(c *cobra.Command, a *adminCtx, args []string) error {
		return func(c *cobra.Command, a *adminCtx, args []string) error {
			in := map[string]string{}
			verb := "/lock"
			if !lockIt {
				verb = "/unlock"
				if d, _ := c.Flags().GetDuration("for"); d > 0 {
					in["for"] = d.String()
				}
			}
			var out struct {
				Accounts []lock.AccountStatus `json:"accounts"`
			}
			if err := a.do("POST", "/api/v1/admin/persons/"+esc(args[0])+verb, in, &out); err != nil {
				return err
			}
			return printStatuses(a, out.Accounts...)
		}
	}
	lockAll := adminCmd("lock PERSON_ID", "Lock every account of a person", exactArgs(1), nil, all(true))
	unlockAll := adminCmd("unlock PERSON_ID", "Unlock every account of a person", exactArgs(1), nil, all(false))
	unlockAll.Flags().Duration("for", 0, "unlock for this long, then relock by itself")
	c.AddCommand(create, list, token, lockAll, unlockAll)
	return c
}

// --- attempts ---

func newAttempts() *cobra.Command {
	c := &cobra.Command{Use: "attempts", Short: "Inspect recorded lock checks"}
	list := adminCmd("list", "List attempts, newest first", noArgs, nil, func(c *cobra.Command, a *adminCtx, _ []string) error {
		q := url.Values{}
		for _, f := range []string{"app", "user", "person", "since", "until", "before"} {
			if v := str(c, f); v != "" {
				q.Set(f, v)
			}
		}
		if n, _ := c.Flags().GetInt("limit"); n > 0 {
			q.Set("limit", fmt.Sprint(n))
		}
		var out struct {
			Attempts []lock.Attempt `json:"attempts"`
			Next     string         `json:"next"`
		}
		if err := a.do("GET", "/api/v1/admin/attempts?"+q.Encode(), nil, &out); err != nil {
			return err
		}
		if a.json {
			return a.printJSON(out)
		}
		var rows [][]string
		for _, at := range out.Attempts {
			rows = append(rows, []string{at.At.Local().Format(time.RFC3339), at.AppID, at.Username, fmt.Sprint(at.Locked), at.UserIP, at.UserLocation, at.IntegrationType, at.ID})
		}
		a.table("TIME\tAPP\tUSER\tLOCKED\tIP\tLOCATION\tTYPE\tID", rows)
		if out.Next != "" {
			fmt.Fprintf(c.ErrOrStderr(), "more: --before %s\n", out.Next)
		}
		return nil
	})
	for _, f := range []struct{ name, help string }{
		{"app", "application ID"}, {"user", "username"}, {"person", "person ID"},
		{"since", "from this RFC 3339 time"}, {"until", "before this RFC 3339 time"}, {"before", "continue after this attempt ID"},
	} {
		list.Flags().String(f.name, "", f.help)
	}
	list.Flags().Int("limit", 0, "at most this many (1..1000, default 100)")
	c.AddCommand(list)
	return c
}

// --- webhook ---

func newWebhook() *cobra.Command {
	c := &cobra.Command{Use: "webhook", Short: "Manage event webhooks of applications and persons"}
	owner := func(c *cobra.Command) (string, error) {
		app, person := str(c, "app"), str(c, "person")
		switch {
		case (app == "") == (person == ""):
			return "", usagef("give exactly one of --app or --person")
		case app != "":
			return "/api/v1/admin/applications/" + esc(app) + "/webhooks", nil
		}
		return "/api/v1/admin/persons/" + esc(person) + "/webhooks", nil
	}
	add := adminCmd("add", "Send an application's or person's events to a URL (the signing secret is shown once)", noArgs, []string{"url"}, func(c *cobra.Command, a *adminCtx, _ []string) error {
		path, err := owner(c)
		if err != nil {
			return err
		}
		var out map[string]any
		if err := a.do("POST", path, map[string]string{"url": str(c, "url")}, &out); err != nil {
			return err
		}
		if a.json {
			return json.NewEncoder(a.out).Encode(out)
		}
		a.table("FIELD\tVALUE", [][]string{{"id", fmt.Sprint(out["id"])}, {"url", fmt.Sprint(out["url"])}, {"secret", fmt.Sprint(out["secret"])}})
		return nil
	})
	list := adminCmd("list", "List webhooks", noArgs, nil, func(c *cobra.Command, a *adminCtx, _ []string) error {
		path, err := owner(c)
		if err != nil {
			return err
		}
		var out struct {
			Webhooks []lock.Webhook `json:"webhooks"`
		}
		if err := a.do("GET", path, nil, &out); err != nil {
			return err
		}
		if a.json {
			return a.printJSON(out)
		}
		var rows [][]string
		for _, w := range out.Webhooks {
			rows = append(rows, []string{w.ID, w.URL})
		}
		a.table("ID\tURL", rows)
		return nil
	})
	for _, cmd := range []*cobra.Command{add, list} {
		cmd.Flags().String("app", "", "application ID")
		cmd.Flags().String("person", "", "person ID")
	}
	add.Flags().String("url", "", "http(s) URL that receives events")
	del := adminCmd("delete WEBHOOK_ID", "Delete a webhook", exactArgs(1), nil, func(c *cobra.Command, a *adminCtx, args []string) error {
		if err := a.do("DELETE", "/api/v1/admin/webhooks/"+esc(args[0]), nil, nil); err != nil {
			return err
		}
		fmt.Fprintf(a.out, "deleted %s\n", args[0])
		return nil
	})
	c.AddCommand(add, list, del)
	return c
}
