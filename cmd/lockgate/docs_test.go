package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lockgate/lockgate/internal/server"
)

// Docs that are tested: every shell block of README.md and docs/*.md is
// run here, run by a test it names, or says why it cannot run here; every
// YAML block is a configuration that `lockgate config validate` accepts.
// The marker is an HTML comment on the line before the block's fence
// (GitHub does not show it):
//
//	<!-- run: OPTIONS -->       optional: how TestDocs runs the block
//	<!-- run-by: NAME -->       a Go test (func NAME) or a file (e.g. .ci/run) that runs it
//	<!-- not-run: REASON -->    not runnable here, and why
//
// howToMark is what a doc's author reads when TestDocs fails.
const howToMark = `
A shell block (` + "```sh, ```bash, ```console, or a bare ``` block starting with a command" + `) must be
one of these (the marker is an HTML comment alone on the line before the opening fence):
  - runnable here: leave it unmarked. TestDocs runs it with bash -e -o pipefail in a scratch copy
    of the repository, with a freshly built lockgate on PATH, LOCKGATE_LISTEN and
    LOCKGATE_PUBLIC_URL on a free port, and 127.0.0.1:8080 in the text replaced by that port.
    Options, if needed: <!-- run: exit=3 serves timeout=5m needs=openssl,curl -->
      exit=N     the exit status it should end with (default 0)
      serves     it starts a server that keeps running: it passes once /readyz answers 200
      timeout=D  how long it may take (default 2m)
      needs=a,b  tools it needs beyond Go and bash (the block skips without them, fails with CI=true)
      env=A,B    variables the reader is to set (secrets): TestDocs sets them to random values
  - run by another test: <!-- run-by: TestName --> (a Go test function that runs it verbatim),
    or <!-- run-by: .ci/run --> (a file that contains its commands verbatim);
  - not runnable here: <!-- not-run: why, e.g. needs AWS credentials -->. go test commands in
    such a block still have their packages and -run/-bench names checked (as go test -list shows them), and
    "bash FILE" its script parsed.
A ` + "```yaml" + ` block is validated as a lockgate configuration (files it names may be missing; a
secret it leaves to the environment: <!-- run: env=LOCKGATE_EVENTS_SECRET -->); mark a YAML block
that is not one with <!-- not-run: REASON -->.
Run one block: go test ./cmd/lockgate -run 'TestDocs/README.md:93'  (file:line of the fence).`

// docBlock is a fenced block of a Markdown file.
type docBlock struct {
	file   string // relative to the repository root
	line   int    // of the opening fence
	lang   string
	body   string
	marker string // the HTML comment on the line before the fence, if any
}

func (b docBlock) String() string { return fmt.Sprintf("%s:%d", b.file, b.line) }

var commandLine = regexp.MustCompile(`^(\$ )?(go|bash|sh|lockgate|\./lockgate|curl|cd|export|docker|kubectl|systemctl|systemd-analyze|sudo|aws|sam|make|git|wrk|apt-get|psql|redis-cli|openssl|scripts/\S+|[A-Z][A-Z0-9_]*=\S*)(\s|$)`)

// shell reports whether the block is one of commands: a shell language,
// or no language and a first line that is a command.
func (b docBlock) shell() bool {
	switch b.lang {
	case "sh", "bash", "shell", "console", "shell-session", "zsh":
		return true
	case "":
		first, _, _ := strings.Cut(strings.TrimSpace(b.body), "\n")
		return commandLine.MatchString(first)
	}
	return false
}

var fence = regexp.MustCompile("^( {0,3})(```+|~~~+)\\s*([^`\\s]*)")

