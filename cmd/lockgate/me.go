package main

import (
	"github.com/spf13/cobra"

	"github.com/lockgate/lockgate/internal/apiclient"
)

// newMe is the owner's side: what a person does with their own token
// (LOCKGATE_OWNER_TOKEN, from `lockgate person token`).
func newMe() *cobra.Command {
	c := group("me", "Your own accounts, with your person token (LOCKGATE_OWNER_TOKEN)")
	owner := func(cmd *cobra.Command, run func(k *call, args []string) error) *cobra.Command {
		return clientCmd(ownerToken, cmd, run)
	}
	show := owner(&cobra.Command{Use: "show", Short: "Show who the token belongs to", Example: `  lockgate me show -o json`, Args: noArgs}, func(k *call, _ []string) error {
		p, err := k.client.Me(k.ctx)
		if err != nil {
			return err
		}
		return printPerson(k, p)
	})
	accounts := owner(&cobra.Command{Use: "accounts", Short: "List your accounts and their state", Example: `  lockgate me accounts -o json | jq -r '.items[] | select(.locked) | .id'`, Args: noArgs}, func(k *call, _ []string) error {
		accs, err := k.client.MyAccounts(k.ctx)
		if err != nil {
			return err
		}
		return printStatuses(k, accs)
	})
	set := func(lockIt bool) func(k *call, args []string) error {
		return func(k *call, args []string) error {
			st, err := k.client.SetMyLock(k.ctx, args[0], lockIt, apiclient.LockChange{For: forValue(k.cmd), Reason: str(k.cmd, "reason")})
			if err != nil {
				return err
			}
			return printStatus(k, st)
		}
	}
	lockCmd := owner(&cobra.Command{Use: "lock ACCOUNT", Short: "Lock one of your accounts (by account ID)", Example: `  lockgate me lock acc_01J… --reason "laptop stolen"`, Args: exactArgs(1)}, set(true))
	unlock := owner(&cobra.Command{Use: "unlock ACCOUNT", Short: "Unlock one of your accounts, for good or --for a while", Example: "  lockgate me unlock acc_01J… --for 15m", Args: exactArgs(1)}, set(false))
	forFlag(unlock)
	for _, cmd := range []*cobra.Command{lockCmd, unlock} {
		cmd.Flags().String("reason", "", "why, for the history")
	}
	all := func(lockIt bool) func(k *call, args []string) error {
		return func(k *call, _ []string) error {
			accs, err := k.client.SetMyLockAll(k.ctx, lockIt, apiclient.LockChange{For: forValue(k.cmd)})
			if err != nil {
				return err
			}
			return printStatuses(k, accs)
		}
	}
	lockAll := owner(&cobra.Command{Use: "lock-all", Short: "Lock every one of your accounts", Example: `  lockgate me lock-all`, Args: noArgs}, all(true))
	unlockAll := owner(&cobra.Command{Use: "unlock-all", Short: "Unlock every one of your accounts", Example: "  lockgate me unlock-all --for 5m", Args: noArgs}, all(false))
	forFlag(unlockAll)
	history := owner(&cobra.Command{Use: "history ACCOUNT", Short: "Show one of your accounts' lock history", Example: `  lockgate me history acc_01J…`, Args: exactArgs(1)}, func(k *call, args []string) error {
		hist, err := k.client.MyHistory(k.ctx, args[0])
		if err != nil {
			return err
		}
		return printHistory(k, hist)
	})
	attempts := owner(&cobra.Command{Use: "attempts", Short: "List sign-in checks of your accounts, newest first", Example: `  lockgate me attempts --since 2026-11-01T00:00:00Z --limit 20`, Args: noArgs}, func(k *call, _ []string) error {
		page, err := k.client.MyAttempts(k.ctx, attemptQuery(k.cmd))
		if err != nil {
			return err
		}
		return printAttempts(k, page)
	})
	attemptFlags(attempts)
	c.AddCommand(show, accounts, lockCmd, unlock, lockAll, unlockAll, history, attempts)
	return c
}
