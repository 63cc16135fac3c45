//go:build cuda || cudaemu

package cuda

import (
	"fmt"

	"github.com/gputrain/gputrain/device"
)

// buffer is device memory: n elements of dt at address ptr. A view shares its parent's
// block.
type buffer struct {
	ptr  uintptr
	n    int
	dt   device.DType
	blk  *block
	view bool
}

func (x *buffer) Len() int            { return x.n }
func (x *buffer) DType() device.DType { return x.dt }

// block is one allocation.
type block struct {
	ptr   uintptr
	size  int64 // the size class, >= the bytes asked for
	freed bool
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

// View implements device.Backend.
func (b *Backend) View(x device.Buffer, off, n int) (device.Buffer, error) {
	if b.closed {
		return nil, device.ErrClosed
	}
	if err := device.CheckView(x, off, n); err != nil {
		return nil, err
	}
	bx, err := b.buf(x)
	if err != nil {
		return nil, err
	}
	return &buffer{ptr: bx.ptr + uintptr(off*bx.dt.Size()), n: n, dt: bx.dt, blk: bx.blk, view: true}, nil
}

// Fill implements device.Backend (fill_f32).
func (b *Backend) Fill(dst device.Buffer, v float32) error {
	if b.closed {
		return device.ErrClosed
	}
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
