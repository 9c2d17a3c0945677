package main

import (
	"net/netip"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lockgate/lockgate/internal/config"
	"github.com/lockgate/lockgate/internal/geo"
)

func newGeo() *cobra.Command {
	c := group("geo", "Look IP addresses up in lockgate's geolocation database")
	c.AddCommand(newGeoLookup())
	return c
}

// geoRow is one address looked up.
type geoRow struct {
	IP      string `json:"ip"`
	Country string `json:"country"`
	Region  string `json:"region"`
	City    string `json:"city"`
	Source  string `json:"source"`
	Error   string `json:"error,omitempty"`
}

func newGeoLookup() *cobra.Command {
	c := &cobra.Command{
		Use:   "lookup IP...",
		Short: "Print the country, region (ISO 3166-2) and city of IP addresses",
		Long: `Look addresses up as lockgate serve does: in the geo section's database
(--config), or the MaxMind-format file --database names, or the embedded
IP2Location LITE country data. Regions and cities come from City databases.
The output is a list: {"items": [{"ip","country","region","city","source"}]}
with -o json. Exit 1 if the database could not answer for an address.`,
		Example: `  lockgate geo lookup 8.8.8.8 2001:4860:4860::8888
  lockgate geo lookup --database GeoLite2-City.mmdb 81.2.69.142 -o json`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("geo lookup takes one or more IP addresses")
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			p, err := newPrinter(c)
			if err != nil {
				return err
			}
			var ips []netip.Addr
			for _, a := range args {
				ip, err := netip.ParseAddr(strings.TrimSpace(a))
				if err != nil {
					return usagef("%q is not an IP address", a)
				}
				ips = append(ips, ip)
			}
			db, err := openGeo(c)
			if err != nil {
				return err
			}
			failed := false
			rows := make([]geoRow, 0, len(ips))
			for _, ip := range ips {
				r := geoRow{IP: ip.String(), Source: db.Source()}
				loc, err := db.Lookup(ip)
				if err != nil {
					r.Error, failed = err.Error(), true
				}
				r.Country, r.Region, r.City = loc.Country, loc.Region, loc.City
				rows = append(rows, r)
			}
			err = p.list(rows, func(t *table) {
				t.head("IP", "COUNTRY", "REGION", "CITY", "SOURCE")
				for _, r := range rows {
					src := r.Source
					if r.Error != "" {
						src = "error: " + r.Error
					}
					t.row(r.IP, dash(r.Country), dash(r.Region), dash(r.City), src)
				}
			})
			if err == nil && failed {
				return exitError{exitFailure}
			}
			return err
		},
	}
	c.Flags().String("database", "", "a MaxMind-format database file (GeoLite2/GeoIP2 Country or City, DB-IP lite)")
	outputFlag(c)
	return c
}

// openGeo opens the database --database names, else the configuration's
// geo section (--config and LOCKGATE_GEO_DATABASE_FILE), else the embedded
// data.
func openGeo(c *cobra.Command) (*geo.DB, error) {
	if f, _ := c.Flags().GetString("database"); f != "" {
		return geo.Open(geo.Config{DatabaseFile: config.Path(f)}, nil)
	}
	cfg, src, err := loadConfig(c)
	if err != nil {
		return nil, err
	}
	db, probs := geo.Provision(cfg.Geo, nil)
	if len(probs) > 0 {
		for i := range probs {
			probs[i].Path = "geo." + probs[i].Path
		}
		return nil, src.Locate(probs).Err()
	}
	return db, nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
