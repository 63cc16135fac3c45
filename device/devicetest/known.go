package devicetest

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/device"
)

// Known answers: every expected value below is worked out by hand in the comments.

// exact is for results that are exact in float32; near for results rounded once or twice.
var (
	exact = Tol{}
	near  = Tol{Atol: 1e-6, Rtol: 1e-6}
)

func known(t *testing.T, b device.Backend) {
	t.Run("gemm", func(t *testing.T) { knownGemm(t, dev{t, b}) })
	t.Run("unary", func(t *testing.T) { knownUnary(t, dev{t, b}) })
	t.Run("softmax", func(t *testing.T) { knownSoftmax(t, dev{t, b}) })
	t.Run("binary", func(t *testing.T) { knownBinary(t, dev{t, b}) })
	t.Run("reduce", func(t *testing.T) { knownReduce(t, dev{t, b}) })
	t.Run("loss", func(t *testing.T) { knownLoss(t, dev{t, b}) })
	t.Run("update", func(t *testing.T) { knownUpdate(t, dev{t, b}) })
	t.Run("gather", func(t *testing.T) { knownGather(t, dev{t, b}) })
	t.Run("conv", func(t *testing.T) { knownConv(t, dev{t, b}) })
	t.Run("convolution", func(t *testing.T) { knownConvolution(t, dev{t, b}) })
	t.Run("pool", func(t *testing.T) { knownPool(t, dev{t, b}) })
	t.Run("batchnorm", func(t *testing.T) { knownBatchNorm(t, dev{t, b}) })
	t.Run("augment", func(t *testing.T) { knownAugment(t, dev{t, b}) })
	knownSeq(t, b)
	t.Run("rows", func(t *testing.T) { knownRows(t, b) })
}

func knownGemm(t *testing.T, d dev) {
	// A = [1 2 3; 4 5 6] (2×3), B = [7 8; 9 10; 11 12] (3×2):
	// A*B = [1*7+2*9+3*11, 1*8+2*10+3*12; 4*7+5*9+6*11, 4*8+5*10+6*12] = [58 64; 139 154].
	a := []float32{1, 2, 3, 4, 5, 6}
	at := []float32{1, 4, 2, 5, 3, 6} // A stored transposed, 3×2
	bm := []float32{7, 8, 9, 10, 11, 12}
	bt := []float32{7, 9, 11, 8, 10, 12} // B stored transposed, 2×3
	for _, c := range []struct {
		transA, transB bool
		alpha, beta    float32
		c0, want       []float32
	}{
		// Beta 0: C is not read, so its NaNs vanish.
		{false, false, 1, 0, nans(4), []float32{58, 64, 139, 154}},
		{true, false, 1, 0, nans(4), []float32{58, 64, 139, 154}},
		{false, true, 1, 0, nans(4), []float32{58, 64, 139, 154}},
		{true, true, 1, 0, nans(4), []float32{58, 64, 139, 154}},
		// 2*AB + 0.5*[1 2; 3 4] = [116.5 129; 279.5 310]
		{false, false, 2, 0.5, []float32{1, 2, 3, 4}, []float32{116.5, 129, 279.5, 310}},
		{true, true, 2, 0.5, []float32{1, 2, 3, 4}, []float32{116.5, 129, 279.5, 310}},
		// 0*AB + 1*C = C
		{false, true, 0, 1, []float32{1, 2, 3, 4}, []float32{1, 2, 3, 4}},
	} {
		sa, sb := a, bm
		if c.transA {
			sa = at
		}
		if c.transB {
			sb = bt
		}
		cb := d.f32(c.c0...)
		require.NoError(t, d.b.Gemm(device.GemmArgs{TransA: c.transA, TransB: c.transB, M: 2, N: 2, K: 3,
			Alpha: c.alpha, Beta: c.beta, A: d.f32(sa...), B: d.f32(sb...), C: cb}))
		d.close(exact, fmt.Sprintf("gemm transA=%v transB=%v alpha=%v beta=%v", c.transA, c.transB, c.alpha, c.beta), "2×2", c.want, cb)
	}

	// AᵀA (3×3) from A stored 2×3 with TransA, K = 2:
	// [1*1+4*4 1*2+4*5 1*3+4*6; 2*1+5*4 2*2+5*5 2*3+5*6; 3*1+6*4 3*2+6*5 3*3+6*6].
	cb := d.f32(nans(9)...)
	require.NoError(t, d.b.Gemm(device.GemmArgs{TransA: true, M: 3, N: 3, K: 2, Alpha: 1, A: d.f32(a...), B: d.f32(a...), C: cb}))
	d.close(exact, "gemm AᵀA", "3×3", []float32{17, 22, 27, 22, 29, 36, 27, 36, 45}, cb)

	// Batch 2 with one A (StrideA 0): B0 = B, B1 = [1 0; 0 1; 0 0] picks A's first two
	// columns [1 2; 4 5]. StrideC 5 leaves C[4] (99) between the two results untouched.
	b2 := append(append([]float32{}, bm...), 1, 0, 0, 1, 0, 0)
	cb = d.f32(0, 0, 0, 0, 99, 0, 0, 0, 0)
	require.NoError(t, d.b.Gemm(device.GemmArgs{M: 2, N: 2, K: 3, Alpha: 1, A: d.f32(a...), B: d.f32(b2...), C: cb,
		Batch: 2, StrideA: 0, StrideB: 6, StrideC: 5}))
	d.close(exact, "gemm batched", "2×(2×2)", []float32{58, 64, 139, 154, 99, 1, 2, 4, 5}, cb)

	knownGemmEpilogue(t, d, a, at, bm, bt)
}

