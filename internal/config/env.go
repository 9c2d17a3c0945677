package config

import (
	"reflect"
	"strconv"
	"strings"

	"github.com/lockgate/lockgate/problem"
)

// Var is one environment variable a configuration reads.
type Var struct {
	Name string // LOCKGATE_LISTEN
	Path string // the key it overrides: listen
}

var (
	durationType = reflect.TypeFor[Duration]()
	pathType     = reflect.TypeFor[Path]()
)

// Vars lists the environment variables the type of dst reads, in field
// order: the one list that help texts and docs are checked against.
func Vars(dst any) []Var {
	var out []Var
	walk(reflectValue(dst), "", func(f reflect.StructField, _ reflect.Value, path string) {
		if name := f.Tag.Get("env"); name != "" {
			out = append(out, Var{Name: name, Path: path})
		}
	})
	return out
}

// applyEnv sets every field whose env variable is non-empty. A list is
// written comma-separated; booleans as Go's strconv reads them.
// It records in src which keys the environment set, so that problems
// found later name the variable, not the file.
func applyEnv(dst any, getenv func(string) string, src *Source) problem.List {
	var probs problem.List
	walk(reflectValue(dst), "", func(f reflect.StructField, v reflect.Value, path string) {
		name := f.Tag.Get("env")
		if name == "" {
			return
		}
		s := getenv(name)
		if s == "" {
			return
		}
		if src.env == nil {
			src.env = map[string]string{}
		}
		src.env[path] = name
		if err := setString(v, s); err != "" {
			probs = append(probs, problem.Problem{Path: path, Msg: "environment variable " + name + ": " + err})
		}
	})
	return probs
}

// resolvePaths makes every relative Path decoded from the file relative to
// the file's directory.
func resolvePaths(dst any, src *Source) {
	walk(reflectValue(dst), "", func(_ reflect.StructField, v reflect.Value, _ string) {
		switch {
		case v.Type() == pathType:
			v.SetString(src.Resolve(v.String()))
		case v.Kind() == reflect.Slice && v.Type().Elem() == pathType:
			for i := range v.Len() {
				v.Index(i).SetString(src.Resolve(v.Index(i).String()))
			}
		}
	})
}

// walk calls fn for every field of the struct v, depth first, with its key
// path; it goes into nested structs, pointers to structs and the
// elements of slices of structs.
func walk(v reflect.Value, path string, fn func(reflect.StructField, reflect.Value, string)) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" && f.Tag.Get("env") == "" {
			continue
		}
		p := path
		if opts != "inline" {
			if name == "" || name == "-" {
				name = strings.ToLower(f.Name)
			}
			p = join(path, name)
		}
		fv := v.Field(i)
		fn(f, fv, p)
		switch {
		case fv.Kind() == reflect.Struct && fv.Type() != durationType:
			walk(fv, p, fn)
		case fv.Kind() == reflect.Pointer && !fv.IsNil() && fv.Elem().Kind() == reflect.Struct:
			walk(fv.Elem(), p, fn)
		case fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.Struct:
			for j := range fv.Len() {
				walk(fv.Index(j), p+"["+strconv.Itoa(j)+"]", fn)
			}
		}
	}
}

// setString parses s into v by v's type, returning what was wrong.
func setString(v reflect.Value, s string) string {
	switch {
	case v.Type() == durationType:
		d, err := ParseDuration(s)
		if err != nil {
			return err.Error()
		}
		v.SetInt(int64(d))
		return ""
	case v.Kind() == reflect.Slice:
		var parts []string
		for p := range strings.SplitSeq(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		out := reflect.MakeSlice(v.Type(), len(parts), len(parts))
		for i, p := range parts {
			if err := setString(out.Index(i), p); err != "" {
				return err
			}
		}
		v.Set(out)
		return ""
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return "expected true or false, got " + strconv.Quote(s)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, v.Type().Bits())
		if err != nil {
			return "expected a whole number, got " + strconv.Quote(s)
		}
		v.SetInt(n)
	default:
		return "cannot be set from the environment"
	}
	return ""
}
