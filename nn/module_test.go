package nn_test

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gt "gorgonia.org/tensor"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/tensor"
)

// names lists a built model's parameter names and its state dict's names.
func names(m *nn.Model) (params, state []string) {
	for _, p := range m.Params() {
		params = append(params, p.Name)
	}
	for _, e := range m.StateDict() {
		state = append(state, e.Name)
	}
	return
}

// A residual network names its parameters by path, as PyTorch names the state_dict of
// the same module tree (torch.nn.Sequential holding modules with attributes body and
// shortcut).
func TestNestedModulesAreNamedByPath(t *testing.T) {
	m := nn.NewModel(nn.NewSequential(
		&nn.Conv2D{Filters: 4, Kernel: 3, Padding: 1, Act: nn.ReLU}, // 0, 1
		&nn.Residual{ // 2
			Body: nn.NewSequential(&nn.Conv2D{Filters: 4, Kernel: 3, Padding: 1}, &nn.BatchNorm{}),
		},
		&nn.Residual{ // 3
			Body:     nn.NewSequential(&nn.Conv2D{Filters: 8, Kernel: 3, Stride: 2, Padding: 1}),
			Shortcut: &nn.Conv2D{Filters: 8, Kernel: 1, Stride: 2},
		},
		&nn.GlobalAvgPool{}, // 4, 5
		&nn.Sequential{Layers: []nn.Module{nn.NewDense(3, nn.Linear)}, Names: []string{"fc"}}, // 6
	))
	require.NoError(t, m.Build(newDev(t), tensor.Shape{2, 6, 6}, 4, 1))
	params, state := names(m)
	assert.Equal(t, []string{"0.weight", "0.bias",
		"2.body.0.weight", "2.body.0.bias", "2.body.1.weight", "2.body.1.bias", "2.body.1.running_mean", "2.body.1.running_var",
		"3.body.0.weight", "3.body.0.bias", "3.shortcut.weight", "3.shortcut.bias",
		"6.fc.weight", "6.fc.bias"}, params)
	assert.Contains(t, state, "2.body.1.num_batches_tracked")
	assert.Equal(t, tensor.Shape{3}, m.OutputShape())
	assert.Equal(t, tensor.Shape{8, 3, 3}, m.Modules()[len(m.Modules())-4].Out, "the second block halves the image")
}

func TestModuleNamesMustBeDistinct(t *testing.T) {
	m := nn.NewModel(&nn.Sequential{Layers: []nn.Module{nn.NewDense(3, nn.ReLU), nn.NewDense(3, nn.ReLU)}, Names: []string{"a", "a"}})
	err := m.Build(newDev(t), tensor.Shape{3}, 2, 1)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "names must be distinct")

	m = nn.NewModel(&nn.Sequential{Layers: []nn.Module{nn.NewDense(3, nn.ReLU)}, Names: []string{"a.b"}})
	err = m.Build(newDev(t), tensor.Shape{3}, 2, 1)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `module name "a.b" contains a dot`)
}

func TestResidualChecksShapes(t *testing.T) {
	m := nn.NewModel(nn.NewResidual(nn.NewDense(4, nn.ReLU)))
	err := m.Build(newDev(t), tensor.Shape{3}, 2, 1)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "nn: residual: the body maps (3) to (4); adding the input needs the same shape (add a shortcut projection)")

	m = nn.NewModel(&nn.Residual{Body: nn.NewDense(4, nn.ReLU), Shortcut: nn.NewDense(5, nn.Linear)})
	err = m.Build(newDev(t), tensor.Shape{3}, 2, 1)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the body gives (4) but the shortcut (5)")
}

