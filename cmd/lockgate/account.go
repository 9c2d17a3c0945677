package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/lockgate/lockgate/internal/apiclient"
	"github.com/lockgate/lockgate/internal/lock"
)

func newAccount() *cobra.Command {
	c := group("account", "Lock, unlock and inspect accounts")
	setLock := func(lockIt bool) func(k *call, args []string) error {
		return func(k *call, args []string) error {
			app, user, err := appUser(k.cmd, args)
			if err != nil {
				return err
			}
			st, err := k.client.SetLock(k.ctx, app, user, lockIt, apiclient.LockChange{For: forValue(k.cmd), Reason: str(k.cmd, "reason")})
			if err != nil {
				return err
			}
			return printStatus(k, st)
		}
	}
	lockCmd := appUserCmd(&cobra.Command{Use: "lock APP USER", Short: "Lock an account", Example: `  lockgate account lock "$APP_ID" alice --reason "phone stolen"`}, setLock(true))
	lockCmd.Flags().String("reason", "", "why, for the history")
	unlock := appUserCmd(&cobra.Command{Use: "unlock APP USER", Short: "Unlock an account, for good or --for a while", Example: `  lockgate account unlock "$APP_ID" alice --for 15m`}, setLock(false))
	unlock.Flags().String("reason", "", "why, for the history")
	forFlag(unlock)

	status := appUserCmd(&cobra.Command{Use: "status APP USER", Short: "Show an account's lock state", Example: `  lockgate account status "$APP_ID" alice -o json`},
		func(k *call, args []string) error {
			app, user, err := appUser(k.cmd, args)
			if err != nil {
				return err
			}
			st, err := k.client.Account(k.ctx, app, user)
			if err != nil {
				return err
			}
			return printStatus(k, st)
		})

	list := adminCmd(&cobra.Command{Use: "list APP", Short: "List an application's accounts", Example: `  lockgate account list "$APP_ID" -o json | jq '.items | length'`, Args: rangeArgs(0, 1)},
		func(k *call, args []string) error {
			app, err := positionalOrFlag(k.cmd, args, 0, "app")
			if err != nil {
				return err
			}
			accs, err := k.client.Accounts(k.ctx, app)
			if err != nil {
				return err
			}
			return printStatuses(k, accs)
		})
	deprecatedFlag(list, "app", "application ID")

	history := appUserCmd(&cobra.Command{Use: "history APP USER", Short: "Show an account's lock history", Example: `  lockgate account history "$APP_ID" alice`},
		func(k *call, args []string) error {
			app, user, err := appUser(k.cmd, args)
			if err != nil {
				return err
			}
			hist, err := k.client.History(k.ctx, app, user)
			if err != nil {
				return err
			}
			return printHistory(k, hist)
		})

	events := appUserCmd(&cobra.Command{Use: "events APP USER", Short: "Show what integrations reported about an account (e.g. the IAM responder's actions)", Example: `  lockgate account events "$APP_ID" alice`},
		func(k *call, args []string) error {
			app, user, err := appUser(k.cmd, args)
			if err != nil {
				return err
			}
			evs, err := k.client.AccountEvents(k.ctx, app, user)
			if err != nil {
				return err
			}
			return k.print.list(evs, func(t *table) {
				t.head("TIME", "SOURCE", "DETAIL")
				for _, e := range evs {
					t.row(e.At.Local().Format(time.RFC3339), e.Source, string(e.Detail))
				}
			})
		})

	assign := appUserCmd(&cobra.Command{Use: "assign APP USER --person PERSON", Short: "Make a person the owner of an account", Example: `  lockgate account assign "$APP_ID" alice --person per_01J…`},
		func(k *call, args []string) error {
			app, user, err := appUser(k.cmd, args)
			if err != nil {
				return err
			}
			if err := requireFlags(k.cmd, "person"); err != nil {
				return err
			}
			st, err := k.client.SetOwner(k.ctx, app, user, str(k.cmd, "person"))
			if err != nil {
				return err
			}
			return printStatus(k, st)
		})
	assign.Flags().String("person", "", "person ID")

	del := appUserCmd(&cobra.Command{Use: "delete APP USER", Short: "Delete an account (a locked one only with --force)",
		Long: "Delete an account, e.g. one of two that caseless matching would make one. Its history, attempts and\n" +
			"integration events stay. Deleting frees the name: the next check of it answers as for an unknown\n" +
			"account (the application's unknown_account), so a locked account is refused unless --force.",
		Example: `  lockgate account delete "$APP_ID" Alice`},
		func(k *call, args []string) error {
			app, user, err := appUser(k.cmd, args)
			if err != nil {
				return err
			}
			force, _ := k.cmd.Flags().GetBool("force")
			// The name as stored, not as typed ("ALICE" finds "alice" at a
			// caseless application): what is printed is what was deleted,
			// and the delete goes by that name, so an account renamed
			// meanwhile is not found rather than another one deleted.
			st, err := k.client.Account(k.ctx, app, user)
			if err != nil {
				return err
			}
			if err := k.client.DeleteAccount(k.ctx, app, st.Username, force); err != nil {
				return err
			}
			d := done{"deleted", "account", st.Username}
			return k.print.object(d, d.table)
		})
	del.Flags().Bool("force", false, "delete it even if it is locked (its name then answers as unknown)")

	rename := appUserCmd(&cobra.Command{Use: "rename APP USER NEW", Short: "Rename an account (refused onto another account's name)",
		Long: "Give an account another name, keeping its state, owner and history. Refused when another account of\n" +
			"the application has the new name under its username matching. Renaming frees the old name, so a\n" +
			"locked account is refused unless --force.",
		Example: `  lockgate account rename "$APP_ID" Alice alice.old`},
		func(k *call, args []string) error {
			if len(args) != 3 {
				return usagef("rename takes APP USER NEW (the account's application, its name, and the new name)")
			}
			force, _ := k.cmd.Flags().GetBool("force")
			st, err := k.client.RenameAccount(k.ctx, args[0], args[1], args[2], force)
			if err != nil {
				return err
			}
			return printStatus(k, st)
		})
	rename.Args = rangeArgs(0, 3)
	rename.Flags().Bool("force", false, "rename it even if it is locked (its old name then answers as unknown)")
	c.AddCommand(lockCmd, unlock, status, list, history, events, assign, del, rename)
	return c
}

