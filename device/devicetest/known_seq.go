package devicetest

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/device"
)

// Known answers of the sequence-model ops. The ones marked "PyTorch" come from
// testdata/known_seq.py (PyTorch's own modules and autograd, in float64), run as its doc
// comment says; the others are worked out by hand in the comments.

func knownSeq(t *testing.T, b device.Backend) {
	t.Run("gelu_tanh", func(t *testing.T) { knownGELUTanh(t, dev{t, b}) })
	t.Run("causal softmax", func(t *testing.T) { knownCausalSoftmax(t, dev{t, b}) })
	t.Run("scatter add", func(t *testing.T) { knownScatterAdd(t, dev{t, b}) })
	t.Run("permute", func(t *testing.T) { knownPermute(t, dev{t, b}) })
	t.Run("layernorm", func(t *testing.T) { knownLayerNorm(t, dev{t, b}) })
	t.Run("lstm", func(t *testing.T) { knownLSTM(t, dev{t, b}) })
	t.Run("gru", func(t *testing.T) { knownGRU(t, dev{t, b}) })
	t.Run("bce with logits", func(t *testing.T) { knownBCE(t, dev{t, b}) })
	t.Run("sequence cross-entropy", func(t *testing.T) { knownSequenceCrossEntropy(t, dev{t, b}) })
}

// seqTol is the tolerance of the known answers below that go through exp, tanh or a
// normalisation in float32.
var seqTol = Tol{Atol: 1e-6, Rtol: 1e-5}

func knownGELUTanh(t *testing.T, d dev) {
	// PyTorch: F.gelu(x, approximate='tanh') and its derivative.
	x := []float32{-3, -1, -0.5, 0, 0.5, 1, 2, 3}
	y := []float32{-0.00363739208, -0.158808009, -0.15428599, 0, 0.34571401, 0.841191991, 1.95459769, 2.99636261}
	dx := []float32{-0.0115841666, -0.0829640838, 0.132630096, 0.5, 0.867369904, 1.08296408, 1.08609926, 1.01158417}
	n := len(x)
	xb, yb := d.f32(x...), d.f32(nans(n)...)
	require.NoError(t, d.b.Unary(device.GELUTanh, xb, yb, 0))
	d.close(seqTol, "gelu_tanh", "[8]", y, yb)
	// dy = 2: dx doubles.
	dxb := d.f32(nans(n)...)
	require.NoError(t, d.b.UnaryBackward(device.GELUTanh, xb, yb, d.fill(n, 2), dxb, 0))
	want := make([]float32, n)
	for i, v := range dx {
		want[i] = 2 * v
	}
	d.close(seqTol, "gelu_tanh backward", "[8]", want, dxb)
	// The GEMM epilogue: A = I (2×2), B = [[-1, 0.5], [2, 3]], bias 0 → gelu_tanh(B).
	cb := d.f32(nans(4)...)
	require.NoError(t, d.b.Gemm(device.GemmArgs{M: 2, N: 2, K: 2, Alpha: 1, A: d.f32(1, 0, 0, 1), B: d.f32(-1, 0.5, 2, 3), C: cb,
		ActOn: true, Act: device.GELUTanh}))
	d.close(seqTol, "gemm epilogue gelu_tanh", "2×2", []float32{y[1], y[4], y[6], y[7]}, cb)
}

