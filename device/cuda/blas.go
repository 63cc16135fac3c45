//go:build cuda || cudaemu

package cuda

// The cuBLAS calls, through blas.h, in both builds: with -tags cuda they reach NVIDIA's
// libcublas; with -tags cudaemu the stand-in of emu.cc, which computes cuBLAS's
// definition on the host and records the call. Either way the Go side below, and
// blas.h's mapping onto cuBLAS's arguments, are the same code.

/*
#cgo cudaemu CFLAGS: -DGPUTRAIN_CUDA_EMU
#ifdef GPUTRAIN_CUDA_EMU
#include "emu_cublas.h"
#else
#include <cuda.h>
#include <cublas_v2.h>
#endif
#include "blas.h"
*/
import "C"

import (
	"unsafe"

	"github.com/gputrain/gputrain/device"
)

// gemmCall is one cuBLAS GEMM in cuBLAS's (column-major) terms, see matmul.go: cuBLAS's
// first operand is our B (its m is our N), its second our A. It is comparable, so the
// graph recorder can tell whether a replayed step makes the same call. prec selects
// cublasSgemm (FP32) or cublasGemmEx with the precision's data and compute types
// (blas.h); in BF16 and FP16, a and b point at 16-bit data.
type gemmCall struct {
	transB, transA            bool
	n, m, k                   int
	alpha, beta               float32
	b, a, c                   uintptr
	ldb, lda, ldc             int
	batch                     int
	strideB, strideA, strideC int64
	prec                      device.Precision
}

// cCall is g as blas.h's gt_gemm_call.
func (g *gemmCall) cCall() C.gt_gemm_call {
	return C.gt_gemm_call{
		transX: cbool(g.transB), transY: cbool(g.transA), m: C.int(g.n), n: C.int(g.m), k: C.int(g.k),
		alpha: C.float(g.alpha), beta: C.float(g.beta),
		x: C.ulonglong(g.b), y: C.ulonglong(g.a), c: C.ulonglong(g.c),
		ldx: C.int(g.ldb), ldy: C.int(g.lda), ldc: C.int(g.ldc),
		batch: C.int(g.batch), strideX: C.longlong(g.strideB), strideY: C.longlong(g.strideA), strideC: C.longlong(g.strideC),
		prec: C.int(g.prec),
	}
}

// blasGemm runs g on handle h; it returns cuBLAS's status.
func blasGemm(h C.cublasHandle_t, g *gemmCall) int {
	c := g.cCall()
	return int(C.gt_gemm(h, &c))
}

// blasCreate makes a handle bound to stream, with the workspace ws of wsBytes (blas.h's
// gt_blas_create); it returns the handle (nil on failure) and cuBLAS's status.
func blasCreate(stream unsafe.Pointer, ws uintptr, wsBytes int) (C.cublasHandle_t, int) {
	var h C.cublasHandle_t
	st := int(C.gt_blas_create(&h, C.cudaStream_t(stream), C.ulonglong(ws), C.size_t(wsBytes)))
	if st != 0 && h != nil {
		C.cublasDestroy(h)
		h = nil
	}
	return h, st
}

func blasDestroy(h C.cublasHandle_t) { C.cublasDestroy(h) }

func cbool(v bool) C.int {
	if v {
		return 1
	}
	return 0
}