// knownGemmEpilogue: the product above, AB = [58 64; 139 154] (beta 0), or AB + C0 with
// C0 = [1 2; 3 4] = [59 66; 142 158] (beta 1), plus the bias [-58 -66]:
// beta 0: [0 -2; 81 88], beta 1: [1 0; 84 92]; then each activation. Normal tables:
// σ(-2) = 1/(1+e²) = 0.11920292202211755, σ(1) = 0.7310585786300049, tanh(-2) =
// -0.9640275800758169, tanh(1) = 0.7615941559557649, Φ(-2) = 0.022750131948179195,
// Φ(1) = 0.8413447460685429; σ, tanh and Φ of 81 and more are 1 in float32.
func knownGemmEpilogue(t *testing.T, d dev, a, at, bm, bt []float32) {
	const sm2, s1, tm2, t1, phim2, phi1 = 0.11920292202211755, 0.7310585786300049, -0.9640275800758169, 0.7615941559557649, 0.022750131948179195, 0.8413447460685429
	for _, c := range []struct {
		name  string
		actOn bool
		act   device.UnaryOp
		p     float32
		beta0 []float32 // expected with beta 0
		beta1 []float32 // with beta 1
	}{
		{"bias only", false, 0, 0, []float32{0, -2, 81, 88}, []float32{1, 0, 84, 92}},
		{"relu", true, device.ReLU, 0, []float32{0, 0, 81, 88}, []float32{1, 0, 84, 92}},
		{"leaky_relu", true, device.LeakyReLU, 0.25, []float32{0, -0.5, 81, 88}, []float32{1, 0, 84, 92}},
		{"sigmoid", true, device.Sigmoid, 0, []float32{0.5, sm2, 1, 1}, []float32{s1, 0.5, 1, 1}},
		{"tanh", true, device.Tanh, 0, []float32{0, tm2, 1, 1}, []float32{t1, 0, 1, 1}},
		{"gelu", true, device.GELU, 0, []float32{0, -2 * phim2, 81, 88}, []float32{phi1, 0, 84, 92}},
	} {
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			sa, sb := a, bm
			if tr[0] {
				sa = at
			}
			if tr[1] {
				sb = bt
			}
			for _, beta := range []float32{0, 1} {
				c0, want := nans(4), c.beta0
				if beta == 1 {
					c0, want = []float32{1, 2, 3, 4}, c.beta1
				}
				cb := d.f32(c0...)
				require.NoError(t, d.b.Gemm(device.GemmArgs{TransA: tr[0], TransB: tr[1], M: 2, N: 2, K: 3, Alpha: 1, Beta: beta,
					A: d.f32(sa...), B: d.f32(sb...), C: cb, Bias: d.f32(-58, -66), ActOn: c.actOn, Act: c.act, ActParam: c.p}))
				d.close(near, fmt.Sprintf("gemm epilogue %s transA=%v transB=%v beta=%v", c.name, tr[0], tr[1], beta), "2×2", want, cb)
			}
		}
	}
	// An activation without a bias: relu(AB - 100·1) is not what runs here; relu(AB) = AB.
	cb := d.f32(nans(4)...)
	require.NoError(t, d.b.Gemm(device.GemmArgs{M: 2, N: 2, K: 3, Alpha: -1, A: d.f32(a...), B: d.f32(bm...), C: cb,
		ActOn: true, Act: device.ReLU}))
	d.close(exact, "gemm epilogue relu without bias, alpha -1", "2×2", []float32{0, 0, 0, 0}, cb)
	// K large enough for several k blocks (the epilogue must run once, after the last):
	// A = 1 (2×1000), B = 1 (1000×2), bias [-999 -1001]: [1 -1; 1 -1] → relu [1 0; 1 0].
	ones := make([]float32, 2000)
	for i := range ones {
		ones[i] = 1
	}
	cb = d.f32(nans(4)...)
	require.NoError(t, d.b.Gemm(device.GemmArgs{M: 2, N: 2, K: 1000, Alpha: 1, A: d.f32(ones...), B: d.f32(ones...), C: cb,
		Bias: d.f32(-999, -1001), ActOn: true, Act: device.ReLU}))
	d.close(exact, "gemm epilogue after several k blocks", "2×2 K=1000", []float32{1, 0, 1, 0}, cb)
}

func knownUnary(t *testing.T, d dev) {
	ln2, ln3 := float32(math.Ln2), float32(math.Log(3))
	// Φ(1) = 0.8413447460685429 and φ(1) = exp(-1/2)/√(2π) = 0.24197072451914337 (normal
	// tables): gelu(1) = Φ(1), gelu(-1) = -Φ(-1) = -(1-Φ(1)), gelu'(±1) = Φ(±1) ± φ(1).
	const cdf1, pdf1 = 0.8413447460685429, 0.24197072451914337
	for _, c := range []struct {
		op           device.UnaryOp
		p            float32
		x, y, dy, dx []float32
	}{
		{device.ReLU, 0, []float32{-1, 0, 2}, []float32{0, 0, 2}, []float32{1, 2, 3}, []float32{0, 0, 3}},
		{device.LeakyReLU, 0.25, []float32{-1, 0, 2}, []float32{-0.25, 0, 2}, []float32{1, 2, 3}, []float32{0.25, 0.5, 3}},
		// sigmoid(±ln3) = 1/(1+1/3) = 3/4 and 1/4; y(1-y) = 1/4, 3/16, 3/16
		{device.Sigmoid, 0, []float32{0, ln3, -ln3}, []float32{0.5, 0.75, 0.25}, []float32{1, 1, 2}, []float32{0.25, 0.1875, 0.375}},
		// tanh(ln2) = (2-1/2)/(2+1/2) = 3/5; 1-y² = 1, 16/25, 16/25
		{device.Tanh, 0, []float32{0, ln2, -ln2}, []float32{0, 0.6, -0.6}, []float32{1, 1, 2}, []float32{1, 0.64, 1.28}},
		{device.GELU, 0, []float32{0, 1, -1}, []float32{0, cdf1, -(1 - cdf1)}, []float32{1, 1, 1},
			[]float32{0.5, cdf1 + pdf1, (1 - cdf1) - pdf1}},
	} {
		name := c.op.String()
		x, y := d.f32(c.x...), d.f32(nans(3)...)
		require.NoError(t, d.b.Unary(c.op, x, y, c.p))
		d.close(near, name, "[3]", c.y, y)
		dx := d.f32(nans(3)...)
		require.NoError(t, d.b.UnaryBackward(c.op, x, y, d.f32(c.dy...), dx, c.p))
		d.close(near, name+" backward", "[3]", c.dx, dx)
		// In place: x and y the same buffer, dx the same as dy.
		require.NoError(t, d.b.Unary(c.op, x, x, c.p))
		d.close(near, name+" in place", "[3]", c.y, x)
		dy := d.f32(c.dy...)
		require.NoError(t, d.b.UnaryBackward(c.op, d.f32(c.x...), d.f32(c.y...), dy, dy, c.p))
		d.close(near, name+" backward in place", "[3]", c.dx, dy)
	}
}

