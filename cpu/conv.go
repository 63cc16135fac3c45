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
		if adjoint {
			b.kernels.conv.growWork(g)
		}
		t := &b.kernels.unfold
		*t = unfoldTask{k: &b.kernels, adjoint: adjoint, x: f32(x), col: f32(col), g: g}
		b.pool.parallel(min(g.N, parts(len(t.col), grain)), t)
		*t = unfoldTask{}
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

// unfoldTask runs Im2Col (or Col2Im when adjoint) over a range of the N images per
// part, with the vector variant's unfolding of one image.
type unfoldTask struct {
	k       *kernels
	adjoint bool
	x, col  []float32
	g       device.ConvGeom
}

// col2imWork is the least scratch that vecVariant.col2im gets (more for larger planes,
// see convState.growWork): an accumulator plane of H·⌈W/16⌉·16 floats, 64-byte aligned.
const col2imWork = 4096 + 16

func (t *unfoldTask) run(part, parts int) { t.runOn(part, parts, 0) }

func (t *unfoldTask) runOn(part, parts, thread int) {
	g := t.g
	lo, hi := split(g.N, part, parts, 1)
	chw, ohw := g.C*g.H*g.W, g.OutH()*g.OutW()
	size := g.ColRows() * ohw
	for n := lo; n < hi; n++ {
		x, col := t.x[n*chw:(n+1)*chw], t.col[n*size:(n+1)*size]
		// &t.g, not &g: a pointer to a local handed to a function value escapes.
		if t.adjoint {
			t.k.vec.col2im(col, ohw, x, &t.g, t.k.conv.scratch[thread].work)
		} else {
			t.k.vec.im2col(x, col, ohw, &t.g)
		}
	}
}

