package nn_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/tensor"
)

func TestRecurrentGradients(t *testing.T) {
	for _, kind := range []string{"lstm", "gru"} {
		for _, c := range []struct {
			layers int
			last   bool
		}{{1, false}, {1, true}, {2, false}, {2, true}} {
			t.Run(fmt.Sprintf("%s_layers%d_last%v", kind, c.layers, c.last), func(t *testing.T) {
				var l nn.Module = nn.NewLSTM(4, c.layers, c.last)
				if kind == "gru" {
					l = nn.NewGRU(4, c.layers, c.last)
				}
				checkLayer(t, l, tensor.Shape{5, 3}, 3, 1)
			})
		}
	}
}

// recurrentRef is the PyTorch equations of an LSTM or GRU in float64 loops: x is
// (n, T, In) batch-first, w the state_dict by name; it returns the top layer's states
// (n, T, H).
func recurrentRef(kind string, x []float32, n, steps, in, h, layers int, w map[string][]float32) []float64 {
	sig := func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }
	gates := 4
	if kind == "gru" {
		gates = 3
	}
	seq := make([]float64, len(x))
	for i, v := range x {
		seq[i] = float64(v)
	}
	width := in
	for k := range layers {
		wih, whh := w[fmt.Sprintf("weight_ih_l%d", k)], w[fmt.Sprintf("weight_hh_l%d", k)]
		bih, bhh := w[fmt.Sprintf("bias_ih_l%d", k)], w[fmt.Sprintf("bias_hh_l%d", k)]
		out := make([]float64, n*steps*h)
		for b := range n {
			hs, cs := make([]float64, h), make([]float64, h)
			for s := range steps {
				xt := seq[(b*steps+s)*width : (b*steps+s+1)*width]
				gx, gh := make([]float64, gates*h), make([]float64, gates*h)
				for r := range gates * h {
					gx[r], gh[r] = float64(bih[r]), float64(bhh[r])
					for j := range width {
						gx[r] += float64(wih[r*width+j]) * xt[j]
					}
					for j := range h {
						gh[r] += float64(whh[r*h+j]) * hs[j]
					}
				}
				next := make([]float64, h)
				for j := range h {
					if kind == "lstm" {
						i, f := sig(gx[j]+gh[j]), sig(gx[h+j]+gh[h+j])
						g, o := math.Tanh(gx[2*h+j]+gh[2*h+j]), sig(gx[3*h+j]+gh[3*h+j])
						cs[j] = f*cs[j] + i*g
						next[j] = o * math.Tanh(cs[j])
					} else {
						r, z := sig(gx[j]+gh[j]), sig(gx[h+j]+gh[h+j])
						nn := math.Tanh(gx[2*h+j] + r*gh[2*h+j])
						next[j] = (1-z)*nn + z*hs[j]
					}
				}
				hs = next
				copy(out[(b*steps+s)*h:], hs)
			}
		}
		seq, width = out, h
	}
	return seq
}

func TestRecurrentMatchesReference(t *testing.T) {
	const n, steps, in, h = 3, 6, 5, 4
	for _, kind := range []string{"lstm", "gru"} {
		for _, layers := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s_layers%d", kind, layers), func(t *testing.T) {
				dev := newDev(t)
				var root nn.Module = nn.NewLSTM(h, layers, false)
				if kind == "gru" {
					root = nn.NewGRU(h, layers, false)
				}
				m := nn.NewModel(root)
				require.NoError(t, m.Build(dev, tensor.Shape{steps, in}, n, 5))
				w := map[string][]float32{}
				var names []string
				for _, p := range m.Params() {
					names = append(names, p.Name)
					w[p.Name] = read(t, p.Value)
				}
				want := []string{"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"}
				if layers == 2 {
					want = append(want, "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1")
				}
				assert.Equal(t, want, names, "PyTorch's state_dict names, in its order")
				g := 4
				if kind == "gru" {
					g = 3
				}
				assert.Len(t, w["weight_ih_l0"], g*h*in)
				for _, v := range w["weight_hh_l0"] {
					require.LessOrEqual(t, math.Abs(float64(v)), 1/math.Sqrt(h), "U(±1/√hidden)")
				}
				x := randn(rand.New(rand.NewPCG(3, 4)), n*steps*in, 1)
				xt, err := tensor.FromFloat32(dev, x, n, steps, in)
				require.NoError(t, err)
				for _, batch := range []int{n, 2} { // a smaller batch uses other views
					xb, err := xt.Rows(0, batch)
					require.NoError(t, err)
					y, err := m.Forward(xb, false)
					require.NoError(t, err)
					assert.Equal(t, tensor.Shape{batch, steps, h}, y.Shape())
					ref := recurrentRef(kind, x[:batch*steps*in], batch, steps, in, h, layers, w)
					got := read(t, y)
					for i := range ref {
						require.InDeltaf(t, ref[i], got[i], 1e-5, "y[%d] of batch %d", i, batch)
					}
				}
			})
		}
	}
}

