package iampolicy

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The differential test decides thousands of random requests against
// random policies with iampolicy and with an independent simulator,
// @cloud-copilot/iam-simulate (AGPL: installed by .ci/run into an ignored
// directory from the pinned testdata/oracle/package-lock.json, and run as
// a separate Node process; none of its code or test cases are in this
// repository), and requires the same decision. A disagreement is a bug
// here, or a case in knownCases, each of which cites the AWS
// documentation that settles it. go test never installs the simulator:
// without it the test skips (fails with CI=true) and says what to run.
//
//	npm ci --prefix iampolicy/testdata/oracle                    # once
//	go test -run Differential ./iampolicy/                       # 3,000 cases
//	LOCKGATE_DIFF_N=20000 LOCKGATE_DIFF_SEED=7 go test -run Differential ./iampolicy/

// oracleVersion is the simulator pinned in testdata/oracle/package.json.
const oracleVersion = "0.1.173"

func startOracle(t *testing.T) (send func(sim any) (string, error)) {
	t.Helper()
	need := func(msg string) {
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		need("the differential test needs Node.js: apt-get install nodejs npm, then npm ci --prefix iampolicy/testdata/oracle (bash .ci/run does both)")
	}
	dir, _ := filepath.Abs("testdata/oracle")
	pkg := filepath.Join(dir, "node_modules", "@cloud-copilot", "iam-simulate", "package.json")
	if data, err := os.ReadFile(pkg); err != nil || !strings.Contains(string(data), `"version": "`+oracleVersion+`"`) {
		need(fmt.Sprintf("the differential test needs @cloud-copilot/iam-simulate %s: run npm ci --prefix iampolicy/testdata/oracle from the repository root (bash .ci/run does it)", oracleVersion))
	}
	cmd := exec.Command(node, filepath.Join(dir, "oracle.js"), filepath.Join(dir, "node_modules"))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Wait() })
	r := bufio.NewReaderSize(stdout, 1<<20)
	enc := json.NewEncoder(stdin)
	return func(sim any) (string, error) {
		if err := enc.Encode(sim); err != nil {
			return "", err
		}
		line, err := r.ReadBytes('\n')
		if err != nil {
			return "", err
		}
		var ans struct{ Result, Error string }
		if err := json.Unmarshal(line, &ans); err != nil {
			return "", err
		}
		if ans.Error != "" {
			return "", fmt.Errorf("oracle: %s", ans.Error)
		}
		return ans.Result, nil
	}
}

const (
	acctA = "111122223333"
	acctB = "444455556666"
)

type gen struct{ r *rand.Rand }

func (g *gen) pick(xs ...string) string { return xs[g.r.IntN(len(xs))] }
func (g *gen) chance(p float64) bool    { return g.r.Float64() < p }

func (g *gen) some(xs ...string) []string {
	n := 1 + g.r.IntN(len(xs))
	perm := g.r.Perm(len(xs))[:n]
	out := make([]string, n)
	for i, j := range perm {
		out[i] = xs[j]
	}
	return out
}

// strOrList writes a one-element list as a bare string half the time, as
// policies do.
func (g *gen) strOrList(xs []string) any {
	if len(xs) == 1 && g.chance(0.5) {
		return xs[0]
	}
	return xs
}

type target struct {
	action, resource, account string
}

func (g *gen) target() target {
	switch g.r.IntN(4) {
	case 0:
		return target{g.pick("s3:GetObject", "s3:PutObject", "s3:DeleteObject"), g.pick("arn:aws:s3:::bucket-a/home/alice/f.txt", "arn:aws:s3:::bucket-a/public/x", "arn:aws:s3:::bucket-b/k"), g.pick(acctA, acctA, acctB)}
	case 1:
		return target{"execute-api:Invoke", g.pick("arn:aws:execute-api:us-east-1:111122223333:api1/prod/GET/petstore/v2/status", "arn:aws:execute-api:us-east-1:111122223333:api1/dev/POST/petstore/v1/pets"), acctA}
	case 2:
		return target{"ec2:RunInstances", "arn:aws:ec2:us-east-1:111122223333:instance/i-0abc", acctA}
	}
	return target{"iam:PassRole", g.pick("arn:aws:iam::111122223333:role/Dev", "arn:aws:iam::111122223333:role/service-role/build"), acctA}
}

