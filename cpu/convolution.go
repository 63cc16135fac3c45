package cpu

import (
	"unsafe"

	"github.com/gputrain/gputrain/device"
)

// The tuned convolution (Backend.Conv and Backend.ConvBackward). The reference sums
// every output in float64; the tuned form works one image (or one chunk of the batch)
// at a time in buffers of the thread that runs it, small enough to stay in the core's
// L2 cache, with single-threaded kernels: the unfolded batch is never materialised.
// P = OH*OW output pixels, K = C*KH*KW taps, F filters.
//
// Direct path (the SGEMM variant has a convTile kernel, AVX-512, and F fills most of
// its 32 columns): implicit GEMMs that read the images where they lie (in a zero-padded
// copy when there is padding), never unfolding them.
//
//	forward, per image:   out (P × F) = A (P × K) · Wt (K × F), A(p, k) = x[pixel p + tap k]
//	                      y_n = outᵀ (+ bias, added at the store)
//	backward, per chunk:  dWt_c (K × F) = A' (K × Pc) · dyᵀ (Pc × F), A'(k, s) = x[tap k + pixel s]
//	                      over the chunk's Pc = G*P pixels, its images side by side
//
// Unfolding path (otherwise): one image at a time, im2col into the thread's buffer and
// the SGEMM on it, with operands read in place (no packing):
//
//	forward, per image:   col (K × P) = im2col(x_n), and a row of ones when there is a bias
//	                      y_n (F × P) = Wtᵀ · col   (Wt: K × F, the bias as a last row)
//	                      or, when that pads the tiles less: out (P × F) = colᵀ · Wt, y_n = outᵀ
//	backward, per image:  dW_c (F × K) += dy_n · colᵀ, col = im2col(x_n); or, for a
//	                      multiple of 4 filters, unit column stride and KW <= 6, from
//	                      the image rows where they lie (filterGradRows: no im2col)
//
// Both paths, backward: db_c (F) += Σ_p dy_n[f, p] (float64); for DX, col (K × G*P) =
// Wᵀ · dy of G images side by side (convDXColumns) and dx_n = col2im of its columns.
// The batch is split into a fixed number of chunks (convChunks, never the thread count,
// so that no sum depends on it); after them dW (+)= dW_0 + dW_1 + ... and db likewise,
// in chunk order.
type convState struct {
	task    convTask
	wt      []float32     // unfolding path: (K+1) × F, the filters transposed, then the bias
	panels  []float32     // direct path: ⌈F/32⌉ panels of K × 32 (panel q: filters 32q..32q+31)
	taps    []int32       // direct path: each tap's offset in a (padded) image
	pix     []int32       // direct path: each output pixel's window offset in a (padded) image
	scratch []convScratch // one per thread
	dw      []float32     // convChunks × F × K: the chunks' filter gradients (direct: K × F)
	db      []float64     // convChunks × F: the chunks' bias gradients
}

// convScratch is one thread's buffers.
type convScratch struct {
	col []float32 // (K+1) × P: one image unfolded; the input gradient's col
	out []float32 // P × F: a product to transpose into y_n
	pad []float32 // direct path: images with their zero padding (a chunk's, backward)
	dyT []float32 // direct backward: the chunk's dy transposed, ⌈F/32⌉ panels of Pc × 32
	idx []int32   // direct backward: the chunk's pixel offsets
	dyG []float32 // backward: the dy of a group of images side by side, F × G*P
	// rows are the direct path's tile rows (here, not on the stack: a pointer handed
	// to a function value escapes, and would be allocated at every call).
	rows [convTileRows]uintptr
	work []float32 // col2imWork floats for vecVariant.col2im
}

// convChunks is the number of parts the backward pass splits a batch into (fewer when
// the batch is smaller): enough to keep a few threads busy, few enough that the chunks'
// gradient buffers cost little to sum.
const convChunks = 8

// convDXColumns bounds the columns (images × pixels) of one input-gradient product.
// The cnn preset's second layer (P = 100) runs 4 images at a time: its product
// (K = 400 rows, F = 32 steps) ran at 150 GFLOP/s on 400 columns against 120 on 100
// (one thread, a throw-away benchmark of the SGEMM on those shapes), and BenchmarkConv's
// conv2 backward took 1170 us against 1550 with one image at a time; 256 and 1024 did
// no better than 512.
const convDXColumns = 512

