//go:build !noasm

#include "textflag.h"

// The AVX2+FMA vector primitives (see vec.go for their definitions as Go loops). Each
// runs over n elements, n a multiple of 8, one ymm register of 8 floats per step.

// FTZDAZ saves MXCSR in old-4(SP) and sets flush-to-zero (bit 15) and
// denormals-are-zero (bit 6) for the optimizer loops; RESTORE puts the saved value back.
#define FTZDAZ \
	STMXCSR old-4(SP); \
	MOVL    old-4(SP), AX; \
	ORL     $0x8040, AX; \
	MOVL    AX, new-8(SP); \
	LDMXCSR new-8(SP)

#define RESTORE LDMXCSR old-4(SP)

// func adamAVX2(p, g, m, v *float32, n int, c *adamConsts)
//
// Y9..Y15 hold b1, c1, b2, c2, alpha, eps, decay; Y0 g, Y1 m, Y2 v, Y3 p.
TEXT ·adamAVX2(SB), NOSPLIT, $8-48
	MOVQ p+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ m+16(FP), R8
	MOVQ v+24(FP), R9
	MOVQ n+32(FP), CX
	MOVQ c+40(FP), DX
	VBROADCASTSS 0(DX), Y9
	VBROADCASTSS 4(DX), Y10
	VBROADCASTSS 8(DX), Y11
	VBROADCASTSS 12(DX), Y12
	VBROADCASTSS 16(DX), Y13
	VBROADCASTSS 20(DX), Y14
	VBROADCASTSS 24(DX), Y15
	MOVL 24(DX), BX // decay's bits: 0 for Adam
	FTZDAZ
	TESTQ CX, CX
	JZ    adamdone

adamloop:
	VMOVUPS (SI), Y0
	VMOVUPS (R8), Y1
	VMOVUPS (R9), Y2
	VMOVUPS (DI), Y3
	TESTL BX, BX
	JZ    adamnodecay
	VFMADD231PS Y3, Y15, Y3 // p += decay*p

adamnodecay:
	VMULPS      Y10, Y0, Y4 // c1*g
	VFMADD231PS Y1, Y9, Y4 // m = b1*m + c1*g
	VMULPS      Y12, Y0, Y5 // c2*g
	VMULPS      Y0, Y5, Y5  // c2*g*g
	VFMADD231PS Y2, Y11, Y5 // v = b2*v + c2*g*g
	VSQRTPS     Y5, Y6
	VADDPS      Y14, Y6, Y6 // √v + eps
	VMULPS      Y13, Y4, Y7 // alpha*m
	VDIVPS      Y6, Y7, Y7  // alpha*m/(√v + eps)
	VSUBPS      Y7, Y3, Y3
	VMOVUPS     Y4, (R8)
	VMOVUPS     Y5, (R9)
	VMOVUPS     Y3, (DI)
	ADDQ $32, SI
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ  adamloop

adamdone:
	RESTORE
	VZEROUPPER
	RET

// func momentumAVX2(p, g, m *float32, n int, mu, lr float32, nesterov bool)
//
// Y9 mu, Y10 lr; Y0 g, Y1 m, Y3 p.
TEXT ·momentumAVX2(SB), NOSPLIT, $8-41
	MOVQ p+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ m+16(FP), R8
	MOVQ n+24(FP), CX
	VBROADCASTSS mu+32(FP), Y9
	VBROADCASTSS lr+36(FP), Y10
	MOVBLZX nesterov+40(FP), BX
	FTZDAZ
	TESTQ CX, CX
	JZ    momdone

momloop:
	VMOVUPS     (SI), Y0
	VMOVUPS     (R8), Y1
	VMOVUPS     (DI), Y3
	VMULPS      Y10, Y0, Y4 // lr*g
	VFMSUB231PS Y1, Y9, Y4 // m = mu*m - lr*g
	VMOVUPS     Y4, (R8)
	TESTL       BX, BX
	JZ          momplain
	VMULPS      Y10, Y0, Y5 // lr*g
	VFMSUB231PS Y4, Y9, Y5 // mu*m - lr*g
	VADDPS      Y5, Y3, Y3
	JMP         momstore

momplain:
	VADDPS Y4, Y3, Y3

momstore:
	VMOVUPS Y3, (DI)
	ADDQ    $32, SI
	ADDQ    $32, R8
	ADDQ    $32, DI
	SUBQ    $8, CX
	JNZ     momloop