func knownCausalSoftmax(t *testing.T, d dev) {
	// Matrix 0, scale 0.5, x = 2*s with s: row 0 [0], row 1 [0, ln3], row 2 [0, ln2, ln5]:
	// softmax [1], [1/4 3/4], [1/8 2/8 5/8]. Above the diagonal x is NaN: it must not be
	// read, and y is exactly 0 there. Matrix 1: equal scores of 2000 (1000 after the
	// scale, overflowing without the max shift): 1, 1/2 1/2, 1/3 1/3 1/3.
	ln2, ln3, ln5 := float32(math.Ln2), float32(math.Log(3)), float32(math.Log(5))
	x := []float32{
		0, nan(), nan(),
		0, 2 * ln3, nan(),
		0, 2 * ln2, 2 * ln5,
		2000, nan(), nan(),
		2000, 2000, nan(),
		2000, 2000, 2000,
	}
	want := []float32{
		1, 0, 0,
		0.25, 0.75, 0,
		0.125, 0.25, 0.625,
		1, 0, 0,
		0.5, 0.5, 0,
		1.0 / 3, 1.0 / 3, 1.0 / 3,
	}
	y := d.f32(nans(18)...)
	require.NoError(t, d.b.CausalSoftmax(d.f32(x...), y, 2, 3, 0.5))
	d.close(near, "causal softmax", "(2,3,3)", want, y)
	got := d.read(y)
	for _, i := range []int{1, 2, 5, 10, 11, 14} {
		require.Equal(t, float32(0), got[i], "causal softmax: masked y[%d] must be exactly 0", i)
	}
	// In place, and a negative scale: -1 * [3 1] → softmax([-3 -1]) = [1 e²]/(1+e²).
	xb := d.f32(5, nan(), 3, 1)
	require.NoError(t, d.b.CausalSoftmax(xb, xb, 1, 2, -1))
	e2 := math.Exp(2)
	d.close(near, "causal softmax in place, scale -1", "(1,2,2)", []float32{1, 0, float32(1 / (1 + e2)), float32(e2 / (1 + e2))}, xb)
}

func knownScatterAdd(t *testing.T, d dev) {
	// dst rows [1 2] [3 4] [5 6] (accumulated into); idx [2 0 2 2] and src rows
	// [10 20] [30 40] [50 60] [70 80]: row 0 += [30 40] → [31 42]; row 1 stays [3 4];
	// row 2 += [10 20] + [50 60] + [70 80] → [135 166].
	dst := d.f32(1, 2, 3, 4, 5, 6)
	require.NoError(t, d.b.ScatterAdd(dst, d.f32(10, 20, 30, 40, 50, 60, 70, 80), d.i32(2, 0, 2, 2), 2))
	d.close(exact, "scatter add", "3×2 += 4 rows", []float32{31, 42, 3, 4, 135, 166}, dst)
	// Order: 2^24 + 1 + 1 in float32, adding in increasing r: (2^24 + 1) rounds to 2^24
	// (ties to even), then + 1 again: 2^24. (Adding 1 + 1 first would give 2^24 + 2.)
	dst = d.f32(0)
	require.NoError(t, d.b.ScatterAdd(dst, d.f32(1<<24, 1, 1), d.i32(0, 0, 0), 1))
	d.close(exact, "scatter add in increasing r", "[1]", []float32{1 << 24}, dst)
}

func knownPermute(t *testing.T, d dev) {
	// A 2×3 transpose: [0 1 2; 3 4 5] → [0 3; 1 4; 2 5].
	y := d.f32(nans(6)...)
	p := device.PermuteArgs{Rank: 2, Shape: [device.MaxRank]int{2, 3}, Perm: [device.MaxRank]int{1, 0}}
	require.NoError(t, d.b.Permute(d.f32(0, 1, 2, 3, 4, 5), y, p))
	d.close(exact, "permute transpose", "2×3", []float32{0, 3, 1, 4, 2, 5}, y)

	// Attention layouts, with every element's value spelling its index (digit k is the
	// index along axis k of x), so that y's expected values come from the definition:
	// (B,T,H,D) = (2,3,2,2) → (B,H,T,D); (B,T,3,H,D) = (2,2,3,2,2) → (3,B,H,T,D), the qkv
	// split; and each inverse, back to x.
	for _, c := range []struct {
		name        string
		shape, perm []int
	}{
		{"(B,T,H,D) → (B,H,T,D)", []int{2, 3, 2, 2}, []int{0, 2, 1, 3}},
		{"qkv (B,T,3,H,D) → (3,B,H,T,D)", []int{2, 2, 3, 2, 2}, []int{2, 0, 3, 1, 4}},
		{"(A,B,C) → (C,A,B), last axis moves", []int{3, 2, 4}, []int{2, 0, 1}},
		{"size-1 axes", []int{1, 3, 1, 2}, []int{3, 1, 2, 0}},
	} {
		var p device.PermuteArgs
		p.Rank = len(c.shape)
		copy(p.Shape[:], c.shape)
		copy(p.Perm[:], c.perm)
		x, want := digitsTensor(c.shape, c.perm)
		xb, yb := d.f32(x...), d.f32(nans(len(x))...)
		require.NoError(t, d.b.Permute(xb, yb, p))
		d.close(exact, "permute "+c.name, fmt.Sprint(c.shape), want, yb)
		back := d.f32(nans(len(x))...)
		require.NoError(t, d.b.Permute(yb, back, p.Inverse()))
		d.close(exact, "permute inverse "+c.name, fmt.Sprint(c.shape), x, back)
	}
}

