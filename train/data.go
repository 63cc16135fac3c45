package train

import (
	"fmt"

	gt "gorgonia.org/tensor"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/tensor"
)

// Dataset is a set of examples on the host.
//
// X has shape (N, features…) and type Float32, Float64 or Uint8, or an integer type for
// ids (an Embedding's input: int32 on the device); Uint8 values are pixel bytes and are
// scaled to [0, 1] on the device (they stay bytes in device memory, a quarter of the
// size). Y has shape (N) with integer class labels for classification
// losses, or (N, outputs…) with float targets for regression losses.
type Dataset struct {
	X, Y *gt.Dense
}

// Len is the number of examples.
func (d Dataset) Len() int {
	if d.X == nil || len(d.X.Shape()) == 0 {
		return 0
	}
	return d.X.Shape()[0]
}

// deviceSet is a Dataset uploaded to the device once, with the index buffers its batches
// are gathered through.
type deviceSet struct {
	n      int
	rowLen int
	x      *tensor.Tensor // (n, rowLen), float32 or uint8
	y      *tensor.Tensor // (n) int32 labels or (n, yLen) float32 targets
	yLen   int
	scale  float32 // 1/255 for uint8 images, else 1
	order  *tensor.Tensor
	orderV []*tensor.Tensor // views of order: this rank's share of each batch (nil: none)
	global []int            // the examples of each batch, over all ranks
	owned  []*tensor.Tensor // what free releases
}

