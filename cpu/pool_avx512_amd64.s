//go:build !noasm

#include "textflag.h"

// 2×2 max pooling with stride 2 on AVX-512 (see maxPool2Go and maxPool2BackwardGo in
// pool.go for the definitions). A chunk is 16 outputs of a row: the two input rows'
// 32 values each, split into even and odd columns with VPERMT2PS, so that the four
// values of every window sit in the same lane of four registers. The last chunk of a
// row works under lane masks.

// The permutation tables: even and odd lanes of a pair of registers, and the
// interleaving of two registers' low and high halves.
// evens
DATA pool2idx<>+0x00(SB)/4, $0
DATA pool2idx<>+0x04(SB)/4, $2
DATA pool2idx<>+0x08(SB)/4, $4
DATA pool2idx<>+0x0c(SB)/4, $6
DATA pool2idx<>+0x10(SB)/4, $8
DATA pool2idx<>+0x14(SB)/4, $10
DATA pool2idx<>+0x18(SB)/4, $12
DATA pool2idx<>+0x1c(SB)/4, $14
DATA pool2idx<>+0x20(SB)/4, $16
DATA pool2idx<>+0x24(SB)/4, $18
DATA pool2idx<>+0x28(SB)/4, $20
DATA pool2idx<>+0x2c(SB)/4, $22
DATA pool2idx<>+0x30(SB)/4, $24
DATA pool2idx<>+0x34(SB)/4, $26
DATA pool2idx<>+0x38(SB)/4, $28
DATA pool2idx<>+0x3c(SB)/4, $30
// odds
DATA pool2idx<>+0x40(SB)/4, $1
DATA pool2idx<>+0x44(SB)/4, $3
DATA pool2idx<>+0x48(SB)/4, $5
DATA pool2idx<>+0x4c(SB)/4, $7
DATA pool2idx<>+0x50(SB)/4, $9
DATA pool2idx<>+0x54(SB)/4, $11
DATA pool2idx<>+0x58(SB)/4, $13
DATA pool2idx<>+0x5c(SB)/4, $15
DATA pool2idx<>+0x60(SB)/4, $17
DATA pool2idx<>+0x64(SB)/4, $19
DATA pool2idx<>+0x68(SB)/4, $21
DATA pool2idx<>+0x6c(SB)/4, $23
DATA pool2idx<>+0x70(SB)/4, $25
DATA pool2idx<>+0x74(SB)/4, $27
DATA pool2idx<>+0x78(SB)/4, $29
DATA pool2idx<>+0x7c(SB)/4, $31
// ilo
DATA pool2idx<>+0x80(SB)/4, $0
DATA pool2idx<>+0x84(SB)/4, $16
DATA pool2idx<>+0x88(SB)/4, $1
DATA pool2idx<>+0x8c(SB)/4, $17
DATA pool2idx<>+0x90(SB)/4, $2
DATA pool2idx<>+0x94(SB)/4, $18
DATA pool2idx<>+0x98(SB)/4, $3
DATA pool2idx<>+0x9c(SB)/4, $19
DATA pool2idx<>+0xa0(SB)/4, $4
DATA pool2idx<>+0xa4(SB)/4, $20
DATA pool2idx<>+0xa8(SB)/4, $5
DATA pool2idx<>+0xac(SB)/4, $21
DATA pool2idx<>+0xb0(SB)/4, $6
DATA pool2idx<>+0xb4(SB)/4, $22
DATA pool2idx<>+0xb8(SB)/4, $7
DATA pool2idx<>+0xbc(SB)/4, $23
// ihi
DATA pool2idx<>+0xc0(SB)/4, $8
DATA pool2idx<>+0xc4(SB)/4, $24
DATA pool2idx<>+0xc8(SB)/4, $9
DATA pool2idx<>+0xcc(SB)/4, $25
DATA pool2idx<>+0xd0(SB)/4, $10
DATA pool2idx<>+0xd4(SB)/4, $26
DATA pool2idx<>+0xd8(SB)/4, $11
DATA pool2idx<>+0xdc(SB)/4, $27
DATA pool2idx<>+0xe0(SB)/4, $12
DATA pool2idx<>+0xe4(SB)/4, $28
DATA pool2idx<>+0xe8(SB)/4, $13
DATA pool2idx<>+0xec(SB)/4, $29
DATA pool2idx<>+0xf0(SB)/4, $14
DATA pool2idx<>+0xf4(SB)/4, $30
DATA pool2idx<>+0xf8(SB)/4, $15
DATA pool2idx<>+0xfc(SB)/4, $31
GLOBL pool2idx<>(SB), RODATA|NOPTR, $256