func knownSoftmax(t *testing.T, d dev) {
	// Row 0: exp(0), exp(ln2), exp(ln5) = 1, 2, 5 over 8. Row 1: equal logits, so 1/3
	// each; at 1000 a softmax without the max shift would overflow.
	x := d.f32(0, float32(math.Ln2), float32(math.Log(5)), 1000, 1000, 1000)
	y := d.f32(nans(6)...)
	require.NoError(t, d.b.Softmax(x, y, 2, 3))
	d.close(near, "softmax", "2×3", []float32{1.0 / 8, 2.0 / 8, 5.0 / 8, 1.0 / 3, 1.0 / 3, 1.0 / 3}, y)
	// dx = y*(dy - dot(dy, y)): row 0 dy = [1 0 0], dot = 1/8: [1/8*7/8, 2/8*-1/8, 5/8*-1/8];
	// row 1 dy = [1 2 3], dot = 2: [-1/3, 0, 1/3].
	dy := d.f32(1, 0, 0, 1, 2, 3)
	dx := d.f32(nans(6)...)
	require.NoError(t, d.b.SoftmaxBackward(y, dy, dx, 2, 3))
	want := []float32{7.0 / 64, -2.0 / 64, -5.0 / 64, -1.0 / 3, 0, 1.0 / 3}
	d.close(near, "softmax backward", "2×3", want, dx)
	require.NoError(t, d.b.SoftmaxBackward(y, dy, dy, 2, 3))
	d.close(near, "softmax backward in place", "2×3", want, dy)
	require.NoError(t, d.b.Softmax(x, x, 2, 3))
	d.close(near, "softmax in place", "2×3", []float32{1.0 / 8, 2.0 / 8, 5.0 / 8, 1.0 / 3, 1.0 / 3, 1.0 / 3}, x)
}

func knownBinary(t *testing.T, d dev) {
	a, bv := []float32{1, 2, 3, 4}, []float32{2, 4, 8, 16}
	for _, c := range []struct {
		op   device.BinaryOp
		want []float32
	}{
		{device.Add, []float32{3, 6, 11, 20}},
		{device.Sub, []float32{-1, -2, -5, -12}},
		{device.Mul, []float32{2, 8, 24, 64}},
		{device.Div, []float32{0.5, 0.5, 0.375, 0.25}},
	} {
		cb := d.f32(nans(4)...)
		require.NoError(t, d.b.Binary(c.op, d.f32(a...), d.f32(bv...), cb))
		d.close(exact, "binary "+c.op.String(), "[4]", c.want, cb)
		ab := d.f32(a...)
		require.NoError(t, d.b.Binary(c.op, ab, d.f32(bv...), ab))
		d.close(exact, "binary in place "+c.op.String(), "[4]", c.want, ab)
	}

	// Bias over rows: x 2×3 = [1 2 3; 4 5 6], v = [10 20 30], Shape3{2, 3, 1}.
	x := []float32{1, 2, 3, 4, 5, 6}
	for _, c := range []struct {
		op   device.BinaryOp
		want []float32
	}{
		{device.Add, []float32{11, 22, 33, 14, 25, 36}},
		{device.Sub, []float32{-9, -18, -27, -6, -15, -24}},
		{device.Mul, []float32{10, 40, 90, 40, 100, 180}},
		{device.Div, []float32{0.1, 0.1, 0.1, 0.4, 0.25, 0.2}},
	} {
		y := d.f32(nans(6)...)
		require.NoError(t, d.b.Broadcast(c.op, d.f32(x...), d.f32(10, 20, 30), y, device.Shape3{Outer: 2, Mid: 3, Inner: 1}))
		d.close(near, "broadcast rows "+c.op.String(), "2×3", c.want, y)
	}
	// Per channel: x = 0..7 as (2, 2, 2), v = [10 100]: x[o,m,i]*v[m].
	xb := d.f32(0, 1, 2, 3, 4, 5, 6, 7)
	require.NoError(t, d.b.Broadcast(device.Mul, xb, d.f32(10, 100), xb, device.Shape3{Outer: 2, Mid: 2, Inner: 2}))
	d.close(exact, "broadcast channels mul in place", "(2,2,2)", []float32{0, 10, 200, 300, 40, 50, 600, 700}, xb)

	// Axpby: 2*[1 2 3] + 3*[10 20 30] = [32 64 96]; beta 0 ignores y's NaNs; 1*y - x.
	y := d.f32(10, 20, 30)
	require.NoError(t, d.b.Axpby(2, d.f32(1, 2, 3), 3, y))
	d.close(exact, "axpby", "[3]", []float32{32, 64, 96}, y)
	y = d.f32(nans(3)...)
	require.NoError(t, d.b.Axpby(2, d.f32(1, 2, 3), 0, y))
	d.close(exact, "axpby beta 0", "[3]", []float32{2, 4, 6}, y)
	y = d.f32(10, 20, 30)
	require.NoError(t, d.b.Axpby(-1, d.f32(1, 2, 3), 1, y))
	d.close(exact, "axpby beta 1", "[3]", []float32{9, 18, 27}, y)
}

