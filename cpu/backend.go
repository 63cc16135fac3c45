// Package cpu is the engine's pure-Go backend: an implementation of device.Backend that
// computes on the host's cores.
//
// Every op family has two forms in this package. The reference form is a plain loop with
// the shapes in comments (gemmRef in matmul.go, and so on): it is the readable
// definition of the op, and the parity tests compare every other kernel (the tuned CPU
// ones and the CUDA ones) with it. The tuned form does the same arithmetic faster
// (blocking, packing, SIMD, the worker pool) behind the same signature. A backend made
// with Options.Reference runs the reference form of every op.
//
// Importing the package registers it with the device registry as "cpu".
package cpu

import (
	"fmt"
	"runtime"

	"github.com/gputrain/gputrain/device"
)

func init() {
	device.Register("cpu", 0, func(o device.Options) (device.Backend, error) {
		return New(Options{Threads: o.Threads}), nil
	})
}

// Options configure New.
type Options struct {
	// Threads is the number of goroutines kernels split their work over; 0 means
	// runtime.NumCPU().
	Threads int
	// Reference selects the plain reference loops for every op (slow; for tests).
	Reference bool
}

// Backend is the CPU implementation of device.Backend. It is not safe for concurrent use.
type Backend struct {
	closed    bool
	threads   int
	reference bool
	pool      *pool
	kernels   kernels
}

var _ device.Backend = (*Backend)(nil)

// New returns a CPU backend.
func New(opts Options) *Backend {
	t := opts.Threads
	if t <= 0 {
		t = runtime.NumCPU()
	}
	b := &Backend{threads: t, reference: opts.Reference, pool: newPool(t)}
	b.kernels.init(b)
	return b
}

// Name implements device.Backend.
func (b *Backend) Name() string { return "cpu" }

// Threads is the number of threads the kernels use.
func (b *Backend) Threads() int { return b.threads }

// Describe implements device.Backend.
func (b *Backend) Describe() string {
	mode := b.kernels.describe()
	if b.reference {
		mode = "reference loops"
	}
	return fmt.Sprintf("cpu: %d threads, %s, %s/%s", b.threads, mode, runtime.GOOS, runtime.GOARCH)
}

// Close implements device.Backend: it stops the worker goroutines; every later call
// but Name, Describe and Free returns device.ErrClosed.
func (b *Backend) Close() error {
	if b.closed {
		return nil
	}
	b.closed = true
	b.pool.close()
	b.threads = 1
	return nil
}

// buffer is host memory; exactly one of the slices is set, by dtype.
type buffer struct {
	dt  device.DType
	f32 []float32
	i32 []int32
	u8  []uint8
}

func (x *buffer) Len() int {
	switch x.dt {
	case device.Int32:
		return len(x.i32)
	case device.Uint8:
		return len(x.u8)
	}
	return len(x.f32)
}

func (x *buffer) DType() device.DType { return x.dt }

// f32 returns the float32 slice behind a buffer of this backend. Arguments have passed the
// device.Check* functions, so a foreign buffer is the only failure left.
func f32(x device.Buffer) []float32 {
	if x == nil {
		return nil
	}
	return x.(*buffer).f32
}

func i32(x device.Buffer) []int32 { return x.(*buffer).i32 }

var _ device.HostMemory = (*Backend)(nil)

// HostFloat32 implements device.HostMemory: the float32 elements of x themselves. Ops
// run synchronously here, so every op queued before has finished.
func (b *Backend) HostFloat32(x device.Buffer) ([]float32, error) {
	if b.closed {
		return nil, device.ErrClosed
	}
	if x == nil {
		return nil, fmt.Errorf("cpu: host float32: the buffer is nil")
	}
	if err := own(x); err != nil {
		return nil, err
	}
	if x.DType() != device.Float32 {
		return nil, fmt.Errorf("cpu: host float32: the buffer is %s, want float32", x.DType())
	}
	return f32(x), nil
}

func own(bufs ...device.Buffer) error {
	for _, x := range bufs {
		if x == nil {
			continue
		}
		if _, ok := x.(*buffer); !ok {
			return fmt.Errorf("cpu: buffer of type %T belongs to another backend", x)
		}
	}
	return nil
}

