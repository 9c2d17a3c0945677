package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// binary is the lockgate the process tests run: a link named lockgate to
// this test binary, which is lockgate when it runs under that name.
var binary string

// TestMain runs main when the test binary is started under a name
// lockgate has (the link in binary, or TestBootstrapByFunctionName's
// bootstrap): the test binary holds package main, so one link of the
// package serves both the tests and the processes they start. A go build
// here used to link lockgate a second time, the package's largest single
// cost; the program is the same code, compiled with the same flags.
// (So a test binary saved as "go test -c -o lockgate" is lockgate, not
// the tests: keep go test's default name, lockgate.test.)
func TestMain(m *testing.M) {
	switch filepath.Base(os.Args[0]) {
	case "lockgate", "bootstrap":
		main()
		return
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(os.Stderr, "finding the test binary: %v\n", err)
		os.Exit(1)
	}
	dir, err := os.MkdirTemp("", "lockgate-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "lockgate")
	if err := os.Symlink(self, binary); err != nil {
		fmt.Fprintf(os.Stderr, "linking lockgate to the test binary: %v\n", err)
		os.Exit(1)
	}
	flag.Parse() // for testing.Short and -run, before m.Run
	prestart(dir)
	code := m.Run()
	for _, b := range prestarted {
		b.wait() // a test that was skipped leaves its build running
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// prestarted holds the builds TestMain starts before the tests, by the
// name of the test that checks them. A build takes up to a minute of
// linking; started with the tests that run one at a time (and leave a core
// idle), it is done or nearly done when its test's turn comes, instead of
// running alone at the end of the package.
var prestarted = map[string]*background{}

// prestart starts, in a directory under dir, the build of each test that
// this run selects and that -short does not skip. The builds run one
// after the other: both compile the whole tree with -trimpath, which go
// test's own builds do not share, so the second finds every package in
// the build cache and only links. Run side by side they compiled it
// twice at once, and on a loaded 2-core machine the package passed go
// test's 10-minute limit (a CI-like run beside two benchmarking helpers:
// both still building after 8 minutes).
func prestart(dir string) {
	if testing.Short() {
		return
	}
	var chain []*background
	for _, b := range []struct {
		name    string
		command buildFunc
	}{
		{"TestReleaseScript", releaseCommand},
		{"TestDockerfileBuildCommand", dockerBuildCommand},
	} {
		if !selected(b.name) {
			continue
		}
		out := filepath.Join(dir, b.name)
		if err := os.Mkdir(out, 0o755); err != nil {
			continue // the test builds for itself
		}
		if cmd, want, err := b.command(out); err == nil {
			bg := &background{cmd: cmd, dir: out, want: want, done: make(chan struct{})}
			prestarted[b.name] = bg
			chain = append(chain, bg)
		}
	}
	go func() {
		for _, b := range chain {
			b.out, b.err = b.cmd.CombinedOutput()
			close(b.done)
		}
	}()
}

// selected says whether -run and -skip let the top-level test name run.
// A pattern it cannot read selects the test: the worst case is a build
// that no test uses.
func selected(name string) bool {
	match := func(flagName string) (matched, set bool) {
		f := flag.Lookup(flagName)
		if f == nil || f.Value.String() == "" {
			return false, false
		}
		top := strings.Split(f.Value.String(), "/")[0]
		ok, err := regexp.MatchString(top, name)
		return ok || err != nil, true
	}
	if ok, set := match("test.run"); set && !ok {
		return false
	}
	if ok, set := match("test.skip"); set && ok {
		return false
	}
	return true
}

// buildFunc makes the command of a build writing to out, and says what
// the build is to stamp on its binary, read as the command is made: what
// the tree is when the build starts (git describe), not when its test
// runs.
type buildFunc func(out string) (cmd *exec.Cmd, want string, err error)

// background is a command running while the tests do.
type background struct {
	cmd  *exec.Cmd
	dir  string // where the command writes
	want string // from its buildFunc
	done chan struct{}
	out  []byte // its combined output
	err  error
}

func (b *background) wait() ([]byte, error) {
	<-b.done
	return b.out, b.err
}

// runBuild runs what command makes for the test t: the build TestMain
// started, or a new one in a temporary directory. It returns the
// directory the build wrote to and what command said it would stamp.
func runBuild(t *testing.T, command buildFunc) (dir, want string) {
	t.Helper()
	if b := prestarted[t.Name()]; b != nil {
		if out, err := b.wait(); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return b.dir, b.want
	}
	dir = t.TempDir()
	cmd, want, err := command(dir)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, out)
	}
	return dir, want
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// proc is a running lockgate serve.
type proc struct {
	cmd  *exec.Cmd
	addr string
	logs *logBuffer
}

// logBuffer collects a process's output; safe to read while it writes.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor waits until the output holds s (an event the process reports),
// or fails the test after a generous bound.
func (b *logBuffer) waitFor(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(b.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("the process never logged %q:\n%s", s, b.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (p *proc) url() string { return "http://" + p.addr }

// startServe runs lockgate serve with env and waits until it is ready.
func startServe(t *testing.T, addr string, env ...string) *proc {
	t.Helper()
	return startServeArgs(t, addr, nil, env...)
}

// startServeArgs is startServe with more arguments to serve.
func startServeArgs(t *testing.T, addr string, args []string, env ...string) *proc {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"serve"}, args...)...)
	cmd.Env = append(os.Environ(), append([]string{"LOCKGATE_LISTEN=" + addr, "LOCKGATE_PUBLIC_URL=http://" + addr}, env...)...)
	logs := &logBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, addr: addr, logs: logs}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(p.url() + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("lockgate did not become ready:\n%s", logs.String())
	return nil
}

// cliCase is one run of the binary: its arguments, the exit code wanted
// and text the output must contain.
type cliCase struct {
	name     string
	args     []string
	code     int
	contains []string
}

// runCLICases runs each case as a parallel subtest (each is a process of
// its own that reads its arguments' files and changes nothing, and most
// of its time is the process starting); check, when given, looks further
// at each case's output. The caller's cleanups run after the cases end.
func runCLICases(t *testing.T, tests []cliCase, check ...func(t *testing.T, tt cliCase, stdout string)) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stdout, stderr, code := runCLI(t, nil, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, tt.code, stdout, stderr)
			}
			for _, w := range tt.contains {
				if !strings.Contains(stdout+stderr, w) {
					t.Errorf("output lacks %q:\n%s%s", w, stdout, stderr)
				}
			}
			for _, c := range check {
				c(t, tt, stdout)
			}
		})
	}
}

