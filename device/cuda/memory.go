//go:build cuda

package cuda

import (
	"fmt"
	"math/bits"
	"unsafe"

	"gorgonia.org/cu"

	"github.com/gputrain/gputrain/device"
)

// buffer is device memory: n elements of dt at ptr. A view shares its parent's block.
type buffer struct {
	ptr  cu.DevicePtr
	n    int
	dt   device.DType
	blk  *block
	view bool
}

func (x *buffer) Len() int            { return x.n }
func (x *buffer) DType() device.DType { return x.dt }

// block is one allocation of the caching allocator.
type block struct {
	ptr   cu.DevicePtr
	size  int64 // the size class, >= the bytes asked for
	freed bool
}

// allocator caches device memory: Free puts a block on the free list of its size class
// and Alloc takes from there before it calls cuMemAlloc, so that a training loop that
// allocates and frees the same shapes every step stops calling the driver after the
// first one. Blocks are only reused through the one stream, so a block freed by the host
// while the GPU still uses it is safe: whatever runs next on it is queued after that use.
type allocator struct {
	free map[int64][]*block
	// counters, for Stats
	driverAllocs int
	inUse        int64
	cached       int64
}

func newAllocator() *allocator { return &allocator{free: map[int64][]*block{}} }

// sizeClass rounds a request up: powers of two from 512 bytes to 1 MiB, then whole MiB.
func sizeClass(bytes int64) int64 {
	const mib = 1 << 20
	if bytes <= 512 {
		return 512
	}
	if bytes <= mib {
		return 1 << (64 - bits.LeadingZeros64(uint64(bytes-1)))
	}
	return (bytes + mib - 1) / mib * mib
}

func (a *allocator) get(bytes int64) (*block, error) {
	size := sizeClass(bytes)
	if l := a.free[size]; len(l) > 0 {
		blk := l[len(l)-1]
		a.free[size] = l[:len(l)-1]
		blk.freed = false
		a.cached -= size
		a.inUse += size
		return blk, nil
	}
	ptr, err := cu.MemAlloc(size)
	if err != nil && a.cached > 0 {
		// out of memory with blocks cached: give them back to the driver and retry
		a.release()
		ptr, err = cu.MemAlloc(size)
	}
	if err != nil {
		return nil, fmt.Errorf("cuda: alloc: cuMemAlloc(%d bytes): %w (in use %d bytes)", size, err, a.inUse)
	}
	a.driverAllocs++
	a.inUse += size
	return &block{ptr: ptr, size: size}, nil
}

func (a *allocator) put(blk *block) {
	if blk.freed {
		return
	}
	blk.freed = true
	a.free[blk.size] = append(a.free[blk.size], blk)
	a.inUse -= blk.size
	a.cached += blk.size
}

// release frees every cached block (the caller has synchronised, or the blocks' last
// uses are queued before anything that could reuse their addresses).
func (a *allocator) release() {
	for size, l := range a.free {
		for _, blk := range l {
			_ = cu.MemFree(blk.ptr)
		}
		a.cached -= size * int64(len(l))
		delete(a.free, size)
	}
}

// MemStats describes the caching allocator.
type MemStats struct {
	DriverAllocs int   // cuMemAlloc calls so far
	InUse        int64 // bytes held by live buffers (by size class)
	Cached       int64 // bytes freed by the engine, kept for reuse
}

// MemStats reports the allocator's counters.
func (b *Backend) MemStats() MemStats {
	return MemStats{DriverAllocs: b.mem.driverAllocs, InUse: b.mem.inUse, Cached: b.mem.cached}
}

// buf returns x as this backend's buffer.
func (b *Backend) buf(x device.Buffer) (*buffer, error) {
	bx, ok := x.(*buffer)
	if !ok {
		return nil, fmt.Errorf("cuda: buffer of type %T belongs to another backend", x)
	}
	if bx.blk != nil && bx.blk.freed {
		return nil, fmt.Errorf("cuda: buffer of %d %s was freed", bx.n, bx.dt)
	}
	return bx, nil
}

// dev32 returns the device address of x (nil gives 0), after the ownership check.
func (b *Backend) dev32(x device.Buffer) (cu.DevicePtr, error) {
	if x == nil {
		return 0, nil
	}
	bx, err := b.buf(x)
	if err != nil {
		return 0, err
	}
	return bx.ptr, nil
}

// Alloc implements device.Backend: a zeroed buffer from the caching allocator.
func (b *Backend) Alloc(dt device.DType, n int) (device.Buffer, error) {
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
	defer b.bind()()
	if err := b.rec.hostSync("alloc"); err != nil {
		return nil, err
	}
	bytes := int64(n) * int64(dt.Size())
	blk, err := b.mem.get(bytes)
	if err != nil {
		return nil, err
	}
	if err := cu.MemsetD8Async(blk.ptr, 0, bytes, b.stream); err != nil {
		b.mem.put(blk)
		return nil, fmt.Errorf("cuda: alloc: zeroing %d bytes: %w", bytes, err)
	}
	x.ptr, x.blk = blk.ptr, blk
	return x, nil
}

