//go:build !noasm

#include "textflag.h"

// func sgemmKernelAVX2(kc int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32, mr int, mask *int32)
//
// Registers: CX steps of k left, SI A micro-panel (R8 = lda in bytes), DI B micro-panel
// (R9 = ldb in bytes), DX C row (R10 = ldc in bytes), R11 rows to store. Y0..Y11 hold
// the 6×16 tile (row r in Y(2r), Y(2r+1)), Y12/Y13 the 16 values of B at step k, Y14/Y15
// broadcasts of A.

#define FMAROW(off, t, r0, r1) \
	VBROADCASTSS off(SI), t; \
	VFMADD231PS Y12, t, r0; \
	VFMADD231PS Y13, t, r1

#define STEP \
	VMOVUPS (DI), Y12; \
	VMOVUPS 32(DI), Y13; \
	FMAROW(0, Y14, Y0, Y1); \
	FMAROW(4, Y15, Y2, Y3); \
	FMAROW(8, Y14, Y4, Y5); \
	FMAROW(12, Y15, Y6, Y7); \
	FMAROW(16, Y14, Y8, Y9); \
	FMAROW(20, Y15, Y10, Y11); \
	ADDQ R8, SI; \
	ADDQ R9, DI

// Y12/Y13 hold the lane masks, Y15 beta; the accumulators are already scaled by alpha,
// so Y14 is free to hold C.
#define STORE0(r0, r1) \
	VMASKMOVPS r0, Y12, (DX); \
	VMASKMOVPS r1, Y13, 32(DX)

#define STORE(r0, r1) \
	VMASKMOVPS (DX), Y12, Y14; \
	VFMADD231PS Y15, Y14, r0; \
	VMASKMOVPS 32(DX), Y13, Y14; \
	VFMADD231PS Y15, Y14, r1; \
	VMASKMOVPS r0, Y12, (DX); \
	VMASKMOVPS r1, Y13, 32(DX)

// PREFC prefetches one row of the C tile (64 bytes, one or two cache lines).
#define PREFC \
	PREFETCHT0 (BX); \
	PREFETCHT0 63(BX); \
	ADDQ       R10, BX

#define NEXT \
	DECQ R11; \
	JZ   done; \
	ADDQ R10, DX

TEXT ·sgemmKernelAVX2(SB), NOSPLIT, $0-80
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), R8
	SHLQ $2, R8
	MOVQ b+24(FP), DI
	MOVQ ldb+32(FP), R9
	SHLQ $2, R9
	MOVQ c+40(FP), DX
	MOVQ ldc+48(FP), R10
	SHLQ $2, R10
	MOVQ mr+64(FP), R11

	// Start fetching the C tile now, so that it is in L1 when the k loop ends.
	MOVQ DX, BX
	PREFC
	PREFC
	PREFC
	PREFC
	PREFC
	PREFC

	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

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
	VBROADCASTSS alpha+56(FP), Y14
	VMULPS  Y14, Y0, Y0
	VMULPS  Y14, Y1, Y1
	VMULPS  Y14, Y2, Y2
	VMULPS  Y14, Y3, Y3
	VMULPS  Y14, Y4, Y4
	VMULPS  Y14, Y5, Y5
	VMULPS  Y14, Y6, Y6
	VMULPS  Y14, Y7, Y7
	VMULPS  Y14, Y8, Y8
	VMULPS  Y14, Y9, Y9
	VMULPS  Y14, Y10, Y10
	VMULPS  Y14, Y11, Y11
	MOVQ    mask+72(FP), AX
	VMOVDQU (AX), Y12
	VMOVDQU 32(AX), Y13
	VBROADCASTSS beta+60(FP), Y15
	MOVL    beta+60(FP), AX
	SHLL    $1, AX // drop the sign: +0 and -0 both mean "do not read C"
	JZ      beta0

	STORE(Y0, Y1)
	NEXT
	STORE(Y2, Y3)
	NEXT
	STORE(Y4, Y5)
	NEXT
	STORE(Y6, Y7)
	NEXT
	STORE(Y8, Y9)
	NEXT
	STORE(Y10, Y11)
	JMP done

beta0:
	STORE0(Y0, Y1)
	NEXT
	STORE0(Y2, Y3)
	NEXT
	STORE0(Y4, Y5)
	NEXT
	STORE0(Y6, Y7)
	NEXT
	STORE0(Y8, Y9)
	NEXT
	STORE0(Y10, Y11)

done:
	VZEROUPPER
	RET
