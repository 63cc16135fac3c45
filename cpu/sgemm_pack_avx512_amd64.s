//go:build !noasm

#include "textflag.h"

// func sgemmTranspose16AVX512(dst *float32, w int, src *float32, ld int, rows, lanes, blocks, tail int)
//
// For each of `blocks` blocks of 16 columns of src (16 columns = 64 bytes apart), it
// transposes the rows×16 block (rows <= 16, row stride ld) into 16 rows of dst (row
// stride w), writing `lanes` values per row: src rows beyond `rows` read as zero. Then,
// if tail > 0, it does the same for a last block of only `tail` (< 16) columns: the
// loads are masked to them (nothing past them is read) and `tail` rows are stored.
// Z0..Z15 hold the source rows, Z16..Z31 the intermediate shuffles.

// LOADROW loads one source row, or leaves the load sequence after the last one.
#define LOADROW(z) \
	VMOVUPS (BX), z; \
	DECQ    DX; \
	JZ      loaded; \
	ADDQ    R8, BX

// LOADROWT loads the first `tail` columns of one source row (K2 masks them).
#define LOADROWT(z) \
	VMOVUPS.Z (BX), K2, z; \
	DECQ      DX; \
	JZ        tloaded; \
	ADDQ      R8, BX

// UNPACK interleaves pairs of rows (32-bit), then pairs of pairs (64-bit): u_{4g+e}
// (in Z0..Z15) holds, in 128-bit lane L, rows 4g..4g+3 of column 4L+e.
#define UNPACK \
	VUNPCKLPS Z1, Z0, Z16; \
	VUNPCKHPS Z1, Z0, Z17; \
	VUNPCKLPS Z3, Z2, Z18; \
	VUNPCKHPS Z3, Z2, Z19; \
	VUNPCKLPS Z5, Z4, Z20; \
	VUNPCKHPS Z5, Z4, Z21; \
	VUNPCKLPS Z7, Z6, Z22; \
	VUNPCKHPS Z7, Z6, Z23; \
	VUNPCKLPS Z9, Z8, Z24; \
	VUNPCKHPS Z9, Z8, Z25; \
	VUNPCKLPS Z11, Z10, Z26; \
	VUNPCKHPS Z11, Z10, Z27; \
	VUNPCKLPS Z13, Z12, Z28; \
	VUNPCKHPS Z13, Z12, Z29; \
	VUNPCKLPS Z15, Z14, Z30; \
	VUNPCKHPS Z15, Z14, Z31; \
	VUNPCKLPD Z18, Z16, Z0; \
	VUNPCKHPD Z18, Z16, Z1; \
	VUNPCKLPD Z19, Z17, Z2; \
	VUNPCKHPD Z19, Z17, Z3; \
	VUNPCKLPD Z22, Z20, Z4; \
	VUNPCKHPD Z22, Z20, Z5; \
	VUNPCKLPD Z23, Z21, Z6; \
	VUNPCKHPD Z23, Z21, Z7; \
	VUNPCKLPD Z26, Z24, Z8; \
	VUNPCKHPD Z26, Z24, Z9; \
	VUNPCKLPD Z27, Z25, Z10; \
	VUNPCKHPD Z27, Z25, Z11; \
	VUNPCKLPD Z30, Z28, Z12; \
	VUNPCKHPD Z30, Z28, Z13; \
	VUNPCKLPD Z31, Z29, Z14; \
	VUNPCKHPD Z31, Z29, Z15

// FIN4 finishes the output rows 4L+e (L = 0..3) from u_e, u_{4+e}, u_{8+e}, u_{12+e}
// into Z20..Z23.
#define FIN4(ue, u4e, u8e, u12e) \
	VSHUFF32X4 $0x44, u4e, ue, Z16; \
	VSHUFF32X4 $0xEE, u4e, ue, Z17; \
	VSHUFF32X4 $0x44, u12e, u8e, Z18; \
	VSHUFF32X4 $0xEE, u12e, u8e, Z19; \
	VSHUFF32X4 $0x88, Z18, Z16, Z20; \
	VSHUFF32X4 $0xDD, Z18, Z16, Z21; \
	VSHUFF32X4 $0x88, Z19, Z17, Z22; \
	VSHUFF32X4 $0xDD, Z19, Z17, Z23

// TOUT4 is OUT4 for the tail block: output row e+4L is stored only if it is below
// tail (R15); rows increase along the four stores, so the first one past it ends them.
#define TOUT4(ue, u4e, u8e, u12e, e, next) \
	FIN4(ue, u4e, u8e, u12e); \
	CMPQ    R15, $(e); \
	JLE     next; \
	VMOVUPS Z20, K1, (BX); \
	CMPQ    R15, $(e+4); \
	JLE     next; \
	VMOVUPS Z21, K1, (BX)(R12*1); \
	CMPQ    R15, $(e+8); \
	JLE     next; \
	VMOVUPS Z22, K1, (BX)(R12*2); \
	CMPQ    R15, $(e+12); \
	JLE     next; \
	VMOVUPS Z23, K1, (BX)(R13*1)