// convSlack is the floats a padded image buffer holds past its images, for kernels
// that read whole vectors past a row's end (filterRows).
const convSlack = 16

// convTileRows is the rows of the direct convolution's tile.
const convTileRows = 8

// convTileFunc is the direct convolution's micro-kernel: np tiles side by side, the
// last with nr (<= 32) columns: for r < mr and j < 32*(np-1)+nr,
//
//	C[r*ldc+j] = Σ_{s<k} A(r, s)·b[32k*(j/32) + 32s + j%32] (+ C[r*ldc+j] when accumulate) (+ bias[j] when bias != nil)
//
// where A(r, s) is the float32 at address rows[r] + 4*idx[s] (rows[r] for r >= mr must be
// readable: repeat a row) and b holds np panels of k steps of 32 values.
type convTileFunc func(k int, rows *[convTileRows]uintptr, idx []int32, b, c []float32, ldc int, accumulate bool, mr, np, nr int, bias []float32)

func (s *convState) init(threads int) {
	s.scratch = make([]convScratch, max(threads, 1))
	for i := range s.scratch {
		s.scratch[i].work = make([]float32, col2imWork)
	}
}

// convTask is a Conv or ConvBackward call handed to the pool. Forward: part p runs the
// images split(N, p, parts). Backward: part p runs chunk p; with reduce set, part p sums
// the chunks' filter gradients over its range of elements instead.
type convTask struct {
	k          *kernels
	backward   bool
	reduce     bool
	direct     bool // the direct path (else unfolding)
	rows       bool // unfolding backward: the filter gradient by filterGradRows
	transposed bool // unfolding forward: out = colᵀ·Wt, y_n = outᵀ
	accumulate bool
	g          device.ConvGeom
	f          int
	hp, wp     int // the direct path's (padded) image height and width
	x, w, b, y []float32
	dy, dx, dw []float32
	db         []float32
	chunks     int
	group      int // backward: images per input-gradient product
}

func (t *convTask) run(part, parts int) { t.runOn(part, parts, 0) }

func (t *convTask) runOn(part, parts, thread int) {
	switch {
	case t.reduce:
		t.sumChunks(part, parts)
	case t.backward:
		t.backwardChunk(part, thread)
	default:
		lo, hi := split(t.g.N, part, parts, 1)
		for n := lo; n < hi; n++ {
			if t.direct {
				t.forwardDirect(n, thread)
			} else {
				t.forwardImage(n, thread)
			}
		}
	}
}

// takesDirect reports whether convolution g of f filters runs on the direct path: the
// variant has the tile, the filters fill at least 3/4 of its 32-column panels, and a
// backward chunk's padded images are few enough for the tile's int32 offsets.
func takesDirect(v *sgemmVariant, g device.ConvGeom, f int) bool {
	images := ceilDiv(g.N, min(g.N, convChunks))
	return v.convTile != nil && 4*f >= 3*roundUp(f, 32) &&
		images*g.C*(g.H+2*g.PadH)*(g.W+2*g.PadW) < 1<<31
}

// growWork sizes each thread's col2im scratch for planes of g.
func (s *convState) growWork(g device.ConvGeom) {
	for i := range s.scratch {
		s.scratch[i].work = grow(s.scratch[i].work, max(col2imWork, g.H*ceilDiv(g.W, 16)*16+16))
	}
}

