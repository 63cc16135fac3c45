package cpu

import "github.com/gputrain/gputrain/device"

// Pool implements device.Backend: y (N,C,OH,OW) from the KH×KW windows of x (N,C,H,W):
// their maximum (padding never wins) or their mean (padding counts as zero: the sum
// of the window's elements divided by KH*KW). Errors: those of device.CheckPool, or a
// buffer of another backend.
func (b *Backend) Pool(op device.PoolOp, x, y device.Buffer, g device.ConvGeom) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckPool(op, x, y, nil, nil, g, false); err != nil {
		return err
	}
	if err := own(x, y); err != nil {
		return err
	}
	if b.reference {
		poolRef(op, f32(x), f32(y), g)
		return nil
	}
	t := &b.kernels.pooling
	*t = poolTask{vec: b.kernels.vec, op: op, x: f32(x), y: f32(y), g: g}
	b.pool.parallel(parts(len(t.x), grain), t)
	*t = poolTask{}
	return nil
}

// PoolBackward implements device.Backend: dx (N,C,H,W) is overwritten with the gradient
// of the pooling from dy (N,C,OH,OW). MaxPool gives each dy to the first element of its
// window (row-major, padding skipped) whose x equals y; AvgPool gives dy/(KH*KW) to each
// element of the window. Errors: those of device.CheckPool, or a buffer of another
// backend.
func (b *Backend) PoolBackward(op device.PoolOp, x, y, dy, dx device.Buffer, g device.ConvGeom) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckPool(op, x, y, dy, dx, g, true); err != nil {
		return err
	}
	if err := own(x, y, dy, dx); err != nil {
		return err
	}
	if b.reference {
		poolBackwardRef(op, f32(x), f32(y), f32(dy), f32(dx), g)
		return nil
	}
	t := &b.kernels.pooling
	*t = poolTask{vec: b.kernels.vec, op: op, backward: true, x: f32(x), y: f32(y), dy: f32(dy), dx: f32(dx), g: g}
	b.pool.parallel(parts(len(t.x), grain), t)
	*t = poolTask{}
	return nil
}

// poolRef: x (N,C,H,W), y (N,C,OH,OW); y[n,c,i,j] = max or sum/(KH*KW) of
// x[n,c, i*StrideH-PadH+kh, j*StrideW-PadW+kw] over the window's in-image elements.
func poolRef(op device.PoolOp, x, y []float32, g device.ConvGeom) {
	oh, ow := g.OutH(), g.OutW()
	for nc := range g.N * g.C {
		for i := range oh {
			for j := range ow {
				var acc float32
				first := true
				for kh := range g.KH {
					for kw := range g.KW {
						ih, iw := i*g.StrideH-g.PadH+kh, j*g.StrideW-g.PadW+kw
						if ih < 0 || ih >= g.H || iw < 0 || iw >= g.W {
							continue // padding
						}
						v := x[(nc*g.H+ih)*g.W+iw]
						switch {
						case op == device.AvgPool:
							acc += v
						case first || v > acc:
							acc = v
						}
						first = false
					}
				}
				if op == device.AvgPool {
					acc /= float32(g.KH * g.KW)
				}
				y[(nc*oh+i)*ow+j] = acc
			}
		}
	}
}

// poolBackwardRef: dx (N,C,H,W) = 0, then each dy[n,c,i,j] added to the first element of
// its window equal to y[n,c,i,j] (MaxPool) or, divided by KH*KW, to every element (AvgPool).
func poolBackwardRef(op device.PoolOp, x, y, dy, dx []float32, g device.ConvGeom) {
	clear(dx)
	oh, ow := g.OutH(), g.OutW()
	for nc := range g.N * g.C {
		for i := range oh {
			for j := range ow {
				o := (nc*oh+i)*ow + j
				routed := false
				for kh := range g.KH {
					for kw := range g.KW {
						ih, iw := i*g.StrideH-g.PadH+kh, j*g.StrideW-g.PadW+kw
						if ih < 0 || ih >= g.H || iw < 0 || iw >= g.W {
							continue // padding
						}
						k := (nc*g.H+ih)*g.W + iw
						switch {
						case op == device.AvgPool:
							dx[k] += dy[o] / float32(g.KH*g.KW)
						case !routed && x[k] == y[o]:
							dx[k] += dy[o]
							routed = true
						}
					}
				}
			}
		}
	}
}

// poolTask runs Pool (or PoolBackward) over a range of the N*C planes per part, with
// each window clipped to the image once instead of testing every element.
type poolTask struct {
	vec          *vecVariant
	op           device.PoolOp
	backward     bool
	x, y, dy, dx []float32
	g            device.ConvGeom
}

