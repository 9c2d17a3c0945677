package analyze

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestSameBadRecords: the analysis, the analysis asked for a header, and
// replay count the same records as bad, whatever member holds the
// damage; a header whose name or value is no string (AWS WAF writes
// both as strings) is a bad record for all three.
func TestSameBadRecords(t *testing.T) {
	rec := func(ip, headers string) string {
		return `{"timestamp":1793635200000,"httpRequest":{"clientIp":"` + ip + `","headers":` + headers + `,"uri":"/a"}}`
	}
	tests := []struct {
		name    string
		headers string
		bad     bool
	}{
		{"strings", `[{"name":"X","value":"v"}]`, false},
		{"a null value", `[{"name":"X","value":null}]`, false},
		{"no headers", `[]`, false},
		{"members reversed, blanks", `[ {"value" : "v", "name" : "X"} ]`, false},
		{"headers as an object (skipped)", `{"name":"X","value":"v"}`, false},
		{"an array value", `[{"name":"X","value":[1,2]}]`, true},
		{"an object value", `[{"name":"X","value":{"a":1}}]`, true},
		{"a number value", `[{"name":"X","value":5}]`, true},
		{"a true value", `[{"name":"X","value":true}]`, true},
		{"a number name", `[{"name":7,"value":"v"}]`, true},
		{"a number name, another header", `[{"name":"Y","value":"v"},{"name":7,"value":"v"}]`, true},
		{"a header that is no object", `[1]`, true},
		{"a header that is a string", `["X: v"]`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := rec("192.0.2.1", tt.headers) + "\n" + rec("192.0.2.2", `[{"name":"X","value":"v"}]`) + "\n"
			path := writeFile(t, filepath.Join(t.TempDir(), "a.log"), data, false)
			want := "2 records, 0 bad"
			if tt.bad {
				want = "1 records, 1 bad"
			}
			for _, o := range []Options{{}, {Header: "X"}, {Header: "Other"}} {
				r := analyzeFiles(t, o, path)
				if got := fmt.Sprintf("%d records, %d bad", r.Records, r.BadRecords); got != want {
					t.Errorf("analysis, header %q: %s, want %s", o.Header, got, want)
				}
			}
			rep := replay(t, ReplayOptions{ACL: aclWith(t, "Blanket", 100, 60, "")}, path)
			if got := fmt.Sprintf("%d records, %d bad", rep.Records, rep.BadRecords); got != want {
				t.Errorf("replay: %s, want %s (%s)", got, want, strings.Join(rep.Warnings, "; "))
			}
		})
	}
}

// TestClientIPByAddress: a client is counted by its address, not by how
// its IP is spelled, by the analysis and by replay; an address with a
// zone, or no address, is a bad record.
func TestClientIPByAddress(t *testing.T) {
	tests := []struct {
		name string
		ips  []string
		want string // the top_ips rows, then the bad records
		bad  int64
	}{
		{"IPv4", []string{"192.0.2.1", "192.0.2.1"}, "192.0.2.1=2", 0},
		{"IPv6 spellings", []string{"2001:db8::1", "2001:DB8::1", "2001:db8:0:0::1", "2001:0db8::0001"}, "2001:db8::1=4", 0},
		{"IPv6 spellings, canonical last", []string{"2001:DB8::1", "2001:db8::1"}, "2001:db8::1=2", 0},
		{"IPv4-mapped", []string{"::ffff:1.2.3.4", "::FFFF:1.2.3.4", "1.2.3.4", "::ffff:102:304"}, "1.2.3.4=4", 0},
		{"IPv4-mapped first", []string{"::ffff:1.2.3.4", "1.2.3.4"}, "1.2.3.4=2", 0},
		{"IPv4 in IPv6 is not mapped", []string{"::1.2.3.4", "1.2.3.4"}, "1.2.3.4=1 ::102:304=1", 0},
		{"a zone", []string{"fe80::1%eth0", "fe80::1"}, "fe80::1=1", 1},
		{"a zone on a mapped address", []string{"::ffff:1.2.3.4%1", "1.2.3.4"}, "1.2.3.4=1", 1},
		{"leading zeros in IPv4", []string{"01.2.3.4", "1.2.3.4"}, "1.2.3.4=1", 1},
		{"no address", []string{"x", "1.2.3.4"}, "1.2.3.4=1", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rs []req
			for _, ip := range tt.ips {
				rs = append(rs, req{ip: ip})
			}
			path := writeFile(t, filepath.Join(t.TempDir(), "a.log"), lines(rs...), false)
			for _, w := range []int{1, 2} {
				r := analyzeFiles(t, Options{Workers: w, rangeSize: 700}, path)
				var got []string
				for _, c := range r.TopIPs {
					got = append(got, fmt.Sprintf("%s=%d", c.ClientIP, c.Requests))
				}
				if strings.Join(got, " ") != tt.want || r.BadRecords != tt.bad {
					t.Errorf("workers %d: %q, %d bad; want %q, %d bad", w, got, r.BadRecords, tt.want, tt.bad)
				}
			}
			// Replay reads the same addresses.
			rep := replay(t, ReplayOptions{ACL: aclWith(t, "Blanket", 100, 60, "")}, path)
			if rep.BadRecords != tt.bad || rep.Records != int64(len(tt.ips))-tt.bad {
				t.Errorf("replay: %d records, %d bad; want %d bad", rep.Records, rep.BadRecords, tt.bad)
			}
		})
	}
}
