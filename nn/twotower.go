package nn

import (
	"fmt"
	"strconv"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/tensor"
)

func init() {
	Register("twotower", func() Module { return &TwoTower{} })
}

// TwoTower is a two-tower (dual encoder) recommender: a user tower and an item tower
// each embed their ids and categorical side fields, concatenate the embeddings and run
// them through a small MLP; the predicted rating is the dot product of the two towers'
// outputs plus a bias:
//
//	u = UserTower([E_user[user], E_uf1[f1], …])      (Dim)
//	v = ItemTower([E_item[item], E_if1[g1], …])      (Dim)
//	r̂ = u·v + μ
//
// An example is int32 ids, per-example shape (2 + len(UserFields) + len(ItemFields)):
// the user, the item, the user's side fields, then the item's. UserFields[k] (ItemFields)
// is the number of levels of user (item) field k. Each tower is Linear(K·Dim, Hidden),
// ReLU, Linear(Hidden, Dim), K being the tower's embeddings; every embedding is Dim
// wide, drawn from N(0, Std²) (Std 0 means 0.01); the towers' layers are Glorot-uniform
// with zero biases, and μ starts at Mean.
//
// Parameter names are those of a PyTorch module with attributes user_embedding,
// item_embedding, user_fields and item_fields (nn.ModuleList of nn.Embedding),
// user_tower and item_tower (nn.Sequential) and bias: "user_fields.0.weight",
// "user_tower.0.weight", "user_tower.2.bias" and so on. The embedding tables are sparse
// (lazy updates of the rows used). L2 adds L2·Σ‖e‖² over the embedding rows an example
// uses to its loss, as MF's L2 does (the towers' weights take the optimizer's L2 or
// decay).
type TwoTower struct {
	Users      int     `json:"users"`
	Items      int     `json:"items"`
	UserFields []int   `json:"user_fields,omitempty"`
	ItemFields []int   `json:"item_fields,omitempty"`
	Dim        int     `json:"dim"`
	Hidden     int     `json:"hidden"`
	Std        float32 `json:"std,omitempty"`
	Mean       float32 `json:"mean,omitempty"`
	L2         float32 `json:"l2,omitempty"`

	ctx    *Context
	in     tensor.Shape
	towers [2]*tower
	mu     *Param
	cols   *idColumns
	n      int
	u, v   *tensor.Tensor
	prod   *batchBuf
	y      *batchBuf
	du, dv *batchBuf
	dmu    accumulator
}

// tower is one side of a TwoTower: its embeddings (the id's first), the stack of their
// outputs (K, n, Dim) and its transpose (n, K, Dim), the MLP's input.
type tower struct {
	embs       []*Embedding
	colIdx     []int // the input column each embedding reads
	mlp        *Sequential
	stack, cat *views
	dstack     *views
	dim        int
}

// NewTwoTower returns a two-tower model of users and items without side fields.
func NewTwoTower(users, items, dim, hidden int) *TwoTower {
	return &TwoTower{Users: users, Items: items, Dim: dim, Hidden: hidden}
}

// Kind implements Module.
func (m *TwoTower) Kind() string { return "twotower" }

// Params implements Module: μ ("bias").
func (m *TwoTower) Params() []*Param {
	if m.mu == nil {
		return nil
	}
	return []*Param{m.mu}
}

// Inputs is the number of ids per example: 2 + len(UserFields) + len(ItemFields).
func (m *TwoTower) Inputs() int { return 2 + len(m.UserFields) + len(m.ItemFields) }

// Validate checks the configuration without building it.
func (m *TwoTower) Validate() error {
	if m.Users <= 0 || m.Items <= 0 || m.Dim <= 0 || m.Hidden <= 0 {
		return fmt.Errorf("users %d, items %d, dim %d and hidden %d must be positive", m.Users, m.Items, m.Dim, m.Hidden)
	}
	for _, f := range [][]int{m.UserFields, m.ItemFields} {
		for k, levels := range f {
			if levels <= 0 {
				return fmt.Errorf("side field %d has %d levels, want at least 1", k, levels)
			}
		}
	}
	return checkRecsysScalars(m.Std, m.Mean, m.L2, 0)
}

func (m *TwoTower) inputOnly() {}
func (m *TwoTower) readsIDs()  {}

// moduleList names a list of modules "0", "1"… under its own name, as PyTorch's
// nn.ModuleList: a TwoTower's side-field embeddings. Its owner runs the modules.
type moduleList struct{ items []Module }

