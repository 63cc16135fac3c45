//go:build !noasm

#include "textflag.h"

// func f32ToF16F16C(dst *uint16, src *float32, n int)
//
// dst[i] = src[i] rounded to binary16 with VCVTPS2PH, rounding control 0 (to nearest,
// ties to even, whatever MXCSR says): device.FP16Bits's results, NaN payloads included.
// n is a multiple of 8.
TEXT ·f32ToF16F16C(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX

loop:
	CMPQ CX, $0
	JLE  done
	VMOVUPS   (SI), Y0
	VCVTPS2PH $0, Y0, X1
	VMOVDQU   X1, (DI)
	ADDQ      $32, SI
	ADDQ      $16, DI
	SUBQ      $8, CX
	JMP       loop

done:
	VZEROUPPER
	RET

// func f32ToBF16AVX512(dst *uint16, src *float32, n int)
//
// dst[i] = device.BF16Bits(src[i]), 16 at a time: b + 0x7fff + ((b>>16)&1), its upper
// half (round to nearest, ties to even, in integer arithmetic, subnormals kept), and
// for NaN (|b| > 0x7f800000) the upper half with the quiet bit set. n is a multiple of
// 16.
TEXT ·f32ToBF16AVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVL $0x7fff, AX
	VPBROADCASTD AX, Z10
	MOVL $1, AX
	VPBROADCASTD AX, Z11
	MOVL $0x7fffffff, AX
	VPBROADCASTD AX, Z12
	MOVL $0x7f800000, AX
	VPBROADCASTD AX, Z13
	MOVL $0x40, AX
	VPBROADCASTD AX, Z14

bloop:
	CMPQ CX, $0
	JLE  bdone
	VMOVDQU32 (SI), Z0
	VPSRLD    $16, Z0, Z1     // b>>16
	VPANDD    Z11, Z1, Z2     // the kept mantissa's odd bit
	VPADDD    Z10, Z0, Z3     // b + 0x7fff
	VPADDD    Z2, Z3, Z3      // + odd
	VPSRLD    $16, Z3, Z3     // rounded
	VPANDD    Z12, Z0, Z4     // |b|
	VPCMPUD   $6, Z13, Z4, K1 // NaN lanes: |b| > 0x7f800000
	VPORD     Z14, Z1, Z5     // (b>>16) | 0x40
	VMOVDQA32 Z5, K1, Z3
	VPMOVDW   Z3, (DI)
	ADDQ      $64, SI
	ADDQ      $32, DI
	SUBQ      $16, CX
	JMP       bloop

bdone:
	VZEROUPPER
	RET