// digitsTensor returns x of the given shape whose element at index (j_0, …, j_r-1) is
// the number with digits j_0 … j_r-1 (sizes below 10), and y = x permuted by perm,
// written from the definition y[i_0, …] = x[j] with j[perm[k]] = i_k.
func digitsTensor(shape, perm []int) (x, y []float32) {
	r, n := len(shape), 1
	for _, s := range shape {
		n *= s
	}
	value := func(j []int) float32 {
		v := 0
		for _, jk := range j {
			v = 10*v + jk
		}
		return float32(v)
	}
	x, y = make([]float32, n), make([]float32, n)
	for o := range n { // x in row-major order
		j, rest := make([]int, r), o
		for k := r - 1; k >= 0; k-- {
			j[k], rest = rest%shape[k], rest/shape[k]
		}
		x[o] = value(j)
	}
	for o := range n { // y in row-major order of its shape
		i, j, rest := make([]int, r), make([]int, r), o
		for k := r - 1; k >= 0; k-- {
			i[k], rest = rest%shape[perm[k]], rest/shape[perm[k]]
		}
		for k := range r {
			j[perm[k]] = i[k]
		}
		y[o] = value(j)
	}
	return x, y
}

func knownLayerNorm(t *testing.T, d dev) {
	// PyTorch: torch.ops.aten.native_layer_norm over 4 columns, eps 1e-5, and autograd
	// with the upstream gradient dy.
	x := []float32{1, 2, 3, 4, -1, 0.5, 2, -3}
	gamma, beta := []float32{0.5, 1, -1, 2}, []float32{0.1, 0.2, 0.3, 0.4}
	dy := []float32{1, 0, 0, 0, 0.5, -1, 2, 0.25}
	y := []float32{-0.57081771, -0.247211807, -0.147211807, 3.08327084, -0.0689340978, 0.673015474, -0.983899143, -2.43809284}
	mean, rstd := []float32{2.5, -0.375}, []float32{0.894423613, 0.540589113}
	dx := []float32{0.134165152, -0.178884186, -0.0447217173, 0.0894407514, 0.26412396, 0.00863883562, -0.11169901, -0.161063785}
	dGamma := []float32{-1.51056952, -0.473015474, 2.56779829, -0.354761605}
	dBeta := []float32{1.5, -1, 2, 0.25}

	a := device.LayerNormArgs{Rows: 2, Cols: 4, Eps: 1e-5, X: d.f32(x...), Y: d.f32(nans(8)...),
		Gamma: d.f32(gamma...), Beta: d.f32(beta...), Mean: d.f32(nans(2)...), RStd: d.f32(nans(2)...),
		DY: d.f32(dy...), DX: d.f32(nans(8)...), DGamma: d.f32(1, 2, 3, 4), DBeta: d.f32(-1, -1, -1, -1)}
	require.NoError(t, d.b.LayerNorm(a))
	d.close(seqTol, "layernorm y", "2×4", y, a.Y)
	d.close(seqTol, "layernorm mean", "[2]", mean, a.Mean)
	d.close(seqTol, "layernorm rstd", "[2]", rstd, a.RStd)
	require.NoError(t, d.b.LayerNormBackward(a))
	d.close(seqTol, "layernorm dx", "2×4", dx, a.DX)
	// DGamma and DBeta accumulate onto [1 2 3 4] and [-1 -1 -1 -1].
	d.close(seqTol, "layernorm dgamma (accumulated)", "[4]", addTo([]float32{1, 2, 3, 4}, dGamma), a.DGamma)
	d.close(seqTol, "layernorm dbeta (accumulated)", "[4]", addTo([]float32{-1, -1, -1, -1}, dBeta), a.DBeta)

	// Without bias: y - beta; the same dx and dgamma. In place: Y = X, DX = DY.
	noBias := make([]float32, 8)
	for i := range noBias {
		noBias[i] = y[i] - beta[i%4]
	}
	a.Beta, a.DBeta = nil, nil
	a.Y = a.X
	require.NoError(t, d.b.LayerNorm(a))
	d.close(seqTol, "layernorm without bias, in place", "2×4", noBias, a.X)
	a.X, a.DX, a.DGamma = d.f32(x...), a.DY, d.f32(0, 0, 0, 0)
	require.NoError(t, d.b.LayerNormBackward(a))
	d.close(seqTol, "layernorm without bias dx, in place", "2×4", dx, a.DY)
	d.close(seqTol, "layernorm without bias dgamma", "[4]", dGamma, a.DGamma)
}

