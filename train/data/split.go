package data

import (
	"fmt"
	"math"

	"gorgonia.org/tensor"
)

// Validate reports whether s is consistent: N, H, W are not negative, len(Images) is
// N*H*W and len(Labels) is N. Splits made by this package always are; the error, starting
// "data: split: ", names the first mismatch.
func (s Split) Validate() error {
	if s.N < 0 || s.H < 0 || s.W < 0 {
		return fmt.Errorf("data: split: negative size N=%d H=%d W=%d", s.N, s.H, s.W)
	}
	if s.H != 0 && s.W != 0 && s.N > math.MaxInt/s.H/s.W {
		return fmt.Errorf("data: split: N×H×W = %d×%d×%d overflows int", s.N, s.H, s.W)
	}
	if len(s.Images) != s.N*s.H*s.W {
		return fmt.Errorf("data: split: %d image bytes, want N×H×W = %d×%d×%d = %d", len(s.Images), s.N, s.H, s.W, s.N*s.H*s.W)
	}
	if len(s.Labels) != s.N {
		return fmt.Errorf("data: split: %d labels, want N = %d", len(s.Labels), s.N)
	}
	return nil
}

// Head returns the first n examples of s (all of them if n > N, none if n < 0), sharing
// s's memory. On a split that fails Validate it never panics; the result may then be
// inconsistent too.
func (s Split) Head(n int) Split {
	return s.slice(0, n)
}

// Tail returns the last n examples of s (all of them if n > N, none if n < 0), sharing
// s's memory. On a split that fails Validate it never panics; the result may then be
// inconsistent too.
func (s Split) Tail(n int) Split {
	n = clamp(n, 0, s.N)
	return s.slice(s.N-n, s.N)
}

// SplitLast splits s into a training part and a validation part holding the last
// fraction frac of the examples, as Keras's validation_split does: the training part is
// the first floor(N*(1-frac)) examples, the validation part the rest. Both share s's
// memory. frac = 0 gives an empty validation part. The error, starting "data: split: ",
// reports a frac outside [0, 1) (NaN included) or an s that fails Validate.
func (s Split) SplitLast(frac float64) (train, val Split, err error) {
	if !(frac >= 0 && frac < 1) {
		return Split{}, Split{}, fmt.Errorf("data: split: validation fraction %v is outside [0, 1)", frac)
	}
	if err := s.Validate(); err != nil {
		return Split{}, Split{}, err
	}
	at := int(float64(s.N) * (1 - frac))
	return s.slice(0, at), s.slice(at, s.N), nil
}

// Dense converts s to gorgonia.org/tensor arrays: x of shape (N, H*W) and dtype Uint8,
// sharing s.Images, and y of shape (N) and dtype Int32, a copy of the labels. The error,
// starting "data: split: ", reports an s that fails Validate or is empty (N = 0, or
// H*W = 0), which gorgonia's tensors cannot hold.
func (s Split) Dense() (x, y *tensor.Dense, err error) {
	if err := s.Validate(); err != nil {
		return nil, nil, err
	}
	if s.N == 0 || s.H*s.W == 0 {
		return nil, nil, fmt.Errorf("data: split: cannot make a tensor of an empty split (N=%d H=%d W=%d)", s.N, s.H, s.W)
	}
	labels := make([]int32, s.N)
	for i, l := range s.Labels {
		labels[i] = int32(l)
	}
	x = tensor.New(tensor.WithShape(s.N, s.H*s.W), tensor.WithBacking(s.Images))
	y = tensor.New(tensor.WithShape(s.N), tensor.WithBacking(labels))
	return x, y, nil
}

// slice returns examples [from, to) of s, both clamped to [0, N] and to what Images and
// Labels hold, so that it never panics.
func (s Split) slice(from, to int) Split {
	to = clamp(to, 0, s.N)
	from = clamp(from, 0, to)
	size := max(s.H, 0) * max(s.W, 0)
	img := func(i int) int { return clamp(i*size, 0, len(s.Images)) }
	lab := func(i int) int { return clamp(i, 0, len(s.Labels)) }
	return Split{
		Images: s.Images[img(from):img(to):img(to)],
		Labels: s.Labels[lab(from):lab(to):lab(to)],
		N:      to - from,
		H:      s.H,
		W:      s.W,
	}
}

// clamp returns v limited to [lo, hi].
func clamp(v, lo, hi int) int {
	return max(lo, min(v, hi))
}
