package problem_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/lockgate/lockgate/problem"
)

func TestProblemError(t *testing.T) {
	for _, tc := range []struct {
		p    problem.Problem
		want string
	}{
		{problem.Problem{Msg: "bad"}, "bad"},
		{problem.Problem{Path: "a.b", Msg: "bad"}, "a.b: bad"},
		{problem.Problem{Line: 3, Path: "a", Msg: "bad"}, "line 3: a: bad"},
		{problem.Problem{Line: 3, Column: 7, Msg: "bad"}, "line 3, column 7: bad"},
		{problem.Problem{File: "f.yaml", Line: 3, Column: 7, Path: "a", Msg: "bad"}, "f.yaml:3:7: a: bad"},
		{problem.Problem{File: "f.yaml", Line: 3, Msg: "bad"}, "f.yaml:3: bad"},
		{problem.Problem{File: "f.yaml", Path: "a", Msg: "bad"}, "f.yaml: a: bad"},
	} {
		if got := tc.p.Error(); got != tc.want {
			t.Errorf("%#v.Error() = %q, want %q", tc.p, got, tc.want)
		}
	}
}

func TestListErrIsNilWhenEmpty(t *testing.T) {
	var l problem.List
	if l.Err() != nil {
		t.Fatal("empty list gave a non-nil error")
	}
	l.Addf("x", "n=%d", 1)
	err := l.Err()
	var got problem.List
	if !errors.As(err, &got) || len(got) != 1 || got[0].Msg != "n=1" {
		t.Fatalf("errors.As gave %v", got)
	}
}

func TestAppendFlattens(t *testing.T) {
	var inner problem.List
	inner.Add("a", "one")
	inner.Add("b", "two")
	var l problem.List
	l.Append("p", fmt.Errorf("wrapped: %w", inner))
	l.Append("p", problem.Problem{Path: "c", Msg: "three"})
	l.Append("p", errors.New("four"))
	l.Append("p", nil)
	want := "a: one\nb: two\nc: three\np: four"
	if got := l.Error(); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestSortKeepsOrderAtOnePlace(t *testing.T) {
	l := problem.List{
		{File: "b", Line: 1, Msg: "1"},
		{File: "a", Line: 9, Msg: "2"},
		{File: "a", Line: 2, Msg: "3"},
		{File: "a", Line: 2, Msg: "4"},
	}
	l.Sort()
	var got string
	for _, p := range l {
		got += p.Msg
	}
	if got != "3421" {
		t.Fatalf("order %s, want 3421", got)
	}
}

func ExampleList() {
	var probs problem.List
	probs.Addf("Rules[2].Statement.RateBasedStatement.Limit", "%d is below the minimum %d", 5, 10)
	probs = probs.InFile("acl.json")
	fmt.Println(probs.Err())
	// Output: acl.json: Rules[2].Statement.RateBasedStatement.Limit: 5 is below the minimum 10
}

// Problems found inside a file the document names are placed at the key
// that names it, keeping where in the file they are; a message of
// several lines is one problem a line (atk9f F4: the second line of a
// rule group's problems had no place).
func TestWithin(t *testing.T) {
	inner := problem.List{
		{File: "acl.json", Line: 3, Column: 32, Msg: "invalid JSON: invalid character ','"},
		{File: "acl.json", Path: "Rules[0].Name", Msg: "required"},
		{File: "acl.json", Msg: "open acl.json: no such file or directory"},
		{Msg: "Name: must be a string\nVisibilityConfig: required"},
	}
	got := problem.Within("gateway.routes[1].web_acl", inner)
	want := []string{
		"gateway.routes[1].web_acl: acl.json:3:32: invalid JSON: invalid character ','",
		"gateway.routes[1].web_acl: acl.json: Rules[0].Name: required",
		"gateway.routes[1].web_acl: open acl.json: no such file or directory",
		"gateway.routes[1].web_acl: Name: must be a string",
		"gateway.routes[1].web_acl: VisibilityConfig: required",
	}
	if len(got) != len(want) {
		t.Fatalf("got %d problems:\n%v", len(got), got)
	}
	for i, w := range want {
		if got[i].Path != "gateway.routes[1].web_acl" || got[i].File != "" || got[i].Line != 0 {
			t.Errorf("problem %d is not at the key: %#v", i, got[i])
		}
		if g := got[i].Error(); g != w {
			t.Errorf("got  %s\nwant %s", g, w)
		}
	}
	if l := problem.Within("x", errors.New("plain")); len(l) != 1 || l[0].Error() != "x: plain" {
		t.Errorf("plain error: %v", l)
	}
}