// addTo returns a + b elementwise (rounded to float32).
func addTo(a, b []float32) []float32 {
	out := make([]float32, len(a))
	for i := range a {
		out[i] = a[i] + b[i]
	}
	return out
}

func sigmoids(x []float32) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(1 / (1 + math.Exp(-float64(v))))
	}
	return y
}

func knownLSTM(t *testing.T, d dev) {
	// PyTorch: nn.LSTMCell(8, 2) with weight_ih = I and no other weights, so that its
	// gate pre-activations are x: H, C, and with DH = wh and DC = wc the gradients with
	// respect to x (DGX) and to c0 (DCPrev).
	pre := []float32{0.5, -1, 0.25, 2, -0.5, 1, 1.5, -2, -1, 0.75, 0, -0.25, 2, -1.5, 0.5, 1}
	c0 := []float32{0.3, -0.7, 1.2, 0.1}
	wh, wc := []float32{1, -0.5, 0.25, 2}, []float32{0.5, 1, -1, 0.75}
	h := []float32{-0.0968316274, -0.0464824389, 0.43315687, -0.377281063}
	c := []float32{-0.118996186, -0.41173374, 0.859266948, -0.570975064}
	dgx := []float32{-0.141842125, 0.142170911, 0.0964431579, -0.0697811429, 0.639380311, 0.107240227, -0.0176645603, 0.0204707982,
		-0.174327174, -0.359487433, -0.275922434, 0.0448630193, -0.0174759458, 0.223704596, 0.0408835836, -0.202933011}
	dcPrev := []float32{0.73426208, 0.836282746, -0.459870723, 0.798023738}
	// The activations, in PyTorch's gate order: σ(i), σ(f), tanh(g), σ(o).
	acts := sigmoids(pre)
	for _, i := range []int{4, 5, 12, 13} {
		acts[i] = float32(math.Tanh(float64(pre[i])))
	}
	// GX alone, and GX + GH with GH = [1 … 1] (GX = pre - 1).
	gxMinus1 := make([]float32, len(pre))
	for i, v := range pre {
		gxMinus1[i] = v - 1
	}
	for _, withGH := range []bool{false, true} {
		a := device.RNNCellArgs{Op: device.LSTM, Batch: 2, Hidden: 2, GX: d.f32(pre...), Acts: d.f32(nans(16)...),
			CPrev: d.f32(c0...), H: d.f32(nans(4)...), C: d.f32(nans(4)...),
			DH: d.f32(wh...), DC: d.f32(wc...), DGX: d.f32(nans(16)...), DCPrev: d.f32(nans(4)...)}
		name := "lstm"
		if withGH {
			a.GX, a.GH, name = d.f32(gxMinus1...), d.fill(16, 1), "lstm with GH"
		}
		require.NoError(t, d.b.RNNCell(a))
		d.close(seqTol, name+" acts", "2×8", acts, a.Acts)
		d.close(seqTol, name+" h", "2×2", h, a.H)
		d.close(seqTol, name+" c", "2×2", c, a.C)
		require.NoError(t, d.b.RNNCellBackward(a))
		d.close(seqTol, name+" dgx", "2×8", dgx, a.DGX)
		d.close(seqTol, name+" dcprev", "2×2", dcPrev, a.DCPrev)
	}

	// Acts in place of GX; DCPrev in place of DC; no previous state (CPrev nil is c0 = 0):
	// c = i*g, h = o*tanh(c); with DC nil, dc = DH*o*(1-tanh²c), dgx_f = 0.
	a := device.RNNCellArgs{Op: device.LSTM, Batch: 2, Hidden: 2, GX: d.f32(pre...), H: d.f32(nans(4)...), C: d.f32(nans(4)...),
		DH: d.f32(wh...), DGX: d.f32(nans(16)...)}
	a.Acts = a.GX
	require.NoError(t, d.b.RNNCell(a))
	wantC, wantH := make([]float32, 4), make([]float32, 4)
	wantDGX := make([]float32, 16)
	for bj := range 4 {
		b, j := bj/2, bj%2
		i, g, o := float64(acts[b*8+j]), float64(acts[b*8+4+j]), float64(acts[b*8+6+j])
		cc := i * g
		tc := math.Tanh(cc)
		wantC[bj], wantH[bj] = float32(cc), float32(o*tc)
		dc := float64(wh[bj]) * o * (1 - tc*tc)
		wantDGX[b*8+j] = float32(dc * g * i * (1 - i))
		wantDGX[b*8+2+j] = 0 // f's gradient is dc*cPrev*…, and cPrev is 0
		wantDGX[b*8+4+j] = float32(dc * i * (1 - g*g))
		wantDGX[b*8+6+j] = float32(float64(wh[bj]) * tc * o * (1 - o))
	}
	d.close(seqTol, "lstm zero state, acts in place", "2×8", acts, a.Acts)
	d.close(seqTol, "lstm zero state h", "2×2", wantH, a.H)
	d.close(seqTol, "lstm zero state c", "2×2", wantC, a.C)
	require.NoError(t, d.b.RNNCellBackward(a))
	d.close(seqTol, "lstm zero state dgx", "2×8", wantDGX, a.DGX)
	// DCPrev aliasing DC: the first case's gradient.
	a = device.RNNCellArgs{Op: device.LSTM, Batch: 2, Hidden: 2, Acts: d.f32(acts...), CPrev: d.f32(c0...), C: d.f32(c...),
		DH: d.f32(wh...), DC: d.f32(wc...), DGX: d.f32(nans(16)...)}
	a.DCPrev = a.DC
	require.NoError(t, d.b.RNNCellBackward(a))
	d.close(seqTol, "lstm dcprev in place of dc", "2×2", dcPrev, a.DC)
	d.close(seqTol, "lstm dgx with dcprev in place", "2×8", dgx, a.DGX)
}

