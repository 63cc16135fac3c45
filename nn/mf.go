package nn

import (
	"fmt"
	"math"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/tensor"
)

func init() {
	Register("mf", func() Module { return &MF{} })
}

// MF is matrix factorization with biases, the classic recommender of rating prediction
// (Koren, Bell and Volinsky, 2009). An example is a (user, item) pair of int32 ids,
// per-example shape (2); the output, shape (1), is the predicted rating
//
//	r̂ = p_u·q_i + b_u + b_i + μ
//
// with P (Users×Dim, "user_embedding.weight"), Q (Items×Dim, "item_embedding.weight"),
// the biases b (Users×1 "user_bias.weight", Items×1 "item_bias.weight") and μ ("bias",
// [1]): the state_dict of a PyTorch module with nn.Embedding attributes user_embedding,
// item_embedding, user_bias, item_bias and a parameter bias. P and Q start as
// N(0, Std²) (Std 0 means 0.01), the biases as 0 and μ as Mean (the training ratings'
// mean, so that training starts from the global-mean predictor).
//
// The four tables are sparse (Embedding.Sparse, PyTorch's sparse=True): a step updates
// the rows of the batch's users and items only (lazy Adam, see train.Optim).
//
// L2 and BiasL2 regularise in the loss, per example (the Funk-SVD objective):
//
//	loss_r = (r̂ - r)² + L2·(‖p_u‖² + ‖q_i‖²) + BiasL2·(b_u² + b_i²)
//
// The backward pass adds the penalty's gradient, scaled by Context.LossScale like the
// loss (so that a batch's penalty is averaged as the MSE is: PyTorch's
// mse.mean() + L2·(p_u² + q_i²).sum(1).mean()); it reaches only the rows the batch used,
// which a sparse update needs. The reported loss is the MSE alone.
type MF struct {
	Users  int     `json:"users"`
	Items  int     `json:"items"`
	Dim    int     `json:"dim"`
	Std    float32 `json:"std,omitempty"`
	Mean   float32 `json:"mean,omitempty"`
	L2     float32 `json:"l2,omitempty"`
	BiasL2 float32 `json:"bias_l2,omitempty"`

	ctx                *Context
	in                 tensor.Shape
	user, item         *Embedding
	userBias, itemBias *Embedding
	mu                 *Param
	cols               *idColumns
	n                  int
	pu, qi, bu, bi     *tensor.Tensor // the last Forward's rows
	prod, y, dp, dq    *batchBuf
	db                 *views // the biases' gradients, 2×MaxBatch, when BiasL2 is set
	dmu                accumulator
}

// NewMF returns matrix factorization of users×items ratings with dim factors.
func NewMF(users, items, dim int) *MF { return &MF{Users: users, Items: items, Dim: dim} }

// Kind implements Module.
func (m *MF) Kind() string { return "mf" }

// Params implements Module: μ ("bias"); the tables belong to the child embeddings.
func (m *MF) Params() []*Param {
	if m.mu == nil {
		return nil
	}
	return []*Param{m.mu}
}

// Validate checks the configuration without building it.
func (m *MF) Validate() error {
	if m.Users <= 0 || m.Items <= 0 || m.Dim <= 0 {
		return fmt.Errorf("users %d, items %d and dim %d must be positive", m.Users, m.Items, m.Dim)
	}
	return checkRecsysScalars(m.Std, m.Mean, m.L2, m.BiasL2)
}

// checkRecsysScalars validates the init and penalty settings of MF and TwoTower.
func checkRecsysScalars(std, mean, l2, biasL2 float32) error {
	for _, f := range []struct {
		name string
		v    float32
	}{{"std", std}, {"l2", l2}, {"bias_l2", biasL2}} {
		if !(f.v >= 0) || math.IsInf(float64(f.v), 0) {
			return fmt.Errorf("%s must be a finite number not below 0, got %v", f.name, f.v)
		}
	}
	if math.IsNaN(float64(mean)) || math.IsInf(float64(mean), 0) {
		return fmt.Errorf("mean must be finite, got %v", mean)
	}
	return nil
}

// inputOnly marks MF as a module without an input gradient (its input is ids).
func (m *MF) inputOnly() {}

// readsIDs marks a model made of an MF as one that takes ids.
func (m *MF) readsIDs() {}

// Build implements Module: in must be (2), a user and an item id.
func (m *MF) Build(ctx *Context, in tensor.Shape) (tensor.Shape, error) {
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("nn: mf: %w", err)
	}
	if !in.Equal(tensor.Shape{2}) {
		return nil, fmt.Errorf("nn: mf: examples of shape %v, want (2): a user id and an item id", in)
	}
	std := m.Std
	if std == 0 {
		std = 0.01
	}
	m.user = &Embedding{Num: m.Users, Dim: m.Dim, Std: std, Sparse: true}
	m.item = &Embedding{Num: m.Items, Dim: m.Dim, Std: std, Sparse: true}
	m.userBias = &Embedding{Num: m.Users, Dim: 1, Sparse: true}
	m.itemBias = &Embedding{Num: m.Items, Dim: 1, Sparse: true}
	for _, c := range []struct {
		name string
		e    *Embedding
	}{{"user_embedding", m.user}, {"item_embedding", m.item}, {"user_bias", m.userBias}, {"item_bias", m.itemBias}} {
		if _, err := ctx.Build(c.name, c.e, tensor.Shape{1}); err != nil {
			return nil, err
		}
	}
	// the biases start at 0 (the draws above keep the random stream the same length)
	for _, e := range []*Embedding{m.userBias, m.itemBias} {
		if err := ctx.Dev.Fill(e.Weight().Value.Buffer(), 0); err != nil {
			return nil, err
		}
	}
	var err error
	if m.mu, err = newParam(ctx.Dev, "bias", true, []float32{m.Mean}, 1); err != nil {
		return nil, err
	}
	if m.cols, err = newIDColumns(ctx.Dev, 2, ctx.MaxBatch); err != nil {
		return nil, err
	}
	for _, b := range []struct {
		buf *(*batchBuf)
		per tensor.Shape
	}{{&m.prod, tensor.Shape{m.Dim}}, {&m.dp, tensor.Shape{m.Dim}}, {&m.dq, tensor.Shape{m.Dim}}, {&m.y, tensor.Shape{1}}} {
		if *b.buf, err = newBatchBuf(ctx.Dev, device.Float32, ctx.MaxBatch, b.per); err != nil {
			return nil, err
		}
	}
	db, err := tensor.Zeros(ctx.Dev, 2*ctx.MaxBatch)
	if err != nil {
		return nil, err
	}
	m.db, m.ctx, m.in = newViews(db), ctx, in.Clone()
	return tensor.Shape{1}, nil
}