// prepareDirect fills the direct path's filter panels (forward only), tap and pixel
// offsets for t, and sizes each thread's buffer of padded images (images of them).
func (s *convState) prepareDirect(t *convTask, w []float32, forward bool, images int) {
	g, f := t.g, t.f
	kk, p := g.ColRows(), g.OutH()*g.OutW()
	t.hp, t.wp = g.H+2*g.PadH, g.W+2*g.PadW
	if forward {
		// Panel q, step k: W[32q+j, k] for j < 32 (0 past F).
		np := ceilDiv(f, 32)
		s.panels = grow(s.panels, np*kk*32)
		for q := range np {
			packTranspose(s.panels[q*kk*32:(q+1)*kk*32], 32, w[q*32*kk:], kk, min(32, f-32*q), kk)
		}
	}
	if cap(s.taps) < kk {
		s.taps = make([]int32, kk)
	}
	s.taps = s.taps[:kk]
	for c := range g.C {
		for kh := range g.KH {
			for kw := range g.KW {
				s.taps[(c*g.KH+kh)*g.KW+kw] = int32((c*t.hp+kh)*t.wp + kw)
			}
		}
	}
	if cap(s.pix) < p {
		s.pix = make([]int32, p)
	}
	s.pix = s.pix[:p]
	ow := g.OutW()
	for i := range g.OutH() {
		for j := range ow {
			s.pix[i*ow+j] = int32(i*g.StrideH*t.wp + j*g.StrideW)
		}
	}
	if g.PadH > 0 || g.PadW > 0 || t.rows {
		for i := range s.scratch {
			sc := &s.scratch[i]
			sc.pad = grow(sc.pad, images*g.C*t.hp*t.wp+convSlack)
			clear(sc.pad) // the borders stay zero; the images are copied inside them
		}
	}
}

// padded returns images [lo, hi) of t.x as the direct path reads them: in place, or
// (when there is padding, or always) copied inside zero borders into the
// thread's buffer, which has convSlack floats more after them.
func (t *convTask) padded(lo, hi, thread int, always bool) []float32 {
	g := t.g
	chw := g.C * g.H * g.W
	if g.PadH == 0 && g.PadW == 0 && !always {
		return t.x[lo*chw : hi*chw]
	}
	pad := t.k.conv.scratch[thread].pad
	for n := lo; n < hi; n++ {
		for c := range g.C {
			src := t.x[n*chw+c*g.H*g.W:]
			dst := pad[((n-lo)*g.C+c)*t.hp*t.wp:]
			for h := range g.H {
				copy(dst[(h+g.PadH)*t.wp+g.PadW:(h+g.PadH)*t.wp+g.PadW+g.W], src[h*g.W:(h+1)*g.W])
			}
		}
	}
	return pad[:(hi-lo)*g.C*t.hp*t.wp+convSlack]
}

// convForward runs a checked Conv with the tuned kernels.
func (k *kernels) convForward(a device.ConvArgs) {
	g, f := a.G, a.F
	kk, p := g.ColRows(), g.OutH()*g.OutW()
	s := &k.conv
	t := &s.task
	v := k.gemm.v
	*t = convTask{k: k, g: g, f: f, x: f32(a.X), w: f32(a.W), b: f32(a.B), y: f32(a.Y), direct: takesDirect(v, g, f)}
	if t.direct {
		s.prepareDirect(t, t.w, true, 1)
		for i := range s.scratch {
			s.scratch[i].out = grow(s.scratch[i].out, p*f)
		}
		k.b.pool.parallel(min(g.N, maxParts), t)
		*t = convTask{}
		return
	}
	rows := kk // rows of Wt and col: the taps, and the bias
	if a.B != nil {
		rows++
	}
	// Wt (rows × F): Wt[k, f] = W[f, k], then the bias.
	s.wt = grow(s.wt, rows*f)
	packTranspose(s.wt, f, t.w, kk, f, kk)
	if a.B != nil {
		copy(s.wt[kk*f:], t.b)
	}
	// The form whose tiles pad less, by the area of the padded tiles; the transposed
	// one pays its transpose (a tenth, measured on the cnn preset's layers).
	direct := roundUp(f, v.forM(f).mr) * roundUp(p, v.nr)
	trans := roundUp(p, v.forM(p).mr) * roundUp(f, v.nr)
	t.transposed = 10*trans < 9*direct
	for i := range s.scratch {
		sc := &s.scratch[i]
		sc.col = grow(sc.col, rows*p)
		if a.B != nil {
			ones := sc.col[kk*p : rows*p]
			for j := range ones {
				ones[j] = 1
			}
		}
		if t.transposed {
			sc.out = grow(sc.out, p*f)
		}
	}
	k.b.pool.parallel(min(g.N, maxParts), t)
	*t = convTask{}
}

