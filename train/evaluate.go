package train

import (
	"errors"
	"fmt"

	gt "gorgonia.org/tensor"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/device/comm"
	"github.com/gputrain/gputrain/tensor"
)

// Result is a model's mean loss and accuracy over a data set (Accuracy is 0 for losses
// that do not classify).
type Result struct {
	Loss     float64
	Accuracy float64
	Examples int
}

// Evaluate computes the model's mean loss and accuracy on d, in inference mode (no
// dropout, running batch-norm statistics), in batches of BatchSize.
func (t *Trainer) Evaluate(d Dataset) (Result, error) {
	if d.X == nil || len(d.X.Shape()) < 2 {
		return Result{}, fmt.Errorf("train: evaluation data X must have shape (examples, features…)")
	}
	if err := t.Build(tensor.Shape(d.X.Shape()[1:])); err != nil {
		return Result{}, err
	}
	if d.Len() == 0 {
		return Result{}, fmt.Errorf("train: evaluation data has no examples")
	}
	if err := t.net.RefreshHalf(); err != nil {
		return Result{}, err
	}
	set, err := upload(t.Dev, "evaluation", d, t.net.InputShape(), t.net.OutputShape(), t.classes())
	if err != nil {
		return Result{}, err
	}
	defer set.free()
	ranks, rank := t.ranks()
	if t.dist() {
		if err := comm.Agree(t.Comm, "the evaluation data", digest(d)); err != nil {
			if errors.Is(err, comm.ErrDisagree) {
				return Result{}, disagreement{err}
			}
			return Result{}, fmt.Errorf("train: %w", err)
		}
	}
	if err := set.shard(t.Dev, 0, set.n, t.batchSize(), ranks, rank); err != nil {
		return Result{}, err
	}
	return t.evaluate(set)
}

// evaluate runs inference over the batches of set and averages loss and accuracy. In a
// data-parallel job each rank runs its share of each batch, with rank 0's BatchNorm
// statistics, and the sums are added over the ranks.
func (t *Trainer) evaluate(set *deviceSet) (Result, error) {
	if t.dist() {
		if err := t.broadcastState(); err != nil {
			return Result{}, err
		}
	}
	if err := t.evalM.reset(t.Dev); err != nil {
		return Result{}, err
	}
	n := 0
	for k, order := range set.orderV {
		n += set.global[k]
		if order == nil {
			continue
		}
		rows := order.Len()
		idx, err := t.idx.rows(rows)
		if err != nil {
			return Result{}, err
		}
		if err := t.Dev.Copy(idx.Buffer(), order.Buffer()); err != nil {
			return Result{}, err
		}
		x, y, err := t.gather(set, rows)
		if err != nil {
			return Result{}, err
		}
		if err := t.evalBatch(x, y); err != nil {
			return Result{}, err
		}
	}
	loss, correct, _, err := t.readSums(t.evalM, false)
	if err != nil {
		return Result{}, err
	}
	return Result{Loss: loss / float64(n), Accuracy: correct / float64(n), Examples: n}, nil
}

// Predict returns the model's outputs for the examples of x (shape (N, features…), as
// Dataset.X): an (N, outputs…) Float32 array, class probabilities for a softmax model.
// It needs only the Model and the Dev (no Loss, no Optimizer, no labels), see
// nn.Model.Predict.
func (t *Trainer) Predict(x *gt.Dense) (*gt.Dense, error) {
	if x == nil || len(x.Shape()) < 2 {
		return nil, fmt.Errorf("train: Predict: X must have shape (examples, features…)")
	}
	if err := t.BuildModel(tensor.Shape(x.Shape()[1:])); err != nil {
		return nil, err
	}
	return t.net.Predict(x)
}

// rowsBuf is a (max, per) workspace with cached views of its first rows, also reshaped
// to a per-example shape.
type rowsBuf struct {
	full   *tensor.Tensor
	views  map[int]*tensor.Tensor
	shapes map[int]*tensor.Tensor
}

func newRowsBuf(dev device.Backend, dt device.DType, max, per int) (*rowsBuf, error) {
	t, err := tensor.New(dev, dt, max, per)
	if err != nil {
		return nil, err
	}
	return &rowsBuf{full: t, views: map[int]*tensor.Tensor{}, shapes: map[int]*tensor.Tensor{}}, nil
}

func (b *rowsBuf) rows(n int) (*tensor.Tensor, error) {
	if v, ok := b.views[n]; ok {
		return v, nil
	}
	v, err := b.full.Rows(0, n)
	if err != nil {
		return nil, err
	}
	b.views[n] = v
	return v, nil
}

// shaped returns the first n rows viewed as (n, per...).
func (b *rowsBuf) shaped(n int, per tensor.Shape) (*tensor.Tensor, error) {
	if v, ok := b.shapes[n]; ok && v.Shape()[1:].Equal(per) {
		return v, nil
	}
	v, err := b.full.View(0, append([]int{n}, per...)...)
	if err != nil {
		return nil, err
	}
	b.shapes[n] = v
	return v, nil
}

// evalBatch adds the batch x, y to the evaluation sums (evalM): the model in inference
// mode, then the loss.
func (t *Trainer) evalBatch(x, y *tensor.Tensor) error {
	out, err := t.net.Forward(x, false)
	if err != nil {
		return err
	}
	res, err := t.Loss.Forward(out, t.net.Logits(), y)
	if err != nil {
		return err
	}
	return t.accumulate(res, t.evalM)
}