// Forward implements Module: x is (n, 2) int32 (user, item).
func (m *MF) Forward(x *tensor.Tensor, train bool) (*tensor.Tensor, error) {
	n, err := checkIDs("mf", m.ctx, x, m.in)
	if err != nil {
		return nil, err
	}
	cols, err := m.cols.split(x, n)
	if err != nil {
		return nil, fmt.Errorf("nn: mf: %w", err)
	}
	if m.pu, err = m.user.Forward(cols[0], train); err != nil {
		return nil, err
	}
	if m.qi, err = m.item.Forward(cols[1], train); err != nil {
		return nil, err
	}
	if m.bu, err = m.userBias.Forward(cols[0], train); err != nil {
		return nil, err
	}
	if m.bi, err = m.itemBias.Forward(cols[1], train); err != nil {
		return nil, err
	}
	prod, _ := m.prod.rows(n)
	y, err := m.y.rows(n)
	if err != nil {
		return nil, err
	}
	dev := m.ctx.Dev
	// y = Σ_k p_u[k]·q_i[k] + b_u + b_i + μ
	if err := dev.Binary(device.Mul, m.pu.Buffer(), m.qi.Buffer(), prod.Buffer()); err != nil {
		return nil, err
	}
	if err := dev.Reduce(device.Sum, prod.Buffer(), y.Buffer(), device.Shape3{Outer: n, Mid: m.Dim, Inner: 1}); err != nil {
		return nil, err
	}
	if err := dev.Binary(device.Add, y.Buffer(), m.bu.Buffer(), y.Buffer()); err != nil {
		return nil, err
	}
	if err := dev.Binary(device.Add, y.Buffer(), m.bi.Buffer(), y.Buffer()); err != nil {
		return nil, err
	}
	if err := dev.Broadcast(device.Add, y.Buffer(), m.mu.Value.Buffer(), y.Buffer(), device.Shape3{Outer: n, Mid: 1, Inner: 1}); err != nil {
		return nil, err
	}
	m.n = n
	return y, nil
}

// Backward implements Module: dp_u = dy·q_i, dq_i = dy·p_u, db_u = db_i = dy, dμ = Σ dy,
// plus the penalty's gradient (2·LossScale·L2·p_u and so on), scattered into the rows
// of the tables. There is no input gradient.
func (m *MF) Backward(dy *tensor.Tensor, needDX bool) (*tensor.Tensor, error) {
	if err := checkGrad("mf", m.n, dy, tensor.Shape{1}); err != nil {
		return nil, err
	}
	if needDX {
		return nil, fmt.Errorf("nn: mf: ids have no gradient (mf must come first in its model)")
	}
	n, dev, s := m.n, m.ctx.Dev, m.ctx.LossScale
	rows := device.Shape3{Outer: 1, Mid: n, Inner: m.Dim} // scale row r by dy[r]
	for _, t := range []struct {
		e          *Embedding
		other, own *tensor.Tensor
		d          *batchBuf
	}{{m.user, m.qi, m.pu, m.dp}, {m.item, m.pu, m.qi, m.dq}} {
		if !t.e.Weight().needsGrad() {
			continue
		}
		d, _ := t.d.rows(n)
		if err := dev.Broadcast(device.Mul, t.other.Buffer(), dy.Buffer(), d.Buffer(), rows); err != nil {
			return nil, err
		}
		if err := embeddingPenalty(dev, m.L2, s, t.own, d); err != nil {
			return nil, err
		}
		if _, err := t.e.Backward(d, false); err != nil {
			return nil, err
		}
	}
	db := dy
	for k, t := range []struct {
		e   *Embedding
		own *tensor.Tensor
	}{{m.userBias, m.bu}, {m.itemBias, m.bi}} {
		if m.BiasL2 != 0 {
			// db = dy + 2·LossScale·BiasL2·b, in half k of the workspace
			v, err := m.db.of(k*n, n, 1)
			if err != nil {
				return nil, err
			}
			if err := dev.Copy(v.Buffer(), dy.Buffer()); err != nil {
				return nil, err
			}
			if err := embeddingPenalty(dev, m.BiasL2, s, t.own, v); err != nil {
				return nil, err
			}
			db = v
		}
		if _, err := t.e.Backward(db, false); err != nil {
			return nil, err
		}
	}
	if err := addBiasGrad(dev, &m.dmu, m.mu, dy, n); err != nil {
		return nil, err
	}
	return nil, nil
}
