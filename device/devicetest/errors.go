package devicetest

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/gputrain/gputrain/device"
)

// foreign is a buffer no backend made.
type foreign struct{}

func (foreign) Len() int            { return 4 }
func (foreign) DType() device.DType { return device.Float32 }

// call runs fn and turns a panic into a test failure.
func call(t *testing.T, name string, fn func() error) (err error) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s: panicked: %v", name, r)
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return fn()
}

func errorCases(t *testing.T, b device.Backend) {
	d := dev{t, b}
	f := func(n int) device.Buffer { return d.alloc(device.Float32, n) }
	i := func(n int) device.Buffer { return d.alloc(device.Int32, n) }
	u := func(n int) device.Buffer { return d.alloc(device.Uint8, n) }
	f4 := f(4)
	gemm := func(mod func(*device.GemmArgs)) func() error {
		g := device.GemmArgs{M: 2, N: 2, K: 2, Alpha: 1, A: f(4), B: f(4), C: f(4)}
		mod(&g)
		return func() error { return b.Gemm(g) }
	}
	sce := func(mod func(*device.LossArgs)) device.LossArgs {
		a := device.LossArgs{Op: device.SoftmaxCrossEntropy, Rows: 2, Cols: 3, Input: f(6), Labels: i(2), Probs: f(6), Loss: f(2), Grad: f(6), Scale: 1}
		mod(&a)
		return a
	}
	conv := device.ConvGeom{N: 1, C: 1, H: 4, W: 4, KH: 2, KW: 2, StrideH: 2, StrideW: 2}
	bn := func(mod func(*device.BatchNormArgs)) device.BatchNormArgs {
		a := device.BatchNormArgs{N: 2, C: 1, Inner: 2, Training: true, Momentum: 0.1, Eps: 1e-5, X: f(4), Y: f(4),
			Gamma: f(1), Beta: f(1), RunMean: f(1), RunVar: f(1), SaveMean: f(1), SaveInvStd: f(1),
			DY: f(4), DX: f(4), DGamma: f(1), DBeta: f(1)}
		mod(&a)
		return a
	}
	adam := device.Hyper{LR: 0.1, Beta1: 0.9, Beta2: 0.999, Eps: 1e-7, Step: 1}
	ln := func(mod func(*device.LayerNormArgs)) device.LayerNormArgs {
		a := device.LayerNormArgs{Rows: 2, Cols: 2, Eps: 1e-5, X: f4, Y: f(4), Gamma: f(2), Beta: f(2), Mean: f(2), RStd: f(2),
			DY: f(4), DX: f(4), DGamma: f(2), DBeta: f(2)}
		mod(&a)
		return a
	}
	// An LSTM step of batch 1, hidden 2.
	rnn := func(mod func(*device.RNNCellArgs)) device.RNNCellArgs {
		a := device.RNNCellArgs{Op: device.LSTM, Batch: 1, Hidden: 2, GX: f(8), Acts: f(8), CPrev: f(2), H: f(2), C: f(2),
			DH: f(2), DC: f(2), DGX: f(8), DCPrev: f(2)}
		mod(&a)
		return a
	}

	for _, c := range []struct {
		name string
		fn   func() error
		want []string // substrings of the error
	}{
		{"gemm nil A", gemm(func(g *device.GemmArgs) { g.A = nil }), []string{"gemm", "A is nil"}},
		{"gemm short C", gemm(func(g *device.GemmArgs) { g.C = f(3) }), []string{"gemm", "C has 3 elements"}},
		{"gemm int32 B", gemm(func(g *device.GemmArgs) { g.B = i(4) }), []string{"gemm", "B is int32"}},
		{"gemm K 0", gemm(func(g *device.GemmArgs) { g.K = 0 }), []string{"gemm", "positive"}},
		{"gemm overlapping batch", gemm(func(g *device.GemmArgs) { g.Batch, g.StrideC = 2, 0 }), []string{"gemm", "StrideC"}},
		{"gemm foreign", gemm(func(g *device.GemmArgs) { g.A = foreign{} }), nil},
		{"gemm short bias", gemm(func(g *device.GemmArgs) { g.Bias = f(3) }), []string{"gemm", "Bias has 3 elements, want 2"}},
		{"gemm int32 bias", gemm(func(g *device.GemmArgs) { g.Bias = i(2) }), []string{"gemm", "Bias is int32"}},
		{"gemm batched bias", gemm(func(g *device.GemmArgs) { g.Bias, g.Batch, g.StrideC, g.C = f(2), 2, 4, f(8) }),
			[]string{"gemm", "epilogue needs Batch <= 1, got batch 2"}},
		{"gemm batched activation", gemm(func(g *device.GemmArgs) { g.ActOn, g.Batch, g.StrideC = true, 2, 4; g.C = f(8) }),
			[]string{"gemm", "epilogue needs Batch <= 1"}},
		{"gemm unknown activation", gemm(func(g *device.GemmArgs) { g.ActOn, g.Act = true, device.UnaryOp(99) }),
			[]string{"gemm", "unknown epilogue activation 99"}},
		{"gemm foreign bias", gemm(func(g *device.GemmArgs) { g.M, g.N, g.K, g.Bias = 1, 4, 1, foreign{} }), nil},
		{"unary short y", func() error { return b.Unary(device.ReLU, f4, f(3), 0) }, []string{"unary relu", "y has 3"}},
		{"unary unknown op", func() error { return b.Unary(device.UnaryOp(99), f4, f4, 0) }, []string{"unary", "unknown op 99"}},
		{"unary int32 x", func() error { return b.Unary(device.Tanh, i(4), f4, 0) }, []string{"unary tanh", "x is int32"}},
		{"unary backward nil dy", func() error { return b.UnaryBackward(device.Sigmoid, f4, f4, nil, f4, 0) }, []string{"unary backward sigmoid", "dy is nil"}},
		{"unary foreign", func() error { return b.Unary(device.ReLU, foreign{}, f4, 0) }, nil},
		{"softmax rows 0", func() error { return b.Softmax(f4, f4, 0, 4) }, []string{"softmax", "positive"}},
		{"softmax short y", func() error { return b.Softmax(f(6), f(5), 2, 3) }, []string{"softmax", "y has 5"}},
		{"softmax backward short dx", func() error { return b.SoftmaxBackward(f(6), f(6), f(2), 2, 3) }, []string{"softmax backward", "dx has 2"}},
		{"binary int32 c", func() error { return b.Binary(device.Add, f4, f4, i(4)) }, []string{"binary add", "c is int32"}},
		{"binary short b", func() error { return b.Binary(device.Div, f4, f(2), f4) }, []string{"binary div", "b has 2"}},
		{"broadcast short v", func() error {
			return b.Broadcast(device.Add, f(6), f(2), f(6), device.Shape3{Outer: 2, Mid: 3, Inner: 1})
		}, []string{"broadcast add", "v has 2"}},
		{"broadcast Mid 0", func() error { return b.Broadcast(device.Mul, f4, f4, f4, device.Shape3{Outer: 4, Inner: 1}) }, []string{"broadcast mul", "positive"}},
		{"axpby nil x", func() error { return b.Axpby(1, nil, 1, f4) }, []string{"axpby", "x is nil"}},
		{"axpby short y", func() error { return b.Axpby(1, f4, 1, f(3)) }, []string{"axpby", "y has 3"}},
		{"reduce argmax float y", func() error {
			return b.Reduce(device.ArgMax, f(6), f(2), device.Shape3{Outer: 2, Mid: 3, Inner: 1})
		}, []string{"reduce argmax", "y is float32, want int32"}},
		{"reduce short x", func() error { return b.Reduce(device.Sum, f(5), f(2), device.Shape3{Outer: 2, Mid: 3, Inner: 1}) }, []string{"reduce sum", "x has 5"}},
		{"loss nil labels", func() error { return b.Loss(sce(func(a *device.LossArgs) { a.Labels = nil })) }, []string{"loss softmax_cross_entropy", "Labels is nil"}},
		{"loss float labels", func() error { return b.Loss(sce(func(a *device.LossArgs) { a.Labels = f(2) })) }, []string{"loss softmax_cross_entropy", "Labels is float32"}},
		{"loss short probs", func() error { return b.Loss(sce(func(a *device.LossArgs) { a.Probs = f(5) })) }, []string{"softmax_cross_entropy", "Probs has 5"}},
		{"loss backward nil grad", func() error { return b.LossBackward(sce(func(a *device.LossArgs) { a.Grad = nil })) }, []string{"loss backward softmax_cross_entropy", "Grad is nil"}},
		{"loss mse correct", func() error {
			return b.Loss(device.LossArgs{Op: device.MSE, Rows: 2, Cols: 2, Input: f4, Target: f4, Loss: f(2), Correct: f(2)})
		}, []string{"loss mse", "Correct"}},
		{"loss unknown op", func() error { return b.Loss(sce(func(a *device.LossArgs) { a.Op = 7 })) }, []string{"loss", "unknown op 7"}},
		{"update momentum nil m", func() error { return b.Update(device.Momentum, device.Hyper{LR: 0.1}, f4, f4, nil, nil) }, []string{"update momentum", "m is nil"}},
		{"update adam step 0", func() error { return b.Update(device.Adam, device.Hyper{LR: 0.1}, f4, f4, f4, f4) }, []string{"update adam", "Step must be >= 1"}},
		{"update adam NaN LR", func() error {
			h := adam
			h.LR = float32(math.NaN())
			return b.Update(device.Adam, h, f4, f4, f4, f4)
		}, []string{"update adam", "finite"}},
		{"update short grad", func() error { return b.Update(device.SGD, device.Hyper{LR: 0.1}, f4, f(3), nil, nil) }, []string{"update sgd", "grad has 3"}},
		{"dropout rate 1", func() error { return b.DropoutMask(f4, 1, 0, 0) }, []string{"dropout", "rate must be in [0, 1)"}},
		{"dropout int32 mask", func() error { return b.DropoutMask(i(4), 0.5, 0, 0) }, []string{"dropout", "mask is int32"}},
		{"gather uint8 into int32", func() error { return b.Gather(i(2), u(4), i(1), 2, 1) }, []string{"gather", "cannot gather uint8 rows into int32"}},
		{"gather rowLen 0", func() error { return b.Gather(f4, f4, i(2), 0, 1) }, []string{"gather", "rowLen must be positive"}},
		{"gather short dst", func() error { return b.Gather(f(3), f4, i(2), 2, 1) }, []string{"gather", "dst has 3"}},
		{"im2col window too large", func() error {
			g := conv
			g.KW = 5
			return b.Im2Col(f(16), f(16), g)
		}, []string{"im2col", "window 2×5"}},
		{"im2col short col", func() error { return b.Im2Col(f(16), f(15), conv) }, []string{"im2col", "col has 15"}},
		{"col2im short image", func() error { return b.Col2Im(f(16), f(15), conv) }, []string{"col2im", "image has 15"}},
		{"conv filters 0", func() error {
			return b.Conv(device.ConvArgs{G: conv, X: f(16), W: f(4), Y: f(4)})
		}, []string{"conv", "filters F must be positive"}},
		{"conv short W", func() error {
			return b.Conv(device.ConvArgs{G: conv, F: 2, X: f(16), W: f(4), Y: f(8)})
		}, []string{"conv", "W has 4 elements, want 8"}},
		{"conv short bias", func() error {
			return b.Conv(device.ConvArgs{G: conv, F: 2, X: f(16), W: f(8), B: f(1), Y: f(8)})
		}, []string{"conv", "B has 1"}},
		{"conv nil Y", func() error { return b.Conv(device.ConvArgs{G: conv, F: 1, X: f(16), W: f(4)}) }, []string{"conv", "Y is nil"}},
		{"conv backward nil DW", func() error {
			return b.ConvBackward(device.ConvArgs{G: conv, F: 1, X: f(16), W: f(4), DY: f(4)})
		}, []string{"conv backward", "DW is nil"}},
		{"conv backward short DX", func() error {
			return b.ConvBackward(device.ConvArgs{G: conv, F: 1, X: f(16), W: f(4), DY: f(4), DW: f(4), DX: f(15)})
		}, []string{"conv backward", "DX has 15"}},
		{"conv window too large", func() error {
			g := conv
			g.KH = 7
			return b.Conv(device.ConvArgs{G: g, F: 1, X: f(16), W: f(14), Y: f(4)})
		}, []string{"conv", "window 7×2"}},
		{"pool padding too large", func() error {
			g := conv
			g.PadH = 2
			return b.Pool(device.MaxPool, f(16), f(36), g)
		}, []string{"max_pool", "padding 2×0"}},
		{"pool backward nil dx", func() error { return b.PoolBackward(device.AvgPool, f(16), f(4), f(4), nil, conv) }, []string{"avg_pool", "dx is nil"}},
		{"pool stride 0", func() error {
			g := conv
			g.StrideW = 0
			return b.Pool(device.MaxPool, f(16), f(4), g)
		}, []string{"max_pool", "positive"}},
		{"batchnorm eps 0", func() error { return b.BatchNorm(bn(func(a *device.BatchNormArgs) { a.Eps = 0 })) }, []string{"batchnorm", "Eps must be positive"}},
		{"batchnorm nil SaveMean", func() error { return b.BatchNorm(bn(func(a *device.BatchNormArgs) { a.SaveMean = nil })) }, []string{"batchnorm", "SaveMean is nil"}},
		{"batchnorm short gamma", func() error { return b.BatchNorm(bn(func(a *device.BatchNormArgs) { a.Gamma = f(2) })) }, []string{"batchnorm", "Gamma has 2"}},
		{"batchnorm backward inference", func() error {
			return b.BatchNormBackward(bn(func(a *device.BatchNormArgs) { a.Training = false }))
		}, []string{"batchnorm backward", "training mode"}},
		{"batchnorm backward nil DBeta", func() error { return b.BatchNormBackward(bn(func(a *device.BatchNormArgs) { a.DBeta = nil })) }, []string{"batchnorm backward", "DBeta is nil"}},
		{"augment shift too large", func() error {
			return b.Augment(f(16), f(16), device.AugmentArgs{N: 1, C: 1, H: 4, W: 4, MaxShift: 4})
		}, []string{"augment", "MaxShift 4"}},
		{"augment short y", func() error { return b.Augment(f(16), f(15), device.AugmentArgs{N: 1, C: 1, H: 4, W: 4}) }, []string{"augment", "y has 15"}},
		{"unary gelu_tanh int32 y", func() error { return b.Unary(device.GELUTanh, f4, i(4), 0) }, []string{"unary gelu_tanh", "y is int32"}},
		{"gemm gelu_tanh epilogue unknown past it", gemm(func(g *device.GemmArgs) { g.ActOn, g.Act = true, device.LastUnaryOp+1 }),
			[]string{"gemm", "unknown epilogue activation"}},
		{"causal softmax seq 0", func() error { return b.CausalSoftmax(f4, f4, 1, 0, 1) }, []string{"causal softmax", "positive"}},
		{"causal softmax short y", func() error { return b.CausalSoftmax(f(8), f(7), 2, 2, 1) }, []string{"causal softmax", "y has 7"}},
		{"causal softmax NaN scale", func() error { return b.CausalSoftmax(f4, f4, 1, 2, float32(math.NaN())) }, []string{"causal softmax", "scale must be finite"}},
		{"scatter add int32 src", func() error { return b.ScatterAdd(f(6), i(4), i(2), 2) }, []string{"scatter add", "src is int32"}},
		{"scatter add float idx", func() error { return b.ScatterAdd(f(6), f4, f(2), 2) }, []string{"scatter add", "idx is float32"}},
		{"scatter add ragged dst", func() error { return b.ScatterAdd(f(5), f4, i(2), 2) }, []string{"scatter add", "dst has 5 elements, not a whole number of rows of 2"}},
		{"scatter add short src", func() error { return b.ScatterAdd(f(6), f(3), i(2), 2) }, []string{"scatter add", "src has 3 elements, want 4"}},
		{"scatter add rowLen 0", func() error { return b.ScatterAdd(f(6), f4, i(2), 0) }, []string{"scatter add", "rowLen must be positive"}},
		{"add rows even set", func() error { return b.AddRows(i(4), i(2)) }, []string{"add rows", "set has 4 elements, not a row set"}},
		{"add rows float set", func() error { return b.AddRows(f(5), i(2)) }, []string{"add rows", "set is float32"}},
		{"add rows float ids", func() error { return b.AddRows(i(5), f(2)) }, []string{"add rows", "ids is float32"}},
		{"update rows set of other rows", func() error { return b.UpdateRows(device.SGD, device.Hyper{LR: 1}, f(6), f(6), nil, nil, i(5), 2) }, []string{"update rows sgd", "row set of 2 rows, param has 3 rows of 2"}},
		{"update rows ragged", func() error { return b.UpdateRows(device.SGD, device.Hyper{LR: 1}, f(6), f(6), nil, nil, i(7), 4) }, []string{"update rows sgd", "not a whole number of rows of 4"}},
		{"update rows adam nil v", func() error { return b.UpdateRows(device.Adam, adam, f(4), f(4), f(4), nil, i(5), 2) }, []string{"update adam", "v is nil"}},
		{"update rows rowLen 0", func() error { return b.UpdateRows(device.SGD, device.Hyper{LR: 1}, f(4), f(4), nil, nil, i(5), 0) }, []string{"update rows sgd", "rowLen must be positive"}},
		{"clear rows short set", func() error { return b.ClearRows(f(6), i(5), 2) }, []string{"clear rows", "row set of 2 rows, grad has 3 rows of 2"}},
		{"clear rows int grad", func() error { return b.ClearRows(i(6), i(7), 2) }, []string{"clear rows", "grad is int32"}},
		{"permute rank 0", func() error { return b.Permute(f4, f4, device.PermuteArgs{}) }, []string{"permute", "rank must be in [1, 6], got 0"}},
		{"permute not a permutation", func() error {
			return b.Permute(f4, f4, device.PermuteArgs{Rank: 2, Shape: [device.MaxRank]int{2, 2}, Perm: [device.MaxRank]int{1, 1}})
		}, []string{"permute", "Perm [1 1] is not a permutation of 0..1"}},
		{"permute short y", func() error {
			return b.Permute(f4, f(3), device.PermuteArgs{Rank: 2, Shape: [device.MaxRank]int{2, 2}, Perm: [device.MaxRank]int{1, 0}})
		}, []string{"permute", "y has 3"}},
		{"permute zero size", func() error {
			return b.Permute(f4, f4, device.PermuteArgs{Rank: 2, Shape: [device.MaxRank]int{4, 0}, Perm: [device.MaxRank]int{1, 0}})
		}, []string{"permute", "positive"}},
		{"layernorm eps 0", func() error { return b.LayerNorm(ln(func(a *device.LayerNormArgs) { a.Eps = 0 })) }, []string{"layernorm", "Eps must be positive"}},
		{"layernorm nil RStd", func() error { return b.LayerNorm(ln(func(a *device.LayerNormArgs) { a.RStd = nil })) }, []string{"layernorm", "RStd is nil"}},
		{"layernorm short beta", func() error { return b.LayerNorm(ln(func(a *device.LayerNormArgs) { a.Beta = f(1) })) }, []string{"layernorm", "Beta has 1 elements, want 2"}},
		{"layernorm backward nil DGamma", func() error { return b.LayerNormBackward(ln(func(a *device.LayerNormArgs) { a.DGamma = nil })) }, []string{"layernorm backward", "DGamma is nil"}},
		{"layernorm backward short DX", func() error { return b.LayerNormBackward(ln(func(a *device.LayerNormArgs) { a.DX = f(3) })) }, []string{"layernorm backward", "DX has 3"}},
		{"rnn cell unknown op", func() error { return b.RNNCell(rnn(func(a *device.RNNCellArgs) { a.Op = 9 })) }, []string{"rnn cell", "unknown op 9"}},
		{"rnn cell lstm with HPrev", func() error { return b.RNNCell(rnn(func(a *device.RNNCellArgs) { a.HPrev = f(2) })) }, []string{"rnn cell lstm", "HPrev must be nil"}},
		{"rnn cell lstm nil C", func() error { return b.RNNCell(rnn(func(a *device.RNNCellArgs) { a.C = nil })) }, []string{"rnn cell lstm", "C is nil"}},
		{"rnn cell lstm short Acts", func() error { return b.RNNCell(rnn(func(a *device.RNNCellArgs) { a.Acts = f(7) })) }, []string{"rnn cell lstm", "Acts has 7 elements, want 8"}},
		{"rnn cell gru nil GH", func() error {
			return b.RNNCell(rnn(func(a *device.RNNCellArgs) { a.Op, a.GX, a.Acts, a.C, a.CPrev = device.GRU, f(6), f(6), nil, nil }))
		}, []string{"rnn cell gru", "GH is nil"}},
		{"rnn cell gru with C", func() error {
			return b.RNNCell(rnn(func(a *device.RNNCellArgs) { a.Op, a.GX, a.GH, a.Acts, a.CPrev = device.GRU, f(6), f(6), f(6), nil }))
		}, []string{"rnn cell gru", "C must be nil"}},
		{"rnn cell backward lstm with DGH", func() error { return b.RNNCellBackward(rnn(func(a *device.RNNCellArgs) { a.DGH = f(8) })) }, []string{"rnn cell backward lstm", "DGH must be nil"}},
		{"rnn cell backward nil DH", func() error { return b.RNNCellBackward(rnn(func(a *device.RNNCellArgs) { a.DH = nil })) }, []string{"rnn cell backward lstm", "DH is nil"}},
		{"rnn cell hidden 0", func() error { return b.RNNCell(rnn(func(a *device.RNNCellArgs) { a.Hidden = 0 })) }, []string{"rnn cell lstm", "positive"}},
		{"loss bce nil target", func() error {
			return b.Loss(device.LossArgs{Op: device.BinaryCrossEntropyWithLogits, Rows: 2, Cols: 2, Input: f4, Loss: f(2)})
		}, []string{"loss binary_cross_entropy_with_logits", "Target is nil"}},
		{"copy dtype", func() error { return b.Copy(f4, i(4)) }, []string{"copy", "float32", "int32"}},
		{"write short", func() error { return b.WriteFloat32(f4, []float32{1}) }, []string{"write", "has 4 elements, want 1"}},
		{"view outside", func() error { _, err := b.View(f4, 2, 3); return err }, []string{"view [2, 5)", "4 elements"}},
	} {
		err := call(t, c.name, c.fn)
		if !assert.Error(t, err, c.name) {
			continue
		}
		for _, w := range c.want {
			assert.Contains(t, err.Error(), w, c.name)
		}
	}
}

// AssertUnsupported checks that err is what a backend must return for an op, or an op
// variant, that it does not implement: a *device.UnsupportedError naming the backend and
// an Op that starts with op (rather than a plain error, a wrong answer, or another
// backend's result).
func AssertUnsupported(t testing.TB, err error, backend, op string) bool {
	t.Helper()
	var u *device.UnsupportedError
	if !errors.As(err, &u) {
		t.Errorf("%s %s: got error %v, want a *device.UnsupportedError", backend, op, err)
		return false
	}
	ok := assert.Equal(t, backend, u.Backend, "UnsupportedError.Backend")
	ok = assert.True(t, strings.HasPrefix(u.Op, op), "UnsupportedError.Op %q should start with %q", u.Op, op) && ok
	return assert.Contains(t, err.Error(), "device: "+backend+" backend does not support "+op) && ok
}