func (t *poolTask) run(part, parts int) {
	g := t.g
	lo, hi := split(g.N*g.C, part, parts, 1)
	hw, ohw := g.H*g.W, g.OutH()*g.OutW()
	if t.op == device.MaxPool && g.KH == 2 && g.KW == 2 && g.StrideH == 2 && g.StrideW == 2 && g.PadH == 0 && g.PadW == 0 {
		t.maxPool2(lo, hi)
		return
	}
	for nc := lo; nc < hi; nc++ {
		x, y := t.x[nc*hw:(nc+1)*hw], t.y[nc*ohw:(nc+1)*ohw]
		if t.backward {
			t.backwardPlane(x, y, t.dy[nc*ohw:(nc+1)*ohw], t.dx[nc*hw:(nc+1)*hw])
		} else {
			t.forwardPlane(x, y)
		}
	}
}

// maxPool2 runs MaxPool (or its backward pass) with 2×2 windows every 2 pixels on the
// planes [lo, hi) through the vector kernels. When H = 2*OH the planes' rows follow each
// other with no row between them that no window reads, so all the planes' output rows
// go to the kernel in one call. The kernels write only the 2*OW first columns of the 2*OH
// first rows of dx: the rest (an odd last row or column) is cleared first.
func (t *poolTask) maxPool2(lo, hi int) {
	g := t.g
	oh, ow := g.OutH(), g.OutW()
	hw, ohw := g.H*g.W, oh*ow
	x, y := t.x[lo*hw:hi*hw], t.y[lo*ohw:hi*ohw]
	var dy, dx []float32
	if t.backward {
		dy, dx = t.dy[lo*ohw:hi*ohw], t.dx[lo*hw:hi*hw]
		if g.H != 2*oh || g.W != 2*ow {
			clear(dx)
		}
	}
	planes, rows := hi-lo, oh
	if g.H == 2*oh {
		planes, rows = 1, (hi-lo)*oh
	}
	for p := range planes {
		xp, yp := x[p*hw:], y[p*ohw:]
		if t.backward {
			t.vec.maxPool2Backward(xp, yp, dy[p*ohw:], dx[p*hw:], rows, ow, g.W)
		} else {
			t.vec.maxPool2(xp, yp, rows, ow, g.W)
		}
	}
}

// maxPool2Go is 2×2 max pooling with stride 2 over rows output rows of ow values, from
// input rows of w >= 2*ow values: for r < rows and j < ow, y[r*ow+j] is the maximum of
// the window x[2r*w+2j], x[2r*w+2j+1], x[(2r+1)*w+2j], x[(2r+1)*w+2j+1], taken in that
// order with a value replacing the maximum so far only when greater (as poolRef: NaNs
// after the first element never win, and of equal values the first stays).
func maxPool2Go(x, y []float32, rows, ow, w int) {
	for r := range rows {
		top, bot := x[2*r*w:2*r*w+2*ow], x[(2*r+1)*w:(2*r+1)*w+2*ow]
		yr := y[r*ow : (r+1)*ow]
		for j := range yr {
			m := top[2*j]
			if v := top[2*j+1]; v > m {
				m = v
			}
			if v := bot[2*j]; v > m {
				m = v
			}
			if v := bot[2*j+1]; v > m {
				m = v
			}
			yr[j] = m
		}
	}
}

// maxPool2BackwardGo is maxPool2Go's backward pass: each window of maxPool2Go gets
// dy[r*ow+j] at its first element (in the same order) equal to y[r*ow+j] and 0 at the
// others (0 everywhere when none is: y is NaN). It writes only the 2*ow first columns
// of the 2*rows first rows of dx (row stride w).
func maxPool2BackwardGo(x, y, dy, dx []float32, rows, ow, w int) {
	for r := range rows {
		t, b := 2*r*w, (2*r+1)*w
		top, bot := x[t:t+2*ow], x[b:b+2*ow]
		dtop, dbot := dx[t:t+2*ow], dx[b:b+2*ow]
		yr, dyr := y[r*ow:(r+1)*ow], dy[r*ow:(r+1)*ow]
		for j, d := range dyr {
			m := yr[j]
			var d0, d1, d2, d3 float32
			switch m {
			case top[2*j]:
				d0 = d
			case top[2*j+1]:
				d1 = d
			case bot[2*j]:
				d2 = d
			case bot[2*j+1]:
				d3 = d
			}
			dtop[2*j], dtop[2*j+1], dbot[2*j], dbot[2*j+1] = d0, d1, d2, d3
		}
	}
}