func knownGRU(t *testing.T, d dev) {
	// PyTorch: nn.GRUCell(6, 2) with weight_ih = I and no input bias (GX is x), and
	// weight_hh, bias_hh as in testdata/known_seq.py (GH = h0·W_hhᵀ + b_hh); one row at a
	// time, so that bias_hh's gradient is the row's DGH, and DHPrev = h0's gradient minus
	// DGH·W_hh (the direct part).
	gx := []float32{0.5, -1, 0.25, 2, -0.5, 1, -1, 0.75, 0, -0.25, 2, -1.5}
	h0 := []float32{0.3, -0.7, 1.2, 0.1}
	dh := []float32{1, -0.5, 0.25, 2}
	gh := []float32{0.425, -0.25, -0.1, 0.73, -0.2, -0.45, 0.675, 1.05, -0.575, 0.02, 0.66, -0.08}
	h := []float32{-0.101086519, -0.613291928, 1.05868265, -0.466615784}
	dgx := []float32{-0.0127608833, 0.00116149593, 0.215555866, 0.0406996345, 0.313815622, -0.0149106337,
		0.001060357, -0.00173064714, 0.0127215255, 0.501740708, 0.0065976023, 0.177714668}
	dgh := []float32{-0.0127608833, 0.00116149593, 0.215555866, 0.0406996345, 0.22471075, -0.0033206002,
		0.001060357, -0.00173064714, 0.0127215255, 0.501740708, 0.00276741506, 0.152505653}
	dhPrev := []float32{0.537429845, -0.469386919, 0.0900209758, 0.885504291}
	// The activations: r, z = σ(gx + gh), n = tanh(gx_n + r*gh_n).
	acts := make([]float32, 12)
	for b := range 2 {
		for j := range 2 {
			k := func(g int) int { return b*6 + g*2 + j }
			r := 1 / (1 + math.Exp(-float64(gx[k(0)]+gh[k(0)])))
			z := 1 / (1 + math.Exp(-float64(gx[k(1)]+gh[k(1)])))
			acts[k(0)], acts[k(1)] = float32(r), float32(z)
			acts[k(2)] = float32(math.Tanh(float64(gx[k(2)]) + r*float64(gh[k(2)])))
		}
	}
	a := device.RNNCellArgs{Op: device.GRU, Batch: 2, Hidden: 2, GX: d.f32(gx...), GH: d.f32(gh...), Acts: d.f32(nans(12)...),
		HPrev: d.f32(h0...), H: d.f32(nans(4)...), DH: d.f32(dh...), DGX: d.f32(nans(12)...), DGH: d.f32(nans(12)...),
		DHPrev: d.f32(nans(4)...)}
	require.NoError(t, d.b.RNNCell(a))
	d.close(seqTol, "gru acts", "2×6", acts, a.Acts)
	d.close(seqTol, "gru h", "2×2", h, a.H)
	require.NoError(t, d.b.RNNCellBackward(a))
	d.close(seqTol, "gru dgx", "2×6", dgx, a.DGX)
	d.close(seqTol, "gru dgh", "2×6", dgh, a.DGH)
	d.close(seqTol, "gru dhprev", "2×2", dhPrev, a.DHPrev)

	// Acts in place of GX, DHPrev in place of DH, and no previous state: h = (1-z)*n,
	// dhprev = dh*z.
	a = device.RNNCellArgs{Op: device.GRU, Batch: 2, Hidden: 2, GX: d.f32(gx...), GH: d.f32(gh...), H: d.f32(nans(4)...),
		DH: d.f32(dh...), DGX: d.f32(nans(12)...), DGH: d.f32(nans(12)...)}
	a.Acts, a.DHPrev = a.GX, a.DH
	require.NoError(t, d.b.RNNCell(a))
	wantH, wantDHPrev := make([]float32, 4), make([]float32, 4)
	for bj := range 4 {
		b, j := bj/2, bj%2
		z, n := float64(acts[b*6+2+j]), float64(acts[b*6+4+j])
		wantH[bj] = float32((1 - z) * n)
		wantDHPrev[bj] = float32(float64(dh[bj]) * z)
	}
	d.close(seqTol, "gru zero state, acts in place", "2×6", acts, a.Acts)
	d.close(seqTol, "gru zero state h", "2×2", wantH, a.H)
	require.NoError(t, d.b.RNNCellBackward(a))
	d.close(seqTol, "gru zero state dhprev in place of dh", "2×2", wantDHPrev, a.DH)
}

