//go:build !noasm

#include "textflag.h"

// func sgemmKernelAVX512(kc int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32, mr int, mask uint32, np, bstep int)
//
// It computes np tiles side by side: tile p reads the B micro-panel at b + p*bstep and
// updates the 32 columns of C from c + 32*p; the last one stores only the lanes in mask.
//
// Registers: CX steps of k left, SI A micro-panel (R8 = lda in bytes), DI B micro-panel
// (R9 = ldb in bytes), DX C row (R10 = ldc in bytes), R11 rows to store, R12 tiles left,
// R13 bstep in bytes, R14 and R15 the B panel and C tile of this tile. Z0..Z23 hold the
// 12×32 tile (row r in Z(2r), Z(2r+1)), Z24/Z25 the 32 values of B at step k, Z26..Z31
// broadcasts of A.

// FMAROW multiplies the B vectors by A's value off(SI) into one row's accumulators.
#define FMAROW(off, t, r0, r1) \
	VBROADCASTSS off(SI), t; \
	VFMADD231PS Z24, t, r0; \
	VFMADD231PS Z25, t, r1

// STEP does one step of k: the rank-1 update of the tile.
#define STEP \
	VMOVUPS (DI), Z24; \
	VMOVUPS 64(DI), Z25; \
	FMAROW(0, Z26, Z0, Z1); \
	FMAROW(4, Z27, Z2, Z3); \
	FMAROW(8, Z28, Z4, Z5); \
	FMAROW(12, Z29, Z6, Z7); \
	FMAROW(16, Z30, Z8, Z9); \
	FMAROW(20, Z31, Z10, Z11); \
	FMAROW(24, Z26, Z12, Z13); \
	FMAROW(28, Z27, Z14, Z15); \
	FMAROW(32, Z28, Z16, Z17); \
	FMAROW(36, Z29, Z18, Z19); \
	FMAROW(40, Z30, Z20, Z21); \
	FMAROW(44, Z31, Z22, Z23); \
	ADDQ R8, SI; \
	ADDQ R9, DI

// STEP8 is STEP for an 8-row tile.
#define STEP8 \
	VMOVUPS (DI), Z24; \
	VMOVUPS 64(DI), Z25; \
	FMAROW(0, Z26, Z0, Z1); \
	FMAROW(4, Z27, Z2, Z3); \
	FMAROW(8, Z28, Z4, Z5); \
	FMAROW(12, Z29, Z6, Z7); \
	FMAROW(16, Z30, Z8, Z9); \
	FMAROW(20, Z31, Z10, Z11); \
	FMAROW(24, Z26, Z12, Z13); \
	FMAROW(28, Z27, Z14, Z15); \
	ADDQ R8, SI; \
	ADDQ R9, DI

// STORE0 writes alpha*acc to the row at DX (beta == 0: C is not read).
#define STORE0(r0, r1) \
	VMULPS Z26, r0, r0; \
	VMULPS Z26, r1, r1; \
	VMOVUPS r0, K1, (DX); \
	VMOVUPS r1, K2, 64(DX)

// STORE writes alpha*acc + beta*C to the row at DX.
#define STORE(r0, r1) \
	VMOVUPS.Z (DX), K1, Z28; \
	VMOVUPS.Z 64(DX), K2, Z29; \
	VMULPS Z26, r0, r0; \
	VMULPS Z26, r1, r1; \
	VFMADD231PS Z27, Z28, r0; \
	VFMADD231PS Z27, Z29, r1; \
	VMOVUPS r0, K1, (DX); \
	VMOVUPS r1, K2, 64(DX)

// PREFC prefetches one row of the C tile (128 bytes, two or three cache lines) and moves
// BX to the next.
#define PREFC \
	PREFETCHT0 (BX); \
	PREFETCHT0 64(BX); \
	PREFETCHT0 127(BX); \
	ADDQ       R10, BX

// NEXT moves to the next row, or leaves when mr rows are stored.
#define NEXT \
	DECQ R11; \
	JZ   done; \
	ADDQ R10, DX

#define NEXT8 \
	DECQ R11; \
	JZ   done8; \
	ADDQ R10, DX

TEXT ·sgemmKernelAVX512(SB), NOSPLIT, $0-96
	MOVQ lda+16(FP), R8
	SHLQ $2, R8
	MOVQ ldb+32(FP), R9
	SHLQ $2, R9
	MOVQ ldc+48(FP), R10
	SHLQ $2, R10
	MOVQ np+80(FP), R12
	MOVQ bstep+88(FP), R13
	SHLQ $2, R13
	MOVQ b+24(FP), R14
	MOVQ c+40(FP), R15

