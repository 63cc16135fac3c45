package cpu

import (
	"fmt"

	"github.com/gputrain/gputrain/device"
)

// The tuned single-precision GEMM. Its shape follows GotoBLAS/BLIS: C is computed in
// mr×nr tiles by a micro-kernel that keeps the tile in registers while it runs down k,
// reading op(A) as "micro-panels" of mr rows and op(B) as micro-panels of nr columns,
// both laid out k-major (element (i,k) of an A micro-panel at k*mr+i, element (k,j) of a
// B micro-panel at k*nr+j). The micro-kernel broadcasts the mr values of A and multiplies
// them with nr/16 (or nr/8) vectors of B, so C's rows are updated with whole-vector
// loads and stores.
//
// The loops around the micro-kernel, for one thread's share of C:
//
//	for ic over m in blocks of mc:          A block (mc×kc, packed) stays in L3
//	  for pc over k in blocks of kc:        beta applies on the first block only
//	    pack A[ic:ic+mc, pc:pc+kc]
//	    for jc over n in blocks of nc:      B block (kc×nc, packed) stays in L2
//	      pack B[pc:pc+kc, jc:jc+nc]
//	      for ir over the block in mr rows:  the A micro-panel stays in L1
//	        for jr over the block in nr columns:
//	          micro-kernel(C[ic+ir:, jc+jr:])
//
// Packing copies an operand into micro-panel order, which is where transposes are
// handled: a transposed operand is gathered by the packing routine, never by the
// micro-kernel. Partial panels (m or n not a multiple of the tile) are padded with zeros;
// the micro-kernel then stores only the mr×nr corner that exists in C. Two layouts need
// no packing because they already are micro-panels with a stride: op(A) when A is
// stored transposed (k×m: row k holds A's column entries i..i+mr contiguously) and op(B)
// when B is not (k×n). Small problems read those operands in place and skip the copy,
// which is most of the cost of a GEMM as small as the reference job's.
//
// Block lengths are balanced (k = 784 runs as 2×392), so that no block is a sliver.
// A narrow product (n <= nr/2, beta = 0) runs transposed, C' = Cᵀ = op(B)ᵀ·op(A)ᵀ, so
// that its rows fill the tiles, where the variant can write the transpose back.
//
// Threads split C into column ranges (or row ranges when C is narrow), each computed by
// the loops above with the thread's own packing buffers, in one fork-join on the pool.
// When the columns are split and A is large, every thread would pack all of A; the
// threads then pack each A block together into one shared buffer first (shared-A mode,
// two fork-joins per block). Products too small to repay waking a worker run on the
// calling goroutine.

// sgemmKernelFunc is a micro-kernel: it computes np tiles side by side. Tile p updates
// the mr×nr' corner (mr <= tile rows; nr' = tile columns, but nr for the last tile) of
// the C tile at c[p*tile columns:] (row stride ldc):
//
//	C = alpha * A·B_p + beta * C
//
// where A is a micro-panel of kc steps (A(i,k) = a[k*lda+i], tile-rows values per step)
// and B_p a micro-panel starting at b[p*bstep:] (B_p(k,j) = b[p*bstep+k*ldb+j],
// tile-columns values per step). With beta == 0 it does not read C. a and b hold whole
// tile-sized steps, padding included. Running several tiles per call keeps the A panel
// in registers' reach and the call overhead off the small-k products.
type sgemmKernelFunc func(kc int, a []float32, lda int, b []float32, ldb, bstep, np int, c []float32, ldc int, alpha, beta float32, mr, nr int)

// sgemmVariant is one micro-kernel family with its tile and cache blocking.
type sgemmVariant struct {
	name   string // "avx512", "avx2", "go"
	mr, nr int    // tile: rows of C (broadcast from A) × columns of C (vectors of B)
	// kc, mc, nc are the cache blocks: kc steps of k per micro-kernel call, mc rows of A
	// and nc columns of B per packed block (multiples of mr and nr).
	kc, mc, nc int
	kernel     sgemmKernelFunc
	// packAN and packBT, when set, replace the generic transposing packers (A stored
	// m×k, B stored n×k) with faster ones of the same contract.
	packAN func(dst, a []float32, lda, rows, kb int)
	packBT func(dst, b []float32, ldb, cols, kb int)
	// transposeOut, when set, writes the transpose of the rows×cols matrix src (row
	// stride ld) into c: c[j*ldc+i] = src[i*ld+j], touching nothing else of c. It
	// enables the transposed evaluation of narrow products (see sgemm).
	transposeOut func(c []float32, ldc int, src []float32, ld, rows, cols int)
	// packRagged, when set, fills the ragged last panel of packRows (width < w values
	// of each of kb rows, zeros after them).
	packRagged func(dst []float32, w int, src []float32, ld, width, kb int)
	// dot, when set, is an inner-product kernel for products with A stored m×k and B
	// stored n×k (A·Bᵀ, a dense layer's forward pass), which then need no packing at
	// all; see sgemmDotFunc and gemmState.dotColumns.
	dot sgemmDotFunc
	// alt, when set, is a tile with fewer rows for the same machine, taken when it pads
	// fewer rows of a small m (m = 32 runs as 4×8 rows rather than 3×12).
	alt *sgemmVariant
	// convTile, when set, is the direct convolution's implicit-GEMM tile (see
	// convTileFunc in convolution.go); without it convolutions unfold their images.
	convTile convTileFunc
}

