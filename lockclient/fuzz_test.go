package lockclient

import "testing"

// FuzzParseAnswer: an answer is read as locked or unlocked only when it
// says so; anything else is an error (and so fails closed), never a panic.
func FuzzParseAnswer(f *testing.F) {
	for _, s := range []string{`{"locked":true}`, `{"locked":false}`, `{"locked":"true"}`, `{"message":"x"}`, `{"locked":null}`, `[]`, ``, `{"locked":tru`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := parseAnswer(data)
		if err == nil && d.Failed {
			t.Fatal("a parsed answer marked failed")
		}
	})
}