// OUT4 finishes the four output rows 4L+e (L = 0..3) from u_e, u_{4+e}, u_{8+e},
// u_{12+e} and stores them at BX + L*4*w.
#define OUT4(ue, u4e, u8e, u12e) \
	VSHUFF32X4 $0x44, u4e, ue, Z16; \
	VSHUFF32X4 $0xEE, u4e, ue, Z17; \
	VSHUFF32X4 $0x44, u12e, u8e, Z18; \
	VSHUFF32X4 $0xEE, u12e, u8e, Z19; \
	VSHUFF32X4 $0x88, Z18, Z16, Z20; \
	VSHUFF32X4 $0xDD, Z18, Z16, Z21; \
	VSHUFF32X4 $0x88, Z19, Z17, Z22; \
	VSHUFF32X4 $0xDD, Z19, Z17, Z23; \
	VMOVUPS    Z20, K1, (BX); \
	VMOVUPS    Z21, K1, (BX)(R12*1); \
	VMOVUPS    Z22, K1, (BX)(R12*2); \
	VMOVUPS    Z23, K1, (BX)(R13*1)

TEXT ·sgemmTranspose16AVX512(SB), NOSPLIT, $0-64
	MOVQ dst+0(FP), DI
	MOVQ w+8(FP), R9
	SHLQ $2, R9              // dst row stride in bytes
	LEAQ (R9)(R9*1), R12
	SHLQ $1, R12             // 4 dst rows
	LEAQ (R12)(R12*2), R13   // 12 dst rows
	LEAQ (R12)(R12*1), R14
	SHLQ $1, R14             // 16 dst rows
	MOVQ src+16(FP), SI
	MOVQ ld+24(FP), R8
	SHLQ $2, R8
	MOVQ rows+32(FP), R10
	MOVQ lanes+40(FP), CX
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVW AX, K1
	MOVQ blocks+48(FP), R11
	TESTQ R11, R11
	JZ   tail

block:
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	MOVQ  SI, BX
	MOVQ  R10, DX
	TESTQ DX, DX
	JZ    loaded
	LOADROW(Z0)
	LOADROW(Z1)
	LOADROW(Z2)
	LOADROW(Z3)
	LOADROW(Z4)
	LOADROW(Z5)
	LOADROW(Z6)
	LOADROW(Z7)
	LOADROW(Z8)
	LOADROW(Z9)
	LOADROW(Z10)
	LOADROW(Z11)
	LOADROW(Z12)
	LOADROW(Z13)
	LOADROW(Z14)
	VMOVUPS (BX), Z15

loaded:
	UNPACK

	MOVQ DI, BX
	OUT4(Z0, Z4, Z8, Z12)
	ADDQ R9, BX
	OUT4(Z1, Z5, Z9, Z13)
	ADDQ R9, BX
	OUT4(Z2, Z6, Z10, Z14)
	ADDQ R9, BX
	OUT4(Z3, Z7, Z11, Z15)

	ADDQ $64, SI
	ADDQ R14, DI
	DECQ R11
	JNZ  block

tail:
	MOVQ  tail+56(FP), R15
	TESTQ R15, R15
	JZ    ret
	MOVL  $1, AX
	MOVQ  R15, CX
	SHLL  CX, AX
	DECL  AX
	KMOVW AX, K2
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	MOVQ  SI, BX
	MOVQ  R10, DX
	TESTQ DX, DX
	JZ    tloaded
	LOADROWT(Z0)
	LOADROWT(Z1)
	LOADROWT(Z2)
	LOADROWT(Z3)
	LOADROWT(Z4)
	LOADROWT(Z5)
	LOADROWT(Z6)
	LOADROWT(Z7)
	LOADROWT(Z8)
	LOADROWT(Z9)
	LOADROWT(Z10)
	LOADROWT(Z11)
	LOADROWT(Z12)
	LOADROWT(Z13)
	LOADROWT(Z14)
	VMOVUPS.Z (BX), K2, Z15

tloaded:
	UNPACK
	MOVQ DI, BX
	TOUT4(Z0, Z4, Z8, Z12, 0, t1)

t1:
	ADDQ R9, BX
	TOUT4(Z1, Z5, Z9, Z13, 1, t2)

t2:
	ADDQ R9, BX
	TOUT4(Z2, Z6, Z10, Z14, 2, t3)

t3:
	ADDQ R9, BX
	TOUT4(Z3, Z7, Z11, Z15, 3, ret)

ret:
	VZEROUPPER
	RET

// func sgemmPackRaggedAVX512(dst *float32, w int, src *float32, ld int, width, kb int)
//
// For k < kb: dst[k*w + j] = src[k*ld + j] for j < width, 0 for width <= j < w
// (width <= w <= 32). The loads are masked to width lanes (nothing past them is read),
// the stores to w lanes.
TEXT ·sgemmPackRaggedAVX512(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ w+8(FP), R9
	MOVQ src+16(FP), SI
	MOVQ ld+24(FP), R8
	SHLQ $2, R8
	MOVQ width+32(FP), R10
	MOVQ kb+40(FP), DX
	// K1/K2: source lanes 0-15/16-31 that exist; K3/K4: destination lanes.
	MOVQ $1, AX
	MOVQ R10, CX
	SHLQ CX, AX
	DECQ AX
	KMOVW AX, K1
	SHRQ $16, AX
	KMOVW AX, K2
	MOVQ $1, AX
	MOVQ R9, CX
	SHLQ CX, AX
	DECQ AX
	KMOVW AX, K3
	SHRQ $16, AX
	KMOVW AX, K4
	SHLQ $2, R9
	TESTQ DX, DX
	JZ   rdone

rloop:
	VMOVUPS.Z (SI), K1, Z0
	VMOVUPS.Z 64(SI), K2, Z1
	VMOVUPS   Z0, K3, (DI)
	VMOVUPS   Z1, K4, 64(DI)
	ADDQ R8, SI
	ADDQ R9, DI
	DECQ DX
	JNZ  rloop

rdone:
	VZEROUPPER
	RET