// modelLoss is Σ r⊙y of a model's output for a fixed batch, the objective the model
// gradient checks differentiate.
func checkModel(t *testing.T, m *nn.Model, in tensor.Shape, batch int, seed uint64) {
	t.Helper()
	dev := newDev(t)
	require.NoError(t, m.Build(dev, in, batch, seed))
	rng := rand.New(rand.NewPCG(seed, 99))
	x, err := tensor.FromFloat32(dev, randn(rng, batch*in.Len(), 1), append([]int{batch}, in...)...)
	require.NoError(t, err)
	r := randn(rng, batch*m.OutputShape().Len(), 1)
	dy, err := tensor.FromFloat32(dev, r, append([]int{batch}, m.OutputShape()...)...)
	require.NoError(t, err)
	loss := func() float64 {
		m.Context().Step = 0 // the same dropout and augmentation draws every time
		y, err := m.Forward(x, true)
		require.NoError(t, err)
		return dot(read(t, y), r)
	}
	loss()
	require.NoError(t, m.ZeroGrad())
	require.NoError(t, m.Backward(dy, false))
	checked := 0
	for _, p := range m.Params() {
		if !p.Trainable() {
			continue
		}
		grad, v := read(t, p.Grad), read(t, p.Value)
		for _, i := range rng.Perm(len(v))[:min(len(v), 15)] {
			orig := v[i]
			v[i] = orig + fdStep
			require.NoError(t, p.Value.SetFloat32s(v))
			lp := loss()
			v[i] = orig - fdStep
			require.NoError(t, p.Value.SetFloat32s(v))
			lm := loss()
			v[i] = orig
			require.NoError(t, p.Value.SetFloat32s(v))
			num := (lp - lm) / (2 * fdStep)
			require.LessOrEqualf(t, math.Abs(float64(grad[i])-num), fdTol*math.Max(1, math.Abs(num)),
				"%s[%d]: analytic %v, numeric %v", p.Name, i, grad[i], num)
			checked++
		}
	}
	require.Positive(t, checked)
}

func TestResidualGradients(t *testing.T) {
	t.Run("identity shortcut", func(t *testing.T) {
		checkModel(t, nn.NewModel(nn.NewSequential(
			nn.NewDense(5, nn.Tanh),
			nn.NewResidual(nn.NewSequential(nn.NewDense(5, nn.Tanh), nn.NewDense(5, nn.Linear))),
			nn.NewDense(3, nn.Linear),
		)), tensor.Shape{4}, 3, 1)
	})
	t.Run("projection", func(t *testing.T) {
		checkModel(t, nn.NewModel(nn.NewSequential(
			&nn.Conv2D{Filters: 2, Kernel: 3, Padding: 1, Act: nn.Tanh},
			&nn.Residual{
				Body:     nn.NewSequential(&nn.Conv2D{Filters: 3, Kernel: 3, Stride: 2, Padding: 1}, &nn.BatchNorm{}, nn.NewActivation(nn.Tanh)),
				Shortcut: nn.NewSequential(&nn.Conv2D{Filters: 3, Kernel: 1, Stride: 2}),
			},
			&nn.GlobalAvgPool{},
			nn.NewDense(2, nn.Linear),
		)), tensor.Shape{1, 6, 6}, 3, 2)
	})
}

func TestGlobalAvgPoolGradients(t *testing.T) {
	checkLayer(t, &nn.GlobalAvgPool{}, tensor.Shape{3, 2, 5}, 2, 1)
}

// A parameter used by two modules (weight tying) gets the sum of both gradients: the
// finite-difference check of the whole model covers the tied weight through both uses.
func TestTiedWeightsGradients(t *testing.T) {
	m := nn.NewModel(nn.NewSequential(
		nn.NewDense(4, nn.Tanh),
		&nn.Dense{Units: 4, Act: nn.Tanh, TieWeight: "0.weight"},
		&nn.Dense{Units: 4, NoBias: true, TieWeight: "0.weight"},
	))
	checkModel(t, m, tensor.Shape{4}, 3, 5)
	params, state := names(m)
	assert.Equal(t, []string{"0.weight", "0.bias", "2.bias"}, params, "the tied weight is one parameter")
	assert.Equal(t, []string{"0.weight", "0.bias", "2.weight", "2.bias", "4.weight"}, state, "under every name, as PyTorch's state_dict")
	assert.Same(t, m.Params()[0], m.StateDict()[2].Param)

	bad := nn.NewModel(nn.NewSequential(nn.NewDense(4, nn.Tanh), &nn.Dense{Units: 3, TieWeight: "0.weight"}))
	err := bad.Build(newDev(t), tensor.Shape{4}, 2, 1)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "tie_weight 0.weight has shape (4, 4), want (3, 4)")
	bad = nn.NewModel(nn.NewSequential(&nn.Dense{Units: 3, TieWeight: "1.weight"}, nn.NewDense(4, nn.Tanh)))
	err = bad.Build(newDev(t), tensor.Shape{4}, 2, 1)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `no parameter "1.weight": no module with parameters was built before this one`)
}

