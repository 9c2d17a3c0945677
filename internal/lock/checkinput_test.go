package lock_test

import (
	"bytes"
	"encoding/json"
	"io"
	"reflect"
	"testing"

	"github.com/lockgate/lockgate/internal/lock"
)

// decodeReference decodes a lock-check body as the HTTP API's
// encoding/json path does: one value into CheckInput, nothing after it.
func decodeReference(b []byte) (lock.CheckInput, bool) {
	var in lock.CheckInput
	dec := json.NewDecoder(bytes.NewReader(b))
	if dec.Decode(&in) != nil || dec.More() {
		return in, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return in, false
	}
	return in, true
}

var checkBodies = []string{
	`{"userIP":"203.0.113.7","userDevice":"Mozilla/5.0","userLocation":"","integrationType":"awsiamuser","integrationData":{"k":"v"}}`,
	`{}`,
	` { "userIP" : "::1" , "integrationData" : [1, 2.5e3, true, null, {"a": "b"}] } `,
	`{"integrationData":null}`,
	`{"integrationData":"x"}`,
	`{"userDevice":"Ünïcödé"}`,
	`{"unknown":{"deep":[[[[1]]]]},"userIP":"1.2.3.4"}`,
	`{"userIP":"a","userIP":"b"}`,
	`{"userip":"a"}`,
	`{"userIP":"a\u0000b"}`,
	`{"userIP":"a\"b"}`,
	`{"userIP":null}`,
	`{"userIP":1}`,
	`{"userIP":"a"} {}`,
	`{"userIP":"a"}x`,
	`{"userIP":"a",}`,
	"{\"userIP\":\"a\xffb\"}",
	`null`,
	`[]`,
	`{"integrationData":01}`,
	`{"integrationData":{"a":1,}}`,
	`{"integrationData":1e400}`,
}

// FuzzDecodeCheckInput holds DecodeCheckInput to encoding/json: whenever
// it answers, encoding/json decodes the same body to the same value.
func FuzzDecodeCheckInput(f *testing.F) {
	for _, b := range checkBodies {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := lock.DecodeCheckInput(b)
		if !ok {
			return
		}
		want, wantOK := decodeReference(b)
		if !wantOK {
			t.Fatalf("DecodeCheckInput(%q) accepted a body encoding/json refuses", b)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("DecodeCheckInput(%q) = %+v, encoding/json %+v", b, got, want)
		}
	})
}

// TestDecodeCheckInputDecides keeps DecodeCheckInput from leaving every
// body to encoding/json: the bodies integrations send are read by it.
func TestDecodeCheckInputDecides(t *testing.T) {
	for _, tt := range []struct {
		body string
		ok   bool
	}{
		{checkBodies[0], true},
		{checkBodies[1], true},
		{checkBodies[2], true},
		{checkBodies[5], true},
		{checkBodies[6], true},
		{`{"userIP":"a","userIP":"b"}`, false},
		{`{"userip":"a"}`, false},
		{`{"userIP":"a\"b"}`, false},
		{`{"userIP":"a"} {}`, false},
	} {
		got, ok := lock.DecodeCheckInput([]byte(tt.body))
		if ok != tt.ok {
			t.Errorf("DecodeCheckInput(%s): ok %v, want %v", tt.body, ok, tt.ok)
			continue
		}
		if want, _ := decodeReference([]byte(tt.body)); ok && !reflect.DeepEqual(got, want) {
			t.Errorf("DecodeCheckInput(%s) = %+v, want %+v", tt.body, got, want)
		}
	}
}

// TestDecodeCheckInputAllocs: the usual body costs two allocations, one
// for its four text members together and one for integrationData.
func TestDecodeCheckInputAllocs(t *testing.T) {
	for _, tc := range []struct {
		body string
		want float64
	}{
		{checkBodies[0], 2},
		{`{"userIP":"203.0.113.7","userDevice":"Mozilla/5.0"}`, 1},
		{`{}`, 0},
	} {
		b := []byte(tc.body)
		if got := testing.AllocsPerRun(100, func() { lock.DecodeCheckInput(b) }); got != tc.want {
			t.Errorf("DecodeCheckInput(%s): %v allocations, want %v", tc.body, got, tc.want)
		}
	}
}