// Free implements device.Backend: the memory goes back to the allocator's cache. Views
// are not freed; freeing a buffer invalidates its views.
func (b *Backend) Free(x device.Buffer) {
	bx, ok := x.(*buffer)
	if !ok || bx.view || bx.blk == nil {
		return
	}
	defer b.bind()()
	_ = b.rec.hostSync("free")
	b.mem.put(bx.blk)
}

// View implements device.Backend.
func (b *Backend) View(x device.Buffer, off, n int) (device.Buffer, error) {
	if err := device.CheckView(x, off, n); err != nil {
		return nil, err
	}
	bx, err := b.buf(x)
	if err != nil {
		return nil, err
	}
	return &buffer{ptr: bx.ptr + cu.DevicePtr(off*bx.dt.Size()), n: n, dt: bx.dt, blk: bx.blk, view: true}, nil
}

func (b *Backend) write(dst device.Buffer, dt device.DType, n int, src unsafe.Pointer) error {
	if err := device.CheckTransfer("write", dst, dt, n); err != nil {
		return err
	}
	bx, err := b.buf(dst)
	if err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	defer b.bind()()
	if err := b.rec.hostSync("write"); err != nil {
		return err
	}
	// From pageable memory the call returns once src has been staged: the caller may
	// reuse it at once, and the copy is ordered on the stream.
	if err := cu.MemcpyHtoDAsync(bx.ptr, src, int64(n*dt.Size()), b.stream); err != nil {
		return fmt.Errorf("cuda: write of %d %s (cuMemcpyHtoDAsync): %w", n, dt, err)
	}
	return nil
}

// WriteFloat32 implements device.Backend.
func (b *Backend) WriteFloat32(dst device.Buffer, src []float32) error {
	return b.write(dst, device.Float32, len(src), unsafe.Pointer(unsafe.SliceData(src)))
}

// WriteInt32 implements device.Backend.
func (b *Backend) WriteInt32(dst device.Buffer, src []int32) error {
	return b.write(dst, device.Int32, len(src), unsafe.Pointer(unsafe.SliceData(src)))
}

// WriteUint8 implements device.Backend.
func (b *Backend) WriteUint8(dst device.Buffer, src []uint8) error {
	return b.write(dst, device.Uint8, len(src), unsafe.Pointer(unsafe.SliceData(src)))
}

func (b *Backend) read(dst unsafe.Pointer, dt device.DType, n int, src device.Buffer) error {
	if err := device.CheckTransfer("read", src, dt, n); err != nil {
		return err
	}
	bx, err := b.buf(src)
	if err != nil {
		return err
	}
	defer b.bind()()
	if err := b.rec.hostSync("read"); err != nil {
		return err
	}
	if n > 0 {
		if err := cu.MemcpyDtoHAsync(dst, bx.ptr, int64(n*dt.Size()), b.stream); err != nil {
			return fmt.Errorf("cuda: read of %d %s (cuMemcpyDtoHAsync): %w", n, dt, err)
		}
	}
	if err := b.stream.Synchronize(); err != nil {
		return fmt.Errorf("cuda: a queued op failed: %w", err)
	}
	return b.rec.takeErr()
}

// ReadFloat32 implements device.Backend: it waits for every queued op.
func (b *Backend) ReadFloat32(dst []float32, src device.Buffer) error {
	return b.read(unsafe.Pointer(unsafe.SliceData(dst)), device.Float32, len(dst), src)
}

// ReadInt32 implements device.Backend: it waits for every queued op.
func (b *Backend) ReadInt32(dst []int32, src device.Buffer) error {
	return b.read(unsafe.Pointer(unsafe.SliceData(dst)), device.Int32, len(dst), src)
}

// Copy implements device.Backend (a device-to-device copy on the stream).
func (b *Backend) Copy(dst, src device.Buffer) error {
	if err := device.CheckCopy(dst, src); err != nil {
		return err
	}
	d, err := b.buf(dst)
	if err != nil {
		return err
	}
	s, err := b.buf(src)
	if err != nil {
		return err
	}
	if d.n == 0 {
		return nil
	}
	defer b.bind()()
	o := op{kind: opCopy, dst: d.ptr, src: s.ptr, bytes: int64(d.n * d.dt.Size())}
	return b.rec.submit(&o)
}

// Fill implements device.Backend.
func (b *Backend) Fill(dst device.Buffer, v float32) error {
	n := 0
	if dst != nil {
		n = dst.Len()
	}
	if err := device.CheckTransfer("fill", dst, device.Float32, n); err != nil {
		return err
	}
	if err := b.owns(dst); err != nil {
		return err
	}
	return b.elementwise(kFill, n, dp(dst), i64(n), f32(v))
}

// owns checks that every non-nil buffer is a live buffer of this backend; after it, dp
// may be used on them.
func (b *Backend) owns(bufs ...device.Buffer) error {
	for _, x := range bufs {
		if x == nil {
			continue
		}
		if _, err := b.buf(x); err != nil {
			return err
		}
	}
	return nil
}

// dp is the device address of a buffer that passed owns, as a parameter slot (0 for nil).
func dp(x device.Buffer) uint64 {
	if x == nil {
		return 0
	}
	return uint64(x.(*buffer).ptr)
}
