package main

import (
	"github.com/spf13/cobra"

	"github.com/lockgate/lockgate/internal/apiclient"
	"github.com/lockgate/lockgate/internal/lock"
)

func newPerson() *cobra.Command {
	c := group("person", "Manage account owners")
	create := adminCmd(&cobra.Command{Use: "create --name NAME", Short: "Create a person", Example: `  lockgate person create --name "Alice Example" --email alice@example.com`, Args: noArgs},
		func(k *call, _ []string) error {
			if err := requireFlags(k.cmd, "name"); err != nil {
				return err
			}
			p, err := k.client.CreatePerson(k.ctx, str(k.cmd, "name"), str(k.cmd, "email"))
			if err != nil {
				return err
			}
			return printPerson(k, p)
		})
	create.Flags().String("name", "", "name")
	create.Flags().String("email", "", "email")

	list := adminCmd(&cobra.Command{Use: "list", Short: "List persons", Example: `  lockgate person list -o json | jq -r '.items[].id'`, Args: noArgs}, func(k *call, _ []string) error {
		ps, err := k.client.Persons(k.ctx)
		if err != nil {
			return err
		}
		return k.print.list(ps, func(t *table) {
			t.head("ID", "NAME", "EMAIL")
			for _, p := range ps {
				t.row(p.ID, p.Name, p.Email)
			}
		})
	})
	get := adminCmd(&cobra.Command{Use: "get PERSON", Short: "Show a person", Example: `  lockgate person get per_01J…`, Args: exactArgs(1)}, func(k *call, args []string) error {
		p, err := k.client.Person(k.ctx, args[0])
		if err != nil {
			return err
		}
		return printPerson(k, p)
	})
	accounts := adminCmd(&cobra.Command{Use: "accounts PERSON", Short: "List the accounts a person owns", Example: `  lockgate person accounts per_01J… -o json`, Args: exactArgs(1)}, func(k *call, args []string) error {
		accs, err := k.client.PersonAccounts(k.ctx, args[0])
		if err != nil {
			return err
		}
		return printStatuses(k, accs)
	})
	del := adminCmd(&cobra.Command{Use: "delete PERSON", Short: "Delete a person (their accounts keep their state and lose their owner)", Example: `  lockgate person delete per_01J…`, Args: exactArgs(1)}, func(k *call, args []string) error {
		if err := k.client.DeletePerson(k.ctx, args[0]); err != nil {
			return err
		}
		d := done{"deleted", "person", args[0]}
		return k.print.object(d, d.table)
	})
	token := adminCmd(&cobra.Command{Use: "token PERSON", Short: "Issue an owner-API token for a person (shown once)", Example: "  LOCKGATE_OWNER_TOKEN=$(lockgate person token per_01J… -o json | jq -r .token)", Args: exactArgs(1)},
		func(k *call, args []string) error {
			tok, err := k.client.PersonToken(k.ctx, args[0])
			if err != nil {
				return err
			}
			return k.print.object(map[string]string{"token": tok}, func(t *table) { t.row(tok) })
		})
	all := func(lockIt bool) func(k *call, args []string) error {
		return func(k *call, args []string) error {
			accs, err := k.client.SetPersonLock(k.ctx, args[0], lockIt, apiclient.LockChange{For: forValue(k.cmd)})
			if err != nil {
				return err
			}
			return printStatuses(k, accs)
		}
	}
	lockAll := adminCmd(&cobra.Command{Use: "lock PERSON", Short: "Lock every account of a person", Example: `  lockgate person lock per_01J…`, Args: exactArgs(1)}, all(true))
	unlockAll := adminCmd(&cobra.Command{Use: "unlock PERSON", Short: "Unlock every account of a person", Example: "  lockgate person unlock per_01J… --for 15m", Args: exactArgs(1)}, all(false))
	forFlag(unlockAll)
	c.AddCommand(create, list, get, accounts, del, token, lockAll, unlockAll, newEnrolLink())
	return c
}

func printPerson(k *call, p lock.Person) error {
	return k.print.object(p, func(t *table) {
		t.head("ID", "NAME", "EMAIL")
		t.row(p.ID, p.Name, p.Email)
	})
}