panel:
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ R14, DI
	MOVQ R15, DX
	MOVQ mr+64(FP), R11
	MOVL $-1, AX // all 32 columns, but in the last tile
	CMPQ R12, $1
	JNE  masked
	MOVL mask+72(FP), AX

masked:
	KMOVW AX, K1
	SHRL  $16, AX
	KMOVW AX, K2

	// Start fetching the C tile now, so that it is in L1 when the k loop ends.
	MOVQ DX, BX
	PREFC
	PREFC
	PREFC
	PREFC
	PREFC
	PREFC
	PREFC
	PREFC
	PREFC
	PREFC
	PREFC
	PREFC

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
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23

	MOVQ CX, AX
	SHRQ $2, AX
	JZ   tail

loop4:
	STEP
	STEP
	STEP
	STEP
	DECQ AX
	JNZ  loop4

tail:
	ANDQ $3, CX
	JZ   store

loop1:
	STEP
	DECQ CX
	JNZ  loop1

store:
	VBROADCASTSS alpha+56(FP), Z26
	VBROADCASTSS beta+60(FP), Z27
	MOVL    beta+60(FP), AX
	SHLL    $1, AX // drop the sign: +0 and -0 both mean "do not read C"
	JZ      beta0

	STORE(Z0, Z1)
	NEXT
	STORE(Z2, Z3)
	NEXT
	STORE(Z4, Z5)
	NEXT
	STORE(Z6, Z7)
	NEXT
	STORE(Z8, Z9)
	NEXT
	STORE(Z10, Z11)
	NEXT
	STORE(Z12, Z13)
	NEXT
	STORE(Z14, Z15)
	NEXT
	STORE(Z16, Z17)
	NEXT
	STORE(Z18, Z19)
	NEXT
	STORE(Z20, Z21)
	NEXT
	STORE(Z22, Z23)
	JMP done

beta0:
	STORE0(Z0, Z1)
	NEXT
	STORE0(Z2, Z3)
	NEXT
	STORE0(Z4, Z5)
	NEXT
	STORE0(Z6, Z7)
	NEXT
	STORE0(Z8, Z9)
	NEXT
	STORE0(Z10, Z11)
	NEXT
	STORE0(Z12, Z13)
	NEXT
	STORE0(Z14, Z15)
	NEXT
	STORE0(Z16, Z17)
	NEXT
	STORE0(Z18, Z19)
	NEXT
	STORE0(Z20, Z21)
	NEXT
	STORE0(Z22, Z23)

done:
	ADDQ R13, R14
	ADDQ $128, R15
	DECQ R12
	JNZ  panel
	VZEROUPPER
	RET

// func sgemmKernelAVX512x8(kc int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32, mr int, mask uint32, np, bstep int)
//
// The 8×32 tile: Z0..Z15 accumulate, otherwise as sgemmKernelAVX512.
TEXT ·sgemmKernelAVX512x8(SB), NOSPLIT, $0-96
	MOVQ lda+16(FP), R8
	SHLQ $2, R8
	MOVQ ldb+32(FP), R9
	SHLQ $2, R9
	MOVQ ldc+48(FP), R10
	SHLQ $2, R10
	MOVQ np+80(FP), R12
	MOVQ bstep+88(FP), R13
	SHLQ $2, R13
	MOVQ b+24(FP), R14
	MOVQ c+40(FP), R15

panel8:
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ R14, DI
	MOVQ R15, DX
	MOVQ mr+64(FP), R11
	MOVL $-1, AX // all 32 columns, but in the last tile
	CMPQ R12, $1
	JNE  masked8
	MOVL mask+72(FP), AX

masked8:
	KMOVW AX, K1
	SHRL  $16, AX
	KMOVW AX, K2

	// Start fetching the C tile now, so that it is in L1 when the k loop ends.
	MOVQ DX, BX
	PREFC
	PREFC
	PREFC
	PREFC
	PREFC
	PREFC
	PREFC
	PREFC

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

	MOVQ CX, AX
	SHRQ $2, AX
	JZ   tail8

loop48:
	STEP8
	STEP8
	STEP8
	STEP8
	DECQ AX
	JNZ  loop48

tail8:
	ANDQ $3, CX
	JZ   store8

loop18:
	STEP8
	DECQ CX
	JNZ  loop18

store8:
	VBROADCASTSS alpha+56(FP), Z26
	VBROADCASTSS beta+60(FP), Z27
	MOVL    beta+60(FP), AX
	SHLL    $1, AX // drop the sign: +0 and -0 both mean "do not read C"
	JZ      beta08

	STORE(Z0, Z1)
	NEXT8
	STORE(Z2, Z3)
	NEXT8
	STORE(Z4, Z5)
	NEXT8
	STORE(Z6, Z7)
	NEXT8
	STORE(Z8, Z9)
	NEXT8
	STORE(Z10, Z11)
	NEXT8
	STORE(Z12, Z13)
	NEXT8
	STORE(Z14, Z15)
	JMP done8