func (g *gen) actionPattern(t target) string {
	svc, name, _ := strings.Cut(t.action, ":")
	switch g.r.IntN(7) {
	case 0:
		return "*"
	case 1:
		return svc + ":*"
	case 2:
		return strings.ToUpper(svc) + ":" + strings.ToLower(name)
	case 3:
		return svc + ":" + name[:3] + "*"
	case 4:
		return svc + ":?" + name[1:]
	case 5:
		return g.pick("s3:GetObject", "ec2:*", "iam:Get*", "execute-api:ManageConnections")
	}
	return t.action
}

func (g *gen) resourcePattern(t target) string {
	if g.chance(0.15) {
		return "*"
	}
	switch {
	case strings.HasPrefix(t.resource, "arn:aws:s3"):
		return g.pick(t.resource, "arn:aws:s3:::bucket-a/*", "arn:aws:s3:::bucket-?/*", "arn:aws:s3:::*", "arn:aws:s3:::bucket-a/home/${aws:username}/*", "arn:aws:s3:::bucket-b/*", "arn:aws:s3:::bucket-a/public/*")
	case strings.HasPrefix(t.resource, "arn:aws:execute-api"):
		return g.pick(t.resource, "arn:aws:execute-api:*:*:api1/*/GET/*", "arn:aws:execute-api:us-east-1:*:api1/*", "arn:aws:execute-api:*:111122223333:api1/*/*/petstore/v1/*", "arn:aws:execute-api:*:*:*/*/GET/petstore/v2/status")
	case strings.HasPrefix(t.resource, "arn:aws:ec2"):
		return g.pick(t.resource, "arn:aws:ec2:*:111122223333:instance/*", "arn:aws:ec2:us-east-?:*:instance/*", "arn:aws:ec2:*:444455556666:instance/*")
	}
	return g.pick(t.resource, "arn:aws:iam::111122223333:role/*", "arn:aws:iam::*:role/service-role/*", "arn:aws:iam::111122223333:role/${aws:username}")
}

