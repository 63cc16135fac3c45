package devicetest

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/device"
)

// The mixed-precision ops: Cast, Unscale, Gemm in TF32, BF16 and FP16 (float32 and
// 16-bit operands), and Update writing a 16-bit copy (Hyper.Half). Known answers are
// worked out by hand; parity compares a backend with the CPU reference, which
// emulates each precision (device.Precision), within Tolerances["gemm <precision>"].

// precisions are the precisions other than FP32.
var precisions = []device.Precision{device.TF32, device.BF16, device.FP16}

// half is a 16-bit buffer of type dt holding vals rounded (through Cast).
func (d dev) half(dt device.DType, vals ...float32) device.Buffer {
	d.t.Helper()
	h := d.alloc(dt, len(vals))
	require.NoError(d.t, d.b.Cast(h, d.f32(vals...)))
	return h
}

// readHalf reads a 16-bit buffer as float32 values (through Cast, which is exact that way).
func (d dev) readHalf(h device.Buffer) []float32 {
	d.t.Helper()
	f := d.alloc(device.Float32, h.Len())
	require.NoError(d.t, d.b.Cast(f, h))
	return d.read(f)
}

// bits compares float32 values bit for bit (NaN payloads aside: any NaN matches a NaN).
func bitsEqual(t *testing.T, name string, want, got []float32) {
	t.Helper()
	require.Len(t, got, len(want), name)
	for i := range want {
		w, g := want[i], got[i]
		if math.IsNaN(float64(w)) && math.IsNaN(float64(g)) {
			continue
		}
		if math.Float32bits(w) != math.Float32bits(g) {
			t.Errorf("%s [%d]: got %g (%#08x), want %g (%#08x)", name, i, g, math.Float32bits(g), w, math.Float32bits(w))
		}
	}
}

func knownPrecision(t *testing.T, b device.Backend) {
	t.Run("cast", func(t *testing.T) { knownCast(t, dev{t, b}) })
	t.Run("gemm precisions", func(t *testing.T) { knownGemmPrecision(t, dev{t, b}) })
	t.Run("unscale", func(t *testing.T) { knownUnscale(t, dev{t, b}) })
	t.Run("update half copy", func(t *testing.T) { knownUpdateHalf(t, dev{t, b}) })
}

func knownCast(t *testing.T, d dev) {
	p2 := func(e int) float32 { return float32(math.Ldexp(1, e)) }
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	negZero := float32(math.Copysign(0, -1))
	// x, then its bfloat16 and binary16 roundings, worked out by hand: bfloat16 keeps 8
	// significant bits (spacing 2^-7 at 1), binary16 11 (spacing 2^-10 at 1, 32 at 65504,
	// 2^-24 below 2^-14); ties go to the even neighbour.
	cases := []struct{ x, bf, fp float32 }{
		{1.5, 1.5, 1.5},
		{1 + p2(-8), 1, 1 + p2(-8)},                 // bf16 tie, down to even
		{1 + 3*p2(-8), 1 + p2(-6), 1 + 3*p2(-8)},    // bf16 tie, up to even
		{1 + p2(-11), 1, 1},                         // fp16 tie, down
		{1 + 3*p2(-11), 1, 1 + p2(-9)},              // fp16 tie, up
		{-(1 + 3*p2(-11)), -1, -(1 + p2(-9))},       // signs
		{65504, 65536, 65504},                       // fp16's largest; bf16: 65504 = 1.9990234·2^15 rounds to 2^16
		{65520, 65536, inf},                         // fp16 overflow tie: to Inf
		{-1e6, -999424, -inf},                       // 1e6 = 0x49742400: bf16 0x4974 = 999424
		{70000, 70144, inf},                         // 0x4788b800: bf16 rounds up to 0x4789 = 70144
		{p2(-24), p2(-24), p2(-24)},                 // fp16's smallest subnormal
		{p2(-25), p2(-25), 0},                       // half of it: tie to 0
		{3 * p2(-25), 3 * p2(-25), 2 * p2(-24)},     // 1.5 of it: tie to 2
		{p2(-14) - p2(-26), p2(-14), p2(-14)},       // a quarter of a spacing below 2^-14, in both
		{1e-9, math.Float32frombits(0x30890000), 0}, // 0x3089705f: the low half 0x705f < 0x8000 rounds down
		{negZero, negZero, negZero},
		{inf, inf, inf},
		{-inf, -inf, -inf},
		{nan, nan, nan},
		{math.MaxFloat32, inf, inf},                   // bf16: carries into Inf
		{p2(-130) + p2(-133), p2(-130) + p2(-133), 0}, // a float32 subnormal bf16 keeps
	}
	xs := make([]float32, len(cases))
	wantBF, wantFP := make([]float32, len(cases)), make([]float32, len(cases))
	for i, c := range cases {
		xs[i], wantBF[i], wantFP[i] = c.x, c.bf, c.fp
	}
	bitsEqual(t, "cast float32 -> bfloat16 -> float32", wantBF, d.readHalf(d.half(device.BFloat16, xs...)))
	bitsEqual(t, "cast float32 -> float16 -> float32", wantFP, d.readHalf(d.half(device.Float16, xs...)))

	// A 16-bit buffer is zeroed by Alloc, and Copy and View move its elements.
	h := d.alloc(device.Float16, 5)
	bitsEqual(t, "alloc float16 zeroed", make([]float32, 5), d.readHalf(h))
	src := d.half(device.Float16, 1, 2, 3, 4, 5)
	require.NoError(t, d.b.Copy(h, src))
	v, err := d.b.View(h, 1, 3)
	require.NoError(t, err)
	assert.Equal(t, device.Float16, v.DType())
	bitsEqual(t, "view of a copied float16 buffer", []float32{2, 3, 4}, d.readHalf(v))
	require.NoError(t, d.b.Cast(v, d.f32(-7, 0.5, 1e-3)))
	bitsEqual(t, "cast into a view", []float32{1, -7, 0.5, device.FP16Float32(0x1419), 5}, d.readHalf(h))
}

