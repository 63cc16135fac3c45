package nn

import (
	"fmt"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/tensor"
)

// Loss scores a batch of model outputs against targets.
type Loss interface {
	// Name names the loss ("sparse_categorical_crossentropy", "mse").
	Name() string
	// Build prepares workspaces for batches of up to maxBatch outputs of shape out.
	Build(dev device.Backend, maxBatch int, out tensor.Shape) error
	// Forward computes the per-example losses of the batch. pred is the model's output;
	// logits is the input of its final softmax when it has one (Model.Logits), else
	// nil; target holds int32 class labels (classification) or float32 values shaped
	// like pred (regression).
	Forward(pred, logits, target *tensor.Tensor) (Result, error)
	// Backward returns the gradient of scale · Σ (the per-example losses of the last
	// Forward): with respect to pred, or to logits when fromLogits is true. scale =
	// 1/batch gives the gradient of the batch's mean loss; a step accumulated over
	// several micro-batches (or ranks) passes 1/(all their examples).
	Backward(scale float32) (grad *tensor.Tensor, fromLogits bool, err error)
	// Classifies reports whether Forward fills Result.Correct.
	Classifies() bool
}

// Result is a batch's per-example loss and, for classification, per-example correctness
// (1 where the highest-scoring class is the label, else 0). Both have one value per example.
type Result struct {
	Loss    *tensor.Tensor
	Correct *tensor.Tensor
}

// SparseCategoricalCrossEntropy is the cross-entropy of integer class labels, Keras'
// sparse_categorical_crossentropy. With FromLogits the model's output is taken as logits;
// otherwise as probabilities, and when the model ends in a softmax the loss is computed
// from that softmax's input (the exact logsumexp form, as Keras does), with the gradient
// flowing to the logits directly.
type SparseCategoricalCrossEntropy struct {
	FromLogits bool

	dev           device.Backend
	classes       int
	loss, correct *batchBuf
	probs, grad   *batchBuf
	args          device.LossArgs
	usedLogits    bool
}

// Name implements Loss.
func (l *SparseCategoricalCrossEntropy) Name() string { return "sparse_categorical_crossentropy" }

// Classifies implements Loss.
func (l *SparseCategoricalCrossEntropy) Classifies() bool { return true }

// Build implements Loss: out must be (classes).
func (l *SparseCategoricalCrossEntropy) Build(dev device.Backend, maxBatch int, out tensor.Shape) error {
	if len(out) != 1 || out[0] < 2 {
		return fmt.Errorf("nn: %s: model output %v, want (classes) with at least 2 classes", l.Name(), out)
	}
	l.dev, l.classes = dev, out[0]
	var err error
	for _, p := range []struct {
		b   **batchBuf
		per tensor.Shape
	}{{&l.loss, nil}, {&l.correct, nil}, {&l.probs, out}, {&l.grad, out}} {
		if *p.b, err = newBatchBuf(dev, device.Float32, maxBatch, p.per); err != nil {
			return err
		}
	}
	return nil
}

// Forward implements Loss.
func (l *SparseCategoricalCrossEntropy) Forward(pred, logits, target *tensor.Tensor) (Result, error) {
	if l.dev == nil {
		return Result{}, fmt.Errorf("nn: %s used before Build", l.Name())
	}
	if pred == nil || len(pred.Shape()) != 2 || pred.Dim(1) != l.classes {
		return Result{}, fmt.Errorf("nn: %s: prediction shape %v, want (batch, %d)", l.Name(), shapeOf(pred), l.classes)
	}
	n := pred.Dim(0)
	if target == nil || target.DType() != device.Int32 || target.Len() != n {
		return Result{}, fmt.Errorf("nn: %s: targets must be %d int32 class labels, got %v", l.Name(), n, target)
	}
	loss, err := l.loss.rows(n)
	if err != nil {
		return Result{}, err
	}
	correct, err := l.correct.rows(n)
	if err != nil {
		return Result{}, err
	}
	probs, err := l.probs.rows(n)
	if err != nil {
		return Result{}, err
	}
	grad, err := l.grad.rows(n)
	if err != nil {
		return Result{}, err
	}
	a := device.LossArgs{Rows: n, Cols: l.classes, Labels: target.Buffer(), Loss: loss.Buffer(),
		Correct: correct.Buffer(), Grad: grad.Buffer(), Scale: 1 / float32(n)}
	l.usedLogits = false
	switch {
	case l.FromLogits:
		a.Op, a.Input, a.Probs = device.SoftmaxCrossEntropy, pred.Buffer(), probs.Buffer()
	case logits != nil:
		a.Op, a.Input, a.Probs = device.SoftmaxCrossEntropy, logits.Buffer(), probs.Buffer()
		l.usedLogits = true
	default:
		a.Op, a.Input = device.CrossEntropy, pred.Buffer()
	}
	if err := l.dev.Loss(a); err != nil {
		return Result{}, fmt.Errorf("nn: %s: %w", l.Name(), err)
	}
	l.args = a
	return Result{Loss: loss, Correct: correct}, nil
}