momdone:
	RESTORE
	VZEROUPPER
	RET

// func axpbyAVX2(y, x *float32, n int, a, b float32)
TEXT ·axpbyAVX2(SB), NOSPLIT, $0-32
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS a+24(FP), Y9
	VBROADCASTSS b+28(FP), Y10
	TESTQ CX, CX
	JZ    axdone
	MOVL  b+28(FP), AX
	SHLL  $1, AX            // drop the sign: ±0 means "do not read y"
	JZ    axzero
	CMPL  AX, $0x7f000000   // 1.0 is 0x3f800000, shifted left once
	JEQ   axone

axgen:
	VMOVUPS     (SI), Y0
	VMULPS      (DI), Y10, Y1 // b*y
	VFMADD231PS Y0, Y9, Y1   // a*x + b*y
	VMOVUPS     Y1, (DI)
	ADDQ        $32, SI
	ADDQ        $32, DI
	SUBQ        $8, CX
	JNZ         axgen
	JMP         axdone

axzero:
	VMULPS  (SI), Y9, Y1
	VMOVUPS Y1, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	SUBQ    $8, CX
	JNZ     axzero
	JMP     axdone

axone:
	MOVL b+28(FP), AX
	CMPL AX, $0x3f800000 // +1, not -1
	JNE  axgen

axoneloop:
	VMOVUPS     (DI), Y1
	VFMADD231PS (SI), Y9, Y1
	VMOVUPS     Y1, (DI)
	ADDQ        $32, SI
	ADDQ        $32, DI
	SUBQ        $8, CX
	JNZ         axoneloop

axdone:
	VZEROUPPER
	RET

// func binaryAVX2(op int, c, a, b *float32, n int)
//
// op is device.BinaryOp: 0 add, 1 sub, 2 mul, 3 div.
TEXT ·binaryAVX2(SB), NOSPLIT, $0-40
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
	VMOVUPS (SI), Y0
	VADDPS  (DX), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	SUBQ    $8, CX
	JNZ     binadd
	JMP     bindone

binsub:
	VMOVUPS (SI), Y0
	VSUBPS  (DX), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	SUBQ    $8, CX
	JNZ     binsub
	JMP     bindone

binmul:
	VMOVUPS (SI), Y0
	VMULPS  (DX), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	SUBQ    $8, CX
	JNZ     binmul
	JMP     bindone

bindiv:
	VMOVUPS (SI), Y0
	VDIVPS  (DX), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	SUBQ    $8, CX
	JNZ     bindiv

bindone:
	VZEROUPPER
	RET

// func widenU8AVX2(dst *float32, src *uint8, n int, s float32)
TEXT ·widenU8AVX2(SB), NOSPLIT, $0-28
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS s+24(FP), Y9
	TESTQ CX, CX
	JZ    wdone

wloop:
	VPMOVZXBD (SI), Y0
	VCVTDQ2PS Y0, Y0
	VMULPS    Y9, Y0, Y0
	VMOVUPS   Y0, (DI)
	ADDQ      $8, SI
	ADDQ      $32, DI
	SUBQ      $8, CX
	JNZ       wloop

wdone:
	VZEROUPPER
	RET

// func reluAVX2(y, x *float32, n int)
//
// VMAXPS returns its second source (x) when either is NaN, so NaN stays NaN.
TEXT ·reluAVX2(SB), NOSPLIT, $0-24
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	VXORPS Y9, Y9, Y9
	TESTQ  CX, CX
	JZ     rdone

rloop:
	VMOVUPS (SI), Y0
	VMAXPS  Y0, Y9, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	SUBQ    $8, CX
	JNZ     rloop

rdone:
	VZEROUPPER
	RET

// func selectPosAVX2(out, x, a *float32, n int, p float32)
//
// Y3 is all ones where x > 0 (ordered: NaN is not); out = a there, p*a (or 0 when
// p == 0) elsewhere.
TEXT ·selectPosAVX2(SB), NOSPLIT, $0-36
	MOVQ out+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ a+16(FP), DX
	MOVQ n+24(FP), CX
	VBROADCASTSS p+32(FP), Y10
	VXORPS Y9, Y9, Y9
	TESTQ  CX, CX
	JZ     sdone
	MOVL   p+32(FP), AX
	SHLL   $1, AX
	JNZ    sscaled

