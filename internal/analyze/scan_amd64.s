#include "textflag.h"

// func indexAVX2(b *byte, blocks int, m *uint64) (irregular, high bool)
//
// For each 64-byte block of b, three words at m: the bits of its quotes,
// of its opening brackets ({ and [, which differ in bit 5 only) and of its
// closing ones (} and ]); whether any byte is a backslash or a control
// character (below 0x20: min(byte, 0x1f) equals it); and whether any byte
// is 0x80 or above (its high bit, which VPMOVMSKB gathers), outside
// ASCII, to be checked as UTF-8.
//
// The constants reach the vector registers with VMOVQ, the VEX form: the
// legacy SSE MOVQ leaves the register's upper half to be merged, which,
// on the AMD EPYC (family 25) the benchmarks run on, slowed down every
// later 256-bit use of the register: the loop ran at 2.5 GB per
// CPU-second with MOVQ and at 20 GB with VMOVQ.
TEXT ·indexAVX2(SB), NOSPLIT, $0-26
	MOVQ b+0(FP), SI
	MOVQ blocks+8(FP), CX
	MOVQ m+16(FP), R8
	MOVQ $0x22, AX
	VMOVQ AX, X10
	VPBROADCASTB X10, Y10 // "
	MOVQ $0x5c, AX
	VMOVQ AX, X11
	VPBROADCASTB X11, Y11 // backslash
	MOVQ $0x20, AX
	VMOVQ AX, X12
	VPBROADCASTB X12, Y12 // bit 5
	MOVQ $0x7b, AX
	VMOVQ AX, X13
	VPBROADCASTB X13, Y13 // {
	MOVQ $0x7d, AX
	VMOVQ AX, X14
	VPBROADCASTB X14, Y14 // }
	MOVQ $0x1f, AX
	VMOVQ AX, X9
	VPBROADCASTB X9, Y9   // the last control character
	VPXOR Y15, Y15, Y15   // backslashes and control characters seen
	VPXOR Y8, Y8, Y8      // the bytes' high bits seen

loop:
	VMOVDQU (SI), Y0
	VMOVDQU 32(SI), Y1
	VPOR Y0, Y8, Y8
	VPOR Y1, Y8, Y8
	VPCMPEQB Y10, Y0, Y2
	VPCMPEQB Y10, Y1, Y3
	VPMOVMSKB Y2, AX
	VPMOVMSKB Y3, DX
	SHLQ $32, DX
	ORQ DX, AX
	MOVQ AX, (R8)
	VPCMPEQB Y11, Y0, Y2
	VPCMPEQB Y11, Y1, Y3
	VPOR Y2, Y15, Y15
	VPOR Y3, Y15, Y15
	VPMINUB Y9, Y0, Y2
	VPMINUB Y9, Y1, Y3
	VPCMPEQB Y0, Y2, Y2
	VPCMPEQB Y1, Y3, Y3
	VPOR Y2, Y15, Y15
	VPOR Y3, Y15, Y15
	VPOR Y12, Y0, Y0
	VPOR Y12, Y1, Y1
	VPCMPEQB Y13, Y0, Y2
	VPCMPEQB Y13, Y1, Y3
	VPMOVMSKB Y2, AX
	VPMOVMSKB Y3, DX
	SHLQ $32, DX
	ORQ DX, AX
	MOVQ AX, 8(R8)
	VPCMPEQB Y14, Y0, Y2
	VPCMPEQB Y14, Y1, Y3
	VPMOVMSKB Y2, AX
	VPMOVMSKB Y3, DX
	SHLQ $32, DX
	ORQ DX, AX
	MOVQ AX, 16(R8)
	ADDQ $64, SI
	ADDQ $24, R8
	DECQ CX
	JNZ loop

	VPMOVMSKB Y15, AX
	TESTL AX, AX
	SETNE irregular+24(FP)
	VPMOVMSKB Y8, AX
	TESTL AX, AX
	SETNE high+25(FP)
	VZEROUPPER
	RET