// sgemmDotFunc computes one sgemmDotRows×sgemmDotCols tile of C = alpha*A·Bᵀ + beta*C
// from rows a0, a1, a2 of A (kc values each; repeated when mr < 3) and the 8 rows of B
// at b (ldb apart, kc values each): for i < mr, j < nr,
//
//	C[i*ldc+j] = alpha * sum_k a_i[k]*b[j*ldb+k] + beta*C[i*ldc+j]  (+ bias[j]) (max 0 when relu)
//
// reading C only when beta != 0. Each accumulator holds a vector of partial sums over k,
// reduced at the end.
type sgemmDotFunc func(kc int, a0, a1, a2, b []float32, ldb int, c []float32, ldc int, alpha, beta float32, mr, nr int, bias []float32, relu bool)

// The inner-product tile, and when it is used: A·Bᵀ (A stored m×k, B stored n×k) with
// k >= sgemmDotMinK, where the reduction at the end of a tile is small next to its k
// steps, and A (m×k) at most sgemmDotMaxA elements, so that A stays in L2 while each
// group of 8 rows of B is read once. The reference job's first layer, 32×128×784, is
// such a product: the packed path would transpose all of W (100 K elements) every step.
//
// k runs in blocks of at most sgemmDotKC, so that a group's 8 rows of B (16 KiB at most)
// stay in L1 while the rows of A stream past: a tile then loads 3 vectors of A from L2
// for its 24 FMAs, not 8 of B.
const (
	sgemmDotRows, sgemmDotCols = 3, 8
	sgemmDotMinK               = 256
	sgemmDotMaxA               = 64 << 10
	sgemmDotKC                 = 512
)

// takesDot reports whether g runs on the inner-product kernel.
func (v *sgemmVariant) takesDot(g *sgemmArgs) bool {
	return v.dot != nil && !g.transA && g.transB && g.k >= sgemmDotMinK && g.m*g.k <= sgemmDotMaxA
}

// dotColumns computes g (all of its columns) with the inner-product kernel: for each
// group of 8 columns (8 rows of B) and block of k (which keep those rows in L1), the tiles
// of 3 rows down C, A's rows streaming from L2. A ragged last group reads its rows of B from a zero-padded
// copy in buf. The epilogue's bias and ReLU are applied by the kernel as it stores;
// other activations right after, on the columns just computed.
func (s *gemmState) dotColumns(buf *sgemmBuffers, v *sgemmVariant, g *sgemmArgs) {
	k, ep := g.k, &g.ep
	inKernel := !ep.actOn || ep.act == device.ReLU
	for jt := 0; jt < g.n; jt += sgemmDotCols {
		nb := min(sgemmDotCols, g.n-jt)
		b, ldb := g.b[jt*g.ldb:], g.ldb
		if nb < sgemmDotCols {
			buf.b = grow(buf.b, sgemmDotCols*k)
			for j := range sgemmDotCols {
				row := buf.b[j*k : (j+1)*k]
				if j < nb {
					copy(row, g.b[(jt+j)*g.ldb:])
				} else {
					clear(row)
				}
			}
			b, ldb = buf.b, k
		}
		var bias []float32
		if inKernel && ep.bias != nil {
			bias = ep.bias[jt : jt+nb]
		}
		relu := inKernel && ep.actOn
		kc := balance(k, sgemmDotKC, 16)
		for pc := 0; pc < k; pc += kc {
			kb := min(kc, k-pc)
			beta, last := g.beta, pc+kb == k
			if pc > 0 {
				beta = 1
			}
			bk, relu, bias := b[pc:], relu && last, bias
			if !last {
				bias = nil
			}
			for it := 0; it < g.m; it += sgemmDotRows {
				rows := min(sgemmDotRows, g.m-it)
				a0 := g.a[it*g.lda+pc:]
				a1, a2 := a0, a0
				if rows > 1 {
					a1 = g.a[(it+1)*g.lda+pc:]
				}
				if rows > 2 {
					a2 = g.a[(it+2)*g.lda+pc:]
				}
				v.dot(kb, a0, a1, a2, bk, ldb, g.c[it*g.ldc+jt:], g.ldc, g.alpha, beta, rows, nb, bias, relu)
			}
		}
	}
	if ep.active() && !inKernel {
		ep.apply(g.c, g.ldc, g.m, g.n, 0)
	}
}

