package cpu

import (
	"math"

	"github.com/gputrain/gputrain/device"
)

// Reduce implements device.Backend: y[o,i] = reduce over m of x[o,m,i] for x of shape s
// and y of (s.Outer, s.Inner); ArgMax writes the int32 index of the first maximum.
// Errors: those of device.CheckReduce, or a buffer of another backend.
func (b *Backend) Reduce(op device.ReduceOp, x, y device.Buffer, s device.Shape3) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckReduce(op, x, y, s); err != nil {
		return err
	}
	if err := own(x, y); err != nil {
		return err
	}
	t := &b.kernels.reduce
	*t = reduceTask{vec: b.kernels.vec, op: op, x: f32(x), s: s}
	if op == device.ArgMax {
		t.idx = i32(y)
	} else {
		t.y = f32(y)
	}
	switch {
	case b.reference:
		reduceRef(op, t.x, t.y, t.idx, s)
	case s.Outer == 1 && s.Inner == 1 && s.Mid >= 2*reduceChunk && op != device.ArgMax:
		// One long row (the gradients' norm): fixed chunks in parallel, their partial
		// results joined in order. The chunks depend on Mid only, never on the threads.
		t.chunks = min(len(t.partial), (s.Mid+reduceChunk-1)/reduceChunk)
		b.pool.parallel(t.chunks, t)
		t.joinChunks()
	default:
		n := parts(s.Len(), grainCopy)
		t.byInner = s.Inner > 1 && s.Outer < n
		b.pool.parallel(n, t)
	}
	*t = reduceTask{}
	return nil
}

// reduceChunk is the least length of the chunks a single long row is reduced in.
const reduceChunk = 16384

// joinChunks reduces the chunks' partial results (sums, sums of squares or maxima),
// in order, into the output.
func (t *reduceTask) joinChunks() {
	acc := t.partial[0]
	for _, v := range t.partial[1:t.chunks] {
		if t.op == device.Max {
			if v > acc {
				acc = v
			}
		} else {
			acc += v
		}
	}
	switch t.op {
	case device.Mean:
		acc /= float32(t.s.Mid)
	case device.Norm:
		acc = sqrt32(acc)
	}
	t.y[0] = acc
}

// reduceRef: x of (s.Outer, s.Mid, s.Inner); y (or idx, for ArgMax) of (s.Outer, s.Inner).
// Sums in float64.
func reduceRef(op device.ReduceOp, x, y []float32, idx []int32, s device.Shape3) {
	for o := range s.Outer {
		for i := range s.Inner {
			at := func(m int) float32 { return x[(o*s.Mid+m)*s.Inner+i] } // x[o,m,i]
			switch op {
			case device.Sum, device.Mean, device.SumSquares, device.Norm:
				var sum float64
				for m := range s.Mid {
					v := float64(at(m))
					if op == device.SumSquares || op == device.Norm {
						v *= v
					}
					sum += v
				}
				switch op {
				case device.Mean:
					sum /= float64(s.Mid)
				case device.Norm:
					// the float32 sum of squares, as the tuned loops (overflow included)
					sum = math.Sqrt(float64(float32(sum)))
				}
				y[o*s.Inner+i] = float32(sum)
			case device.Max, device.ArgMax:
				best, arg := at(0), 0
				for m := 1; m < s.Mid; m++ {
					if at(m) > best {
						best, arg = at(m), m
					}
				}
				if op == device.Max {
					y[o*s.Inner+i] = best
				} else {
					idx[o*s.Inner+i] = int32(arg)
				}
			}
		}
	}
}

// reduceTask runs Reduce. Each part takes a range of o (all of Inner), or, when byInner,
// a range of i columns for every o (few Outer, wide Inner: the bias gradient).
type reduceTask struct {
	vec     *vecVariant
	op      device.ReduceOp
	x, y    []float32
	idx     []int32
	s       device.Shape3
	byInner bool
	// chunks > 0: one long row, cut into chunks whose partial results go to partial
	chunks  int
	partial [32]float32
}