beta08:
	STORE0(Z0, Z1)
	NEXT8
	STORE0(Z2, Z3)
	NEXT8
	STORE0(Z4, Z5)
	NEXT8
	STORE0(Z6, Z7)
	NEXT8
	STORE0(Z8, Z9)
	NEXT8
	STORE0(Z10, Z11)
	NEXT8
	STORE0(Z12, Z13)
	NEXT8
	STORE0(Z14, Z15)

done8:
	ADDQ R13, R14
	ADDQ $128, R15
	DECQ R12
	JNZ  panel8
	VZEROUPPER
	RET

// func sgemmDotAVX512(kc int, a0, a1, a2 *float32, b *float32, ldb int, c *float32, ldc int, alpha, beta float32, mr int, mask uint32, bias *float32, relu bool)
//
// The inner-product kernel for C = alpha*A·Bᵀ + beta*C with A and B both stored along k
// (A m×k, B n×k): a 3×8 tile of C from the rows a0, a1, a2 of A and the 8 rows of B at
// b (row stride ldb), each accumulator holding 16 partial sums over k; no packing.
// Accumulator Z(8i+j) sums A row i times B row j. The last kc%16 steps load under the
// mask K2. Then each row's 8 accumulators are reduced to the 8 sums of that row, and
// alpha*sum + beta*C (+ bias[j]) (max 0 when relu) is stored in the mr rows (ldc apart)
// under the column mask K1 (bit j: column j exists). beta == 0 does not read C; a nil
// bias adds nothing.
//
// Registers: SI, DI, R8 the A rows; R9 B row 0, R12 B row 4 (R10 = ldb, R11 = 3*ldb in
// bytes); CX whole 16-steps left; Z24..Z26 the A vectors, Z27 a B vector.

#define DOTBT(addr, j0, j1, j2) \
	VMOVUPS.Z   addr, K2, Z27; \
	VFMADD231PS Z27, Z24, j0; \
	VFMADD231PS Z27, Z25, j1; \
	VFMADD231PS Z27, Z26, j2

// HSUM8 reduces the accumulators a0..a7 (16 lanes each) of one row to the 8 row sums in
// the low 256 bits of out; a0, a2, a4, a6 are overwritten, Z28..Z30 are scratch.
#define HSUM8(a0, a1, a2, a3, a4, a5, a6, a7, out) \
	VUNPCKLPS  a1, a0, Z28; \
	VUNPCKHPS  a1, a0, Z29; \
	VADDPS     Z29, Z28, a0; \
	VUNPCKLPS  a3, a2, Z28; \
	VUNPCKHPS  a3, a2, Z29; \
	VADDPS     Z29, Z28, a2; \
	VUNPCKLPD  a2, a0, Z28; \
	VUNPCKHPD  a2, a0, Z29; \
	VADDPS     Z29, Z28, a0; \
	VUNPCKLPS  a5, a4, Z28; \
	VUNPCKHPS  a5, a4, Z29; \
	VADDPS     Z29, Z28, a4; \
	VUNPCKLPS  a7, a6, Z28; \
	VUNPCKHPS  a7, a6, Z29; \
	VADDPS     Z29, Z28, a6; \
	VUNPCKLPD  a6, a4, Z28; \
	VUNPCKHPD  a6, a4, Z29; \
	VADDPS     Z29, Z28, a4; \
	VSHUFF32X4 $0x44, a4, a0, Z28; \
	VSHUFF32X4 $0xEE, a4, a0, Z29; \
	VADDPS     Z29, Z28, Z28; \
	VSHUFF32X4 $0x88, Z28, Z28, Z29; \
	VSHUFF32X4 $0xDD, Z28, Z28, Z30; \
	VADDPS     Z30, Z29, out

// DOTSTORE writes row sums Y(r) to the C row at DX: alpha*s (+ beta*C) (+ bias) (max 0).
// Y31 alpha, Y30 beta (BX != 0: read C), R13 bias or 0, R14 relu, Y29 zero.
#define DOTSTORE(r) \
	VMULPS    Y31, r, r; \
	TESTQ     BX, BX; \
	JZ        3(PC); \
	VMOVUPS.Z (DX), K1, Y28; \
	VFMADD231PS Y30, Y28, r; \
	TESTQ     R13, R13; \
	JZ        3(PC); \
	VMOVUPS.Z (R13), K1, Y28; \
	VADDPS    Y28, r, r; \
	TESTQ     R14, R14; \
	JZ        2(PC); \
	VMAXPS    r, Y29, r; \
	VMOVUPS   r, K1, (DX)

