package cpustat

import (
	"runtime"
	"testing"
	"time"
)

// TestProcessGrows: CPU time spent spinning shows in Process (where the
// platform can read it at all).
func TestProcessGrows(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("no getrusage")
	}
	start := Process()
	for deadline := time.Now().Add(50 * time.Millisecond); time.Now().Before(deadline); {
	}
	if got := Process() - start; got < 10*time.Millisecond {
		t.Fatalf("Process grew %v over 50 ms of spinning", got)
	}
}
