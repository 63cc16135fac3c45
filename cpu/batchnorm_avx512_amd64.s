//go:build !noasm

#include "textflag.h"

// Batch normalisation's per-channel passes on AVX-512 (see the Go loops in
// batchnorm.go for their definitions). Each takes n, a multiple of 16. The float64
// sums keep two accumulators of 8 partial sums each, eight float32 values widened at a
// time.

// HSUMZ0 adds the 8 float64 of Z0 into X0's low lane. Clobbers Z1.
#define HSUMZ0 \
	VEXTRACTF64X4 $1, Z0, Y1; \
	VADDPD        Y1, Y0, Y0; \
	VEXTRACTF128  $1, Y0, X1; \
	VADDPD        X1, X0, X0; \
	VUNPCKHPD     X0, X0, X1; \
	VADDSD        X1, X0, X0

// func sumF64AVX512(x *float32, n int) float64
TEXT ·sumF64AVX512(SB), NOSPLIT, $0-24
	MOVQ   x+0(FP), SI
	MOVQ   n+8(FP), CX
	VXORPD Z0, Z0, Z0
	VXORPD Z2, Z2, Z2
	TESTQ  CX, CX
	JZ     sumdone

sumloop:
	VCVTPS2PD (SI), Z4
	VCVTPS2PD 32(SI), Z5
	VADDPD    Z4, Z0, Z0
	VADDPD    Z5, Z2, Z2
	ADDQ      $64, SI
	SUBQ      $16, CX
	JNZ       sumloop

sumdone:
	VADDPD Z2, Z0, Z0
	HSUMZ0
	MOVSD  X0, ret+16(FP)
	VZEROUPPER
	RET

// func sumSqDevF64AVX512(x *float32, n int, mean float64) float64
TEXT ·sumSqDevF64AVX512(SB), NOSPLIT, $0-32
	MOVQ   x+0(FP), SI
	MOVQ   n+8(FP), CX
	VBROADCASTSD mean+16(FP), Z6
	VXORPD Z0, Z0, Z0
	VXORPD Z2, Z2, Z2
	TESTQ  CX, CX
	JZ     ssddone

ssdloop:
	VCVTPS2PD   (SI), Z4
	VCVTPS2PD   32(SI), Z5
	VSUBPD      Z6, Z4, Z4
	VSUBPD      Z6, Z5, Z5
	VFMADD231PD Z4, Z4, Z0
	VFMADD231PD Z5, Z5, Z2
	ADDQ        $64, SI
	SUBQ        $16, CX
	JNZ         ssdloop

ssddone:
	VADDPD Z2, Z0, Z0
	HSUMZ0
	MOVSD  X0, ret+24(FP)
	VZEROUPPER
	RET

// func sumDotF64AVX512(d, x *float32, n int) (sum, dot float64)
TEXT ·sumDotF64AVX512(SB), NOSPLIT, $0-40
	MOVQ   d+0(FP), SI
	MOVQ   x+8(FP), DI
	MOVQ   n+16(FP), CX
	VXORPD Z0, Z0, Z0 // sum
	VXORPD Z2, Z2, Z2
	VXORPD Z3, Z3, Z3 // dot
	VXORPD Z7, Z7, Z7
	TESTQ  CX, CX
	JZ     sddone

sdloop:
	VCVTPS2PD   (SI), Z4
	VCVTPS2PD   32(SI), Z5
	VCVTPS2PD   (DI), Z8
	VCVTPS2PD   32(DI), Z9
	VADDPD      Z4, Z0, Z0
	VADDPD      Z5, Z2, Z2
	VFMADD231PD Z8, Z4, Z3
	VFMADD231PD Z9, Z5, Z7
	ADDQ        $64, SI
	ADDQ        $64, DI
	SUBQ        $16, CX
	JNZ         sdloop

sddone:
	VADDPD Z2, Z0, Z0
	HSUMZ0
	MOVSD  X0, sum+24(FP)
	VADDPD Z7, Z3, Z0
	HSUMZ0
	MOVSD  X0, dot+32(FP)
	VZEROUPPER
	RET

// func normAVX512(y, x *float32, n int, mu, s, b float32)
//
// y = (x - mu)*s + b.
TEXT ·normAVX512(SB), NOSPLIT, $0-36
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS mu+24(FP), Z20
	VBROADCASTSS s+28(FP), Z21
	VBROADCASTSS b+32(FP), Z22
	TESTQ CX, CX
	JZ    normdone

normloop:
	VMOVUPS      (SI), Z0
	VSUBPS       Z20, Z0, Z0   // x - mu
	VFMADD213PS  Z22, Z21, Z0  // (x-mu)*s + b
	VMOVUPS      Z0, (DI)
	ADDQ         $64, SI
	ADDQ         $64, DI
	SUBQ         $16, CX
	JNZ          normloop

normdone:
	VZEROUPPER
	RET

// func normBackwardAVX512(dx, dy, x *float32, n int, a, mu, k1, k0 float32)
//
// dx = a*dy + (k1*(x - mu) + k0).
TEXT ·normBackwardAVX512(SB), NOSPLIT, $0-48
	MOVQ dx+0(FP), DI
	MOVQ dy+8(FP), SI
	MOVQ x+16(FP), R8
	MOVQ n+24(FP), CX
	VBROADCASTSS a+32(FP), Z20
	VBROADCASTSS mu+36(FP), Z21
	VBROADCASTSS k1+40(FP), Z22
	VBROADCASTSS k0+44(FP), Z23
	TESTQ CX, CX
	JZ    nbdone

nbloop:
	VMOVUPS     (R8), Z0
	VSUBPS      Z21, Z0, Z0   // x - mu
	VFMADD213PS Z23, Z22, Z0  // k1*(x-mu) + k0
	VFMADD231PS (SI), Z20, Z0 // + a*dy
	VMOVUPS     Z0, (DI)
	ADDQ        $64, SI
	ADDQ        $64, DI
	ADDQ        $64, R8
	SUBQ        $16, CX
	JNZ         nbloop

nbdone:
	VZEROUPPER
	RET
