package config

import "testing"

func TestIsHeaderName(t *testing.T) {
	for name, want := range map[string]bool{
		"X-Lockgate-VPN-Secret": true, "x_a": true, "!#$%&'*+-.^_`|~09az": true,
		"": false, "a b": false, "X-A:": false, "a\tb": false, "é": false, "(x)": false, "a/b": false, "a\x7f": false,
	} {
		if got := IsHeaderName(name); got != want {
			t.Errorf("IsHeaderName(%q) = %v, want %v", name, got, want)
		}
	}
}
