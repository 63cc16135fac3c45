package nn_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/cpu"
	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/tensor"
)

// Finite-difference gradient checks. Every layer is checked on the objective
// L = Σ r⊙y for a fixed random r, so that dL/dy = r; the analytic gradients that Backward
// writes (parameters and input) are compared with central differences of L, computed
// in float64 on the host from the float32 forward pass.

const (
	fdStep = 1e-3
	fdTol  = 2e-2 // |analytic - numeric| <= fdTol * max(1, |numeric|)
)

func newDev(t *testing.T) device.Backend {
	t.Helper()
	return cpu.New(cpu.Options{Threads: 2})
}

func randn(rng *rand.Rand, n int, scale float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64() * scale)
	}
	return v
}

func read(t *testing.T, x *tensor.Tensor) []float32 {
	t.Helper()
	v, err := x.Float32s()
	require.NoError(t, err)
	return v
}

func dot(a, b []float32) float64 {
	s := 0.0
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

// checkLayer builds l for per-example shape in, runs a batch, and checks every
// parameter's gradient and the input gradient by finite differences.
func checkLayer(t *testing.T, l nn.Layer, in tensor.Shape, batch int, xScale float64) {
	t.Helper()
	dev := newDev(t)
	rng := rand.New(rand.NewPCG(7, 11))
	ctx := nn.NewContext(dev, batch, 3)
	ctx.Layer = 1 // not a first layer: it must produce dx
	out, err := l.Build(ctx, in)
	require.NoError(t, err)
	xv := randn(rng, batch*in.Len(), xScale)
	x, err := tensor.FromFloat32(dev, xv, append([]int{batch}, in...)...)
	require.NoError(t, err)
	r := randn(rng, batch*out.Len(), 1)
	loss := func() float64 {
		y, err := l.Forward(x, true)
		require.NoError(t, err)
		return dot(read(t, y), r)
	}
	loss()
	dy, err := tensor.FromFloat32(dev, r, append([]int{batch}, out...)...)
	require.NoError(t, err)
	dx, err := l.Backward(dy, true)
	require.NoError(t, err)
	require.NotNil(t, dx, "input gradient")
	compare := func(what string, analytic []float32, values *tensor.Tensor) {
		t.Helper()
		v := read(t, values)
		idx := rng.Perm(len(v))
		if len(idx) > 40 {
			idx = idx[:40]
		}
		for _, i := range idx {
			orig := v[i]
			v[i] = orig + fdStep
			require.NoError(t, values.SetFloat32s(v))
			lp := loss()
			v[i] = orig - fdStep
			require.NoError(t, values.SetFloat32s(v))
			lm := loss()
			v[i] = orig
			require.NoError(t, values.SetFloat32s(v))
			num := (lp - lm) / (2 * fdStep)
			require.LessOrEqualf(t, math.Abs(float64(analytic[i])-num), fdTol*math.Max(1, math.Abs(num)),
				"%s %s[%d]: analytic %v, numeric %v", l.Kind(), what, i, analytic[i], num)
		}
	}
	for _, p := range l.Params() {
		if p.Trainable() {
			compare(p.Name, read(t, p.Grad), p.Value)
		}
	}
	compare("input", read(t, dx), x)
}

func TestDenseGradients(t *testing.T) {
	for _, act := range []nn.Activation{nn.Linear, nn.ReLU, nn.LeakyReLU, nn.Sigmoid, nn.Tanh, nn.GELU, nn.Softmax} {
		t.Run(act.String(), func(t *testing.T) {
			checkLayer(t, nn.NewDense(7, act), tensor.Shape{5}, 3, 1)
		})
	}
}

func TestActivationGradients(t *testing.T) {
	for _, act := range []nn.Activation{nn.ReLU, nn.LeakyReLU, nn.Sigmoid, nn.Tanh, nn.GELU, nn.Softmax} {
		t.Run(act.String(), func(t *testing.T) {
			// values kept away from ReLU's kink so that ±fdStep does not cross it
			checkLayer(t, &nn.ActivationLayer{Fn: act, Slope: 0.2}, tensor.Shape{6}, 4, 1)
		})
	}
}

func TestConv2DGradients(t *testing.T) {
	for _, c := range []struct {
		name string
		l    *nn.Conv2D
	}{
		{"3x3", &nn.Conv2D{Filters: 3, Kernel: 3, Act: nn.Tanh}},
		{"stride2_pad1", &nn.Conv2D{Filters: 2, Kernel: 3, Stride: 2, Padding: 1, Act: nn.Linear}},
		{"1x1_relu", &nn.Conv2D{Filters: 4, Kernel: 1, Act: nn.ReLU}},
	} {
		t.Run(c.name, func(t *testing.T) { checkLayer(t, c.l, tensor.Shape{2, 6, 5}, 3, 1) })
	}
}

func TestPoolGradients(t *testing.T) {
	t.Run("max", func(t *testing.T) { checkLayer(t, nn.NewMaxPool2D(2), tensor.Shape{2, 4, 6}, 2, 10) })
	t.Run("max_overlapping", func(t *testing.T) {
		checkLayer(t, &nn.Pool2D{Op: device.MaxPool, Size: 3, Stride: 2, Padding: 1}, tensor.Shape{1, 5, 5}, 2, 10)
	})
	t.Run("avg", func(t *testing.T) { checkLayer(t, nn.NewAvgPool2D(2), tensor.Shape{3, 4, 4}, 2, 1) })
	t.Run("avg_padded", func(t *testing.T) {
		checkLayer(t, &nn.Pool2D{Op: device.AvgPool, Size: 3, Stride: 1, Padding: 1}, tensor.Shape{2, 4, 3}, 2, 1)
	})
}

func TestBatchNormGradients(t *testing.T) {
	t.Run("images", func(t *testing.T) { checkLayer(t, nn.NewBatchNorm(), tensor.Shape{3, 4, 4}, 4, 2) })
	t.Run("features", func(t *testing.T) { checkLayer(t, nn.NewBatchNorm(), tensor.Shape{5}, 6, 2) })
}

func TestDropoutGradient(t *testing.T) {
	checkLayer(t, nn.NewDropout(0.4), tensor.Shape{4, 5}, 3, 1)
}

func TestFlattenGradient(t *testing.T) {
	checkLayer(t, nn.NewFlatten(), tensor.Shape{2, 3, 2}, 2, 1)
}

// checkLoss compares a loss's gradient (mean over the batch) with finite differences of
// the mean loss with respect to its input.
func checkLoss(t *testing.T, loss nn.Loss, pred *tensor.Tensor, target *tensor.Tensor) {
	t.Helper()
	dev := pred.Device()
	require.NoError(t, loss.Build(dev, pred.Dim(0), pred.Shape()[1:]))
	mean := func() float64 {
		res, err := loss.Forward(pred, nil, target)
		require.NoError(t, err)
		v := read(t, res.Loss)
		s := 0.0
		for _, x := range v {
			s += float64(x)
		}
		return s / float64(len(v))
	}
	mean()
	g, fromLogits, err := loss.Backward(1 / float32(pred.Dim(0)))
	require.NoError(t, err)
	require.False(t, fromLogits)
	grad := read(t, g)
	v := read(t, pred)
	const h = 1e-3
	for i := range v {
		orig := v[i]
		v[i] = orig + h
		require.NoError(t, pred.SetFloat32s(v))
		lp := mean()
		v[i] = orig - h
		require.NoError(t, pred.SetFloat32s(v))
		lm := mean()
		v[i] = orig
		require.NoError(t, pred.SetFloat32s(v))
		num := (lp - lm) / (2 * h)
		require.InDeltaf(t, num, grad[i], 2e-3*math.Max(1, math.Abs(num)), "%s d/dpred[%d]", loss.Name(), i)
	}
}

func TestLossGradients(t *testing.T) {
	dev := newDev(t)
	rng := rand.New(rand.NewPCG(1, 2))
	labels, err := tensor.FromInt32(dev, []int32{0, 3, 2, 3}, 4)
	require.NoError(t, err)

	t.Run("sparse_ce_from_logits", func(t *testing.T) {
		logits, err := tensor.FromFloat32(dev, randn(rng, 16, 2), 4, 4)
		require.NoError(t, err)
		checkLoss(t, &nn.SparseCategoricalCrossEntropy{FromLogits: true}, logits, labels)
	})
	t.Run("sparse_ce_from_probabilities", func(t *testing.T) {
		p := make([]float32, 16)
		for i := range p {
			p[i] = 0.1 + 0.8*float32(rng.Float64()) // away from the clamp
		}
		probs, err := tensor.FromFloat32(dev, p, 4, 4)
		require.NoError(t, err)
		checkLoss(t, &nn.SparseCategoricalCrossEntropy{}, probs, labels)
	})
	t.Run("mse", func(t *testing.T) {
		pred, err := tensor.FromFloat32(dev, randn(rng, 12, 1), 4, 3)
		require.NoError(t, err)
		target, err := tensor.FromFloat32(dev, randn(rng, 12, 1), 4, 3)
		require.NoError(t, err)
		checkLoss(t, &nn.MSE{}, pred, target)
	})
}

// TestSequentialGradients checks a whole model with a softmax head trained through the
// fused logits path: the gradients Backward writes are those of the mean cross-entropy.
func TestSequentialGradients(t *testing.T) {
	dev := newDev(t)
	rng := rand.New(rand.NewPCG(5, 6))
	m := nn.NewModel(nn.NewSequential(nn.NewDense(6, nn.Tanh), nn.NewDropout(0.3), nn.NewDense(5, nn.ReLU), nn.NewDense(4, nn.Softmax)))
	const batch = 5
	require.NoError(t, m.Build(dev, tensor.Shape{3}, batch, 9))
	x, err := tensor.FromFloat32(dev, randn(rng, batch*3, 1), batch, 3)
	require.NoError(t, err)
	y, err := tensor.FromInt32(dev, []int32{0, 1, 2, 3, 1}, batch)
	require.NoError(t, err)
	loss := &nn.SparseCategoricalCrossEntropy{}
	require.NoError(t, loss.Build(dev, batch, m.OutputShape()))
	step := m.Context().Step
	mean := func() float64 {
		m.Context().Step = step // the same dropout mask every time
		out, err := m.Forward(x, true)
		require.NoError(t, err)
		res, err := loss.Forward(out, m.Logits(), y)
		require.NoError(t, err)
		s := 0.0
		for _, v := range read(t, res.Loss) {
			s += float64(v)
		}
		return s / batch
	}
	mean()
	g, fromLogits, err := loss.Backward(1 / float32(batch))
	require.NoError(t, err)
	require.True(t, fromLogits, "a softmax model's cross-entropy works from the logits")
	require.NoError(t, m.Backward(g, fromLogits))
	names := map[string]bool{}
	for _, p := range m.Params() {
		names[p.Name] = true
		grad := read(t, p.Grad)
		v := read(t, p.Value)
		for i := range v {
			orig := v[i]
			v[i] = orig + fdStep
			require.NoError(t, p.Value.SetFloat32s(v))
			lp := mean()
			v[i] = orig - fdStep
			require.NoError(t, p.Value.SetFloat32s(v))
			lm := mean()
			v[i] = orig
			require.NoError(t, p.Value.SetFloat32s(v))
			num := (lp - lm) / (2 * fdStep)
			require.InDeltaf(t, num, grad[i], fdTol*math.Max(1, math.Abs(num)), "%s[%d]", p.Name, i)
		}
	}
	// PyTorch's names for nn.Sequential(Linear, Tanh, Dropout, Linear, ReLU, Linear, Softmax)
	for _, n := range []string{"0.weight", "0.bias", "3.weight", "3.bias", "5.weight", "5.bias"} {
		require.True(t, names[n], fmt.Sprintf("parameter %s missing from %v", n, names))
	}
}