// Backward adds into the gradients: two backward passes give twice one, and ZeroGrad
// clears them all at once.
func TestGradientsAccumulate(t *testing.T) {
	for _, c := range []struct {
		name string
		root nn.Module
		in   tensor.Shape
		out  int
	}{
		{"dense", nn.NewSequential(nn.NewDense(5, nn.ReLU), &nn.BatchNorm{}, nn.NewDense(3, nn.Linear)), tensor.Shape{4}, 3},
		{"conv", nn.NewSequential(&nn.Conv2D{Filters: 3, Kernel: 3, Padding: 1, Act: nn.Tanh}, &nn.Conv2D{Filters: 2, Kernel: 3},
			nn.NewFlatten(), nn.NewDense(3, nn.Linear)), tensor.Shape{2, 5, 5}, 3},
		{"lstm", nn.NewSequential(nn.NewLSTM(4, 2, false), nn.NewFlatten(), nn.NewDense(3, nn.Linear)), tensor.Shape{5, 3}, 3},
		{"gru", nn.NewSequential(nn.NewGRU(4, 1, true), nn.NewDense(3, nn.Linear)), tensor.Shape{5, 3}, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			dev := newDev(t)
			m := nn.NewModel(c.root)
			require.NoError(t, m.Build(dev, c.in, 6, 3))
			rng := rand.New(rand.NewPCG(1, 2))
			x, err := tensor.FromFloat32(dev, randn(rng, 6*c.in.Len(), 1), append([]int{6}, c.in...)...)
			require.NoError(t, err)
			dy, err := tensor.FromFloat32(dev, randn(rng, 6*c.out, 1), 6, c.out)
			require.NoError(t, err)
			grads := func() []float32 {
				v, err := m.Grads().Float32s()
				require.NoError(t, err)
				return v
			}
			pass := func() {
				_, err := m.Forward(x, true)
				require.NoError(t, err)
				require.NoError(t, m.Backward(dy, false))
			}
			pass()
			once := grads()
			pass()
			twice := grads()
			nonzero := 0
			for i := range once {
				assert.InDelta(t, 2*once[i], twice[i], 1e-5*math.Max(1, math.Abs(float64(once[i]))))
				if once[i] != 0 {
					nonzero++
				}
			}
			assert.Greater(t, nonzero, len(once)/2)
			require.NoError(t, m.ZeroGrad())
			assert.Equal(t, make([]float32, len(once)), grads())
			for _, p := range m.Params() {
				if p.Grad != nil {
					v := read(t, p.Grad)
					assert.Equal(t, make([]float32, len(v)), v, "%s's gradient is a view of the flat buffer", p.Name)
				}
			}
		})
	}
}

// Freeze keeps parameters out of training: their gradients are not computed, and the
// backward pass stops at the first module that still learns.
func TestFreezeSkipsGradients(t *testing.T) {
	dev := newDev(t)
	m := nn.NewModel(nn.NewSequential(nn.NewDense(5, nn.ReLU), nn.NewDense(5, nn.ReLU), nn.NewDense(3, nn.Linear)))
	require.NoError(t, m.Build(dev, tensor.Shape{4}, 2, 3))
	frozen, err := m.Freeze("0", "2.weight")
	require.NoError(t, err)
	assert.Equal(t, []string{"0.weight", "0.bias", "2.weight"}, frozen)
	x, err := tensor.FromFloat32(dev, []float32{1, 2, 3, 4, -1, -2, 0.5, 1}, 2, 4)
	require.NoError(t, err)
	dy, err := tensor.FromFloat32(dev, []float32{1, -1, 0.5, 0.2, 0.3, -0.4}, 2, 3)
	require.NoError(t, err)
	_, err = m.Forward(x, true)
	require.NoError(t, err)
	require.NoError(t, m.Backward(dy, false))
	for _, p := range m.Params() {
		g := read(t, p.Grad)
		if p.Frozen {
			assert.Equal(t, make([]float32, len(g)), g, "%s is frozen", p.Name)
		} else {
			assert.NotEqual(t, make([]float32, len(g)), g, "%s learns", p.Name)
		}
	}
	assert.Equal(t, 5+15+3, m.TrainableCount())
	assert.Contains(t, m.Summary(), "(50 frozen)")

	_, err = m.Freeze("9")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `nn: freeze: no trainable parameter is named "9" or starts with "9." (the model's modules: 0, 2, 4)`)
	_, err = m.Freeze("")
	assert.ErrorContains(t, err, "empty name prefix")
}

