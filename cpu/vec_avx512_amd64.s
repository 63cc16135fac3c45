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
