//go:build cudaemu && !cuda

package cuda

// The CPU emulator build (go test -tags cudaemu ./device/cuda): the CUDA backend's op
// code (activation.go, binary.go, …, matmul.go's row-major to column-major mapping) runs
// unchanged, but its launches go to emu.cc, which runs the kernels of kernels/*.cu
// compiled as C++ on host threads, and its GEMMs to a column-major reference with
// cuBLAS's definition. It lets the conformance suite check the kernels' logic and the
// parameter passing on a machine without a GPU. Memory is host memory; Step runs fn.

/*
#cgo CXXFLAGS: -std=c++17 -O1 -Wall -Wno-unused-function
#cgo LDFLAGS: -lpthread
#include <stdint.h>
#include <stdlib.h>
int emu_launch(const char* name, int grid, int block, const uint64_t* args, int nargs, char* err, int errlen);
void emu_sgemm(int transX, int transY, int n, int m, int k, float alpha, uint64_t x, int ldx,
	uint64_t y, int ldy, float beta, uint64_t c, int ldc, int batch, long long sx, long long sy, long long sc);
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
}

var _ device.Backend = (*Backend)(nil)

// New returns an emulated backend. Grids are capped at 2 blocks per "SM" of a 1-SM
// device, so that grid-stride loops and multi-block reductions are exercised on small
// inputs.
func New(Options) (*Backend, error) {
	return &Backend{maxGrid: 2, blocks: map[*block]unsafe.Pointer{}}, nil
}

func (b *Backend) Name() string     { return "cuda" }
func (b *Backend) Describe() string { return "cuda: CPU emulator (kernels/*.cu as C++), not a GPU" }
func (b *Backend) bind() func()     { return func() {} }

func (b *Backend) Close() error {
	b.closed = true
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
	if dt > device.Uint8 {
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
		g := &o.gemm
		C.emu_sgemm(cbool(g.transB), cbool(g.transA), C.int(g.n), C.int(g.m), C.int(g.k), C.float(g.alpha),
			C.uint64_t(g.b), C.int(g.ldb), C.uint64_t(g.a), C.int(g.lda), C.float(g.beta), C.uint64_t(g.c), C.int(g.ldc),
			C.int(g.batch), C.longlong(g.strideB), C.longlong(g.strideA), C.longlong(g.strideC))
	case opCopy:
		C.emu_copy(C.uint64_t(o.dst), C.uint64_t(o.src), C.longlong(o.bytes))
	}
	return nil
}

func cbool(v bool) C.int {
	if v {
		return 1
	}
	return 0
}
