//go:build cudaemu && !cuda

package cuda

// The CPU emulator build (go test -tags cudaemu ./device/cuda): the CUDA backend's op
// code (activation.go, binary.go, …, matmul.go's row-major to column-major mapping) runs
// unchanged, but its launches go to emu.cc, which runs the kernels of kernels/*.cu
// compiled as C++ on host threads, and its GEMMs through blas.h's calls (the CUDA
// build's own code) to emu.cc's stand-in cuBLAS, which computes cuBLAS's definition
// (column-major; cublasSgemm, cublasGemmEx and their strided batched forms, with their
// data and compute types) and records every call (BLASCalls). It lets the conformance
// suite check the kernels' logic, the parameter passing and the mapping onto cuBLAS's
// arguments on a machine without a GPU. Memory is host memory; Step runs fn.

/*
#cgo CXXFLAGS: -std=c++17 -O1 -Wall -Wno-unused-function
#cgo LDFLAGS: -lpthread
#include <stdint.h>
#include <stdlib.h>
#include "emu_cublas.h"
int emu_launch(const char* name, int grid, int block, const uint64_t* args, int nargs, char* err, int errlen);
void emu_copy(uint64_t dst, uint64_t src, long long bytes);
void emu_to_host(void* dst, uint64_t src, long long bytes);
void emu_from_host(uint64_t dst, const void* src, long long bytes);
*/
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/gputrain/gputrain/device"
)

// Options configure New (the emulator ignores them).
type Options struct {
	Device   int
	Wrap     bool
	NoGraphs bool
}

// Backend is the emulated CUDA backend.
type Backend struct {
	closed  bool
	maxGrid int
	blocks  map[*block]unsafe.Pointer
	conv    convWork // conv.go
	prec    precWork // matmul.go
	blas    C.cublasHandle_t
}

var _ device.Backend = (*Backend)(nil)

// New returns an emulated backend. Grids are capped at 2 blocks per "SM" of a 1-SM
// device, so that grid-stride loops and multi-block reductions are exercised on small
// inputs.
func New(Options) (*Backend, error) {
	b := &Backend{maxGrid: 2, blocks: map[*block]unsafe.Pointer{}}
	// the stand-in records the set-up as cuBLAS would see it: no stream, no workspace
	var st int
	if b.blas, st = blasCreate(nil, 0, 0); st != 0 {
		return nil, fmt.Errorf("cuda emulator: cuBLAS stand-in set-up: status %d", st)
	}
	return b, nil
}

func (b *Backend) Name() string     { return "cuda" }
func (b *Backend) Describe() string { return "cuda: CPU emulator (kernels/*.cu as C++), not a GPU" }
func (b *Backend) bind() func()     { return func() {} }

func (b *Backend) Close() error {
	b.closed = true
	if b.blas != nil {
		blasDestroy(b.blas)
		b.blas = nil
	}
	for blk, p := range b.blocks {
		C.free(p)
		delete(b.blocks, blk)
	}
	return nil
}

// AvailableMemory implements device.MemoryInfo: the emulator cannot tell (its memory is
// the host's).
func (b *Backend) AvailableMemory() (int64, error) {
	if b.closed {
		return 0, device.ErrClosed
	}
	return 0, fmt.Errorf("cuda emulator: the free memory is unknown")
}

func (b *Backend) Alloc(dt device.DType, n int) (device.Buffer, error) {
	if b.closed {
		return nil, device.ErrClosed
	}
	if n < 0 {
		return nil, fmt.Errorf("cuda: alloc: negative length %d", n)
	}
	if dt > device.LastDType {
		return nil, fmt.Errorf("cuda: alloc: unknown dtype %d", dt)
	}
	x := &buffer{n: n, dt: dt}
	if n == 0 {
		return x, nil
	}
	p := C.calloc(C.size_t(n), C.size_t(dt.Size()))
	if p == nil {
		return nil, fmt.Errorf("cuda: alloc: out of host memory for %d %s", n, dt)
	}
	blk := &block{ptr: uintptr(p), size: int64(n * dt.Size())}
	b.blocks[blk] = p
	x.ptr, x.blk = blk.ptr, blk
	return x, nil
}

func (b *Backend) Free(x device.Buffer) {
	bx, ok := x.(*buffer)
	if !ok || bx.view || bx.blk == nil || bx.blk.freed {
		return
	}
	bx.blk.freed = true
	C.free(b.blocks[bx.blk])
	delete(b.blocks, bx.blk)
}

func (b *Backend) write(dst device.Buffer, dt device.DType, n int, src unsafe.Pointer) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckTransfer("write", dst, dt, n); err != nil {
		return err
	}
	bx, err := b.buf(dst)
	if err != nil {
		return err
	}
	if n > 0 {
		C.emu_from_host(C.uint64_t(bx.ptr), src, C.longlong(n*dt.Size()))
	}
	return nil
}