func (l *moduleList) Kind() string     { return "module_list" }
func (l *moduleList) Params() []*Param { return nil }
func (l *moduleList) Build(ctx *Context, in tensor.Shape) (tensor.Shape, error) {
	for i, c := range l.items {
		if _, err := ctx.Build(strconv.Itoa(i), c, in); err != nil {
			return nil, err
		}
	}
	return in, nil
}
func (l *moduleList) Forward(*tensor.Tensor, bool) (*tensor.Tensor, error) {
	return nil, fmt.Errorf("nn: module_list: its owner runs its modules")
}
func (l *moduleList) Backward(*tensor.Tensor, bool) (*tensor.Tensor, error) {
	return nil, fmt.Errorf("nn: module_list: its owner runs its modules")
}

// Build implements Module: in must be (Inputs()).
func (m *TwoTower) Build(ctx *Context, in tensor.Shape) (tensor.Shape, error) {
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("nn: twotower: %w", err)
	}
	f := m.Inputs()
	if !in.Equal(tensor.Shape{f}) {
		return nil, fmt.Errorf("nn: twotower: examples of shape %v, want (%d): a user id, an item id, %d user and %d item side fields",
			in, f, len(m.UserFields), len(m.ItemFields))
	}
	std := m.Std
	if std == 0 {
		std = 0.01
	}
	emb := func(num int) *Embedding { return &Embedding{Num: num, Dim: m.Dim, Std: std, Sparse: true} }
	side := 2
	for s, c := range []struct {
		name, fields string
		num          int
		levels       []int
	}{{"user_embedding", "user_fields", m.Users, m.UserFields}, {"item_embedding", "item_fields", m.Items, m.ItemFields}} {
		t := &tower{dim: m.Dim, embs: []*Embedding{emb(c.num)}, colIdx: []int{s}}
		if _, err := ctx.Build(c.name, t.embs[0], tensor.Shape{1}); err != nil {
			return nil, err
		}
		if len(c.levels) > 0 {
			list := &moduleList{}
			for _, lv := range c.levels {
				e := emb(lv)
				t.embs = append(t.embs, e)
				t.colIdx = append(t.colIdx, side)
				list.items = append(list.items, e)
				side++
			}
			if _, err := ctx.Build(c.fields, list, tensor.Shape{1}); err != nil {
				return nil, err
			}
		}
		m.towers[s] = t
	}
	// the towers after the embeddings, so that the embedding tables come first
	for s, name := range []string{"user_tower", "item_tower"} {
		t := m.towers[s]
		k := len(t.embs)
		t.mlp = NewSequential(NewDense(m.Hidden, ReLU), NewDense(m.Dim, Linear))
		if _, err := ctx.Build(name, t.mlp, tensor.Shape{k * m.Dim}); err != nil {
			return nil, err
		}
		for _, v := range []**views{&t.stack, &t.cat, &t.dstack} {
			buf, err := tensor.Zeros(ctx.Dev, k*ctx.MaxBatch*m.Dim)
			if err != nil {
				return nil, err
			}
			*v = newViews(buf)
		}
	}
	var err error
	if m.mu, err = newParam(ctx.Dev, "bias", true, []float32{m.Mean}, 1); err != nil {
		return nil, err
	}
	if m.cols, err = newIDColumns(ctx.Dev, f, ctx.MaxBatch); err != nil {
		return nil, err
	}
	for _, b := range []**batchBuf{&m.prod, &m.du, &m.dv} {
		if *b, err = newBatchBuf(ctx.Dev, device.Float32, ctx.MaxBatch, tensor.Shape{m.Dim}); err != nil {
			return nil, err
		}
	}
	if m.y, err = newBatchBuf(ctx.Dev, device.Float32, ctx.MaxBatch, tensor.Shape{1}); err != nil {
		return nil, err
	}
	m.ctx, m.in = ctx, in.Clone()
	return tensor.Shape{1}, nil
}

// swap is the permutation (a, b, Dim) → (b, a, Dim).
func swap(a, b, dim int) device.PermuteArgs {
	return device.PermuteArgs{Rank: 3, Shape: [device.MaxRank]int{a, b, dim}, Perm: [device.MaxRank]int{1, 0, 2}}
}

// forward embeds a tower's columns into its stack (K, n, Dim), transposes it to the
// MLP's input (n, K·Dim) and runs the MLP.
func (t *tower) forward(dev device.Backend, cols []*tensor.Tensor, n int, train bool) (*tensor.Tensor, error) {
	k, d := len(t.embs), t.dim
	for j, e := range t.embs {
		y, err := e.Forward(cols[t.colIdx[j]], train)
		if err != nil {
			return nil, err
		}
		s, err := t.stack.of(j*n*d, n, d)
		if err != nil {
			return nil, err
		}
		if err := dev.Copy(s.Buffer(), y.Buffer()); err != nil {
			return nil, err
		}
	}
	stack, err := t.stack.of(0, k*n, d)
	if err != nil {
		return nil, err
	}
	cat, err := t.cat.of(0, n, k*d)
	if err != nil {
		return nil, err
	}
	if err := dev.Permute(stack.Buffer(), cat.Buffer(), swap(k, n, d)); err != nil {
		return nil, err
	}
	return t.mlp.Forward(cat, train)
}

