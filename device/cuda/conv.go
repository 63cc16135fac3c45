//go:build cuda || cudaemu

package cuda

import "github.com/gputrain/gputrain/device"

// geomArgs are a ConvGeom's kernel parameters: n, c, h, w, kh, kw, sh, sw, ph, pw, oh, ow.
func geomArgs(g device.ConvGeom) [12]uint64 {
	return [12]uint64{i64(g.N), i64(g.C), i64(g.H), i64(g.W), i64(g.KH), i64(g.KW),
		i64(g.StrideH), i64(g.StrideW), i64(g.PadH), i64(g.PadW), i64(g.OutH()), i64(g.OutW())}
}

// Im2Col implements device.Backend (im2col_f32, one thread per col element).
func (b *Backend) Im2Col(x, col device.Buffer, g device.ConvGeom) error {
	if err := device.CheckIm2Col("im2col", x, col, g); err != nil {
		return err
	}
	if err := b.owns(x, col); err != nil {
		return err
	}
	ga := geomArgs(g)
	return b.elementwise(kIm2Col, col.Len(), append([]uint64{dp(x), dp(col)}, ga[:]...)...)
}

// Col2Im implements device.Backend (col2im_f32, one thread per image element gathering
// its col entries: deterministic, no atomics).
func (b *Backend) Col2Im(col, dx device.Buffer, g device.ConvGeom) error {
	if err := device.CheckIm2Col("col2im", dx, col, g); err != nil {
		return err
	}
	if err := b.owns(col, dx); err != nil {
		return err
	}
	ga := geomArgs(g)
	return b.elementwise(kCol2Im, dx.Len(), append([]uint64{dp(col), dp(dx)}, ga[:]...)...)
}