// parseBlocks finds the fenced blocks of a Markdown document.
func parseBlocks(file, src string) []docBlock {
	lines := strings.Split(src, "\n")
	var out []docBlock
	for i := 0; i < len(lines); i++ {
		m := fence.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		b := docBlock{file: file, line: i + 1, lang: strings.ToLower(m[3])}
		if i > 0 {
			if prev := strings.TrimSpace(lines[i-1]); strings.HasPrefix(prev, "<!--") && strings.HasSuffix(prev, "-->") {
				b.marker = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(prev, "<!--"), "-->"))
			}
		}
		var body []string
		for i++; i < len(lines); i++ {
			if c := strings.TrimSpace(lines[i]); strings.HasPrefix(c, m[2]) && strings.Trim(c, m[2][:1]) == "" {
				break
			}
			body = append(body, strings.TrimPrefix(lines[i], m[1]))
		}
		b.body = strings.Join(body, "\n") + "\n"
		out = append(out, b)
	}
	return out
}

// directive is what a block's marker asks.
type directive struct {
	kind    string // "run" (also for no marker), "run-by", "not-run", or "" for a comment that is no marker
	arg     string // run-by's target, not-run's reason
	exit    int
	serves  bool
	timeout time.Duration
	needs   []string
	env     []string // variables the reader sets; TestDocs sets them to random values
}

func parseMarker(m string) (directive, error) {
	d := directive{kind: "run", timeout: 2 * time.Minute}
	kind, arg, found := strings.Cut(m, ":")
	kind, arg = strings.TrimSpace(kind), strings.TrimSpace(arg)
	if m == "" {
		return d, nil
	}
	switch {
	case kind == "not-run" && found:
		if arg == "" {
			return d, errors.New("not-run needs a reason: <!-- not-run: needs AWS credentials -->")
		}
		return directive{kind: "not-run", arg: arg}, nil
	case kind == "run-by" && found:
		if arg == "" || strings.ContainsAny(arg, " \t") {
			return d, fmt.Errorf("run-by %q: name one Go test function or one file", arg)
		}
		return directive{kind: "run-by", arg: arg}, nil
	case kind == "run" && found:
		for _, opt := range strings.Fields(arg) {
			name, val, _ := strings.Cut(opt, "=")
			var err error
			switch name {
			case "exit":
				d.exit, err = strconv.Atoi(val)
			case "serves":
				d.serves = val == ""
			case "timeout":
				d.timeout, err = time.ParseDuration(val)
			case "needs":
				d.needs = strings.Split(val, ",")
			case "env":
				d.env = strings.Split(val, ",")
			default:
				err = errors.New("unknown option")
			}
			if err != nil || (name == "serves" && val != "") {
				return d, fmt.Errorf("run option %q: %v (options: exit=N serves timeout=D needs=a,b env=A,B)", opt, err)
			}
		}
		return d, nil
	}
	switch k := strings.ReplaceAll(strings.ToLower(strings.Fields(kind + " x")[0]), "_", "-"); k {
	case "run", "run-by", "runby", "not-run", "notrun", "no-run", "norun", "skip", "dont-run":
		return d, fmt.Errorf("marker %q: write <!-- run: OPTIONS -->, <!-- run-by: NAME --> or <!-- not-run: REASON -->", m)
	}
	return directive{kind: "run", timeout: d.timeout}, nil // another comment: the block is unmarked
}

// docFiles are the documents whose blocks are tested.
func docFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{"../../README.md"}, files...)
}

func allBlocks(t *testing.T) []docBlock {
	t.Helper()
	var out []docBlock
	for _, f := range docFiles(t) {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, parseBlocks(strings.TrimPrefix(f, "../../"), string(src))...)
	}
	return out
}

func TestDocs(t *testing.T) {
	t.Parallel()
	for _, b := range allBlocks(t) {
		d, err := parseMarker(b.marker)
		if err != nil {
			t.Errorf("%s: %v\n%s", b, err, howToMark)
			continue
		}
		if b.shell() {
			if err := checkCLIUse(b); err != nil {
				t.Errorf("%s: %v", b, err)
			}
		}
		switch {
		case b.shell() && d.kind == "not-run":
			t.Run(b.String(), func(t *testing.T) { checkNotRun(t, b) })
		case b.shell() && d.kind == "run-by":
			if err := checkRunBy(b, d.arg); err != nil {
				t.Errorf("%s: %v\n%s", b, err, howToMark)
			}
		case b.shell():
			// Each block has its own copy of the repository and its own
			// port: they run side by side, and beside the package's other
			// parallel tests.
			t.Run(b.String(), func(t *testing.T) {
				t.Parallel()
				runShellBlock(t, b, d)
			})
		case (b.lang == "yaml" || b.lang == "yml") && d.kind != "not-run":
			t.Run(b.String(), func(t *testing.T) { validateConfigBlock(t, b, d) })
		case b.marker != "" && d.kind == "run" && strings.HasPrefix(b.marker, "run"):
			t.Errorf("%s: a %q block with a run marker: only shell and YAML blocks run\n%s", b, b.lang, howToMark)
		}
	}
}

