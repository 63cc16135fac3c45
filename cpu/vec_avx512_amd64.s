//go:build !noasm

#include "textflag.h"

// The AVX-512 vector primitives (see vec.go for their definitions as Go loops). Each
// runs over n elements, n a multiple of 16, one zmm register of 16 floats per step.

// FTZDAZ saves MXCSR in old-4(SP) and sets flush-to-zero (bit 15) and
// denormals-are-zero (bit 6) for the optimizer loops; RESTORE puts the saved value back.
#define FTZDAZ \
	STMXCSR old-4(SP); \
	MOVL    old-4(SP), AX; \
	ORL     $0x8040, AX; \
	MOVL    AX, new-8(SP); \
	LDMXCSR new-8(SP)

#define RESTORE LDMXCSR old-4(SP)

// func adamAVX512(p, g, m, v *float32, n int, c *adamConsts)
//
// Z20..Z26 hold b1, c1, b2, c2, alpha, eps, decay; Z0 g, Z1 m, Z2 v, Z3 p.
TEXT ·adamAVX512(SB), NOSPLIT, $8-48
	MOVQ p+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ m+16(FP), R8
	MOVQ v+24(FP), R9
	MOVQ n+32(FP), CX
	MOVQ c+40(FP), DX
	VBROADCASTSS 0(DX), Z20
	VBROADCASTSS 4(DX), Z21
	VBROADCASTSS 8(DX), Z22
	VBROADCASTSS 12(DX), Z23
	VBROADCASTSS 16(DX), Z24
	VBROADCASTSS 20(DX), Z25
	VBROADCASTSS 24(DX), Z26
	MOVL 24(DX), BX // decay's bits: 0 for Adam
	FTZDAZ
	TESTQ CX, CX
	JZ    adamdone

adamloop:
	VMOVUPS (SI), Z0
	VMOVUPS (R8), Z1
	VMOVUPS (R9), Z2
	VMOVUPS (DI), Z3
	TESTL BX, BX
	JZ    adamnodecay
	VFMADD231PS Z3, Z26, Z3 // p += decay*p

adamnodecay:
	VMULPS      Z21, Z0, Z4 // c1*g
	VFMADD231PS Z1, Z20, Z4 // m = b1*m + c1*g
	VMULPS      Z23, Z0, Z5 // c2*g
	VMULPS      Z0, Z5, Z5  // c2*g*g
	VFMADD231PS Z2, Z22, Z5 // v = b2*v + c2*g*g
	VSQRTPS     Z5, Z6
	VADDPS      Z25, Z6, Z6 // √v + eps
	VMULPS      Z24, Z4, Z7 // alpha*m
	VDIVPS      Z6, Z7, Z7  // alpha*m/(√v + eps)
	VSUBPS      Z7, Z3, Z3
	VMOVUPS     Z4, (R8)
	VMOVUPS     Z5, (R9)
	VMOVUPS     Z3, (DI)
	ADDQ $64, SI
	ADDQ $64, R8
	ADDQ $64, R9
	ADDQ $64, DI
	SUBQ $16, CX
	JNZ  adamloop

adamdone:
	RESTORE
	VZEROUPPER
	RET

// func momentumAVX512(p, g, m *float32, n int, mu, lr float32, nesterov bool)
//
// Z20 mu, Z21 lr; Z0 g, Z1 m, Z3 p.
TEXT ·momentumAVX512(SB), NOSPLIT, $8-41
	MOVQ p+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ m+16(FP), R8
	MOVQ n+24(FP), CX
	VBROADCASTSS mu+32(FP), Z20
	VBROADCASTSS lr+36(FP), Z21
	MOVBLZX nesterov+40(FP), BX
	FTZDAZ
	TESTQ CX, CX
	JZ    momdone

momloop:
	VMOVUPS     (SI), Z0
	VMOVUPS     (R8), Z1
	VMOVUPS     (DI), Z3
	VMULPS      Z21, Z0, Z4 // lr*g
	VFMSUB231PS Z1, Z20, Z4 // m = mu*m - lr*g
	VMOVUPS     Z4, (R8)
	TESTL       BX, BX
	JZ          momplain
	VMULPS      Z21, Z0, Z5 // lr*g
	VFMSUB231PS Z4, Z20, Z5 // mu*m - lr*g
	VADDPS      Z5, Z3, Z3
	JMP         momstore

momplain:
	VADDPS Z4, Z3, Z3

momstore:
	VMOVUPS Z3, (DI)
	ADDQ    $64, SI
	ADDQ    $64, R8
	ADDQ    $64, DI
	SUBQ    $16, CX
	JNZ     momloop

momdone:
	RESTORE
	VZEROUPPER
	RET

// func axpbyAVX512(y, x *float32, n int, a, b float32)
TEXT ·axpbyAVX512(SB), NOSPLIT, $0-32
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS a+24(FP), Z20
	VBROADCASTSS b+28(FP), Z21
	TESTQ CX, CX
	JZ    axdone
	MOVL  b+28(FP), AX
	SHLL  $1, AX            // drop the sign: ±0 means "do not read y"
	JZ    axzero
	CMPL  AX, $0x7f000000   // 1.0 is 0x3f800000, shifted left once
	JEQ   axone

axgen:
	VMOVUPS     (SI), Z0
	VMULPS      (DI), Z21, Z1 // b*y
	VFMADD231PS Z0, Z20, Z1   // a*x + b*y
	VMOVUPS     Z1, (DI)
	ADDQ        $64, SI
	ADDQ        $64, DI
	SUBQ        $16, CX
	JNZ         axgen
	JMP         axdone

axzero:
	VMULPS  (SI), Z20, Z1
	VMOVUPS Z1, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DI
	SUBQ    $16, CX
	JNZ     axzero
	JMP     axdone

axone:
	MOVL b+28(FP), AX
	CMPL AX, $0x3f800000 // +1, not -1
	JNE  axgen

axoneloop:
	VMOVUPS     (DI), Z1
	VFMADD231PS (SI), Z20, Z1
	VMOVUPS     Z1, (DI)
	ADDQ        $64, SI
	ADDQ        $64, DI
	SUBQ        $16, CX
	JNZ         axoneloop

axdone:
	VZEROUPPER
	RET

// func binaryAVX512(op int, c, a, b *float32, n int)
//
// op is device.BinaryOp: 0 add, 1 sub, 2 mul, 3 div.
TEXT ·binaryAVX512(SB), NOSPLIT, $0-40
	MOVQ op+0(FP), AX
	MOVQ c+8(FP), DI
	MOVQ a+16(FP), SI
	MOVQ b+24(FP), DX
	MOVQ n+32(FP), CX
	TESTQ CX, CX
	JZ    bindone
	CMPQ  AX, $1
	JEQ   binsub
	CMPQ  AX, $2
	JEQ   binmul
	CMPQ  AX, $3
	JEQ   bindiv