// appUserCmd is an admin command on one account: APP USER as arguments
// (the --app and --user flags of earlier versions still work, with a
// warning).
func appUserCmd(cmd *cobra.Command, run func(k *call, args []string) error) *cobra.Command {
	cmd.Args = rangeArgs(0, 2)
	c := adminCmd(cmd, run)
	deprecatedFlag(c, "app", "application ID")
	deprecatedFlag(c, "user", "username at the application")
	return c
}

// deprecatedFlag keeps a flag of an earlier version working, hidden from
// help, with a warning pointing at the argument that replaces it.
func deprecatedFlag(c *cobra.Command, name, usage string) {
	c.Flags().String(name, "", usage)
	c.Flags().MarkDeprecated(name, "give it as an argument instead")
}

func appUser(c *cobra.Command, args []string) (app, user string, err error) {
	if app, err = positionalOrFlag(c, args, 0, "app"); err != nil {
		return
	}
	user, err = positionalOrFlag(c, args, 1, "user")
	return
}

// positionalOrFlag is argument i, or the deprecated flag of that name.
func positionalOrFlag(c *cobra.Command, args []string, i int, flag string) (string, error) {
	if i < len(args) {
		if str(c, flag) != "" {
			return "", usagef("give the %s as an argument or with --%s, not both", flag, flag)
		}
		return args[i], nil
	}
	if v := str(c, flag); v != "" {
		return v, nil
	}
	return "", usagef("missing %s", map[string]string{"app": "APP (an application ID)", "user": "USER (a username)"}[flag])
}

func printStatus(k *call, s lock.AccountStatus) error {
	return k.print.object(s, func(t *table) { statusTable(t, []lock.AccountStatus{s}) })
}

func printStatuses(k *call, accs []lock.AccountStatus) error {
	return k.print.list(accs, func(t *table) { statusTable(t, accs) })
}

func statusTable(t *table, accs []lock.AccountStatus) {
	t.head("APP", "USER", "STATE", "UNLOCKED UNTIL", "OWNER", "ACCOUNT ID")
	for _, s := range accs {
		until := ""
		if s.UnlockUntil != nil {
			until = s.UnlockUntil.Local().Format(time.RFC3339)
		}
		state := string(lock.StateUnlocked)
		if s.Locked {
			state = string(lock.StateLocked)
		}
		t.row(s.AppID, s.Username, state, until, s.PersonID, s.ID)
	}
}

func printHistory(k *call, hist []lock.LockChange) error {
	return k.print.list(hist, func(t *table) {
		t.head("TIME", "FROM", "TO", "UNTIL", "BY", "FROM IP", "REASON")
		for _, h := range hist {
			until := ""
			if h.UnlockUntil != nil {
				until = h.UnlockUntil.Local().Format(time.RFC3339)
			}
			t.row(h.At.Local().Format(time.RFC3339), string(h.From), string(h.To), until, h.Actor, h.ActorIP, h.Reason)
		}
	})
}
