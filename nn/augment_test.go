package nn_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/tensor"
)

// shiftOf finds the shift (dx, dy) in [-max, max] and mirroring that turn image x
// (h×w, every value distinct and non-zero) into y, by trying them all; ok is false when
// none does.
func shiftOf(x, y []float32, h, w, max int) (dx, dy int, flip, ok bool) {
	for _, f := range []bool{false, true} {
		for dy := -max; dy <= max; dy++ {
			for dx := -max; dx <= max; dx++ {
				same := true
				for r := 0; r < h && same; r++ {
					for c := 0; c < w && same; c++ {
						sr, sc := r-dy, c-dx
						var want float32
						if sr >= 0 && sr < h && sc >= 0 && sc < w {
							if f {
								sc = w - 1 - sc
							}
							want = x[sr*w+sc]
						}
						same = y[r*w+c] == want
					}
				}
				if same {
					return dx, dy, f, true
				}
			}
		}
	}
	return 0, 0, false, false
}

// distinctImages returns n images of h×w pixels whose values are all distinct and
// positive, so that a shift is recognised unambiguously.
func distinctImages(n, h, w int) []float32 {
	v := make([]float32, n*h*w)
	for i := range v {
		v[i] = float32(i + 1)
	}
	return v
}

func buildShift(t *testing.T, l *nn.RandomShift, in tensor.Shape, batch int, seed uint64) *nn.Context {
	t.Helper()
	ctx := nn.NewContext(newDev(t), batch, seed)
	_, err := l.Build(ctx, in)
	require.NoError(t, err)
	return ctx
}

func TestRandomShiftTrainingShiftsWithinBounds(t *testing.T) {
	const n, h, w, max = 64, 6, 7, 2
	for _, flipH := range []bool{false, true} {
		l := nn.NewRandomShift(max, flipH)
		ctx := buildShift(t, l, tensor.Shape{1, h, w}, n, 5)
		xv := distinctImages(n, h, w)
		x, err := tensor.FromFloat32(ctx.Dev, xv, n, 1, h, w)
		require.NoError(t, err)
		y, err := l.Forward(x, true)
		require.NoError(t, err)
		yv := read(t, y)
		shifts := map[[2]int]int{}
		flips := 0
		for i := range n {
			dx, dy, f, ok := shiftOf(xv[i*h*w:(i+1)*h*w], yv[i*h*w:(i+1)*h*w], h, w, max)
			require.Truef(t, ok, "flip %v: image %d is no shift of at most %d pixels of its input", flipH, i, max)
			shifts[[2]int{dx, dy}]++
			if f {
				flips++
			}
		}
		// 64 draws from 25 shifts: nearly all of them should appear, and no one dominate.
		assert.Greater(t, len(shifts), 15, "shifts drawn: %v", shifts)
		for s, c := range shifts {
			assert.Less(t, c, 12, "shift %v drawn %d times of %d", s, c, n)
		}
		if flipH {
			assert.InDelta(t, n/2, flips, 14, "about half the images mirrored")
		} else {
			assert.Zero(t, flips)
		}
	}
}

func TestRandomShiftInferenceIsIdentity(t *testing.T) {
	l := nn.NewRandomShift(3, true)
	ctx := buildShift(t, l, tensor.Shape{2, 5, 5}, 4, 1)
	xv := distinctImages(4, 2*5, 5)
	x, err := tensor.FromFloat32(ctx.Dev, xv, 4, 2, 5, 5)
	require.NoError(t, err)
	y, err := l.Forward(x, false)
	require.NoError(t, err)
	assert.Equal(t, xv, read(t, y))
	assert.Equal(t, uint64(0), ctx.Step)
}

func TestRandomShiftDeterministicPerSeedAndStep(t *testing.T) {
	const n = 16
	in := tensor.Shape{3, 8, 8}
	run := func(seed, step uint64) []float32 {
		l := nn.NewRandomShift(2, true)
		ctx := buildShift(t, l, in, n, seed)
		ctx.Step = step
		x, err := tensor.FromFloat32(ctx.Dev, distinctImages(n, 3*8, 8), append([]int{n}, in...)...)
		require.NoError(t, err)
		y, err := l.Forward(x, true)
		require.NoError(t, err)
		return read(t, y)
	}
	a := run(1, 4)
	assert.Equal(t, a, run(1, 4), "same seed and step: same shifts (a resumed run draws the same)")
	assert.NotEqual(t, a, run(1, 5), "another step draws other shifts")
	assert.NotEqual(t, a, run(2, 4), "another seed draws other shifts")
	// Channels of one image move together.
	for i := range n {
		img := a[i*3*64 : (i+1)*3*64]
		x := distinctImages(n, 3*8, 8)[i*3*64 : (i+1)*3*64]
		dx0, dy0, f0, ok := shiftOf(x[:64], img[:64], 8, 8, 2)
		require.True(t, ok)
		for c := 1; c < 3; c++ {
			dx, dy, f, ok := shiftOf(x[c*64:(c+1)*64], img[c*64:(c+1)*64], 8, 8, 2)
			require.True(t, ok)
			assert.Equal(t, []any{dx0, dy0, f0}, []any{dx, dy, f}, "image %d channel %d", i, c)
		}
	}
}