func knownBCE(t *testing.T, d dev) {
	// Per element max(x,0) - x*t + log(1+exp(-|x|)), σ(x) - t:
	//   x = 0,    t = 1: ln2,              -1/2
	//   x = ln3,  t = 1: ln(4/3),          3/4 - 1 = -1/4
	//   x = -ln3, t = 0: ln(4/3),          1/4
	//   x = ln3,  t = 0: ln3 + ln(4/3) = ln4, 3/4
	//   x = 100,  t = 1: log1p(e^-100) ≈ 3.7e-44 → 0, 1 - 1 = 0
	//   x = -100, t = 1: 100 + ~0 = 100,   0 - 1 = -1
	//   x = 2,    t = 0.25: 2 - 0.5 + ln(1+e^-2), σ(2) - 0.25
	//   x = -1,   t = 0.5: 0.5 + ln(1+e^-1),  σ(-1) - 0.5
	// Rows of 2: losses are the means of pairs; the gradient is Scale*(σ(x)-t)/2.
	// Correct counts (x > 0) == (t > 0.5): row 0 (0 vs 1: no; ln3 vs 1: yes) 1/2, row 1
	// (yes, no) 1/2, row 2 (yes, no) 1/2, row 3 (yes: 2 > 0, 0.25 ≤ 0.5 → no; -1 ≤ 0,
	// 0.5 ≤ 0.5 → yes) 1/2.
	ln3 := math.Log(3)
	x := []float32{0, float32(ln3), float32(-ln3), float32(ln3), 100, -100, 2, -1}
	tg := []float32{1, 1, 0, 0, 1, 1, 0.25, 0.5}
	s2, sm1 := 1/(1+math.Exp(-2)), 1/(1+math.Exp(1))
	el := []float64{math.Ln2, math.Log(4.0 / 3), math.Log(4.0 / 3), math.Log(4), 0, 100,
		2 - 0.5 + math.Log1p(math.Exp(-2)), 0.5 + math.Log1p(math.Exp(-1))}
	gr := []float64{-0.5, -0.25, 0.25, 0.75, 0, -1, s2 - 0.25, sm1 - 0.5}
	loss, grad := make([]float32, 4), make([]float32, 8)
	for r := range 4 {
		loss[r] = float32((el[2*r] + el[2*r+1]) / 2)
	}
	for i, g := range gr {
		grad[i] = float32(0.5 * g / 2) // Scale 0.5, Cols 2
	}
	a := device.LossArgs{Op: device.BinaryCrossEntropyWithLogits, Rows: 4, Cols: 2, Input: d.f32(x...), Target: d.f32(tg...),
		Loss: d.f32(nans(4)...), Correct: d.f32(nans(4)...), Grad: d.f32(nans(8)...), Scale: 0.5}
	require.NoError(t, d.b.Loss(a))
	d.close(seqTol, "bce with logits loss", "4×2", loss, a.Loss)
	d.close(exact, "bce with logits correct", "[4]", []float32{0.5, 0.5, 0.5, 0.5}, a.Correct)
	require.NoError(t, d.b.LossBackward(a))
	d.close(seqTol, "bce with logits grad", "4×2", grad, a.Grad)
}