binadd:
	VMOVUPS (SI), Z0
	VADDPS  (DX), Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DX
	ADDQ    $64, DI
	SUBQ    $16, CX
	JNZ     binadd
	JMP     bindone

binsub:
	VMOVUPS (SI), Z0
	VSUBPS  (DX), Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DX
	ADDQ    $64, DI
	SUBQ    $16, CX
	JNZ     binsub
	JMP     bindone

binmul:
	VMOVUPS (SI), Z0
	VMULPS  (DX), Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DX
	ADDQ    $64, DI
	SUBQ    $16, CX
	JNZ     binmul
	JMP     bindone

bindiv:
	VMOVUPS (SI), Z0
	VDIVPS  (DX), Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DX
	ADDQ    $64, DI
	SUBQ    $16, CX
	JNZ     bindiv

bindone:
	VZEROUPPER
	RET

// func widenU8AVX512(dst *float32, src *uint8, n int, s float32)
TEXT ·widenU8AVX512(SB), NOSPLIT, $0-28
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS s+24(FP), Z20
	TESTQ CX, CX
	JZ    wdone

wloop:
	VPMOVZXBD (SI), Z0
	VCVTDQ2PS Z0, Z0
	VMULPS    Z20, Z0, Z0
	VMOVUPS   Z0, (DI)
	ADDQ      $16, SI
	ADDQ      $64, DI
	SUBQ      $16, CX
	JNZ       wloop

wdone:
	VZEROUPPER
	RET

// func reluAVX512(y, x *float32, n int)
//
// VMAXPS returns its second source (x) when either is NaN, so NaN stays NaN.
TEXT ·reluAVX512(SB), NOSPLIT, $0-24
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	VPXORD Z20, Z20, Z20
	TESTQ  CX, CX
	JZ     rdone

rloop:
	VMOVUPS (SI), Z0
	VMAXPS  Z0, Z20, Z0
	VMOVUPS Z0, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DI
	SUBQ    $16, CX
	JNZ     rloop

rdone:
	VZEROUPPER
	RET

// func selectPosAVX512(out, x, a *float32, n int, p float32)
//
// K1 marks x > 0 (ordered: NaN is not); out = a there, p*a (or 0 when p == 0) elsewhere.
TEXT ·selectPosAVX512(SB), NOSPLIT, $0-36
	MOVQ out+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ a+16(FP), DX
	MOVQ n+24(FP), CX
	VBROADCASTSS p+32(FP), Z21
	VPXORD Z20, Z20, Z20
	TESTQ  CX, CX
	JZ     sdone
	MOVL   p+32(FP), AX
	SHLL   $1, AX
	JNZ    sscaled

szero:
	VMOVUPS   (SI), Z0
	VCMPPS    $0x1e, Z20, Z0, K1 // x > 0
	VMOVUPS.Z (DX), K1, Z1
	VMOVUPS   Z1, (DI)
	ADDQ      $64, SI
	ADDQ      $64, DX
	ADDQ      $64, DI
	SUBQ      $16, CX
	JNZ       szero
	JMP       sdone

sscaled:
	VMOVUPS (SI), Z0
	VMOVUPS (DX), Z1
	VCMPPS  $0x1e, Z20, Z0, K1
	VMULPS  Z21, Z1, Z2
	VMOVUPS Z1, K1, Z2 // a where x > 0
	VMOVUPS Z2, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DX
	ADDQ    $64, DI
	SUBQ    $16, CX
	JNZ     sscaled

sdone:
	VZEROUPPER
	RET

// expConsts are expf's constants (activation.go), as float32: log2e, the rounding
// shifter 1.5*2^23, ln2 split in a high and a low part, the largest and smallest
// arguments with a finite normal result, the Taylor coefficients 1/5040 … 1/2, 1, +Inf.
DATA expConsts<>+0(SB)/4, $0x3fb8aa3b  // log2e
DATA expConsts<>+4(SB)/4, $0x4b400000  // shifter
DATA expConsts<>+8(SB)/4, $0x3f318000  // ln2Hi
DATA expConsts<>+12(SB)/4, $0xb95e8083 // ln2Lo
DATA expConsts<>+16(SB)/4, $0x42b17217 // 88.72283
DATA expConsts<>+20(SB)/4, $0xc2aeac4f // -87.33654
DATA expConsts<>+24(SB)/4, $0x39500d01 // 1/5040
DATA expConsts<>+28(SB)/4, $0x3ab60b61 // 1/720
DATA expConsts<>+32(SB)/4, $0x3c088889 // 1/120
DATA expConsts<>+36(SB)/4, $0x3d2aaaab // 1/24
DATA expConsts<>+40(SB)/4, $0x3e2aaaab // 1/6
DATA expConsts<>+44(SB)/4, $0x3f000000 // 1/2
DATA expConsts<>+48(SB)/4, $0x3f800000 // 1
DATA expConsts<>+52(SB)/4, $0x7f800000 // +Inf
GLOBL expConsts<>(SB), RODATA|NOPTR, $56

// func expAVX512(y, x *float32, n int)
//
// expf of each element: x (clamped to the finite range) = n*ln2 + r, exp(r) by its
// Taylor polynomial, times 2^n by VSCALEFPS; +Inf above 88.72283, 0 below -87.33654,
// NaN stays NaN (the clamps return x when it is NaN).
TEXT ·expAVX512(SB), NOSPLIT, $0-24
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS expConsts<>+0(SB), Z20
	VBROADCASTSS expConsts<>+4(SB), Z21
	VBROADCASTSS expConsts<>+8(SB), Z22
	VBROADCASTSS expConsts<>+12(SB), Z23
	VBROADCASTSS expConsts<>+16(SB), Z24
	VBROADCASTSS expConsts<>+20(SB), Z25
	VBROADCASTSS expConsts<>+24(SB), Z26
	VBROADCASTSS expConsts<>+28(SB), Z27
	VBROADCASTSS expConsts<>+32(SB), Z28
	VBROADCASTSS expConsts<>+36(SB), Z29
	VBROADCASTSS expConsts<>+40(SB), Z30
	VBROADCASTSS expConsts<>+44(SB), Z31
	VBROADCASTSS expConsts<>+48(SB), Z19
	VBROADCASTSS expConsts<>+52(SB), Z18
	TESTQ CX, CX
	JZ    edone