func (v *sgemmVariant) String() string {
	s := fmt.Sprintf("%s %dx%d", v.name, v.mr, v.nr)
	if v.alt != nil {
		s += fmt.Sprintf("+%dx%d", v.alt.mr, v.alt.nr)
	}
	return s
}

// sgemmAltMaxM is the largest m for which sgemmVariant.alt may replace the main tile:
// for large products the taller tile reads B from L2 less often per flop.
const sgemmAltMaxM = 256

// forM returns the tile to use for m rows of C.
func (v *sgemmVariant) forM(m int) *sgemmVariant {
	if v.alt != nil && m <= sgemmAltMaxM && roundUp(m, v.alt.mr) < roundUp(m, v.mr) {
		return v.alt
	}
	return v
}

// sgemmGo is the portable variant: the same packing and blocking with a Go micro-kernel.
var sgemmGo = &sgemmVariant{name: "go", mr: 4, nr: 4, kc: 256, mc: 128, nc: 512, kernel: sgemmKernelGo}

// sgemmAvailable lists the variants this machine can run, fastest first. It is set by
// the architecture files (sgemm_amd64.go, sgemm_other.go) in init.
var sgemmAvailable []*sgemmVariant

// sgemmDirectMax is the largest operand (elements of the kc×(m or n) slab read per k
// block) that the micro-kernel reads in place instead of packing. Above it packing pays:
// a packed panel is contiguous, a strided one touches a new cache line (and with large
// strides, a new page and the same L1 set) at every step of k.
const sgemmDirectMax = 64 << 10

// sgemmMinFlopsPerThread is the work (2*m*n*k) below which a GEMM runs on one thread:
// waking a pool worker costs a few microseconds, as much as ~0.5 MFLOP of micro-kernel
// time.
const sgemmMinFlopsPerThread = 1 << 20

// sgemmSharedAMin is the size of op(A) (m*k elements) from which threads splitting the
// columns of C pack the A blocks together, once, instead of each packing all of A:
// the two extra pool hand-offs per block then cost less than the duplicated packing.
const sgemmSharedAMin = 1 << 15

// sgemmRowSplitMaxB is the size of op(B) (k*n elements; 1 MiB of float32) up to which
// threads split the rows of C even where the shapes favour splitting columns: each
// thread then packs all of B, which costs little at this size, and its own rows of A,
// with no shared-A hand-offs between the threads. At n = 512 on 2 threads this ran at
// 210 GFLOP/s against 167 for the column split (medians of 6 interleaved rounds).
const sgemmRowSplitMaxB = 1 << 18

// gemmState is the SGEMM's reusable state: the chosen variant, the task handed to the
// pool and one set of packing buffers per thread, grown only when a larger shape comes.
type gemmState struct {
	v    *sgemmVariant
	pool *pool
	task sgemmTask
	bufs []sgemmBuffers
	// sharedA is the A block that all threads read in shared-A mode.
	sharedA []float32
	// batch is the pool task of a batch of small products (sgemmBatch).
	batch sgemmBatchTask
	// minFlops is the work below which a GEMM stays on one thread
	// (sgemmMinFlopsPerThread; tests lower it to exercise the split on small shapes).
	minFlops int
	// sharedAMin is sgemmSharedAMin (tests lower it to run shared-A mode on small shapes).
	sharedAMin int
	// rowSplitMaxB is sgemmRowSplitMaxB (tests set it to 0 to split columns on small
	// shapes).
	rowSplitMaxB int
}

// sgemmBuffers are one thread's packing buffers.
type sgemmBuffers struct {
	a, b    []float32 // packed A block (mc×kc) and B block (kc×nc)
	scratch []float32 // Cᵀ of a narrow product (see sgemmWith)
}

func (s *gemmState) init(p *pool, threads int) {
	s.v = sgemmAvailable[0]
	s.pool = p
	s.bufs = make([]sgemmBuffers, max(threads, 1))
	s.task.s = s
	s.minFlops = sgemmMinFlopsPerThread
	s.sharedAMin = sgemmSharedAMin
	s.rowSplitMaxB = sgemmRowSplitMaxB
}

// setVariant selects the micro-kernel family by name ("avx512", "avx2", "go"); it is for
// tests and benchmarks that compare the variants on one machine.
func (s *gemmState) setVariant(name string) error {
	for _, v := range sgemmAvailable {
		if v.name == name {
			s.v = v
			return nil
		}
	}
	return fmt.Errorf("cpu: sgemm variant %q is not available on this machine", name)
}

