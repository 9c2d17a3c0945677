package main

// The docs' static checks: what can be known of a block without running
// it, and the links between documents. TestDocs (docs_test.go) calls them.

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"go/ast"
	gobuild "go/build"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode"
	"unicode/utf8"
)

// checkRunBy checks that the test or file a block names exists and, for a
// file, holds the block's commands.
func checkRunBy(b docBlock, target string) error {
	if strings.HasPrefix(target, "Test") || strings.HasPrefix(target, "Example") {
		if !testFuncs()[target] {
			return fmt.Errorf("run-by %s: no test function of that name in the repository", target)
		}
		return nil
	}
	src, err := os.ReadFile(filepath.Join("../..", target))
	if err != nil {
		return fmt.Errorf("run-by %s: %v", target, err)
	}
	for _, line := range strings.Split(b.body, "\n") {
		line, _, _ = strings.Cut(line, " #") // a comment for the reader
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") && !bytes.Contains(src, []byte(line)) {
			return fmt.Errorf("run-by %s: it does not contain the block's %q", target, line)
		}
	}
	return nil
}

// testFuncs are the names of the functions declared at the start of a
// line ("func Name(") in the repository's _test.go files, outside
// testdata. Read once: run-by markers and SECURITY.md name dozens.
var testFuncs = sync.OnceValue(func() map[string]bool {
	names := map[string]bool{}
	decl := regexp.MustCompile(`(?m)^func ([\p{L}\p{N}_]+)\(`)
	filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return filepath.SkipDir
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if strings.HasSuffix(path, "_test.go") {
			src, _ := os.ReadFile(path)
			for _, m := range decl.FindAllSubmatch(src, -1) {
				names[string(m[1])] = true
			}
		}
		return nil
	})
	return names
})

// checkNotRun checks what can be checked without running a block: the
// tests and benchmarks a go test command names exist, and a script given
// to bash exists and parses.
func checkNotRun(t *testing.T, b docBlock) {
	for _, line := range strings.Split(strings.ReplaceAll(b.body, "\\\n", " "), "\n") {
		fields := strings.Fields(line)
		dir := "../.."
		if len(fields) > 3 && fields[0] == "cd" && fields[2] == "&&" {
			dir, fields = filepath.Join(dir, fields[1]), fields[3:]
		}
		for len(fields) > 0 && regexp.MustCompile(`^[A-Z][A-Z0-9_]*=`).MatchString(fields[0]) {
			fields = fields[1:]
		}
		switch {
		case len(fields) >= 2 && fields[0] == "bash" && strings.HasSuffix(fields[1], ".sh"):
			if out, err := exec.Command("bash", "-n", filepath.Join(dir, fields[1])).CombinedOutput(); err != nil {
				t.Errorf("%s: %s: %v %s", b, fields[1], err, out)
			}
		case len(fields) >= 2 && fields[0] == "go" && fields[1] == "test":
			checkGoTestNames(t, b, dir, fields[2:])
		}
	}
}

// testNames lists the tests and benchmarks of the package pkg (a path
// relative to dir, or one ending in /... for those under it) as go test
// -list would: top-level functions TestX(*testing.T) and
// BenchmarkX(*testing.B) of the test files the build context selects.
// It parses rather than runs go test -list, which links a test binary per
// package (seconds each, for dozens of blocks); that the packages' tests
// compile is for their own go test.
func testNames(dir, pkg string) ([]string, error) {
	root, all := strings.CutSuffix(filepath.ToSlash(pkg), "/...")
	root = filepath.Join(dir, root)
	var dirs []string
	if !all {
		dirs = []string{root}
	} else {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return err
			}
			// As go's ./... does: no testdata, hidden or _ directories,
			// nor another module.
			if path != root {
				if n := d.Name(); n == "testdata" || n == "node_modules" || strings.HasPrefix(n, ".") || strings.HasPrefix(n, "_") {
					return filepath.SkipDir
				}
				if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
					return filepath.SkipDir
				}
			}
			dirs = append(dirs, path)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	var names []string
	fset := token.NewFileSet()
	for _, d := range dirs {
		p, err := gobuild.ImportDir(d, 0)
		if _, ok := err.(*gobuild.NoGoError); ok && all {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, f := range slices.Concat(p.TestGoFiles, p.XTestGoFiles) {
			file, err := parser.ParseFile(fset, filepath.Join(p.Dir, f), nil, parser.SkipObjectResolution)
			if err != nil {
				return nil, err
			}
			for _, decl := range file.Decls {
				if fn, ok := decl.(*ast.FuncDecl); ok && (isTestFunc(fn, "Test", "T") || isTestFunc(fn, "Benchmark", "B")) {
					names = append(names, fn.Name.Name)
				}
			}
		}
	}
	return names, nil
}