eloop:
	VMOVUPS      (SI), Z0
	VMINPS       Z0, Z24, Z1 // t = min(hi, x)
	VMAXPS       Z1, Z25, Z1 // t = max(lo, t)
	VMOVAPS      Z21, Z2
	VFMADD231PS  Z20, Z1, Z2 // t*log2e + shifter
	VSUBPS       Z21, Z2, Z2 // n = round(t/ln2)
	VMOVAPS      Z1, Z3
	VFNMADD231PS Z22, Z2, Z3 // r = t - n*ln2Hi
	VFNMADD231PS Z23, Z2, Z3 // r -= n*ln2Lo
	VMOVAPS      Z26, Z4
	VFMADD213PS  Z27, Z3, Z4
	VFMADD213PS  Z28, Z3, Z4
	VFMADD213PS  Z29, Z3, Z4
	VFMADD213PS  Z30, Z3, Z4
	VFMADD213PS  Z31, Z3, Z4
	VFMADD213PS  Z19, Z3, Z4
	VFMADD213PS  Z19, Z3, Z4 // p = exp(r)
	VSCALEFPS    Z2, Z4, Z4  // p * 2^n
	VCMPPS       $0x1e, Z24, Z0, K1 // x > hi
	VMOVAPS      Z18, K1, Z4
	VCMPPS       $0x11, Z25, Z0, K2 // x < lo
	VXORPS       Z4, Z4, K2, Z4
	VMOVUPS      Z4, (DI)
	ADDQ         $64, SI
	ADDQ         $64, DI
	SUBQ         $16, CX
	JNZ          eloop

edone:
	VZEROUPPER
	RET

// func biasReLUAVX512(c *float32, ldc, rows, cols int, bias *float32, relu bool)
//
// For each of rows rows of cols elements (ldc apart): c += bias (when bias is not nil),
// then c = max(c, 0) (when relu), 16 columns at a time, the last ones under a mask.
TEXT ·biasReLUAVX512(SB), NOSPLIT, $0-41
	MOVQ c+0(FP), DI
	MOVQ ldc+8(FP), R8
	SHLQ $2, R8
	MOVQ rows+16(FP), R9
	MOVQ cols+24(FP), R10
	MOVQ bias+32(FP), R11
	MOVBQZX relu+40(FP), R12
	VPXORD Z20, Z20, Z20
	TESTQ R9, R9
	JZ    brdone
	// K1 masks the last cols%16 columns (all 16 when cols%16 == 0).
	MOVQ  R10, CX
	ANDQ  $15, CX
	MOVL  $1, AX
	SHLL  CX, AX
	DECL  AX
	TESTQ CX, CX
	JNZ   brmask
	MOVL  $0xffff, AX

brmask:
	KMOVW AX, K1
	LEAQ  -1(R10), R13
	SHRQ  $4, R13 // whole vectors before the last (masked or full) one

brrow:
	MOVQ DI, SI
	MOVQ R11, DX
	MOVQ R13, CX
	TESTQ CX, CX
	JZ    brlast

brcol:
	VMOVUPS (SI), Z0
	TESTQ   DX, DX
	JZ      2(PC)
	VADDPS  (DX), Z0, Z0
	TESTQ   R12, R12
	JZ      2(PC)
	VMAXPS  Z0, Z20, Z0
	VMOVUPS Z0, (SI)
	ADDQ    $64, SI
	TESTQ   DX, DX
	JZ      2(PC)
	ADDQ    $64, DX
	DECQ    CX
	JNZ     brcol

brlast:
	VMOVUPS.Z (SI), K1, Z0
	TESTQ     DX, DX
	JZ        3(PC)
	VMOVUPS.Z (DX), K1, Z1
	VADDPS    Z1, Z0, Z0
	TESTQ     R12, R12
	JZ        2(PC)
	VMAXPS    Z0, Z20, Z0
	VMOVUPS   Z0, K1, (SI)
	ADDQ      R8, DI
	DECQ      R9
	JNZ       brrow

brdone:
	VZEROUPPER
	RET

// The activation primitives below compute expf as expAVX512 does, through EXP512, and
// tanhf (activation.go) through TANH512. Registers: Z18..Z31 hold expConsts (loaded by
// EXPCONSTS512), Z9, Z10, Z16, Z17 tanhf's Taylor coefficients and Z12..Z15 its other
// constants (TANHCONSTS512); Z1..Z4 are EXP512's scratch and K1..K3 its and TANH512's
// masks.

// tanhConsts: |x| mask, 2, 1/4 (the polynomial's range), the sign bit, the odd Taylor
// coefficients of tanh -1/3, 2/15, -17/315, 62/2835, and GELU's √(2/π), 0.044715,
// 1/2 and 3*0.044715.
DATA tanhConsts<>+0(SB)/4, $0x7fffffff  // |x| mask
DATA tanhConsts<>+4(SB)/4, $0x40000000  // 2
DATA tanhConsts<>+8(SB)/4, $0x3e800000  // 0.25
DATA tanhConsts<>+12(SB)/4, $0x80000000 // sign bit
DATA tanhConsts<>+16(SB)/4, $0xbeaaaaab // -1/3
DATA tanhConsts<>+20(SB)/4, $0x3e088889 // 2/15
DATA tanhConsts<>+24(SB)/4, $0xbd5d0dd1 // -17/315
DATA tanhConsts<>+28(SB)/4, $0x3cb327a4 // 62/2835
DATA tanhConsts<>+32(SB)/4, $0x3f4c422a // √(2/π)
DATA tanhConsts<>+36(SB)/4, $0x3d372713 // 0.044715
DATA tanhConsts<>+40(SB)/4, $0x3f000000 // 1/2
DATA tanhConsts<>+44(SB)/4, $0x3e095d4f // 3*0.044715
GLOBL tanhConsts<>(SB), RODATA|NOPTR, $48

#define EXPCONSTS512 \
	VBROADCASTSS expConsts<>+0(SB), Z20; \
	VBROADCASTSS expConsts<>+4(SB), Z21; \
	VBROADCASTSS expConsts<>+8(SB), Z22; \
	VBROADCASTSS expConsts<>+12(SB), Z23; \
	VBROADCASTSS expConsts<>+16(SB), Z24; \
	VBROADCASTSS expConsts<>+20(SB), Z25; \
	VBROADCASTSS expConsts<>+24(SB), Z26; \
	VBROADCASTSS expConsts<>+28(SB), Z27; \
	VBROADCASTSS expConsts<>+32(SB), Z28; \
	VBROADCASTSS expConsts<>+36(SB), Z29; \
	VBROADCASTSS expConsts<>+40(SB), Z30; \
	VBROADCASTSS expConsts<>+44(SB), Z31; \
	VBROADCASTSS expConsts<>+48(SB), Z19; \
	VBROADCASTSS expConsts<>+52(SB), Z18

