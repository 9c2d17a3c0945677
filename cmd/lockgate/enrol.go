package main

import (
	"time"

	"github.com/spf13/cobra"
)

// newEnrolLink is `lockgate person enrol-link PERSON`: a one-time link the
// person opens to set up their portal sign-in (a passkey, or a password
// and an authenticator app). The link is shown once; sending it again
// means issuing a new one. Issuing one for a person who can already sign
// in is how their sign-in is reset: finishing it signs out their other
// sessions.
func newEnrolLink() *cobra.Command {
	return adminCmd(&cobra.Command{
		Use:   "enrol-link PERSON",
		Short: "Issue a one-time link for a person to set up their portal sign-in (shown once)",
		Example: "  lockgate person enrol-link per_01J…\n" +
			"  lockgate person enrol-link per_01J… -o json | jq -r .url",
		Args: exactArgs(1),
	}, func(k *call, args []string) error {
		l, err := k.client.CreateEnrolLink(k.ctx, args[0])
		if err != nil {
			return err
		}
		k.notice("Send this link to the person by a channel you trust; it works once, until %s.", l.ExpiresAt.UTC().Format(time.RFC3339))
		return k.print.object(l, func(t *table) {
			t.head("URL", "EXPIRES")
			t.row(l.URL, l.ExpiresAt.UTC().Format(time.RFC3339))
		})
	})
}
