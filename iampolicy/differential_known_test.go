package iampolicy

import (
	"encoding/json"
	"strings"
)

// A knownCase is a way iam-simulate departs from AWS's documented
// behaviour, with a rewrite of the simulation into an equivalent input
// (for the requests the generator makes) that iam-simulate decides as
// AWS documents. A disagreement is put down to a known case only when the
// rewritten simulation makes the oracle agree with iampolicy.
type knownCase struct {
	name     string
	citation string
	rewrite  func(v any) (any, bool)
}

var knownCases = []knownCase{
	{
		name: "wildcard in the API id of an execute-api ARN",
		citation: "IAM User Guide, IAM JSON policy elements: Resource, \"Using wildcards in resource ARNs\": " +
			"* and ? may stand in any segment, and * expands over characters such as /; API Gateway's guide " +
			"(Control access to an API with IAM permissions) and the seed's AWS blog policy use " +
			"arn:aws:execute-api:*:*:*/*/GET/petstore/v2/status. iam-simulate 0.1.173 never matches an " +
			"execute-api ARN whose API id (the resource part before the first /) holds a wildcard. The rewrite " +
			"puts the generator's only API id, api1, in its place when the pattern matches it, which is " +
			"equivalent for every generated request.",
		rewrite: mapStrings(func(s string) (string, bool) {
			parts, ok := arnParts(s)
			if !ok || parts[1] != "execute-api" {
				return s, false
			}
			api, rest, found := strings.Cut(parts[4], "/")
			if !found || !hasWildcard(api) {
				return s, false
			}
			lit := "no-such-api"
			if glob(api, "api1") {
				lit = "api1"
			}
			return strings.TrimSuffix(s, parts[4]) + lit + "/" + rest, true
		}),
	},
	{
		name: "epoch seconds in a Date condition",
		citation: "IAM User Guide, IAM JSON policy elements: Condition operators, Date condition operators: " +
			"values are ISO 8601 dates or epoch (UNIX) time, which is seconds (aws:EpochTime). " +
			"iam-simulate 0.1.173 reads them as milliseconds; the same instant in ISO 8601 is equivalent.",
		rewrite: mapDateValues(func(s string) (string, bool) {
			if !allDigits(s) || len(s) == 4 {
				return s, false
			}
			t, _ := parseDate(s)
			return t.UTC().Format("2006-01-02T15:04:05Z"), true
		}),
	},
}

