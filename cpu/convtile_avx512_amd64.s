//go:build !noasm

#include "textflag.h"

// func convTileAVX512(k int, rows *uintptr, idx *int32, b *float32, c *float32, ldc int, accumulate bool, mr int, mask uint32, bias *float32, np int)
//
// The implicit-GEMM tiles of the direct convolution (see convTileFunc in
// convolution.go), np of them side by side: for panel p < np,
//
//	C[r, 32p+j] (+)= Σ_{s<k} A(r, s) · b[32kp + 32s + j] (+ bias[32p+j])   for r < mr, j < 32 (in mask for the last panel)
//
// where A(r, s) = the float32 at rows[r] + 4*idx[s]: 8 rows, each a base address (a
// pixel of an image, or a tap of the filters) plus a per-step offset (a tap, or a
// pixel), so that the convolution's operand is read where it lies, never unfolded.
// b is a packed panel of k steps of 32 values. The 8×32 tile stays in Z0..Z15 (row r in
// Z(2r), Z(2r+1)); C is read (accumulate) or not, and bias (nil: none) added, at the
// store. rows[r] for r >= mr must still be readable addresses (the caller repeats a row).
//
// Registers: R8..R15 the rows' bases, SI the offsets, DI the panel, CX steps left, AX
// the step's offset; Z24/Z25 the panel's 32 values, Z26/Z27 broadcasts. The store
// takes R10 and R11, so each panel reloads the rows; the panel count and index live in
// the frame.

#define CROW(base, t, r0, r1) \
	VBROADCASTSS (base)(AX*4), t; \
	VFMADD231PS  Z24, t, r0; \
	VFMADD231PS  Z25, t, r1

#define CSTEP \
	MOVLQSX (SI), AX; \
	VMOVUPS (DI), Z24; \
	VMOVUPS 64(DI), Z25; \
	CROW(R8, Z26, Z0, Z1); \
	CROW(R9, Z27, Z2, Z3); \
	CROW(R10, Z26, Z4, Z5); \
	CROW(R11, Z27, Z6, Z7); \
	CROW(R12, Z26, Z8, Z9); \
	CROW(R13, Z27, Z10, Z11); \
	CROW(R14, Z26, Z12, Z13); \
	CROW(R15, Z27, Z14, Z15); \
	ADDQ $4, SI; \
	ADDQ $128, DI

// CSTORE writes row (r0, r1) to DX: + C when BX != 0, + bias (Z26, Z27), under K1, K2;
// then ends the panel after mr rows (R11) or moves DX to the next row (R10 = ldc in
// bytes).
#define CSTORE(r0, r1) \
	TESTQ     BX, BX; \
	JZ        3(PC); \
	VADDPS.Z  (DX), r0, K1, r0; \
	VADDPS.Z  64(DX), r1, K2, r1; \
	VADDPS    Z26, r0, r0; \
	VADDPS    Z27, r1, r1; \
	VMOVUPS   r0, K1, (DX); \
	VMOVUPS   r1, K2, 64(DX); \
	DECQ      R11; \
	JZ        cnext; \
	ADDQ      R10, DX

TEXT ·convTileAVX512(SB), NOSPLIT, $16-88
	MOVQ np+80(FP), AX
	MOVQ AX, left-8(SP) // panels left
	MOVQ $0, panel-16(SP) // this panel

cpanel:
	MOVQ rows+8(FP), AX
	MOVQ 0(AX), R8
	MOVQ 8(AX), R9
	MOVQ 16(AX), R10
	MOVQ 24(AX), R11
	MOVQ 32(AX), R12
	MOVQ 40(AX), R13
	MOVQ 48(AX), R14
	MOVQ 56(AX), R15
	MOVQ idx+16(FP), SI
	MOVQ k+0(FP), CX
	MOVQ CX, DI
	IMULQ panel-16(SP), DI
	SHLQ $7, DI // panel*k*32 floats
	ADDQ b+24(FP), DI

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

	MOVQ CX, BX
	SHRQ $2, BX
	JZ   ctail

cloop4:
	CSTEP
	CSTEP
	CSTEP
	CSTEP
	DECQ BX
	JNZ  cloop4

ctail:
	ANDQ $3, CX
	JZ   cstore

cloop1:
	CSTEP
	DECQ CX
	JNZ  cloop1

cstore:
	MOVL  $-1, AX // all 32 columns, but in the last panel
	CMPQ  left-8(SP), $1
	JNE   cmask
	MOVL  mask+64(FP), AX

cmask:
	KMOVW AX, K1
	SHRL  $16, AX
	KMOVW AX, K2
	MOVQ  panel-16(SP), R12
	SHLQ  $7, R12 // the panel's first column, in bytes
	VPXORD Z26, Z26, Z26
	VPXORD Z27, Z27, Z27
	MOVQ  bias+72(FP), AX
	TESTQ AX, AX
	JZ    cnobias
	ADDQ  R12, AX
	VMOVUPS.Z (AX), K1, Z26
	VMOVUPS.Z 64(AX), K2, Z27

cnobias:
	MOVBQZX accumulate+48(FP), BX
	MOVQ    c+32(FP), DX
	ADDQ    R12, DX
	MOVQ    ldc+40(FP), R10
	SHLQ    $2, R10
	MOVQ    mr+56(FP), R11
	CSTORE(Z0, Z1)
	CSTORE(Z2, Z3)
	CSTORE(Z4, Z5)
	CSTORE(Z6, Z7)
	CSTORE(Z8, Z9)
	CSTORE(Z10, Z11)
	CSTORE(Z12, Z13)
	CSTORE(Z14, Z15)

cnext:
	INCQ panel-16(SP)
	DECQ left-8(SP)
	JNZ  cpanel
	VZEROUPPER
	RET
