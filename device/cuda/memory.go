//go:build cuda

package cuda

import (
	"fmt"
	"math/bits"
	"unsafe"

	"gorgonia.org/cu"

	"github.com/gputrain/gputrain/device"
)

// allocator caches device memory: Free puts a block on the free list of its size class
// and Alloc takes from there before it calls cuMemAlloc, so that a training loop that
// allocates and frees the same shapes every step stops calling the driver after the
// first one. Blocks are only reused through the one stream, so a block freed by the host
// while the GPU still uses it is safe: whatever runs next on it is queued after that use.
type allocator struct {
	free map[int64][]*block
	sync func() error // waits for the stream before cached blocks go back to the driver
	// counters, for Stats
	driverAllocs int
	inUse        int64
	cached       int64
}

func newAllocator(sync func() error) *allocator {
	return &allocator{free: map[int64][]*block{}, sync: sync}
}

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
		// out of memory with blocks cached: give them back to the driver and retry (a
		// failed wait is a fault of a queued op, which the next read or Sync reports)
		_ = a.sync()
		a.release()
		ptr, err = cu.MemAlloc(size)
	}
	if err != nil {
		// The bytes asked for and those free, so that an out-of-memory failure says by
		// how much it missed (the caller has bound the context).
		free, total, ierr := cu.MemInfo()
		if ierr != nil {
			return nil, fmt.Errorf("cuda: alloc: cuMemAlloc(%d bytes): %w (this run holds %d bytes; cuMemGetInfo: %v)", size, err, a.inUse, ierr)
		}
		return nil, fmt.Errorf("cuda: alloc: cuMemAlloc(%d bytes, %s): %w: %s free of %s on the device, %s held by this run",
			size, device.FormatBytes(size), err, device.FormatBytes(free), device.FormatBytes(total), device.FormatBytes(a.inUse))
	}
	a.driverAllocs++
	a.inUse += size
	return &block{ptr: uintptr(ptr), size: size}, nil
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

// release frees every cached block; the caller has waited for the stream.
func (a *allocator) release() {
	for size, l := range a.free {
		for _, blk := range l {
			_ = cu.MemFree(cu.DevicePtr(blk.ptr)) // no use to retry: the block is lost either way
		}
		a.cached -= size * int64(len(l))
		delete(a.free, size)
	}
}

var _ device.MemoryInfo = (*Backend)(nil)

// AvailableMemory implements device.MemoryInfo: the device's free memory (cuMemGetInfo)
// plus the blocks this backend keeps cached for reuse, which it gives back to the
// driver before it lets an allocation fail.
func (b *Backend) AvailableMemory() (int64, error) {
	if b.closed {
		return 0, device.ErrClosed
	}
	defer b.bind()()
	free, _, err := cu.MemInfo()
	if err != nil {
		return 0, fmt.Errorf("cuda: cuMemGetInfo: %w", err)
	}
	return free + b.mem.cached, nil
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

// Alloc implements device.Backend: a zeroed buffer from the caching allocator.
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
	defer b.bind()()
	if err := b.rec.hostSync("alloc"); err != nil {
		return nil, err
	}
	bytes := int64(n) * int64(dt.Size())
	blk, err := b.mem.get(bytes)
	if err != nil {
		return nil, err
	}
	if err := cu.MemsetD8Async(cu.DevicePtr(blk.ptr), 0, bytes, b.stream); err != nil {
		b.mem.put(blk)
		return nil, fmt.Errorf("cuda: alloc: zeroing %d bytes: %w", bytes, err)
	}
	x.ptr, x.blk = uintptr(blk.ptr), blk
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
	// Free returns nothing: a failure here is kept by the recorder and the next op
	// that can return an error reports it.
	_ = b.rec.hostSync("free")
	b.mem.put(bx.blk)
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
	if n == 0 {
		return nil
	}
	defer b.bind()()
	if err := b.rec.hostSync("write"); err != nil {
		return err
	}
	// From pageable memory the call returns once src has been staged: the caller may
	// reuse it at once, and the copy is ordered on the stream.
	if err := cu.MemcpyHtoDAsync(cu.DevicePtr(bx.ptr), src, int64(n*dt.Size()), b.stream); err != nil {
		return fmt.Errorf("cuda: write of %d %s (cuMemcpyHtoDAsync): %w", n, dt, err)
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
	defer b.bind()()
	if err := b.rec.hostSync("read"); err != nil {
		return err
	}
	if n > 0 {
		if err := cu.MemcpyDtoHAsync(dst, cu.DevicePtr(bx.ptr), int64(n*dt.Size()), b.stream); err != nil {
			return fmt.Errorf("cuda: read of %d %s (cuMemcpyDtoHAsync): %w", n, dt, err)
		}
	}
	if err := b.stream.Synchronize(); err != nil {
		return fmt.Errorf("cuda: a queued op failed: %w", err)
	}
	return b.rec.takeErr()
}

// Copy implements device.Backend (a device-to-device copy on the stream).
func (b *Backend) Copy(dst, src device.Buffer) error {
	if b.closed {
		return device.ErrClosed
	}
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
	return b.submit(&o)
}