// The condition keys, with the values requests and policies draw from.
var (
	ipValues       = []string{"192.0.2.10", "198.51.100.7", "203.0.113.5", "2001:db8::1"}
	cidrs          = []string{"192.0.2.0/24", "198.51.100.0/24", "203.0.113.5", "2001:db8::/32", "10.0.0.0/8"}
	dates          = []string{"2026-11-21T10:00:00Z", "2026-11-21T12:00:00Z", "2026-11-21T14:00:00Z"}
	policyDates    = []string{"2026-11-21T12:00:00Z", "2026-11-21", "2026-11-21T13:00:00+01:00", "1795262400", "2026-11-22T00:00:00Z"}
	principalArns  = []string{"arn:aws:iam::111122223333:user/alice", "arn:aws:iam::111122223333:role/Dev", "arn:aws:iam::111122223333:role/service-role/x"}
	arnPatterns    = []string{"arn:aws:iam::*:role/service-role/*", "arn:aws:iam::111122223333:user/*", "arn:aws:iam::111122223333:role/Dev", "arn:aws:iam::444455556666:*"}
	stringOps      = []string{"StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "StringLike", "StringNotLike"}
	numericOps     = []string{"NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals"}
	dateOps        = []string{"DateEquals", "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals"}
	arnOps         = []string{"ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike"}
	singleKeys     = []string{"aws:PrincipalTag/team", "aws:username", "aws:MultiFactorAuthAge", "aws:TokenIssueTime", "aws:CurrentTime", "aws:SecureTransport", "aws:ViaAWSService", "aws:SourceIp", "aws:PrincipalArn"}
	multiValueKeys = []string{"aws:TagKeys"}
)

func (g *gen) contextValue(key string) any {
	switch key {
	case "aws:PrincipalTag/team":
		return g.pick("red", "blue", "Red")
	case "aws:username":
		return g.pick("alice", "bob")
	case "aws:MultiFactorAuthAge":
		return g.pick("0", "300", "3600", "7200")
	case "aws:TokenIssueTime", "aws:CurrentTime":
		return g.pick(dates...)
	case "aws:SecureTransport", "aws:ViaAWSService":
		return g.pick("true", "false")
	case "aws:SourceIp":
		return g.pick(ipValues...)
	case "aws:PrincipalArn":
		return g.pick(principalArns...)
	case "aws:TagKeys":
		if g.chance(0.2) {
			return []string{}
		}
		return g.some("team", "env", "cost")
	}
	panic(key)
}

// condition returns an operator, a key and policy values.
func (g *gen) condition() (string, string, any) {
	ifExists := func(op string) string {
		if g.chance(0.25) {
			return op + "IfExists"
		}
		return op
	}
	switch g.r.IntN(10) {
	case 0:
		key := g.pick("aws:PrincipalTag/team", "aws:username")
		op := g.pick(stringOps...)
		var vals []string
		if strings.Contains(op, "Like") {
			vals = g.some("r*", "*e*", "b?ue", "al*", "${aws:username}")
		} else {
			vals = g.some("red", "blue", "RED", "alice", "${aws:username}")
		}
		return ifExists(op), key, g.strOrList(vals)
	case 1:
		return ifExists(g.pick(numericOps...)), "aws:MultiFactorAuthAge", g.strOrList(g.some("3600", "300.5", "0"))
	case 2:
		return ifExists(g.pick(dateOps...)), g.pick("aws:TokenIssueTime", "aws:CurrentTime"), g.strOrList(g.some(policyDates...))
	case 3:
		return ifExists("Bool"), g.pick("aws:SecureTransport", "aws:ViaAWSService"), g.pick("true", "false")
	case 4:
		return ifExists(g.pick("IpAddress", "NotIpAddress")), "aws:SourceIp", g.strOrList(g.some(cidrs...))
	case 5:
		return ifExists(g.pick(arnOps...)), "aws:PrincipalArn", g.strOrList(g.some(arnPatterns...))
	case 6:
		return "Null", g.pick(append(singleKeys, multiValueKeys...)...), g.pick("true", "false")
	case 7, 8:
		set := g.pick("ForAllValues:", "ForAnyValue:")
		op := g.pick("StringEquals", "StringNotEquals", "StringLike", "StringNotLike", "StringEqualsIgnoreCase")
		vals := g.some("team", "env", "TEAM", "c*")
		return set + ifExists(op), "aws:TagKeys", g.strOrList(vals)
	}
	return ifExists(g.pick(stringOps...)), "aws:PrincipalTag/team", g.strOrList(g.some("red", "blue", "r*"))
}

func (g *gen) statement(t target, effect string, principal any, rcp bool) map[string]any {
	s := map[string]any{"Effect": effect}
	action := func() string {
		for {
			a := g.actionPattern(t)
			if !rcp || a != "*" { // RCPs: see TestSetValidate
				return a
			}
		}
	}
	acts := []string{action()}
	if g.chance(0.3) {
		acts = append(acts, action())
	}
	if !rcp && g.chance(0.1) {
		s["NotAction"] = g.strOrList(acts)
	} else {
		s["Action"] = g.strOrList(acts)
	}
	res := []string{g.resourcePattern(t)}
	if g.chance(0.3) {
		res = append(res, g.resourcePattern(t))
	}
	if g.chance(0.1) {
		s["NotResource"] = g.strOrList(res)
	} else {
		s["Resource"] = g.strOrList(res)
	}
	if principal != nil {
		s["Principal"] = principal
	}
	if g.chance(0.6) {
		cond := map[string]any{}
		for range 1 + g.r.IntN(3) {
			op, key, vals := g.condition()
			m, _ := cond[op].(map[string]any)
			if m == nil {
				m = map[string]any{}
				cond[op] = m
			}
			m[key] = vals
		}
		s["Condition"] = cond
	}
	return s
}

func (g *gen) policy(t target, denyBias float64, principal func() any) map[string]any {
	return g.policyOf(t, denyBias, principal, false)
}

func (g *gen) policyOf(t target, denyBias float64, principal func() any, rcp bool) map[string]any {
	var stmts []any
	for range 1 + g.r.IntN(3) {
		effect := "Allow"
		if g.chance(denyBias) {
			effect = "Deny"
		}
		var p any
		if principal != nil {
			p = principal()
		}
		stmts = append(stmts, g.statement(t, effect, p, rcp))
	}
	return map[string]any{"Version": "2012-10-17", "Statement": stmts}
}

var fullAccess = map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{"Effect": "Allow", "Action": "*", "Resource": "*"}}}

