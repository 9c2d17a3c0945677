package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
)

// Output conventions, the same for every command that prints data:
//
//   - -o table (default), -o json or -o yaml;
//   - a single object prints as that object;
//   - a list always prints as {"items": [...]}, whatever its length (0, 1
//     or many), so that scripts read .items[] without special cases;
//   - every table cell has its control characters escaped, so that data
//     from the outside (user names, devices) cannot drive the terminal.

// outputFlag adds -o to a command.
func outputFlag(c *cobra.Command) {
	c.Flags().StringP("output", "o", "table", "output format: table, json or yaml")
}

type printer struct {
	format string
	out    io.Writer
}

func newPrinter(c *cobra.Command) (*printer, error) {
	format := "table"
	if f := c.Flags().Lookup("output"); f != nil {
		format = f.Value.String()
	}
	switch format {
	case "table", "json", "yaml":
	default:
		return nil, usagef("-o %q: use table, json or yaml", format)
	}
	return &printer{format: format, out: c.OutOrStdout()}, nil
}

// structured reports whether the output is for programs.
func (p *printer) structured() bool { return p.format != "table" }

// object prints v, or the table fill draws.
func (p *printer) object(v any, fill func(*table)) error {
	switch p.format {
	case "json":
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			return err
		}
		_, err := p.out.Write(escapeTerminal(buf.Bytes()))
		return err
	case "yaml":
		return writeYAML(p.out, v)
	}
	t := &table{}
	fill(t)
	t.write(p.out)
	return nil
}

// list prints items (a slice) as {"items": [...]}, or the table.
func (p *printer) list(items any, fill func(*table)) error {
	return p.object(listOf(items, nil), fill)
}

// page is a list with the cursor of its next page.
func listOf(items any, extra map[string]any) any {
	v := reflect.ValueOf(items)
	if v.Kind() == reflect.Slice && v.IsNil() {
		items = reflect.MakeSlice(v.Type(), 0, 0).Interface() // [] rather than null
	}
	out := map[string]any{"items": items}
	for k, x := range extra {
		out[k] = x
	}
	return out
}

// writeYAML writes v as YAML with the JSON field names and order: JSON is
// YAML, so v's JSON is read back as a YAML tree and written in block
// style.
func writeYAML(w io.Writer, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var n yaml.Node
	// The YAML reader refuses raw C1 controls that JSON leaves raw:
	// escaped, they are the same characters to it.
	if err := yaml.Unmarshal(escapeTerminal(data), &n); err != nil {
		return err
	}
	var block func(*yaml.Node)
	block = func(n *yaml.Node) {
		n.Style &^= yaml.FlowStyle
		if n.Kind == yaml.ScalarNode && n.Style&yaml.DoubleQuotedStyle != 0 && !needsQuotes(n.Value) && safe(n.Value) == n.Value {
			n.Style &^= yaml.DoubleQuotedStyle
		}
		for _, c := range n.Content {
			block(c)
		}
	}
	block(&n)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return err
	}
	_, err = w.Write(escapeTerminal(buf.Bytes()))
	return err
}

// escapeTerminal rewrites, in JSON or YAML output, the characters JSON
// and YAML leave raw but a terminal acts on: DEL (U+007F, which the YAML
// reader also refuses raw), C1 controls (U+0080–U+009F, U+009B is a
// one-character CSI) and the bidirectional formatting characters. They only occur inside strings, where \uXXXX means the same
// character to a parser, so programs read the same data.
func escapeTerminal(b []byte) []byte {
	if !bytes.ContainsFunc(b, func(r rune) bool { return r >= 0x7f && r <= 0x9f || isBidi(r) }) {
		return b
	}
	var out bytes.Buffer
	for _, r := range string(b) {
		if r >= 0x7f && r <= 0x9f || isBidi(r) {
			fmt.Fprintf(&out, "\\u%04x", r)
			continue
		}
		out.WriteRune(r)
	}
	return out.Bytes()
}

// needsQuotes reports whether a string would read back as another type
// (a number, a boolean, null) or is otherwise unsafe bare.
func needsQuotes(s string) bool {
	var v any
	if err := yaml.Unmarshal([]byte(s), &v); err != nil {
		return true
	}
	str, ok := v.(string)
	return !ok || str != s
}

// table is rows of text cells under a header.
type table struct {
	header []string
	rows   [][]string
}

func (t *table) head(cells ...string) { t.header = cells }

func (t *table) row(cells ...string) {
	for i, c := range cells {
		cells[i] = safe(c)
	}
	t.rows = append(t.rows, cells)
}

func (t *table) write(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if len(t.header) > 0 {
		fmt.Fprintln(tw, strings.Join(t.header, "\t"))
	}
	for _, r := range t.rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}

// safe escapes control characters (and tabs, which would break the
// columns), so that a value received from the outside cannot move the
// cursor, change colours or rewrite the terminal's title.
func safe(s string) string {
	clean := true
	for _, r := range s {
		if r == '\t' || unicode.IsControl(r) || r == unicode.ReplacementChar || isBidi(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\t' || unicode.IsControl(r) || isBidi(r):
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		case r == unicode.ReplacementChar:
			b.WriteString(`\ufffd`)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// safeMessage is safe for a message of one or more lines, such as an
// error: newlines and tabs stay as its layout, every other control
// character is escaped. Errors echo what was typed or received (a name
// piped from a JSON listing, which decodes \u001b back to ESC, a server's
// message): printed raw, it could set the terminal's title or colours.
// Every error the CLI prints goes through it.
func safeMessage(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		cells := strings.Split(l, "\t")
		for j, c := range cells {
			cells[j] = safe(c)
		}
		lines[i] = strings.Join(cells, "\t")
	}
	return strings.Join(lines, "\n")
}

// isBidi reports the bidirectional formatting characters that can make a
// terminal show text in another order than it is (Trojan Source).
func isBidi(r rune) bool {
	return r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069 || r == 0x200E || r == 0x200F || r == 0x061C
}