// The enforcement itself: each kind of block lands where it should, and
// a bad marker is an error.
func TestDocBlocksClassified(t *testing.T) {
	doc := "# x\n\n```sh\necho hi\n```\n\n<!-- not-run: needs AWS -->\n```bash\naws s3 ls\n```\n\n" +
		"<!-- run-by: TestExitCodes -->\n```console\nlockgate --version\n```\n\n```\ngo test ./...\n```\n\n" +
		"```\n{\"a\": 1}\n```\n\n<!-- run: exit=3 serves needs=wrk timeout=5m -->\n```sh\nlockgate serve\n```\n\n" +
		"   ```sh\n   indented\n   ```\n"
	blocks := parseBlocks("x.md", doc)
	type got struct {
		line  int
		shell bool
		kind  string
	}
	var have []got
	for _, b := range blocks {
		d, err := parseMarker(b.marker)
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		have = append(have, got{b.line, b.shell(), d.kind})
		if b.line == 26 && (d.exit != 3 || !d.serves || d.timeout != 5*time.Minute || !slices.Equal(d.needs, []string{"wrk"})) {
			t.Errorf("options: %+v", d)
		}
		if b.line == 30 && b.body != "indented\n" {
			t.Errorf("indented body %q", b.body)
		}
	}
	want := []got{{3, true, "run"}, {8, true, "not-run"}, {13, true, "run-by"}, {17, true, "run"}, {21, false, "run"}, {26, true, "run"}, {30, true, "run"}}
	if !slices.Equal(have, want) {
		t.Errorf("classified %v, want %v", have, want)
	}
	for _, bad := range []string{"not-run:", "not-run: ", "run: exit=x", "run: serve", "run-by: Two Names", "notrun: x", "not_run: x", "run-by TestX", "Not-Run: x", "skip: x"} {
		if _, err := parseMarker(bad); err == nil {
			t.Errorf("marker %q accepted", bad)
		}
	}
	for line, want := range map[string]string{
		"lockgate account lock --app x --user y":                         "deprecated",
		"./lockgate app craete --name x":                                 `"craete" is not a subcommand`,
		"lockgate app create --nme x":                                    "no flag --nme",
		"go run ./cmd/lockgate policy evaluate":                          "not a subcommand",
		"LOCKGATE_SERVER=x lockgate check --api http://x \\\n  --user a": "deprecated",
		"lockgate account lock \"$APP_ID\" alice --reason 'a b' | tee x": "",
		"lockgate waf test --acl a.json --repeat 200 # --nonsense":       "",
	} {
		err := checkCLIUse(docBlock{body: line + "\n"})
		if (want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("checkCLIUse(%q) = %v, want %q", line, err, want)
		}
	}
	if got := splitTop("Throughput/(plain|gzip)/(a|b)$|Other", '|'); !slices.Equal(got, []string{"Throughput/(plain|gzip)/(a|b)$", "Other"}) {
		t.Errorf("splitTop: %q", got)
	}
	for _, comment := range []string{"walkthrough:begin", "note: a comment", "nothing to see"} {
		if d, err := parseMarker(comment); err != nil || d.kind != "run" {
			t.Errorf("comment %q: %+v %v; want an unmarked block", comment, d, err)
		}
	}
	if err := checkRunBy(docBlock{body: "go test ./...\n"}, "TestNoSuchTestAnywhere"); err == nil {
		t.Error("run-by a test that does not exist: accepted")
	}
	if err := checkRunBy(docBlock{body: "echo not in ci\n"}, ".ci/run"); err == nil {
		t.Error("run-by a file without the commands: accepted")
	}
	// The names go test -list shows for testdata/testnames, alone and
	// through a /... pattern; a not-run block's -run names are looked up
	// in them.
	for _, pkg := range []string{"testnames", "./..."} {
		names, err := testNames("testdata", pkg)
		slices.Sort(names)
		if want := []string{"BenchmarkB", "Test", "TestExternal", "TestÉtat"}; err != nil || !slices.Equal(names, want) {
			t.Errorf("testNames(testdata, %s) = %q, %v; want %q", pkg, names, err, want)
		}
	}
	if _, err := testNames("testdata", "nosuchpackage"); err == nil {
		t.Error("testNames of a missing directory: no error")
	}
}

