package main

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/lockgate/lockgate/internal/secretbox"
	"github.com/lockgate/lockgate/internal/server"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	line  int
	cmd   string   // upper case
	flags []string // leading --name=value
	args  string
}

// parseDockerfile reads the Dockerfile syntax lockgate's Dockerfile uses:
// comments, line continuations, flags. No engine is needed, so the test
// runs where Docker does not (docker build --check needs a daemon).
func parseDockerfile(src string) ([]instruction, error) {
	known := map[string]bool{"FROM": true, "RUN": true, "CMD": true, "LABEL": true, "EXPOSE": true, "ENV": true,
		"ADD": true, "COPY": true, "ENTRYPOINT": true, "VOLUME": true, "USER": true, "WORKDIR": true, "ARG": true,
		"ONBUILD": true, "STOPSIGNAL": true, "HEALTHCHECK": true, "SHELL": true}
	var out []instruction
	var cur strings.Builder
	start := 0
	for i, line := range strings.Split(src, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur.Len() > 0) {
			continue // comments (and blank lines) inside continuations are dropped, as Docker does
		}
		if trimmed == "" {
			continue
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		if strings.HasSuffix(trimmed, `\`) {
			cur.WriteString(strings.TrimSuffix(trimmed, `\`) + " ")
			continue
		}
		cur.WriteString(trimmed)
		fields := strings.Fields(cur.String())
		cur.Reset()
		in := instruction{line: start, cmd: strings.ToUpper(fields[0])}
		if !known[in.cmd] {
			return nil, fmt.Errorf("line %d: unknown instruction %q", start, fields[0])
		}
		rest := fields[1:]
		for len(rest) > 0 && strings.HasPrefix(rest[0], "--") {
			in.flags, rest = append(in.flags, rest[0]), rest[1:]
		}
		in.args = strings.Join(rest, " ")
		out = append(out, in)
	}
	if cur.Len() > 0 {
		return nil, fmt.Errorf("line %d: the file ends inside a continuation", start)
	}
	return out, nil
}

// stage is a FROM and what follows it.
type stage struct {
	name, base string
	body       []instruction
}

func stages(ins []instruction) []stage {
	var out []stage
	for _, in := range ins {
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			s := stage{base: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				s.name = f[2]
			}
			out = append(out, s)
			continue
		}
		if len(out) > 0 {
			out[len(out)-1].body = append(out[len(out)-1].body, in)
		}
	}
	return out
}

func (s stage) all(cmd string) []instruction {
	var out []instruction
	for _, in := range s.body {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

func TestDockerfile(t *testing.T) {
	src, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	ins, err := parseDockerfile(string(src))
	if err != nil {
		t.Fatal(err)
	}
	st := stages(ins)
	if len(st) < 2 {
		t.Fatalf("%d stages: want a build stage and a runtime stage", len(st))
	}
	build, final := st[0], st[len(st)-1]
	if !strings.HasPrefix(build.base, "golang:") {
		t.Errorf("build stage from %q, want golang:", build.base)
	}
	if !strings.HasPrefix(final.base, "gcr.io/distroless/static") && final.base != "scratch" {
		t.Errorf("runtime stage from %q: want distroless/static or scratch (a static binary needs no more)", final.base)
	}

	// The build: static, trimmed, stamped with the version from build args.
	var goBuild string
	for _, in := range build.all("RUN") {
		if strings.Contains(in.args, "go build") {
			goBuild = in.args
		}
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-X main.version=$VERSION", "-X main.commit=$COMMIT", "-X main.date=$DATE", "./cmd/lockgate"} {
		if !strings.Contains(goBuild, want) {
			t.Errorf("the build stage's go build lacks %q: %s", want, goBuild)
		}
	}
	var args []string
	for _, in := range build.all("ARG") {
		args = append(args, strings.SplitN(in.args, "=", 2)[0])
	}
	for _, want := range []string{"VERSION", "COMMIT", "DATE"} {
		if !slices.Contains(args, want) {
			t.Errorf("no ARG %s in the build stage (have %v)", want, args)
		}
	}

	// The runtime: non-root, /data, the healthcheck this binary has.
	users := final.all("USER")
	if len(users) == 0 {
		t.Fatal("the runtime stage has no USER: it would run as root")
	}
	if u := strings.SplitN(users[len(users)-1].args, ":", 2)[0]; u == "root" || u == "0" || u == "" {
		t.Errorf("USER %q is root", users[len(users)-1].args)
	}
	if v := final.all("VOLUME"); len(v) != 1 || !strings.Contains(v[0].args, "/data") {
		t.Errorf("VOLUME %v, want /data", v)
	}
	env := strings.Join(instructionArgs(final.all("ENV")), " ")
	for _, want := range []string{"LOCKGATE_DATA_DIR=/data", "LOCKGATE_LISTEN=0.0.0.0:8080"} {
		if !strings.Contains(env, want) {
			t.Errorf("ENV lacks %s: %s", want, env)
		}
	}
	hc := final.all("HEALTHCHECK")
	if len(hc) != 1 {
		t.Fatalf("%d HEALTHCHECKs in the runtime stage, want 1", len(hc))
	}
	var hcArgs []string
	if err := json.Unmarshal([]byte(strings.TrimPrefix(hc[0].args, "CMD ")), &hcArgs); err != nil {
		t.Fatalf("HEALTHCHECK %q: want CMD in exec form (distroless has no shell): %v", hc[0].args, err)
	}
	if len(hcArgs) < 2 || hcArgs[1] != "healthcheck" {
		t.Fatalf("HEALTHCHECK runs %v, want lockgate healthcheck", hcArgs)
	}
	if _, stderr, code := runCLI(t, nil, append(hcArgs[1:], "--help")...); code != 0 {
		t.Errorf("the HEALTHCHECK's command does not exist: %s", stderr)
	}
	var copied []string
	for _, in := range final.all("COPY") {
		copied = append(copied, in.args)
	}
	if !slices.ContainsFunc(copied, func(a string) bool { return strings.HasSuffix(a, " "+hcArgs[0]) }) {
		t.Errorf("the HEALTHCHECK runs %s; the runtime stage copies %v", hcArgs[0], copied)
	}
	entry := final.all("ENTRYPOINT")
	if len(entry) != 1 || !strings.Contains(entry[0].args, hcArgs[0]) {
		t.Errorf("ENTRYPOINT %v, want %s in exec form", entry, hcArgs[0])
	}

	// Everything comes from the context or a named stage: no remote ADD.
	names := map[string]bool{}
	for _, s := range st {
		names[s.name] = true
	}
	for _, in := range ins {
		if in.cmd == "ADD" {
			t.Errorf("line %d: ADD %s: use COPY (ADD fetches URLs and unpacks archives)", in.line, in.args)
		}
		for _, f := range in.flags {
			if from, ok := strings.CutPrefix(f, "--from="); ok && !names[from] {
				t.Errorf("line %d: --from=%s names no stage", in.line, from)
			}
		}
	}
}

func instructionArgs(ins []instruction) []string {
	var out []string
	for _, in := range ins {
		out = append(out, in.args)
	}
	return out
}

// The parser refuses what would break a build, or TestDockerfile proves
// little.
func TestParseDockerfileRefuses(t *testing.T) {
	for _, src := range []string{"FORM golang\n", "FROM golang\nRUN go build \\\n"} {
		if _, err := parseDockerfile(src); err == nil {
			t.Errorf("%q: accepted", src)
		}
	}
}

// The Dockerfile's go build, run here as the build stage would run it
// (same command, the build args as the environment), makes a static
// binary that reports the version it was given.
func TestDockerfileBuildCommand(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds lockgate: not in -short")
	}
	out, version := runBuild(t, dockerBuildCommand)
	checkReleaseBinary(t, filepath.Join(out, "lockgate"), version, "0123456789abcdef")
	if fi, err := os.Stat(filepath.Join(out, "data")); err != nil || !fi.IsDir() {
		t.Errorf("no data directory for the runtime stage to copy: %v", err)
	}
}

// dockerBuildCommand is the Dockerfile's go build writing to out, with
// the build args in the environment; the binary is to say the VERSION
// given.
func dockerBuildCommand(out string) (*exec.Cmd, string, error) {
	const version = "v0.0.0-docker-test"
	src, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		return nil, "", err
	}
	ins, err := parseDockerfile(string(src))
	if err != nil {
		return nil, "", err
	}
	var cmd string
	for _, in := range stages(ins)[0].all("RUN") {
		if strings.Contains(in.args, "go build") {
			cmd = in.args
		}
	}
	if cmd == "" {
		return nil, "", errors.New("the Dockerfile's first stage runs no go build")
	}
	cmd = strings.ReplaceAll(cmd, "/out/", out+"/")
	sh := exec.Command("sh", "-c", cmd)
	sh.Dir = "../.."
	sh.Env = append(os.Environ(), "VERSION="+version, "COMMIT=0123456789abcdef", "DATE=2026-11-29T00:00:00Z",
		"TARGETOS="+runtime.GOOS, "TARGETARCH="+runtime.GOARCH)
	return sh, version, nil
}

// checkReleaseBinary runs bin's version -o json and checks what it says,
// that it is static and that it holds no path of the machine that built
// it (-trimpath).
func checkReleaseBinary(t *testing.T, bin, version, commit string) {
	t.Helper()
	out, err := exec.Command(bin, "version", "-o", "json").Output()
	if err != nil {
		t.Fatalf("%s version: %v", bin, err)
	}
	var b build
	if err := json.Unmarshal(out, &b); err != nil {
		t.Fatalf("version -o json: %v\n%s", err, out)
	}
	if b.Version != version || b.Commit != commit || b.Date == "" {
		t.Errorf("version -o json: %+v, want version %q, commit %q and a date", b, version, commit)
	}
	if f, err := elf.Open(bin); err == nil {
		defer f.Close()
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Errorf("%s is dynamically linked (CGO_ENABLED=0 was lost)", bin)
			}
		}
	}
	data, _ := os.ReadFile(bin)
	root, _ := filepath.Abs("../..")
	if strings.Contains(string(data), root) {
		t.Errorf("%s holds the build's path %s (-trimpath was lost)", bin, root)
	}
}

// scripts/release.sh, for this machine's target into a temporary
// directory: the archive holds a binary stamped by git describe, and
// SHA256SUMS matches the archive.
func TestReleaseScript(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds lockgate: not in -short")
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	if _, err := gitDescribe(); err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	target := runtime.GOOS + "/" + runtime.GOARCH
	if !slices.Contains([]string{"linux/amd64", "linux/arm64", "darwin/amd64", "darwin/arm64"}, target) {
		t.Skipf("the release script does not build for %s", target)
	}
	dist, want := runBuild(t, releaseCommand)
	version, head, _ := strings.Cut(want, " ")
	name := fmt.Sprintf("lockgate-%s-%s-%s", version, runtime.GOOS, runtime.GOARCH)
	sums, err := os.ReadFile(filepath.Join(dist, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	archive, err := os.ReadFile(filepath.Join(dist, name+".tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(archive)
	if want := hex.EncodeToString(sum[:]) + "  " + name + ".tar.gz\n"; string(sums) != want {
		t.Errorf("SHA256SUMS:\n%s\nwant:\n%s", sums, want)
	}
	files := untar(t, archive, dist)
	for _, want := range []string{"lockgate", "LICENSE", "README.md", "CHANGELOG.md"} {
		if !slices.Contains(files, name+"/"+want) {
			t.Errorf("the archive lacks %s: %v", want, files)
		}
	}
	checkReleaseBinary(t, filepath.Join(dist, name, "lockgate"), version, head)

	// A target it does not build is a usage error, not a surprise binary.
	if err := exec.Command("bash", "../../scripts/release.sh", "-o", dist, "windows/386").Run(); err == nil {
		t.Error("release.sh windows/386: exit 0")
	}
	// Nor is a compression level gzip does not have.
	bad := exec.Command("bash", "../../scripts/release.sh", "-o", dist, target)
	bad.Env = append(os.Environ(), "GZIP_LEVEL=0")
	if out, err := bad.CombinedOutput(); err == nil || !strings.Contains(string(out), "GZIP_LEVEL=0") {
		t.Errorf("release.sh with GZIP_LEVEL=0: %v\n%s", err, out)
	}
}

// releaseCommand is scripts/release.sh for this machine's target, writing
// to dist; the binary is to say git describe and the HEAD commit, read
// now, as the script reads them when it starts ("VERSION COMMIT").
func releaseCommand(dist string) (*exec.Cmd, string, error) {
	target := runtime.GOOS + "/" + runtime.GOARCH
	if !slices.Contains([]string{"linux/amd64", "linux/arm64", "darwin/amd64", "darwin/arm64"}, target) {
		return nil, "", fmt.Errorf("the release script does not build for %s", target)
	}
	describe, err := gitDescribe()
	if err != nil {
		return nil, "", err
	}
	head, err := exec.Command("git", "-C", "../..", "rev-parse", "HEAD").Output()
	if err != nil {
		return nil, "", err
	}
	cmd := exec.Command("bash", "../../scripts/release.sh", "-o", dist, target)
	// gzip -9 of a 60 MB binary is most of the script's time; the archive's
	// contents and checksum are what is checked, at any level.
	cmd.Env = append(os.Environ(), "GZIP_LEVEL=1")
	return cmd, describe + " " + strings.TrimSpace(string(head)), nil
}

// gitDescribe is the version release.sh gives a build of this tree.
func gitDescribe() (string, error) {
	out, err := exec.Command("git", "-C", "../..", "describe", "--tags", "--always", "--dirty").Output()
	return strings.TrimSpace(string(out)), err
}

func untar(t *testing.T, archive []byte, dir string) []string {
	t.Helper()
	zr, err := gzip.NewReader(strings.NewReader(string(archive)))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, strings.TrimSuffix(h.Name, "/"))
		if h.Typeflag != tar.TypeReg || !regexp.MustCompile(`^lockgate-[^/]+/[A-Za-z.]+$`).MatchString(h.Name) {
			continue
		}
		p := filepath.Join(dir, h.Name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		b, _ := io.ReadAll(tr)
		if err := os.WriteFile(p, b, os.FileMode(h.Mode)); err != nil {
			t.Fatal(err)
		}
	}
}

// What deploy/kubernetes gives lockgate (the Deployment's environment and
// the Secret's keys) is a configuration lockgate's own loader accepts once
// the Secret holds a real master key, and the placeholder it ships with is
// a key lockgate refuses: an unedited Secret fails closed. (The manifests'
// shapes are checked against the Kubernetes API types in their own module.)
func TestKubernetesManifestsConfigureLockgate(t *testing.T) {
	var deployment struct {
		Spec struct {
			Template struct {
				Spec struct {
					Containers []struct {
						Env []struct{ Name, Value string }
					}
				}
			}
		}
	}
	var secret struct {
		StringData map[string]string `yaml:"stringData"`
	}
	for file, v := range map[string]any{"deployment.yaml": &deployment, "secret.yaml": &secret} {
		data, err := os.ReadFile("../../deploy/kubernetes/" + file)
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(data, v); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
	}
	if len(deployment.Spec.Template.Spec.Containers) != 1 || secret.StringData["LOCKGATE_MASTER_KEY"] == "" {
		t.Fatalf("want one container and a Secret with LOCKGATE_MASTER_KEY: %+v %v", deployment, secret.StringData)
	}
	if _, err := secretbox.ParseKey(secret.StringData["LOCKGATE_MASTER_KEY"]); err == nil {
		t.Errorf("the Secret's placeholder master key %q is a usable key: an unedited Secret would run with it", secret.StringData["LOCKGATE_MASTER_KEY"])
	}
	env := map[string]string{}
	for _, e := range deployment.Spec.Template.Spec.Containers[0].Env {
		env[e.Name] = e.Value
	}
	maps.Copy(env, secret.StringData)
	real := map[string]string{
		"LOCKGATE_MASTER_KEY":  "v4cFSHrpnn+ip9ZRHnZYglUy7sBJ8rk63iqpnU/2hyk=", // openssl rand -base64 32 (32 equal bytes are refused: no secret)
		"LOCKGATE_ADMIN_TOKEN": "3f9c1e7a5b2d8046c1e9a7f35b2d8c4e6a1f0b9d7c5e3a18",
	}
	// Each placeholder left alone, the other replaced: serve refuses to
	// start, naming the key.
	for name, key := range map[string]string{"LOCKGATE_MASTER_KEY": "master_key", "LOCKGATE_ADMIN_TOKEN": "admin_token"} {
		e := maps.Clone(env)
		for n, v := range real {
			if n != name {
				e[n] = v
			}
		}
		e["LOCKGATE_DATA_DIR"] = t.TempDir()
		cfg, src, err := server.Load("", func(k string) string { return e[k] })
		if err == nil {
			_, err = server.Provision(cfg, src, nil, server.Options{})
		}
		if err == nil || !strings.Contains(err.Error(), key+":") {
			t.Errorf("the Secret's placeholder %s=%q is accepted: an unedited line does not fail closed (%v)", name, e[name], err)
		}
	}
	env["LOCKGATE_MASTER_KEY"] = real["LOCKGATE_MASTER_KEY"]
	env["LOCKGATE_ADMIN_TOKEN"] = "3f9c1e7a5b2d8046c1e9a7f35b2d8c4e6a1f0b9d7c5e3a18" // as openssl rand -hex 24 makes
	env["LOCKGATE_DATA_DIR"] = t.TempDir()                                           // the volume
	cfg, src, err := server.Load("", func(k string) string { return env[k] })
	if err == nil {
		_, err = server.Provision(cfg, src, nil, server.Options{})
	}
	if err != nil {
		t.Fatalf("lockgate refuses the manifests' configuration: %v", err)
	}
	if _, err := secretbox.ParseKey(env["LOCKGATE_MASTER_KEY"]); err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != env["LOCKGATE_LISTEN"] || len(cfg.PublicURLs) != 1 || cfg.PublicURLs[0] != env["LOCKGATE_PUBLIC_URL"] {
		t.Errorf("listen %q, public URLs %v: the environment was not read", cfg.Listen, cfg.PublicURLs)
	}
}