// sgemmArgs are the operands of one (sub-)GEMM, see kernels.sgemm.
type sgemmArgs struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a              []float32
	lda            int
	b              []float32
	ldb            int
	c              []float32
	ldc            int
	ep             sgemmEpilogue
}

// sgemmEpilogue is what happens to C once the product is complete (device.GemmArgs'
// epilogue): C[i,j] += bias[j] when bias is set, then C = act(C) when actOn. The
// blocked loops apply it to each row panel of a block right after its last k block, while
// the panel is in L1.
type sgemmEpilogue struct {
	vec   *vecVariant
	bias  []float32 // one per column of C (of this sub-GEMM's C, after columns)
	actOn bool
	act   device.UnaryOp
	p     float32
}

func (e *sgemmEpilogue) active() bool { return e.bias != nil || e.actOn }

// apply runs the epilogue on the rows×cols matrix at c (row stride ldc), whose first
// column is column col0 of C.
func (e *sgemmEpilogue) apply(c []float32, ldc, rows, cols, col0 int) {
	relu := e.actOn && e.act == device.ReLU
	if e.bias != nil || relu {
		var bias []float32
		if e.bias != nil {
			bias = e.bias[col0 : col0+cols]
		}
		e.vec.biasReLU(c, ldc, rows, cols, bias, relu)
	}
	if e.actOn && !relu {
		for r := range rows {
			row := c[r*ldc : r*ldc+cols]
			unaryForward(e.vec, e.act, row, row, e.p)
		}
	}
}

// sgemmTask is the pool task of a threaded GEMM: part p computes its share of C.
type sgemmTask struct {
	s      *gemmState
	v      *sgemmVariant
	g      sgemmArgs
	splitN bool // columns of C are split between parts (else rows)
	dot    bool // the parts run dotColumns on their columns

	// Shared-A mode: for each (ic, pc) block the parts first pack the A block together
	// into gemmState.sharedA (packing), then each computes its columns from it.
	shared         bool
	packing        bool
	plan           sgemmPlan
	ic, mb, pc, kb int
}

// columns restricts g to the columns [lo, hi) of C.
func (g *sgemmArgs) columns(lo, hi int) {
	if g.transB {
		g.b = g.b[lo*g.ldb:] // B stored n×k: rows lo..hi
	} else {
		g.b = g.b[lo:] // B stored k×n: columns lo..hi
	}
	g.c = g.c[lo:]
	g.n = hi - lo
	if g.ep.bias != nil {
		g.ep.bias = g.ep.bias[lo:hi]
	}
}

// rows restricts g to the rows [lo, hi) of C.
func (g *sgemmArgs) rows(lo, hi int) {
	if g.transA {
		g.a = g.a[lo:] // A stored k×m: columns lo..hi
	} else {
		g.a = g.a[lo*g.lda:] // A stored m×k: rows lo..hi
	}
	g.c = g.c[lo*g.ldc:]
	g.m = hi - lo
}

func (t *sgemmTask) run(part, parts int) {
	g := t.g
	v := t.v
	if t.dot {
		lo, hi := split(g.n, part, parts, sgemmDotCols)
		if lo < hi {
			g.columns(lo, hi)
			t.s.dotColumns(&t.s.bufs[part], v, &g)
		}
		return
	}
	if t.shared {
		if t.packing {
			if lo, hi := split(t.mb, part, parts, v.mr); lo < hi {
				sgemmPackA(v, t.s.sharedA[lo*t.kb:], &g, t.ic+lo, t.pc, hi-lo, t.kb)
			}
			return
		}
		lo, hi := split(g.n, part, parts, v.nr)
		if lo >= hi {
			return
		}
		g.columns(lo, hi)
		p := t.plan
		p.nc = balance(g.n, v.nc, v.nr)
		p.directB = !g.transB && p.kc*g.n <= sgemmDirectMax
		buf := &t.s.bufs[part]
		p.growB(buf, v)
		t.s.block(buf, v, &g, &p, t.ic, t.mb, t.pc, t.kb, t.s.sharedA, t.mb)
		return
	}
	if t.splitN {
		lo, hi := split(g.n, part, parts, v.nr)
		if lo >= hi {
			return
		}
		g.columns(lo, hi)
	} else {
		lo, hi := split(g.m, part, parts, v.mr)
		if lo >= hi {
			return
		}
		g.rows(lo, hi)
	}
	t.s.serial(&t.s.bufs[part], v, &g)
}