szero:
	VMOVUPS (SI), Y0
	VCMPPS  $0x1e, Y9, Y0, Y3 // x > 0
	VANDPS  (DX), Y3, Y1
	VMOVUPS Y1, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	SUBQ    $8, CX
	JNZ     szero
	JMP     sdone

sscaled:
	VMOVUPS   (SI), Y0
	VMOVUPS   (DX), Y1
	VCMPPS    $0x1e, Y9, Y0, Y3
	VMULPS    Y10, Y1, Y2
	VBLENDVPS Y3, Y1, Y2, Y2 // a where x > 0
	VMOVUPS   Y2, (DI)
	ADDQ      $32, SI
	ADDQ      $32, DX
	ADDQ      $32, DI
	SUBQ      $8, CX
	JNZ       sscaled

sdone:
	VZEROUPPER
	RET

// The constants of expAVX2: those of expConsts (vec_avx512_amd64.s), and 127 eight
// times (the exponent bias, for the 2^n scale).
DATA exp2Consts<>+0(SB)/4, $0x3fb8aa3b  // log2e
DATA exp2Consts<>+4(SB)/4, $0x4b400000  // shifter
DATA exp2Consts<>+8(SB)/4, $0x3f318000  // ln2Hi
DATA exp2Consts<>+12(SB)/4, $0xb95e8083 // ln2Lo
DATA exp2Consts<>+16(SB)/4, $0x42b17217 // 88.72283
DATA exp2Consts<>+20(SB)/4, $0xc2aeac4f // -87.33654
DATA exp2Consts<>+24(SB)/4, $0x39500d01 // 1/5040
DATA exp2Consts<>+28(SB)/4, $0x3ab60b61 // 1/720
DATA exp2Consts<>+32(SB)/4, $0x3c088889 // 1/120
DATA exp2Consts<>+36(SB)/4, $0x3d2aaaab // 1/24
DATA exp2Consts<>+40(SB)/4, $0x3e2aaaab // 1/6
DATA exp2Consts<>+44(SB)/4, $0x3f000000 // 1/2
DATA exp2Consts<>+48(SB)/4, $0x3f800000 // 1
DATA exp2Consts<>+52(SB)/4, $0x7f800000 // +Inf
DATA exp2Consts<>+64(SB)/4, $127
DATA exp2Consts<>+68(SB)/4, $127
DATA exp2Consts<>+72(SB)/4, $127
DATA exp2Consts<>+76(SB)/4, $127
DATA exp2Consts<>+80(SB)/4, $127
DATA exp2Consts<>+84(SB)/4, $127
DATA exp2Consts<>+88(SB)/4, $127
DATA exp2Consts<>+92(SB)/4, $127
GLOBL exp2Consts<>(SB), RODATA|NOPTR, $96

// func expAVX2(y, x *float32, n int)
//
// As expAVX512, but 2^n is built in two halves from exponent bits (n in [-126, 128]: each
// half a normal power of two), and the last Taylor coefficients are broadcast from
// memory for want of registers.
TEXT ·expAVX2(SB), NOSPLIT, $0-24
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS exp2Consts<>+0(SB), Y6   // log2e
	VBROADCASTSS exp2Consts<>+4(SB), Y7   // shifter
	VBROADCASTSS exp2Consts<>+8(SB), Y8   // ln2Hi
	VBROADCASTSS exp2Consts<>+12(SB), Y9  // ln2Lo
	VBROADCASTSS exp2Consts<>+16(SB), Y10 // hi
	VBROADCASTSS exp2Consts<>+20(SB), Y11 // lo
	VBROADCASTSS exp2Consts<>+24(SB), Y12 // 1/5040
	VBROADCASTSS exp2Consts<>+28(SB), Y15 // 1/720
	VBROADCASTSS exp2Consts<>+48(SB), Y13 // 1
	VBROADCASTSS exp2Consts<>+52(SB), Y14 // +Inf
	TESTQ CX, CX
	JZ    e2done