func knownGemmPrecision(t *testing.T, d dev) {
	p2 := func(e int) float32 { return float32(math.Ldexp(1, e)) }
	// C (1×1) = a·b with a = [1+3·2^-12, 1+2^-9, 3], b = [1, 1, 1]:
	//   FP32: every operand exact: 5 + 11·2^-12
	//   TF32, FP16 (10 mantissa bits): 1+3·2^-12 = 1+0.75·2^-10 rounds to 1+2^-10, so
	//         5 + 2^-10 + 2^-9 = 5 + 3·2^-10
	//   BF16 (7 mantissa bits): 1+3·2^-12 and 1+2^-9 round to 1: 5
	a := []float32{1 + 3*p2(-12), 1 + p2(-9), 3}
	want := map[device.Precision]float32{device.FP32: 5 + 11*p2(-12), device.TF32: 5 + 3*p2(-10), device.FP16: 5 + 3*p2(-10), device.BF16: 5}
	for p := device.FP32; p <= device.LastPrecision; p++ {
		c := d.f32(nan())
		require.NoError(t, d.b.Gemm(device.GemmArgs{M: 1, N: 1, K: 3, Alpha: 1, A: d.f32(a...), B: d.f32(1, 1, 1), C: c, Precision: p}))
		bitsEqual(t, "gemm "+p.String(), []float32{want[p]}, d.read(c))
		if h := p.Half(); h.IsHalf() {
			// the same with the operands in 16-bit buffers, and mixed
			c := d.f32(nan())
			require.NoError(t, d.b.Gemm(device.GemmArgs{M: 1, N: 1, K: 3, Alpha: 1, A: d.half(h, a...), B: d.half(h, 1, 1, 1), C: c, Precision: p}))
			bitsEqual(t, "gemm "+p.String()+" 16-bit operands", []float32{want[p]}, d.read(c))
			require.NoError(t, d.b.Gemm(device.GemmArgs{M: 1, N: 1, K: 3, Alpha: 1, A: d.f32(1, 1, 1), B: d.half(h, a...), C: c, Precision: p}))
			bitsEqual(t, "gemm "+p.String()+" 16-bit B", []float32{want[p]}, d.read(c))
		}
	}
	// Operand overflow: 70000 is past binary16's range (Inf) and rounds to 70144 in
	// bfloat16; the products and the sums stay float32: 70144·2 = 140288, and the
	// epilogue (bias 1, ReLU) runs in float32 too.
	c := d.f32(nan(), nan())
	require.NoError(t, d.b.Gemm(device.GemmArgs{M: 2, N: 1, K: 1, Alpha: 1, A: d.f32(70000, -70000), B: d.f32(2), C: c, Precision: device.BF16,
		Bias: d.f32(1), ActOn: true, Act: device.ReLU}))
	bitsEqual(t, "gemm bf16 large operands, bias and relu", []float32{140289, 0}, d.read(c))
	require.NoError(t, d.b.Gemm(device.GemmArgs{M: 2, N: 1, K: 1, Alpha: 1, A: d.f32(70000, 300), B: d.f32(300), C: c, Precision: device.FP16}))
	bitsEqual(t, "gemm fp16 overflowing operand", []float32{float32(math.Inf(1)), 90000}, d.read(c))

	// Every transpose, alpha/beta and a batch with a shared operand: the 2×3 by 3×2 of
	// knownGemm with A and B rounded to bfloat16 first. A = [1 2 3; 4 5 6] and
	// B = [7 8; 9 10; 11 12] are exact in bfloat16, so C is knownGemm's: A·B =
	// [58 64; 139 154], and 0.5·A·B - C_old with C_old = 1.
	for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
		av, bv := []float32{1, 2, 3, 4, 5, 6}, []float32{7, 8, 9, 10, 11, 12}
		if tr[0] {
			av = []float32{1, 4, 2, 5, 3, 6}
		}
		if tr[1] {
			bv = []float32{7, 9, 11, 8, 10, 12}
		}
		for _, h := range []bool{false, true} {
			A, B := d.f32(av...), d.f32(bv...)
			if h {
				A, B = d.half(device.BFloat16, av...), d.half(device.BFloat16, bv...)
			}
			c := d.f32(1, 1, 1, 1, 1, 1, 1, 1)
			require.NoError(t, d.b.Gemm(device.GemmArgs{TransA: tr[0], TransB: tr[1], M: 2, N: 2, K: 3, Alpha: 0.5, Beta: -1,
				A: A, B: B, C: c, Batch: 2, StrideC: 4, Precision: device.BF16}))
			bitsEqual(t, fmt.Sprintf("gemm bf16 batch transA=%v transB=%v 16-bit=%v", tr[0], tr[1], h),
				[]float32{28, 31, 68.5, 76, 28, 31, 68.5, 76}, d.read(c))
		}
	}
}