// Backward implements Loss.
func (l *SparseCategoricalCrossEntropy) Backward(scale float32) (*tensor.Tensor, bool, error) {
	if l.args.Rows == 0 {
		return nil, false, fmt.Errorf("nn: %s: Backward before Forward", l.Name())
	}
	l.args.Scale = scale
	if err := l.dev.LossBackward(l.args); err != nil {
		return nil, false, fmt.Errorf("nn: %s backward: %w", l.Name(), err)
	}
	grad, _ := l.grad.rows(l.args.Rows) // made by Forward for these rows: a lookup that cannot fail
	return grad, l.usedLogits, nil
}

// MSE is the mean squared error between predictions and float32 targets of the same
// shape, averaged over the outputs of each example and over the batch.
type MSE struct {
	dev        device.Backend
	per        tensor.Shape
	loss, grad *batchBuf
	args       device.LossArgs
}

// Name implements Loss.
func (l *MSE) Name() string { return "mse" }

// Classifies implements Loss.
func (l *MSE) Classifies() bool { return false }

// Build implements Loss.
func (l *MSE) Build(dev device.Backend, maxBatch int, out tensor.Shape) error {
	l.dev, l.per = dev, out.Clone()
	var err error
	if l.loss, err = newBatchBuf(dev, device.Float32, maxBatch, nil); err != nil {
		return err
	}
	l.grad, err = newBatchBuf(dev, device.Float32, maxBatch, out)
	return err
}

// Forward implements Loss; logits are not used.
func (l *MSE) Forward(pred, logits, target *tensor.Tensor) (Result, error) {
	if l.dev == nil {
		return Result{}, fmt.Errorf("nn: mse used before Build")
	}
	if pred == nil || target == nil || !pred.Shape().Equal(target.Shape()) || target.DType() != device.Float32 {
		return Result{}, fmt.Errorf("nn: mse: prediction %v and target %v must be float32 of the same shape", shapeOf(pred), shapeOf(target))
	}
	n := pred.Dim(0)
	loss, err := l.loss.rows(n)
	if err != nil {
		return Result{}, err
	}
	grad, err := l.grad.rows(n)
	if err != nil {
		return Result{}, err
	}
	l.args = device.LossArgs{Op: device.MSE, Rows: n, Cols: pred.Len() / n, Input: pred.Buffer(), Target: target.Buffer(),
		Loss: loss.Buffer(), Grad: grad.Buffer(), Scale: 1 / float32(n)}
	if err := l.dev.Loss(l.args); err != nil {
		return Result{}, fmt.Errorf("nn: mse: %w", err)
	}
	return Result{Loss: loss}, nil
}

// Backward implements Loss.
func (l *MSE) Backward(scale float32) (*tensor.Tensor, bool, error) {
	if l.args.Rows == 0 {
		return nil, false, fmt.Errorf("nn: mse: Backward before Forward")
	}
	l.args.Scale = scale
	if err := l.dev.LossBackward(l.args); err != nil {
		return nil, false, fmt.Errorf("nn: mse backward: %w", err)
	}
	grad, _ := l.grad.rows(l.args.Rows) // made by Forward for these rows: a lookup that cannot fail
	return grad, false, nil
}