// Every entry point refuses what it cannot do with an error that names the problem,
// before Build, on an empty model and after the device is closed: no panics.
func TestMisuseGivesErrors(t *testing.T) {
	dev := newDev(t)
	x, err := tensor.FromFloat32(dev, make([]float32, 8), 2, 4)
	require.NoError(t, err)
	for _, l := range []nn.Module{nn.NewDense(3, nn.ReLU), &nn.Conv2D{Filters: 2, Kernel: 3}, nn.NewMaxPool2D(2), &nn.BatchNorm{},
		nn.NewDropout(0.5), nn.NewFlatten(), nn.NewReshape(4), nn.NewActivation(nn.ReLU), nn.NewRandomShift(1, false),
		&nn.GlobalAvgPool{}, nn.NewSequential(nn.NewDense(2, nn.ReLU)), nn.NewResidual(nn.NewDense(4, nn.ReLU))} {
		t.Run(l.Kind(), func(t *testing.T) {
			_, err := l.Forward(x, true)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "before Build")
			_, err = l.Backward(x, true)
			require.Error(t, err)
			assert.Empty(t, l.Params())
		})
	}

	m := nn.NewModel(nn.NewSequential())
	assert.Nil(t, m.Logits())
	assert.Zero(t, m.MaxBatch())
	assert.Nil(t, m.InputShape())
	_, err = m.Forward(x, true)
	assert.ErrorContains(t, err, "nn: model used before Build")
	assert.ErrorContains(t, m.Backward(x, false), "nn: model used before Build")
	assert.ErrorContains(t, m.ZeroGrad(), "nn: model used before Build")
	_, err = m.Freeze("0")
	assert.ErrorContains(t, err, "nn: model used before Build")
	_, err = m.Predict(nil)
	assert.ErrorContains(t, err, "nn: model used before Build")
	assert.Equal(t, "model (not built)", m.Summary())
	assert.ErrorContains(t, m.Build(dev, tensor.Shape{4}, 2, 1), "nn: sequential: no layers")
	assert.ErrorContains(t, nn.NewModel(nil).Build(dev, tensor.Shape{4}, 2, 1), "nn: model has no root module")

	m = nn.NewModel(nn.NewSequential(nn.NewDense(3, nn.Softmax)))
	require.NoError(t, m.Build(dev, tensor.Shape{4}, 2, 1))
	assert.ErrorContains(t, m.Build(dev, tensor.Shape{4}, 2, 1), "already built")
	assert.ErrorContains(t, m.Backward(x, true), "nn: dense: Backward before Forward")
	_, err = m.Forward(nil, false)
	assert.ErrorContains(t, err, "nil input")
	_, err = m.Forward(x, false)
	require.NoError(t, err)
	assert.ErrorContains(t, m.Backward(x, true), "gradient (2, 4), want (2, 3)")

	require.NoError(t, dev.Close())
	_, err = m.Forward(x, false)
	assert.ErrorIs(t, err, device.ErrClosed)
	assert.ErrorIs(t, m.ZeroGrad(), device.ErrClosed)
	_, err = m.Predict(nil)
	require.Error(t, err)
}

// scaleLayer is a module defined outside package nn: y = Factor·x·w with one learned
// scalar w. Registered by name, it goes through Specs and checkpoints like a built-in.
type scaleLayer struct {
	Factor float32 `json:"factor"`

	dev   device.Backend
	w     *nn.Param
	in    tensor.Shape
	x     *tensor.Tensor
	y, dx *tensor.Tensor
}