func init() {
	knownCases = append(knownCases,
		knownCase{
			name: "IPv6 source against IPv4 ranges",
			citation: "IAM User Guide, IAM JSON policy elements: Condition operators, IP address condition operators: " +
				"NotIpAddress is the negated match of IpAddress, and both take IPv4 and IPv6 ranges. iam-simulate " +
				"0.1.173 makes an IPv6 aws:SourceIp match neither IpAddress nor NotIpAddress over IPv4 ranges (an IPv4 " +
				"source against IPv6 ranges works). The rewrite drops the IPv4 ranges, which cannot contain an IPv6 " +
				"address, from every IP condition, putting fd00::/8 (which does not contain the source either) in a " +
				"list left empty: AWS decides the same.",
			rewrite: func(v any) (any, bool) {
				sim := v.(map[string]any)
				ctx := sim["request"].(map[string]any)["contextVariables"].(map[string]any)
				if ip, _ := ctx["aws:SourceIp"].(string); !strings.Contains(ip, ":") {
					return v, false
				}
				changed := false
				var visit func(x any)
				visit = func(x any) {
					switch x := x.(type) {
					case map[string]any:
						for op, body := range x {
							if strings.Contains(op, "IpAddress") {
								if keys, ok := body.(map[string]any); ok {
									for k, vals := range keys {
										var v6 []any
										for _, c := range asList(vals) {
											if strings.Contains(c.(string), ":") {
												v6 = append(v6, c)
											}
										}
										if len(v6) == 0 {
											v6 = []any{"fd00::/8"}
										}
										keys[k], changed = v6, true
									}
									continue
								}
							}
							visit(body)
						}
					case []any:
						for _, y := range x {
							visit(y)
						}
					}
				}
				visit(sim)
				return sim, changed
			},
		},
		knownCase{
			name: "inverted operator against a variable with no value",
			citation: "IAM User Guide, IAM policy elements: Variables and tags, \"Policy variables with no value\": " +
				"\"Inverted condition operators like StringNotEquals or StringNotLike do match against a null value\". " +
				"iam-simulate 0.1.173 makes them not match. The rewrite replaces the variable, in condition values only, " +
				"with a literal no request value equals, which AWS decides the same way.",
			rewrite: func(v any) (any, bool) {
				sim := v.(map[string]any)
				ctx := sim["request"].(map[string]any)["contextVariables"].(map[string]any)
				if _, ok := ctx["aws:username"]; ok {
					return v, false
				}
				return walk(sim, "", func(s string) (string, bool) {
					if !strings.Contains(s, "${aws:username}") {
						return s, false
					}
					return strings.ReplaceAll(s, "${aws:username}", "no-such-value"), true
				}, func(key string) bool { return strings.HasPrefix(key, "String") || strings.Contains(key, ":String") })
			},
		},
		knownCase{
			name: "multi-valued key with no values",
			citation: "IAM User Guide, Multivalued context key examples: \"You can prevent missing context keys or context keys " +
				"with empty values from evaluating to true by including a Null condition operator in your policy with a value " +
				"of false to check if the context key in the request exists and its value is not null\": a key with no values " +
				"is null, as a missing key is. iam-simulate 0.1.173 treats an empty list as present (Null false holds, IfExists " +
				"does not apply). The rewrite leaves such keys out of the request context.",
			rewrite: func(v any) (any, bool) {
				sim := v.(map[string]any)
				ctx := sim["request"].(map[string]any)["contextVariables"].(map[string]any)
				changed := false
				for k, val := range ctx {
					if l, ok := val.([]any); ok && len(l) == 0 {
						delete(ctx, k)
						changed = true
					}
				}
				return sim, changed
			},
		},
		knownCase{
			name: "ForAnyValue with IfExists on a missing key",
			citation: "IAM User Guide, IAM JSON policy elements: Condition operators, \"...IfExists condition operators\": " +
				"if the key is not present in the request context, the condition evaluates to true. iam-simulate " +
				"0.1.173 returns false for ForAnyValue:…IfExists on a missing key. The rewrite drops such a condition " +
				"when its key is missing (a true condition changes nothing) and drops IfExists when it is present.",
			rewrite: func(v any) (any, bool) {
				sim := v.(map[string]any)
				data, _ := json.Marshal(sim)
				var out map[string]any
				json.Unmarshal(data, &out)
				ctx := out["request"].(map[string]any)["contextVariables"].(map[string]any)
				changed := false
				var visit func(x any)
				visit = func(x any) {
					switch x := x.(type) {
					case map[string]any:
						if cond, ok := x["Condition"].(map[string]any); ok {
							for op, body := range cond {
								if !strings.HasPrefix(op, "ForAnyValue:") || !strings.HasSuffix(op, "IfExists") {
									continue
								}
								changed = true
								delete(cond, op)
								kept := map[string]any{}
								for k, vals := range body.(map[string]any) {
									if _, present := ctx[k]; present {
										kept[k] = vals
									}
								}
								if len(kept) > 0 {
									cond[strings.TrimSuffix(op, "IfExists")] = kept
								}
							}
							if len(cond) == 0 {
								delete(x, "Condition")
							}
						}
						for _, y := range x {
							visit(y)
						}
					case []any:
						for _, y := range x {
							visit(y)
						}
					}
				}
				visit(out)
				return out, changed
			},
		})
}

func knownDifference(send func(any) (string, error), sim map[string]any, ours Decision) string {
	// The rewrites walk plain JSON values ([]any, not []string).
	data, _ := json.Marshal(sim)
	sim = nil
	json.Unmarshal(data, &sim)
	fresh := func() map[string]any {
		var c map[string]any
		json.Unmarshal(data, &c)
		return c
	}
	for _, kc := range knownCases {
		v, changed := kc.rewrite(fresh())
		if !changed {
			continue
		}
		if want, err := send(v); err == nil && oracleNames[want] == ours {
			return kc.name
		}
	}
	// Several cases at once.
	var v any = fresh()
	any := false
	for _, kc := range knownCases {
		var changed bool
		v, changed = kc.rewrite(v)
		any = any || changed
	}
	if want, err := send(v); any && err == nil && oracleNames[want] == ours {
		return "several known cases"
	}
	return ""
}

// mapStrings applies f to every string inside Resource, NotResource and
// Arn* condition values of every policy.
func mapStrings(f func(string) (string, bool)) func(any) (any, bool) {
	return func(v any) (any, bool) {
		return walk(v, "", f, func(key string) bool {
			return key == "Resource" || key == "NotResource" || strings.Contains(key, "Arn") && !strings.Contains(key, ":")
		})
	}
}

// mapDateValues applies f to the values of Date* condition operators.
func mapDateValues(f func(string) (string, bool)) func(any) (any, bool) {
	return func(v any) (any, bool) {
		return walk(v, "", f, func(key string) bool { return strings.Contains(key, "Date") })
	}
}

// walk copies v, applying f to strings found under a key that in says
// yes to (at any depth below it).
func walk(v any, key string, f func(string) (string, bool), in func(string) bool) (any, bool) {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		changed := false
		for k, x := range v {
			under := k
			if in(key) {
				under = key // stay inside a matching element
			}
			y, c := walk(x, under, f, in)
			out[k], changed = y, changed || c
		}
		return out, changed
	case []any:
		out := make([]any, len(v))
		changed := false
		for i, x := range v {
			y, c := walk(x, key, f, in)
			out[i], changed = y, changed || c
		}
		return out, changed
	case string:
		if in(key) && key != "request" {
			return f(v)
		}
	}
	return v, false
}
