package main

// The docs' static checks: what can be known of a block without running
// it, and the links between documents. TestDocs (docs_test.go) calls them.

import (
	"bytes"
	"encoding/xml"
	"fmt"
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
)

// checkRunBy checks that the test or file a block names exists and, for a
// file, holds the block's commands.
func checkRunBy(b docBlock, target string) error {
	if strings.HasPrefix(target, "Test") || strings.HasPrefix(target, "Example") {
		found := false
		filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
			if err != nil || found {
				return filepath.SkipDir
			}
			if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules" || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			if strings.HasSuffix(path, "_test.go") {
				src, _ := os.ReadFile(path)
				found = regexp.MustCompile(`(?m)^func ` + regexp.QuoteMeta(target) + `\(`).Match(src)
			}
			return nil
		})
		if !found {
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

// testLists remembers go test -list per directory and package: many
// blocks name the same package, and each -list compiles its tests.
var testLists sync.Map // [2]string{dir, pkg} → listResult

type listResult struct {
	out []byte
	err error
}

// goTestList runs go test -list . pkg in dir once per test binary.
func goTestList(dir, pkg string) ([]byte, error) {
	key := [2]string{dir, pkg}
	if r, ok := testLists.Load(key); ok {
		return r.(listResult).out, r.(listResult).err
	}
	cmd := exec.Command("go", "test", "-list", ".", pkg)
	cmd.Dir = dir
	// Never a download from inside the tests: a module not in the
	// cache is for .ci/run to fetch.
	cmd.Env = append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=readonly")
	out, err := cmd.CombinedOutput()
	testLists.Store(key, listResult{out, err})
	return out, err
}

// checkGoTestNames runs go test -list for each -run and -bench pattern
// (each alternative of a|b alone) and wants a name for each.
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
		out, err := goTestList(dir, pkg)
		if err != nil {
			if bytes.Contains(out, []byte("GOPROXY=off")) || bytes.Contains(out, []byte("module lookup disabled")) {
				t.Logf("%s: the modules of %s are not downloaded; names not checked", b, dir)
				return
			}
			t.Errorf("%s: go test -list %s (in %s): %v\n%s", b, pkg, dir, err, out)
			return
		}
		listed[pkg] = strings.Fields(string(out))
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