func knownReduce(t *testing.T, d dev) {
	// x[o,m,i] = 6o + 2m + i for shape (2, 3, 2): over m, (o, i) = (0,0) sees 0 2 4,
	// (0,1) 1 3 5, (1,0) 6 8 10, (1,1) 7 9 11.
	x := []float32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	s := device.Shape3{Outer: 2, Mid: 3, Inner: 2}
	for _, c := range []struct {
		op   device.ReduceOp
		want []float32
	}{
		{device.Sum, []float32{6, 9, 24, 27}},
		{device.Mean, []float32{2, 3, 8, 9}},
		{device.Max, []float32{4, 5, 10, 11}},
		{device.SumSquares, []float32{0 + 4 + 16, 1 + 9 + 25, 36 + 64 + 100, 49 + 81 + 121}},
		// √20, √35, √200, √251, each the float32 nearest
		{device.Norm, []float32{float32(math.Sqrt(20)), float32(math.Sqrt(35)), float32(math.Sqrt(200)), float32(math.Sqrt(251))}},
	} {
		y := d.f32(nans(4)...)
		require.NoError(t, d.b.Reduce(c.op, d.f32(x...), y, s))
		d.close(exact, "reduce "+c.op.String(), "(2,3,2)", c.want, y)
	}
	for _, c := range []struct {
		x    []float32
		s    device.Shape3
		want []int32
		max  []float32
	}{
		// rows [3 1 3 2] and [-5 -1 -1 -7]: first maxima at 0 and 1
		{[]float32{3, 1, 3, 2, -5, -1, -1, -7}, device.Shape3{Outer: 2, Mid: 4, Inner: 1}, []int32{0, 1}, []float32{3, -1}},
		// columns [1 4 4] and [5 5 0] of a 3×2 matrix
		{[]float32{1, 5, 4, 5, 4, 0}, device.Shape3{Outer: 1, Mid: 3, Inner: 2}, []int32{1, 0}, []float32{4, 5}},
	} {
		shape := fmt.Sprintf("(%d,%d,%d)", c.s.Outer, c.s.Mid, c.s.Inner)
		yi := d.i32(-9, -9)
		require.NoError(t, d.b.Reduce(device.ArgMax, d.f32(c.x...), yi, c.s))
		assert.Equal(t, c.want, d.readI(yi), "argmax %s", shape)
		y := d.f32(nans(2)...)
		require.NoError(t, d.b.Reduce(device.Max, d.f32(c.x...), y, c.s))
		d.close(exact, "max", shape, c.max, y)
	}
}

func knownLoss(t *testing.T, d dev) {
	ln2, ln5 := float32(math.Ln2), float32(math.Log(5))
	// Softmax cross-entropy. Row 0 logits [0 ln2 0]: probabilities [1 2 1]/4, label 1,
	// loss -ln(2/4) = ln2, argmax 1 = label. Row 1 [0 ln2 ln5]: [1 2 5]/8, label 0, loss
	// ln 8, argmax 2 ≠ label. Gradient with Scale 0.5: 0.5*(probs - onehot).
	a := device.LossArgs{Op: device.SoftmaxCrossEntropy, Rows: 2, Cols: 3,
		Input: d.f32(0, ln2, 0, 0, ln2, ln5), Labels: d.i32(1, 0), Probs: d.f32(nans(6)...),
		Loss: d.f32(nans(2)...), Correct: d.f32(nans(2)...), Grad: d.f32(nans(6)...), Scale: 0.5}
	require.NoError(t, d.b.Loss(a))
	d.close(near, "softmax cross-entropy probs", "2×3", []float32{0.25, 0.5, 0.25, 0.125, 0.25, 0.625}, a.Probs)
	d.close(near, "softmax cross-entropy loss", "[2]", []float32{math.Ln2, 3 * math.Ln2}, a.Loss)
	d.close(exact, "softmax cross-entropy correct", "[2]", []float32{1, 0}, a.Correct)
	require.NoError(t, d.b.LossBackward(a))
	d.close(near, "softmax cross-entropy grad", "2×3", []float32{0.125, -0.25, 0.125, -0.4375, 0.125, 0.3125}, a.Grad)

	// Ties: logits [1 1] give probabilities [.5 .5] and loss ln2 whatever the label, and
	// Correct counts only the first maximum (index 0).
	a = device.LossArgs{Op: device.SoftmaxCrossEntropy, Rows: 2, Cols: 2, Input: d.f32(1, 1, 1, 1), Labels: d.i32(0, 1),
		Probs: d.f32(nans(4)...), Loss: d.f32(nans(2)...), Correct: d.f32(nans(2)...)}
	require.NoError(t, d.b.Loss(a))
	d.close(near, "softmax cross-entropy ties loss", "[2]", []float32{math.Ln2, math.Ln2}, a.Loss)
	d.close(exact, "softmax cross-entropy ties correct", "[2]", []float32{1, 0}, a.Correct)

	// Cross-entropy on probabilities. Row 0 [.5 .5] label 0: ln2, first maximum 0 =
	// label. Row 1 [0 1] label 0: p = 0 clamps to ε, loss -ln(float32(1e-7)); row 2
	// [0 1] label 1: p = 1 clamps to 1-ε = 1-2⁻²³ in float32, loss ≈ 2⁻²³. Gradient -1/p
	// at the label where the clamp passes p: -2 for row 0, 0 for the clamped rows.
	eps := float64(float32(device.CrossEntropyEps))
	a = device.LossArgs{Op: device.CrossEntropy, Rows: 3, Cols: 2, Input: d.f32(0.5, 0.5, 0, 1, 0, 1),
		Labels: d.i32(0, 0, 1), Loss: d.f32(nans(3)...), Correct: d.f32(nans(3)...), Grad: d.f32(nans(6)...), Scale: 1}
	require.NoError(t, d.b.Loss(a))
	d.close(near, "cross-entropy loss", "[3]", []float32{math.Ln2, float32(-math.Log(eps)), 1.0 / (1 << 23)}, a.Loss)
	d.close(exact, "cross-entropy correct", "[3]", []float32{1, 0, 1}, a.Correct)
	require.NoError(t, d.b.LossBackward(a))
	d.close(near, "cross-entropy grad", "3×2", []float32{-2, 0, 0, 0, 0, 0}, a.Grad)

	// MSE: rows (in, target) = ([1 2], [0 4]) and ([0 0], [1 1]): ((1)²+(-2)²)/2 = 2.5 and
	// ((-1)²+(-1)²)/2 = 1; gradient 2*(in-target)/2 = in-target.
	a = device.LossArgs{Op: device.MSE, Rows: 2, Cols: 2, Input: d.f32(1, 2, 0, 0), Target: d.f32(0, 4, 1, 1),
		Loss: d.f32(nans(2)...), Grad: d.f32(nans(4)...), Scale: 1}
	require.NoError(t, d.b.Loss(a))
	d.close(near, "mse loss", "[2]", []float32{2.5, 1}, a.Loss)
	require.NoError(t, d.b.LossBackward(a))
	d.close(near, "mse grad", "2×2", []float32{1, -2, -1, -1}, a.Grad)
}