func (g *gen) scenario() map[string]any {
	tg := g.target()
	principal := g.pick("arn:aws:iam::111122223333:user/alice", "arn:aws:sts::111122223333:assumed-role/Dev/alice", "arn:aws:iam::444455556666:user/mallory")
	ctx := map[string]any{}
	for _, k := range append(singleKeys, multiValueKeys...) {
		if g.chance(0.6) {
			ctx[k] = g.contextValue(k)
		}
	}
	sim := map[string]any{
		"request": map[string]any{"principal": principal, "action": tg.action, "resource": map[string]any{"resource": tg.resource, "accountId": tg.account}, "contextVariables": ctx},
	}
	var ids []any
	for i := range 1 + g.r.IntN(2) {
		doc := g.policy(tg, 0.25, nil)
		if i == 0 && g.chance(0.3) {
			doc = fullAccess
		}
		ids = append(ids, map[string]any{"name": fmt.Sprintf("identity%d", i), "policy": doc})
	}
	sim["identityPolicies"] = ids
	if g.chance(0.4) {
		sim["resourcePolicy"] = g.policy(tg, 0.2, func() any {
			switch g.r.IntN(6) {
			case 0:
				return "*"
			case 1:
				return map[string]any{"AWS": acctA}
			case 2:
				return map[string]any{"AWS": "arn:aws:iam::111122223333:user/alice"}
			case 3:
				return map[string]any{"AWS": "arn:aws:iam::111122223333:role/Dev"}
			case 4:
				return map[string]any{"AWS": "arn:aws:sts::111122223333:assumed-role/Dev/alice"}
			}
			return map[string]any{"AWS": []any{"arn:aws:iam::444455556666:root", "arn:aws:iam::444455556666:user/mallory"}}
		})
	}
	scps := []any{}
	if g.chance(0.3) {
		for level := range 1 + g.r.IntN(2) {
			var pols []any
			for i := range 1 + g.r.IntN(2) {
				doc := fullAccess
				if i > 0 || g.chance(0.4) {
					doc = g.policy(tg, 0.5, nil)
				}
				pols = append(pols, map[string]any{"name": fmt.Sprintf("scp%d-%d", level, i), "policy": doc})
			}
			scps = append(scps, map[string]any{"orgIdentifier": fmt.Sprintf("ou-%d", level), "policies": pols})
		}
	}
	sim["serviceControlPolicies"] = scps
	rcps := []any{}
	if g.chance(0.2) {
		// AWS attaches RCPFullAWSAccess at every level, and so does
		// iam-simulate's runSimulation.
		doc := g.policyOf(tg, 1, func() any { return "*" }, true)
		rcps = append(rcps, map[string]any{"orgIdentifier": "r-root", "policies": []any{map[string]any{"name": "rcp", "policy": doc}}})
	}
	sim["resourceControlPolicies"] = rcps
	if g.chance(0.25) {
		sim["permissionBoundaryPolicies"] = []any{map[string]any{"name": "boundary", "policy": g.policy(tg, 0.2, nil)}}
	}
	return sim
}

