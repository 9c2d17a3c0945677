package main

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// Issue 15 asks for examples in each command's help: every command that
// runs (not a group that only holds subcommands, not cobra's completion)
// has an Example that calls it by its full name with flags it takes (atk-ops C22).
func TestEveryCommandHasAnExample(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		if !c.HasParent() || c.Hidden || c.HasSubCommands() || !c.Runnable() {
			return
		}
		if root := c.Root(); c.Name() == "completion" || c.HasParent() && c.Parent().Name() == "completion" && c.Parent().Parent() == root {
			return
		}
		t.Run(cmdName(c), func(t *testing.T) {
			if strings.TrimSpace(c.Example) == "" {
				t.Fatalf("%s has no Example", c.CommandPath())
			}
			if !strings.Contains(c.Example, c.CommandPath()) {
				t.Errorf("%s: Example does not call %q:\n%s", c.CommandPath(), c.CommandPath(), c.Example)
			}
			// Every flag an example passes to this command exists on it.
			for _, line := range strings.Split(c.Example, "\n") {
				_, after, ok := strings.Cut(line, c.CommandPath()+" ")
				if !ok {
					continue
				}
				after, _, _ = strings.Cut(after, "|")
				for _, w := range strings.Fields(after) {
					name, _, _ := strings.Cut(strings.TrimPrefix(w, "--"), "=")
					if strings.HasPrefix(w, "--") && c.Flags().Lookup(name) == nil && c.InheritedFlags().Lookup(name) == nil {
						t.Errorf("%s: Example passes --%s, which the command does not take", c.CommandPath(), name)
					}
				}
			}
		})
	}
	walk(newRoot())
}
