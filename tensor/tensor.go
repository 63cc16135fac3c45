// Package tensor is the engine's tensor: a shape and a buffer on one device.Backend.
//
// A Tensor owns (or views) device memory; its data reaches the host only through Read*,
// Write* and the conversions to and from gorgonia.org/tensor's *tensor.Dense, the host
// array users hand in and get back (data, predictions, weights).
//
// Shapes are row-major and the first dimension is the batch where there is one. Views
// (Rows, Reshape, View) share their parent's memory; freeing the parent invalidates them.
package tensor

import (
	"fmt"
	"strings"

	"github.com/gputrain/gputrain/device"
)

// Shape is a list of dimensions, outermost first.
type Shape []int

// Len is the number of elements: the product of the dimensions (1 for a scalar shape).
func (s Shape) Len() int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// Equal reports whether s and o have the same dimensions.
func (s Shape) Equal(o Shape) bool {
	if len(s) != len(o) {
		return false
	}
	for i := range s {
		if s[i] != o[i] {
			return false
		}
	}
	return true
}

// Clone returns a copy of s.
func (s Shape) Clone() Shape { return append(Shape(nil), s...) }

func (s Shape) String() string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = fmt.Sprint(d)
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// Check returns an error unless every dimension is positive.
func (s Shape) Check() error {
	for _, d := range s {
		if d <= 0 {
			return fmt.Errorf("tensor: shape %v has a dimension that is not positive", s)
		}
	}
	return nil
}

// Tensor is a shaped buffer on a backend.
type Tensor struct {
	dev   device.Backend
	buf   device.Buffer
	shape Shape
	view  bool
}

// New allocates a zeroed tensor of the given type and shape on dev.
func New(dev device.Backend, dt device.DType, shape ...int) (*Tensor, error) {
	s := Shape(shape).Clone()
	if err := s.Check(); err != nil {
		return nil, err
	}
	buf, err := dev.Alloc(dt, s.Len())
	if err != nil {
		return nil, fmt.Errorf("tensor: alloc %s %v: %w", dt, s, err)
	}
	return &Tensor{dev: dev, buf: buf, shape: s}, nil
}

// Zeros allocates a float32 tensor of zeros.
func Zeros(dev device.Backend, shape ...int) (*Tensor, error) {
	return New(dev, device.Float32, shape...)
}

// FromFloat32 allocates a float32 tensor on dev holding a copy of data.
func FromFloat32(dev device.Backend, data []float32, shape ...int) (*Tensor, error) {
	if Shape(shape).Len() != len(data) {
		return nil, fmt.Errorf("tensor: %d values do not fill shape %v (%d elements)", len(data), Shape(shape), Shape(shape).Len())
	}
	t, err := Zeros(dev, shape...)
	if err != nil {
		return nil, err
	}
	if err := dev.WriteFloat32(t.buf, data); err != nil {
		t.Free()
		return nil, err
	}
	return t, nil
}

// FromInt32 allocates an int32 tensor on dev holding a copy of data.
func FromInt32(dev device.Backend, data []int32, shape ...int) (*Tensor, error) {
	if Shape(shape).Len() != len(data) {
		return nil, fmt.Errorf("tensor: %d values do not fill shape %v", len(data), Shape(shape))
	}
	t, err := New(dev, device.Int32, shape...)
	if err != nil {
		return nil, err
	}
	if err := dev.WriteInt32(t.buf, data); err != nil {
		t.Free()
		return nil, err
	}
	return t, nil
}

// FromUint8 allocates a uint8 tensor on dev holding a copy of data.
func FromUint8(dev device.Backend, data []uint8, shape ...int) (*Tensor, error) {
	if Shape(shape).Len() != len(data) {
		return nil, fmt.Errorf("tensor: %d values do not fill shape %v", len(data), Shape(shape))
	}
	t, err := New(dev, device.Uint8, shape...)
	if err != nil {
		return nil, err
	}
	if err := dev.WriteUint8(t.buf, data); err != nil {
		t.Free()
		return nil, err
	}
	return t, nil
}

// Device is the backend the tensor lives on.
func (t *Tensor) Device() device.Backend { return t.dev }

// Buffer is the tensor's device memory, for Backend calls.
func (t *Tensor) Buffer() device.Buffer { return t.buf }

// Shape returns the tensor's shape; the caller must not modify it.
func (t *Tensor) Shape() Shape { return t.shape }

// Dim is the size of dimension i.
func (t *Tensor) Dim(i int) int { return t.shape[i] }

// Len is the number of elements.
func (t *Tensor) Len() int { return t.buf.Len() }

// DType is the element type.
func (t *Tensor) DType() device.DType { return t.buf.DType() }

// String describes the tensor without reading its data.
func (t *Tensor) String() string {
	return fmt.Sprintf("tensor %s %v on %s", t.DType(), t.shape, t.dev.Name())
}

// Free releases the tensor's memory, unless it is a view.
func (t *Tensor) Free() {
	if t == nil || t.buf == nil {
		return
	}
	if !t.view {
		t.dev.Free(t.buf)
	}
	t.buf = nil
}

// View returns the tensor of the given shape over the elements [off, off+shape.Len())
// of t, sharing its memory.
func (t *Tensor) View(off int, shape ...int) (*Tensor, error) {
	s := Shape(shape).Clone()
	if err := s.Check(); err != nil {
		return nil, err
	}
	buf, err := t.dev.View(t.buf, off, s.Len())
	if err != nil {
		return nil, fmt.Errorf("tensor: view %v at %d of %v: %w", s, off, t.shape, err)
	}
	return &Tensor{dev: t.dev, buf: buf, shape: s, view: true}, nil
}

// Rows returns the view of rows [lo, hi) along the first dimension.
func (t *Tensor) Rows(lo, hi int) (*Tensor, error) {
	if len(t.shape) == 0 || lo < 0 || hi > t.shape[0] || lo >= hi {
		return nil, fmt.Errorf("tensor: rows [%d, %d) outside %v", lo, hi, t.shape)
	}
	per := t.Len() / t.shape[0]
	s := t.shape.Clone()
	s[0] = hi - lo
	return t.View(lo*per, s...)
}

// Reshape returns a view of t with another shape of the same length.
func (t *Tensor) Reshape(shape ...int) (*Tensor, error) {
	if Shape(shape).Len() != t.Len() {
		return nil, fmt.Errorf("tensor: cannot reshape %v (%d elements) to %v", t.shape, t.Len(), Shape(shape))
	}
	return t.View(0, shape...)
}

// Float32s reads a float32 tensor's data to the host.
func (t *Tensor) Float32s() ([]float32, error) {
	out := make([]float32, t.Len())
	if err := t.dev.ReadFloat32(out, t.buf); err != nil {
		return nil, err
	}
	return out, nil
}

// Int32s reads an int32 tensor's data to the host.
func (t *Tensor) Int32s() ([]int32, error) {
	out := make([]int32, t.Len())
	if err := t.dev.ReadInt32(out, t.buf); err != nil {
		return nil, err
	}
	return out, nil
}

// SetFloat32s writes data (one value per element) into a float32 tensor.
func (t *Tensor) SetFloat32s(data []float32) error {
	if len(data) != t.Len() {
		return fmt.Errorf("tensor: %d values for a tensor of shape %v", len(data), t.shape)
	}
	return t.dev.WriteFloat32(t.buf, data)
}
