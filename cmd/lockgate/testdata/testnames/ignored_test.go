//go:build ignore

package testnames

import "testing"

func TestIgnored(t *testing.T) {} // not listed: the build constraint leaves the file out