// scratchRepo copies the repository (without its history, data or
// build outputs) into a temporary directory, as a clean clone would be.
func scratchRepo(t *testing.T) string {
	t.Helper()
	root, _ := filepath.Abs("../..")
	dir := t.TempDir()
	skip := map[string]bool{".git": true, "node_modules": true, "lockgate-data": true, "dist": true}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if skip[d.Name()] || rel == "lockgate" || rel == "demo-app.json" || rel == filepath.Join("deploy", "aws", "build") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dir, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type().IsRegular():
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			info, _ := d.Info()
			return os.WriteFile(target, data, info.Mode().Perm())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// blockEnv is a user's shell environment: lockgate on PATH, lockgate's
// own variables cleared, and lockgate's default address moved to addr.
//
// It adds -trimpath to GOFLAGS. The go command keys a package it compiles
// on the package's directory unless -trimpath is set, and each block runs
// in a fresh copy of the repository: without it every go run, go build or
// go test of a block compiled the whole module again (a minute of both
// cores, at every run of the suite). With it the build cache serves them
// all; the programs are the same but for the file paths they hold.
func blockEnv(addr string) []string {
	var env []string
	goflags := "-trimpath"
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "LOCKGATE_") && !strings.HasPrefix(kv, "LOCKGATE_TEST_") {
			continue
		}
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			kv = "PATH=" + filepath.Dir(binary) + string(os.PathListSeparator) + v
		}
		if v, ok := strings.CutPrefix(kv, "GOFLAGS="); ok {
			goflags = strings.TrimSpace(v + " " + goflags)
			continue
		}
		env = append(env, kv)
	}
	return append(env, "GOFLAGS="+goflags, "LOCKGATE_LISTEN="+addr, "LOCKGATE_PUBLIC_URL=http://"+addr)
}

// blockChecks look further at the output of particular blocks, chosen by
// a line the block holds.
var blockChecks = map[string]func(t *testing.T, out string){
	"./lockgate app create --name Demo": checkWalkthrough,
}

func runShellBlock(t *testing.T, b docBlock, d directive) {
	if testing.Short() {
		t.Skip("runs the docs' commands: not in -short")
	}
	for _, tool := range d.needs {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s needs %s: install it (.ci/run installs what CI needs)", b, tool)
			}
			t.Skipf("%s needs %s: install it to run this block", b, tool)
		}
	}
	addr := freeAddr(t)
	script := strings.NewReplacer("127.0.0.1:8080", addr, "localhost:8080", addr).Replace(b.body)
	if b.lang == "console" || strings.HasPrefix(strings.TrimSpace(b.body), "$ ") {
		script = consoleCommands(script)
	}
	ctx, cancel := context.WithTimeout(context.Background(), d.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-e", "-o", "pipefail", "-c", script)
	cmd.Dir = scratchRepo(t)
	cmd.Env = append(blockEnv(addr), randomSecrets(d.env)...)
	// Its own process group, so that servers it leaves behind go with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	out := &logBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 5 * time.Second // a server left running keeps the output open
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	if d.serves {
		waitServing(t, b, cmd, addr, out, d.timeout)
		return
	}
	err := cmd.Wait()
	code := cmd.ProcessState.ExitCode()
	if ctx.Err() != nil {
		t.Fatalf("%s did not finish within %v (set <!-- run: timeout=… --> if it needs longer):\n%s", b, d.timeout, out)
	}
	if code != d.exit {
		t.Fatalf("%s exited %d (%v), want %d. Its output:\n%s\nThe block as run:\n%s\n%s", b, code, err, d.exit, out, script, howToMark)
	}
	for line, check := range blockChecks {
		if strings.Contains(b.body, line) {
			check(t, out.String())
		}
	}
}