e2loop:
	VMOVUPS      (SI), Y0
	VMINPS       Y0, Y10, Y1
	VMAXPS       Y1, Y11, Y1
	VMOVAPS      Y7, Y2
	VFMADD231PS  Y6, Y1, Y2
	VSUBPS       Y7, Y2, Y2 // n
	VMOVAPS      Y1, Y3
	VFNMADD231PS Y8, Y2, Y3
	VFNMADD231PS Y9, Y2, Y3 // r
	VMOVAPS      Y12, Y4
	VFMADD213PS  Y15, Y3, Y4
	VBROADCASTSS exp2Consts<>+32(SB), Y5
	VFMADD213PS  Y5, Y3, Y4
	VBROADCASTSS exp2Consts<>+36(SB), Y5
	VFMADD213PS  Y5, Y3, Y4
	VBROADCASTSS exp2Consts<>+40(SB), Y5
	VFMADD213PS  Y5, Y3, Y4
	VBROADCASTSS exp2Consts<>+44(SB), Y5
	VFMADD213PS  Y5, Y3, Y4
	VFMADD213PS  Y13, Y3, Y4
	VFMADD213PS  Y13, Y3, Y4 // p = exp(r)
	VCVTTPS2DQ   Y2, Y5      // n as int32
	VPSRAD       $1, Y5, Y1  // h = n>>1
	VPSUBD       Y1, Y5, Y5  // n - h
	VPADDD       exp2Consts<>+64(SB), Y1, Y1
	VPSLLD       $23, Y1, Y1 // 2^h
	VPADDD       exp2Consts<>+64(SB), Y5, Y5
	VPSLLD       $23, Y5, Y5 // 2^(n-h)
	VMULPS       Y1, Y4, Y4
	VMULPS       Y5, Y4, Y4
	VCMPPS       $0x1e, Y10, Y0, Y5 // x > hi
	VBLENDVPS    Y5, Y14, Y4, Y4
	VCMPPS       $0x11, Y11, Y0, Y5 // x < lo
	VANDNPS      Y4, Y5, Y4
	VMOVUPS      Y4, (DI)
	ADDQ         $32, SI
	ADDQ         $32, DI
	SUBQ         $8, CX
	JNZ          e2loop

e2done:
	VZEROUPPER
	RET

// The activation primitives below compute expf as expAVX2 does, through EXP2, and tanhf
// (activation.go) through TANH2, as the AVX-512 ones do (vec_avx512_amd64.s). Y10 and Y11
// hold expf's clamps (hi, lo; the clamps keep a NaN only with x as their second
// operand); every other constant is broadcast from memory where it is used, for want of
// registers. Y1..Y5 are EXP2's scratch.

// tanh2Consts: |x| mask, 2, 1/4, the sign bit, tanh's odd Taylor coefficients -1/3,
// 2/15, -17/315, 62/2835, and GELU's √(2/π), 0.044715, 1/2 and 3*0.044715.
DATA tanh2Consts<>+0(SB)/4, $0x7fffffff
DATA tanh2Consts<>+4(SB)/4, $0x40000000
DATA tanh2Consts<>+8(SB)/4, $0x3e800000
DATA tanh2Consts<>+12(SB)/4, $0x80000000
DATA tanh2Consts<>+16(SB)/4, $0xbeaaaaab
DATA tanh2Consts<>+20(SB)/4, $0x3e088889
DATA tanh2Consts<>+24(SB)/4, $0xbd5d0dd1
DATA tanh2Consts<>+28(SB)/4, $0x3cb327a4
DATA tanh2Consts<>+32(SB)/4, $0x3f4c422a
DATA tanh2Consts<>+36(SB)/4, $0x3d372713
DATA tanh2Consts<>+40(SB)/4, $0x3f000000
DATA tanh2Consts<>+44(SB)/4, $0x3e095d4f
GLOBL tanh2Consts<>(SB), RODATA|NOPTR, $48

#define EXPCLAMPS2 \
	VBROADCASTSS exp2Consts<>+16(SB), Y10; \
	VBROADCASTSS exp2Consts<>+20(SB), Y11

