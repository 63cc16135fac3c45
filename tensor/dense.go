package tensor

import (
	"fmt"
	"math"

	gt "gorgonia.org/tensor"

	"github.com/gputrain/gputrain/device"
)

// FromDense copies a host array onto dev. Float32 arrays stay float32; Float64 ones are
// rounded to float32. Integer arrays (Int, Int8…Int64, Uint16…Uint64) become int32 and
// must fit; Uint8 arrays stay uint8 (image bytes). Views and transposed arrays are
// materialised first.
func FromDense(dev device.Backend, d *gt.Dense) (*Tensor, error) {
	if d == nil {
		return nil, fmt.Errorf("tensor: FromDense: nil array")
	}
	if d.DataOrder().IsColMajor() {
		return nil, fmt.Errorf("tensor: FromDense: column-major arrays are not supported, shape %v", d.Shape())
	}
	if d.RequiresIterator() || d.IsMaterializable() {
		m, ok := d.Materialize().(*gt.Dense)
		if !ok {
			return nil, fmt.Errorf("tensor: FromDense: cannot materialise a %T", d.Materialize())
		}
		d = m
	}
	shape := []int(d.Shape().Clone())
	if len(shape) == 0 {
		shape = []int{1}
	}
	switch v := d.Data().(type) {
	case []float32:
		return FromFloat32(dev, v, shape...)
	case []float64:
		f := make([]float32, len(v))
		for i, x := range v {
			f[i] = float32(x)
		}
		return FromFloat32(dev, f, shape...)
	case []uint8:
		return FromUint8(dev, v, shape...)
	}
	ints, err := denseInts(d)
	if err != nil {
		return nil, err
	}
	return FromInt32(dev, ints, shape...)
}

// denseInts converts an integer array to int32, refusing values that do not fit.
func denseInts(d *gt.Dense) ([]int32, error) {
	var out []int32
	add := func(i int, x int64) error {
		if x < math.MinInt32 || x > math.MaxInt32 {
			return fmt.Errorf("tensor: FromDense: element %d = %d does not fit in int32", i, x)
		}
		out = append(out, int32(x))
		return nil
	}
	var err error
	switch v := d.Data().(type) {
	case []int32:
		return append([]int32(nil), v...), nil
	case []int:
		for i, x := range v {
			if err = add(i, int64(x)); err != nil {
				return nil, err
			}
		}
	case []int64:
		for i, x := range v {
			if err = add(i, x); err != nil {
				return nil, err
			}
		}
	case []int16: // these three always fit in int32: add cannot fail
		for i, x := range v {
			_ = add(i, int64(x))
		}
	case []int8:
		for i, x := range v {
			_ = add(i, int64(x))
		}
	case []uint16:
		for i, x := range v {
			_ = add(i, int64(x))
		}
	case []uint32:
		for i, x := range v {
			if err = add(i, int64(x)); err != nil {
				return nil, err
			}
		}
	case []uint64:
		for i, x := range v {
			if x > math.MaxInt32 {
				return nil, fmt.Errorf("tensor: FromDense: element %d = %d does not fit in int32", i, x)
			}
			out = append(out, int32(x))
		}
	default:
		return nil, fmt.Errorf("tensor: FromDense: unsupported element type %v", d.Dtype())
	}
	return out, nil
}

// Dense copies the tensor to a new host array of the same shape: float32 tensors give
// Float32 arrays, int32 tensors Int32 arrays.
func (t *Tensor) Dense() (*gt.Dense, error) {
	shape := []int(t.shape.Clone())
	switch t.DType() {
	case device.Float32:
		data, err := t.Float32s()
		if err != nil {
			return nil, err
		}
		return gt.New(gt.WithShape(shape...), gt.WithBacking(data)), nil
	case device.Int32:
		data, err := t.Int32s()
		if err != nil {
			return nil, err
		}
		return gt.New(gt.WithShape(shape...), gt.WithBacking(data)), nil
	}
	return nil, fmt.Errorf("tensor: Dense: cannot read %s tensors back", t.DType())
}