func knownUnscale(t *testing.T, d dev) {
	x, found := d.f32(2, -4, 0.5, 0), d.f32(0)
	require.NoError(t, d.b.Unscale(x, found, 0.25))
	bitsEqual(t, "unscale finite", []float32{0.5, -1, 0.125, 0}, d.read(x))
	bitsEqual(t, "unscale finite: found untouched", []float32{0}, d.read(found))
	for _, bad := range []float32{float32(math.Inf(1)), float32(math.Inf(-1)), nan()} {
		x := d.f32(1, 2, bad, 3)
		require.NoError(t, d.b.Unscale(x, found, 0.5))
		bitsEqual(t, fmt.Sprintf("unscale with %v: found", bad), []float32{1}, d.read(found))
		bitsEqual(t, fmt.Sprintf("unscale with %v: x", bad), []float32{0.5, 1, bad * 0.5, 1.5}, d.read(x))
		d.write(found, []float32{0})
	}
	// found collects: once set, a finite buffer leaves it set
	d.write(found, []float32{1})
	require.NoError(t, d.b.Unscale(d.f32(1, 2), found, 1))
	bitsEqual(t, "unscale keeps found", []float32{1}, d.read(found))
	// 65536 of them, past one block and one grid-stride round, the Inf last
	big := make([]float32, 1<<16)
	big[len(big)-1] = float32(math.Inf(1))
	d.write(found, []float32{0})
	require.NoError(t, d.b.Unscale(d.f32(big...), found, 1))
	bitsEqual(t, "unscale finds the last element", []float32{1}, d.read(found))
}