// window returns window (i, j)'s rows [r0, r1) and columns [c0, c1) inside the image.
func window(g device.ConvGeom, i, j int) (r0, r1, c0, c1 int) {
	r0, c0 = i*g.StrideH-g.PadH, j*g.StrideW-g.PadW
	return max(r0, 0), min(r0+g.KH, g.H), max(c0, 0), min(c0+g.KW, g.W)
}

func (t *poolTask) forwardPlane(x, y []float32) {
	g := t.g
	ow := g.OutW()
	if g.KH == 2 && g.KW == 2 && g.PadH == 0 && g.PadW == 0 {
		pool2x2(t.op, x, y, g)
		return
	}
	area := float32(g.KH * g.KW)
	for o := range y {
		r0, r1, c0, c1 := window(g, o/ow, o%ow)
		if t.op == device.MaxPool {
			best := x[r0*g.W+c0]
			for r := r0; r < r1; r++ {
				for _, v := range x[r*g.W+c0 : r*g.W+c1] {
					if v > best {
						best = v
					}
				}
			}
			y[o] = best
			continue
		}
		var sum float32
		for r := r0; r < r1; r++ {
			for _, v := range x[r*g.W+c0 : r*g.W+c1] {
				sum += v
			}
		}
		y[o] = sum / area
	}
}

func (t *poolTask) backwardPlane(x, y, dy, dx []float32) {
	g := t.g
	ow := g.OutW()
	clear(dx)
	if g.KH == 2 && g.KW == 2 && g.PadH == 0 && g.PadW == 0 {
		pool2x2Backward(t.op, x, y, dy, dx, g)
		return
	}
	area := float32(g.KH * g.KW)
	for o, d := range dy {
		r0, r1, c0, c1 := window(g, o/ow, o%ow)
		if t.op == device.AvgPool {
			d /= area
			for r := r0; r < r1; r++ {
				row := dx[r*g.W+c0 : r*g.W+c1]
				for k := range row {
					row[k] += d
				}
			}
			continue
		}
	find:
		for r := r0; r < r1; r++ {
			for c := c0; c < c1; c++ {
				if x[r*g.W+c] == y[o] {
					dx[r*g.W+c] += d
					break find
				}
			}
		}
	}
}

// pool2x2 is forwardPlane for unpadded 2×2 windows (every window inside the image), the
// common pooling layer: four loads per output, no clipping.
func pool2x2(op device.PoolOp, x, y []float32, g device.ConvGeom) {
	oh, ow := g.OutH(), g.OutW()
	for i := range oh {
		r := i * g.StrideH
		top, bot := x[r*g.W:(r+1)*g.W], x[(r+1)*g.W:(r+2)*g.W]
		yr := y[i*ow : (i+1)*ow]
		for j := range yr {
			c := j * g.StrideW
			a, b, cc, d := top[c], top[c+1], bot[c], bot[c+1]
			if op == device.AvgPool {
				yr[j] = (a + b + cc + d) / 4
				continue
			}
			if b > a {
				a = b
			}
			if cc > a {
				a = cc
			}
			if d > a {
				a = d
			}
			yr[j] = a
		}
	}
}

// pool2x2Backward is backwardPlane for unpadded 2×2 windows, after dx is cleared: each
// dy goes to the first of its window's four elements (row-major) equal to y (MaxPool),
// or a quarter of it to each (AvgPool). It reads each window's two rows in place instead
// of clipping every window to the image (BenchmarkTrainStepCNN profiles it).
func pool2x2Backward(op device.PoolOp, x, y, dy, dx []float32, g device.ConvGeom) {
	oh, ow, w := g.OutH(), g.OutW(), g.W
	for i := range oh {
		r := i * g.StrideH * w
		top, bot := x[r:r+w], x[r+w:r+2*w]
		yr, dyr := y[i*ow:(i+1)*ow], dy[i*ow:(i+1)*ow]
		if op == device.AvgPool {
			dtop, dbot := dx[r:r+w], dx[r+w:r+2*w]
			for j, d := range dyr {
				c := j * g.StrideW
				d /= 4
				dtop[c] += d
				dtop[c+1] += d
				dbot[c] += d
				dbot[c+1] += d
			}
			continue
		}
		for j, d := range dyr {
			c := j * g.StrideW
			m := yr[j]
			at := -1 // dx index of the first element equal to m, -1 for none (m is NaN)
			if bot[c+1] == m {
				at = r + w + c + 1
			}
			if bot[c] == m {
				at = r + w + c
			}
			if top[c+1] == m {
				at = r + c + 1
			}
			if top[c] == m {
				at = r + c
			}
			if at >= 0 {
				dx[at] += d
			}
		}
	}
}