// validCols returns the output columns [lo, hi) whose input column ow*StrideW-PadW+kw
// lies inside [0, W).
func validCols(g *device.ConvGeom, kw int) (lo, hi int) {
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

// im2colGo unfolds one image x (C, H, W) of g into the C*KH*KW rows of col, ld apart,
// each holding the image's OH*OW values for one tap (c, kh, kw), as Im2Col does for
// each image.
func im2colGo(x, col []float32, ld int, g *device.ConvGeom) {
	oh, ow := g.OutH(), g.OutW()
	for c := range g.C {
		xc := x[c*g.H*g.W : (c+1)*g.H*g.W]
		for kh := range g.KH {
			for kw := range g.KW {
				r := (c*g.KH+kh)*g.KW + kw
				dst := col[r*ld : r*ld+oh*ow]
				lo, hi := validCols(g, kw)
				off := kw - g.PadW // input column of output column j is j*StrideW + off
				for i := range oh {
					d := dst[i*ow : (i+1)*ow]
					ih := i*g.StrideH - g.PadH + kh
					if ih < 0 || ih >= g.H {
						clear(d)
						continue
					}
					clear(d[:lo])
					clear(d[hi:])
					xr := xc[ih*g.W : (ih+1)*g.W]
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
}

// col2imGo overwrites one image dx (C, H, W) of g with the sums of the C*KH*KW rows of
// col (ld apart) that im2colGo would unfold it into: its adjoint. (work is scratch
// for the assembly versions, col2imWork floats; unused here.)
func col2imGo(col []float32, ld int, dx []float32, g *device.ConvGeom, _ []float32) {
	clear(dx[:g.C*g.H*g.W])
	oh, ow := g.OutH(), g.OutW()
	for c := range g.C {
		xc := dx[c*g.H*g.W : (c+1)*g.H*g.W]
		for kh := range g.KH {
			for kw := range g.KW {
				r := (c*g.KH+kh)*g.KW + kw
				src := col[r*ld : r*ld+oh*ow]
				lo, hi := validCols(g, kw)
				off := kw - g.PadW
				for i := range oh {
					ih := i*g.StrideH - g.PadH + kh
					if ih < 0 || ih >= g.H {
						continue
					}
					s := src[i*ow : (i+1)*ow]
					xr := xc[ih*g.W : (ih+1)*g.W]
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
}

// Conv implements device.Backend: Y (N,F,OH,OW) = the convolution of X (N,C,H,W) with W
// (F,C,KH,KW), plus B (F) when set, see device.ConvArgs. Errors: those of
// device.CheckConv, or a buffer of another backend.
func (b *Backend) Conv(a device.ConvArgs) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckConv(a, false); err != nil {
		return err
	}
	if err := own(a.X, a.W, a.B, a.Y); err != nil {
		return err
	}
	if b.reference {
		convRef(f32(a.X), f32(a.W), f32(a.B), f32(a.Y), a.G, a.F)
		return nil
	}
	b.kernels.convForward(a)
	return nil
}

// ConvBackward implements device.Backend: DW and DB (when set) get the gradients of the
// filters and the bias, added (a.Accumulate) or overwriting; DX (when set) is overwritten
// with the input gradient, see device.ConvArgs. Errors: those of device.CheckConv, or a
// buffer of another backend.
func (b *Backend) ConvBackward(a device.ConvArgs) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckConv(a, true); err != nil {
		return err
	}
	if err := own(a.X, a.W, a.DY, a.DX, a.DW, a.DB); err != nil {
		return err
	}
	if b.reference {
		convBackwardRef(f32(a.X), f32(a.W), f32(a.DY), f32(a.DX), f32(a.DW), f32(a.DB), a.G, a.F, a.Accumulate)
		return nil
	}
	b.kernels.convBackward(a)
	return nil
}

// convRef: y (N,F,OH,OW) from x (N,C,H,W), w (F,C,KH,KW) and b (F, or nil), one output
// at a time, summed in float64:
//
//	y[n,f,i,j] = b[f] + Σ_{c,u,v} w[f,c,u,v] · x[n, c, i*StrideH-PadH+u, j*StrideW-PadW+v]
func convRef(x, w, b, y []float32, g device.ConvGeom, filters int) {
	oh, ow := g.OutH(), g.OutW()
	for n := range g.N {
		for f := range filters {
			for i := range oh {
				for j := range ow {
					var s float64
					if b != nil {
						s = float64(b[f])
					}
					for c := range g.C {
						for u := range g.KH {
							for v := range g.KW {
								ih, iw := i*g.StrideH-g.PadH+u, j*g.StrideW-g.PadW+v
								if ih < 0 || ih >= g.H || iw < 0 || iw >= g.W {
									continue // padding
								}
								s += float64(w[((f*g.C+c)*g.KH+u)*g.KW+v]) * float64(x[((n*g.C+c)*g.H+ih)*g.W+iw])
							}
						}
					}
					y[((n*filters+f)*oh+i)*ow+j] = float32(s)
				}
			}
		}
	}
}

// convBackwardRef: from dy (N,F,OH,OW), x and w, the filter gradient dw (F,C,KH,KW), the
// bias gradient db (F, or nil) and the input gradient dx (N,C,H,W, or nil), each
// element summed in float64 over every output its forward value reached:
//
//	dw[f,c,u,v] (+)= Σ_{n,i,j} dy[n,f,i,j] · x[n, c, i*StrideH-PadH+u, j*StrideW-PadW+v]
//	db[f]       (+)= Σ_{n,i,j} dy[n,f,i,j]
//	dx[n,c,h,w']  = Σ dy[n,f,i,j] · w[f,c,u,v] over the windows (i,j) and taps (u,v) reading x[n,c,h,w']
//
// with += for dw and db when accumulate.
func convBackwardRef(x, w, dy, dx, dw, db []float32, g device.ConvGeom, filters int, accumulate bool) {
	oh, ow := g.OutH(), g.OutW()
	for f := range filters {
		for c := range g.C {
			for u := range g.KH {
				for v := range g.KW {
					var s float64
					for n := range g.N {
						for i := range oh {
							for j := range ow {
								ih, iw := i*g.StrideH-g.PadH+u, j*g.StrideW-g.PadW+v
								if ih < 0 || ih >= g.H || iw < 0 || iw >= g.W {
									continue
								}
								s += float64(dy[((n*filters+f)*oh+i)*ow+j]) * float64(x[((n*g.C+c)*g.H+ih)*g.W+iw])
							}
						}
					}
					k := ((f*g.C+c)*g.KH+u)*g.KW + v
					if accumulate {
						s += float64(dw[k])
					}
					dw[k] = float32(s)
				}
			}
		}
		if db != nil {
			var s float64
			for n := range g.N {
				for _, d := range dy[(n*filters+f)*oh*ow : (n*filters+f+1)*oh*ow] {
					s += float64(d)
				}
			}
			if accumulate {
				s += float64(db[f])
			}
			db[f] = float32(s)
		}
	}
	if dx == nil {
		return
	}
	for n := range g.N {
		for c := range g.C {
			for h := range g.H {
				for wc := range g.W {
					var s float64
					for f := range filters {
						for u := range g.KH {
							for v := range g.KW {
								// Output (i, j) reads x[h, wc] through tap (u, v) when
								// i*StrideH = h+PadH-u and j*StrideW = wc+PadW-v.
								ti, tj := h+g.PadH-u, wc+g.PadW-v
								if ti < 0 || tj < 0 || ti%g.StrideH != 0 || tj%g.StrideW != 0 {
									continue
								}
								i, j := ti/g.StrideH, tj/g.StrideW
								if i >= oh || j >= ow {
									continue
								}
								s += float64(dy[((n*filters+f)*oh+i)*ow+j]) * float64(w[((f*g.C+c)*g.KH+u)*g.KW+v])
							}
						}
					}
					dx[((n*g.C+c)*g.H+h)*g.W+wc] = float32(s)
				}
			}
		}
	}
}