func knownUpdateHalf(t *testing.T, d dev) {
	p2 := func(e int) float32 { return float32(math.Ldexp(1, e)) }
	// SGD with LR 1 and g = -2^-9: p = 1 + 2^-9, whose bfloat16 copy is 1 and whose
	// binary16 copy is exact; the second value goes 70000 -> 70001, whose copies are
	// 70144 and Inf.
	for _, c := range []struct {
		dt   device.DType
		want []float32
	}{
		{device.BFloat16, []float32{1, 70144}},
		{device.Float16, []float32{1 + p2(-9), float32(math.Inf(1))}},
	} {
		p, h := d.f32(1, 70000), d.alloc(c.dt, 2)
		require.NoError(t, d.b.Update(device.SGD, device.Hyper{LR: 1, Half: h}, p, d.f32(-p2(-9), -1), nil, nil))
		bitsEqual(t, "sgd param", []float32{1 + p2(-9), 70001}, d.read(p))
		bitsEqual(t, "sgd "+c.dt.String()+" copy", c.want, d.readHalf(h))
	}
	// Every optimizer on 5000 values (past the CPU's chunking): the copy is the new
	// parameter rounded, and the parameter is what the update without a copy gives.
	rng := newRand(9)
	pv, gv := uniform(rng, 5000, -1, 1), uniform(rng, 5000, -1, 1)
	for _, op := range []device.OptOp{device.SGD, device.Momentum, device.Adam, device.AdamW} {
		h := device.Hyper{LR: 0.01, Momentum: 0.9, Nesterov: true, Beta1: 0.9, Beta2: 0.999, Eps: 1e-7, WeightDecay: 0.01, Step: 1}
		for _, dt := range []device.DType{device.BFloat16, device.Float16} {
			var p, m, v [2]device.Buffer
			for s := range 2 {
				p[s], m[s], v[s] = d.f32(pv...), d.f32(make([]float32, 5000)...), d.f32(make([]float32, 5000)...)
			}
			if op == device.SGD {
				m = [2]device.Buffer{}
			}
			if op == device.SGD || op == device.Momentum {
				v = [2]device.Buffer{}
			}
			half := d.alloc(dt, 5000)
			hh := h
			hh.Half = half
			require.NoError(t, d.b.Update(op, hh, p[0], d.f32(gv...), m[0], v[0]))
			require.NoError(t, d.b.Update(op, h, p[1], d.f32(gv...), m[1], v[1]))
			got := d.read(p[0])
			bitsEqual(t, op.String()+" param with and without a copy", d.read(p[1]), got)
			want := make([]float32, len(got))
			for i, x := range got {
				want[i] = device.HalfFloat32(dt, device.HalfBits(dt, x))
			}
			bitsEqual(t, op.String()+" "+dt.String()+" copy", want, d.readHalf(half))
		}
	}
}