func runCLI(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

func TestExitCodes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("listen: nowhere\npublic_urls:\n  - ftp://x\nlock_check:\n  leeway: 10m\n  max_token_lifetime: soon\n"), 0o600)
	unknown := filepath.Join(dir, "unknown.yaml")
	os.WriteFile(unknown, []byte("listen: 127.0.0.1:1\nlisten_addr: x\n"), 0o600)
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("listen: 0.0.0.0:9000\npublic_urls: [https://lock.example.com]\nlog:\n  format: json\n"), 0o600)
	bad2 := filepath.Join(dir, "bad2.yaml")
	os.WriteFile(bad2, []byte("listen: nowhere\npublic_urls:\n  - ftp://x\nlock_check:\n  leeway: 10m\n"), 0o600)
	tests := []cliCase{
		{"version", []string{"version"}, 0, []string{"lockgate"}},
		{"help", []string{"--help"}, 0, []string{"serve"}},
		{"subcommand help", []string{"app", "create", "--help"}, 0, []string{"--issuer"}},
		{"unknown command", []string{"frobnicate"}, 2, []string{"unknown command"}},
		{"unknown flag", []string{"serve", "--nope"}, 2, []string{"unknown flag"}},
		{"missing argument", []string{"config", "validate"}, 2, []string{"takes 1 argument"}},
		{"missing argument", []string{"account", "lock", "x"}, 2, []string{"missing USER (a username)\nUsage: lockgate account lock APP USER"}},
		{"deprecated flags still work", []string{"account", "lock", "--app", "x"}, 2, []string{"Flag --app has been deprecated", "missing USER"}},
		{"required flag", []string{"app", "create", "--issuer", "https://a.example"}, 2, []string{"lockgate: --name is required\n", "Run 'lockgate app create --help' for usage."}},
		{"typo in a subcommand", []string{"app", "craete"}, 2, []string{`unknown command "craete" for "lockgate app"; did you mean "create"?`}},
		{"typo in a command", []string{"acount"}, 2, []string{`unknown command "acount" for "lockgate"; did you mean "account"?`}},
		{"--version", []string{"--version"}, 0, []string{"lockgate "}},
		{"-v", []string{"-v"}, 0, []string{"lockgate "}},
		{"valid config", []string{"config", "validate", good}, 0, []string{"ok"}},
		{"unknown field", []string{"config", "validate", unknown}, 1, []string{`unknown.yaml:2:1: listen_addr: unknown key "listen_addr" here`}},
		{"bad duration", []string{"config", "validate", bad}, 1, []string{`bad.yaml:6:23: lock_check.max_token_lifetime: "soon" is not a duration`}},
		{"every problem with its path", []string{"config", "validate", bad2}, 1, []string{`bad2.yaml:1:9: listen: "nowhere" is not host:port`, `bad2.yaml:3:5: public_urls[0]: "ftp://x" is not an http(s) URL`, "bad2.yaml:5:11: lock_check.leeway: 10m0s is outside 0s..5m"}},
		{"missing file", []string{"config", "validate", filepath.Join(dir, "none.yaml")}, 1, []string{"no such file"}},
		// atk9f F27: the file as serve takes it, --config FILE; a second,
		// different file is refused rather than ignored.
		{"validate --config", []string{"config", "validate", "--config", good}, 0, []string{good + ": ok"}},
		{"validate --config with problems", []string{"--config", bad2, "config", "validate"}, 1, []string{`bad2.yaml:1:9: listen: "nowhere" is not host:port`}},
		{"validate --config and FILE", []string{"--config", bad2, "config", "validate", good}, 2, []string{"--config " + bad2 + " and " + good + " name two files: give one"}},
		{"validate --config and the same FILE", []string{"--config", good, "config", "validate", good}, 0, []string{good + ": ok"}},
		{"admin command with nothing listening", []string{"app", "list", "--server", "http://127.0.0.1:1", "--token", "x"}, 1, []string{"cannot reach lockgate at http://127.0.0.1:1 (nothing is listening there)"}},
	}
	runCLICases(t, tests)
}

