package authz

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/lockgate/lockgate/iampolicy"
)

// API Gateway evaluates a Lambda authorizer's policy with the request's
// own keys only: it has no aws:username, aws:userid or aws:PrincipalTag
// for a token it never read (the Service Authorization Reference marks
// them "IAM only"), nor lockgate's keys. A condition on such a key would
// not match there — a Deny written on it would never apply. So the
// answer never carries one:
//
//   - conditions on the token's keys (aws:username, aws:userid,
//     aws:PrincipalTag/…) are decided here, once per token (the answer is
//     cached under the token, and these keys are the token's): a
//     statement whose condition holds is sent without it, one whose
//     condition fails is left out;
//   - conditions on keys API Gateway evaluates for every request
//     (gatewayKeys) are sent, their policy variables resolved;
//   - any other key (lockgate:SourceCountry, a misspelt key): an Allow
//     on it is left out (fail closed), and a Deny on it makes the answer
//     an error (API Gateway answers 500): a Deny that would silently
//     never apply is worse than no answer. Use such keys in the gateway.

// gatewayKeys are the request keys API Gateway evaluates in the policy a
// Lambda authorizer returns, lower case.
var gatewayKeys = map[string]bool{
	"aws:sourceip": true, "aws:sourcevpc": true, "aws:sourcevpce": true,
	"aws:currenttime": true, "aws:epochtime": true,
}

// tokenKey reports whether a condition key is the token's.
func isTokenKey(k string) bool {
	return k == "aws:username" || k == "aws:userid" || strings.HasPrefix(k, "aws:principaltag/")
}

// conditionError is a statement the answer cannot carry.
type conditionError struct {
	group, sid, key string
}

func (e *conditionError) Error() string {
	return fmt.Sprintf("group %s: the Deny statement %q has a condition on %s, which API Gateway cannot evaluate for a Lambda authorizer "+
		"(the Deny would never apply there); decide it in lockgate's gateway, or condition on %s", e.group, e.sid, e.key, strings.Join(gatewayKeyList(), ", "))
}

func gatewayKeyList() []string {
	out := []string{"aws:username", "aws:userid", "aws:PrincipalTag/…"}
	var gw []string
	for k := range gatewayKeys {
		gw = append(gw, k)
	}
	sort.Strings(gw)
	return append(out, gw...)
}

// scopeCondition splits a statement's Condition: what API Gateway will
// evaluate (kept, nil when nothing is left), whether the token's part
// holds, and the first key neither can evaluate ("" when none).
func scopeCondition(cond any, id *identity, version string, resolve func(string) string) (kept map[string]any, holds bool, unknown string, err error) {
	ops, ok := cond.(map[string]any)
	if !ok {
		return nil, false, "", fmt.Errorf("the Condition is %T, not an object", cond)
	}
	ctx := &iampolicy.Context{}
	if id.Username != "" {
		ctx.Set("aws:username", id.Username)
	}
	ctx.Set("aws:userid", id.Subject)
	for t, v := range id.Tags {
		ctx.Set("aws:PrincipalTag/"+t, v)
	}
	holds = true
	opNames := make([]string, 0, len(ops))
	for op := range ops {
		opNames = append(opNames, op)
	}
	sort.Strings(opNames)
	for _, op := range opNames {
		keys, ok := ops[op].(map[string]any)
		if !ok {
			return nil, false, "", fmt.Errorf("the Condition's %s is %T, not an object", op, ops[op])
		}
		keyNames := make([]string, 0, len(keys))
		for k := range keys {
			keyNames = append(keyNames, k)
		}
		sort.Strings(keyNames)
		for _, k := range keyNames {
			lk := strings.ToLower(k)
			switch {
			case isTokenKey(lk):
				ok, err := conditionHolds(version, op, k, keys[k], ctx)
				if err != nil {
					return nil, false, "", err
				}
				holds = holds && ok
			case gatewayKeys[lk]:
				if kept == nil {
					kept = map[string]any{}
				}
				m, _ := kept[op].(map[string]any)
				if m == nil {
					m = map[string]any{}
					kept[op] = m
				}
				m[k] = resolveValues(keys[k], resolve)
			default:
				if unknown == "" {
					unknown = k
				}
			}
		}
	}
	return kept, holds, unknown, nil
}

// conditionHolds evaluates one operator on one key of the token with
// lockgate's engine, as the gateway does.
func conditionHolds(version, op, key string, values any, ctx *iampolicy.Context) (bool, error) {
	doc, err := json.Marshal(map[string]any{"Version": version, "Statement": map[string]any{
		"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*",
		"Condition": map[string]any{op: map[string]any{key: values}},
	}})
	if err != nil {
		return false, err
	}
	p, err := iampolicy.Parse(doc)
	if err != nil {
		return false, err
	}
	return p.Evaluate(&iampolicy.Request{Action: "execute-api:Invoke", Resource: "*", Context: ctx}) == iampolicy.Allowed, nil
}

// resolveValues resolves the token's variables in condition values.
func resolveValues(v any, resolve func(string) string) any {
	switch v := v.(type) {
	case string:
		return resolve(v)
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = resolveValues(x, resolve)
		}
		return out
	}
	return v
}