func init() { nn.Register("test_scale", func() nn.Module { return &scaleLayer{Factor: 1} }) }

func (l *scaleLayer) Kind() string { return "test_scale" }

func (l *scaleLayer) Validate() error {
	if l.Factor == 0 {
		return fmt.Errorf("factor must not be 0")
	}
	return nil
}

func (l *scaleLayer) Params() []*nn.Param {
	if l.w == nil {
		return nil
	}
	return []*nn.Param{l.w}
}

func (l *scaleLayer) Build(ctx *nn.Context, in tensor.Shape) (tensor.Shape, error) {
	l.dev, l.in = ctx.Dev, in.Clone()
	v, err := tensor.FromFloat32(ctx.Dev, []float32{0.5}, 1)
	if err != nil {
		return nil, err
	}
	g, err := tensor.Zeros(ctx.Dev, 1)
	if err != nil {
		return nil, err
	}
	l.w = &nn.Param{Name: "w", Value: v, Grad: g}
	if l.y, err = tensor.Zeros(ctx.Dev, append([]int{ctx.MaxBatch}, in...)...); err != nil {
		return nil, err
	}
	l.dx, err = tensor.Zeros(ctx.Dev, append([]int{ctx.MaxBatch}, in...)...)
	return in, err
}

// Forward and Backward compute on the host, through reads and writes: a module may.
func (l *scaleLayer) Forward(x *tensor.Tensor, train bool) (*tensor.Tensor, error) {
	if l.dev == nil {
		return nil, fmt.Errorf("test_scale used before Build")
	}
	l.x = x
	xv, err := x.Float32s()
	if err != nil {
		return nil, err
	}
	w, err := l.w.Value.Float32s()
	if err != nil {
		return nil, err
	}
	for i := range xv {
		xv[i] *= l.Factor * w[0]
	}
	y, err := l.y.View(0, x.Shape()...)
	if err != nil {
		return nil, err
	}
	return y, y.SetFloat32s(xv)
}

func (l *scaleLayer) Backward(dy *tensor.Tensor, needDX bool) (*tensor.Tensor, error) {
	if l.x == nil {
		return nil, fmt.Errorf("test_scale: Backward before Forward")
	}
	xv, _ := l.x.Float32s()
	dv, _ := dy.Float32s()
	w, _ := l.w.Value.Float32s()
	g, _ := l.w.Grad.Float32s()
	for i := range xv {
		g[0] += l.Factor * xv[i] * dv[i]
	}
	if err := l.w.Grad.SetFloat32s(g); err != nil {
		return nil, err
	}
	if !needDX {
		return nil, nil
	}
	for i := range dv {
		dv[i] *= l.Factor * w[0]
	}
	dx, err := l.dx.View(0, dy.Shape()...)
	if err != nil {
		return nil, err
	}
	return dx, dx.SetFloat32s(dv)
}

func TestRegisteredModuleGoesThroughSpecs(t *testing.T) {
	src := `{"input": [3], "model": {"type": "sequential", "layers": [
		{"type": "dense", "units": 3, "activation": "tanh"},
		{"type": "residual", "body": {"type": "test_scale", "factor": 2}},
		{"type": "dense", "units": 2, "activation": "softmax"}]}}`
	s, err := nn.ParseSpec(strings.NewReader(src))
	require.NoError(t, err)
	scale := s.Layers()[1].(*nn.Residual).Body.(*scaleLayer)
	assert.Equal(t, float32(2), scale.Factor)
	again, err := nn.ParseSpec(strings.NewReader(string(s.JSON())))
	require.NoError(t, err)
	assert.Equal(t, s, again)
	m, err := s.Build(newDev(t), 4, 1)
	require.NoError(t, err)
	params, _ := names(m)
	assert.Contains(t, params, "2.body.w", "a Dense with an activation is two PyTorch modules")
	checkModel(t, nn.NewModel(mustModel(t, s)), tensor.Shape{3}, 4, 3)

	_, err = nn.ParseSpec(strings.NewReader(`{"model": {"type": "test_scale", "factor": 0}}`))
	assert.ErrorContains(t, err, "nn: spec: model (test_scale): factor must not be 0")
	_, err = nn.ParseSpec(strings.NewReader(`{"model": {"type": "residual", "body": {"type": "test_scale", "scale": 3}}}`))
	assert.ErrorContains(t, err, `nn: spec: model: body (test_scale): unknown field "scale" (test_scale takes factor)`)
	_, err = nn.ParseSpec(strings.NewReader(`{"layers": [{"type": "residual"}]}`))
	assert.ErrorContains(t, err, "nn: spec: layer 0 (residual): no body")
	_, err = nn.ParseSpec(strings.NewReader(`{"layers": [{"type": "residual", "body": [1]}]}`))
	assert.ErrorContains(t, err, "nn: spec: layer 0: body: line 1, column 42: want a JSON object, got array")
	assert.Contains(t, nn.Kinds(), "test_scale")
}

