package nn

import (
	"fmt"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/tensor"
)

// SequenceCrossEntropy is the cross-entropy of a sequence model's next-token logits:
// for outputs of per-example shape (T, V) (logits, no softmax) and int32 targets of
// shape (T), example b's loss is the mean over its T positions
//
//	loss[b] = 1/T · Σ_t logsumexp(pred[b,t,:]) - pred[b,t,target[b,t]]
//
// in nats (PyTorch's F.cross_entropy over the B·T positions gives the mean of these),
// and Correct[b] is the fraction of its positions whose highest logit is the target.
// Per-example losses keep the Trainer's sums per example; a batch's mean loss is the
// mean per-token cross-entropy. It is one SoftmaxCrossEntropy over B·T rows of V
// (device.LossArgs), then a mean over T.
type SequenceCrossEntropy struct {
	dev                 device.Backend
	t, v                int
	rowLoss, rowCorrect *batchBuf // (B, T)
	loss, correct       *batchBuf // (B)
	probs, grad         *batchBuf // (B, T, V)
	args                device.LossArgs
}

// Name implements Loss.
func (l *SequenceCrossEntropy) Name() string { return "sequence_crossentropy" }

// Classifies implements Loss: Correct is filled (the fraction of positions right).
func (l *SequenceCrossEntropy) Classifies() bool { return true }

// TargetShape is the per-example shape of the targets: (T), one int32 id per
// position.
func (l *SequenceCrossEntropy) TargetShape() tensor.Shape { return tensor.Shape{l.t} }

// Build implements Loss: out must be (T, V) with V >= 2.
func (l *SequenceCrossEntropy) Build(dev device.Backend, maxBatch int, out tensor.Shape) error {
	if len(out) != 2 || out[1] < 2 {
		return fmt.Errorf("nn: %s: model output %v, want (positions, vocabulary) with a vocabulary of at least 2", l.Name(), out)
	}
	l.dev, l.t, l.v = dev, out[0], out[1]
	var err error
	for _, p := range []struct {
		b   **batchBuf
		per tensor.Shape
	}{{&l.rowLoss, tensor.Shape{l.t}}, {&l.rowCorrect, tensor.Shape{l.t}}, {&l.loss, nil}, {&l.correct, nil},
		{&l.probs, out}, {&l.grad, out}} {
		if *p.b, err = newBatchBuf(dev, device.Float32, maxBatch, p.per); err != nil {
			return err
		}
	}
	return nil
}

// Forward implements Loss: pred is the logits (B, T, V), target the ids (B, T); logits
// is not used (pred is logits).
func (l *SequenceCrossEntropy) Forward(pred, logits, target *tensor.Tensor) (Result, error) {
	if l.dev == nil {
		return Result{}, fmt.Errorf("nn: %s used before Build", l.Name())
	}
	if pred == nil || len(pred.Shape()) != 3 || pred.Dim(1) != l.t || pred.Dim(2) != l.v {
		return Result{}, fmt.Errorf("nn: %s: prediction shape %v, want (batch, %d, %d)", l.Name(), shapeOf(pred), l.t, l.v)
	}
	n := pred.Dim(0)
	if target == nil || target.DType() != device.Int32 || target.Len() != n*l.t {
		return Result{}, fmt.Errorf("nn: %s: targets must be %d×%d int32 ids, got %v", l.Name(), n, l.t, target)
	}
	rowLoss, err := l.rowLoss.rows(n)
	if err != nil {
		return Result{}, err
	}
	rowCorrect, _ := l.rowCorrect.rows(n)
	loss, _ := l.loss.rows(n)
	correct, _ := l.correct.rows(n)
	probs, _ := l.probs.rows(n)
	grad, _ := l.grad.rows(n)
	a := device.LossArgs{Op: device.SoftmaxCrossEntropy, Rows: n * l.t, Cols: l.v, Input: pred.Buffer(), Labels: target.Buffer(),
		Probs: probs.Buffer(), Loss: rowLoss.Buffer(), Correct: rowCorrect.Buffer(), Grad: grad.Buffer()}
	if err := l.dev.Loss(a); err != nil {
		return Result{}, fmt.Errorf("nn: %s: %w", l.Name(), err)
	}
	// loss[b] = mean over t of the rows' losses (and the same for correct)
	s := device.Shape3{Outer: n, Mid: l.t, Inner: 1}
	if err := l.dev.Reduce(device.Mean, rowLoss.Buffer(), loss.Buffer(), s); err != nil {
		return Result{}, fmt.Errorf("nn: %s: %w", l.Name(), err)
	}
	if err := l.dev.Reduce(device.Mean, rowCorrect.Buffer(), correct.Buffer(), s); err != nil {
		return Result{}, fmt.Errorf("nn: %s: %w", l.Name(), err)
	}
	l.args = a
	return Result{Loss: loss, Correct: correct}, nil
}

