//go:build cuda || cudaemu

package cuda

import "github.com/gputrain/gputrain/device"

// Permute implements device.Backend: permute_f32, one thread per element of y, on the
// simplified permutation (device.PermuteArgs.Simplify) padded to six axes with leading
// axes of size 1.
func (b *Backend) Permute(x, y device.Buffer, p device.PermuteArgs) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckPermute(x, y, p); err != nil {
		return err
	}
	if err := b.owns(x, y); err != nil {
		return err
	}
	q := p.Simplify()
	var xs [device.MaxRank]int // strides of x's axes
	s := 1
	for a := q.Rank - 1; a >= 0; a-- {
		xs[a] = s
		s *= q.Shape[a]
	}
	// Slots: x, y, n, then y's six sizes, then the stride in x of each of y's axes.
	var args [3 + 2*device.MaxRank]uint64
	n := p.Len()
	args[0], args[1], args[2] = dp(x), dp(y), i64(n)
	pad := device.MaxRank - q.Rank
	for k := range device.MaxRank {
		od, st := 1, 0
		if k >= pad {
			od, st = q.Shape[q.Perm[k-pad]], xs[q.Perm[k-pad]]
		}
		args[3+k], args[3+device.MaxRank+k] = i64(od), i64(st)
	}
	return b.elementwise(kPermute, n, args[:]...)
}