// POOLMASKS sets, for CX (1..16) outputs left in the row, K1 and K2 to the input lanes
// of the chunk's two registers and K3 to its output lanes. Clobbers AX, BX, DX.
#define POOLMASKS \
	MOVL  $0xffffffff, AX; \
	LEAQ  (CX)(CX*1), BX; \
	BZHIL BX, AX, DX; \
	KMOVW DX, K1; \
	SHRL  $16, DX; \
	KMOVW DX, K2; \
	BZHIL CX, AX, DX; \
	KMOVW DX, K3

// POOLLOAD reads the chunk's two rows at R11 (top) and R12 (bottom) under K1, K2 and
// splits them: Z4 top even, Z0 top odd, Z5 bottom even, Z2 bottom odd columns.
#define POOLLOAD \
	VMOVUPS.Z (R11), K1, Z0; \
	VMOVUPS.Z 64(R11), K2, Z1; \
	VMOVUPS.Z (R12), K1, Z2; \
	VMOVUPS.Z 64(R12), K2, Z3; \
	VMOVAPS   Z0, Z4; \
	VPERMT2PS Z1, Z28, Z4; \
	VPERMT2PS Z1, Z29, Z0; \
	VMOVAPS   Z2, Z5; \
	VPERMT2PS Z3, Z28, Z5; \
	VPERMT2PS Z3, Z29, Z2