// EXP2(X, T): T = expf(X), the loop body of expAVX2. X is read to the end; Y1..Y5 are
// clobbered.
#define EXP2(X, T) \
	VMINPS       X, Y10, Y1; \
	VMAXPS       Y1, Y11, Y1; \
	VBROADCASTSS exp2Consts<>+4(SB), Y2; \
	VBROADCASTSS exp2Consts<>+0(SB), Y4; \
	VFMADD231PS  Y4, Y1, Y2; \
	VBROADCASTSS exp2Consts<>+4(SB), Y4; \
	VSUBPS       Y4, Y2, Y2; \
	VMOVAPS      Y1, Y3; \
	VBROADCASTSS exp2Consts<>+8(SB), Y4; \
	VFNMADD231PS Y4, Y2, Y3; \
	VBROADCASTSS exp2Consts<>+12(SB), Y4; \
	VFNMADD231PS Y4, Y2, Y3; \
	VBROADCASTSS exp2Consts<>+24(SB), T; \
	VBROADCASTSS exp2Consts<>+28(SB), Y4; \
	VFMADD213PS  Y4, Y3, T; \
	VBROADCASTSS exp2Consts<>+32(SB), Y4; \
	VFMADD213PS  Y4, Y3, T; \
	VBROADCASTSS exp2Consts<>+36(SB), Y4; \
	VFMADD213PS  Y4, Y3, T; \
	VBROADCASTSS exp2Consts<>+40(SB), Y4; \
	VFMADD213PS  Y4, Y3, T; \
	VBROADCASTSS exp2Consts<>+44(SB), Y4; \
	VFMADD213PS  Y4, Y3, T; \
	VBROADCASTSS exp2Consts<>+48(SB), Y4; \
	VFMADD213PS  Y4, Y3, T; \
	VFMADD213PS  Y4, Y3, T; \
	VCVTTPS2DQ   Y2, Y4; \
	VPSRAD       $1, Y4, Y1; \
	VPSUBD       Y1, Y4, Y4; \
	VPADDD       exp2Consts<>+64(SB), Y1, Y1; \
	VPSLLD       $23, Y1, Y1; \
	VPADDD       exp2Consts<>+64(SB), Y4, Y4; \
	VPSLLD       $23, Y4, Y4; \
	VMULPS       Y1, T, T; \
	VMULPS       Y4, T, T; \
	VCMPPS       $0x1e, Y10, X, Y5; \
	VBROADCASTSS exp2Consts<>+52(SB), Y4; \
	VBLENDVPS    Y5, Y4, T, T; \
	VCMPPS       $0x11, Y11, X, Y5; \
	VANDNPS      T, Y5, T

// TANH2(U, T, A, B): T = tanhf(U), as TANH512. U is kept; A, B, Y1..Y5 are clobbered.
#define TANH2(U, T, A, B) \
	VBROADCASTSS tanh2Consts<>+0(SB), A; \
	VANDPS       U, A, A; \
	VADDPS       A, A, B; \
	EXP2(B, T); \
	VBROADCASTSS exp2Consts<>+48(SB), Y1; \
	VADDPS       Y1, T, T; \
	VBROADCASTSS tanh2Consts<>+4(SB), Y2; \
	VDIVPS       T, Y2, T; \
	VSUBPS       T, Y1, T; \
	VBROADCASTSS tanh2Consts<>+12(SB), B; \
	VANDPS       U, B, B; \
	VORPS        B, T, T; \
	VMULPS       U, U, B; \
	VBROADCASTSS tanh2Consts<>+28(SB), Y1; \
	VBROADCASTSS tanh2Consts<>+24(SB), Y2; \
	VFMADD213PS  Y2, B, Y1; \
	VBROADCASTSS tanh2Consts<>+20(SB), Y2; \
	VFMADD213PS  Y2, B, Y1; \
	VBROADCASTSS tanh2Consts<>+16(SB), Y2; \
	VFMADD213PS  Y2, B, Y1; \
	VMULPS       U, B, B; \
	VFMADD213PS  U, B, Y1; \
	VBROADCASTSS tanh2Consts<>+8(SB), Y2; \
	VCMPPS       $0x11, Y2, A, B; \
	VBLENDVPS    B, Y1, T, T

// func sigmoidAVX2(y, x *float32, n int)
TEXT ·sigmoidAVX2(SB), NOSPLIT, $0-24
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	EXPCLAMPS2
	TESTQ CX, CX
	JZ    sg2done

sg2loop:
	VMOVUPS      (SI), Y0
	VBROADCASTSS tanh2Consts<>+12(SB), Y6
	VXORPS       Y6, Y0, Y6 // -x
	EXP2(Y6, Y7)
	VBROADCASTSS exp2Consts<>+48(SB), Y1
	VADDPS       Y1, Y7, Y7
	VDIVPS       Y7, Y1, Y7
	VMOVUPS      Y7, (DI)
	ADDQ         $32, SI
	ADDQ         $32, DI
	SUBQ         $8, CX
	JNZ          sg2loop

sg2done:
	VZEROUPPER
	RET

// func tanhAVX2(y, x *float32, n int)
TEXT ·tanhAVX2(SB), NOSPLIT, $0-24
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	EXPCLAMPS2
	TESTQ CX, CX
	JZ    th2done