// upload validates d against the model's input shape and output, and copies it to dev.
// classes > 0 requires integer labels in [0, classes); otherwise Y must be float targets
// of per-example shape out.
func upload(dev device.Backend, name string, d Dataset, in, out tensor.Shape, classes int) (*deviceSet, error) {
	if d.X == nil || d.Y == nil {
		return nil, fmt.Errorf("train: %s data: X and Y must both be given", name)
	}
	xs, ys := d.X.Shape(), d.Y.Shape()
	if len(xs) < 2 {
		return nil, fmt.Errorf("train: %s data: X has shape %v, want (examples, features…)", name, xs)
	}
	n := xs[0]
	if !tensor.Shape(xs[1:]).Equal(in) {
		return nil, fmt.Errorf("train: %s data: X has examples of shape %v, the model takes %v", name, tensor.Shape(xs[1:]), in)
	}
	if len(ys) == 0 || ys[0] != n {
		return nil, fmt.Errorf("train: %s data: %d examples in X but Y has shape %v", name, n, ys)
	}
	s := &deviceSet{n: n, rowLen: in.Len(), scale: 1}
	switch d.X.Dtype() {
	case gt.Uint8:
		s.scale = 1.0 / 255
	case gt.Float32, gt.Float64:
	case gt.Int32, gt.Int64, gt.Int, gt.Int16, gt.Uint16, gt.Uint32:
		// ids (tokens, users, items): int32 on the device, for an Embedding
	default:
		return nil, fmt.Errorf("train: %s data: X has element type %v, want float32, float64, uint8 (pixels) or integers (ids)", name, d.X.Dtype())
	}
	x, err := tensor.FromDense(dev, d.X)
	if err != nil {
		return nil, fmt.Errorf("train: %s data: X: %w", name, err)
	}
	s.owned = append(s.owned, x)
	if s.x, err = x.Reshape(n, s.rowLen); err != nil {
		return nil, err
	}
	if classes > 0 {
		if len(ys) != 1 {
			return nil, fmt.Errorf("train: %s data: Y has shape %v, want (%d) class labels", name, ys, n)
		}
		if d.Y.Dtype() == gt.Float32 || d.Y.Dtype() == gt.Float64 {
			return nil, fmt.Errorf("train: %s data: Y holds %v values, want integer class labels", name, d.Y.Dtype())
		}
		if d.Y.Dtype() == gt.Uint8 { // labels stored as bytes: widen on the host
			s.y, err = labelsFromBytes(dev, d.Y)
		} else {
			s.y, err = tensor.FromDense(dev, d.Y)
		}
		if err != nil {
			return nil, fmt.Errorf("train: %s data: Y: %w", name, err)
		}
		s.owned = append(s.owned, s.y)
		labels, err := s.y.Int32s()
		if err != nil {
			return nil, err
		}
		for i, l := range labels {
			if l < 0 || int(l) >= classes {
				return nil, fmt.Errorf("train: %s data: label %d of example %d is outside [0, %d)", name, l, i, classes)
			}
		}
		s.yLen = 1
	} else {
		if !tensor.Shape(ys[1:]).Equal(out) {
			return nil, fmt.Errorf("train: %s data: Y has targets of shape %v, the model outputs %v", name, tensor.Shape(ys[1:]), out)
		}
		if d.Y.Dtype() != gt.Float32 && d.Y.Dtype() != gt.Float64 {
			return nil, fmt.Errorf("train: %s data: Y holds %v values, want float targets", name, d.Y.Dtype())
		}
		y, err := tensor.FromDense(dev, d.Y)
		if err != nil {
			return nil, fmt.Errorf("train: %s data: Y: %w", name, err)
		}
		s.owned = append(s.owned, y)
		s.yLen = out.Len()
		if s.y, err = y.Reshape(n, s.yLen); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func labelsFromBytes(dev device.Backend, y *gt.Dense) (*tensor.Tensor, error) {
	b := y.Data().([]uint8)
	l := make([]int32, len(b))
	for i, v := range b {
		l[i] = int32(v)
	}
	return tensor.FromInt32(dev, l, len(l))
}

// batches makes the order buffer over examples [lo, hi) of the set, cut into views of
// at most size examples (one process: shard with one rank).
func (s *deviceSet) batches(dev device.Backend, lo, hi, size int) error {
	return s.shard(dev, lo, hi, size, 1, 0)
}

// shard makes the order buffer over examples [lo, hi) of the set, cut into global
// batches of ranks·size examples (the last may be smaller), and keeps this rank's share
// of each: orderV[k] views the rows of global batch k that rank trains (nil when it has
// none) and global[k] is the size of batch k. Of a full batch, rank r takes rows
// [r·size, (r+1)·size). A last batch of R < ranks·size examples is split as evenly as
// possible in rank order: with q = ⌊R/ranks⌋ and m = R mod ranks, rank r takes
// q + (1 if r < m) rows from row r·q + min(r, m), so rank 0 always has one.
func (s *deviceSet) shard(dev device.Backend, lo, hi, size, ranks, rank int) error {
	n := hi - lo
	ids := make([]int32, n)
	for i := range ids {
		ids[i] = int32(lo + i)
	}
	s.order.Free()
	var err error
	if s.order, err = tensor.FromInt32(dev, ids, n); err != nil {
		return err
	}
	s.orderV, s.global = s.orderV[:0], s.global[:0]
	for off := 0; off < n; off += ranks * size {
		g := min(ranks*size, n-off)
		a, b := shareOf(g, size, ranks, rank)
		var v *tensor.Tensor
		if b > a {
			if v, err = s.order.Rows(off+a, off+b); err != nil {
				return err
			}
		}
		s.orderV = append(s.orderV, v)
		s.global = append(s.global, g)
	}
	return nil
}

// shareOf is rank's rows [a, b) of a global batch of g examples, size per rank when the
// batch is full (see shard).
func shareOf(g, size, ranks, rank int) (a, b int) {
	if g == ranks*size {
		return rank * size, (rank + 1) * size
	}
	q, m := g/ranks, g%ranks
	a = rank*q + min(rank, m)
	b = a + q
	if rank < m {
		b++
	}
	return a, b
}

func (s *deviceSet) free() {
	for _, t := range s.owned {
		t.Free()
	}
	s.order.Free()
}
