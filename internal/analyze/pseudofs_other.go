//go:build !linux

package analyze

// pseudoFS: only Linux's pseudo file systems are recognised
// (pseudofs_linux.go).
func pseudoFS(string) string { return "" }