#define TANHCONSTS512 \
	VBROADCASTSS tanhConsts<>+0(SB), Z12; \
	VBROADCASTSS tanhConsts<>+4(SB), Z13; \
	VBROADCASTSS tanhConsts<>+8(SB), Z14; \
	VBROADCASTSS tanhConsts<>+12(SB), Z15; \
	VBROADCASTSS tanhConsts<>+16(SB), Z10; \
	VBROADCASTSS tanhConsts<>+20(SB), Z9; \
	VBROADCASTSS tanhConsts<>+24(SB), Z17; \
	VBROADCASTSS tanhConsts<>+28(SB), Z16

// EXP512(X, T): T = expf(X), the loop body of expAVX512. X is read to the end; Z1..Z4,
// K1, K2 are clobbered.
#define EXP512(X, T) \
	VMINPS       X, Z24, Z1; \
	VMAXPS       Z1, Z25, Z1; \
	VMOVAPS      Z21, Z2; \
	VFMADD231PS  Z20, Z1, Z2; \
	VSUBPS       Z21, Z2, Z2; \
	VMOVAPS      Z1, Z3; \
	VFNMADD231PS Z22, Z2, Z3; \
	VFNMADD231PS Z23, Z2, Z3; \
	VMOVAPS      Z26, T; \
	VFMADD213PS  Z27, Z3, T; \
	VFMADD213PS  Z28, Z3, T; \
	VFMADD213PS  Z29, Z3, T; \
	VFMADD213PS  Z30, Z3, T; \
	VFMADD213PS  Z31, Z3, T; \
	VFMADD213PS  Z19, Z3, T; \
	VFMADD213PS  Z19, Z3, T; \
	VSCALEFPS    Z2, T, T; \
	VCMPPS       $0x1e, Z24, X, K1; \
	VMOVAPS      Z18, K1, T; \
	VCMPPS       $0x11, Z25, X, K2; \
	VXORPS       T, T, K2, T

// TANH512(U, T, A, B): T = tanhf(U) = ±(1 - 2/(expf(2|U|)+1)), or for |U| < 1/4 its odd
// Taylor polynomial U + U³(-1/3 + U²(2/15 + U²(-17/315 + U²*62/2835))). U is kept; A,
// B, Z1..Z4, K1..K3 are clobbered. NaN stays NaN (|NaN| < 1/4 is false, and expf keeps
// it); ±Inf gives ±1.
#define TANH512(U, T, A, B) \
	VPANDD       Z12, U, A; \
	VADDPS       A, A, B; \
	EXP512(B, T); \
	VADDPS       Z19, T, T; \
	VDIVPS       T, Z13, T; \
	VSUBPS       T, Z19, T; \
	VPANDD       Z15, U, B; \
	VPORD        B, T, T; \
	VMULPS       U, U, B; \
	VMOVAPS      Z16, Z1; \
	VFMADD213PS  Z17, B, Z1; \
	VFMADD213PS  Z9, B, Z1; \
	VFMADD213PS  Z10, B, Z1; \
	VMULPS       U, B, B; \
	VFMADD213PS  U, B, Z1; \
	VCMPPS       $0x11, Z14, A, K3; \
	VMOVAPS      Z1, K3, T

// func sigmoidAVX512(y, x *float32, n int)
//
// y = 1/(1+expf(-x)): 0 where expf(-x) overflows, NaN for NaN.
TEXT ·sigmoidAVX512(SB), NOSPLIT, $0-24
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	EXPCONSTS512
	VBROADCASTSS tanhConsts<>+12(SB), Z15
	TESTQ CX, CX
	JZ    sgdone

sgloop:
	VMOVUPS (SI), Z0
	VPXORD  Z15, Z0, Z5 // -x
	EXP512(Z5, Z6)
	VADDPS  Z19, Z6, Z6 // 1 + expf(-x)
	VDIVPS  Z6, Z19, Z6 // 1/(1 + expf(-x))
	VMOVUPS Z6, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DI
	SUBQ    $16, CX
	JNZ     sgloop

sgdone:
	VZEROUPPER
	RET

// func tanhAVX512(y, x *float32, n int)
TEXT ·tanhAVX512(SB), NOSPLIT, $0-24
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	EXPCONSTS512
	TANHCONSTS512
	TESTQ CX, CX
	JZ    thdone

thloop:
	VMOVUPS (SI), Z0
	TANH512(Z0, Z7, Z8, Z11)
	VMOVUPS Z7, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DI
	SUBQ    $16, CX
	JNZ     thloop

thdone:
	VZEROUPPER
	RET

// GELUU512 leaves in Z6 u = √(2/π)*(x + 0.044715*x³) for x in Z0, and x² in Z5.
#define GELUU512 \
	VMULPS           Z0, Z0, Z5; \
	VMULPS           Z0, Z5, Z6; \
	VBROADCASTSS     tanhConsts<>+36(SB), Z7; \
	VFMADD213PS      Z0, Z7, Z6; \
	VBROADCASTSS     tanhConsts<>+32(SB), Z7; \
	VMULPS           Z7, Z6, Z6

// func geluTanhAVX512(y, x *float32, n int)
//
// y = x/2 * (1 + tanhf(u)), u = √(2/π)*(x + 0.044715*x³).
TEXT ·geluTanhAVX512(SB), NOSPLIT, $0-24
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	EXPCONSTS512
	TANHCONSTS512
	TESTQ CX, CX
	JZ    gtdone

gtloop:
	VMOVUPS      (SI), Z0
	GELUU512
	TANH512(Z6, Z7, Z8, Z11)
	VADDPS       Z19, Z7, Z7 // 1 + t
	VBROADCASTSS tanhConsts<>+40(SB), Z8
	VMULPS       Z8, Z0, Z8  // x/2
	VMULPS       Z8, Z7, Z7
	VMOVUPS      Z7, (DI)
	ADDQ         $64, SI
	ADDQ         $64, DI
	SUBQ         $16, CX
	JNZ          gtloop

gtdone:
	VZEROUPPER
	RET

// func geluTanhBackwardAVX512(dx, x, dy *float32, n int)
//
// dx = dy * ((1+t)/2 + x/2*(1-t²)*√(2/π)*(1 + 3*0.044715*x²)), t = tanhf(u).
TEXT ·geluTanhBackwardAVX512(SB), NOSPLIT, $0-32
	MOVQ dx+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ dy+16(FP), DX
	MOVQ n+24(FP), CX
	EXPCONSTS512
	TANHCONSTS512
	TESTQ CX, CX
	JZ    gbdone