// Backward implements Loss: the gradient of scale · Σ_b loss[b] with respect to the
// logits, scale/T · (softmax - onehot(target)) per position.
func (l *SequenceCrossEntropy) Backward(scale float32) (*tensor.Tensor, bool, error) {
	if l.args.Rows == 0 {
		return nil, false, fmt.Errorf("nn: %s: Backward before Forward", l.Name())
	}
	l.args.Scale = scale / float32(l.t)
	if err := l.dev.LossBackward(l.args); err != nil {
		return nil, false, fmt.Errorf("nn: %s backward: %w", l.Name(), err)
	}
	grad, _ := l.grad.rows(l.args.Rows / l.t)
	return grad, false, nil
}

// BCEWithLogits is the binary cross-entropy of logits against float32 targets in
// [0, 1] of the same shape (PyTorch's BCEWithLogitsLoss), per example the mean over its
// outputs of the stable form max(x,0) - x·t + log(1+exp(-|x|)) (device.LossArgs).
// Correct is the fraction of an example's outputs where (x > 0) == (t > 0.5); it does
// not classify in the Trainer's sense (targets are floats, as MSE's).
type BCEWithLogits struct {
	dev           device.Backend
	loss, correct *batchBuf
	grad          *batchBuf
	args          device.LossArgs
}

// Name implements Loss.
func (l *BCEWithLogits) Name() string { return "binary_crossentropy_with_logits" }

// Classifies implements Loss: targets are floats.
func (l *BCEWithLogits) Classifies() bool { return false }

// Build implements Loss.
func (l *BCEWithLogits) Build(dev device.Backend, maxBatch int, out tensor.Shape) error {
	l.dev = dev
	var err error
	if l.loss, err = newBatchBuf(dev, device.Float32, maxBatch, nil); err != nil {
		return err
	}
	if l.correct, err = newBatchBuf(dev, device.Float32, maxBatch, nil); err != nil {
		return err
	}
	l.grad, err = newBatchBuf(dev, device.Float32, maxBatch, out)
	return err
}

// Forward implements Loss; logits (of a softmax) are not used: pred is the logits.
func (l *BCEWithLogits) Forward(pred, logits, target *tensor.Tensor) (Result, error) {
	if l.dev == nil {
		return Result{}, fmt.Errorf("nn: %s used before Build", l.Name())
	}
	if pred == nil || target == nil || !pred.Shape().Equal(target.Shape()) || target.DType() != device.Float32 {
		return Result{}, fmt.Errorf("nn: %s: prediction %v and target %v must be float32 of the same shape", l.Name(), shapeOf(pred), shapeOf(target))
	}
	n := pred.Dim(0)
	loss, err := l.loss.rows(n)
	if err != nil {
		return Result{}, err
	}
	correct, _ := l.correct.rows(n)
	grad, _ := l.grad.rows(n)
	l.args = device.LossArgs{Op: device.BinaryCrossEntropyWithLogits, Rows: n, Cols: pred.Len() / n, Input: pred.Buffer(),
		Target: target.Buffer(), Loss: loss.Buffer(), Correct: correct.Buffer(), Grad: grad.Buffer()}
	if err := l.dev.Loss(l.args); err != nil {
		return Result{}, fmt.Errorf("nn: %s: %w", l.Name(), err)
	}
	return Result{Loss: loss, Correct: correct}, nil
}

// Backward implements Loss: scale·(σ(x) - t)/outputs.
func (l *BCEWithLogits) Backward(scale float32) (*tensor.Tensor, bool, error) {
	if l.args.Rows == 0 {
		return nil, false, fmt.Errorf("nn: %s: Backward before Forward", l.Name())
	}
	l.args.Scale = scale
	if err := l.dev.LossBackward(l.args); err != nil {
		return nil, false, fmt.Errorf("nn: %s backward: %w", l.Name(), err)
	}
	grad, _ := l.grad.rows(l.args.Rows)
	return grad, false, nil
}