th2loop:
	VMOVUPS (SI), Y0
	TANH2(Y0, Y7, Y8, Y9)
	VMOVUPS Y7, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	SUBQ    $8, CX
	JNZ     th2loop

th2done:
	VZEROUPPER
	RET

// GELUU2 leaves in Y13 u = √(2/π)*(x + 0.044715*x³) for x in Y0, and x² in Y12.
#define GELUU2 \
	VMULPS       Y0, Y0, Y12; \
	VMULPS       Y0, Y12, Y13; \
	VBROADCASTSS tanh2Consts<>+36(SB), Y14; \
	VFMADD213PS  Y0, Y14, Y13; \
	VBROADCASTSS tanh2Consts<>+32(SB), Y14; \
	VMULPS       Y14, Y13, Y13

// func geluTanhAVX2(y, x *float32, n int)
TEXT ·geluTanhAVX2(SB), NOSPLIT, $0-24
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	EXPCLAMPS2
	TESTQ CX, CX
	JZ    gt2done

gt2loop:
	VMOVUPS      (SI), Y0
	GELUU2
	TANH2(Y13, Y7, Y8, Y9)
	VBROADCASTSS exp2Consts<>+48(SB), Y1
	VADDPS       Y1, Y7, Y7 // 1 + t
	VBROADCASTSS tanh2Consts<>+40(SB), Y8
	VMULPS       Y8, Y0, Y8 // x/2
	VMULPS       Y8, Y7, Y7
	VMOVUPS      Y7, (DI)
	ADDQ         $32, SI
	ADDQ         $32, DI
	SUBQ         $8, CX
	JNZ          gt2loop

gt2done:
	VZEROUPPER
	RET

// func geluTanhBackwardAVX2(dx, x, dy *float32, n int)
TEXT ·geluTanhBackwardAVX2(SB), NOSPLIT, $0-32
	MOVQ dx+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ dy+16(FP), DX
	MOVQ n+24(FP), CX
	EXPCLAMPS2
	TESTQ CX, CX
	JZ    gb2done

gb2loop:
	VMOVUPS      (SI), Y0
	GELUU2
	TANH2(Y13, Y7, Y8, Y9)
	VBROADCASTSS exp2Consts<>+48(SB), Y15 // 1
	VBROADCASTSS tanh2Consts<>+44(SB), Y8
	VFMADD213PS  Y15, Y8, Y12 // 1 + 3κx²
	VBROADCASTSS tanh2Consts<>+32(SB), Y8
	VMULPS       Y8, Y12, Y12 // du/dx
	VBROADCASTSS tanh2Consts<>+40(SB), Y8
	VMULPS       Y8, Y0, Y0   // x/2
	VMOVAPS      Y15, Y14
	VFNMADD231PS Y7, Y7, Y14  // 1 - t²
	VMULPS       Y14, Y0, Y0
	VMULPS       Y12, Y0, Y0  // x/2*(1-t²)*du/dx
	VADDPS       Y15, Y7, Y7
	VFMADD231PS  Y8, Y7, Y0   // + (1+t)/2
	VMULPS       (DX), Y0, Y0
	VMOVUPS      Y0, (DI)
	ADDQ         $32, SI
	ADDQ         $32, DX
	ADDQ         $32, DI
	SUBQ         $8, CX
	JNZ          gb2loop

gb2done:
	VZEROUPPER
	RET

// gelu2Consts: the exact GELU's constants, as geluConsts (vec_avx512_amd64.s).
DATA gelu2Consts<>+0(SB)/4, $0x7fffffff  // |x| mask
DATA gelu2Consts<>+4(SB)/4, $0x3ee66666  // phiP = 0.45
DATA gelu2Consts<>+8(SB)/4, $0xbf000000  // -1/2
DATA gelu2Consts<>+12(SB)/4, $0x3ecc422a // 1/√(2π)
DATA gelu2Consts<>+16(SB)/4, $0x3e37e71c // P0
DATA gelu2Consts<>+20(SB)/4, $0x3e36438d // P1
DATA gelu2Consts<>+24(SB)/4, $0x3e219b83 // P2
DATA gelu2Consts<>+28(SB)/4, $0xbbfea8e8 // P3
DATA gelu2Consts<>+32(SB)/4, $0x3e7368fd // P4
DATA gelu2Consts<>+36(SB)/4, $0xbf148bd5 // P5
DATA gelu2Consts<>+40(SB)/4, $0x3f03a752 // P6
DATA gelu2Consts<>+44(SB)/4, $0xbe5d0d96 // P7
DATA gelu2Consts<>+48(SB)/4, $0x3d159701 // P8
GLOBL gelu2Consts<>(SB), RODATA|NOPTR, $52