// forwardDirect computes y_n on the direct path with thread's buffers.
func (t *convTask) forwardDirect(n, thread int) {
	g, f := t.g, t.f
	kk, p := g.ColRows(), g.OutH()*g.OutW()
	s := &t.k.conv
	tile := t.k.gemm.v.convTile
	out := s.scratch[thread].out[:p*f]
	x := t.padded(n, n+1, thread, false)
	base := uintptr(unsafe.Pointer(&x[0]))
	rows := &s.scratch[thread].rows
	for p0 := 0; p0 < p; p0 += convTileRows {
		mr := min(convTileRows, p-p0)
		for r := range rows {
			rows[r] = base + 4*uintptr(s.pix[p0+min(r, mr-1)])
		}
		np := ceilDiv(f, 32)
		tile(kk, rows, s.taps, s.panels[:np*32*kk], out[p0*f:], f, false, mr, np, f-32*(np-1), t.b)
	}
	t.transposeOut(out, t.y[n*f*p:(n+1)*f*p], p, f)
}

// transposeOut writes y (F × P) = out (P × F)ᵀ.
func (t *convTask) transposeOut(out, y []float32, p, f int) {
	if tr := t.k.gemm.v.transposeOut; tr != nil {
		tr(y, p, out, f, p, f)
		return
	}
	for i := range p {
		for j, v := range out[i*f : (i+1)*f] {
			y[j*p+i] = v
		}
	}
}

// forwardImage computes y_n on the unfolding path with thread's buffers.
func (t *convTask) forwardImage(n, thread int) {
	g, f := t.g, t.f
	kk, p := g.ColRows(), g.OutH()*g.OutW()
	rows := kk
	if t.b != nil {
		rows++
	}
	s, gs := &t.k.conv, &t.k.gemm
	sc := &s.scratch[thread]
	col := sc.col[:rows*p]
	chw := g.C * g.H * g.W
	t.k.vec.im2col(t.x[n*chw:(n+1)*chw], col, p, &t.g)
	y := t.y[n*f*p : (n+1)*f*p]
	if !t.transposed {
		// y_n (F × P) = Wtᵀ · col: op(A) from Wt stored rows × F.
		ga := sgemmArgs{transA: true, m: f, n: p, k: rows, alpha: 1, a: s.wt, lda: f, b: col, ldb: p, c: y, ldc: p}
		gs.serial(&gs.bufs[thread], gs.v.forM(f), &ga)
		return
	}
	// out (P × F) = colᵀ · Wt, then y_n = outᵀ.
	out := sc.out[:p*f]
	ga := sgemmArgs{transA: true, m: p, n: f, k: rows, alpha: 1, a: col, lda: p, b: s.wt, ldb: f, c: out, ldc: f}
	gs.serial(&gs.bufs[thread], gs.v.forM(p), &ga)
	t.transposeOut(out, y, p, f)
}

// convBackward runs a checked ConvBackward with the tuned kernels.
func (k *kernels) convBackward(a device.ConvArgs) {
	g, f := a.G, a.F
	kk, p := g.ColRows(), g.OutH()*g.OutW()
	s := &k.conv
	t := &s.task
	*t = convTask{k: k, backward: true, accumulate: a.Accumulate, g: g, f: f, x: f32(a.X), w: f32(a.W),
		dy: f32(a.DY), dx: f32(a.DX), dw: f32(a.DW), db: f32(a.DB), chunks: min(g.N, convChunks),
		direct: takesDirect(k.gemm.v, g, f)}
	s.dw = grow(s.dw, t.chunks*f*kk)
	if cap(s.db) < t.chunks*f {
		s.db = make([]float64, t.chunks*f)
	}
	s.db = s.db[:t.chunks*f]
	images := ceilDiv(g.N, t.chunks) // the largest chunk
	t.rows = !t.direct && k.vec.filterRows != nil && g.StrideW == 1 && g.KW <= 6 && f%4 == 0
	if t.rows {
		s.prepareDirect(t, nil, false, 1)
	}
	if t.direct {
		s.prepareDirect(t, nil, false, images)
		for i := range s.scratch {
			sc := &s.scratch[i]
			sc.dyT = grow(sc.dyT, ceilDiv(f, 32)*images*p*32)
			if cap(sc.idx) < images*p {
				sc.idx = make([]int32, images*p)
			}
			sc.idx = sc.idx[:images*p]
		}
	}
	t.group = 1
	if t.dx != nil {
		t.group = max(1, min(images, convDXColumns/p))
		s.growWork(g)
	}
	for i := range s.scratch {
		sc := &s.scratch[i]
		if (!t.direct && !t.rows) || t.dx != nil {
			sc.col = grow(sc.col, kk*p*t.group)
		}
		if t.group > 1 {
			sc.dyG = grow(sc.dyG, f*p*t.group)
		}
	}
	k.b.pool.parallel(t.chunks, t)
	// The chunks' sums, in chunk order.
	t.reduce = true
	k.b.pool.parallel(parts(t.chunks*f*kk, grainCopy), t)
	if t.direct {
		// dW (F × K) (+)= the summed dWt (K × F), transposed.
		sum := s.dw[:kk*f]
		for j := range f {
			row := t.dw[j*kk : (j+1)*kk]
			for i := range row {
				if t.accumulate {
					row[i] += sum[i*f+j]
				} else {
					row[i] = sum[i*f+j]
				}
			}
		}
	}
	if t.db != nil {
		for j := range f {
			var sum float64
			if t.accumulate {
				sum = float64(t.db[j])
			}
			for c := range t.chunks {
				sum += s.db[c*f+j]
			}
			t.db[j] = float32(sum)
		}
	}
	*t = convTask{}
}

