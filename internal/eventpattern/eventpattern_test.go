package eventpattern

import (
	"os"
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		name, pattern, event string
		want                 bool
	}{
		{"exact", `{"a":["x"]}`, `{"a":"x"}`, true},
		{"exact miss", `{"a":["x"]}`, `{"a":"y"}`, false},
		{"any of the values", `{"a":["x","y"]}`, `{"a":"y"}`, true},
		{"missing field", `{"a":["x"]}`, `{"b":"x"}`, false},
		{"number", `{"n":[5]}`, `{"n":5.0}`, true},
		{"number is not a string", `{"n":[5]}`, `{"n":"5"}`, false},
		{"bool", `{"b":[true]}`, `{"b":true}`, true},
		{"null", `{"b":[null]}`, `{"b":null}`, true},
		{"null not missing", `{"b":[null]}`, `{}`, false},
		{"array: any element", `{"a":["x"]}`, `{"a":["w","x"]}`, true},
		{"array: none", `{"a":["x"]}`, `{"a":["w","v"]}`, false},
		{"nested", `{"d":{"u":{"t":["IAMUser"]}}}`, `{"d":{"u":{"t":"IAMUser","n":"bob"}}}`, true},
		{"nested missing", `{"d":{"u":{"t":["IAMUser"]}}}`, `{"d":{}}`, false},
		{"nested array of objects", `{"r":{"t":["x"]}}`, `{"r":[{"t":"y"},{"t":"x"}]}`, true},
		{"prefix", `{"a":[{"prefix":"arn:aws:iam::"}]}`, `{"a":"arn:aws:iam::1:user/x"}`, true},
		{"prefix miss", `{"a":[{"prefix":"arn:aws:sts"}]}`, `{"a":"arn:aws:iam::1:user/x"}`, false},
		{"prefix ignore case", `{"a":[{"prefix":{"equals-ignore-case":"ARN:AWS"}}]}`, `{"a":"arn:aws:x"}`, true},
		{"suffix", `{"a":[{"suffix":".png"}]}`, `{"a":"x.png"}`, true},
		{"suffix ignore case", `{"a":[{"suffix":{"equals-ignore-case":".PNG"}}]}`, `{"a":"x.png"}`, true},
		{"equals-ignore-case", `{"a":[{"equals-ignore-case":"alice"}]}`, `{"a":"ALICE"}`, true},
		{"wildcard", `{"a":[{"wildcard":"arn:aws:iam::*:user/*"}]}`, `{"a":"arn:aws:iam::1:user/x"}`, true},
		{"wildcard miss", `{"a":[{"wildcard":"*.png"}]}`, `{"a":"x.jpg"}`, false},
		{"wildcard escaped star", `{"a":[{"wildcard":"a\\*b"}]}`, `{"a":"a*b"}`, true},
		{"wildcard escaped star miss", `{"a":[{"wildcard":"a\\*b"}]}`, `{"a":"axb"}`, false},
		{"anything-but value", `{"a":[{"anything-but":"x"}]}`, `{"a":"y"}`, true},
		{"anything-but miss", `{"a":[{"anything-but":["x","y"]}]}`, `{"a":"y"}`, false},
		{"anything-but prefix", `{"a":[{"anything-but":{"prefix":"test-"}}]}`, `{"a":"test-1"}`, false},
		{"anything-but missing field", `{"a":[{"anything-but":"x"}]}`, `{}`, false},
		{"anything-but on array", `{"a":[{"anything-but":"x"}]}`, `{"a":["x","y"]}`, true},
		{"numeric range", `{"n":[{"numeric":[">",0,"<=",5]}]}`, `{"n":5}`, true},
		{"numeric out of range", `{"n":[{"numeric":[">",0,"<=",5]}]}`, `{"n":6}`, false},
		{"numeric on a string", `{"n":[{"numeric":[">",0]}]}`, `{"n":"6"}`, false},
		{"exists", `{"e":[{"exists":true}]}`, `{"e":"Failed"}`, true},
		{"exists missing", `{"e":[{"exists":true}]}`, `{}`, false},
		{"not exists", `{"e":[{"exists":false}]}`, `{}`, true},
		{"not exists present", `{"e":[{"exists":false}]}`, `{"e":"x"}`, false},
		{"not exists in missing object", `{"d":{"e":[{"exists":false}]}}`, `{}`, true},
		{"cidr", `{"ip":[{"cidr":"10.0.0.0/8"}]}`, `{"ip":"10.1.2.3"}`, true},
		{"cidr miss", `{"ip":[{"cidr":"10.0.0.0/8"}]}`, `{"ip":"11.1.2.3"}`, false},
		{"$or first", `{"$or":[{"a":["x"]},{"b":["y"]}]}`, `{"a":"x"}`, true},
		{"$or second", `{"$or":[{"a":["x"]},{"b":["y"]}]}`, `{"b":"y"}`, true},
		{"$or neither", `{"$or":[{"a":["x"]},{"b":["y"]}]}`, `{"a":"y"}`, false},
		{"$or with field", `{"c":["z"],"$or":[{"a":["x"]},{"b":["y"]}]}`, `{"c":"q","a":"x"}`, false},
		{"$or nested", `{"d":{"$or":[{"a":["x"]},{"b":[{"numeric":[">",1]}]}]}}`, `{"d":{"b":2}}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Compile([]byte(tt.pattern))
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.Match([]byte(tt.event))
			if err != nil || got != tt.want {
				t.Fatalf("Match = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	for _, tt := range []struct{ pattern, want string }{
		{`[]`, "must be a JSON object"},
		{`{"a":"x"}`, `a: values must be in a list`},
		{`{"a":[]}`, "an empty list matches nothing"},
		{`{"d":{"a":[{"prefix":1}]}}`, "d.a[0]: prefix takes a string"},
		{`{"a":[{"numeric":[">"]}]}`, "numeric takes"},
		{`{"a":[{"numeric":["!",1]}]}`, `"!" is not`},
		{`{"a":[{"nope":1}]}`, `unknown operator "nope"`},
		{`{"a":[{"anything-but":{"anything-but":"x"}}]}`, "cannot nest"},
		{`{"a":[{"cidr":"10.0.0.0/33"}]}`, "not a CIDR"},
		{`{"$or":[{"a":["x"]}]}`, "at least two"},
		{`{"a":[{"wildcard":"a**b"}]}`, "consecutive"},
		{`{"a":`, "event pattern"},
	} {
		_, err := Compile([]byte(tt.pattern))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Compile(%s) = %v, want error containing %q", tt.pattern, err, tt.want)
		}
	}
}

// The seed's EventBridge rule, without its optional userName list.
const seedRule = `{"source":["aws.signin"],"detail-type":["AWS Console Sign In via CloudTrail"],"detail":{"userIdentity":{"type":["IAMUser"]},"eventSource":["signin.amazonaws.com"],"eventName":["ConsoleLogin"],"responseElements":{"ConsoleLogin":["Success"]}}}`

func TestSeedRuleOnSamples(t *testing.T) {
	p := MustCompile(seedRule)
	for _, tt := range []struct {
		file string
		want bool
	}{
		{"iam-user-success.eventbridge.json", true},
		{"assumed-role-success.eventbridge.json", false},
		{"root-failure.eventbridge.json", false},
	} {
		data, err := os.ReadFile("testdata/" + tt.file)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := p.Match(data); err != nil || got != tt.want {
			t.Errorf("%s: %v, %v; want %v", tt.file, got, err, tt.want)
		}
	}
	withNames := MustCompile(`{"detail":{"userIdentity":{"userName":["list","anaya"]}}}`)
	data, _ := os.ReadFile("testdata/iam-user-success.eventbridge.json")
	if ok, _ := withNames.Match(data); !ok {
		t.Error("userName list did not match anaya")
	}
}

func FuzzMatch(f *testing.F) {
	f.Add([]byte(seedRule), []byte(`{"source":"aws.signin","detail":{"userIdentity":{"type":["IAMUser"]}}}`))
	f.Add([]byte(`{"$or":[{"a":[{"numeric":[">",1]}]},{"b":[{"anything-but":{"prefix":"x"}}]}]}`), []byte(`{"a":[1,2],"b":null}`))
	f.Add([]byte(`{"a":[{"wildcard":"*\\**"}]}`), []byte(`{"a":"x*y"}`))
	f.Fuzz(func(t *testing.T, pattern, event []byte) {
		p, err := Compile(pattern)
		if err != nil {
			return
		}
		p.Match(event)
	})
}
