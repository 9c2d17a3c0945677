package main

import (
	"fmt"
	"sort"

	"github.com/spf13/cobra"
)

// newGatewayCmd manages a running gateway through the admin API.
func newGatewayCmd() *cobra.Command {
	c := group("gateway", "Inspect and reload a running WAF gateway")
	status := adminCmd(&cobra.Command{Use: "status", Short: "Show the running gateway's routes and when its configuration loaded", Example: `  lockgate gateway status -o yaml`, Args: noArgs}, func(k *call, _ []string) error {
		st, err := k.client.GatewayConfig(k.ctx)
		if err != nil {
			return err
		}
		return k.print.object(st, func(t *table) {
			t.head("FIELD", "VALUE")
			for _, key := range []string{"listen", "loaded_at", "client_ip_header", "trusted_proxies"} {
				t.row(key, fmt.Sprint(st[key]))
			}
			routes, _ := st["routes"].([]any)
			for _, r := range routes {
				m, _ := r.(map[string]any)
				t.row("route "+fmt.Sprint(m["name"]), fmt.Sprintf("host=%v prefix=%v web_acl=%v rules=%v upstreams=%v", m["host"], m["path_prefix"], m["web_acl"], m["rules"], m["upstreams"]))
			}
		})
	})
	limited := adminCmd(&cobra.Command{Use: "limited", Short: "List the keys rate-based rules are limiting now", Example: `  lockgate gateway limited -o json`, Args: noArgs}, func(k *call, _ []string) error {
		out, err := k.client.GatewayLimited(k.ctx)
		if err != nil {
			return err
		}
		type row struct {
			WebACL string `json:"web_acl"`
			Rule   string `json:"rule"`
			Key    string `json:"key"`
			Count  int64  `json:"count"`
		}
		var rows []row
		for acl, rules := range out {
			for rule, keys := range rules {
				for _, key := range keys {
					rows = append(rows, row{acl, rule, key.Key, key.Count})
				}
			}
		}
		sort.Slice(rows, func(i, j int) bool {
			if rows[i].WebACL != rows[j].WebACL {
				return rows[i].WebACL < rows[j].WebACL
			}
			if rows[i].Rule != rows[j].Rule {
				return rows[i].Rule < rows[j].Rule
			}
			return rows[i].Count > rows[j].Count
		})
		return k.print.list(rows, func(t *table) {
			t.head("WEB ACL", "RULE", "KEY", "COUNT")
			for _, r := range rows {
				t.row(r.WebACL, r.Rule, r.Key, fmt.Sprint(r.Count))
			}
		})
	})
	reload := adminCmd(&cobra.Command{Use: "reload", Short: "Make the gateway read its configuration and web ACLs again (as SIGHUP does)", Example: `  lockgate gateway reload`, Args: noArgs}, func(k *call, _ []string) error {
		if err := k.client.GatewayReload(k.ctx); err != nil {
			return err
		}
		d := done{"reloaded", "gateway", ""}
		return k.print.object(d, func(t *table) { t.row("reloaded") })
	})
	c.AddCommand(status, limited, reload)
	return c
}
