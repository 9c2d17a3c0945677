//go:build !amd64

package analyze

var indexBlocks = indexBlocksGo

// indexLineFast is nil: lineGeneric indexes every line.
var indexLineFast func(*lineIndex, []byte, int) int