// fromSim builds iampolicy's Set and Request from a simulation, so both
// engines always decide the same input.
func fromSim(sim map[string]any) (*Set, *Request, error) {
	compile := func(doc any) (*Policy, error) {
		data, _ := json.Marshal(doc)
		return Parse(data)
	}
	named := func(list any) ([]Named, error) {
		var out []Named
		for _, e := range asList(list) {
			m := e.(map[string]any)
			p, err := compile(m["policy"])
			if err != nil {
				return nil, err
			}
			out = append(out, Named{m["name"].(string), p})
		}
		return out, nil
	}
	set := &Set{}
	var err error
	if set.Identity, err = named(sim["identityPolicies"]); err != nil {
		return nil, nil, err
	}
	if doc, ok := sim["resourcePolicy"]; ok {
		p, err := compile(doc)
		if err != nil {
			return nil, nil, err
		}
		set.Resource = &Named{"resource", p}
	}
	for _, level := range asList(sim["serviceControlPolicies"]) {
		ns, err := named(level.(map[string]any)["policies"])
		if err != nil {
			return nil, nil, err
		}
		set.SCPs = append(set.SCPs, ns)
	}
	for _, level := range asList(sim["resourceControlPolicies"]) {
		ns, err := named(level.(map[string]any)["policies"])
		if err != nil {
			return nil, nil, err
		}
		set.RCPs = append(set.RCPs, ns...)
	}
	if pb, ok := sim["permissionBoundaryPolicies"]; ok {
		ns, err := named(pb)
		if err != nil {
			return nil, nil, err
		}
		if len(ns) > 0 {
			set.Boundary = &ns[0]
		}
	}
	r := sim["request"].(map[string]any)
	res := r["resource"].(map[string]any)
	ctx := &Context{}
	for k, v := range r["contextVariables"].(map[string]any) {
		if v, ok := v.(string); ok {
			ctx.Set(k, v)
			continue
		}
		vals := []string{}
		for _, x := range asList(v) {
			vals = append(vals, x.(string))
		}
		ctx.Set(k, vals...)
	}
	req := &Request{Principal: r["principal"].(string), Action: r["action"].(string), Resource: res["resource"].(string), ResourceAccount: res["accountId"].(string), Context: ctx}
	return set, req, nil
}

func asList(v any) []any {
	switch v := v.(type) {
	case []any:
		return v
	case []string:
		out := make([]any, len(v))
		for i, s := range v {
			out[i] = s
		}
		return out
	case nil:
		return nil
	}
	return []any{v}
}

var oracleNames = map[string]Decision{"Allowed": Allowed, "ExplicitlyDenied": ExplicitDeny, "ImplicitlyDenied": ImplicitDeny}

// verdicts decides sim with both engines.
func verdicts(t *testing.T, send func(any) (string, error), sim map[string]any) (ours Result, theirs Decision, ok bool) {
	set, req, err := fromSim(sim)
	if err != nil {
		return Result{}, 0, false
	}
	want, err := send(sim)
	if err != nil {
		return Result{}, 0, false
	}
	return set.Evaluate(req), oracleNames[want], true
}

func TestDifferential(t *testing.T) {
	if testing.Short() {
		t.Skip("differential test")
	}
	send := startOracle(t)
	n, seed := 3000, uint64(20261121)
	if v, err := strconv.Atoi(os.Getenv("LOCKGATE_DIFF_N")); err == nil {
		n = v
	}
	if v, err := strconv.ParseUint(os.Getenv("LOCKGATE_DIFF_SEED"), 10, 64); err == nil {
		seed = v
	}
	g := &gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	agree, known, failures := 0, map[string]int{}, 0
	decisions := map[Decision]int{}
	for i := range n {
		sim := g.scenario()
		got, want, ok := verdicts(t, send, sim)
		if !ok {
			data, _ := json.Marshal(sim)
			_, _, err := fromSim(sim)
			_, oerr := send(sim)
			t.Fatalf("case %d: cannot decide (ours: %v, oracle: %v)\n%s", i, err, oerr, data)
		}
		decisions[got.Decision]++
		if got.Decision == want {
			agree++
			continue
		}
		if why := knownDifference(send, sim, got.Decision); why != "" {
			known[why]++
			continue
		}
		failures++
		if failures <= 5 {
			small := shrink(t, send, sim)
			got, want, _ := verdicts(t, send, small)
			data, _ := json.MarshalIndent(small, "", " ")
			t.Errorf("case %d (seed %d), shrunk: iampolicy %v, iam-simulate %v\n%s\n%s", i, seed, got.Decision, want, got, data)
		}
	}
	t.Logf("%d cases (seed %d): %d agree, %d documented differences %v, %d unexplained; decisions %v", n, seed, agree, sum(known), known, failures, decisions)
	if failures > 0 {
		t.Fatalf("%d unexplained disagreements", failures)
	}
	for d, c := range decisions {
		if c < n/20 {
			t.Errorf("only %d of %d cases decided %v: the generator does not cover it", c, n, d)
		}
	}
}