// sgemm computes C = alpha*op(A)*op(B) + beta*C for row-major matrices: op(A) is m×kk
// (A stored m×kk with leading dimension lda, or kk×m when transA), op(B) kk×n (B stored
// kk×n with leading dimension ldb, or n×kk when transB), C m×n (ldc). beta == 0 never
// reads C (NaNs in C do not propagate). The caller has checked the shapes; sgemm
// allocates nothing once its buffers have grown to the largest shape seen.
func (k *kernels) sgemm(transA, transB bool, m, n, kk int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	k.sgemmWith(transA, transB, m, n, kk, alpha, a, lda, b, ldb, beta, c, ldc, sgemmEpilogue{})
}

// sgemmWith is sgemm followed by the epilogue ep (none when ep is the zero value),
// applied to each part of C as soon as it is final.
func (k *kernels) sgemmWith(transA, transB bool, m, n, kk int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, ep sgemmEpilogue) {
	if m <= 0 || n <= 0 {
		return
	}
	if kk <= 0 || alpha == 0 {
		sgemmScale(m, n, beta, c, ldc)
		if ep.active() {
			ep.apply(c, ldc, m, n, 0)
		}
		return
	}
	s := &k.gemm
	g := sgemmArgs{transA, transB, m, n, kk, alpha, beta, a, lda, b, ldb, c, ldc, ep}
	v := s.v.forM(m)
	parts := 1
	if flops := 2 * m * n * kk; flops >= 2*s.minFlops {
		parts = min(len(s.bufs), s.pool.threads, flops/max(s.minFlops, 1))
	}
	if s.v.takesDot(&g) {
		parts = min(parts, ceilDiv(n, sgemmDotCols))
		if parts <= 1 {
			s.dotColumns(&s.bufs[0], s.v, &g)
			return
		}
		t := &s.task
		t.g, t.v, t.dot = g, s.v, true
		s.pool.parallel(parts, t)
		t.dot = false
		t.g = sgemmArgs{}
		return
	}
	if parts <= 1 {
		s.one(&s.bufs[0], &g)
		return
	}
	// Split the dimension whose split duplicates the least packing: splitting columns
	// makes every thread pack all of A (m×k), splitting rows all of B (k×n). A side
	// needs enough tiles to go round. Up to rowSplitMaxB, B's duplicated packing costs
	// less than the shared-A mode's hand-offs (see sgemmRowSplitMaxB).
	tilesN, tilesM := ceilDiv(n, v.nr), ceilDiv(m, v.mr)
	splitN := tilesN >= parts && (tilesM < parts || (m <= n && kk*n > s.rowSplitMaxB))
	if p := sgemmPlanFor(v, &g); p.directA && p.directB && tilesM >= parts {
		// Nothing is packed either way (the weight gradient dW = dYᵀ·X of a dense
		// layer): give each thread contiguous rows of C, the same slice of the weights
		// that its share of the optimizer update then reads.
		splitN = false
	}
	if splitN {
		parts = min(parts, tilesN)
	} else {
		parts = min(parts, tilesM)
	}
	if parts <= 1 {
		s.serial(&s.bufs[0], v, &g)
		return
	}
	t := &s.task
	t.g, t.v, t.splitN = g, v, splitN
	if p := sgemmPlanFor(v, &g); splitN && !p.directA && m*kk >= s.sharedAMin {
		s.sharedA = grow(s.sharedA, p.mc*p.kc)
		t.shared, t.plan = true, p
		for t.ic = 0; t.ic < m; t.ic += p.mc {
			t.mb = min(p.mc, m-t.ic)
			for t.pc = 0; t.pc < kk; t.pc += p.kc {
				t.kb = min(p.kc, kk-t.pc)
				t.packing = true
				s.pool.parallel(parts, t)
				t.packing = false
				s.pool.parallel(parts, t)
			}
		}
		t.shared = false
	} else {
		s.pool.parallel(parts, t)
	}
	t.g = sgemmArgs{} // drop the references to the caller's slices
}

// one computes g on the calling thread with the buffers buf: what sgemmWith does for a
// product too small to split.
func (s *gemmState) one(buf *sgemmBuffers, g *sgemmArgs) {
	if s.v.takesDot(g) {
		s.dotColumns(buf, s.v, g)
		return
	}
	m, n := g.m, g.n
	if s.v.transposeOut != nil && g.beta == 0 && 2*n <= s.v.nr && 2*n <= m && m*n <= sgemmDirectMax {
		// A narrow C (the 10 logits of the reference job) would fill a third of each
		// tile's columns: compute C' = Cᵀ = op(B)ᵀ·op(A)ᵀ, n×m, whose rows fill the
		// tiles, then write its transpose into C.
		buf.scratch = grow(buf.scratch, n*m)
		gt := sgemmArgs{!g.transB, !g.transA, n, m, g.k, g.alpha, 0, g.b, g.ldb, g.a, g.lda, buf.scratch, m, sgemmEpilogue{}}
		s.serial(buf, s.v.forM(n), &gt)
		s.v.transposeOut(g.c, g.ldc, buf.scratch, m, n, m)
		if g.ep.active() {
			g.ep.apply(g.c, g.ldc, m, n, 0) // C is m×n ≤ 64 Ki elements, still in cache
		}
		return
	}
	s.serial(buf, s.v.forM(m), g)
}