gbloop:
	VMOVUPS      (SI), Z0
	GELUU512
	TANH512(Z6, Z7, Z8, Z11)
	VBROADCASTSS tanhConsts<>+44(SB), Z8
	VFMADD213PS  Z19, Z8, Z5 // 1 + 3κx²
	VBROADCASTSS tanhConsts<>+32(SB), Z8
	VMULPS       Z8, Z5, Z5  // du/dx
	VBROADCASTSS tanhConsts<>+40(SB), Z8
	VMULPS       Z8, Z0, Z0  // x/2
	VMOVAPS      Z19, Z6
	VFNMADD231PS Z7, Z7, Z6  // 1 - t²
	VMULPS       Z6, Z0, Z0
	VMULPS       Z5, Z0, Z0  // x/2*(1-t²)*du/dx
	VADDPS       Z19, Z7, Z7
	VFMADD231PS  Z8, Z7, Z0  // + (1+t)/2
	VMULPS       (DX), Z0, Z0
	VMOVUPS      Z0, (DI)
	ADDQ         $64, SI
	ADDQ         $64, DX
	ADDQ         $64, DI
	SUBQ         $16, CX
	JNZ          gbloop

gbdone:
	VZEROUPPER
	RET

// geluConsts: the exact GELU's constants (normCDFf in vec.go): |x| mask, phiP, -1/2,
// 1/√(2π), and the coefficients of P, lowest first.
DATA geluConsts<>+0(SB)/4, $0x7fffffff  // |x| mask
DATA geluConsts<>+4(SB)/4, $0x3ee66666  // phiP = 0.45
DATA geluConsts<>+8(SB)/4, $0xbf000000  // -1/2
DATA geluConsts<>+12(SB)/4, $0x3ecc422a // 1/√(2π)
DATA geluConsts<>+16(SB)/4, $0x3e37e71c // P0
DATA geluConsts<>+20(SB)/4, $0x3e36438d // P1
DATA geluConsts<>+24(SB)/4, $0x3e219b83 // P2
DATA geluConsts<>+28(SB)/4, $0xbbfea8e8 // P3
DATA geluConsts<>+32(SB)/4, $0x3e7368fd // P4
DATA geluConsts<>+36(SB)/4, $0xbf148bd5 // P5
DATA geluConsts<>+40(SB)/4, $0x3f03a752 // P6
DATA geluConsts<>+44(SB)/4, $0xbe5d0d96 // P7
DATA geluConsts<>+48(SB)/4, $0x3d159701 // P8
GLOBL geluConsts<>(SB), RODATA|NOPTR, $52

// GELUCONSTS512 loads the exact GELU's constants: Z16 the |x| mask, Z17 phiP, Z4 -1/2
// and Z8..Z15 P0..P7 (P8 is broadcast from memory where it is used).
#define GELUCONSTS512 \
	VBROADCASTSS geluConsts<>+0(SB), Z16; \
	VBROADCASTSS geluConsts<>+4(SB), Z17; \
	VBROADCASTSS geluConsts<>+8(SB), Z4; \
	VBROADCASTSS geluConsts<>+16(SB), Z8; \
	VBROADCASTSS geluConsts<>+20(SB), Z9; \
	VBROADCASTSS geluConsts<>+24(SB), Z10; \
	VBROADCASTSS geluConsts<>+28(SB), Z11; \
	VBROADCASTSS geluConsts<>+32(SB), Z12; \
	VBROADCASTSS geluConsts<>+36(SB), Z13; \
	VBROADCASTSS geluConsts<>+40(SB), Z14; \
	VBROADCASTSS geluConsts<>+44(SB), Z15

// PHI512 leaves, for x in Z0, Φ(x) in Z5 and exp(-x²/2) in Z6, as normCDFf: a = |x|,
// t = 1/(1+phiP*a), q = exp(-a²/2)*t*P(t), Φ = q where x < 0, else 1-q. It clobbers
// Z1..Z3 and Z7 (q), K1..K3.
#define PHI512 \
	VPANDD       Z16, Z0, Z5; \
	VMOVAPS      Z19, Z6; \
	VFMADD231PS  Z17, Z5, Z6; \
	VDIVPS       Z6, Z19, Z6; \
	VBROADCASTSS geluConsts<>+48(SB), Z7; \
	VFMADD213PS  Z15, Z6, Z7; \
	VFMADD213PS  Z14, Z6, Z7; \
	VFMADD213PS  Z13, Z6, Z7; \
	VFMADD213PS  Z12, Z6, Z7; \
	VFMADD213PS  Z11, Z6, Z7; \
	VFMADD213PS  Z10, Z6, Z7; \
	VFMADD213PS  Z9, Z6, Z7; \
	VFMADD213PS  Z8, Z6, Z7; \
	VMULPS       Z6, Z7, Z7; \
	VMULPS       Z5, Z5, Z5; \
	VMULPS       Z4, Z5, Z5; \
	EXP512(Z5, Z6); \
	VMULPS       Z6, Z7, Z7; \
	VSUBPS       Z7, Z19, Z5; \
	VPXORD       Z1, Z1, Z1; \
	VCMPPS       $0x11, Z1, Z0, K3; \
	VMOVAPS      Z7, K3, Z5

// func geluAVX512(y, x *float32, n int)
//
// y = x*Φ(x), Φ as normCDFf (vec.go).
TEXT ·geluAVX512(SB), NOSPLIT, $0-24
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	EXPCONSTS512
	GELUCONSTS512
	TESTQ CX, CX
	JZ    gedone

geloop:
	VMOVUPS (SI), Z0
	PHI512
	VMULPS  Z5, Z0, Z5
	VMOVUPS Z5, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DI
	SUBQ    $16, CX
	JNZ     geloop

gedone:
	VZEROUPPER
	RET

// func geluBackwardAVX512(dx, x, dy *float32, n int)
//
// dx = dy * (Φ(x) + x*φ(x)), φ(x) = exp(-x²/2)/√(2π).
TEXT ·geluBackwardAVX512(SB), NOSPLIT, $0-32
	MOVQ dx+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ dy+16(FP), DX
	MOVQ n+24(FP), CX
	EXPCONSTS512
	GELUCONSTS512
	TESTQ CX, CX
	JZ    gebdone

gebloop:
	VMOVUPS      (SI), Z0
	PHI512
	VBROADCASTSS geluConsts<>+12(SB), Z7
	VMULPS       Z7, Z6, Z6 // φ(x)
	VFMADD231PS  Z6, Z0, Z5 // Φ + x*φ
	VMULPS       (DX), Z5, Z5
	VMOVUPS      Z5, (DI)
	ADDQ         $64, SI
	ADDQ         $64, DX
	ADDQ         $64, DI
	SUBQ         $16, CX
	JNZ          gebloop

