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