func (b *Backend) read(dst unsafe.Pointer, dt device.DType, n int, src device.Buffer) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckTransfer("read", src, dt, n); err != nil {
		return err
	}
	bx, err := b.buf(src)
	if err != nil {
		return err
	}
	if n > 0 {
		C.emu_to_host(dst, C.uint64_t(bx.ptr), C.longlong(n*dt.Size()))
	}
	return nil
}

func (b *Backend) Copy(dst, src device.Buffer) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckCopy(dst, src); err != nil {
		return err
	}
	if err := b.owns(dst, src); err != nil {
		return err
	}
	if dst.Len() == 0 {
		return nil
	}
	o := op{kind: opCopy, dst: uintptr(dp(dst)), src: uintptr(dp(src)), bytes: int64(dst.Len() * dst.DType().Size())}
	return b.submit(&o)
}

func (b *Backend) Sync() error {
	if b.closed {
		return device.ErrClosed
	}
	return nil
}

func (b *Backend) Step(key string, fn func() error) error {
	if b.closed {
		return device.ErrClosed
	}
	return fn()
}

// submit runs one op at once.
func (b *Backend) submit(o *op) error {
	if b.closed {
		return device.ErrClosed
	}
	switch o.kind {
	case opKernel:
		name := C.CString(kernelTable[o.fn].symbol)
		defer C.free(unsafe.Pointer(name))
		var msg [256]C.char
		if C.emu_launch(name, C.int(o.grid), C.int(o.block), (*C.uint64_t)(unsafe.Pointer(&o.args[0])), C.int(o.nargs), &msg[0], C.int(len(msg))) != 0 {
			return fmt.Errorf("cuda emulator: %s", C.GoString(&msg[0]))
		}
	case opGemm:
		if st := blasGemm(b.blas, &o.gemm); st != 0 {
			return fmt.Errorf("cuda emulator: cuBLAS stand-in: status %d for %+v", st, o.gemm)
		}
	case opCopy:
		C.emu_copy(C.uint64_t(o.dst), C.uint64_t(o.src), C.longlong(o.bytes))
	}
	return nil
}

// BLASCall is one call the emulator's stand-in cuBLAS received, in cuBLAS's own terms
// (column-major: A is cuBLAS's first operand, our B): Fn is the function
// ("cublasGemmEx"), the rest its arguments (zero where the function has none). Types
// are cudaDataType values (0 CUDA_R_32F, 2 CUDA_R_16F, 14 CUDA_R_16BF), Compute a
// cublasComputeType_t (68 CUBLAS_COMPUTE_32F, 77 CUBLAS_COMPUTE_32F_FAST_TF32), Status
// what the stand-in returned.
type BLASCall struct {
	Fn                      string
	TransA, TransB, M, N, K int
	Alpha, Beta             float32
	A, B, C                 uintptr
	AType, BType, CType     int
	LDA, LDB, LDC           int
	StrideA, StrideB        int64
	StrideC                 int64
	Batch, Compute, Algo    int
	Status                  int
	MathMode                int
	Stream, Workspace       uintptr
	WorkspaceBytes          int
}

// BLASCalls returns the calls the stand-in cuBLAS received since the last reset, oldest
// first (at most the last 65536), and clears the record when reset is true. For tests
// of the mapping onto cuBLAS's arguments (blas.h).
func BLASCalls(reset bool) []BLASCall {
	n := int(C.gt_emu_blas_calls(nil, 0, 0))
	buf := make([]C.gt_emu_blas_call, n+1)
	n = min(int(C.gt_emu_blas_calls(&buf[0], C.int(len(buf)), cbool(reset))), len(buf))
	out := make([]BLASCall, n)
	for i, c := range buf[:n] {
		out[i] = BLASCall{Fn: C.GoString(&c.fn[0]), TransA: int(c.transa), TransB: int(c.transb), M: int(c.m), N: int(c.n), K: int(c.k),
			Alpha: float32(c.alpha), Beta: float32(c.beta), A: uintptr(c.A), B: uintptr(c.B), C: uintptr(c.C),
			AType: int(c.Atype), BType: int(c.Btype), CType: int(c.Ctype), LDA: int(c.lda), LDB: int(c.ldb), LDC: int(c.ldc),
			StrideA: int64(c.strideA), StrideB: int64(c.strideB), StrideC: int64(c.strideC),
			Batch: int(c.batch), Compute: int(c.compute), Algo: int(c.algo), Status: int(c.status), MathMode: int(c.mathMode),
			Stream: uintptr(c.stream), Workspace: uintptr(c.workspace), WorkspaceBytes: int(c.workspaceBytes)}
	}
	return out
}

// DevicePointer is the address of a buffer of the emulated backend (for BLASCalls'
// comparisons); 0 for another backend's.
func DevicePointer(x device.Buffer) uintptr {
	if bx, ok := x.(*buffer); ok {
		return bx.ptr
	}
	return 0
}
