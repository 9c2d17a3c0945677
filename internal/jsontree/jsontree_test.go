package jsontree

import (
	"strings"
	"testing"
)

// Problems of syntax say their line and column, not a byte offset
// (atk9f F4: "invalid JSON at byte 48").
func TestDecodeProblemsHaveLineAndColumn(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"a stray comma", "{\n \"Name\": \"x\",\n \"DefaultAction\": {\"Allow\": {}},,\n \"Rules\": []\n}\n",
			"line 3, column 32: invalid JSON: invalid character ',' looking for beginning of object key string"},
		{"the first byte", "x", "line 1, column 1: invalid JSON: invalid character 'x' looking for beginning of value"},
		{"cut short", "{\n\"a\": [1,\n", "line 3, column 1: invalid JSON: unexpected end of input"},
		{"trailing data", "{}\n  {}", "line 2, column 3: trailing data after the document"},
		{"a duplicate key", "{\"a\": {\n  \"b\": 1,\n  \"b\": 2}}", "line 3, column 5: a.b: duplicate key \"b\""},
		{"too deep", "[[[[\n[", "line 2, column 1: JSON nested deeper than 3 levels"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode([]byte(tt.doc), 1<<20, 3)
			if err == nil {
				t.Fatal("decoded")
			}
			got := Problems(err).Error()
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			if strings.Contains(got, "byte") {
				t.Errorf("a byte offset is left: %s", got)
			}
		})
	}
}