// isTestFunc reports whether fn is one go test runs: named prefix and
// then nothing or no lower-case letter (Testify is not a test), no
// receiver or type parameters, one parameter of type *testing.typ.
func isTestFunc(fn *ast.FuncDecl, prefix, typ string) bool {
	rest, ok := strings.CutPrefix(fn.Name.Name, prefix)
	if !ok || fn.Recv != nil || fn.Type.TypeParams != nil || fn.Type.Results != nil {
		return false
	}
	if r, _ := utf8.DecodeRuneInString(rest); rest != "" && unicode.IsLower(r) {
		return false
	}
	params := fn.Type.Params.List
	if len(params) != 1 || len(params[0].Names) > 1 {
		return false
	}
	star, ok := params[0].Type.(*ast.StarExpr)
	if !ok {
		return false
	}
	sel, ok := star.X.(*ast.SelectorExpr)
	return ok && sel.Sel.Name == typ
}

// checkGoTestNames lists the tests of the packages named (testNames) and
// wants a name for each -run and -bench pattern (each alternative of a|b
// alone).
func checkGoTestNames(t *testing.T, b docBlock, dir string, args []string) {
	var pkgs, patterns []string
	for i := 0; i < len(args); i++ {
		a := strings.Trim(args[i], `'"`)
		switch {
		case a == "-run" || a == "-bench":
			if i+1 < len(args) {
				i++
				// With -bench, -run only keeps the tests out (-run '^$',
				// -run XXX): its pattern names nothing.
				if p := strings.Trim(args[i], `'"`); p != "^$" && (a == "-bench" || !slices.Contains(args, "-bench")) {
					for _, alt := range splitTop(p, '|') {
						// A subtest or sub-benchmark: its parent is what -list shows.
						patterns = append(patterns, splitTop(alt, '/')[0])
					}
				}
			}
		case strings.HasPrefix(a, "./") || a == ".":
			pkgs = append(pkgs, a)
		}
	}
	if len(pkgs) == 0 {
		pkgs = []string{"."}
	}
	if len(patterns) == 0 {
		return
	}
	listed := map[string][]string{}
	for _, pkg := range pkgs {
		names, err := testNames(dir, pkg)
		if err != nil {
			t.Errorf("%s: the tests of %s (in %s): %v", b, pkg, dir, err)
			return
		}
		listed[pkg] = names
	}
	for _, p := range patterns {
		re, err := regexp.Compile(p)
		if err != nil {
			t.Errorf("%s: pattern %q: %v", b, p, err)
			continue
		}
		found := false
		for _, names := range listed {
			found = found || slices.ContainsFunc(names, func(n string) bool {
				return (strings.HasPrefix(n, "Test") || strings.HasPrefix(n, "Benchmark")) && re.MatchString(n)
			})
		}
		if !found {
			t.Errorf("%s: %q matches no test or benchmark in %v (renamed?)", b, p, pkgs)
		}
	}
}

// checkCLIUse checks every lockgate command line of a block against the
// CLI as it is: the subcommands exist, and so do the flags, none of them
// deprecated (a doc teaches what is current).
func checkCLIUse(b docBlock) error {
	joined := strings.ReplaceAll(b.body, "\\\n", " ")
	for _, line := range strings.Split(joined, "\n") {
		fields := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "$ "))
		for len(fields) > 0 && regexp.MustCompile(`^[A-Z][A-Z0-9_]*=`).MatchString(fields[0]) {
			fields = fields[1:]
		}
		switch {
		case len(fields) > 0 && (fields[0] == "lockgate" || fields[0] == "./lockgate"):
			fields = fields[1:]
		case len(fields) > 2 && fields[0] == "go" && fields[1] == "run" && fields[2] == "./cmd/lockgate":
			fields = fields[3:]
		default:
			continue
		}
		var args []string
		for _, f := range fields {
			if strings.ContainsAny(f[:1], "|>&;#<") || f == "…" || f == "..." {
				break
			}
			args = append(args, strings.Trim(f, `'"`))
		}
		root := newRoot()
		cmd, rest, err := root.Find(args)
		if err != nil {
			return fmt.Errorf("lockgate %s: %v", strings.Join(args, " "), err)
		}
		// A command group takes no arguments: one there is a mistyped
		// subcommand (a command with subcommands of its own may take some).
		if cmd.HasSubCommands() && len(rest) > 0 && !strings.HasPrefix(rest[0], "-") && (!cmd.Runnable() || cmd.Args == nil || cmd.ValidateArgs(rest[:1]) != nil) {
			return fmt.Errorf("lockgate %s: %q is not a subcommand of %q", strings.Join(args, " "), rest[0], cmd.CommandPath())
		}
		for _, a := range rest {
			if !strings.HasPrefix(a, "--") || a == "--" || a == "--help" {
				continue
			}
			name, _, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
			f := cmd.Flags().Lookup(name)
			if f == nil {
				f = cmd.InheritedFlags().Lookup(name)
			}
			switch {
			case f == nil:
				return fmt.Errorf("%s: no flag --%s (see lockgate %s --help)", cmd.CommandPath(), name, strings.TrimPrefix(cmd.CommandPath(), "lockgate "))
			case f.Deprecated != "":
				return fmt.Errorf("%s --%s is deprecated: %s", cmd.CommandPath(), name, f.Deprecated)
			}
		}
	}
	return nil
}