// sgemmBatch runs batch products of one shape, the i-th on a[i*sa:], b[i*sb:] and
// c[i*sc:], when each is too small to split (2*m*n*k below twice the per-thread
// minimum): the products are spread over the pool instead, each computed whole by one
// thread as sgemmWith computes it, so the results are the same bits as one after the
// other. It reports false, doing nothing, for products large enough to split.
func (k *kernels) sgemmBatch(batch int, transA, transB bool, m, n, kk int, alpha float32, a []float32, lda, sa int,
	b []float32, ldb, sb int, beta float32, c []float32, ldc, sc int) bool {
	s := &k.gemm
	flops := 2 * m * n * kk
	if batch < 2 || m <= 0 || n <= 0 || kk <= 0 || alpha == 0 || flops >= 2*s.minFlops {
		return false
	}
	parts := min(batch, len(s.bufs), max(1, batch*flops/max(s.minFlops, 1)))
	if parts < 2 {
		return false
	}
	t := &s.batch
	*t = sgemmBatchTask{s: s, batch: batch, sa: sa, sb: sb, sc: sc,
		g: sgemmArgs{transA: transA, transB: transB, m: m, n: n, k: kk, alpha: alpha, beta: beta, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc}}
	s.pool.parallel(parts, t)
	*t = sgemmBatchTask{}
	return true
}

// sgemmBatchTask is sgemmBatch's pool task: part p computes a range of the products with
// the packing buffers of p.
type sgemmBatchTask struct {
	s          *gemmState
	batch      int
	sa, sb, sc int
	g          sgemmArgs // the first product
}

func (t *sgemmBatchTask) run(part, parts int) {
	lo, hi := split(t.batch, part, parts, 1)
	for i := lo; i < hi; i++ {
		g := t.g
		g.a, g.b, g.c = g.a[i*t.sa:], g.b[i*t.sb:], g.c[i*t.sc:]
		t.s.one(&t.s.bufs[part], &g)
	}
}