func knownUpdate(t *testing.T, d dev) {
	// p = [1 -1 0.5], g = [0.5 -0.25 0], LR 0.1, two steps with the same gradient. The third
	// element never moves (g = 0, so m = v = 0: Adam divides 0 by Eps, not by 0), except for
	// AdamW's decay: 0.5*0.95 = 0.475, then 0.45125.
	// SGD: p - 0.1g = [0.95 -0.975], then [0.9 -0.95].
	// Momentum 0.9: m = -0.1g = [-0.05 0.025], p = [0.95 -0.975]; then
	// m = 0.9m - 0.1g = [-0.095 0.0475], p = [0.855 -0.9275].
	// Nesterov: m as above, p += 0.9m - 0.1g: [-0.095 0.0475] → [0.905 -0.9525]; then
	// 0.9*[-0.095 0.0475] - [0.05 -0.025] = [-0.1355 0.06775] → [0.7695 -0.88475].
	// Adam (β1 .9, β2 .999): after t steps of a constant g, m = (1-β1^t)g and
	// v = (1-β2^t)g², so α*m/√v = LR*sign(g) (up to Eps = 1e-7): p = [0.9 -0.9], [0.8 -0.8].
	// AdamW, WeightDecay 0.5: p -= 0.1*0.5*p first: 0.95p - 0.1sign(g) = [0.85 -0.85], then
	// 0.95*[0.85 -0.85] - 0.1*sign(g) = [0.7075 -0.7075].
	g := []float32{0.5, -0.25, 0}
	for _, c := range []struct {
		op     device.OptOp
		h      device.Hyper
		m, v   bool
		p1, p2 []float32
	}{
		{device.SGD, device.Hyper{LR: 0.1}, false, false, []float32{0.95, -0.975, 0.5}, []float32{0.9, -0.95, 0.5}},
		{device.Momentum, device.Hyper{LR: 0.1, Momentum: 0.9}, true, false, []float32{0.95, -0.975, 0.5}, []float32{0.855, -0.9275, 0.5}},
		{device.Momentum, device.Hyper{LR: 0.1, Momentum: 0.9, Nesterov: true}, true, false, []float32{0.905, -0.9525, 0.5}, []float32{0.7695, -0.88475, 0.5}},
		{device.Adam, device.Hyper{LR: 0.1, Beta1: 0.9, Beta2: 0.999, Eps: 1e-7}, true, true, []float32{0.9, -0.9, 0.5}, []float32{0.8, -0.8, 0.5}},
		{device.AdamW, device.Hyper{LR: 0.1, Beta1: 0.9, Beta2: 0.999, Eps: 1e-7, WeightDecay: 0.5}, true, true, []float32{0.85, -0.85, 0.475}, []float32{0.7075, -0.7075, 0.45125}},
	} {
		name := c.op.String()
		if c.h.Nesterov {
			name += " nesterov"
		}
		p, gb := d.f32(1, -1, 0.5), d.f32(g...)
		var m, v device.Buffer
		if c.m {
			m = d.f32(0, 0, 0)
		}
		if c.v {
			v = d.f32(0, 0, 0)
		}
		tl := Tol{Atol: 1e-5, Rtol: 1e-5} // Adam's Eps moves p by ~1e-6
		for step, want := range [][]float32{c.p1, c.p2} {
			c.h.Step = step + 1
			require.NoError(t, d.b.Update(c.op, c.h, p, gb, m, v))
			d.close(tl, fmt.Sprintf("%s step %d", name, step+1), "[3]", want, p)
		}
	}

	// Adam with Eps = 1 at step 1, g = 0.5: m = 0.05, v = 0.00025, α = 0.1*√0.001/0.1 = √0.001,
	// p = 1 - √0.001*0.05/(√0.00025 + 1) = 1 - 0.0015811388/1.0158113883 = 1 - 0.0015565280.
	p := d.f32(1)
	require.NoError(t, d.b.Update(device.Adam, device.Hyper{LR: 0.1, Beta1: 0.9, Beta2: 0.999, Eps: 1, Step: 1}, p, d.f32(0.5), d.f32(0), d.f32(0)))
	d.close(Tol{Atol: 1e-6}, "adam eps 1", "[1]", []float32{1 - 0.0015565280}, p)
}