// PHI2 leaves, for x in Y0, Φ(x) in Y8 and exp(-x²/2) in Y13, as normCDFf (vec.go):
// a = |x|, t = 1/(1+phiP*a), q = exp(-a²/2)*t*P(t), Φ = q where x < 0, else 1-q. It
// clobbers Y1..Y7, Y9, Y12.
#define PHI2 \
	VBROADCASTSS gelu2Consts<>+0(SB), Y6; \
	VANDPS       Y0, Y6, Y6; \
	VMULPS       Y6, Y6, Y12; \
	VBROADCASTSS exp2Consts<>+48(SB), Y7; \
	VBROADCASTSS gelu2Consts<>+4(SB), Y8; \
	VFMADD231PS  Y8, Y6, Y7; \
	VBROADCASTSS exp2Consts<>+48(SB), Y8; \
	VDIVPS       Y7, Y8, Y6; \
	VBROADCASTSS gelu2Consts<>+48(SB), Y7; \
	VBROADCASTSS gelu2Consts<>+44(SB), Y8; \
	VFMADD213PS  Y8, Y6, Y7; \
	VBROADCASTSS gelu2Consts<>+40(SB), Y8; \
	VFMADD213PS  Y8, Y6, Y7; \
	VBROADCASTSS gelu2Consts<>+36(SB), Y8; \
	VFMADD213PS  Y8, Y6, Y7; \
	VBROADCASTSS gelu2Consts<>+32(SB), Y8; \
	VFMADD213PS  Y8, Y6, Y7; \
	VBROADCASTSS gelu2Consts<>+28(SB), Y8; \
	VFMADD213PS  Y8, Y6, Y7; \
	VBROADCASTSS gelu2Consts<>+24(SB), Y8; \
	VFMADD213PS  Y8, Y6, Y7; \
	VBROADCASTSS gelu2Consts<>+20(SB), Y8; \
	VFMADD213PS  Y8, Y6, Y7; \
	VBROADCASTSS gelu2Consts<>+16(SB), Y8; \
	VFMADD213PS  Y8, Y6, Y7; \
	VMULPS       Y6, Y7, Y7; \
	VBROADCASTSS gelu2Consts<>+8(SB), Y8; \
	VMULPS       Y8, Y12, Y12; \
	EXP2(Y12, Y13); \
	VMULPS       Y13, Y7, Y7; \
	VBROADCASTSS exp2Consts<>+48(SB), Y8; \
	VSUBPS       Y7, Y8, Y8; \
	VXORPS       Y9, Y9, Y9; \
	VCMPPS       $0x11, Y9, Y0, Y9; \
	VBLENDVPS    Y9, Y7, Y8, Y8

// func geluAVX2(y, x *float32, n int)
TEXT ·geluAVX2(SB), NOSPLIT, $0-24
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	EXPCLAMPS2
	TESTQ CX, CX
	JZ    ge2done

ge2loop:
	VMOVUPS (SI), Y0
	PHI2
	VMULPS  Y8, Y0, Y8
	VMOVUPS Y8, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	SUBQ    $8, CX
	JNZ     ge2loop

ge2done:
	VZEROUPPER
	RET

// func geluBackwardAVX2(dx, x, dy *float32, n int)
TEXT ·geluBackwardAVX2(SB), NOSPLIT, $0-32
	MOVQ dx+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ dy+16(FP), DX
	MOVQ n+24(FP), CX
	EXPCLAMPS2
	TESTQ CX, CX
	JZ    geb2done

geb2loop:
	VMOVUPS      (SI), Y0
	PHI2
	VBROADCASTSS gelu2Consts<>+12(SB), Y7
	VMULPS       Y7, Y13, Y13 // φ(x)
	VFMADD231PS  Y13, Y0, Y8  // Φ + x*φ
	VMULPS       (DX), Y8, Y8
	VMOVUPS      Y8, (DI)
	ADDQ         $32, SI
	ADDQ         $32, DX
	ADDQ         $32, DI
	SUBQ         $8, CX
	JNZ          geb2loop

geb2done:
	VZEROUPPER
	RET
