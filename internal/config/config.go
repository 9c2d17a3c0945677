// Package config reads lockgate's configuration: a YAML file decoded into
// the section types the components own, the environment variables that
// override it, and the embedded defaults the caller puts in place first.
//
// It is a leaf: it knows no component. A component declares its section
// as a plain struct with `yaml:"name"` tags, an `env:"LOCKGATE_NAME"` tag
// on every field the environment may set, and Path for every file name;
// Load fills it and reports every problem at once, each with its file,
// line, column, key path, what was expected and, for a misspelt key,
// what was probably meant.
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/lockgate/lockgate/problem"
)

// Duration is a time.Duration written as "15m" in YAML and the
// environment. Days are accepted too ("7d"), as operators write them.
type Duration time.Duration

// ParseDuration reads a Go duration ("90s", "1h30m"), a number of days
// ("7d", "1.5d"), or days then a Go duration ("1d12h").
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	// Days first, then a Go duration for the rest: 7d, 1.5d, 1d12h.
	if days, rest, ok := strings.Cut(s, "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		if err != nil || n < 0 || n > 365*100 || strings.HasPrefix(rest, "-") {
			return 0, fmt.Errorf("%q is not a duration (use e.g. 30s, 15m, 2h, 7d, 1d12h)", s)
		}
		d := time.Duration(n * float64(24*time.Hour))
		if rest != "" {
			r, err := time.ParseDuration(rest)
			if err != nil {
				return 0, fmt.Errorf("%q is not a duration (use e.g. 30s, 15m, 2h, 7d, 1d12h)", s)
			}
			d += r
		}
		return d, nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (use e.g. 30s, 15m, 2h, 7d)", s)
	}
	return v, nil
}

// UnmarshalYAML accepts the forms ParseDuration reads.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return errors.New("expected a duration such as 30s or 15m")
	}
	v, err := ParseDuration(n.Value)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration as a string.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// Std returns the value as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// Path is a file name in the configuration. A relative path in the file
// is taken relative to the file's directory, never to the process's
// working directory, so a configuration means the same wherever lockgate
// is started from. "-" (standard output) is kept as it is.
type Path string

// Source is a configuration file that was read: its name and its YAML
// tree, to locate problems that are found after decoding.
type Source struct {
	File string // "" when there was no file
	Dir  string // the file's directory; relative paths in it start here
	root *yaml.Node
	env  map[string]string // key path → the variable that set it
}

// envVar is the environment variable that set the value at path (or a
// value it holds: public_urls[0] was set by LOCKGATE_PUBLIC_URL), or "".
func (s *Source) envVar(path string) string {
	for p := path; p != ""; {
		if name := s.env[p]; name != "" {
			return name
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return ""
}

// envSection returns the deepest section of path, below the depth keys
// the file holds, that an environment variable set a key in, with that
// variable: forward_auth and LOCKGATE_FORWARD_AUTH_LISTEN for a problem
// at forward_auth.trusted_proxies when the file has no forward_auth.
func (s *Source) envSection(path string, depth int) (section, name string) {
	parts := splitPath(path)
	best := depth
	for p, v := range s.env {
		common := 0
		for _, seg := range splitPath(p) {
			if common >= len(parts) || parts[common] != seg {
				break
			}
			common++
		}
		if common > best || common == best && name != "" && v < name {
			best, section, name = common, strings.Join(parts[:common], "."), v
		}
	}
	if best == depth {
		return "", ""
	}
	return section, name
}

// Resolve returns p relative to the file's directory.
func (s *Source) Resolve(p string) string {
	if p == "" || p == "-" || filepath.IsAbs(p) || s == nil || s.Dir == "" {
		return p
	}
	return filepath.Join(s.Dir, p)
}

// Locate fills in File, Line and Column of problems whose Path names a
// key of the file, and returns the list sorted by position.
func (s *Source) Locate(l problem.List) problem.List {
	if s == nil {
		return l
	}
	for i := range l {
		if l[i].File != "" {
			continue
		}
		if name := s.envVar(l[i].Path); name != "" {
			// The file's line would blame a value the environment
			// replaced.
			if !strings.Contains(l[i].Msg, name) {
				l[i].Msg += " (set by the environment variable " + name + ")"
			}
			continue
		}
		if l[i].Line != 0 {
			l[i].File = s.File
			continue
		}
		n, depth := findDepth(s.root, l[i].Path)
		if section, name := s.envSection(l[i].Path, depth); name != "" {
			// The file has no line for a section the environment
			// turned on: name the variable, not a line that says
			// something else.
			l[i].Msg += " (" + section + " is set by the environment variable " + name + ")"
			continue
		}
		l[i].File = s.File
		if n != nil && (depth > 0 || l[i].Path == "") {
			l[i].Line, l[i].Column = n.Line, n.Column
		}
	}
	l.Sort()
	return l
}

// Line returns the line of the value at path, or 0.
func (s *Source) Line(path string) int {
	if s == nil {
		return 0
	}
	if n := find(s.root, path); n != nil {
		return n.Line
	}
	return 0
}

// Load reads the YAML file at path (none when path is "") into dst, a
// pointer to a struct already holding the defaults, then applies the
// environment (getenv, usually os.Getenv) as the fields' env tags say.
// Every problem in the file and the environment is returned together as
// a problem.List; dst then holds what could be decoded.
func Load(path string, getenv func(string) string, dst any) (*Source, error) {
	src := &Source{}
	var probs problem.List
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return src, problem.List{{File: path, Msg: err.Error()}}
		}
		src.File, src.Dir = path, filepath.Dir(path)
		// Located now: the file's own mistakes are the file's, even
		// where the environment then replaces the value.
		probs = src.Locate(decodeFile(data, dst, src))
	}
	resolvePaths(dst, src)
	probs = append(probs, applyEnv(dst, getenv, src)...)
	return src, src.Locate(probs).Err()
}

// Decode reads YAML data into dst as Load does, without a file or the
// environment: for tests and for sections given inline.
func Decode(data []byte, dst any) error {
	src := &Source{}
	return src.Locate(decodeFile(data, dst, src)).Err()
}

func decodeFile(data []byte, dst any, src *Source) problem.List {
	var probs problem.List
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return problem.List{syntaxProblem(err)}
	}
	src.root = &root
	if len(root.Content) == 0 {
		return nil // an empty file: the defaults
	}
	d := decoder{probs: &probs}
	d.value(root.Content[0], reflectValue(dst), "")
	return probs
}

// syntaxProblem turns a YAML parser error ("yaml: line 3: did not find
// expected key") into a problem with its line.
func syntaxProblem(err error) problem.Problem {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	p := problem.Problem{Msg: "not valid YAML: " + msg}
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if i := strings.IndexByte(rest, ':'); i > 0 {
			if n, err := strconv.Atoi(rest[:i]); err == nil {
				p.Line = n
				p.Msg = "not valid YAML:" + rest[i+1:]
			}
		}
	}
	return p
}
