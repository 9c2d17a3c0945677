package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/lockgate/lockgate/internal/apiclient"
)

func newAttempts() *cobra.Command {
	c := group("attempts", "Inspect recorded lock checks")
	list := adminCmd(&cobra.Command{Use: "list", Short: "List attempts, newest first", Example: `  lockgate attempts list --app "$APP_ID" --user alice --since 2026-11-01T00:00:00Z`, Args: noArgs},
		func(k *call, _ []string) error {
			page, err := k.client.Attempts(k.ctx, attemptQuery(k.cmd))
			if err != nil {
				return err
			}
			return printAttempts(k, page)
		})
	attemptFlags(list)
	list.Flags().String("app", "", "application ID")
	list.Flags().String("user", "", "username")
	list.Flags().String("person", "", "person ID")
	c.AddCommand(list)
	return c
}

func attemptFlags(c *cobra.Command) {
	c.Flags().String("since", "", "from this RFC 3339 time")
	c.Flags().String("until", "", "before this RFC 3339 time")
	c.Flags().String("before", "", "continue after this attempt ID (the next page)")
	c.Flags().Int("limit", 0, "at most this many (1..1000, default 100)")
}

func attemptQuery(c *cobra.Command) apiclient.AttemptQuery {
	n, _ := c.Flags().GetInt("limit")
	return apiclient.AttemptQuery{App: str(c, "app"), User: str(c, "user"), Person: str(c, "person"),
		Since: str(c, "since"), Until: str(c, "until"), Before: str(c, "before"), Limit: n}
}

// printAttempts prints a page; its JSON is {"items": [...], "next": ID}
// ("next" only when there is a next page).
func printAttempts(k *call, page apiclient.AttemptsPage) error {
	extra := map[string]any{}
	if page.Next != "" {
		extra["next"] = page.Next
	}
	err := k.print.object(listOf(page.Attempts, extra), func(t *table) {
		t.head("TIME", "APP", "USER", "LOCKED", "IP", "LOCATION", "DEVICE", "TYPE", "ID")
		for _, at := range page.Attempts {
			t.row(at.At.Local().Format(time.RFC3339), at.AppID, at.Username, fmt.Sprint(at.Locked), at.UserIP, at.UserLocation, at.UserDevice, at.IntegrationType, at.ID)
		}
	})
	if page.Next != "" {
		k.notice("more: --before %s", page.Next)
	}
	return err
}

func newWebhook() *cobra.Command {
	c := group("webhook", "Manage event webhooks of applications and persons")
	owner := func(c *cobra.Command) (apiclient.WebhookOwner, error) {
		app, person := str(c, "app"), str(c, "person")
		switch {
		case (app == "") == (person == ""):
			return apiclient.WebhookOwner{}, usagef("give exactly one of --app or --person")
		case app != "":
			return apiclient.WebhookOwner{Kind: "application", ID: app}, nil
		}
		return apiclient.WebhookOwner{Kind: "person", ID: person}, nil
	}
	add := adminCmd(&cobra.Command{Use: "add URL (--app APP | --person PERSON)", Short: "Send an application's or person's events to a URL (the signing secret is shown once)",
		Example: `  lockgate webhook add https://hooks.example.com/lockgate --app "$APP_ID"`, Args: rangeArgs(0, 1)},
		func(k *call, args []string) error {
			o, err := owner(k.cmd)
			if err != nil {
				return err
			}
			u, err := positionalOrFlag(k.cmd, args, 0, "url")
			if err != nil {
				return err
			}
			w, err := k.client.AddWebhook(k.ctx, o, u)
			if err != nil {
				return err
			}
			err = k.print.object(w, func(t *table) {
				t.head("FIELD", "VALUE")
				t.row("id", w.ID)
				t.row("url", w.URL)
				t.row("secret", w.Secret)
			})
			k.notice("The secret is shown only now: the receiver verifies X-Lockgate-Signature with it (docs/api.md).")
			return err
		})
	deprecatedFlag(add, "url", "URL that receives events")
	list := adminCmd(&cobra.Command{Use: "list (--app APP | --person PERSON)", Short: "List webhooks", Example: `  lockgate webhook list --app "$APP_ID" -o json`, Args: noArgs}, func(k *call, _ []string) error {
		o, err := owner(k.cmd)
		if err != nil {
			return err
		}
		ws, err := k.client.Webhooks(k.ctx, o)
		if err != nil {
			return err
		}
		return k.print.list(ws, func(t *table) {
			t.head("ID", "URL", "CREATED")
			for _, w := range ws {
				t.row(w.ID, w.URL, w.CreatedAt.Local().Format(time.RFC3339))
			}
		})
	})
	for _, cmd := range []*cobra.Command{add, list} {
		cmd.Flags().String("app", "", "application ID")
		cmd.Flags().String("person", "", "person ID")
	}
	del := adminCmd(&cobra.Command{Use: "delete WEBHOOK", Short: "Delete a webhook", Example: `  lockgate webhook delete whk_01J…`, Args: exactArgs(1)}, func(k *call, args []string) error {
		if err := k.client.DeleteWebhook(k.ctx, args[0]); err != nil {
			return err
		}
		d := done{"deleted", "webhook", args[0]}
		return k.print.object(d, d.table)
	})
	c.AddCommand(add, list, del)
	return c
}