// parityPrecision: Gemm in every precision, with float32 and 16-bit operands, every
// transpose, alpha/beta, the epilogue and batches; Cast both ways and Unscale bit for
// bit; Update with a 16-bit copy.
func parityPrecision(p *pair) {
	for _, prec := range precisions {
		fam := "gemm " + prec.String()
		for _, sh := range [][3]int{{1, 1, 1}, {31, 33, 17}, {33, 31, 64}, {1031, 10, 33}, {7, 1, 300}, {64, 96, 128}} {
			m, n, k := sh[0], sh[1], sh[2]
			for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
				for _, ab := range [][2]float32{{1, 0}, {0.5, -1.5}} {
					a, b := p.rand(m*k, -1, 1), p.rand(k*n, -1, 1)
					if h := prec.Half(); h.IsHalf() && tr[0] != tr[1] {
						a = p.toHalf(h, a) // 16-bit operands on some of the cases
					}
					c := p.out(m * n)
					if ab[1] != 0 {
						c = p.rand(m*n, -1, 1)
					}
					name := fmt.Sprintf("%s transA=%v transB=%v alpha=%v beta=%v A %s", fam, tr[0], tr[1], ab[0], ab[1], a[0].DType())
					p.do(name, func(bk device.Backend, s int) error {
						return bk.Gemm(device.GemmArgs{TransA: tr[0], TransB: tr[1], M: m, N: n, K: k, Alpha: ab[0], Beta: ab[1],
							A: a[s], B: b[s], C: c[s], Precision: prec})
					})
					p.same(fam, name, fmt.Sprintf("M=%d N=%d K=%d", m, n, k), c)
				}
			}
		}
		// the epilogue, as a dense layer's forward pass
		m, n, k := 33, 40, 100
		a, b, bias := p.rand(m*k, -2, 2), p.rand(n*k, -1, 1), p.rand(n, -1, 1)
		if h := prec.Half(); h.IsHalf() {
			b = p.toHalf(h, b)
		}
		c := p.out(m * n)
		p.do(fam+" epilogue", func(bk device.Backend, s int) error {
			return bk.Gemm(device.GemmArgs{TransB: true, M: m, N: n, K: k, Alpha: 1, A: a[s], B: b[s], C: c[s], Bias: bias[s],
				ActOn: true, Act: device.ReLU, Precision: prec})
		})
		p.same(fam, fam+" epilogue", fmt.Sprintf("M=%d N=%d K=%d", m, n, k), c)
		// batched, one operand shared
		bt, sa := 4, m*k
		ab, bb, cb := p.rand(bt*sa, -1, 1), p.rand(k*n, -1, 1), p.rand(bt*m*n, -1, 1)
		p.do(fam+" batched", func(bk device.Backend, s int) error {
			return bk.Gemm(device.GemmArgs{TransA: true, M: m, N: n, K: k, Alpha: 0.75, Beta: 0.25, A: ab[s], B: bb[s], C: cb[s],
				Batch: bt, StrideA: sa, StrideC: m * n, Precision: prec})
		})
		p.same(fam, fam+" batched", fmt.Sprintf("batch %d M=%d N=%d K=%d", bt, m, n, k), cb)
	}

	// Cast and Unscale do the same bits everywhere: values of every magnitude.
	for _, dt := range []device.DType{device.BFloat16, device.Float16} {
		for _, n := range []int{1, 33, 70001} {
			xs := uniform(p.rng, n, -1, 1)
			for i := range xs {
				xs[i] *= float32(math.Ldexp(1, p.rng.IntN(60)-40))
			}
			x := p.put(xs)
			h := twin{p.dev(0).alloc(dt, n), p.dev(1).alloc(dt, n)}
			p.do("cast to "+dt.String(), func(b device.Backend, s int) error { return b.Cast(h[s], x[s]) })
			y := p.out(n)
			p.do("cast from "+dt.String(), func(b device.Backend, s int) error { return b.Cast(y[s], h[s]) })
			p.same("cast", "cast "+dt.String()+" and back", fmt.Sprintf("[%d]", n), y)
		}
	}
	for _, n := range []int{1, 1031, 70001} {
		xs := uniform(p.rng, n, -1e4, 1e4)
		if n > 1 {
			xs[n/2] = float32(math.Inf(-1))
		}
		x, found := p.put(xs), p.put([]float32{0})
		p.do("unscale", func(b device.Backend, s int) error { return b.Unscale(x[s], found[s], 1.0/1024) })
		p.same("cast", "unscale x", fmt.Sprintf("[%d]", n), x)
		p.same("cast", "unscale found", fmt.Sprintf("[%d]", n), found)
	}

	// Adam with a bfloat16 copy, three steps.
	for _, n := range []int{33, 50001} {
		param, m, v := p.rand(n, -1, 1), p.put(make([]float32, n)), p.put(make([]float32, n))
		h := twin{p.dev(0).alloc(device.BFloat16, n), p.dev(1).alloc(device.BFloat16, n)}
		for step := 1; step <= 3; step++ {
			g := p.rand(n, -1, 1)
			p.do("adam with a copy", func(b device.Backend, s int) error {
				return b.Update(device.Adam, device.Hyper{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-7, Step: step, Half: h[s]}, param[s], g[s], m[s], v[s])
			})
		}
		p.same("update", "adam with a copy: param", fmt.Sprintf("[%d]", n), param)
		hf := p.out(n)
		p.do("cast the copy", func(b device.Backend, s int) error { return b.Cast(hf[s], h[s]) })
		p.same("update", "adam with a copy: the copy", fmt.Sprintf("[%d]", n), hf)
	}
}

