//go:build cuda || cudaemu

package cuda

import (
	"fmt"

	"github.com/gputrain/gputrain/device"
)

// geomArgs are a ConvGeom's kernel parameters: n, c, h, w, kh, kw, sh, sw, ph, pw, oh, ow.
func geomArgs(g device.ConvGeom) [12]uint64 {
	return [12]uint64{i64(g.N), i64(g.C), i64(g.H), i64(g.W), i64(g.KH), i64(g.KW),
		i64(g.StrideH), i64(g.StrideW), i64(g.PadH), i64(g.PadW), i64(g.OutH()), i64(g.OutW())}
}

// Im2Col implements device.Backend (im2col_f32, one thread per col element).
func (b *Backend) Im2Col(x, col device.Buffer, g device.ConvGeom) error {
	if b.closed {
		return device.ErrClosed
	}
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
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckIm2Col("col2im", dx, col, g); err != nil {
		return err
	}
	if err := b.owns(col, dx); err != nil {
		return err
	}
	ga := geomArgs(g)
	return b.elementwise(kCol2Im, dx.Len(), append([]uint64{dp(col), dp(dx)}, ga[:]...)...)
}

// convWork is the scratch memory of Conv and ConvBackward, which run as compositions
// of the kernels above and cuBLAS: the unfolded batch (N, C*KH*KW, OH*OW), the
// per-image filter gradients (N, F, C*KH*KW) and bias gradients (N, F) before they are
// summed over the batch, and the summed gradients (F*C*KH*KW and F) when they are to
// be added to DW and DB. One buffer, grown (never shrunk) to the largest call, cut into
// views that are kept until the sizes change, so that a training step allocates nothing
// after its first call (an allocation would keep a CUDA graph from being captured).
type convWork struct {
	buf                 device.Buffer
	sizes               [5]int // the lengths the views were cut for
	col, dwBatch, dbTmp device.Buffer
	sumW, sumB          device.Buffer
}

// convViews returns the scratch views for a call of these lengths.
func (b *Backend) convViews(col, dwBatch, dbTmp, sumW, sumB int) (*convWork, error) {
	w := &b.conv
	sizes := [5]int{col, dwBatch, dbTmp, sumW, sumB}
	if w.buf != nil && w.sizes == sizes {
		return w, nil
	}
	total := col + dwBatch + dbTmp + sumW + sumB
	if w.buf == nil || w.buf.Len() < total {
		if w.buf != nil {
			b.Free(w.buf)
		}
		buf, err := b.Alloc(device.Float32, total)
		if err != nil {
			return nil, fmt.Errorf("cuda: conv scratch of %d floats: %w", total, err)
		}
		w.buf = buf
	}
	off := 0
	for _, v := range []struct {
		dst *device.Buffer
		n   int
	}{{&w.col, col}, {&w.dwBatch, dwBatch}, {&w.dbTmp, dbTmp}, {&w.sumW, sumW}, {&w.sumB, sumB}} {
		view, err := b.View(w.buf, off, v.n)
		if err != nil {
			return nil, err
		}
		*v.dst = view
		off += v.n
	}
	w.sizes = sizes
	return w, nil
}

// Conv implements device.Backend: Im2Col of the batch, one strided batched GEMM
// (Y_n = W · col_n), then the bias broadcast over each filter's pixels.
func (b *Backend) Conv(a device.ConvArgs) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckConv(a, false); err != nil {
		return err
	}
	if err := b.owns(a.X, a.W, a.B, a.Y); err != nil {
		return err
	}
	g := a.G
	kk, p := g.ColRows(), g.OutH()*g.OutW()
	w, err := b.convViews(g.N*kk*p, 0, 0, 0, 0)
	if err != nil {
		return err
	}
	if err := b.Im2Col(a.X, w.col, g); err != nil {
		return err
	}
	// Y_n (F × P) = W (F × K) · col_n (K × P)
	if err := b.Gemm(device.GemmArgs{M: a.F, N: p, K: kk, Alpha: 1, A: a.W, B: w.col, C: a.Y,
		Batch: g.N, StrideB: kk * p, StrideC: a.F * p}); err != nil {
		return err
	}
	if a.B == nil {
		return nil
	}
	return b.Broadcast(device.Add, a.Y, a.B, a.Y, device.Shape3{Outer: g.N, Mid: a.F, Inner: p})
}

// ConvBackward implements device.Backend: Im2Col of the batch; per-image filter
// gradients dW_n = DY_n · col_nᵀ (one strided batched GEMM) summed over the batch, and
// the bias gradient likewise from DY's per-image sums; then, for DX, col_n = Wᵀ · DY_n
// (a second batched GEMM into the same scratch) and Col2Im. With Accumulate the summed
// gradients go to scratch first and are added to DW and DB.
func (b *Backend) ConvBackward(a device.ConvArgs) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckConv(a, true); err != nil {
		return err
	}
	if err := b.owns(a.X, a.W, a.DY, a.DX, a.DW, a.DB); err != nil {
		return err
	}
	g, f := a.G, a.F
	kk, p := g.ColRows(), g.OutH()*g.OutW()
	sumW, sumB := 0, 0
	if a.Accumulate {
		sumW, sumB = f*kk, f
	}
	w, err := b.convViews(g.N*kk*p, g.N*f*kk, g.N*f, sumW, sumB)
	if err != nil {
		return err
	}
	if err := b.Im2Col(a.X, w.col, g); err != nil {
		return err
	}
	// dW_n (F × K) = DY_n (F × P) · col_nᵀ (P × K); dW = Σ_n dW_n
	if err := b.Gemm(device.GemmArgs{TransB: true, M: f, N: kk, K: p, Alpha: 1, A: a.DY, B: w.col, C: w.dwBatch,
		Batch: g.N, StrideA: f * p, StrideB: kk * p, StrideC: f * kk}); err != nil {
		return err
	}
	dw, db := a.DW, a.DB
	if a.Accumulate {
		dw, db = w.sumW, w.sumB
	}
	if err := b.Reduce(device.Sum, w.dwBatch, dw, device.Shape3{Outer: 1, Mid: g.N, Inner: f * kk}); err != nil {
		return err
	}
	if a.DB != nil {
		// db[f] = Σ_n Σ_p DY[n, f, p]
		if err := b.Reduce(device.Sum, a.DY, w.dbTmp, device.Shape3{Outer: g.N * f, Mid: p, Inner: 1}); err != nil {
			return err
		}
		if err := b.Reduce(device.Sum, w.dbTmp, db, device.Shape3{Outer: 1, Mid: g.N, Inner: f}); err != nil {
			return err
		}
	}
	if a.Accumulate {
		if err := b.Axpby(1, dw, 1, a.DW); err != nil {
			return err
		}
		if a.DB != nil {
			if err := b.Axpby(1, db, 1, a.DB); err != nil {
				return err
			}
		}
	}
	if a.DX == nil {
		return nil
	}
	// col_n (K × P) = Wᵀ (K × F) · DY_n (F × P), then DX = Col2Im(col)
	if err := b.Gemm(device.GemmArgs{TransA: true, M: kk, N: p, K: f, Alpha: 1, A: a.W, B: a.DY, C: w.col,
		Batch: g.N, StrideB: f * p, StrideC: kk * p}); err != nil {
		return err
	}
	return b.Col2Im(w.col, a.DX, g)
}
