package nn_test

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gt "gorgonia.org/tensor"

	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/tensor"
)

// recsysCheck builds a recommender model for examples of f ids, gives every parameter
// random values, runs a batch of ids (with repeats), and checks the output against
// predict (computed on the host from the parameters by name) and every parameter's
// gradient against central differences of the objective
//
//	Σ_r w_r·y_r + scale·penalty(params, ids)
//
// with the model's Backward given dy = w and Model.SetLossScale(scale).
func recsysCheck(t *testing.T, root nn.Module, ids []int32, f int,
	predict func(p map[string][]float32, ids []int32) []float64,
	penalty func(p map[string][]float32, ids []int32) float64) {
	t.Helper()
	dev := newDev(t)
	n := len(ids) / f
	m := nn.NewModel(root)
	require.NoError(t, m.Build(dev, tensor.Shape{f}, n, 5))
	rng := rand.New(rand.NewPCG(4, 2))
	for _, p := range m.Params() {
		require.NoError(t, p.Value.SetFloat32s(randn(rng, p.Value.Len(), 0.6)))
	}
	x, err := tensor.FromInt32(dev, ids, n, f)
	require.NoError(t, err)
	values := func() map[string][]float32 {
		out := map[string][]float32{}
		for _, p := range m.Params() {
			out[p.Name] = read(t, p.Value)
		}
		return out
	}
	w := randn(rng, n, 1)
	const scale = 0.25
	objective := func() float64 {
		y, err := m.Forward(x, true)
		require.NoError(t, err)
		return dot(read(t, y), w) + scale*penalty(values(), ids)
	}
	y, err := m.Forward(x, true)
	require.NoError(t, err)
	want := predict(values(), ids)
	got := read(t, y)
	for r := range n {
		assert.InDeltaf(t, want[r], got[r], 1e-5*math.Max(1, math.Abs(want[r])), "prediction %d", r)
	}
	dy, err := tensor.FromFloat32(dev, w, n, 1)
	require.NoError(t, err)
	require.NoError(t, m.ZeroGrad())
	require.NoError(t, m.SetLossScale(scale))
	require.NoError(t, m.Backward(dy, false))
	for _, p := range m.Params() {
		grad, v := read(t, p.Grad), read(t, p.Value)
		for i := range v {
			orig := v[i]
			v[i] = orig + fdStep
			require.NoError(t, p.Value.SetFloat32s(v))
			lp := objective()
			v[i] = orig - fdStep
			require.NoError(t, p.Value.SetFloat32s(v))
			lm := objective()
			v[i] = orig
			require.NoError(t, p.Value.SetFloat32s(v))
			num := (lp - lm) / (2 * fdStep)
			require.InDeltaf(t, num, grad[i], fdTol*math.Max(1, math.Abs(num)), "%s[%d]", p.Name, i)
		}
	}
}

func sq(v []float32) float64 {
	s := 0.0
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return s
}

// MF's prediction p_u·q_i + b_u + b_i + μ, and its gradients with the L2 penalties on
// the rows used, by finite differences; users 1 and 3 and item 2 repeat in the batch.
func TestMFGradients(t *testing.T) {
	const users, items, dim = 5, 4, 3
	mf := &nn.MF{Users: users, Items: items, Dim: dim, L2: 0.3, BiasL2: 0.2, Mean: 3}
	ids := []int32{1, 2, 3, 0, 1, 2, 4, 3, 3, 2, 0, 1}
	row := func(t []float32, r int32, d int) []float32 { return t[int(r)*d : int(r+1)*d] }
	recsysCheck(t, mf, ids, 2, func(p map[string][]float32, ids []int32) []float64 {
		var out []float64
		for r := 0; r < len(ids); r += 2 {
			u, i := ids[r], ids[r+1]
			out = append(out, dot(row(p["user_embedding.weight"], u, dim), row(p["item_embedding.weight"], i, dim))+
				float64(p["user_bias.weight"][u])+float64(p["item_bias.weight"][i])+float64(p["bias"][0]))
		}
		return out
	}, func(p map[string][]float32, ids []int32) float64 {
		s := 0.0
		for r := 0; r < len(ids); r += 2 {
			u, i := ids[r], ids[r+1]
			s += 0.3*(sq(row(p["user_embedding.weight"], u, dim))+sq(row(p["item_embedding.weight"], i, dim))) +
				0.2*(sq(row(p["user_bias.weight"], u, 1))+sq(row(p["item_bias.weight"], i, 1)))
		}
		return s
	})
}