// Alloc implements device.Backend.
func (b *Backend) Alloc(dt device.DType, n int) (device.Buffer, error) {
	if b.closed {
		return nil, device.ErrClosed
	}
	if n < 0 {
		return nil, fmt.Errorf("cpu: alloc: negative length %d", n)
	}
	switch dt {
	case device.Float32:
		return &buffer{dt: dt, f32: make([]float32, n)}, nil
	case device.Int32:
		return &buffer{dt: dt, i32: make([]int32, n)}, nil
	case device.Uint8:
		return &buffer{dt: dt, u8: make([]uint8, n)}, nil
	}
	return nil, fmt.Errorf("cpu: alloc: unknown dtype %d", dt)
}

// Free implements device.Backend. Host memory goes back to the garbage collector.
func (b *Backend) Free(x device.Buffer) {
	if bx, ok := x.(*buffer); ok {
		*bx = buffer{dt: bx.dt}
	}
}

// View implements device.Backend.
func (b *Backend) View(x device.Buffer, off, n int) (device.Buffer, error) {
	if b.closed {
		return nil, device.ErrClosed
	}
	if err := device.CheckView(x, off, n); err != nil {
		return nil, err
	}
	if err := own(x); err != nil {
		return nil, err
	}
	bx := x.(*buffer)
	v := &buffer{dt: bx.dt}
	switch bx.dt {
	case device.Float32:
		v.f32 = bx.f32[off : off+n : off+n]
	case device.Int32:
		v.i32 = bx.i32[off : off+n : off+n]
	case device.Uint8:
		v.u8 = bx.u8[off : off+n : off+n]
	}
	return v, nil
}

// WriteFloat32 implements device.Backend.
func (b *Backend) WriteFloat32(dst device.Buffer, src []float32) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckTransfer("write", dst, device.Float32, len(src)); err != nil {
		return err
	}
	if err := own(dst); err != nil {
		return err
	}
	copy(f32(dst), src)
	return nil
}

// WriteInt32 implements device.Backend.
func (b *Backend) WriteInt32(dst device.Buffer, src []int32) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckTransfer("write", dst, device.Int32, len(src)); err != nil {
		return err
	}
	if err := own(dst); err != nil {
		return err
	}
	copy(i32(dst), src)
	return nil
}

// WriteUint8 implements device.Backend.
func (b *Backend) WriteUint8(dst device.Buffer, src []uint8) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckTransfer("write", dst, device.Uint8, len(src)); err != nil {
		return err
	}
	if err := own(dst); err != nil {
		return err
	}
	copy(dst.(*buffer).u8, src)
	return nil
}

// ReadFloat32 implements device.Backend.
func (b *Backend) ReadFloat32(dst []float32, src device.Buffer) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckTransfer("read", src, device.Float32, len(dst)); err != nil {
		return err
	}
	if err := own(src); err != nil {
		return err
	}
	copy(dst, f32(src))
	return nil
}

// ReadInt32 implements device.Backend.
func (b *Backend) ReadInt32(dst []int32, src device.Buffer) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckTransfer("read", src, device.Int32, len(dst)); err != nil {
		return err
	}
	if err := own(src); err != nil {
		return err
	}
	copy(dst, i32(src))
	return nil
}

// Copy implements device.Backend.
func (b *Backend) Copy(dst, src device.Buffer) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckCopy(dst, src); err != nil {
		return err
	}
	if err := own(dst, src); err != nil {
		return err
	}
	d, s := dst.(*buffer), src.(*buffer)
	copy(d.f32, s.f32)
	copy(d.i32, s.i32)
	copy(d.u8, s.u8)
	return nil
}

// Fill implements device.Backend.
func (b *Backend) Fill(dst device.Buffer, v float32) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckTransfer("fill", dst, device.Float32, lenOf(dst)); err != nil {
		return err
	}
	if err := own(dst); err != nil {
		return err
	}
	d := f32(dst)
	for i := range d {
		d[i] = v
	}
	return nil
}

func lenOf(x device.Buffer) int {
	if x == nil {
		return 0
	}
	return x.Len()
}

// Sync implements device.Backend; CPU ops complete before they return.
func (b *Backend) Sync() error {
	if b.closed {
		return device.ErrClosed
	}
	return nil
}

// Step implements device.Backend: the CPU runs fn directly.
func (b *Backend) Step(key string, fn func() error) error {
	if b.closed {
		return device.ErrClosed
	}
	return fn()
}
