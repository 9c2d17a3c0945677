package analyze

import "golang.org/x/sys/cpu"

// indexAVX2 is indexBlocksGo with AVX2: 32 bytes a comparison. blocks is
// at least 1.
//
//go:noescape
func indexAVX2(b *byte, blocks int, m *uint64) (irregular bool)

var indexBlocks = func() func([]byte, []uint64) bool {
	if cpu.X86.HasAVX2 {
		return indexBlocksAVX2
	}
	return indexBlocksGo
}()

func indexBlocksAVX2(b []byte, m []uint64) bool {
	if len(b) < 64 {
		return false
	}
	_ = m[3*(len(b)/64)-1]
	return indexAVX2(&b[0], len(b)/64, &m[0])
}
