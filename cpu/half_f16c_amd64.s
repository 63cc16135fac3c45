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
