//go:build cuda

package cuda

// cuBLAS through a few direct cgo calls: gorgonia.org/cu/blas binds neither
// cublasSetStream (every GEMM must run on the backend's stream, or it could not be
// ordered with our kernels nor captured into a graph) nor cublasSgemmStridedBatched.
// matmul.go maps our row-major Gemm onto the column-major call.

/*
#cgo LDFLAGS: -lcublas
#include <cuda.h>
#include <cublas_v2.h>

static int gt_sgemm(cublasHandle_t h, int transB, int transA, int n, int m, int k, float alpha,
		CUdeviceptr b, int ldb, CUdeviceptr a, int lda, float beta, CUdeviceptr c, int ldc,
		int batch, long long strideB, long long strideA, long long strideC) {
	cublasOperation_t ob = transB ? CUBLAS_OP_T : CUBLAS_OP_N;
	cublasOperation_t oa = transA ? CUBLAS_OP_T : CUBLAS_OP_N;
	if (batch <= 1)
		return cublasSgemm(h, ob, oa, n, m, k, &alpha, (const float *)b, ldb, (const float *)a, lda,
			&beta, (float *)c, ldc);
	return cublasSgemmStridedBatched(h, ob, oa, n, m, k, &alpha, (const float *)b, ldb, strideB,
		(const float *)a, lda, strideA, &beta, (float *)c, ldc, strideC, batch);
}

static int gt_blas_create(cublasHandle_t *h, CUstream s, CUdeviceptr ws, size_t wsBytes) {
	int st = cublasCreate(h);
	if (st) return st;
	// plain FP32 arithmetic (no TF32), as the CPU computes
	if ((st = cublasSetMathMode(*h, CUBLAS_DEFAULT_MATH))) return st;
	if ((st = cublasSetStream(*h, (cudaStream_t)s))) return st;
	// a workspace of our own: cuBLAS then allocates nothing while a graph is captured
	return cublasSetWorkspace(*h, (void *)ws, wsBytes);
}

static void gt_blas_destroy(cublasHandle_t h) { cublasDestroy(h); }
*/
import "C"

import (
	"fmt"
	"unsafe"

	"gorgonia.org/cu"
)

// blasWorkspace is cuBLAS's scratch memory (NVIDIA suggests 32 MiB on Hopper).
const blasWorkspace = 32 << 20

type blasHandle struct {
	h  C.cublasHandle_t
	ws cu.DevicePtr
}

func newBLAS(b *Backend) (*blasHandle, error) {
	ws, err := cu.MemAlloc(blasWorkspace)
	if err != nil {
		return nil, fmt.Errorf("cuda: cuBLAS workspace (cuMemAlloc %d bytes): %w", blasWorkspace, err)
	}
	h := &blasHandle{ws: ws}
	stream := *(*C.CUstream)(unsafe.Pointer(&b.stream))
	if st := C.gt_blas_create(&h.h, stream, C.CUdeviceptr(ws), blasWorkspace); st != 0 {
		h.close()
		return nil, fmt.Errorf("cuda: cuBLAS setup (cublasCreate/SetStream/SetWorkspace): status %d%s", int(st), blasHint(int(st)))
	}
	return h, nil
}

func blasHint(st int) string {
	switch st {
	case 1:
		return " (CUBLAS_STATUS_NOT_INITIALIZED: libcublas could not start, check the CUDA runtime libraries)"
	case 3:
		return " (CUBLAS_STATUS_ALLOC_FAILED)"
	case 7:
		return " (CUBLAS_STATUS_INVALID_VALUE)"
	case 13:
		return " (CUBLAS_STATUS_EXECUTION_FAILED)"
	}
	return ""
}

func (h *blasHandle) close() {
	if h.h != nil {
		C.gt_blas_destroy(h.h)
		h.h = nil
	}
	if h.ws != 0 {
		_ = cu.MemFree(h.ws) // closing: nothing to do about a failure
		h.ws = 0
	}
}

func (h *blasHandle) run(g *gemmCall) error {
	st := C.gt_sgemm(h.h, cbool(g.transB), cbool(g.transA), C.int(g.n), C.int(g.m), C.int(g.k),
		C.float(g.alpha), C.CUdeviceptr(g.b), C.int(g.ldb), C.CUdeviceptr(g.a), C.int(g.lda),
		C.float(g.beta), C.CUdeviceptr(g.c), C.int(g.ldc),
		C.int(g.batch), C.longlong(g.strideB), C.longlong(g.strideA), C.longlong(g.strideC))
	if st != 0 {
		return fmt.Errorf("cuda: cublasSgemm (m=%d n=%d k=%d batch=%d): status %d%s", g.m, g.n, g.k, g.batch, int(st), blasHint(int(st)))
	}
	return nil
}

func cbool(v bool) C.int {
	if v {
		return 1
	}
	return 0
}