TEXT ·sgemmDotAVX512(SB), NOSPLIT, $0-97
	MOVQ a0+8(FP), SI
	MOVQ a1+16(FP), DI
	MOVQ a2+24(FP), R8
	MOVQ b+32(FP), R9
	MOVQ ldb+40(FP), R10
	SHLQ $2, R10
	LEAQ (R10)(R10*2), R11
	LEAQ (R9)(R10*4), R12

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
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23

	MOVQ kc+0(FP), CX
	SHRQ $4, CX
	JZ   dottail

dotloop:
	VMOVUPS (SI), Z24
	VMOVUPS (DI), Z25
	VMOVUPS (R8), Z26
	VMOVUPS     (R9), Z27
	VFMADD231PS Z27, Z24, Z0
	VFMADD231PS Z27, Z25, Z8
	VFMADD231PS Z27, Z26, Z16
	VMOVUPS     (R9)(R10*1), Z27
	VFMADD231PS Z27, Z24, Z1
	VFMADD231PS Z27, Z25, Z9
	VFMADD231PS Z27, Z26, Z17
	VMOVUPS     (R9)(R10*2), Z27
	VFMADD231PS Z27, Z24, Z2
	VFMADD231PS Z27, Z25, Z10
	VFMADD231PS Z27, Z26, Z18
	VMOVUPS     (R9)(R11*1), Z27
	VFMADD231PS Z27, Z24, Z3
	VFMADD231PS Z27, Z25, Z11
	VFMADD231PS Z27, Z26, Z19
	VMOVUPS     (R12), Z27
	VFMADD231PS Z27, Z24, Z4
	VFMADD231PS Z27, Z25, Z12
	VFMADD231PS Z27, Z26, Z20
	VMOVUPS     (R12)(R10*1), Z27
	VFMADD231PS Z27, Z24, Z5
	VFMADD231PS Z27, Z25, Z13
	VFMADD231PS Z27, Z26, Z21
	VMOVUPS     (R12)(R10*2), Z27
	VFMADD231PS Z27, Z24, Z6
	VFMADD231PS Z27, Z25, Z14
	VFMADD231PS Z27, Z26, Z22
	VMOVUPS     (R12)(R11*1), Z27
	VFMADD231PS Z27, Z24, Z7
	VFMADD231PS Z27, Z25, Z15
	VFMADD231PS Z27, Z26, Z23
	ADDQ $64, SI
	ADDQ $64, DI
	ADDQ $64, R8
	ADDQ $64, R9
	ADDQ $64, R12
	DECQ CX
	JNZ  dotloop

dottail:
	MOVQ kc+0(FP), CX
	ANDQ $15, CX
	JZ   dotreduce
	MOVL  $1, AX
	SHLL  CX, AX
	DECL  AX
	KMOVW AX, K2
	VMOVUPS.Z (SI), K2, Z24
	VMOVUPS.Z (DI), K2, Z25
	VMOVUPS.Z (R8), K2, Z26
	DOTBT((R9), Z0, Z8, Z16)
	DOTBT((R9)(R10*1), Z1, Z9, Z17)
	DOTBT((R9)(R10*2), Z2, Z10, Z18)
	DOTBT((R9)(R11*1), Z3, Z11, Z19)
	DOTBT((R12), Z4, Z12, Z20)
	DOTBT((R12)(R10*1), Z5, Z13, Z21)
	DOTBT((R12)(R10*2), Z6, Z14, Z22)
	DOTBT((R12)(R11*1), Z7, Z15, Z23)

dotreduce:
	HSUM8(Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z24)
	HSUM8(Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15, Z25)
	HSUM8(Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z26)

	MOVL  mask+80(FP), AX
	KMOVW AX, K1
	VBROADCASTSS alpha+64(FP), Y31
	VBROADCASTSS beta+68(FP), Y30
	MOVL  beta+68(FP), BX
	SHLL  $1, BX // drop the sign: ±0 means "do not read C"
	MOVQ  bias+88(FP), R13
	MOVBQZX relu+96(FP), R14
	VPXORD Y29, Y29, Y29
	MOVQ c+48(FP), DX
	MOVQ ldc+56(FP), R10
	SHLQ $2, R10
	MOVQ mr+72(FP), CX

	DOTSTORE(Y24)
	DECQ CX
	JZ   dotdone
	ADDQ R10, DX
	DOTSTORE(Y25)
	DECQ CX
	JZ   dotdone
	ADDQ R10, DX
	DOTSTORE(Y26)

dotdone:
	VZEROUPPER
	RET
