package main

import (
	"encoding/json"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/lockgate/lockgate/internal/authz"
	"github.com/lockgate/lockgate/problem"
)

// newAuthz manages the group → IAM policy mappings of a running lockgate
// (the authz section's store, or its DynamoDB table).
func newAuthz() *cobra.Command {
	c := group("authz", "Manage the IAM policies mapped to identity-provider groups")
	g := group("group", "Set, show, list and delete group policies")

	set := adminCmd(&cobra.Command{
		Use:   "set GROUP --policy FILE",
		Short: "Map a group to an IAM policy document (checked before it is stored)",
		Example: `  lockgate authz group set pet-veterinarian --policy petstore.json
  lockgate authz group set readers --policy - < readers.json`,
		Args: exactArgs(1),
	}, func(k *call, args []string) error {
		file := str(k.cmd, "policy")
		if file == "" {
			return usagef("--policy FILE is required (- reads standard input)")
		}
		if err := authz.CheckGroupName(args[0]); err != nil {
			return usagef("%v", err)
		}
		var data []byte
		var err error
		if file == "-" {
			data, err = readAllStdin(k.cmd)
		} else {
			data, err = os.ReadFile(file)
		}
		if err != nil {
			return err
		}
		// Checked here first, so mistakes are named with the file.
		if _, err := authz.CompilePolicy(data); err != nil {
			var l problem.List
			l.Append("", err)
			return l.InFile(file)
		}
		p, err := k.client.SetGroupPolicy(k.ctx, args[0], data)
		if err != nil {
			return err
		}
		return k.print.object(p, groupTable(p))
	})
	set.Flags().String("policy", "", "IAM policy document (JSON file, - for standard input)")

	get := adminCmd(&cobra.Command{
		Use:     "get GROUP",
		Short:   "Show a group's policy",
		Example: "  lockgate authz group get pet-veterinarian -o json | jq .policy",
		Args:    exactArgs(1),
	}, func(k *call, args []string) error {
		p, err := k.client.GroupPolicy(k.ctx, args[0])
		if err != nil {
			return err
		}
		return k.print.object(p, groupTable(p))
	})

	list := adminCmd(&cobra.Command{
		Use:     "list",
		Short:   "List the groups that have a policy",
		Example: "  lockgate authz group list -o json | jq -r '.items[].group'",
		Args:    noArgs,
	}, func(k *call, _ []string) error {
		items, source, err := k.client.GroupPolicies(k.ctx)
		if err != nil {
			return err
		}
		k.notice("group policies from: %s", source)
		return k.print.list(items, func(t *table) {
			t.head("GROUP", "STATEMENTS", "UPDATED")
			for _, p := range items {
				t.row(p.Group, statements(p.Policy), updated(p.UpdatedAt))
			}
		})
	})

	del := adminCmd(&cobra.Command{
		Use:     "delete GROUP",
		Short:   "Remove a group's policy (its members lose what it allowed, and what it denied)",
		Example: "  lockgate authz group delete pet-veterinarian",
		Args:    exactArgs(1),
	}, func(k *call, args []string) error {
		if err := k.client.DeleteGroupPolicy(k.ctx, args[0]); err != nil {
			return err
		}
		d := done{"deleted", "group", args[0]}
		return k.print.object(d, d.table)
	})
	g.AddCommand(set, get, list, del)
	c.AddCommand(g)
	return c
}

func groupTable(p authz.GroupPolicy) func(*table) {
	return func(t *table) {
		t.head("FIELD", "VALUE")
		t.row("group", p.Group)
		t.row("statements", statements(p.Policy))
		t.row("updated", updated(p.UpdatedAt))
		t.row("policy", string(p.Policy))
	}
}

// statements counts a policy document's statements for tables.
func statements(doc json.RawMessage) string {
	var d struct {
		Statement json.RawMessage `json:"Statement"`
	}
	if json.Unmarshal(doc, &d) != nil {
		return "?"
	}
	var list []json.RawMessage
	if json.Unmarshal(d.Statement, &list) == nil {
		return strconv.Itoa(len(list))
	}
	return "1"
}

func updated(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func readAllStdin(c *cobra.Command) ([]byte, error) { return io.ReadAll(c.InOrStdin()) }
