package testnames_test

import "testing"

func TestExternal(t *testing.T) {} // listed: the external test package counts
