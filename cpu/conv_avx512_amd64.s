//go:build !noasm

#include "textflag.h"

// im2col and col2im for StrideW = 1 on AVX-512 (see im2colGo and col2imGo in conv.go
// for the definitions). For each tap (c, kh, kw) and each chunk of 16 output columns,
// the lanes whose input column lies in the image are a mask computed once; the loop
// over output rows then moves one masked vector per row (a row outside the image gets
// zeros). The geometry comes in an unfoldArgs (conv_amd64.go), field offsets below.

#define UA_C    0
#define UA_H    8
#define UA_W    16
#define UA_KH   24
#define UA_KW   32
#define UA_PH   40
#define UA_PW   48
#define UA_OH   56
#define UA_OW   64
#define UA_SH   72
#define UA_SHW4 80 // StrideH*W*4: input bytes between output rows
#define UA_HW4  88 // H*W*4: bytes between input planes
#define UA_LD4  96 // ld*4: bytes between col rows
#define UA_LO   104 // im2col: whole vectors (64 bytes) may be read at addresses in [LO, HI]
#define UA_HI   112
#define UA_ACC     120 // col2im: the accumulator plane (64-byte aligned)
#define UA_NQ      128 // its chunks of 16 floats per row
#define UA_ACCROW  136 // its row in bytes: NQ*64
#define UA_ACCSTEP 144 // StrideH rows of it in bytes

// CLAMP16 clamps AX to [0, 16]. Clobbers CX.
#define CLAMP16 \
	XORQ    CX, CX; \
	TESTQ   AX, AX; \
	CMOVQLT CX, AX; \
	MOVQ    $16, CX; \
	CMPQ    AX, CX; \
	CMOVQGT CX, AX

// UNFOLDMASKS sets, for the chunk at output column R12 of tap column R11 (kw), K2 to
// the chunk's output lanes (up to OW) and K1 to those of them whose input column
// j-PW+kw is in the image: lanes [PW-kw, W+PW-kw) of the chunk. Clobbers AX, BX, CX, DX.
#define UNFOLDMASKS \
	MOVL  $-1, DX; \
	MOVQ  UA_OW(DI), AX; \
	SUBQ  R12, AX; \
	CLAMP16; \
	BZHIL AX, DX, BX; \
	KMOVW BX, K2; \
	MOVQ  UA_W(DI), AX; \
	ADDQ  UA_PW(DI), AX; \
	SUBQ  R11, AX; \
	SUBQ  R12, AX; \
	CLAMP16; \
	BZHIL AX, DX, BX; \
	MOVQ  UA_PW(DI), AX; \
	SUBQ  R11, AX; \
	SUBQ  R12, AX; \
	CLAMP16; \
	BZHIL AX, DX, AX; \
	ANDNL BX, AX, BX; \
	KMOVW BX, K1; \
	KANDW K2, K1, K1