func mustModel(t *testing.T, s *nn.Spec) nn.Module {
	m, err := s.Model()
	require.NoError(t, err)
	return m
}

// Model.Predict needs no loss, optimizer or labels, and gives what Forward gives.
func TestPredictMatchesForward(t *testing.T) {
	dev := newDev(t)
	m := nn.NewModel(nn.NewSequential(nn.NewDense(6, nn.ReLU), nn.NewDense(3, nn.Softmax)))
	require.NoError(t, m.Build(dev, tensor.Shape{4}, 4, 1))
	rng := rand.New(rand.NewPCG(5, 6))
	xv := randn(rng, 10*4, 1)
	out, err := m.Predict(gt.New(gt.WithShape(10, 4), gt.WithBacking(xv)))
	require.NoError(t, err)
	got := out.Data().([]float32)
	require.Len(t, got, 30)
	for lo := 0; lo < 10; lo += 4 {
		rows := min(4, 10-lo)
		xb, err := tensor.FromFloat32(dev, xv[lo*4:(lo+rows)*4], rows, 4)
		require.NoError(t, err)
		y, err := m.Forward(xb, false)
		require.NoError(t, err)
		assert.Equal(t, read(t, y), got[lo*3:(lo+rows)*3])
	}
	_, err = m.Predict(gt.New(gt.WithShape(1, 3), gt.WithBacking([]float32{1, 2, 3})))
	assert.ErrorContains(t, err, "nn: predict: examples of shape (3), the model takes (4)")
}

func TestDescribe(t *testing.T) {
	assert.Equal(t, "dense units=3 activation=relu", nn.Describe(nn.NewDense(3, nn.ReLU)))
	assert.Equal(t, "batchnorm momentum=0", nn.Describe(&nn.BatchNorm{Momentum: nn.MomentumOf(0)}))
	raw, err := nn.EncodeModule(&nn.BatchNorm{})
	require.NoError(t, err)
	var v map[string]any
	require.NoError(t, json.Unmarshal(raw, &v))
	assert.Equal(t, map[string]any{"type": "batchnorm"}, v, "unset momentum is left out")
}

