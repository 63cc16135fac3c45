//go:build !noasm

#include "textflag.h"

// func sgemmTranspose8AVX2(dst *float32, w int, src *float32, ld int, rows int, mask *int32, blocks int)
//
// For each of `blocks` blocks of 8 columns of src (32 bytes apart), it transposes the
// rows×8 block (rows <= 8, row stride ld) into 8 rows of dst (row stride w), storing the
// lanes that the 8 int32 masks at mask select: src rows beyond `rows` read as zero.
// Y0..Y7 hold the source rows, Y8..Y15 the interleaved pairs.

#define LOADROW(y) \
	VMOVUPS (BX), y; \
	DECQ    DX; \
	JZ      loaded; \
	ADDQ    R8, BX

TEXT ·sgemmTranspose8AVX2(SB), NOSPLIT, $0-56
	MOVQ dst+0(FP), DI
	MOVQ w+8(FP), R9
	SHLQ $2, R9            // dst row stride in bytes
	LEAQ (R9)(R9*1), R12
	SHLQ $1, R12           // 4 dst rows
	LEAQ (R12)(R12*1), R13 // 8 dst rows
	MOVQ src+16(FP), SI
	MOVQ ld+24(FP), R8
	SHLQ $2, R8
	MOVQ rows+32(FP), R10
	MOVQ mask+40(FP), AX
	MOVQ blocks+48(FP), R11
	TESTQ R11, R11
	JZ   ret

block:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	MOVQ  SI, BX
	MOVQ  R10, DX
	TESTQ DX, DX
	JZ    loaded
	LOADROW(Y0)
	LOADROW(Y1)
	LOADROW(Y2)
	LOADROW(Y3)
	LOADROW(Y4)
	LOADROW(Y5)
	LOADROW(Y6)
	VMOVUPS (BX), Y7

loaded:
	// t = pairs of rows interleaved; s_{4h+e} holds, in 128-bit half L, rows 4h..4h+3
	// of column 4L+e.
	VUNPCKLPS Y1, Y0, Y8
	VUNPCKHPS Y1, Y0, Y9
	VUNPCKLPS Y3, Y2, Y10
	VUNPCKHPS Y3, Y2, Y11
	VUNPCKLPS Y5, Y4, Y12
	VUNPCKHPS Y5, Y4, Y13
	VUNPCKLPS Y7, Y6, Y14
	VUNPCKHPS Y7, Y6, Y15
	VSHUFPS $0x44, Y10, Y8, Y0
	VSHUFPS $0xEE, Y10, Y8, Y1
	VSHUFPS $0x44, Y11, Y9, Y2
	VSHUFPS $0xEE, Y11, Y9, Y3
	VSHUFPS $0x44, Y14, Y12, Y4
	VSHUFPS $0xEE, Y14, Y12, Y5
	VSHUFPS $0x44, Y15, Y13, Y6
	VSHUFPS $0xEE, Y15, Y13, Y7
	VMOVDQU (AX), Y15

	MOVQ DI, BX
	VPERM2F128 $0x20, Y4, Y0, Y8
	VPERM2F128 $0x31, Y4, Y0, Y9
	VMASKMOVPS Y8, Y15, (BX)
	VMASKMOVPS Y9, Y15, (BX)(R12*1)
	ADDQ R9, BX
	VPERM2F128 $0x20, Y5, Y1, Y8
	VPERM2F128 $0x31, Y5, Y1, Y9
	VMASKMOVPS Y8, Y15, (BX)
	VMASKMOVPS Y9, Y15, (BX)(R12*1)
	ADDQ R9, BX
	VPERM2F128 $0x20, Y6, Y2, Y8
	VPERM2F128 $0x31, Y6, Y2, Y9
	VMASKMOVPS Y8, Y15, (BX)
	VMASKMOVPS Y9, Y15, (BX)(R12*1)
	ADDQ R9, BX
	VPERM2F128 $0x20, Y7, Y3, Y8
	VPERM2F128 $0x31, Y7, Y3, Y9
	VMASKMOVPS Y8, Y15, (BX)
	VMASKMOVPS Y9, Y15, (BX)(R12*1)

	ADDQ $32, SI
	ADDQ R13, DI
	DECQ R11
	JNZ  block

ret:
	VZEROUPPER
	RET
