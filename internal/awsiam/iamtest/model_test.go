package iamtest

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/model.json from the reference IAM service model")

// referenceModel finds AWS's IAM service model: $LOCKGATE_IAM_SERVICE_MODEL,
// or shared/reference/aws-iam-service-model.json beside a parent of the
// working directory (the checkout's ../shared).
func referenceModel(t *testing.T) []byte {
	t.Helper()
	paths := []string{os.Getenv("LOCKGATE_IAM_SERVICE_MODEL")}
	dir, _ := filepath.Abs(".")
	for ; filepath.Dir(dir) != dir; dir = filepath.Dir(dir) {
		paths = append(paths, filepath.Join(dir, "shared", "reference", "aws-iam-service-model.json"))
	}
	for _, p := range paths {
		if p == "" {
			continue
		}
		if data, err := os.ReadFile(p); err == nil {
			return data
		}
	}
	t.Skip("the reference IAM service model is not here: set LOCKGATE_IAM_SERVICE_MODEL to aws-iam-service-model.json (from the AWS SDK's models) to compare testdata/model.json with it")
	return nil
}

// trim keeps the operations the server implements and the shapes they
// reach (input, output, errors), without documentation.
func trim(t *testing.T, ref []byte) []byte {
	var full struct {
		Metadata   map[string]any            `json:"metadata"`
		Operations map[string]map[string]any `json:"operations"`
		Shapes     map[string]map[string]any `json:"shapes"`
	}
	if err := json.Unmarshal(ref, &full); err != nil {
		t.Fatal(err)
	}
	out := map[string]any{"metadata": full.Metadata}
	ops := map[string]any{}
	shapes := map[string]any{}
	var reach func(name string)
	reach = func(name string) {
		if _, ok := shapes[name]; ok {
			return
		}
		s, ok := full.Shapes[name]
		if !ok {
			t.Fatalf("reference model has no shape %s", name)
		}
		c := map[string]any{}
		for k, v := range s {
			if k != "documentation" {
				c[k] = v
			}
		}
		shapes[name] = c
		if m, ok := s["members"].(map[string]any); ok {
			members := map[string]any{}
			for k, v := range m {
				ref := v.(map[string]any)
				members[k] = map[string]any{"shape": ref["shape"]}
				reach(ref["shape"].(string))
			}
			c["members"] = members
		}
		for _, k := range []string{"member", "key", "value"} {
			if r, ok := s[k].(map[string]any); ok {
				c[k] = map[string]any{"shape": r["shape"]}
				reach(r["shape"].(string))
			}
		}
	}
	for _, name := range Implemented {
		op, ok := full.Operations[name]
		if !ok {
			t.Fatalf("reference model has no operation %s", name)
		}
		c := map[string]any{"name": op["name"]}
		for _, k := range []string{"input", "output"} {
			if r, ok := op[k].(map[string]any); ok {
				c[k] = r
				reach(r["shape"].(string))
			}
		}
		if errs, ok := op["errors"].([]any); ok {
			var list []any
			for _, e := range errs {
				name := e.(map[string]any)["shape"].(string)
				list = append(list, map[string]any{"shape": name})
				reach(name)
			}
			c["errors"] = list
		}
		ops[name] = c
	}
	out["operations"] = ops
	out["shapes"] = shapes
	data, err := json.MarshalIndent(out, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return append(data, '\n')
}

// TestModelIsTheReferenceTrimmed: testdata/model.json is AWS's IAM
// service model cut to the implemented operations, never edited by hand
// (go test -run TestModelIsTheReferenceTrimmed -update rewrites it).
func TestModelIsTheReferenceTrimmed(t *testing.T) {
	want := trim(t, referenceModel(t))
	if *update {
		if err := os.WriteFile("testdata/model.json", want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(want, modelJSON) {
		t.Fatal("testdata/model.json differs from the reference model trimmed; run go test -run TestModelIsTheReferenceTrimmed -update")
	}
}

// Every operation in the trimmed model is implemented, and the other way
// round.
func TestModelOperationsAreImplemented(t *testing.T) {
	var names []string
	for n := range iamModel.Operations {
		names = append(names, n)
	}
	sort.Strings(names)
	impl := slices.Clone(Implemented)
	sort.Strings(impl)
	if !slices.Equal(names, impl) {
		t.Fatalf("model operations %v\nimplemented %v", names, impl)
	}
	s := New("111122223333")
	for _, op := range Implemented {
		if _, err := s.call(op, nil); err != nil && err.code == "InvalidAction" {
			t.Errorf("%s is in the model but not implemented", op)
		}
	}
}