gebdone:
	VZEROUPPER
	RET

// The row primitives below run over any n: whole vectors, then one vector under the
// mask K1 of the last n%16 elements (zero lanes when n%16 == 0), loaded zeroed and
// stored masked. TAILMASK sets K1 from CX (clobbering AX and CX).
#define TAILMASK \
	ANDQ  $15, CX; \
	MOVL  $1, AX; \
	SHLL  CX, AX; \
	DECL  AX; \
	KMOVW AX, K1

// HSUM512 leaves in X0 (element 0) the sum of Z0's 16 elements, clobbering Z1.
#define HSUM512 \
	VEXTRACTF64X4 $1, Z0, Y1; \
	VADDPS        Y1, Y0, Y0; \
	VEXTRACTF128  $1, Y0, X1; \
	VADDPS        X1, X0, X0; \
	VPERMILPS     $0x4e, X0, X1; \
	VADDPS        X1, X0, X0; \
	VPERMILPS     $0xb1, X0, X1; \
	VADDSS        X1, X0, X0

// func sumAVX512(x *float32, n int) float32
TEXT ·sumAVX512(SB), NOSPLIT, $0-20
	MOVQ   x+0(FP), SI
	MOVQ   n+8(FP), CX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	MOVQ   CX, BX
	SHRQ   $5, BX // pairs of vectors

sum2:
	TESTQ  BX, BX
	JZ     sum1
	VADDPS (SI), Z0, Z0
	VADDPS 64(SI), Z1, Z1
	ADDQ   $128, SI
	DECQ   BX
	JMP    sum2

sum1:
	TESTQ  $16, CX
	JZ     sumtail
	VADDPS (SI), Z0, Z0
	ADDQ   $64, SI

sumtail:
	TAILMASK
	VMOVUPS.Z (SI), K1, Z2
	VADDPS    Z2, Z1, Z1
	VADDPS    Z1, Z0, Z0
	HSUM512
	MOVSS     X0, ret+16(FP)
	VZEROUPPER
	RET

// func maxAVX512(x *float32, n int) float32
//
// The largest element (-Inf for n == 0); with NaNs, some element.
TEXT ·maxAVX512(SB), NOSPLIT, $0-20
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	MOVL         $0xff800000, AX
	VPBROADCASTD AX, Z0 // -Inf
	VMOVAPS      Z0, Z1
	VMOVAPS      Z0, Z2
	MOVQ         CX, BX
	SHRQ         $4, BX

max1:
	TESTQ  BX, BX
	JZ     maxtail
	VMAXPS (SI), Z0, Z0
	ADDQ   $64, SI
	DECQ   BX
	JMP    max1

maxtail:
	TAILMASK
	VMOVUPS       (SI), K1, Z2 // masked-off lanes stay -Inf
	VMAXPS        Z2, Z0, Z0
	VEXTRACTF64X4 $1, Z0, Y1
	VMAXPS        Y1, Y0, Y0
	VEXTRACTF128  $1, Y0, X1
	VMAXPS        X1, X0, X0
	VPERMILPS     $0x4e, X0, X1
	VMAXPS        X1, X0, X0
	VPERMILPS     $0xb1, X0, X1
	VMAXSS        X1, X0, X0
	MOVSS         X0, ret+16(FP)
	VZEROUPPER
	RET

// func expAffineAVX512(y, x *float32, n int, a, b float32)
//
// y = expf(a*x + b), a*x + b fused.
TEXT ·expAffineAVX512(SB), NOSPLIT, $0-32
	MOVQ         y+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS a+24(FP), Z16
	VBROADCASTSS b+28(FP), Z17
	EXPCONSTS512
	MOVQ         CX, BX
	SHRQ         $4, BX

ea1:
	TESTQ       BX, BX
	JZ          eatail
	VMOVAPS     Z17, Z5
	VFMADD231PS (SI), Z16, Z5
	EXP512(Z5, Z6)
	VMOVUPS     Z6, (DI)
	ADDQ        $64, SI
	ADDQ        $64, DI
	DECQ        BX
	JMP         ea1

eatail:
	TAILMASK
	VMOVUPS.Z   (SI), K1, Z0
	KMOVW       K1, K3 // EXP512 clobbers K1
	VMOVAPS     Z17, Z5
	VFMADD231PS Z0, Z16, Z5
	EXP512(Z5, Z6)
	VMOVUPS     Z6, K3, (DI)
	VZEROUPPER
	RET

// func sumSqDevAVX512(x *float32, n int, m float32) float32
//
// Σ (x-m)², masked-off lanes contributing 0.
TEXT ·sumSqDevAVX512(SB), NOSPLIT, $0-28
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSS m+16(FP), Z16
	VPXORD       Z0, Z0, Z0
	VPXORD       Z1, Z1, Z1
	MOVQ         CX, BX
	SHRQ         $4, BX

sq1:
	TESTQ       BX, BX
	JZ          sqtail
	VMOVUPS     (SI), Z2
	VSUBPS      Z16, Z2, Z2
	VFMADD231PS Z2, Z2, Z0
	ADDQ        $64, SI
	DECQ        BX
	JMP         sq1

sqtail:
	TAILMASK
	VMOVUPS.Z   (SI), K1, Z2
	VSUBPS.Z    Z16, Z2, K1, Z2
	VFMADD231PS Z2, Z2, Z1
	VADDPS      Z1, Z0, Z0
	HSUM512
	MOVSS       X0, ret+24(FP)
	VZEROUPPER
	RET

// func normAffineAVX512(y, x, gamma, beta *float32, n int, m, s float32)
//
// y = (x-m)*s*gamma + beta, or without "+ beta" when beta is nil.
TEXT ·normAffineAVX512(SB), NOSPLIT, $0-48
	MOVQ         y+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         gamma+16(FP), R8
	MOVQ         beta+24(FP), R9
	MOVQ         n+32(FP), CX
	VBROADCASTSS m+40(FP), Z16
	VBROADCASTSS s+44(FP), Z17
	VPXORD       Z3, Z3, Z3
	MOVQ         CX, BX
	SHRQ         $4, BX

na1:
	TESTQ   BX, BX
	JZ      natail
	VMOVUPS (SI), Z0
	VSUBPS  Z16, Z0, Z0
	VMULPS  Z17, Z0, Z0
	VMULPS  (R8), Z0, Z0
	TESTQ   R9, R9
	JZ      na1store
	VADDPS  (R9), Z0, Z0
	ADDQ    $64, R9

na1store:
	VMOVUPS Z0, (DI)
	ADDQ    $64, SI
	ADDQ    $64, R8
	ADDQ    $64, DI
	DECQ    BX
	JMP     na1

