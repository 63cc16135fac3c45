package cpu

import "github.com/gputrain/gputrain/device"

// Im2Col implements device.Backend: it unfolds x (N,C,H,W) into col (N, C*KH*KW, OH*OW),
//
//	col[n, (c*KH+kh)*KW+kw, oh*OW+ow] = x[n, c, oh*StrideH-PadH+kh, ow*StrideW-PadW+kw]
//
// with 0 where the index falls in the padding. Errors: those of device.CheckIm2Col, or a
// buffer of another backend.
func (b *Backend) Im2Col(x, col device.Buffer, g device.ConvGeom) error {
	if b.closed {
		return device.ErrClosed
	}
	return b.unfold("im2col", false, x, col, g)
}

// Col2Im implements device.Backend, the adjoint of Im2Col: dx (N,C,H,W) is overwritten
// with, for each element, the sum of the col (N, C*KH*KW, OH*OW) entries that Im2Col
// would read it into. Errors: those of device.CheckIm2Col, or a buffer of another
// backend.
func (b *Backend) Col2Im(col, dx device.Buffer, g device.ConvGeom) error {
	if b.closed {
		return device.ErrClosed
	}
	return b.unfold("col2im", true, dx, col, g)
}

// unfold runs Im2Col (x into col) or, adjoint, Col2Im (col into x).
func (b *Backend) unfold(op string, adjoint bool, x, col device.Buffer, g device.ConvGeom) error {
	if err := device.CheckIm2Col(op, x, col, g); err != nil {
		return err
	}
	if err := own(x, col); err != nil {
		return err
	}
	switch {
	case b.reference && adjoint:
		col2imRef(f32(col), f32(x), g)
	case b.reference:
		im2colRef(f32(x), f32(col), g)
	default:
		t := &b.kernels.conv
		*t = convTask{adjoint: adjoint, x: f32(x), col: f32(col), g: g}
		b.pool.parallel(parts(len(t.col), grain), t)
		*t = convTask{}
	}
	return nil
}

// im2colRef: x (N,C,H,W) into col (N, C*KH*KW, OH*OW), one element at a time.
func im2colRef(x, col []float32, g device.ConvGeom) {
	oh, ow := g.OutH(), g.OutW()
	for n := range g.N {
		for c := range g.C {
			for kh := range g.KH {
				for kw := range g.KW {
					row := (n*g.ColRows() + (c*g.KH+kh)*g.KW + kw) * oh * ow
					for i := range oh {
						for j := range ow {
							ih, iw := i*g.StrideH-g.PadH+kh, j*g.StrideW-g.PadW+kw
							var v float32
							if ih >= 0 && ih < g.H && iw >= 0 && iw < g.W {
								v = x[((n*g.C+c)*g.H+ih)*g.W+iw]
							}
							col[row+i*ow+j] = v
						}
					}
				}
			}
		}
	}
}

// col2imRef: dx (N,C,H,W) = 0, then every col (N, C*KH*KW, OH*OW) entry added to the
// input element Im2Col read it from.
func col2imRef(col, dx []float32, g device.ConvGeom) {
	clear(dx)
	oh, ow := g.OutH(), g.OutW()
	for n := range g.N {
		for c := range g.C {
			for kh := range g.KH {
				for kw := range g.KW {
					row := (n*g.ColRows() + (c*g.KH+kh)*g.KW + kw) * oh * ow
					for i := range oh {
						for j := range ow {
							ih, iw := i*g.StrideH-g.PadH+kh, j*g.StrideW-g.PadW+kw
							if ih >= 0 && ih < g.H && iw >= 0 && iw < g.W {
								dx[((n*g.C+c)*g.H+ih)*g.W+iw] += col[row+i*ow+j]
							}
						}
					}
				}
			}
		}
	}
}

// convTask runs Im2Col (or Col2Im when adjoint) over a range of the N*C image planes per
// part: plane (n, c) owns the KH*KW rows of col starting at row c*KH*KW of image n.
type convTask struct {
	adjoint bool
	x, col  []float32
	g       device.ConvGeom
}

func (t *convTask) run(part, parts int) {
	g := t.g
	lo, hi := split(g.N*g.C, part, parts, 1)
	hw, ohw, kk := g.H*g.W, g.OutH()*g.OutW(), g.KH*g.KW
	for nc := lo; nc < hi; nc++ {
		// Image n's col block is ColRows rows of ohw; plane c's rows follow c*kk.
		x := t.x[nc*hw : (nc+1)*hw]
		col := t.col[nc*kk*ohw : (nc+1)*kk*ohw]
		if t.adjoint {
			col2imPlane(col, x, g)
		} else {
			im2colPlane(x, col, g)
		}
	}
}

// validCols returns the output columns [lo, hi) whose input column ow*StrideW-PadW+kw
// lies inside [0, W).
func validCols(g device.ConvGeom, kw int) (lo, hi int) {
	ow := g.OutW()
	if d := g.PadW - kw; d > 0 {
		lo = (d + g.StrideW - 1) / g.StrideW
	}
	if last := g.W - 1 + g.PadW - kw; last >= 0 {
		hi = last/g.StrideW + 1
	}
	lo, hi = min(lo, ow), min(hi, ow)
	return lo, max(lo, hi)
}

// im2colPlane unfolds one H×W plane x into its KH*KW rows of col (each OH×OW).
func im2colPlane(x, col []float32, g device.ConvGeom) {
	oh, ow := g.OutH(), g.OutW()
	for kh := range g.KH {
		for kw := range g.KW {
			dst := col[(kh*g.KW+kw)*oh*ow : (kh*g.KW+kw+1)*oh*ow]
			lo, hi := validCols(g, kw)
			for i := range oh {
				d := dst[i*ow : (i+1)*ow]
				ih := i*g.StrideH - g.PadH + kh
				if ih < 0 || ih >= g.H {
					clear(d)
					continue
				}
				clear(d[:lo])
				clear(d[hi:])
				xr := x[ih*g.W : (ih+1)*g.W]
				off := kw - g.PadW // input column of output column j is j*StrideW + off
				if g.StrideW == 1 {
					copy(d[lo:hi], xr[lo+off:hi+off])
					continue
				}
				for j := lo; j < hi; j++ {
					d[j] = xr[j*g.StrideW+off]
				}
			}
		}
	}
}

// col2imPlane overwrites one H×W plane dx with the sums of its KH*KW rows of col.
func col2imPlane(col, dx []float32, g device.ConvGeom) {
	clear(dx)
	oh, ow := g.OutH(), g.OutW()
	for kh := range g.KH {
		for kw := range g.KW {
			src := col[(kh*g.KW+kw)*oh*ow : (kh*g.KW+kw+1)*oh*ow]
			lo, hi := validCols(g, kw)
			off := kw - g.PadW
			for i := range oh {
				ih := i*g.StrideH - g.PadH + kh
				if ih < 0 || ih >= g.H {
					continue
				}
				s := src[i*ow : (i+1)*ow]
				xr := dx[ih*g.W : (ih+1)*g.W]
				if g.StrideW == 1 {
					xs := xr[lo+off : hi+off]
					for j, v := range s[lo:hi] {
						xs[j] += v
					}
					continue
				}
				for j := lo; j < hi; j++ {
					xr[j*g.StrideW+off] += s[j]
				}
			}
		}
	}
}
