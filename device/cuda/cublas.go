//go:build cuda

package cuda

// cuBLAS: the handle and its workspace. The calls themselves are blas.h's (blas.go),
// shared with the emulator; gorgonia.org/cu/blas binds neither cublasSetStream (every
// GEMM must run on the backend's stream, or it could not be ordered with our kernels
// nor captured into a graph), nor the strided batched GEMM, nor cublasGemmEx.

/*
#cgo LDFLAGS: -lcublas
#include <cuda.h>
#include <cublas_v2.h>
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
	stream := *(*unsafe.Pointer)(unsafe.Pointer(&b.stream))
	var st int
	if h.h, st = blasCreate(stream, uintptr(ws), blasWorkspace); st != 0 {
		h.close()
		return nil, fmt.Errorf("cuda: cuBLAS setup (cublasCreate/SetMathMode/SetStream/SetWorkspace): status %d%s", st, blasHint(st))
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
	case 15:
		return " (CUBLAS_STATUS_NOT_SUPPORTED: this GPU or cuBLAS lacks the precision's GEMM)"
	}
	return ""
}

func (h *blasHandle) close() {
	if h.h != nil {
		blasDestroy(h.h)
		h.h = nil
	}
	if h.ws != 0 {
		_ = cu.MemFree(h.ws) // closing: nothing to do about a failure
		h.ws = 0
	}
}

func (h *blasHandle) run(g *gemmCall) error {
	if st := blasGemm(h.h, g); st != 0 {
		fn := "cublasSgemm"
		if g.prec != 0 {
			fn = "cublasGemmEx (" + g.prec.String() + ")"
		}
		return fmt.Errorf("cuda: %s (m=%d n=%d k=%d batch=%d): status %d%s", fn, g.m, g.n, g.k, g.batch, st, blasHint(st))
	}
	return nil
}
