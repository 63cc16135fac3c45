package cpu

import "github.com/gputrain/gputrain/device"

// DropoutMask implements device.Backend: mask[i] = device.DropScale(rate) where
// device.PhiloxUint32(seed, offset, i)>>8 >= device.DropThreshold(rate), else 0. The
// call consumes device.PhiloxBlocks(mask.Len()) counters from offset. Errors: those of
// device.CheckDropout, or a buffer of another backend.
func (b *Backend) DropoutMask(mask device.Buffer, rate float32, seed, offset uint64) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckDropout(mask, rate); err != nil {
		return err
	}
	if err := own(mask); err != nil {
		return err
	}
	if b.reference {
		dropoutMaskRef(f32(mask), rate, seed, offset)
		return nil
	}
	t := &b.kernels.dropout
	*t = dropoutTask{mask: f32(mask), threshold: device.DropThreshold(rate), scale: device.DropScale(rate), seed: seed, offset: offset}
	b.pool.parallel(parts(len(t.mask), grain), t)
	*t = dropoutTask{}
	return nil
}

// Augment implements device.Backend: each image n of x (N,C,H,W) shifted and, with
// FlipH, mirrored by the Philox block device.PhiloxBlock(Seed, Offset+n) as
// device.AugmentArgs describes, into y. Errors: those of device.CheckAugment, or a
// buffer of another backend.
func (b *Backend) Augment(x, y device.Buffer, a device.AugmentArgs) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckAugment(x, y, a); err != nil {
		return err
	}
	if err := own(x, y); err != nil {
		return err
	}
	if b.reference {
		augmentRef(f32(x), f32(y), a)
		return nil
	}
	t := &b.kernels.augment
	*t = augmentTask{x: f32(x), y: f32(y), a: a}
	b.pool.parallel(parts(len(t.x), grain), t)
	*t = augmentTask{}
	return nil
}

// dropoutMaskRef: mask of n elements, one Philox draw per element.
func dropoutMaskRef(mask []float32, rate float32, seed, offset uint64) {
	th, scale := device.DropThreshold(rate), device.DropScale(rate)
	for i := range mask {
		if device.PhiloxUint32(seed, offset, i)>>8 >= th {
			mask[i] = scale
		} else {
			mask[i] = 0
		}
	}
}

// augmentShift returns image n's shift (dx columns, dy rows) and whether it is mirrored.
func augmentShift(a device.AugmentArgs, n int) (dx, dy int, flip bool) {
	w := device.PhiloxBlock(a.Seed, a.Offset+uint64(n))
	span := uint32(2*a.MaxShift + 1)
	dx = int(w[0]%span) - a.MaxShift
	dy = int(w[1]%span) - a.MaxShift
	return dx, dy, a.FlipH && w[2]%2 == 1
}

// augmentRef: x, y of (N,C,H,W); y[n,c,r,col] = x[n,c,r-dy,fx(col-dx)] or 0 outside,
// fx(j) = W-1-j when flipped, else j.
func augmentRef(x, y []float32, a device.AugmentArgs) {
	for n := range a.N {
		dx, dy, flip := augmentShift(a, n)
		for c := range a.C {
			plane := (n*a.C + c) * a.H * a.W
			for r := range a.H {
				for col := range a.W {
					sr, sc := r-dy, col-dx
					var v float32
					if sr >= 0 && sr < a.H && sc >= 0 && sc < a.W {
						if flip {
							sc = a.W - 1 - sc
						}
						v = x[plane+sr*a.W+sc]
					}
					y[plane+r*a.W+col] = v
				}
			}
		}
	}
}

// dropoutTask fills a range of the mask per part, one Philox block per four elements.
type dropoutTask struct {
	mask         []float32
	threshold    uint32
	scale        float32
	seed, offset uint64
}

func (t *dropoutTask) run(part, parts int) {
	lo, hi := split(len(t.mask), part, parts, 4) // lo is a multiple of 4: whole blocks
	for i := lo; i < hi; i += 4 {
		w := device.PhiloxBlock(t.seed, t.offset+uint64(i/4))
		m := t.mask[i:min(i+4, hi)]
		for j := range m {
			if w[j]>>8 >= t.threshold {
				m[j] = t.scale
			} else {
				m[j] = 0
			}
		}
	}
}

// augmentTask shifts a range of the N*C image planes per part, a row segment at a time.
type augmentTask struct {
	x, y []float32
	a    device.AugmentArgs
}

func (t *augmentTask) run(part, parts int) {
	a := t.a
	lo, hi := split(a.N*a.C, part, parts, 1)
	hw := a.H * a.W
	for nc := lo; nc < hi; nc++ {
		dx, dy, flip := augmentShift(a, nc/a.C)
		x, y := t.x[nc*hw:(nc+1)*hw], t.y[nc*hw:(nc+1)*hw]
		// Output columns [c0, c1) read source columns col-dx inside [0, W).
		c0, c1 := max(0, dx), min(a.W, a.W+dx)
		for r := range a.H {
			yr := y[r*a.W : (r+1)*a.W]
			sr := r - dy
			if sr < 0 || sr >= a.H {
				clear(yr)
				continue
			}
			xr := x[sr*a.W : (sr+1)*a.W]
			clear(yr[:c0])
			clear(yr[c1:])
			if !flip {
				copy(yr[c0:c1], xr[c0-dx:c1-dx])
				continue
			}
			for col := c0; col < c1; col++ {
				yr[col] = xr[a.W-1-(col-dx)]
			}
		}
	}
}