// sgemmScale computes C = beta*C (C = 0 when beta == 0, without reading C).
func sgemmScale(m, n int, beta float32, c []float32, ldc int) {
	for i := range m {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		if beta == 1 {
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

// grow returns buf resized to n elements, reallocating only when it is too small.
func grow(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
}

// sgemmPlan is the blocking of one (sub-)GEMM: block lengths and which operands are
// read in place.
type sgemmPlan struct {
	mc, kc, nc       int
	directA, directB bool
}

func sgemmPlanFor(v *sgemmVariant, g *sgemmArgs) sgemmPlan {
	// Equal k blocks: 784 = 392+392 rather than 384+384+16, whose last block would pay a
	// whole C update for 16 steps. Equal m and n blocks too, so that no block is a
	// sliver with little reuse.
	p := sgemmPlan{
		mc: balance(g.m, v.mc, v.mr),
		kc: balance(g.k, v.kc, min(16, v.kc)),
		nc: balance(g.n, v.nc, v.nr),
	}
	// In place: op(A) from A stored k×m, op(B) from B stored k×n, when small.
	p.directA = g.transA && p.kc*g.m <= sgemmDirectMax
	p.directB = !g.transB && p.kc*g.n <= sgemmDirectMax
	return p
}

// growB sizes buf.b for the plan's B blocks.
func (p *sgemmPlan) growB(buf *sgemmBuffers, v *sgemmVariant) {
	if p.directB {
		buf.b = grow(buf.b, p.kc*v.nr) // the ragged last panel only
	} else {
		buf.b = grow(buf.b, p.kc*p.nc)
	}
}

// serial runs the blocked loops of the package comment on one thread.
func (s *gemmState) serial(buf *sgemmBuffers, v *sgemmVariant, g *sgemmArgs) {
	p := sgemmPlanFor(v, g)
	if p.directA {
		buf.a = grow(buf.a, p.kc*v.mr) // the ragged last panel only
	} else {
		buf.a = grow(buf.a, p.kc*p.mc)
	}
	p.growB(buf, v)
	for ic := 0; ic < g.m; ic += p.mc {
		mb := min(p.mc, g.m-ic)
		for pc := 0; pc < g.k; pc += p.kc {
			kb := min(p.kc, g.k-pc)
			mFull := mb // rows of the block read in place
			if p.directA {
				mFull = roundDown(mb, v.mr)
				if mFull < mb {
					sgemmPackA(v, buf.a, g, ic+mFull, pc, mb-mFull, kb)
				}
			} else {
				sgemmPackA(v, buf.a, g, ic, pc, mb, kb)
			}
			s.block(buf, v, g, &p, ic, mb, pc, kb, buf.a, mFull)
		}
	}
}

// block runs the loops inside one (ic, pc) block: the rows [ic, ic+mb) of C over k steps
// [pc, pc+kb), with the A block packed in ap (rows past mFull; all of them unless
// p.directA).
func (s *gemmState) block(buf *sgemmBuffers, v *sgemmVariant, g *sgemmArgs, p *sgemmPlan, ic, mb, pc, kb int, ap []float32, mFull int) {
	mr, nr := v.mr, v.nr
	beta := g.beta
	if pc > 0 {
		beta = 1
	}
	last := pc+kb == g.k // C is final after this block: run the epilogue
	for jc := 0; jc < g.n; jc += p.nc {
		nb := min(p.nc, g.n-jc)
		nFull := nb
		if p.directB {
			nFull = roundDown(nb, nr)
			if nFull < nb {
				sgemmPackB(v, buf.b, g, pc, jc+nFull, kb, nb-nFull)
			}
		} else {
			sgemmPackB(v, buf.b, g, pc, jc, kb, nb)
		}
		for ir := 0; ir < mb; ir += mr {
			rows := min(mr, mb-ir)
			var a []float32
			lda := mr
			switch {
			case ir >= mFull:
				a = ap[(ir-mFull)*kb:]
			case p.directA:
				a, lda = g.a[pc*g.lda+ic+ir:], g.lda
			default:
				a = ap[ir*kb:]
			}
			crow := g.c[(ic+ir)*g.ldc+jc:]
			switch {
			case !p.directB:
				// All panels packed, kb*nr apart.
				np := ceilDiv(nb, nr)
				v.kernel(kb, a, lda, buf.b, nr, kb*nr, np, crow, g.ldc, g.alpha, beta, rows, nb-(np-1)*nr)
			default:
				// Full panels in place, nr columns apart, then the packed ragged one.
				if nFull > 0 {
					v.kernel(kb, a, lda, g.b[pc*g.ldb+jc:], g.ldb, nr, nFull/nr, crow, g.ldc, g.alpha, beta, rows, nr)
				}
				if nFull < nb {
					v.kernel(kb, a, lda, buf.b, nr, 0, 1, crow[nFull:], g.ldc, g.alpha, beta, rows, nb-nFull)
				}
			}
			if last && g.ep.active() {
				g.ep.apply(crow, g.ldc, rows, nb, jc)
			}
		}
	}
}

// ceilDiv is ⌈x/m⌉ for x >= 0, m > 0. It divides in 32 bits when it can: a 64-bit
// division costs tens of cycles, and a small GEMM's set-up does several.
func ceilDiv(x, m int) int {
	if x+m <= 1<<32-1 {
		return int((uint32(x) + uint32(m) - 1) / uint32(m))
	}
	return (x + m - 1) / m
}

// roundUp rounds x >= 0 up to a multiple of m > 0.
func roundUp(x, m int) int { return ceilDiv(x, m) * m }

// roundDown rounds x >= 0 down to a multiple of m > 0.
func roundDown(x, m int) int {
	if x <= 1<<32-1 {
		return int(uint32(x) / uint32(m) * uint32(m))
	}
	return x / m * m
}

// balance splits n into the fewest blocks of at most about size and returns the block
// length: n/blocks rounded up to a multiple of align (so it may exceed size by less
// than align).
func balance(n, size, align int) int {
	if n <= size {
		return roundUp(n, align)
	}
	blocks := (n + size - 1) / size
	return roundUp((n+blocks-1)/blocks, align)
}

// sgemmPackA packs op(A)[i0:i0+mb, k0:k0+kb] into dst as micro-panels of v.mr rows, each
// kb steps of v.mr values (dst[p*kb*mr + k*mr + r] = op(A)[i0+p*mr+r, k0+k]), padding
// the last panel's missing rows with zeros.
func sgemmPackA(v *sgemmVariant, dst []float32, g *sgemmArgs, i0, k0, mb, kb int) {
	mr := v.mr
	if g.transA {
		// A stored k×m: row k0+k holds step k of every panel; read it once, left to right.
		packRows(v, dst, mr, g.a[k0*g.lda+i0:], g.lda, mb, kb)
		return
	}
	for p := 0; p < mb; p += mr {
		rows := min(mr, mb-p)
		d := dst[p*kb : p*kb+kb*mr]
		// A stored m×k: a transpose of rows×kb.
		src := g.a[(i0+p)*g.lda+k0:]
		if v.packAN != nil {
			v.packAN(d, src, g.lda, rows, kb)
			continue
		}
		packTranspose(d, mr, src, g.lda, rows, kb)
	}
}

// sgemmPackB packs op(B)[k0:k0+kb, j0:j0+nb] into dst as micro-panels of v.nr columns,
// each kb steps of v.nr values (dst[q*kb*nr + k*nr + c] = op(B)[k0+k, j0+q*nr+c]),
// padding the last panel's missing columns with zeros.
func sgemmPackB(v *sgemmVariant, dst []float32, g *sgemmArgs, k0, j0, kb, nb int) {
	nr := v.nr
	if !g.transB {
		// B stored k×n: row k0+k holds step k of every panel.
		packRows(v, dst, nr, g.b[k0*g.ldb+j0:], g.ldb, nb, kb)
		return
	}
	for q := 0; q < nb; q += nr {
		cols := min(nr, nb-q)
		d := dst[q*kb : q*kb+kb*nr]
		// B stored n×k: a transpose of cols×kb.
		src := g.b[(j0+q)*g.ldb+k0:]
		if v.packBT != nil {
			v.packBT(d, src, g.ldb, cols, kb)
			continue
		}
		packTranspose(d, nr, src, g.ldb, cols, kb)
	}
}

// packRows cuts the kb×width matrix src (row stride ld) into panels of w columns:
// dst[q*kb + k*w + c] = src[k*ld + q+c] for each panel start q (a multiple of w), zeros
// past width in the last panel. It reads src row by row, each row once.
func packRows(v *sgemmVariant, dst []float32, w int, src []float32, ld, width, kb int) {
	full := roundDown(width, w)
	if full < width && v.packRagged != nil {
		v.packRagged(dst[full*kb:], w, src[full:], ld, width-full, kb)
		if full == 0 {
			return
		}
		width = full
	}
	for k := range kb {
		row := src[k*ld : k*ld+width]
		d := dst[k*w:]
		q := 0
		switch w {
		case 32:
			for ; q < full; q += 32 {
				*(*[32]float32)(d[q*kb:]) = *(*[32]float32)(row[q:])
			}
		case 16:
			for ; q < full; q += 16 {
				*(*[16]float32)(d[q*kb:]) = *(*[16]float32)(row[q:])
			}
		case 12:
			for ; q < full; q += 12 {
				*(*[12]float32)(d[q*kb:]) = *(*[12]float32)(row[q:])
			}
		case 8:
			for ; q < full; q += 8 {
				*(*[8]float32)(d[q*kb:]) = *(*[8]float32)(row[q:])
			}
		case 6:
			for ; q < full; q += 6 {
				*(*[6]float32)(d[q*kb:]) = *(*[6]float32)(row[q:])
			}
		case 4:
			for ; q < full; q += 4 {
				*(*[4]float32)(d[q*kb:]) = *(*[4]float32)(row[q:])
			}
		}
		for ; q < full; q += w {
			copy(d[q*kb:q*kb+w], row[q:q+w])
		}
		if full < width {
			// The ragged panel, element by element: for the few values of a tiny
			// product's panel row, calls to memmove and memclr cost more.
			tail := d[full*kb : full*kb+w]
			src := row[full:]
			for j := range tail {
				var x float32
				if j < len(src) {
					x = src[j]
				}
				tail[j] = x
			}
		}
	}
}

// packTranspose writes the transpose of the rows×kb matrix src (row stride ld) into dst
// with row stride w >= rows: dst[k*w + r] = src[r*ld + k], zeros in columns rows..w-1.
func packTranspose(dst []float32, w int, src []float32, ld, rows, kb int) {
	// Four source rows at a time keep four read streams going and write four adjacent
	// values of each destination row.
	r := 0
	for ; r+4 <= rows; r += 4 {
		s0 := src[r*ld : r*ld+kb]
		s1 := src[(r+1)*ld : (r+1)*ld+kb]
		s2 := src[(r+2)*ld : (r+2)*ld+kb]
		s3 := src[(r+3)*ld : (r+3)*ld+kb]
		for k := range kb {
			d := dst[k*w+r : k*w+r+4]
			d[0], d[1], d[2], d[3] = s0[k], s1[k], s2[k], s3[k]
		}
	}
	for ; r < rows; r++ {
		s0 := src[r*ld : r*ld+kb]
		for k := range kb {
			dst[k*w+r] = s0[k]
		}
	}
	if rows < w {
		for k := range kb {
			clear(dst[k*w+rows : k*w+w])
		}
	}
}