func knownSequenceCrossEntropy(t *testing.T, d dev) {
	// Cross-entropy over (B, T, V) = (2, 3, 4) logits with int32 targets (B, T): rows
	// B*T = 6 of V = 4. Row (b, t) has logits [0 0 0 0] except ln3 at column (b+t)%4:
	// probabilities [1 1 1 1]/6 with 3/6 at that column; the target is column t%4, so the
	// loss is ln2 where (b+t)%4 == t%4 (b = 0) and ln6 elsewhere (b = 1).
	const bsz, seq, voc = 2, 3, 4
	x, want := make([]float32, bsz*seq*voc), make([]float32, bsz*seq)
	labels := make([]int32, bsz*seq)
	for b := range bsz {
		for s := range seq {
			r := b*seq + s
			x[r*voc+(b+s)%voc] = float32(math.Log(3))
			labels[r] = int32(s % voc)
			want[r] = float32(math.Log(6))
			if b == 0 {
				want[r] = math.Ln2
			}
		}
	}
	a := device.LossArgs{Op: device.SoftmaxCrossEntropy, Rows: bsz * seq, Cols: voc, Input: d.f32(x...), Labels: d.i32(labels...),
		Probs: d.f32(nans(len(x))...), Loss: d.f32(nans(bsz * seq)...)}
	require.NoError(t, d.b.Loss(a))
	d.close(near, "cross-entropy over (B,T,V)", "(2,3,4)", want, a.Loss)
}