// func im2colS1AVX512(x, col *float32, a *unfoldArgs)
//
// col row (c, kh, kw) (a.ld apart) gets, at output (i, j), x[c, i*StrideH-PH+kh, j-PW+kw]
// or 0 outside the image.
TEXT ·im2colS1AVX512(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ col+8(FP), R8
	MOVQ a+16(FP), DI
	VPXORD Z31, Z31, Z31
	MOVQ UA_C(DI), R9 // channels left

uchan:
	XORQ R10, R10 // kh

ukh:
	XORQ R11, R11 // kw

ukw:
	XORQ R12, R12 // chunk's first output column

uchunk:
	UNFOLDMASKS
	// src = x plane + ((kh-PH)*W + j0 + kw - PW)*4, dst = col row + j0*4, ih = kh-PH
	MOVQ R10, R15
	SUBQ UA_PH(DI), R15
	MOVQ R15, AX
	IMULQ UA_W(DI), AX
	ADDQ R12, AX
	ADDQ R11, AX
	SUBQ UA_PW(DI), AX
	LEAQ (SI)(AX*4), R13
	LEAQ (R8)(R12*4), R14
	MOVQ UA_OH(DI), CX

urow:
	CMPQ R15, UA_H(DI)
	JAE  uzero
	// A masked load is much slower than a whole one (measured: 9.6 against 5 µs for
	// the cnn preset's second layer); load the whole vector, then mask it, unless
	// the vector would reach outside the slice.
	CMPQ R13, UA_LO(DI)
	JB   umasked
	CMPQ R13, UA_HI(DI)
	JA   umasked
	VMOVUPS   (R13), Z0
	VMOVAPS.Z Z0, K1, Z0
	VMOVUPS   Z0, K2, (R14)
	JMP  unext

umasked:
	VMOVUPS.Z (R13), K1, Z0
	VMOVUPS   Z0, K2, (R14)
	JMP  unext

uzero:
	VMOVUPS Z31, K2, (R14)

unext:
	ADDQ UA_SHW4(DI), R13
	MOVQ UA_OW(DI), AX
	LEAQ (R14)(AX*4), R14
	ADDQ UA_SH(DI), R15
	DECQ CX
	JNZ  urow
	ADDQ $16, R12
	CMPQ R12, UA_OW(DI)
	JLT  uchunk
	ADDQ UA_LD4(DI), R8
	INCQ R11
	CMPQ R11, UA_KW(DI)
	JLT  ukw
	INCQ R10
	CMPQ R10, UA_KH(DI)
	JLT  ukh
	ADDQ UA_HW4(DI), SI
	DECQ R9
	JNZ  uchan
	VZEROUPPER
	RET

// func col2imS1AVX512(col, dx *float32, a *unfoldArgs, masks *uint16)
//
// The adjoint, one input plane (channel) at a time: each output row i of tap row kh
// adds its KW col rows (kw = 0, 1, ...; each shifted one column further) into input row
// ih = i*StrideH-PH+kh, 16 columns at a time, in an accumulator plane (a.acc: rows of
// a.nq chunks of 16 floats, 64-byte aligned); the plane is then copied into dx. Adding
// into dx itself ran four times slower: its rows are not aligned to vectors, and a
// load that meets a recent store straddling it (the previous tap row wrote the same
// pixels) waits for that store to reach the cache. masks holds, per chunk, the chunk's
// dx lanes (x < W), then for each kw the lanes x whose col column x+PW-kw lies in
// [0, OW). Two chains of adds (even and odd kw) halve the adds' latency. Rows of one
// chunk with KW <= 6 (the cnn preset's) take an unrolled path with the masks in K1..K6.
TEXT ·col2imS1AVX512(SB), NOSPLIT, $0-32
	MOVQ col+0(FP), R8
	MOVQ dx+8(FP), SI
	MOVQ a+16(FP), DI
	MOVQ UA_C(DI), R9 // channels left
	VPXORD Z31, Z31, Z31
	// The first chunk's tap masks, for the one-chunk path (the table has room for 6).
	MOVQ  masks+24(FP), BX
	KMOVW 2(BX), K1
	KMOVW 4(BX), K2
	KMOVW 6(BX), K3
	KMOVW 8(BX), K4
	KMOVW 10(BX), K5
	KMOVW 12(BX), K6

fchan:
	// Clear the accumulator plane.
	MOVQ UA_ACC(DI), AX
	MOVQ UA_H(DI), CX
	IMULQ UA_NQ(DI), CX

fclear:
	VMOVAPS Z31, (AX)
	ADDQ    $64, AX
	DECQ    CX
	JNZ     fclear
	XORQ R10, R10 // kh

fkh:
	MOVQ R10, R15
	SUBQ UA_PH(DI), R15 // ih of output row 0
	MOVQ R15, AX
	IMULQ UA_ACCROW(DI), AX
	MOVQ UA_ACC(DI), R13
	ADDQ AX, R13 // its accumulator row (outside the plane while ih < 0: not used)
	MOVQ UA_PW(DI), AX
	LEAQ (R8)(AX*4), DX // col row (c, kh, 0) at column PW
	XORQ R11, R11 // i

frow:
	CMPQ R15, UA_H(DI)
	JAE  fnext
	CMPQ UA_NQ(DI), $1
	JNE  fgeneral
	// One chunk per row and KW <= 6 (the masks of the taps are in K1..K6): the taps
	// unrolled, the next tap's col row R12 = LD4-4 bytes on.
	MOVQ    UA_KW(DI), CX
	CMPQ    CX, $6
	JGT     fgeneral
	MOVQ    UA_LD4(DI), R12
	SUBQ    $4, R12
	VMOVAPS (R13), Z0
	VPXORD  Z1, Z1, Z1
	MOVQ    DX, R14
	VADDPS (R14), Z0, K1, Z0
	ADDQ   R12, R14
	CMPQ CX, $1
	JLE  fsdone
	VADDPS (R14), Z1, K2, Z1
	ADDQ   R12, R14
	CMPQ CX, $2
	JLE  fsdone
	VADDPS (R14), Z0, K3, Z0
	ADDQ   R12, R14
	CMPQ CX, $3
	JLE  fsdone
	VADDPS (R14), Z1, K4, Z1
	ADDQ   R12, R14
	CMPQ CX, $4
	JLE  fsdone
	VADDPS (R14), Z0, K5, Z0
	ADDQ   R12, R14
	CMPQ CX, $5
	JLE  fsdone
	VADDPS (R14), Z1, K6, Z1
	ADDQ   R12, R14

fsdone:
	VADDPS  Z1, Z0, Z0
	VMOVAPS Z0, (R13)
	JMP     fnext

fgeneral:
	MOVQ masks+24(FP), BX
	XORQ R12, R12 // chunk offset in bytes

fchunk:
	ADDQ    $2, BX // skip the dx lanes
	VMOVAPS (R13)(R12*1), Z0
	VPXORD  Z1, Z1, Z1
	LEAQ    (DX)(R12*1), R14
	MOVQ    UA_KW(DI), CX

ftappair:
	CMPQ   CX, $2
	JLT    ftaplast
	KMOVW  (BX), K1
	VADDPS (R14), Z0, K1, Z0
	ADDQ   UA_LD4(DI), R14
	KMOVW  2(BX), K1
	VADDPS -4(R14), Z1, K1, Z1
	ADDQ   UA_LD4(DI), R14
	SUBQ   $8, R14 // the next tap columns: the next col rows, one column to the left each
	ADDQ   $4, BX
	SUBQ   $2, CX
	JMP    ftappair

ftaplast:
	TESTQ  CX, CX
	JZ     ftapsum
	KMOVW  (BX), K1
	VADDPS (R14), Z0, K1, Z0
	ADDQ   $2, BX

ftapsum:
	VADDPS  Z1, Z0, Z0
	VMOVAPS Z0, (R13)(R12*1)
	ADDQ    $64, R12
	CMPQ    R12, UA_ACCROW(DI)
	JLT     fchunk

fnext:
	ADDQ UA_SH(DI), R15
	ADDQ UA_ACCSTEP(DI), R13 // StrideH accumulator rows
	MOVQ UA_OW(DI), AX
	LEAQ (DX)(AX*4), DX
	INCQ R11
	CMPQ R11, UA_OH(DI)
	JLT  frow
	// The next kh's col rows follow this kh's KW rows.
	MOVQ UA_KW(DI), AX
	IMULQ UA_LD4(DI), AX
	ADDQ AX, R8
	INCQ R10
	CMPQ R10, UA_KH(DI)
	JLT  fkh

	// Copy the plane into dx, row by row, each chunk under its dx lanes.
	MOVQ UA_ACC(DI), R13
	MOVQ UA_H(DI), R11

fcopyrow:
	MOVQ masks+24(FP), BX
	XORQ R12, R12 // chunk offset in bytes
	MOVQ SI, R14

fcopychunk:
	KMOVW   (BX), K7 // not K1..K6: the one-chunk path keeps its masks there
	VMOVAPS (R13)(R12*1), Z0
	VMOVUPS Z0, K7, (R14)
	ADDQ    $64, R14
	MOVQ    UA_KW(DI), AX
	LEAQ    2(BX)(AX*2), BX // the next chunk's masks
	ADDQ    $64, R12
	CMPQ    R12, UA_ACCROW(DI)
	JLT     fcopychunk
	ADDQ UA_ACCROW(DI), R13
	MOVQ UA_W(DI), AX
	LEAQ (SI)(AX*4), SI
	DECQ R11
	JNZ  fcopyrow
	DECQ R9
	JNZ  fchan
	VZEROUPPER
	RET