func TestRandomShiftBuildErrors(t *testing.T) {
	for _, c := range []struct {
		l    *nn.RandomShift
		in   tensor.Shape
		want string
	}{
		{nn.NewRandomShift(1, false), tensor.Shape{784}, "want images (channels, height, width)"},
		{nn.NewRandomShift(5, false), tensor.Shape{1, 5, 9}, "max shift 5 must be in [0, 5)"},
		{nn.NewRandomShift(-1, false), tensor.Shape{1, 5, 9}, "max shift -1"},
	} {
		_, err := c.l.Build(nn.NewContext(newDev(t), 2, 1), c.in)
		require.Error(t, err)
		assert.Contains(t, err.Error(), c.want)
	}
}

func TestRandomShiftMustPrecedeWeights(t *testing.T) {
	m := nn.NewModel(nn.NewSequential(nn.NewConv2D(2, 3, nn.ReLU), nn.NewRandomShift(1, false), nn.NewFlatten(), nn.NewDense(3, nn.Softmax)))
	err := m.Build(newDev(t), tensor.Shape{1, 6, 6}, 2, 1)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "layer 1 (random_shift) must come before every layer with weights (layer 0, conv2d")

	// After layers without weights it is fine.
	m = nn.NewModel(nn.NewSequential(nn.NewReshape(1, 6, 6), nn.NewRandomShift(1, false), nn.NewConv2D(2, 3, nn.ReLU), nn.NewFlatten(), nn.NewDense(3, nn.Softmax)))
	require.NoError(t, m.Build(newDev(t), tensor.Shape{36}, 2, 1))
	names := []string{}
	for _, p := range m.Params() {
		names = append(names, p.Name)
	}
	// PyTorch: Sequential(Unflatten, Conv2d, ReLU, Flatten, Linear, Softmax); the
	// augmentation is no module.
	assert.Equal(t, []string{"1.weight", "1.bias", "4.weight", "4.bias"}, names)
}

// TestRandomShiftModelGradients checks a model that starts with an augmentation: the
// convolution's gradients are those of the loss on the shifted images.
func TestRandomShiftModelGradients(t *testing.T) {
	dev := newDev(t)
	rng := rand.New(rand.NewPCG(3, 4))
	m := nn.NewModel(nn.NewSequential(nn.NewRandomShift(2, true), nn.NewConv2D(2, 3, nn.Tanh), nn.NewMaxPool2D(2), nn.NewFlatten(), nn.NewDense(3, nn.Softmax)))
	const batch = 4
	require.NoError(t, m.Build(dev, tensor.Shape{1, 8, 8}, batch, 9))
	x, err := tensor.FromFloat32(dev, randn(rng, batch*64, 1), batch, 1, 8, 8)
	require.NoError(t, err)
	y, err := tensor.FromInt32(dev, []int32{0, 1, 2, 1}, batch)
	require.NoError(t, err)
	loss := &nn.SparseCategoricalCrossEntropy{}
	require.NoError(t, loss.Build(dev, batch, m.OutputShape()))
	mean := func() float64 {
		m.Context().Step = 3 // the same shifts every time
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
	base := mean()
	m.Context().Step = 4
	out, err := m.Forward(x, true)
	require.NoError(t, err)
	res, err := loss.Forward(out, m.Logits(), y)
	require.NoError(t, err)
	other := 0.0
	for _, v := range read(t, res.Loss) {
		other += float64(v) / batch
	}
	require.NotEqual(t, base, other, "the shifts change the loss")

	mean()
	g, fromLogits, err := loss.Backward(1 / float32(batch))
	require.NoError(t, err)
	require.NoError(t, m.Backward(g, fromLogits))
	for _, p := range m.Params() {
		grad := read(t, p.Grad)
		v := read(t, p.Value)
		for _, i := range rng.Perm(len(v))[:min(len(v), 12)] {
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
}

func TestReshapeGradient(t *testing.T) {
	checkLayer(t, nn.NewReshape(3, 4), tensor.Shape{2, 3, 2}, 2, 1)
	checkLayer(t, nn.NewReshape(1, 2, 6), tensor.Shape{12}, 3, 1)
}

func TestReshapeBuildErrors(t *testing.T) {
	for _, c := range []struct {
		shape []int
		want  string
	}{
		{nil, "no target shape"},
		{[]int{0, 12}, "not positive"},
		{[]int{1, 28, 28}, "cannot view (12) (12 elements) as (1, 28, 28) (784 elements)"},
	} {
		_, err := nn.NewReshape(c.shape...).Build(nn.NewContext(newDev(t), 2, 1), tensor.Shape{12})
		require.Error(t, err)
		assert.Contains(t, err.Error(), c.want)
	}
}