// Every relative link of the docs names a file of the repository (one a
// reader of a clone, or of GitHub, can open), and a #fragment a heading.
func TestDocLinks(t *testing.T) {
	root, _ := filepath.Abs("../..")
	link := regexp.MustCompile(`\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
	for _, f := range docFiles(t) {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimPrefix(f, "../../")
		for _, m := range link.FindAllStringSubmatch(string(src), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path, frag, _ := strings.Cut(target, "#")
			file := f
			if path != "" {
				file = filepath.Join(filepath.Dir(f), path)
				abs, _ := filepath.Abs(file)
				if rel, err := filepath.Rel(root, abs); err != nil || strings.HasPrefix(rel, "..") {
					t.Errorf("%s: link %s leaves the repository", name, target)
					continue
				}
				if _, err := os.Stat(file); err != nil {
					t.Errorf("%s: link %s: %v", name, target, err)
					continue
				}
			}
			if frag != "" && strings.HasSuffix(file, ".md") && !slices.Contains(headingAnchors(t, file), frag) {
				t.Errorf("%s: link %s: no heading makes the anchor #%s", name, target, frag)
			}
		}
	}
}

// headingAnchors are the anchors GitHub makes of a Markdown file's
// headings: lower case, spaces to hyphens, punctuation dropped.
func headingAnchors(t *testing.T, file string) []string {
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	inFence := false
	for _, l := range strings.Split(string(src), "\n") {
		if fence.MatchString(l) {
			inFence = !inFence
		}
		if h, ok := strings.CutPrefix(l, "#"); ok && !inFence {
			h = strings.ToLower(strings.TrimSpace(strings.TrimLeft(h, "#")))
			var b strings.Builder
			for _, r := range h {
				switch {
				case r == ' ' || r == '-':
					b.WriteRune('-')
				case r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
					b.WriteRune(r)
				}
			}
			out = append(out, b.String())
		}
	}
	return out
}

// The docs' pictures are well-formed SVG with a title (GitHub shows a
// broken image for a file that does not parse, and screen readers read
// the title).
func TestDocPictures(t *testing.T) {
	files, _ := filepath.Glob("../../docs/*.svg")
	if len(files) == 0 {
		t.Fatal("no docs/*.svg")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := xml.NewDecoder(bytes.NewReader(data))
		var root string
		title := false
		for {
			tok, err := dec.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if se, ok := tok.(xml.StartElement); ok {
				if root == "" {
					root = se.Name.Local
				}
				title = title || se.Name.Local == "title"
			}
		}
		if root != "svg" || !title {
			t.Errorf("%s: root <%s>, title %v: want <svg> with a <title>", f, root, title)
		}
	}
}

// splitTop splits a go test pattern at sep outside parentheses, as go
// test splits -run and -bench at '/' (and as '|' separates alternatives).
func splitTop(p string, sep rune) []string {
	var out []string
	depth, start := 0, 0
	for i, r := range p {
		switch {
		case r == '(':
			depth++
		case r == ')':
			depth--
		case r == sep && depth == 0:
			out = append(out, p[start:i])
			start = i + 1
		}
	}
	return append(out, p[start:])
}

// SECURITY.md holds lockgate to its promises by naming tests: each must
// exist (a renamed test would leave a promise nobody checks).
func TestSecurityPropertiesNameTests(t *testing.T) {
	src, err := os.ReadFile("../../SECURITY.md")
	if err != nil {
		t.Fatal(err)
	}
	names := regexp.MustCompile("`(Test[A-Za-z0-9_]+)`").FindAllStringSubmatch(string(src), -1)
	if len(names) < 10 {
		t.Fatalf("SECURITY.md names %d tests", len(names))
	}
	for _, m := range names {
		if err := checkRunBy(docBlock{}, m[1]); err != nil {
			t.Errorf("SECURITY.md names %s: %v", m[1], err)
		}
	}
}
