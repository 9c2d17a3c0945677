//go:build !race

package iampolicy

const raceEnabled = false
