//go:build !amd64

package analyze

var indexBlocks = indexBlocksGo