// MF's parameters have the names of the PyTorch module, its tables are sparse, the
// biases start at 0 and μ at Mean; misuse is an error.
func TestMFBuild(t *testing.T) {
	dev := newDev(t)
	m := nn.NewModel(&nn.MF{Users: 3, Items: 2, Dim: 4, Mean: 3.5})
	require.NoError(t, m.Build(dev, tensor.Shape{2}, 8, 1))
	params, _ := names(m)
	assert.Equal(t, []string{"user_embedding.weight", "item_embedding.weight", "user_bias.weight", "item_bias.weight", "bias"}, params)
	for _, p := range m.Params()[:4] {
		assert.True(t, p.Sparse(), p.Name)
	}
	assert.Equal(t, []float32{0, 0, 0}, read(t, m.Params()[2].Value))
	assert.Equal(t, []float32{3.5}, read(t, m.Params()[4].Value))
	p := read(t, m.Params()[0].Value)
	assert.Less(t, math.Sqrt(sq(p)/float64(len(p))), 0.05, "P ~ N(0, 0.01²)")
	pred, err := m.Predict(gt.New(gt.WithShape(2, 2), gt.WithBacking([]int64{0, 1, 2, 0})))
	require.NoError(t, err)
	for _, v := range pred.Data().([]float32) {
		assert.InDelta(t, 3.5, v, 0.01, "an untrained model predicts about μ")
	}
	for _, c := range []struct {
		m    *nn.MF
		in   tensor.Shape
		want string
	}{
		{&nn.MF{Users: 0, Items: 2, Dim: 4}, tensor.Shape{2}, "users 0, items 2 and dim 4 must be positive"},
		{&nn.MF{Users: 3, Items: 2, Dim: 4, L2: -1}, tensor.Shape{2}, "l2 must be a finite number not below 0"},
		{&nn.MF{Users: 3, Items: 2, Dim: 4}, tensor.Shape{3}, "examples of shape (3), want (2)"},
	} {
		assert.ErrorContains(t, nn.NewModel(c.m).Build(dev, c.in, 4, 1), c.want)
	}
	x, err := tensor.Zeros(dev, 2, 2)
	require.NoError(t, err)
	_, err = m.Forward(x, false)
	assert.ErrorContains(t, err, "nn: mf: ids must be int32, got float32")
	spec, err := nn.ParseSpec(strings.NewReader(`{"input":[2],"model":{"type":"mf","users":3,"items":2,"dim":4,"l2":0.1}}`))
	require.NoError(t, err)
	assert.Equal(t, &nn.MF{Users: 3, Items: 2, Dim: 4, L2: 0.1}, spec.Root)
}

// relu and linear are the towers' layers on the host: y = x·Wᵀ + b.
func linear(x []float64, w, b []float32, out int) []float64 {
	in := len(x)
	y := make([]float64, out)
	for o := range out {
		y[o] = float64(b[o])
		for i := range in {
			y[o] += float64(w[o*in+i]) * x[i]
		}
	}
	return y
}

// TwoTower's prediction (the dot product of the two MLP towers over the concatenated
// embeddings, plus μ) recomputed on the host from the parameters by name, and its
// gradients with the L2 penalty on every embedding row used, by finite differences.
// One user field of 3 levels and two item fields of 2 and 4 levels; ids repeat.
func TestTwoTowerGradients(t *testing.T) {
	const dim, hidden = 3, 4
	tt := &nn.TwoTower{Users: 4, Items: 5, UserFields: []int{3}, ItemFields: []int{2, 4}, Dim: dim, Hidden: hidden, L2: 0.2}
	ids := []int32{
		0, 1, 2, 1, 3,
		3, 4, 0, 0, 0,
		0, 1, 1, 1, 2,
		2, 0, 2, 0, 3,
	}
	row := func(t []float32, r int32) []float32 { return t[int(r)*dim : int(r+1)*dim] }
	embs := func(p map[string][]float32, ex []int32) (u, v [][]float32) {
		u = [][]float32{row(p["user_embedding.weight"], ex[0]), row(p["user_fields.0.weight"], ex[2])}
		v = [][]float32{row(p["item_embedding.weight"], ex[1]), row(p["item_fields.0.weight"], ex[3]), row(p["item_fields.1.weight"], ex[4])}
		return u, v
	}
	towerOf := func(p map[string][]float32, name string, es [][]float32) []float64 {
		var x []float64
		for _, e := range es {
			for _, v := range e {
				x = append(x, float64(v))
			}
		}
		h := linear(x, p[name+".0.weight"], p[name+".0.bias"], hidden)
		for i := range h {
			h[i] = math.Max(0, h[i])
		}
		return linear(h, p[name+".2.weight"], p[name+".2.bias"], dim)
	}
	recsysCheck(t, tt, ids, 5, func(p map[string][]float32, ids []int32) []float64 {
		var out []float64
		for r := 0; r < len(ids); r += 5 {
			ue, ve := embs(p, ids[r:r+5])
			u, v := towerOf(p, "user_tower", ue), towerOf(p, "item_tower", ve)
			s := float64(p["bias"][0])
			for k := range dim {
				s += u[k] * v[k]
			}
			out = append(out, s)
		}
		return out
	}, func(p map[string][]float32, ids []int32) float64 {
		s := 0.0
		for r := 0; r < len(ids); r += 5 {
			ue, ve := embs(p, ids[r:r+5])
			for _, e := range append(ue, ve...) {
				s += 0.2 * sq(e)
			}
		}
		return s
	})
}

// TwoTower's names are the PyTorch module's; its input width counts the side fields.
func TestTwoTowerBuild(t *testing.T) {
	dev := newDev(t)
	tt := &nn.TwoTower{Users: 4, Items: 5, UserFields: []int{3}, ItemFields: []int{2}, Dim: 8, Hidden: 16}
	m := nn.NewModel(tt)
	require.NoError(t, m.Build(dev, tensor.Shape{4}, 8, 1))
	params, _ := names(m)
	assert.Equal(t, []string{"user_embedding.weight", "user_fields.0.weight", "item_embedding.weight", "item_fields.0.weight",
		"user_tower.0.weight", "user_tower.0.bias", "user_tower.2.weight", "user_tower.2.bias",
		"item_tower.0.weight", "item_tower.0.bias", "item_tower.2.weight", "item_tower.2.bias", "bias"}, params)
	assert.ErrorContains(t, nn.NewModel(&nn.TwoTower{Users: 4, Items: 5, Dim: 8, Hidden: 16}).Build(dev, tensor.Shape{4}, 8, 1),
		"examples of shape (4), want (2): a user id, an item id, 0 user and 0 item side fields")
	assert.ErrorContains(t, nn.NewModel(&nn.TwoTower{Users: 4, Items: 5, ItemFields: []int{0}, Dim: 8, Hidden: 16}).Build(dev, tensor.Shape{3}, 8, 1),
		"side field 0 has 0 levels")
	assert.NotEmpty(t, m.Summary())
}
