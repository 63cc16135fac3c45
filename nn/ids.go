package nn

import (
	"fmt"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/tensor"
)

// idColumns splits a batch of examples of F int32 ids each, (n, F), into F columns of n
// ids, (n, 1) each, for the embeddings of a recommender (user, item, side fields): one
// Gather per column through a constant index table (column c's entry r is r·F + c). The
// index tables and the columns are allocated at build time for the largest batch;
// smaller batches use cached views.
type idColumns struct {
	dev   device.Backend
	f     int
	max   int
	idx   *tensor.Tensor // (F, max): idx[c, r] = r·F + c
	cols  *tensor.Tensor // (F, max) int32 ids
	views map[[2]int][2]*tensor.Tensor
	out   []*tensor.Tensor
}

func newIDColumns(dev device.Backend, f, maxBatch int) (*idColumns, error) {
	idx := make([]int32, f*maxBatch)
	for c := range f {
		for r := range maxBatch {
			idx[c*maxBatch+r] = int32(r*f + c)
		}
	}
	it, err := tensor.FromInt32(dev, idx, f, maxBatch)
	if err != nil {
		return nil, err
	}
	cols, err := tensor.New(dev, device.Int32, f, maxBatch)
	if err != nil {
		return nil, err
	}
	return &idColumns{dev: dev, f: f, max: maxBatch, idx: it, cols: cols, views: map[[2]int][2]*tensor.Tensor{},
		out: make([]*tensor.Tensor, f)}, nil
}

// split returns the F columns of x, (n, F) int32, as (n, 1) tensors (valid until the
// next split).
func (c *idColumns) split(x *tensor.Tensor, n int) ([]*tensor.Tensor, error) {
	if x.DType() != device.Int32 {
		return nil, fmt.Errorf("ids must be int32, got %s", x.DType())
	}
	for k := range c.f {
		v, ok := c.views[[2]int{k, n}]
		if !ok {
			var err error
			if v[0], err = c.idx.View(k*c.max, n); err != nil {
				return nil, err
			}
			if v[1], err = c.cols.View(k*c.max, n, 1); err != nil {
				return nil, err
			}
			c.views[[2]int{k, n}] = v
		}
		// column k: cols[k, r] = x[r, k]
		if err := c.dev.Gather(v[1].Buffer(), x.Buffer(), v[0].Buffer(), 1, 1); err != nil {
			return nil, err
		}
		c.out[k] = v[1]
	}
	return c.out, nil
}

// views is a cache of views of one buffer: (offset, shape) → view, so that batch-sized
// views are made once per batch size.
type views struct {
	t     *tensor.Tensor
	cache map[[3]int]*tensor.Tensor
}

func newViews(t *tensor.Tensor) *views { return &views{t: t, cache: map[[3]int]*tensor.Tensor{}} }

// of returns the view of shape (a, b) at offset off.
func (v *views) of(off, a, b int) (*tensor.Tensor, error) {
	key := [3]int{off, a, b}
	if t, ok := v.cache[key]; ok {
		return t, nil
	}
	t, err := v.t.View(off, a, b)
	if err != nil {
		return nil, err
	}
	v.cache[key] = t
	return t, nil
}

// checkIDs validates a recommender's input: (n, in…) int32 ids, n at most the built batch.
func checkIDs(kind string, ctx *Context, x *tensor.Tensor, in tensor.Shape) (int, error) {
	n, err := checkInput(kind, ctx, x, in)
	if err != nil {
		return 0, err
	}
	if x.DType() != device.Int32 {
		return 0, fmt.Errorf("nn: %s: ids must be int32, got %s", kind, x.DType())
	}
	return n, nil
}

// embeddingPenalty adds the gradient of scale·l2·Σ_r ‖e_r‖² (the batch's rows e of an
// embedding, (n, dim)) into de: de += 2·l2·scale·e.
func embeddingPenalty(dev device.Backend, l2, scale float32, e, de *tensor.Tensor) error {
	if l2 == 0 {
		return nil
	}
	return dev.Axpby(2*l2*scale, e.Buffer(), 1, de.Buffer())
}

// addBiasGrad adds Σ_r dy[r] over the batch's n rows into the gradient of mu, a global
// bias (a Reduce into acc's scratch, then added: gradients accumulate).
func addBiasGrad(dev device.Backend, acc *accumulator, mu *Param, dy *tensor.Tensor, n int) error {
	if !mu.needsGrad() {
		return nil
	}
	tmp, err := acc.scratch(dev, mu)
	if err != nil {
		return err
	}
	if err := dev.Reduce(device.Sum, dy.Buffer(), tmp.Buffer(), device.Shape3{Outer: 1, Mid: n, Inner: 1}); err != nil {
		return err
	}
	return acc.add(dev, mu)
}
