package cpu

import "github.com/gputrain/gputrain/device"

// Permute implements device.Backend: y = x with its axes reordered (see
// device.PermuteArgs), as head layouts (B,T,H,D) ↔ (B,H,T,D) and the split of a fused
// qkv projection need. Errors: those of device.CheckPermute, or a buffer of another
// backend.
func (b *Backend) Permute(x, y device.Buffer, p device.PermuteArgs) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckPermute(x, y, p); err != nil {
		return err
	}
	if err := own(x, y); err != nil {
		return err
	}
	if b.reference {
		permuteRef(f32(x), f32(y), p)
		return nil
	}
	t := &b.kernels.permute
	*t = permuteTask{x: f32(x), y: f32(y)}
	t.set(p.Simplify())
	b.pool.parallel(min(t.runs, parts(len(t.x), grainCopy)), t)
	*t = permuteTask{}
	return nil
}

// permuteRef: x has shape p.Shape[:p.Rank], y shape p.OutShape(); for each index i of
// y (row-major), y[i] = x[j] with j[p.Perm[k]] = i[k].
func permuteRef(x, y []float32, p device.PermuteArgs) {
	out := p.OutShape()
	var stride [device.MaxRank]int // of x's axes
	s := 1
	for a := p.Rank - 1; a >= 0; a-- {
		stride[a] = s
		s *= p.Shape[a]
	}
	for o := range y {
		rest, j := o, 0
		for k := p.Rank - 1; k >= 0; k-- {
			ik := rest % out[k] // y's index along axis k
			rest /= out[k]
			j += ik * stride[p.Perm[k]]
		}
		y[o] = x[j]
	}
}

// permuteTask copies runs of y: a run is run contiguous elements of y taken from
// contiguous elements of x (the last axis when the simplified permutation keeps it last,
// else single elements). Part p copies a range of runs, walking y's outer indices as an
// odometer.
type permuteTask struct {
	x, y   []float32
	rank   int                 // y's axes outside the run
	out    [device.MaxRank]int // their sizes
	stride [device.MaxRank]int // the step in x of each of them
	runLen int                 // elements per run
	runs   int                 // len(y)/run
}

// set fills the task for a simplified permutation p.
func (t *permuteTask) set(p device.PermuteArgs) {
	var xs [device.MaxRank]int
	s := 1
	for a := p.Rank - 1; a >= 0; a-- {
		xs[a] = s
		s *= p.Shape[a]
	}
	t.rank, t.runLen = p.Rank, 1
	if p.Perm[p.Rank-1] == p.Rank-1 {
		t.rank--
		t.runLen = p.Shape[p.Rank-1]
	}
	for k := range t.rank {
		t.out[k] = p.Shape[p.Perm[k]]
		t.stride[k] = xs[p.Perm[k]]
	}
	t.runs = len(t.x) / t.runLen
}

func (t *permuteTask) run(part, parts int) {
	lo, hi := split(t.runs, part, parts, 1)
	if lo == hi {
		return
	}
	// idx: the outer index of run lo; off: its offset in x.
	var idx [device.MaxRank]int
	rest, off := lo, 0
	for k := t.rank - 1; k >= 0; k-- {
		idx[k] = rest % t.out[k]
		rest /= t.out[k]
		off += idx[k] * t.stride[k]
	}
	n := t.runLen
	for q := lo; q < hi; q++ {
		if n == 1 {
			t.y[q] = t.x[off]
		} else {
			copy(t.y[q*n:(q+1)*n], t.x[off:off+n])
		}
		for k := t.rank - 1; k >= 0; k-- { // next outer index
			idx[k]++
			off += t.stride[k]
			if idx[k] < t.out[k] {
				break
			}
			off -= idx[k] * t.stride[k]
			idx[k] = 0
		}
	}
}
