package server

import (
	"context"
	"slices"

	"github.com/lockgate/lockgate/problem"
)

// Validate is lockgate config validate: every problem serve would meet
// with the file at path in this environment, in one list, each once.
// Values the file gets wrong (a duration written "twenty") do not hide
// the problems provisioning finds in the rest (a CIDR, a missing file):
// the configuration is provisioned as far as it decoded. Only a file
// that cannot be read or parsed at all stops there.
func Validate(path string, getenv func(string) string) (warnings problem.List, err error) {
	cfg, src, err := Load(path, getenv)
	var probs problem.List
	probs.Append("", err)
	decoded := !slices.ContainsFunc(probs, func(p problem.Problem) bool { return p.Path == "" })
	if decoded {
		s, perr := Provision(cfg, src, nil, Options{})
		probs.Append("", perr)
		if perr == nil {
			warnings = s.Warnings()
			// Open checks the key against the database; validate reads
			// an existing one read-only to do the same.
			probs = append(probs, src.Locate(cfg.checkKeyOpensDatabase(context.Background()))...)
		}
	}
	return warnings, dedupe(probs).Err()
}

// dedupe keeps the first of identical problems (several components may
// read one file and report it alike), sorted by place.
func dedupe(l problem.List) problem.List {
	seen := map[problem.Problem]bool{}
	var out problem.List
	for _, p := range l {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	out.Sort()
	return out
}