// waitServing passes once the server the block started answers /readyz
// within timeout, the block's own (a block that builds first, as `go run`
// does, needs longer on a loaded machine).
func waitServing(t *testing.T, b docBlock, cmd *exec.Cmd, addr string, out *logBuffer, timeout time.Duration) {
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(timeout)
	for {
		select {
		case err := <-exited:
			t.Fatalf("%s should keep serving; it ended (%v):\n%s", b, err, out)
		case <-deadline:
			t.Fatalf("%s: nothing ready at %s within %v (set <!-- run: serves timeout=… --> if it needs longer):\n%s", b, addr, timeout, out)
		case <-tick.C:
			if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					return
				}
			}
		}
	}
}

// randomSecrets gives each variable a value of its own, as a reader
// following the docs would.
func randomSecrets(names []string) []string {
	var env []string
	for _, n := range names {
		b := make([]byte, 24)
		rand.Read(b)
		env = append(env, n+"="+hex.EncodeToString(b))
	}
	return env
}

// consoleCommands keeps the commands of a console transcript: the lines
// after "$ ", and the lines a trailing backslash continues.
func consoleCommands(s string) string {
	var cmds []string
	more := false
	for _, l := range strings.Split(s, "\n") {
		c, ok := strings.CutPrefix(l, "$ ")
		if ok || more {
			if !ok {
				c = l
			}
			cmds = append(cmds, c)
			more = strings.HasSuffix(c, "\\")
		}
	}
	return strings.Join(cmds, "\n") + "\n"
}

// checkWalkthrough: the README's walkthrough gets the answers it says:
// unlocked, locked, unlocked for 15 minutes, and unlocked over curl.
func checkWalkthrough(t *testing.T, out string) {
	var seen []string
	answer := regexp.MustCompile(`^(?:(true|false)\s+(?:locked|unlocked)\b|  "locked": (true|false),|\{"locked":(true|false),)`)
	for _, line := range strings.Split(out, "\n") {
		if m := answer.FindStringSubmatch(line); m != nil {
			seen = append(seen, m[1]+m[2]+m[3])
		}
	}
	if strings.Join(seen, ",") != "false,true,false,false" {
		t.Fatalf("lock answers %v, want false,true,false,false\n%s", seen, out)
	}
	for _, want := range []string{"unlocked", "lockgate-cli", "awsiamuser", "admin"} {
		if !strings.Contains(out, want) {
			t.Errorf("walkthrough output lacks %q\n%s", want, out)
		}
	}
}

// validateConfigBlock provisions a YAML block as serve would (what
// lockgate config validate does), with the environment the marker names
// and nothing else from it. The files it names are the reader's: only
// their absence is forgiven.
func validateConfigBlock(t *testing.T, b docBlock, d directive) {
	dir := t.TempDir()
	path := filepath.Join(dir, "lockgate.yaml")
	if err := os.WriteFile(path, []byte(b.body), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, kv := range randomSecrets(d.env) {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	cfg, src, err := server.Load(path, func(k string) string { return env[k] })
	if err == nil {
		_, err = server.Provision(cfg, src, nil, server.Options{})
	}
	if err == nil {
		return
	}
	var problems []string
	for _, l := range strings.Split(err.Error(), "\n") {
		// A missing file, or the missing directory of a log file to be
		// created, is the reader's to provide.
		if !strings.Contains(l, "no such file or directory") && !strings.Contains(l, "does not exist") {
			problems = append(problems, strings.Replace(l, path, b.String()+"+", 1))
		}
	}
	if len(problems) > 0 {
		t.Errorf("%s: lockgate config validate finds (line numbers within the block):\n%s\n%s", b, strings.Join(problems, "\n"), howToMark)
	}
}
