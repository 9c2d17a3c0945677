package cpustat

import (
	"runtime"
	"testing"
	"time"
)

// spin is what the test spins on, a package variable so that the loop is
// not optimised away.
var spin int

// TestProcessGrows: CPU time spent spinning shows in Process (where the
// platform can read it at all).
func TestProcessGrows(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("no getrusage")
	}
	// Spin until Process has counted 20 ms, however long a loaded machine
	// takes to give this goroutine that much CPU: a fixed spin of 50 ms of
	// wall time counted 6–7 ms at a load average of 60, and failed. It
	// fails only if Process never grows.
	start := Process()
	deadline := time.Now().Add(30 * time.Second)
	for Process()-start < 20*time.Millisecond {
		if time.Now().After(deadline) {
			t.Fatalf("Process grew %v over 30 s of spinning", Process()-start)
		}
		for range 1 << 16 {
			spin++
		}
	}
}