// backwardChunk runs chunk c of the batch on thread's buffers: its filter and bias
// gradients into the chunk's buffers, and the input gradients of its images.
func (t *convTask) backwardChunk(c, thread int) {
	g, f := t.g, t.f
	kk, p := g.ColRows(), g.OutH()*g.OutW()
	chw := g.C * g.H * g.W
	s, gs := &t.k.conv, &t.k.gemm
	buf := &gs.bufs[thread]
	sc := &s.scratch[thread]
	dw := s.dw[c*f*kk : (c+1)*f*kk]
	db := s.db[c*f : (c+1)*f]
	clear(db)
	lo, hi := split(g.N, c, t.chunks, 1)
	if t.direct {
		t.filterGradDirect(dw, lo, hi, thread)
	}
	for n := lo; n < hi; n++ {
		dy := t.dy[n*f*p : (n+1)*f*p]
		switch {
		case t.direct:
		case t.rows:
			if n == lo {
				clear(dw)
			}
			t.filterGradRows(dw, dy, n, thread)
		default:
			// dW_c (F × K) += dy_n (F × P) · colᵀ (P × K): A·Bᵀ with both read along P.
			col := sc.col[:kk*p]
			t.k.vec.im2col(t.x[n*chw:(n+1)*chw], col, p, &t.g)
			var beta float32
			if n > lo {
				beta = 1
			}
			ga := sgemmArgs{transB: true, m: f, n: kk, k: p, alpha: 1, beta: beta, a: dy, lda: p, b: col, ldb: p, c: dw, ldc: kk}
			if gs.v.takesDot(&ga) {
				gs.dotColumns(buf, gs.v, &ga)
			} else {
				gs.serial(buf, gs.v.forM(f), &ga)
			}
		}
		if t.db != nil {
			for j := range f {
				db[j] += t.k.vec.sumF64(dy[j*p : (j+1)*p])
			}
		}
	}
	if t.dx == nil {
		return
	}
	// The input gradients, t.group images at a time side by side (convDXColumns) (a product of
	// G*P columns fills the micro-kernel's 32-column tiles better than P = 100 alone):
	// dyG (F × G*P) gathers their dy, col (K × G*P) = Wᵀ (K × F) · dyG (op(A) from W
	// stored F × K), then dx_n = col2im of its P columns.
	for n0 := lo; n0 < hi; n0 += t.group {
		gn := min(t.group, hi-n0)
		ld := gn * p
		dyG := t.dy[n0*f*p : (n0+1)*f*p]
		if gn > 1 {
			dyG = sc.dyG[:f*ld]
			for n := n0; n < n0+gn; n++ {
				for j := range f {
					copy(dyG[j*ld+(n-n0)*p:j*ld+(n-n0+1)*p], t.dy[(n*f+j)*p:(n*f+j+1)*p])
				}
			}
		}
		col := sc.col[:kk*ld]
		gx := sgemmArgs{transA: true, m: kk, n: ld, k: f, alpha: 1, a: t.w, lda: kk, b: dyG, ldb: ld, c: col, ldc: ld}
		gs.serial(buf, gs.v.forM(kk), &gx)
		for n := n0; n < n0+gn; n++ {
			t.k.vec.col2im(col[(n-n0)*p:], ld, t.dx[n*chw:(n+1)*chw], &t.g, sc.work)
		}
	}
}