natail:
	TAILMASK
	VMOVUPS.Z (SI), K1, Z0
	VMOVUPS.Z (R8), K1, Z2
	VSUBPS    Z16, Z0, Z0
	VMULPS    Z17, Z0, Z0
	VMULPS    Z2, Z0, Z0
	TESTQ     R9, R9
	JZ        natstore
	VMOVUPS.Z (R9), K1, Z3
	VADDPS    Z3, Z0, Z0

natstore:
	VMOVUPS Z0, K1, (DI)
	VZEROUPPER
	RET

// func lnGradSumsAVX512(x, dy, gamma, pg, pb *float32, n int, m, s float32) (sg, sgx float32)
//
// With h = (x-m)*s and g = dy*gamma: pg += dy*h, pb += dy, and the sums of g and g*h.
TEXT ·lnGradSumsAVX512(SB), NOSPLIT, $0-64
	MOVQ         x+0(FP), SI
	MOVQ         dy+8(FP), DX
	MOVQ         gamma+16(FP), R8
	MOVQ         pg+24(FP), R9
	MOVQ         pb+32(FP), R10
	MOVQ         n+40(FP), CX
	VBROADCASTSS m+48(FP), Z16
	VBROADCASTSS s+52(FP), Z17
	VPXORD       Z10, Z10, Z10 // Σ g
	VPXORD       Z11, Z11, Z11 // Σ g*h
	MOVQ         CX, BX
	SHRQ         $4, BX

gs1:
	TESTQ       BX, BX
	JZ          gstail
	VMOVUPS     (SI), Z0
	VSUBPS      Z16, Z0, Z0
	VMULPS      Z17, Z0, Z0 // h
	VMOVUPS     (DX), Z1    // dy
	VMULPS      (R8), Z1, Z2 // g
	VADDPS      Z2, Z10, Z10
	VFMADD231PS Z0, Z2, Z11
	VMOVUPS     (R9), Z3
	VFMADD231PS Z0, Z1, Z3
	VMOVUPS     Z3, (R9)
	VADDPS      (R10), Z1, Z4
	VMOVUPS     Z4, (R10)
	ADDQ        $64, SI
	ADDQ        $64, DX
	ADDQ        $64, R8
	ADDQ        $64, R9
	ADDQ        $64, R10
	DECQ        BX
	JMP         gs1

gstail:
	TAILMASK
	VMOVUPS.Z   (SI), K1, Z0
	VSUBPS      Z16, Z0, Z0
	VMULPS      Z17, Z0, Z0
	VMOVUPS.Z   (DX), K1, Z1 // 0 in the masked-off lanes: nothing added there
	VMOVUPS.Z   (R8), K1, Z2
	VMULPS      Z2, Z1, Z2
	VADDPS      Z2, Z10, Z10
	VFMADD231PS Z0, Z2, Z11
	VMOVUPS.Z   (R9), K1, Z3
	VFMADD231PS Z0, Z1, Z3
	VMOVUPS     Z3, K1, (R9)
	VMOVUPS.Z   (R10), K1, Z4
	VADDPS      Z1, Z4, Z4
	VMOVUPS     Z4, K1, (R10)
	VMOVAPS     Z10, Z0
	HSUM512
	MOVSS       X0, sg+56(FP)
	VMOVAPS     Z11, Z0
	HSUM512
	MOVSS       X0, sgx+60(FP)
	VZEROUPPER
	RET

// func lnGradDXAVX512(dx, x, dy, gamma *float32, n int, m, s, mg, mgx float32)
//
// dx = s*(dy*gamma - mg - (x-m)*s*mgx); dx may alias dy.
TEXT ·lnGradDXAVX512(SB), NOSPLIT, $0-56
	MOVQ         dx+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         dy+16(FP), DX
	MOVQ         gamma+24(FP), R8
	MOVQ         n+32(FP), CX
	VBROADCASTSS m+40(FP), Z16
	VBROADCASTSS s+44(FP), Z17
	VBROADCASTSS mg+48(FP), Z18
	VBROADCASTSS mgx+52(FP), Z19
	MOVQ         CX, BX
	SHRQ         $4, BX

gd1:
	TESTQ        BX, BX
	JZ           gdtail
	VMOVUPS      (SI), Z0
	VSUBPS       Z16, Z0, Z0
	VMULPS       Z17, Z0, Z0  // h
	VMOVUPS      (DX), Z1
	VMULPS       (R8), Z1, Z1 // g
	VSUBPS       Z18, Z1, Z1
	VFNMADD231PS Z19, Z0, Z1  // g - mg - h*mgx
	VMULPS       Z17, Z1, Z1
	VMOVUPS      Z1, (DI)
	ADDQ         $64, SI
	ADDQ         $64, DX
	ADDQ         $64, R8
	ADDQ         $64, DI
	DECQ         BX
	JMP          gd1

gdtail:
	TAILMASK
	VMOVUPS.Z    (SI), K1, Z0
	VSUBPS       Z16, Z0, Z0
	VMULPS       Z17, Z0, Z0
	VMOVUPS.Z    (DX), K1, Z1
	VMOVUPS.Z    (R8), K1, Z2
	VMULPS       Z2, Z1, Z1
	VSUBPS       Z18, Z1, Z1
	VFNMADD231PS Z19, Z0, Z1
	VMULPS       Z17, Z1, Z1
	VMOVUPS      Z1, K1, (DI)
	VZEROUPPER
	RET

// func lstmBackwardAVX512(acts, cprev, tc, dh, dc, dgx, dcprev *float32, hidden int)
//
// One row of an LSTM step's backward pass (rnn.go's lstmBackwardRow): acts holds i, f, g,
// o, each hidden wide; tc = tanh(c). dc = dh*o*(1-tc²) + dc_next, then
// dgx = (dc*g*i*(1-i), dc*cprev*f*(1-f), dc*i*(1-g²), dh*tc*o*(1-o)) and dcprev = dc*f.
// R11 is the byte offset between gates (hidden*4).
TEXT ·lstmBackwardAVX512(SB), NOSPLIT, $0-64
	MOVQ         acts+0(FP), SI
	MOVQ         cprev+8(FP), R8
	MOVQ         tc+16(FP), R9
	MOVQ         dh+24(FP), R10
	MOVQ         dc+32(FP), R12
	MOVQ         dgx+40(FP), DI
	MOVQ         dcprev+48(FP), R13
	MOVQ         hidden+56(FP), CX
	MOVQ         CX, R11
	SHLQ         $2, R11
	LEAQ         (R11)(R11*1), R14 // 2 gates
	LEAQ         (R14)(R11*1), R15 // 3 gates
	MOVL         $0x3f800000, AX
	VPBROADCASTD AX, Z31 // 1
	MOVQ         CX, BX
	SHRQ         $4, BX
	MOVW         $0xffff, AX
	KMOVW        AX, K1