// An embedding's table gradient is the scatter-add of dy: checked by finite differences
// through a model, with ids repeated within the batch.
func TestEmbeddingGradients(t *testing.T) {
	dev := newDev(t)
	m := nn.NewModel(nn.NewSequential(nn.NewEmbedding(7, 3), nn.NewFlatten(), nn.NewDense(2, nn.Tanh)))
	require.NoError(t, m.Build(dev, tensor.Shape{4}, 3, 2))
	params, _ := names(m)
	assert.Equal(t, []string{"0.weight", "2.weight", "2.bias"}, params)
	ids, err := tensor.FromInt32(dev, []int32{0, 3, 3, 6, 1, 1, 1, 2, 5, 0, 4, 3}, 3, 4)
	require.NoError(t, err)
	r := []float32{0.3, -1, 0.5, 2, -0.7, 0.1}
	dy, err := tensor.FromFloat32(dev, r, 3, 2)
	require.NoError(t, err)
	loss := func() float64 {
		y, err := m.Forward(ids, true)
		require.NoError(t, err)
		return dot(read(t, y), r)
	}
	loss()
	require.NoError(t, m.Backward(dy, false))
	w := m.Params()[0]
	grad, v := read(t, w.Grad), read(t, w.Value)
	for i := range v {
		orig := v[i]
		v[i] = orig + fdStep
		require.NoError(t, w.Value.SetFloat32s(v))
		lp := loss()
		v[i] = orig - fdStep
		require.NoError(t, w.Value.SetFloat32s(v))
		lm := loss()
		v[i] = orig
		require.NoError(t, w.Value.SetFloat32s(v))
		num := (lp - lm) / (2 * fdStep)
		require.InDeltaf(t, num, grad[i], fdTol*math.Max(1, math.Abs(num)), "weight[%d]", i)
	}
	zeros, err := tensor.Zeros(dev, 3, 4)
	require.NoError(t, err)
	_, err = m.Forward(zeros, false)
	assert.ErrorContains(t, err, "nn: embedding: ids must be int32, got float32")
	bad := nn.NewModel(nn.NewSequential(nn.NewDense(4, nn.Tanh), nn.NewEmbedding(3, 2)))
	assert.ErrorContains(t, bad.Build(dev, tensor.Shape{4}, 2, 1), "layer 1 (embedding) must come before every layer with weights")
}

// A frozen convolution's gradients stay zero while the layers after it learn.
func TestFrozenConvolution(t *testing.T) {
	dev := newDev(t)
	m := nn.NewModel(nn.NewSequential(&nn.Conv2D{Filters: 2, Kernel: 3, Act: nn.ReLU}, &nn.Conv2D{Filters: 2, Kernel: 3}, nn.NewFlatten(), nn.NewDense(2, nn.Linear)))
	require.NoError(t, m.Build(dev, tensor.Shape{1, 6, 6}, 2, 1))
	_, err := m.Freeze("2.weight", "0")
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(9, 9))
	x, err := tensor.FromFloat32(dev, randn(rng, 72, 1), 2, 1, 6, 6)
	require.NoError(t, err)
	dy, err := tensor.FromFloat32(dev, []float32{1, -2, 0.5, 3}, 2, 2)
	require.NoError(t, err)
	for range 2 {
		_, err = m.Forward(x, true)
		require.NoError(t, err)
		require.NoError(t, m.Backward(dy, false))
	}
	for _, p := range m.Params() {
		g := read(t, p.Grad)
		if p.Frozen {
			assert.Equal(t, make([]float32, len(g)), g, p.Name)
		} else {
			assert.NotEqual(t, make([]float32, len(g)), g, p.Name)
		}
	}
}

// Models far too large for this machine build on a device.Planner, which counts their
// bytes, without making their initial weights on the host: Context.NewParam draws none.
func TestHugeModelsPlanWithoutHostMemory(t *testing.T) {
	for _, c := range []struct {
		name   string
		root   nn.Module
		in     tensor.Shape
		params int64 // values
	}{
		{"dense", nn.NewSequential(nn.NewDense(100_000_000, nn.ReLU), nn.NewDense(10, nn.Softmax)), tensor.Shape{784},
			784*100_000_000 + 100_000_000 + 100_000_000*10 + 10},
		{"conv2d", nn.NewSequential(nn.NewConv2D(1<<20, 5, nn.ReLU), &nn.GlobalAvgPool{}), tensor.Shape{64, 8, 8},
			(1<<20)*64*25 + 1<<20},
		{"embedding", nn.NewSequential(nn.NewEmbedding(1<<30, 64)), tensor.Shape{4}, 64 << 30},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := device.NewPlanner(nil)
			m := nn.NewModel(c.root)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			require.NoError(t, m.Build(p, c.in, 2, 1))
			runtime.ReadMemStats(&after)
			assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(64<<20), "host bytes allocated while planning")
			bytes := c.params * 4
			// the values, and the gradients: built per parameter, then moved into the
			// model's one flat buffer (both held at once for a moment)
			assert.GreaterOrEqual(t, p.Peak(), 3*bytes)
			assert.GreaterOrEqual(t, p.Live(), 2*bytes)
			assert.Less(t, p.Live(), 2*bytes+bytes/4, "workspaces of a batch of 2 are small next to the weights")
		})
	}
}