func knownGather(t *testing.T, d dev) {
	// src rows [1 2] [3 4] [5 6]; rows 2, 0, 2 scaled by 0.5.
	dst := d.f32(nans(6)...)
	require.NoError(t, d.b.Gather(dst, d.f32(1, 2, 3, 4, 5, 6), d.i32(2, 0, 2), 2, 0.5))
	d.close(exact, "gather float32", "3×2", []float32{2.5, 3, 0.5, 1, 2.5, 3}, dst)
	// uint8 rows [0 51] [255 102], rows 1, 0, scaled by 1/255: [1 0.4 0 0.2].
	dst = d.f32(nans(4)...)
	require.NoError(t, d.b.Gather(dst, d.u8(0, 51, 255, 102), d.i32(1, 0), 2, 1.0/255))
	d.close(near, "gather uint8", "2×2", []float32{1, 0.4, 0, 0.2}, dst)
	// int32 labels [7 8 9], rows 2, 2, 0; the scale is ignored.
	di := d.i32(0, 0, 0)
	require.NoError(t, d.b.Gather(di, d.i32(7, 8, 9), d.i32(2, 2, 0), 1, 0.5))
	assert.Equal(t, []int32{9, 9, 7}, d.readI(di), "gather int32")
}

func knownConv(t *testing.T, d dev) {
	// x = [1 2 3; 4 5 6; 7 8 9], 3×3 windows, padding 1, stride 1: OH = OW = 3 and col
	// row (kh, kw) is x shifted by (kh-1, kw-1) with zeros shifted in.
	g := device.ConvGeom{N: 1, C: 1, H: 3, W: 3, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1}
	col := d.f32(nans(81)...)
	require.NoError(t, d.b.Im2Col(d.f32(1, 2, 3, 4, 5, 6, 7, 8, 9), col, g))
	d.close(exact, "im2col 3×3 pad 1", "(1, 9, 9)", []float32{
		0, 0, 0, 0, 1, 2, 0, 4, 5, // (0,0): x[i-1, j-1]
		0, 0, 0, 1, 2, 3, 4, 5, 6, // (0,1)
		0, 0, 0, 2, 3, 0, 5, 6, 0, // (0,2)
		0, 1, 2, 0, 4, 5, 0, 7, 8, // (1,0)
		1, 2, 3, 4, 5, 6, 7, 8, 9, // (1,1): x itself
		2, 3, 0, 5, 6, 0, 8, 9, 0, // (1,2)
		0, 4, 5, 0, 7, 8, 0, 0, 0, // (2,0)
		4, 5, 6, 7, 8, 9, 0, 0, 0, // (2,1)
		5, 6, 0, 8, 9, 0, 0, 0, 0, // (2,2)
	}, col)
	// Col2Im of ones counts the windows reading each pixel: 4 at the corners (2×2 window
	// positions), 6 on the edges, 9 in the middle. dx starts as NaN: it is overwritten.
	dx := d.f32(nans(9)...)
	require.NoError(t, d.b.Col2Im(d.fill(81, 1), dx, g))
	d.close(exact, "col2im ones 3×3 pad 1", "(1,1,3,3)", []float32{4, 6, 4, 6, 9, 6, 4, 6, 4}, dx)

	// Two channels of 3×4 (1..12, 13..24), 2×2 windows, stride 2, no padding: OH = 1,
	// OW = 2; row (c, kh, kw) holds x[c, kh, kw] and x[c, kh, kw+2].
	g = device.ConvGeom{N: 1, C: 2, H: 3, W: 4, KH: 2, KW: 2, StrideH: 2, StrideW: 2}
	x := make([]float32, 24)
	for i := range x {
		x[i] = float32(i + 1)
	}
	col = d.f32(nans(16)...)
	require.NoError(t, d.b.Im2Col(d.f32(x...), col, g))
	d.close(exact, "im2col stride 2", "(1, 8, 2)", []float32{1, 3, 2, 4, 5, 7, 6, 8, 13, 15, 14, 16, 17, 19, 18, 20}, col)
	// Its adjoint puts each entry back; pixels of row 2 are read by no window.
	dx = d.f32(nans(24)...)
	require.NoError(t, d.b.Col2Im(col, dx, g))
	want := make([]float32, 24)
	for i := range want {
		if r := i % 12 / 4; r < 2 {
			want[i] = x[i]
		}
	}
	d.close(exact, "col2im stride 2", "(1,2,3,4)", want, dx)
}