// backward runs the MLP's backward pass from dout, transposes the input gradient back
// to (K, n, Dim), adds the penalty's gradient and scatters each slice into its table.
func (t *tower) backward(dev device.Backend, dout *tensor.Tensor, n int, l2, scale float32) error {
	k, d := len(t.embs), t.dim
	dcat, err := t.mlp.Backward(dout, true)
	if err != nil {
		return err
	}
	dstack, err := t.dstack.of(0, k*n, d)
	if err != nil {
		return err
	}
	if err := dev.Permute(dcat.Buffer(), dstack.Buffer(), swap(n, k, d)); err != nil {
		return err
	}
	for j, e := range t.embs {
		if !e.Weight().needsGrad() {
			continue
		}
		ds, err := t.dstack.of(j*n*d, n, d)
		if err != nil {
			return err
		}
		s, err := t.stack.of(j*n*d, n, d)
		if err != nil {
			return err
		}
		if err := embeddingPenalty(dev, l2, scale, s, ds); err != nil {
			return err
		}
		if _, err := e.Backward(ds, false); err != nil {
			return err
		}
	}
	return nil
}

// Forward implements Module: x is (n, Inputs()) int32.
func (m *TwoTower) Forward(x *tensor.Tensor, train bool) (*tensor.Tensor, error) {
	n, err := checkIDs("twotower", m.ctx, x, m.in)
	if err != nil {
		return nil, err
	}
	cols, err := m.cols.split(x, n)
	if err != nil {
		return nil, fmt.Errorf("nn: twotower: %w", err)
	}
	dev := m.ctx.Dev
	if m.u, err = m.towers[0].forward(dev, cols, n, train); err != nil {
		return nil, fmt.Errorf("nn: twotower: user tower: %w", err)
	}
	if m.v, err = m.towers[1].forward(dev, cols, n, train); err != nil {
		return nil, fmt.Errorf("nn: twotower: item tower: %w", err)
	}
	prod, _ := m.prod.rows(n)
	y, err := m.y.rows(n)
	if err != nil {
		return nil, err
	}
	// y = Σ_k u[k]·v[k] + μ
	if err := dev.Binary(device.Mul, m.u.Buffer(), m.v.Buffer(), prod.Buffer()); err != nil {
		return nil, err
	}
	if err := dev.Reduce(device.Sum, prod.Buffer(), y.Buffer(), device.Shape3{Outer: n, Mid: m.Dim, Inner: 1}); err != nil {
		return nil, err
	}
	if err := dev.Broadcast(device.Add, y.Buffer(), m.mu.Value.Buffer(), y.Buffer(), device.Shape3{Outer: n, Mid: 1, Inner: 1}); err != nil {
		return nil, err
	}
	m.n = n
	return y, nil
}

// Backward implements Module: du = dy·v, dv = dy·u through the towers into the
// embedding rows (with the penalty's gradient), dμ = Σ dy. No input gradient.
func (m *TwoTower) Backward(dy *tensor.Tensor, needDX bool) (*tensor.Tensor, error) {
	if err := checkGrad("twotower", m.n, dy, tensor.Shape{1}); err != nil {
		return nil, err
	}
	if needDX {
		return nil, fmt.Errorf("nn: twotower: ids have no gradient (twotower must come first in its model)")
	}
	n, dev := m.n, m.ctx.Dev
	rows := device.Shape3{Outer: 1, Mid: n, Inner: m.Dim}
	du, _ := m.du.rows(n)
	dv, _ := m.dv.rows(n)
	if err := dev.Broadcast(device.Mul, m.v.Buffer(), dy.Buffer(), du.Buffer(), rows); err != nil {
		return nil, err
	}
	if err := dev.Broadcast(device.Mul, m.u.Buffer(), dy.Buffer(), dv.Buffer(), rows); err != nil {
		return nil, err
	}
	for s, d := range []*tensor.Tensor{du, dv} {
		if err := m.towers[s].backward(dev, d, n, m.L2, m.ctx.LossScale); err != nil {
			return nil, fmt.Errorf("nn: twotower: %s tower: %w", [2]string{"user", "item"}[s], err)
		}
	}
	if err := addBiasGrad(dev, &m.dmu, m.mu, dy, n); err != nil {
		return nil, err
	}
	return nil, nil
}