// toHalf is x cast into new 16-bit buffers of type dt on both sides.
func (p *pair) toHalf(dt device.DType, x twin) twin {
	p.t.Helper()
	h := twin{p.dev(0).alloc(dt, x[0].Len()), p.dev(1).alloc(dt, x[1].Len())}
	p.do("cast to "+dt.String(), func(b device.Backend, s int) error { return b.Cast(h[s], x[s]) })
	return h
}

// precisionErrors are the bad arguments of the precision ops.
func precisionErrors(t *testing.T, b device.Backend) []errorCase {
	d := dev{t, b}
	f := func(n int) device.Buffer { return d.alloc(device.Float32, n) }
	bf := func(n int) device.Buffer { return d.alloc(device.BFloat16, n) }
	hf := func(n int) device.Buffer { return d.alloc(device.Float16, n) }
	i := func(n int) device.Buffer { return d.alloc(device.Int32, n) }
	gemm := func(mod func(*device.GemmArgs)) func() error {
		g := device.GemmArgs{M: 2, N: 2, K: 2, Alpha: 1, A: f(4), B: f(4), C: f(4), Precision: device.BF16}
		mod(&g)
		return func() error { return b.Gemm(g) }
	}
	return []errorCase{
		{"gemm fp32 with a bfloat16 A", gemm(func(g *device.GemmArgs) { g.A, g.Precision = bf(4), device.FP32 }),
			[]string{"gemm", "A is bfloat16, which precision fp32 does not read (want float32)"}},
		{"gemm bf16 with a float16 B", gemm(func(g *device.GemmArgs) { g.B = hf(4) }),
			[]string{"gemm", "B is float16, which precision bf16 does not read (want float32 or bfloat16)"}},
		{"gemm tf32 with a float16 B", gemm(func(g *device.GemmArgs) { g.B, g.Precision = hf(4), device.TF32 }),
			[]string{"gemm", "B is float16, which precision tf32 does not read"}},
		{"gemm bf16 short A", gemm(func(g *device.GemmArgs) { g.A = bf(3) }), []string{"gemm", "A has 3 elements, needs at least 4"}},
		{"gemm bfloat16 C", gemm(func(g *device.GemmArgs) { g.C = bf(4) }), []string{"gemm", "C is bfloat16, want float32"}},
		{"gemm unknown precision", gemm(func(g *device.GemmArgs) { g.Precision = 9 }), []string{"gemm", "unknown precision 9"}},
		{"cast float32 to float32", func() error { return b.Cast(f(4), f(4)) }, []string{"cast", "from float32 to float32"}},
		{"cast bfloat16 to float16", func() error { return b.Cast(hf(4), bf(4)) }, []string{"cast", "from bfloat16 to float16"}},
		{"cast int32", func() error { return b.Cast(bf(4), i(4)) }, []string{"cast", "from int32 to bfloat16"}},
		{"cast short", func() error { return b.Cast(bf(3), f(4)) }, []string{"cast", "dst has 3 elements but src has 4"}},
		{"cast nil", func() error { return b.Cast(nil, f(4)) }, []string{"cast", "dst or src is nil"}},
		{"unscale short found", func() error { return b.Unscale(f(4), f(0), 1) }, []string{"unscale", "found has 0 elements, want 1"}},
		{"unscale bfloat16 x", func() error { return b.Unscale(bf(4), f(1), 1) }, []string{"unscale", "x is bfloat16, want float32"}},
		{"unscale Inf", func() error { return b.Unscale(f(4), f(1), float32(math.Inf(1))) }, []string{"unscale", "inv must be finite"}},
		{"update float32 half", func() error { return b.Update(device.SGD, device.Hyper{LR: 1, Half: f(4)}, f(4), f(4), nil, nil) },
			[]string{"update sgd", "Half is float32, want bfloat16 or float16"}},
		{"update short half", func() error { return b.Update(device.SGD, device.Hyper{LR: 1, Half: bf(3)}, f(4), f(4), nil, nil) },
			[]string{"update sgd", "Half has 3 elements, want 4"}},
		{"unary on bfloat16", func() error { return b.Unary(device.ReLU, bf(4), bf(4), 0) }, []string{"unary relu", "x is bfloat16, want float32"}},
		{"write float32 into float16", func() error { return b.WriteFloat32(hf(2), []float32{1, 2}) }, []string{"write", "float16, want float32"}},
	}
}