func knownConvolution(t *testing.T, d dev) {
	// x = [1 2 3; 4 5 6; 7 8 9], two 2×2 filters w0 = [1 0; 0 1], w1 = [0 2; -1 0],
	// bias (0.5, -1), stride 1, no padding: OH = OW = 2,
	// y0[i,j] = x[i,j] + x[i+1,j+1] + 0.5, y1[i,j] = 2x[i,j+1] - x[i+1,j] - 1.
	g := device.ConvGeom{N: 1, C: 1, H: 3, W: 3, KH: 2, KW: 2, StrideH: 1, StrideW: 1}
	a := device.ConvArgs{G: g, F: 2, X: d.f32(1, 2, 3, 4, 5, 6, 7, 8, 9), W: d.f32(1, 0, 0, 1, 0, 2, -1, 0), B: d.f32(0.5, -1),
		Y: d.f32(nans(8)...)}
	require.NoError(t, d.b.Conv(a))
	d.close(exact, "conv 2×2 filters", "(1,2,2,2)", []float32{6.5, 8.5, 12.5, 14.5, -1, 0, 2, 3}, a.Y)
	// dy0 = [1 1; 1 1], dy1 = [1 0; 0 2]:
	// dW0[u,v] = sum of the 2×2 block of x at (u,v); dW1[u,v] = x[u,v] + 2x[u+1,v+1];
	// db = (4, 3); dx = dy0 spread by w0 (+1 at (i,j) and (i+1,j+1)) plus dy1 spread by
	// w1 (+2 at (i,j+1), -1 at (i+1,j)). dx, dW and db start as NaN: overwritten.
	a.DY = d.f32(1, 1, 1, 1, 1, 0, 0, 2)
	a.DX, a.DW, a.DB = d.f32(nans(9)...), d.f32(nans(8)...), d.f32(nans(2)...)
	require.NoError(t, d.b.ConvBackward(a))
	d.close(exact, "conv backward dW", "(2,1,2,2)", []float32{12, 16, 24, 28, 11, 14, 20, 23}, a.DW)
	d.close(exact, "conv backward db", "(2)", []float32{4, 3}, a.DB)
	d.close(exact, "conv backward dx", "(1,1,3,3)", []float32{1, 3, 0, 0, 2, 5, 0, -1, 1}, a.DX)
	// Accumulate adds the same gradients again to dW and db; dx is overwritten still.
	a.Accumulate = true
	require.NoError(t, d.b.ConvBackward(a))
	d.close(exact, "conv backward dW accumulated", "(2,1,2,2)", []float32{24, 32, 48, 56, 22, 28, 40, 46}, a.DW)
	d.close(exact, "conv backward db accumulated", "(2)", []float32{8, 6}, a.DB)
	d.close(exact, "conv backward dx accumulating", "(1,1,3,3)", []float32{1, 3, 0, 0, 2, 5, 0, -1, 1}, a.DX)

	// One 3×3 filter of ones, padding 1, no bias: y is the sum of each pixel's
	// neighbourhood. With dy all ones, dx counts the windows reading each pixel and dW
	// (tap (u,v) sums x over the pixels it reads) equals y by symmetry. No DX, no DB.
	g = device.ConvGeom{N: 1, C: 1, H: 3, W: 3, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1}
	box := []float32{12, 21, 16, 27, 45, 33, 24, 39, 28}
	a = device.ConvArgs{G: g, F: 1, X: d.f32(1, 2, 3, 4, 5, 6, 7, 8, 9), W: d.fill(9, 1), Y: d.f32(nans(9)...)}
	require.NoError(t, d.b.Conv(a))
	d.close(exact, "conv 3×3 pad 1", "(1,1,3,3)", box, a.Y)
	a.DY, a.DW = d.fill(9, 1), d.f32(nans(9)...)
	require.NoError(t, d.b.ConvBackward(a))
	d.close(exact, "conv 3×3 pad 1 backward dW", "(1,1,3,3)", box, a.DW)
	a.DX = d.f32(nans(9)...)
	require.NoError(t, d.b.ConvBackward(a))
	d.close(exact, "conv 3×3 pad 1 backward dx", "(1,1,3,3)", []float32{4, 6, 4, 6, 9, 6, 4, 6, 4}, a.DX)
}

func knownPool(t *testing.T, d dev) {
	// 2×2 windows, stride 2, over
	//	1 2 5 3
	//	4 0 1 1
	//	7 8 9 9
	//	6 5 9 2
	// windows {1 2 4 0} {5 3 1 1} {7 8 6 5} {9 9 9 2}: max 4 5 8 9, mean 7/4 10/4 26/4 29/4.
	g := device.ConvGeom{N: 1, C: 1, H: 4, W: 4, KH: 2, KW: 2, StrideH: 2, StrideW: 2}
	x := d.f32(1, 2, 5, 3, 4, 0, 1, 1, 7, 8, 9, 9, 6, 5, 9, 2)
	dy := d.f32(1, 2, 3, 4)
	y := d.f32(nans(4)...)
	require.NoError(t, d.b.Pool(device.MaxPool, x, y, g))
	d.close(exact, "max pool", "(1,1,2,2)", []float32{4, 5, 8, 9}, y)
	// Each dy goes to its window's first maximum in row-major order: (1,0), (0,2), (2,1),
	// and (2,2) of the three 9s.
	dx := d.f32(nans(16)...)
	require.NoError(t, d.b.PoolBackward(device.MaxPool, x, y, dy, dx, g))
	d.close(exact, "max pool backward", "(1,1,4,4)", []float32{0, 0, 2, 0, 1, 0, 0, 0, 0, 3, 4, 0, 0, 0, 0, 0}, dx)
	require.NoError(t, d.b.Pool(device.AvgPool, x, y, g))
	d.close(exact, "avg pool", "(1,1,2,2)", []float32{1.75, 2.5, 6.5, 7.25}, y)
	// Each window's four pixels get its dy/4.
	require.NoError(t, d.b.PoolBackward(device.AvgPool, x, y, dy, dx, g))
	d.close(exact, "avg pool backward", "(1,1,4,4)",
		[]float32{.25, .25, .5, .5, .25, .25, .5, .5, .75, .75, 1, 1, .75, .75, 1, 1}, dx)

	// 3×3 windows, stride 1, padding 1 over a 2×2 image: every window covers the whole
	// image. Over [-1 -2; -3 -4] the max is -1 (padding never wins) and the mean
	// -10/9 (padding counts as zero). Backward: the max routes all four dy (1+2+3+4) to
	// pixel (0,0); the mean gives every pixel (1+2+3+4)/9.
	g = device.ConvGeom{N: 1, C: 1, H: 2, W: 2, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1}
	x = d.f32(-1, -2, -3, -4)
	y = d.f32(nans(4)...)
	require.NoError(t, d.b.Pool(device.MaxPool, x, y, g))
	d.close(exact, "max pool padded", "(1,1,2,2)", []float32{-1, -1, -1, -1}, y)
	dx = d.f32(nans(4)...)
	require.NoError(t, d.b.PoolBackward(device.MaxPool, x, y, dy, dx, g))
	d.close(exact, "max pool padded backward", "(1,1,2,2)", []float32{10, 0, 0, 0}, dx)
	require.NoError(t, d.b.Pool(device.AvgPool, x, y, g))
	d.close(near, "avg pool padded", "(1,1,2,2)", []float32{-10.0 / 9, -10.0 / 9, -10.0 / 9, -10.0 / 9}, y)
	require.NoError(t, d.b.PoolBackward(device.AvgPool, x, y, dy, dx, g))
	d.close(near, "avg pool padded backward", "(1,1,2,2)", []float32{10.0 / 9, 10.0 / 9, 10.0 / 9, 10.0 / 9}, dx)
}

