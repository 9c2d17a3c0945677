package analyze

import (
	"bytes"
	"encoding/csv"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lockgate/lockgate/internal/waflog"
)

// Header values and URIs come from clients: written verbatim into a CSV
// cell, "=HYPERLINK(…)" runs when an operator opens the report in a
// spreadsheet. Every cell that would start a formula is prefixed with a
// single quote (OWASP ASVS 1.2.10: "special characters (including '=',
// '+', '-', '@', '\t' (tab), and '\0' (null character)) must be escaped
// with a single quote if they appear as the first character in a field
// value"), in the report and in the replay.
func TestCSVNeutralisesFormulas(t *testing.T) {
	payloads := []string{`=HYPERLINK("http://evil.example/x","click")`, "+1+cmd|calc", "-2+3", "@SUM(A1:A2)", "\t=1+1", "\r=1+1"}
	var rs []req
	for i, p := range payloads {
		rs = append(rs, req{at: 0, ip: "10.0.0." + string(rune('1'+i)), uri: "/" + p, headers: []waflog.Header{{Name: "X-Forwarded-For", Value: p}}})
	}
	path := writeFile(t, filepath.Join(t.TempDir(), "a.log"), lines(rs...), false)
	r := analyzeFiles(t, Options{Header: "X-Forwarded-For", Top: 50}, path)
	var out bytes.Buffer
	if err := r.Write(&out, "csv"); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, rec := range recs {
		for _, cell := range rec {
			if cell != "" && strings.ContainsRune("=+-@\t\r\x00", rune(cell[0])) {
				t.Errorf("cell %q starts a formula", cell)
			}
			seen[cell] = true
		}
	}
	for _, p := range payloads {
		if !seen["'"+p] {
			t.Errorf("value %q is not in the CSV as '%s", p, p)
		}
	}
	for _, c := range []struct{ in, want string }{{"", ""}, {"10.0.0.1", "10.0.0.1"}, {"/login", "/login"}, {"=1", "'=1"}, {"'=1", "'=1"}, {"\x00x", "'\x00x"}} {
		if got := csvCell(c.in); got != c.want {
			t.Errorf("csvCell(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	rep := &ReplayReport{Rules: []RuleReplay{{Rule: "R", TopKeys: []KeyReplay{{Key: "=cmd|'/c calc'!A1"}}}}}
	out.Reset()
	if err := rep.Write(&out, "csv"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `'=cmd|'/c calc'!A1`) {
		t.Errorf("replay CSV key not neutralised:\n%s", out.String())
	}
}
