//go:build race

package iampolicy

// raceEnabled: the race detector instruments allocations.
const raceEnabled = true
