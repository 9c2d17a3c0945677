//go:build !linux

package store_test

import (
	"testing"
	"time"
)

// postgresCPU needs Linux's /proc: elsewhere pg-cpu-us/op is left out.
func postgresCPU(testing.TB, string) time.Duration { return 0 }
