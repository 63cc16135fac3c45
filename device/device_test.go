package device_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/device"
)

// Known-answer vectors for Philox4x32-10 from the Random123 distribution (kat_vectors).
func TestPhiloxKnownAnswers(t *testing.T) {
	cases := []struct {
		ctr  [4]uint32
		key  [2]uint32
		want [4]uint32
	}{
		{[4]uint32{0, 0, 0, 0}, [2]uint32{0, 0}, [4]uint32{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
		{[4]uint32{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, [2]uint32{0xffffffff, 0xffffffff},
			[4]uint32{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
		{[4]uint32{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, [2]uint32{0xa4093822, 0x299f31d0},
			[4]uint32{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, device.Philox4x32(c.ctr, c.key), "ctr %08x key %08x", c.ctr, c.key)
	}
}

func TestPhiloxStreamLayout(t *testing.T) {
	const seed, off = 0x1234_5678_9abc_def0, 77
	for i := 0; i < 9; i++ {
		blk := device.PhiloxBlock(seed, off+uint64(i/4))
		assert.Equal(t, blk[i%4], device.PhiloxUint32(seed, off, i), "element %d", i)
	}
	assert.Equal(t, uint64(0), device.PhiloxBlocks(0))
	assert.Equal(t, uint64(1), device.PhiloxBlocks(4))
	assert.Equal(t, uint64(2), device.PhiloxBlocks(5))
}

func TestDropThresholdKeepsOneMinusRate(t *testing.T) {
	for _, rate := range []float32{0, 0.1, 0.5, 0.9} {
		th := device.DropThreshold(rate)
		kept := 0
		const n = 200000
		for i := 0; i < n; i++ {
			if device.PhiloxUint32(42, 0, i)>>8 >= th {
				kept++
			}
		}
		assert.InDelta(t, 1-rate, float64(kept)/n, 0.005, "rate %v", rate)
	}
	assert.Equal(t, float32(2), device.DropScale(0.5))
}

func TestAdamStepSize(t *testing.T) {
	h := device.Hyper{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Step: 1}
	// t=1: lr*sqrt(1-β2)/(1-β1), from the float32 hyper-parameters
	lr, b1, b2 := float64(float32(1e-3)), float64(float32(0.9)), float64(float32(0.999))
	assert.InEpsilon(t, lr*math.Sqrt(1-b2)/(1-b1), float64(h.AdamStepSize()), 1e-6)
	h.Step = 10000
	assert.InDelta(t, 1e-3, float64(h.AdamStepSize()), 1e-6)
}

func TestConvGeom(t *testing.T) {
	g := device.ConvGeom{N: 2, C: 3, H: 28, W: 28, KH: 5, KW: 5, StrideH: 1, StrideW: 1, PadH: 2, PadW: 2}
	assert.Equal(t, 28, g.OutH())
	assert.Equal(t, 28, g.OutW())
	assert.Equal(t, 75, g.ColRows())
	g.StrideH, g.PadH = 2, 0
	assert.Equal(t, 12, g.OutH())
	require.NoError(t, device.CheckGeom("conv", g))
	g.KW = 40
	assert.ErrorContains(t, device.CheckGeom("conv", g), "window 5×40 is larger than the padded input")
}

type fakeBuf struct {
	n  int
	dt device.DType
}

func (f fakeBuf) Len() int            { return f.n }
func (f fakeBuf) DType() device.DType { return f.dt }

func TestCheckGemmNamesTheOperand(t *testing.T) {
	f := func(n int) device.Buffer { return fakeBuf{n, device.Float32} }
	g := device.GemmArgs{M: 2, N: 3, K: 4, A: f(8), B: f(12), C: f(6)}
	require.NoError(t, device.CheckGemm(g))
	g.B = f(11)
	assert.ErrorContains(t, device.CheckGemm(g), "gemm: B has 11 elements, needs at least 12")
	g.B = fakeBuf{12, device.Int32}
	assert.ErrorContains(t, device.CheckGemm(g), "B is int32, want float32")
	g = device.GemmArgs{M: 2, N: 3, K: 4, A: f(8), B: f(12 * 5), C: f(6 * 5), Batch: 5, StrideB: 12, StrideC: 6}
	require.NoError(t, device.CheckGemm(g))
	g.StrideC = 5
	assert.ErrorContains(t, device.CheckGemm(g), "would overlap")
	g.M = 0
	assert.ErrorContains(t, device.CheckGemm(g), "must be positive")
}

func TestCheckLossNeedsLabels(t *testing.T) {
	f := func(n int) device.Buffer { return fakeBuf{n, device.Float32} }
	a := device.LossArgs{Op: device.SoftmaxCrossEntropy, Rows: 4, Cols: 10, Input: f(40), Probs: f(40), Loss: f(4)}
	assert.ErrorContains(t, device.CheckLoss(a, false), "Labels is nil")
	a.Labels = fakeBuf{4, device.Int32}
	require.NoError(t, device.CheckLoss(a, false))
	assert.ErrorContains(t, device.CheckLoss(a, true), "Grad is nil")
}

func TestRegistry(t *testing.T) {
	device.Register("test-broken", -100, func(device.Options) (device.Backend, error) {
		return nil, errors.New("no such hardware")
	})
	_, err := device.Open("test-broken", device.Options{})
	assert.ErrorContains(t, err, "cannot open test-broken: no such hardware")
	_, err = device.Open("tpu", device.Options{})
	assert.ErrorContains(t, err, `unknown device "tpu"`)
	_, err = device.Open("auto", device.Options{})
	assert.ErrorContains(t, err, "no backend could be opened")
	_, err = device.Open("auto", device.Options{Threads: -1})
	assert.ErrorContains(t, err, "threads must be >= 0")
	_, err = device.Open("auto", device.Options{GPU: -1})
	assert.ErrorContains(t, err, "device: GPU must be >= 0, got -1")
	assert.Panics(t, func() { device.Register("test-broken", 0, nil) })
	assert.Panics(t, func() { device.Register("auto", 0, nil) })
	assert.Contains(t, device.Names(), "test-broken")
}

func TestUnsupportedErrorIsNamed(t *testing.T) {
	var err error = &device.UnsupportedError{Backend: "cuda", Op: "pool avg_pool"}
	var u *device.UnsupportedError
	require.True(t, errors.As(err, &u))
	assert.Equal(t, "device: cuda backend does not support pool avg_pool", err.Error())
}

// A training step checks the arguments of every op it queues: passing checks must not
// allocate (an op name built by concatenation, or variadic sizes that escape into an
// error, would).
func TestChecksAllocateNothing(t *testing.T) {
	var (
		f6  device.Buffer = fakeBuf{6, device.Float32}
		f8  device.Buffer = fakeBuf{8, device.Float32}
		f12 device.Buffer = fakeBuf{12, device.Float32}
		f2  device.Buffer = fakeBuf{2, device.Float32}
		f3  device.Buffer = fakeBuf{3, device.Float32}
		i2  device.Buffer = fakeBuf{2, device.Int32}
	)
	gemm := device.GemmArgs{M: 2, N: 3, K: 4, A: f8, B: f12, C: f6}
	loss := device.LossArgs{Op: device.SoftmaxCrossEntropy, Rows: 2, Cols: 3, Input: f6, Labels: i2, Probs: f6, Loss: f2, Grad: f6}
	bn := device.BatchNormArgs{N: 2, C: 1, Inner: 3, Training: true, Eps: 1e-5, X: f6, Y: f6, Gamma: fakeBuf{1, device.Float32},
		Beta: fakeBuf{1, device.Float32}, RunMean: fakeBuf{1, device.Float32}, RunVar: fakeBuf{1, device.Float32},
		SaveMean: fakeBuf{1, device.Float32}, SaveInvStd: fakeBuf{1, device.Float32}}
	geom := device.ConvGeom{N: 1, C: 1, H: 2, W: 3, KH: 2, KW: 2, StrideH: 1, StrideW: 1}
	checks := map[string]func() error{
		"gemm":    func() error { return device.CheckGemm(gemm) },
		"unary":   func() error { return device.CheckUnaryBackward(device.Tanh, f6, f6, f6, f6) },
		"softmax": func() error { return device.CheckSoftmaxBackward(f6, f6, f6, 2, 3) },
		"binary":  func() error { return device.CheckBinary(device.Mul, f6, f6, f6) },
		"broadcast": func() error {
			return device.CheckBroadcast(device.Add, f6, f3, f6, device.Shape3{Outer: 2, Mid: 3, Inner: 1})
		},
		"reduce": func() error { return device.CheckReduce(device.Sum, f6, f3, device.Shape3{Outer: 1, Mid: 2, Inner: 3}) },
		"loss":   func() error { return device.CheckLoss(loss, true) },
		"update": func() error { return device.CheckUpdate(device.Adam, device.Hyper{Step: 1}, f6, f6, f6, f6) },
		"gather": func() error { return device.CheckGather(f6, f12, i2, 3) },
		"im2col": func() error { return device.CheckIm2Col("im2col", f6, f8, geom) },
		"pool":   func() error { return device.CheckPool(device.MaxPool, f6, f2, f2, f6, geom, true) },
		"conv": func() error {
			return device.CheckConv(device.ConvArgs{G: geom, F: 1, X: f6, W: fakeBuf{4, device.Float32}, B: fakeBuf{1, device.Float32}, Y: f2}, false)
		},
		"conv backward": func() error {
			return device.CheckConv(device.ConvArgs{G: geom, F: 1, X: f6, W: fakeBuf{4, device.Float32}, DY: f2, DX: f6,
				DW: fakeBuf{4, device.Float32}, DB: fakeBuf{1, device.Float32}}, true)
		},
		"batchnorm":  func() error { return device.CheckBatchNorm(bn, false) },
		"dropout":    func() error { return device.CheckDropout(f6, 0.5) },
		"axpby":      func() error { return device.CheckAxpby(f6, f6) },
		"augment":    func() error { return device.CheckAugment(f6, f6, device.AugmentArgs{N: 1, C: 1, H: 2, W: 3}) },
		"softmax fw": func() error { return device.CheckSoftmax(f6, f6, 3, 2) },
	}
	for name, check := range checks {
		require.NoError(t, check(), name)
		assert.Zero(t, testing.AllocsPerRun(20, func() { _ = check() }), name)
	}
}

func TestCheckSoftmaxNamesTheOperand(t *testing.T) {
	f := func(n int) device.Buffer { return fakeBuf{n, device.Float32} }
	assert.ErrorContains(t, device.CheckSoftmax(f(6), f(5), 2, 3), "device: softmax: y has 5 elements, want 6")
	assert.ErrorContains(t, device.CheckSoftmaxBackward(f(6), nil, f(6), 2, 3), "device: softmax backward: dy is nil")
	assert.ErrorContains(t, device.CheckSoftmax(f(6), f(6), 0, 3), "sizes rows, cols must be positive, got [0 3]")
}

// The activations whose derivative may be taken from y: those where x > 0 exactly when
// y > 0, or whose derivative reads only y.
func TestDerivativeFromOutput(t *testing.T) {
	for _, c := range []struct {
		op   device.UnaryOp
		p    float32
		want bool
	}{
		{device.ReLU, 0, true}, {device.Sigmoid, 0, true}, {device.Tanh, 0, true},
		{device.LeakyReLU, 0.01, true}, {device.LeakyReLU, 0, true},
		{device.LeakyReLU, -0.5, false}, // y = -0.5x > 0 where x < 0
		{device.GELU, 0, false},
	} {
		assert.Equal(t, c.want, c.op.DerivativeFromOutput(c.p), "%s p=%v", c.op, c.p)
	}
}

func TestGemmEpilogueArgs(t *testing.T) {
	assert.False(t, device.GemmArgs{}.HasEpilogue())
	assert.True(t, device.GemmArgs{ActOn: true}.HasEpilogue())
	// The zero Act is ReLU, but without ActOn it is not applied.
	assert.False(t, device.GemmArgs{Act: device.ReLU}.HasEpilogue())
}

// source returns, for each element of Y in row-major order, the index of the element of X
// it copies under p, from PermuteArgs' definition.
func source(p device.PermuteArgs) []int {
	out := p.OutShape()
	var stride [device.MaxRank]int
	s := 1
	for a := p.Rank - 1; a >= 0; a-- {
		stride[a] = s
		s *= p.Shape[a]
	}
	src := make([]int, p.Len())
	for o := range src {
		rest := o
		for k := p.Rank - 1; k >= 0; k-- {
			src[o] += rest % out[k] * stride[p.Perm[k]]
			rest /= out[k]
		}
	}
	return src
}

// Simplify moves every element where the permutation it simplifies does, with fewest
// axes; Inverse undoes the permutation. Over every permutation of ranks 1 to 4 and random
// ones of ranks 5 and 6, with sizes 1 to 3.
func TestPermuteSimplifyAndInverse(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	check := func(p device.PermuteArgs) {
		// A valid permutation: the check gets as far as the missing x.
		require.ErrorContains(t, device.CheckPermute(nil, nil, p), "x is nil", "%+v", p)
		q := p.Simplify()
		assert.Equal(t, source(p), source(q), "Simplify(%v %v) = %v %v", p.Shape[:p.Rank], p.Perm[:p.Rank], q.Shape[:q.Rank], q.Perm[:q.Rank])
		for i := 1; i < q.Rank; i++ {
			assert.NotEqual(t, q.Perm[i-1]+1, q.Perm[i], "Simplify left mergeable axes: %v %v", q.Shape[:q.Rank], q.Perm[:q.Rank])
		}
		for _, s := range q.Shape[:q.Rank] {
			if q.Rank > 1 {
				assert.NotEqual(t, 1, s, "Simplify kept a size-1 axis: %v", q.Shape[:q.Rank])
			}
		}
		// Y = P(X), then P⁻¹(Y): element o of the result is X[src[inv[o]]] = X[o].
		src, inv := source(p), source(p.Inverse())
		for o := range inv {
			require.Equal(t, o, src[inv[o]], "Inverse of %v %v", p.Shape[:p.Rank], p.Perm[:p.Rank])
		}
	}
	var perms func(prefix []int, rest []int, f func([]int))
	perms = func(prefix, rest []int, f func([]int)) {
		if len(rest) == 0 {
			f(prefix)
			return
		}
		for i, v := range rest {
			next := append(append([]int{}, rest[:i]...), rest[i+1:]...)
			perms(append(append([]int{}, prefix...), v), next, f)
		}
	}
	for rank := 1; rank <= 4; rank++ {
		axes := make([]int, rank)
		for i := range axes {
			axes[i] = i
		}
		perms(nil, axes, func(perm []int) {
			for range 5 {
				p := device.PermuteArgs{Rank: rank}
				copy(p.Perm[:], perm)
				for a := range rank {
					p.Shape[a] = 1 + rng.IntN(3)
				}
				check(p)
			}
		})
	}
	for range 200 {
		rank := 5 + rng.IntN(2)
		p := device.PermuteArgs{Rank: rank}
		copy(p.Perm[:], rng.Perm(rank))
		for a := range rank {
			p.Shape[a] = 1 + rng.IntN(3)
		}
		check(p)
	}
	// The attention layouts keep their axes; (B,T,C) → (T,B,C) merges nothing; a swap of
	// the two leading axes of four merges the last two.
	p := device.PermuteArgs{Rank: 4, Shape: [device.MaxRank]int{2, 3, 4, 5}, Perm: [device.MaxRank]int{1, 0, 2, 3}}
	q := p.Simplify()
	assert.Equal(t, 3, q.Rank)
	assert.Equal(t, []int{2, 3, 20}, q.Shape[:3])
	assert.Equal(t, []int{1, 0, 2}, q.Perm[:3])
}