lb1:
	TESTQ BX, BX
	JZ    lbtail

lbbody:
	VMOVUPS.Z    (SI), K1, Z0        // i
	VMOVUPS.Z    (SI)(R11*1), K1, Z1 // f
	VMOVUPS.Z    (SI)(R14*1), K1, Z2 // g
	VMOVUPS.Z    (SI)(R15*1), K1, Z3 // o
	VMOVUPS.Z    (R9), K1, Z4        // tc
	VMOVUPS.Z    (R10), K1, Z5       // dh
	VMOVAPS      Z31, Z6
	VFNMADD231PS Z4, Z4, Z6          // 1 - tc²
	VMULPS       Z3, Z5, Z7          // dh*o
	VMOVUPS.Z    (R12), K1, Z8       // dc_next
	VFMADD231PS  Z6, Z7, Z8          // dc
	VSUBPS       Z0, Z31, Z9         // 1 - i
	VMULPS       Z2, Z8, Z10
	VMULPS       Z0, Z10, Z10
	VMULPS       Z9, Z10, Z10        // dc*g*i*(1-i)
	VMOVUPS      Z10, K1, (DI)
	VSUBPS       Z1, Z31, Z9         // 1 - f
	VMOVUPS.Z    (R8), K1, Z10       // cprev
	VMULPS       Z8, Z10, Z10
	VMULPS       Z1, Z10, Z10
	VMULPS       Z9, Z10, Z10        // dc*cprev*f*(1-f)
	VMOVUPS      Z10, K1, (DI)(R11*1)
	VMOVAPS      Z31, Z9
	VFNMADD231PS Z2, Z2, Z9          // 1 - g²
	VMULPS       Z0, Z8, Z10
	VMULPS       Z9, Z10, Z10        // dc*i*(1-g²)
	VMOVUPS      Z10, K1, (DI)(R14*1)
	VSUBPS       Z3, Z31, Z9         // 1 - o
	VMULPS       Z4, Z7, Z10         // dh*o*tc
	VMULPS       Z9, Z10, Z10        // dh*tc*o*(1-o)
	VMOVUPS      Z10, K1, (DI)(R15*1)
	VMULPS       Z1, Z8, Z10         // dc*f
	VMOVUPS      Z10, K1, (R13)
	ADDQ         $64, SI
	ADDQ         $64, R8
	ADDQ         $64, R9
	ADDQ         $64, R10
	ADDQ         $64, R12
	ADDQ         $64, DI
	ADDQ         $64, R13
	TESTQ        BX, BX
	JZ           lbdone
	DECQ         BX
	JNZ          lbbody

lbtail:
	TAILMASK
	XORQ         BX, BX
	KORTESTW     K1, K1
	JNZ          lbbody

lbdone:
	VZEROUPPER
	RET

// func gruBackwardAVX512(acts, gh, hprev, dh, dgx, dgh, dhprev *float32, hidden int)
//
// One row of a GRU step's backward pass (rnn.go's gruBackwardRow): acts holds r, z, n;
// dn = dh*(1-z)*(1-n²), dz = dh*(hprev-n)*z*(1-z), dr = dn*gh_n*r*(1-r);
// dgx = (dr, dz, dn), dgh = (dr, dz, dn*r), dhprev = dh*z. R11 is the byte offset
// between gates.
TEXT ·gruBackwardAVX512(SB), NOSPLIT, $0-64
	MOVQ         acts+0(FP), SI
	MOVQ         gh+8(FP), R8
	MOVQ         hprev+16(FP), R9
	MOVQ         dh+24(FP), R10
	MOVQ         dgx+32(FP), DI
	MOVQ         dgh+40(FP), R12
	MOVQ         dhprev+48(FP), R13
	MOVQ         hidden+56(FP), CX
	MOVQ         CX, R11
	SHLQ         $2, R11
	LEAQ         (R11)(R11*1), R14 // 2 gates
	MOVL         $0x3f800000, AX
	VPBROADCASTD AX, Z31 // 1
	MOVQ         CX, BX
	SHRQ         $4, BX
	MOVW         $0xffff, AX
	KMOVW        AX, K1

gb1:
	TESTQ BX, BX
	JZ    gbtail

gbbody:
	VMOVUPS.Z    (SI), K1, Z0        // r
	VMOVUPS.Z    (SI)(R11*1), K1, Z1 // z
	VMOVUPS.Z    (SI)(R14*1), K1, Z2 // n
	VMOVUPS.Z    (R10), K1, Z3       // dh
	VMOVUPS.Z    (R9), K1, Z4        // hprev
	VSUBPS       Z1, Z31, Z5         // 1 - z
	VMOVAPS      Z31, Z6
	VFNMADD231PS Z2, Z2, Z6          // 1 - n²
	VMULPS       Z5, Z3, Z7
	VMULPS       Z6, Z7, Z7          // dn
	VSUBPS       Z2, Z4, Z8          // hprev - n
	VMULPS       Z8, Z3, Z8
	VMULPS       Z1, Z8, Z8
	VMULPS       Z5, Z8, Z8          // dz
	VMOVUPS.Z    (R8)(R14*1), K1, Z9 // gh_n
	VSUBPS       Z0, Z31, Z10        // 1 - r
	VMULPS       Z9, Z7, Z9
	VMULPS       Z0, Z9, Z9
	VMULPS       Z10, Z9, Z9         // dr
	VMOVUPS      Z9, K1, (DI)
	VMOVUPS      Z9, K1, (R12)
	VMOVUPS      Z8, K1, (DI)(R11*1)
	VMOVUPS      Z8, K1, (R12)(R11*1)
	VMOVUPS      Z7, K1, (DI)(R14*1)
	VMULPS       Z0, Z7, Z7          // dn*r
	VMOVUPS      Z7, K1, (R12)(R14*1)
	VMULPS       Z1, Z3, Z3          // dh*z
	VMOVUPS      Z3, K1, (R13)
	ADDQ         $64, SI
	ADDQ         $64, R8
	ADDQ         $64, R9
	ADDQ         $64, R10
	ADDQ         $64, DI
	ADDQ         $64, R12
	ADDQ         $64, R13
	TESTQ        BX, BX
	JZ           gbdone2
	DECQ         BX
	JNZ          gbbody

gbtail:
	TAILMASK
	XORQ         BX, BX
	KORTESTW     K1, K1
	JNZ          gbbody

gbdone2:
	VZEROUPPER
	RET