// func maxPool2AVX512(x, y *float32, rows, ow, w int)
//
// y[r*ow+j] = the first maximum, in the order x00, x01, x10, x11, of the window
// x[2r*w+2j], x[2r*w+2j+1], x[(2r+1)*w+2j], x[(2r+1)*w+2j+1], for r < rows, j < ow.
// VMAXPS a, b, b computes (a > b) ? a : b, the reference's "replace when greater".
TEXT ·maxPool2AVX512(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ rows+16(FP), R8
	MOVQ ow+24(FP), R9
	MOVQ w+32(FP), R10
	SHLQ $2, R10 // row stride in bytes
	VMOVUPS pool2idx<>+0x00(SB), Z28
	VMOVUPS pool2idx<>+0x40(SB), Z29
	TESTQ R8, R8
	JZ    mpdone
	TESTQ R9, R9
	JZ    mpdone

mprow:
	MOVQ SI, R11
	LEAQ (SI)(R10*1), R12
	MOVQ R9, CX

mpchunk:
	CMPQ CX, $16
	JGE  mpfull
	POOLMASKS
	JMP  mpgo

mpfull:
	KXNORW K1, K1, K1
	KXNORW K2, K2, K2
	KXNORW K3, K3, K3

mpgo:
	POOLLOAD
	VMAXPS  Z4, Z0, Z4 // top odd > top even
	VMAXPS  Z4, Z5, Z4 // bottom even
	VMAXPS  Z4, Z2, Z4 // bottom odd
	VMOVUPS Z4, K3, (DI)
	ADDQ    $128, R11
	ADDQ    $128, R12
	ADDQ    $64, DI
	SUBQ    $16, CX
	JG      mpchunk
	// DI overshot the row's end by -CX values (CX <= 0).
	LEAQ (DI)(CX*4), DI
	LEAQ (SI)(R10*2), SI
	DECQ R8
	JNZ  mprow

mpdone:
	VZEROUPPER
	RET

// func maxPool2BackwardAVX512(x, y, dy, dx *float32, rows, ow, w int)
//
// For r < rows, j < ow: the window of y[r*ow+j] (as in maxPool2AVX512) gets dy[r*ow+j] at
// its first element (same order) equal to y[r*ow+j], 0 at the other three; windows whose
// elements all differ from y (y is NaN) get 0 everywhere. Only the 2*ow first columns of
// the 2*rows rows are written.
TEXT ·maxPool2BackwardAVX512(SB), NOSPLIT, $0-56
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ dy+16(FP), R13
	MOVQ dx+24(FP), R14
	MOVQ rows+32(FP), R8
	MOVQ ow+40(FP), R9
	MOVQ w+48(FP), R10
	SHLQ $2, R10
	VMOVUPS pool2idx<>+0x00(SB), Z28
	VMOVUPS pool2idx<>+0x40(SB), Z29
	VMOVUPS pool2idx<>+0x80(SB), Z30
	VMOVUPS pool2idx<>+0xc0(SB), Z31
	TESTQ R8, R8
	JZ    mbdone
	TESTQ R9, R9
	JZ    mbdone

mbrow:
	MOVQ SI, R11
	LEAQ (SI)(R10*1), R12
	MOVQ R14, R15 // dx top row; bottom at R15+R10
	MOVQ R9, CX

mbchunk:
	CMPQ CX, $16
	JGE  mbfull
	POOLMASKS
	JMP  mbgo

mbfull:
	KXNORW K1, K1, K1
	KXNORW K2, K2, K2
	KXNORW K3, K3, K3

mbgo:
	POOLLOAD
	VMOVUPS.Z (DI), K3, Z6  // y
	VMOVUPS.Z (R13), K3, Z7 // dy
	VCMPPS $0, Z6, Z4, K4   // top even == y
	VCMPPS $0, Z6, Z0, K5   // top odd == y
	KANDNW K5, K4, K5       // ... and not an earlier one
	KORW   K4, K5, K6
	VCMPPS $0, Z6, Z5, K7   // bottom even == y
	KANDNW K7, K6, K7
	KORW   K6, K7, K6
	VMOVAPS.Z Z7, K4, Z8  // dx top even
	VMOVAPS.Z Z7, K5, Z9  // dx top odd
	VMOVAPS.Z Z7, K7, Z10 // dx bottom even
	VCMPPS $0, Z6, Z2, K4 // bottom odd == y
	KANDNW K4, K6, K4
	VMOVAPS.Z Z7, K4, Z11 // dx bottom odd
	// Interleave even and odd columns back into rows.
	VMOVAPS   Z8, Z12
	VPERMT2PS Z9, Z30, Z12
	VPERMT2PS Z9, Z31, Z8
	VMOVAPS   Z10, Z13
	VPERMT2PS Z11, Z30, Z13
	VPERMT2PS Z11, Z31, Z10
	VMOVUPS   Z12, K1, (R15)
	VMOVUPS   Z8, K2, 64(R15)
	VMOVUPS   Z13, K1, (R15)(R10*1)
	VMOVUPS   Z10, K2, 64(R15)(R10*1)
	ADDQ      $128, R11
	ADDQ      $128, R12
	ADDQ      $128, R15
	ADDQ      $64, DI
	ADDQ      $64, R13
	SUBQ      $16, CX
	JG        mbchunk
	LEAQ (DI)(CX*4), DI
	LEAQ (R13)(CX*4), R13
	LEAQ (SI)(R10*2), SI
	LEAQ (R14)(R10*2), R14
	DECQ R8
	JNZ  mbrow

mbdone:
	VZEROUPPER
	RET