func knownBatchNorm(t *testing.T, d dev) {
	// One channel, N = 2, Inner = 2, x = [1 2 3 4]: mean 2.5, biased variance
	// (2.25+0.25+0.25+2.25)/4 = 1.25, unbiased 5/3. xhat = (x-2.5)*s with
	// s = 1/√(1.25+Eps) = k*s/2 for k = -3 -1 1 3; Gamma 2, Beta 1: y = 1 + k*s.
	// Running statistics with Momentum 0.1 from (0, 1): 0.1*2.5 = 0.25 and
	// 0.9 + 0.1*5/3 = 1.0666667.
	const eps = 1e-5
	s := 1 / math.Sqrt(1.25+eps)
	a := device.BatchNormArgs{N: 2, C: 1, Inner: 2, Training: true, Momentum: 0.1, Eps: eps,
		X: d.f32(1, 2, 3, 4), Y: d.f32(nans(4)...), Gamma: d.f32(2), Beta: d.f32(1),
		RunMean: d.f32(0), RunVar: d.f32(1), SaveMean: d.f32(nan()), SaveInvStd: d.f32(nan()),
		DY: d.f32(1, 0, 0, 0), DX: d.f32(nans(4)...), DGamma: d.f32(nan()), DBeta: d.f32(nan())}
	require.NoError(t, d.b.BatchNorm(a))
	tl := Tol{Atol: 1e-6, Rtol: 1e-5}
	d.close(tl, "batchnorm y", "(2,1,2)", []float32{float32(1 - 3*s), float32(1 - s), float32(1 + s), float32(1 + 3*s)}, a.Y)
	d.close(tl, "batchnorm saved mean", "[1]", []float32{2.5}, a.SaveMean)
	d.close(tl, "batchnorm saved invstd", "[1]", []float32{float32(s)}, a.SaveInvStd)
	d.close(tl, "batchnorm running mean", "[1]", []float32{0.25}, a.RunMean)
	d.close(tl, "batchnorm running var", "[1]", []float32{0.9 + 0.1*5.0/3}, a.RunVar)
	// Backward with dy = [1 0 0 0]: DBeta = 1, DGamma = xhat0 = -1.5s, and
	// DX = 2s/4*(4dy - 1 - xhat*DGamma) with xhat*DGamma = -0.75k*s² = -0.6k (s² = 0.8):
	// s/2 * [4-1-1.8, -1-0.6, -1+0.6, -1+1.8] = s/2 * [1.2 -1.6 -0.4 0.8].
	require.NoError(t, d.b.BatchNormBackward(a))
	d.close(tl, "batchnorm dbeta", "[1]", []float32{1}, a.DBeta)
	d.close(tl, "batchnorm dgamma", "[1]", []float32{float32(-1.5 * s)}, a.DGamma)
	h := s / 2
	d.close(Tol{Atol: 1e-5, Rtol: 1e-4}, "batchnorm dx", "(2,1,2)", []float32{float32(1.2 * h), float32(-1.6 * h), float32(-0.4 * h), float32(0.8 * h)}, a.DX)

	// Inference with RunMean 1, RunVar 3: y = 1 + 2(x-1)/√(3+Eps).
	a.Training = false
	a.RunMean, a.RunVar = d.f32(1), d.f32(3)
	require.NoError(t, d.b.BatchNorm(a))
	r := 1 / math.Sqrt(3+eps)
	d.close(tl, "batchnorm inference", "(2,1,2)", []float32{1, float32(1 + 2*r), float32(1 + 4*r), float32(1 + 6*r)}, a.Y)

	// Layout: two channels, Inner 1 (after a dense layer), N = 2: x = [1 10; 3 30]
	// (sample rows), channel 0 sees {1, 3} (mean 2, var 1), channel 1 {10, 30} (mean 20,
	// var 100): xhat = [-1 -1; 1 1] up to Eps.
	a = device.BatchNormArgs{N: 2, C: 2, Inner: 1, Training: true, Momentum: 0.1, Eps: eps,
		X: d.f32(1, 10, 3, 30), Y: d.f32(nans(4)...), Gamma: d.f32(1, 1), Beta: d.f32(0, 0),
		RunMean: d.f32(0, 0), RunVar: d.f32(1, 1), SaveMean: d.f32(nans(2)...), SaveInvStd: d.f32(nans(2)...)}
	require.NoError(t, d.b.BatchNorm(a))
	d.close(tl, "batchnorm channels", "(2,2,1)", []float32{-1, -1, 1, 1}, a.Y)
	d.close(tl, "batchnorm channels mean", "[2]", []float32{2, 20}, a.SaveMean)
}

func knownAugment(t *testing.T, d dev) {
	// MaxShift 0 and no flip leave the images as they are, whatever the draws.
	x := uniform(newRand(1), 2*3*4*5, -1, 1)
	y := d.f32(nans(len(x))...)
	require.NoError(t, d.b.Augment(d.f32(x...), y, device.AugmentArgs{N: 2, C: 3, H: 4, W: 5, Seed: 7, Offset: 3}))
	d.close(exact, "augment identity", "(2,3,4,5)", x, y)
}