// func indexLineAVX512(b *byte, n int, m *uint64) (end, irregular, high int)
//
// The line at b: end is the offset of its first line end ('\n') among
// the n bytes at b, or n when there is none. For each 64-byte block of
// the line, up to and including the block of its end, the three words of
// indexAVX2 at m, holding no bit at or past the end; irregular is the
// number of backslashes and control characters before the end, high
// nonzero when a byte before the end is 0x80 or above (VPMOVB2M gives the
// bytes' high bits as a mask), outside ASCII, to be checked as UTF-8. The
// comparisons (AVX-512BW) write 64-bit masks straight into the mask
// registers, and a last block shorter than 64 bytes is loaded masked
// (the bytes past n are neither read nor can fault), so that neither
// the line end nor a copy of the tail needs another pass.
TEXT ·indexLineAVX512(SB), NOSPLIT, $0-48
	MOVQ b+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ m+16(FP), R8
	XORQ DX, DX // offset of the block
	XORQ R9, R9 // backslashes and control characters
	XORQ DI, DI // high bits
	MOVL $0x22, AX
	VPBROADCASTB AX, Z10 // "
	MOVL $0x5c, AX
	VPBROADCASTB AX, Z11 // backslash
	MOVL $0x20, AX
	VPBROADCASTB AX, Z12 // bit 5, and the first byte that is no control character
	MOVL $0x7b, AX
	VPBROADCASTB AX, Z13 // {
	MOVL $0x7d, AX
	VPBROADCASTB AX, Z14 // }
	MOVL $0x0a, AX
	VPBROADCASTB AX, Z15 // line end

loop:
	MOVQ CX, AX
	SUBQ DX, AX // bytes left
	JLE none
	MOVQ $-1, BX // the block's bytes
	CMPQ AX, $64
	JAE whole
	BZHIQ AX, BX, BX
	KMOVQ BX, K7
	VMOVDQU8.Z (SI)(DX*1), K7, Z0
	JMP compare

whole:
	VMOVDQU8 (SI)(DX*1), Z0

compare:
	VPCMPEQB Z15, Z0, K1
	KMOVQ K1, R10
	VPMOVB2M Z0, K7 // high bits; bytes past n were loaded as zeros
	VPCMPEQB Z11, Z0, K2
	VPCMPUB $1, Z12, Z0, K3 // below 0x20
	KORQ K2, K3, K3
	KMOVQ K3, R11
	VPCMPEQB Z10, Z0, K4
	KMOVQ K4, R12
	VPORQ Z12, Z0, Z0
	VPCMPEQB Z13, Z0, K5
	KMOVQ K5, R13
	VPCMPEQB Z14, Z0, K6
	KMOVQ K6, R14
	TESTQ R10, R10
	JNZ found
	ANDQ BX, R11 // bytes past n were loaded as zeros
	POPCNTQ R11, R11
	ADDQ R11, R9
	KMOVQ K7, R10 // no line end in R10
	ORQ R10, DI
	MOVQ R12, (R8)
	MOVQ R13, 8(R8)
	MOVQ R14, 16(R8)
	ADDQ $24, R8
	ADDQ $64, DX
	JMP loop

found:
	TZCNTQ R10, AX
	MOVQ $-1, BX
	BZHIQ AX, BX, BX // the bytes before the line end
	ANDQ BX, R11
	ANDQ BX, R12
	ANDQ BX, R13
	ANDQ BX, R14
	KMOVQ K7, R10
	ANDQ BX, R10
	ORQ R10, DI
	POPCNTQ R11, R11
	ADDQ R11, R9
	MOVQ R12, (R8)
	MOVQ R13, 8(R8)
	MOVQ R14, 16(R8)
	ADDQ AX, DX
	MOVQ DX, end+24(FP)
	MOVQ R9, irregular+32(FP)
	MOVQ DI, high+40(FP)
	VZEROUPPER
	RET

none:
	MOVQ CX, end+24(FP)
	MOVQ R9, irregular+32(FP)
	MOVQ DI, high+40(FP)
	VZEROUPPER
	RET