// TestGracefulShutdown sends SIGTERM while a request is half sent: the
// request still completes, then the process exits 0.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	p := startServe(t, addr, "LOCKGATE_DATA_DIR="+t.TempDir(), "LOCKGATE_ADMIN_TOKEN=graceful-admin-token-t5DJ7dvj4QbnTZ63")
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", p.url()+"/api/v1/admin/persons", pr)
	req.Header.Set("Authorization", "Bearer graceful-admin-token-t5DJ7dvj4QbnTZ63")
	req.ContentLength = int64(len(`{"name":"Ann"}`))
	done := make(chan *http.Response, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
		}
		done <- resp
	}()
	// The headers and half the body are on their way; shutdown begins;
	// only then does the rest of the body arrive.
	pw.Write([]byte(`{"name":`))
	waitInFlight(t, p)
	p.cmd.Process.Signal(os.Interrupt)
	p.logs.waitFor(t, "shutting down: finishing in-flight requests")
	pw.Write([]byte(`"Ann"}`))
	pw.Close()
	resp := <-done
	if resp == nil || resp.StatusCode != 201 {
		t.Fatalf("in-flight request: %v\n%s", resp, p.logs)
	}
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("exit: %v\n%s", err, p.logs)
	}
	if _, err := http.Get(p.url() + "/healthz"); err == nil {
		t.Fatal("still answering after shutdown")
	}
}

// waitInFlight waits until the server is handling a request (its
// in-flight gauge says so): the event a graceful shutdown must respect.
func waitInFlight(t *testing.T, p *proc) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(p.url() + "/metrics")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(body), "\nlockgate_http_requests_in_flight 1\n") {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the request never reached the server:\n%s", p.logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
