#include "textflag.h"

// func indexAVX2(b *byte, blocks int, m *uint64) (irregular bool)
//
// For each 64-byte block of b, three words at m: the bits of its quotes,
// of its opening brackets ({ and [, which differ in bit 5 only) and of its
// closing ones (} and ]); and whether any byte is a backslash or a
// control character (below 0x20: min(byte, 0x1f) equals it).
//
// The constants reach the vector registers with VMOVQ, the VEX form: the
// legacy SSE MOVQ leaves the register's upper half to be merged, which,
// on the AMD EPYC (family 25) the benchmarks run on, slowed down every
// later 256-bit use of the register: the loop ran at 2.5 GB per
// CPU-second with MOVQ and at 20 GB with VMOVQ.
TEXT ·indexAVX2(SB), NOSPLIT, $0-25
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

loop:
	VMOVDQU (SI), Y0
	VMOVDQU 32(SI), Y1
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
	VZEROUPPER
	RET