func (t *reduceTask) run(part, parts int) {
	s := t.s
	if t.chunks > 0 {
		lo, hi := split(s.Mid, part, parts, 16)
		x := t.x[lo:hi]
		switch t.op {
		case device.Sum, device.Mean:
			t.partial[part] = sum4(x)
		case device.SumSquares, device.Norm:
			t.partial[part] = sumSquares4(x)
		case device.Max:
			best := x[0]
			for _, v := range x[1:] {
				if v > best {
					best = v
				}
			}
			t.partial[part] = best
		}
		return
	}
	olo, ohi, ilo, ihi := 0, s.Outer, 0, s.Inner
	if t.byInner {
		ilo, ihi = split(s.Inner, part, parts, 16)
	} else {
		olo, ohi = split(s.Outer, part, parts, 1)
	}
	for o := olo; o < ohi; o++ {
		x := t.x[o*s.Mid*s.Inner : (o+1)*s.Mid*s.Inner]
		if s.Inner == 1 {
			t.reduceRow(o, x)
		} else {
			t.reduceColumns(o, x, ilo, ihi)
		}
	}
}

// reduceRow reduces the contiguous row x (Mid elements) into output o.
func (t *reduceTask) reduceRow(o int, x []float32) {
	switch t.op {
	case device.Sum:
		t.y[o] = sum4(x)
	case device.Mean:
		t.y[o] = sum4(x) / float32(len(x))
	case device.SumSquares:
		t.y[o] = sumSquares4(x)
	case device.Norm:
		t.y[o] = sqrt32(sumSquares4(x))
	case device.Max:
		best := x[0]
		for _, v := range x[1:] {
			if v > best {
				best = v
			}
		}
		t.y[o] = best
	case device.ArgMax:
		t.idx[o] = int32(argmax(x))
	}
}

// reduceColumns reduces columns [lo, hi) of x (Mid×Inner) into row o of y, walking x row
// by row so that the inner loops are contiguous.
func (t *reduceTask) reduceColumns(o int, x []float32, lo, hi int) {
	in := t.s.Inner
	if t.op == device.ArgMax {
		for i := lo; i < hi; i++ {
			best, arg := x[i], 0
			for m := 1; m < t.s.Mid; m++ {
				if v := x[m*in+i]; v > best {
					best, arg = v, m
				}
			}
			t.idx[o*in+i] = int32(arg)
		}
		return
	}
	y := t.y[o*in+lo : o*in+hi]
	copy(y, x[lo:hi])
	if t.op == device.SumSquares || t.op == device.Norm {
		for i, v := range y {
			y[i] = v * v
		}
	}
	for m := 1; m < t.s.Mid; m++ {
		xm := x[m*in+lo : m*in+hi]
		switch t.op {
		case device.Sum, device.Mean:
			t.vec.binary(device.Add, y, y, xm)
		case device.SumSquares, device.Norm:
			for i, v := range xm {
				y[i] += v * v
			}
		case device.Max:
			for i, v := range xm {
				if v > y[i] {
					y[i] = v
				}
			}
		}
	}
	switch t.op {
	case device.Mean:
		t.vec.axpby(y, y, 1/float32(t.s.Mid), 0)
	case device.Norm:
		for i, v := range y {
			y[i] = sqrt32(v)
		}
	}
}

// sqrt32 is the correctly rounded float32 square root of v (float64's root of a
// float32 rounds to the float32 nearest the exact one).
func sqrt32(v float32) float32 { return float32(math.Sqrt(float64(v))) }

// sum4 is the float32 sum of x over four interleaved accumulators.
func sum4(x []float32) float32 {
	var s0, s1, s2, s3 float32
	n := len(x) &^ 3
	for i := 0; i < n; i += 4 {
		s0 += x[i]
		s1 += x[i+1]
		s2 += x[i+2]
		s3 += x[i+3]
	}
	for _, v := range x[n:] {
		s0 += v
	}
	return (s0 + s1) + (s2 + s3)
}

// sumSquares4 is the float32 sum of x² over four interleaved accumulators.
func sumSquares4(x []float32) float32 {
	var s0, s1, s2, s3 float32
	n := len(x) &^ 3
	for i := 0; i < n; i += 4 {
		s0 += x[i] * x[i]
		s1 += x[i+1] * x[i+1]
		s2 += x[i+2] * x[i+2]
		s3 += x[i+3] * x[i+3]
	}
	for _, v := range x[n:] {
		s0 += v * v
	}
	return (s0 + s1) + (s2 + s3)
}

// argmax is the index of the first largest element of x (0 if none compares larger
// than x[0], as with NaNs).
func argmax(x []float32) int {
	best, arg := x[0], 0
	for i, v := range x {
		if v > best {
			best, arg = v, i
		}
	}
	return arg
}
