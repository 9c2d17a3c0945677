package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/lockgate/lockgate/internal/apiclient"
	"github.com/lockgate/lockgate/internal/lock"
)

// newMeGeofence is `lockgate me geofence`: where the person's sign-ins may
// come from. A lock check whose userIP is outside the fence answers
// locked.
func newMeGeofence() *cobra.Command {
	c := group("geofence", "The countries (and regions) your sign-ins may come from")
	target := func(k *call) apiclient.FenceTarget { return apiclient.FenceTarget{MyAccount: str(k.cmd, "account")} }
	get := clientCmd(ownerToken, &cobra.Command{Use: "get", Short: "Show your geo-fence (or one account's, --account)", Args: noArgs,
		Example: "  lockgate me geofence get -o json"}, func(k *call, _ []string) error {
		f, err := k.client.GeoFence(k.ctx, target(k))
		if err != nil {
			return err
		}
		return printFence(k, f)
	})
	set := clientCmd(ownerToken, &cobra.Command{Use: "set", Short: "Allow sign-ins only from these countries and regions (replaces the fence)", Args: noArgs,
		Long: `Set your geo-fence: a lock check of your accounts whose address is placed outside
the countries (ISO 3166-1 alpha-2) and regions (ISO 3166-2, needs a City
database on the server) answers locked, with --message. An address that
cannot be placed is outside. --account fences one account only; your fence and
an account's both apply.`,
		Example: `  lockgate me geofence set --country US --country CA
  lockgate me geofence set --country GB --region IE-D --message "Sign in from the office or call the help desk"
  lockgate me geofence set --account acc_01J… --region US-CA`}, func(k *call, _ []string) error {
		countries, _ := k.cmd.Flags().GetStringSlice("country")
		regions, _ := k.cmd.Flags().GetStringSlice("region")
		if len(countries) == 0 && len(regions) == 0 {
			return usagef("give --country or --region (to remove the fence: lockgate me geofence clear)")
		}
		f, err := k.client.SetGeoFence(k.ctx, target(k), lock.GeoFenceInput{Countries: countries, Regions: regions, Message: str(k.cmd, "message")})
		if err != nil {
			return err
		}
		return printFence(k, f)
	})
	set.Flags().StringSlice("country", nil, "an allowed country (repeatable, or comma-separated)")
	set.Flags().StringSlice("region", nil, "an allowed region, ISO 3166-2 (repeatable, or comma-separated)")
	set.Flags().String("message", "", "what a fenced-out sign-in is told (default: the application's locked message)")
	clear := clientCmd(ownerToken, &cobra.Command{Use: "clear", Short: "Remove your geo-fence (or one account's, --account)", Args: noArgs,
		Example: "  lockgate me geofence clear"}, func(k *call, _ []string) error {
		if err := k.client.DeleteGeoFence(k.ctx, target(k)); err != nil {
			return err
		}
		k.notice("geo-fence removed")
		return nil
	})
	for _, cmd := range []*cobra.Command{get, set, clear} {
		cmd.Flags().String("account", "", "one of your accounts (by ID) instead of all of them")
	}
	c.AddCommand(get, set, clear)
	return c
}

func printFence(k *call, f lock.GeoFence) error {
	return k.print.object(f, func(t *table) {
		t.head("OWNER", "COUNTRIES", "REGIONS", "MESSAGE", "UPDATED")
		t.row(f.OwnerKind+" "+f.OwnerID, dash(strings.Join(f.Countries, ",")), dash(strings.Join(f.Regions, ",")), dash(f.Message), f.UpdatedAt.Format("2006-01-02 15:04:05Z"))
	})
}