func sum(m map[string]int) int {
	s := 0
	for _, v := range m {
		s += v
	}
	return s
}

// shrink removes parts of a disagreeing simulation (policies, statements,
// conditions, list entries, context keys) for as long as the two engines
// still disagree, so a report shows the smallest case found.
func shrink(t *testing.T, send func(any) (string, error), sim map[string]any) map[string]any {
	disagrees := func(s map[string]any) bool {
		ours, theirs, ok := verdicts(t, send, s)
		return ok && ours.Decision != theirs && knownDifference(send, s, ours.Decision) == ""
	}
	clone := func(v map[string]any) map[string]any {
		data, _ := json.Marshal(v)
		var out map[string]any
		json.Unmarshal(data, &out)
		return out
	}
	for changed := true; changed; {
		changed = false
		// Each candidate edit is a path of keys/indexes to delete.
		for _, path := range deletable(sim, nil) {
			c := clone(sim)
			if !deleteAt(c, path) {
				continue
			}
			if disagrees(c) {
				sim, changed = c, true
				break
			}
		}
	}
	return sim
}

// deletable lists paths into v whose removal keeps a well-formed case:
// list elements (but not the last of a required list) and object members
// other than the request's required fields.
func deletable(v any, path []any) [][]any {
	var out [][]any
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			p := append(append([]any{}, path...), k)
			switch k {
			case "request", "principal", "action", "resource", "accountId", "contextVariables", "Version", "Effect", "Principal", "name", "policy", "orgIdentifier", "policies", "identityPolicies", "serviceControlPolicies", "resourceControlPolicies",
				"Action", "NotAction", "Resource", "NotResource": // required elements stay
			default:
				if len(path) == 0 || path[len(path)-1] != "Statement" {
					out = append(out, p)
				}
			}
			out = append(out, deletable(x, p)...)
		}
	case []any:
		for i, x := range v {
			p := append(append([]any{}, path...), i)
			if len(v) > 1 || (len(path) > 0 && (path[len(path)-1] == "identityPolicies" || path[len(path)-1] == "serviceControlPolicies" || path[len(path)-1] == "resourceControlPolicies")) {
				out = append(out, p)
			}
			out = append(out, deletable(x, p)...)
		}
	}
	return out
}

func deleteAt(root map[string]any, path []any) bool {
	var parent any = root
	for i, step := range path {
		last := i == len(path)-1
		switch p := parent.(type) {
		case map[string]any:
			k, ok := step.(string)
			if !ok {
				return false
			}
			if last {
				delete(p, k)
				return true
			}
			if i+1 < len(path) {
				if idx, isIdx := path[i+1].(int); isIdx && i+1 == len(path)-1 {
					lst, ok := p[k].([]any)
					if !ok || idx >= len(lst) {
						return false
					}
					p[k] = append(append([]any{}, lst[:idx]...), lst[idx+1:]...)
					return true
				}
			}
			parent = p[k]
		case []any:
			idx, ok := step.(int)
			if !ok || idx >= len(p) {
				return false
			}
			parent = p[idx]
		default:
			return false
		}
	}
	return false
}

// TestOraclePinned keeps the version the test expects and the one
// package.json pins (which .ci/run installs) the same.
func TestOraclePinned(t *testing.T) {
	data, err := os.ReadFile("testdata/oracle/package.json")
	if err != nil {
		t.Fatal(err)
	}
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	if err := json.Unmarshal(data, &pkg); err != nil {
		t.Fatal(err)
	}
	if got := pkg.Dependencies["@cloud-copilot/iam-simulate"]; got != oracleVersion {
		t.Fatalf("package.json pins iam-simulate %q, the test expects %q (an exact version, so npm ci installs what was tested)", got, oracleVersion)
	}
}