// filterGradRows adds image n's filter gradient into dW_c (F × K) on the unfolding path
// with the vector variant's filterRows kernel (unit column stride, KW <= 6, F a
// multiple of 4): for each 4 filters and tap row (c, kh), the image's rows are read
// where they lie (in a zero-padded copy when there is padding) and multiplied with dy's
// rows, KW shifts at a time. Nothing is unfolded or transposed.
func (t *convTask) filterGradRows(dw, dy []float32, n, thread int) {
	g, f := t.g, t.f
	kk, p := g.ColRows(), g.OutH()*g.OutW()
	x := t.padded(n, n+1, thread, true) // the kernel reads past rows: into the slack at the end
	plane := t.hp * t.wp
	for f0 := 0; f0 < f; f0 += 4 {
		for c := range g.C {
			for kh := range g.KH {
				t.k.vec.filterRows(dy[f0*p:], x[c*plane+kh*t.wp:], dw[f0*kk+(c*g.KH+kh)*g.KW:],
					g.OutH(), g.OutW(), g.KW, p, g.StrideH*t.wp, kk)
			}
		}
	}
}

// filterGradDirect computes dWt (K × F) of images [lo, hi) on the direct path: the
// chunk's pixels are the steps of one implicit GEMM per tile of 8 taps.
func (t *convTask) filterGradDirect(dwt []float32, lo, hi, thread int) {
	g, f := t.g, t.f
	kk, p := g.ColRows(), g.OutH()*g.OutW()
	s, v := &t.k.conv, t.k.gemm.v
	sc := &s.scratch[thread]
	steps := (hi - lo) * p
	// The chunk's dy, transposed into panels of 32 filters: dyT_q[s*32+j] =
	// dy[n, 32q+j, pixel] for step s = (n-lo)*P + pixel.
	np := ceilDiv(f, 32)
	dyT := sc.dyT[:np*steps*32]
	for n := lo; n < hi; n++ {
		dy := t.dy[n*f*p : (n+1)*f*p]
		for q := range np {
			dst := dyT[(q*steps+(n-lo)*p)*32 : (q*steps+(n-lo+1)*p)*32]
			if v.packBT != nil && v.nr == 32 {
				v.packBT(dst, dy[q*32*p:], p, min(32, f-32*q), p)
			} else {
				packTranspose(dst, 32, dy[q*32*p:], p, min(32, f-32*q), p)
			}
		}
	}
	x := t.padded(lo, hi, thread, false)
	img := g.C * t.hp * t.wp
	idx := sc.idx[:steps]
	for n := range hi - lo {
		for i, o := range s.pix {
			idx[n*p+i] = int32(n*img) + o
		}
	}
	base := uintptr(unsafe.Pointer(&x[0]))
	rows := &sc.rows
	for k0 := 0; k0 < kk; k0 += convTileRows {
		mr := min(convTileRows, kk-k0)
		for r := range rows {
			rows[r] = base + 4*uintptr(s.taps[k0+min(r, mr-1)])
		}
		v.convTile(steps, rows, idx, dyT[:np*steps*32], dwt[k0*f:], f, false, mr, np, f-32*(np-1), nil)
	}
}

// sumChunks sums the chunks' filter gradients over its range of elements, chunk after
// chunk: into DW (added to it when accumulating) on the unfolding path, into chunk 0's
// buffer on the direct path (then transposed into DW).
func (t *convTask) sumChunks(part, parts int) {
	n := t.f * t.g.ColRows()
	lo, hi := split(n, part, parts, 16)
	if lo >= hi {
		return
	}
	vec, partial := t.k.vec, t.k.conv.dw
	if t.direct {
		sum := partial[lo:hi]
		for c := 1; c < t.chunks; c++ {
			vec.binary(device.Add, sum, sum, partial[c*n+lo:c*n+hi])
		}
		return
	}
	dw := t.dw[lo:hi]
	first := 0
	if !t.accumulate {
		copy(dw, partial[lo:hi])
		first = 1
	}
	for c := first; c < t.chunks; c++ {
		vec.binary(device.Add, dw, dw, partial[c*n+lo:c*n+hi])
	}
}