// With Last, the output is the sequence output's last step.
func TestRecurrentLastIsTheLastStep(t *testing.T) {
	dev := newDev(t)
	const n, steps, in, h = 4, 7, 3, 5
	x, err := tensor.FromFloat32(dev, randn(rand.New(rand.NewPCG(5, 6)), n*steps*in, 1), n, steps, in)
	require.NoError(t, err)
	for _, mk := range []func(bool) nn.Module{
		func(last bool) nn.Module { return nn.NewLSTM(h, 2, last) },
		func(last bool) nn.Module { return nn.NewGRU(h, 2, last) },
	} {
		seq, last := nn.NewModel(mk(false)), nn.NewModel(mk(true))
		require.NoError(t, seq.Build(dev, tensor.Shape{steps, in}, n, 9))
		require.NoError(t, last.Build(dev, tensor.Shape{steps, in}, n, 9))
		ys, err := seq.Forward(x, false)
		require.NoError(t, err)
		yl, err := last.Forward(x, false)
		require.NoError(t, err)
		assert.Equal(t, tensor.Shape{n, h}, yl.Shape())
		all, end := read(t, ys), read(t, yl)
		for b := range n {
			assert.Equal(t, all[(b*steps+steps-1)*h:(b*steps+steps)*h], end[b*h:(b+1)*h])
		}
	}
}

func TestRecurrentSpecAndErrors(t *testing.T) {
	s, err := nn.ParseSpec(strings.NewReader(`{"input": [28, 28], "layers": [
  {"type": "lstm", "hidden": 16, "layers": 2, "last": true},
  {"type": "dense", "units": 10, "activation": "softmax"}]}`))
	require.NoError(t, err)
	m, err := s.Build(newDev(t), 4, 1)
	require.NoError(t, err)
	assert.Equal(t, tensor.Shape{10}, m.OutputShape())
	back, err := nn.SpecOf(m)
	require.NoError(t, err)
	again, err := nn.ParseSpec(strings.NewReader(string(back.JSON())))
	require.NoError(t, err)
	assert.Equal(t, s, again)
	assert.Equal(t, "0.weight_ih_l1", m.Params()[4].Name)

	for _, c := range []struct{ json, want string }{
		{`{"type": "gru", "hidden": 0}`, "hidden must be positive, got 0"},
		{`{"type": "lstm", "hidden": 3, "layers": -1}`, "layers must be positive"},
	} {
		_, err := nn.ParseSpec(strings.NewReader(`{"input": [4, 2], "layers": [` + c.json + `]}`))
		assert.ErrorContains(t, err, c.want)
	}
	assert.ErrorContains(t, nn.NewModel(nn.NewLSTM(3, 1, true)).Build(newDev(t), tensor.Shape{12}, 2, 1), "nn: lstm: input shape (12), want (steps, features)")

	dev := newDev(t)
	l := nn.NewGRU(3, 1, true)
	_, err = l.Forward(nil, false)
	assert.ErrorContains(t, err, "nn: gru used before Build")
	ctx := nn.NewContext(dev, 2, 1)
	_, err = l.Build(ctx, tensor.Shape{4, 2})
	require.NoError(t, err)
	dy, err := tensor.Zeros(dev, 2, 3)
	require.NoError(t, err)
	_, err = l.Backward(dy, false)
	assert.ErrorContains(t, err, "nn: gru: Backward before Forward")
	wrong, err := tensor.Zeros(dev, 2, 4, 3)
	require.NoError(t, err)
	_, err = l.Forward(wrong, false)
	assert.ErrorContains(t, err, "nn: gru: input shape (2, 4, 3), want (batch, (4, 2))")
	ids, err := tensor.FromInt32(dev, make([]int32, 8), 1, 4, 2)
	require.NoError(t, err)
	_, err = l.Forward(ids, false)
	assert.ErrorContains(t, err, "nn: gru: input must be float32, got int32")
	big, err := tensor.Zeros(dev, 3, 4, 2)
	require.NoError(t, err)
	_, err = l.Forward(big, false)
	assert.ErrorContains(t, err, "batch of 3 examples, built for at most 2")
}

func TestRecurrentSpecReadsExamplesAsSequences(t *testing.T) {
	for _, c := range []struct {
		in, want []int
	}{{[]int{1, 28, 28}, []int{28, 28}}, {[]int{7, 3}, []int{7, 3}}, {[]int{5}, []int{5, 1}}} {
		s, err := nn.RecurrentSpec("gru", 4, 1, c.in, 3)
		require.NoError(t, err)
		assert.Equal(t, c.want, s.Input, "examples of shape %v", c.in)
		m, err := s.Build(newDev(t), 2, 1)
		require.NoError(t, err)
		assert.Equal(t, tensor.Shape{3}, m.OutputShape())
		var names []string
		for _, p := range m.Params() {
			names = append(names, p.Name)
		}
		assert.Equal(t, []string{"0.weight_ih_l0", "0.weight_hh_l0", "0.bias_ih_l0", "0.bias_hh_l0", "1.weight", "1.bias"}, names)
	}
	_, err := nn.RecurrentSpec("gru", 4, 1, []int{3, 8, 8}, 3)
	assert.ErrorContains(t, err, "nn: the gru model reads grey images (1, height, width) row by row, sequences (steps, features) or flat features, got examples of shape [3 8 8]")
	_, err = nn.RecurrentSpec("rnn", 4, 1, []int{3}, 3)
	assert.ErrorContains(t, err, `unknown cell "rnn" (want lstm or gru)`)
}
