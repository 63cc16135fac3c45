package cpu

import (
	"fmt"
	"math"

	"github.com/gputrain/gputrain/device"
)

// Loss implements device.Backend: per-row losses of a.Input (a.Rows×a.Cols) into a.Loss,
// the probabilities into a.Probs for SoftmaxCrossEntropy, and, when a.Correct is set,
// 1 where the row's first maximum is at its label (see device.LossOp). Errors: those of
// device.CheckLoss, a buffer of another backend, or a label outside [0, Cols) (naming its
// row and value).
func (b *Backend) Loss(a device.LossArgs) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckLoss(a, false); err != nil {
		return err
	}
	if err := b.lossOperands(a, false); err != nil {
		return err
	}
	t := &b.kernels.loss
	t.set(a)
	t.vec = b.kernels.vec
	if b.reference {
		lossRef(t)
	} else {
		b.pool.parallel(parts(a.Rows*a.Cols, grainExp), t)
	}
	*t = lossTask{}
	return nil
}

// LossBackward implements device.Backend: a.Grad = the gradient of a.Scale * sum of the
// per-row losses with respect to a.Input (see device.LossOp; SoftmaxCrossEntropy reads
// the a.Probs its Loss wrote). Errors: those of device.CheckLoss, a buffer of another
// backend, or a label outside [0, Cols).
func (b *Backend) LossBackward(a device.LossArgs) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckLoss(a, true); err != nil {
		return err
	}
	if err := b.lossOperands(a, true); err != nil {
		return err
	}
	t := &b.kernels.loss
	t.set(a)
	t.vec = b.kernels.vec
	t.backward = true
	if b.reference {
		lossBackwardRef(t)
	} else {
		b.pool.parallel(parts(a.Rows*a.Cols, grainCopy), t)
	}
	*t = lossTask{}
	return nil
}

// lossOperands checks that a's buffers belong to b and that its labels are in range.
func (b *Backend) lossOperands(a device.LossArgs, backward bool) error {
	if err := own(a.Input, a.Labels, a.Target, a.Probs, a.Loss, a.Correct, a.Grad); err != nil {
		return err
	}
	if a.Op == device.MSE || a.Op == device.BinaryCrossEntropyWithLogits {
		return nil
	}
	for r, l := range i32(a.Labels) {
		if l < 0 || int(l) >= a.Cols {
			what := "loss"
			if backward {
				what = "loss backward"
			}
			return fmt.Errorf("cpu: %s %s: Labels[%d] = %d is outside [0, %d)", what, a.Op, r, l, a.Cols)
		}
	}
	return nil
}

// lossTask holds a Loss or LossBackward call as slices; its run does a range of rows.
type lossTask struct {
	vec                 *vecVariant
	op                  device.LossOp
	backward            bool
	rows, cols          int
	in, target, probs   []float32
	loss, correct, grad []float32
	labels              []int32
	scale               float32
}

func (t *lossTask) set(a device.LossArgs) {
	*t = lossTask{op: a.Op, rows: a.Rows, cols: a.Cols, scale: a.Scale,
		in: f32(a.Input), target: f32(a.Target), probs: f32(a.Probs),
		loss: f32(a.Loss), correct: f32(a.Correct), grad: f32(a.Grad)}
	if a.Labels != nil {
		t.labels = i32(a.Labels)
	}
}

// crossEntropyClamp returns Keras' clamp bounds ε and 1-ε, in float32.
func crossEntropyClamp() (lo, hi float32) {
	lo = float32(device.CrossEntropyEps)
	return lo, 1 - lo
}

// lossRef is the reference Loss, in float64: in, probs, target are rows×cols; labels,
// loss, correct are [rows].
func lossRef(t *lossTask) {
	lo, hi := crossEntropyClamp()
	for r := range t.rows {
		in := t.in[r*t.cols : (r+1)*t.cols] // row r of Input
		var loss float64
		switch t.op {
		case device.SoftmaxCrossEntropy:
			// loss = logsumexp(in) - in[label]; probs = exp(in - logsumexp(in))
			mx := in[0]
			for _, v := range in {
				mx = max(mx, v)
			}
			var sum float64
			for _, v := range in {
				sum += math.Exp(float64(v - mx))
			}
			lse := float64(mx) + math.Log(sum)
			for c, v := range in {
				t.probs[r*t.cols+c] = float32(math.Exp(float64(v) - lse))
			}
			loss = lse - float64(in[t.labels[r]])
		case device.CrossEntropy:
			// loss = -log(clamp(p[label], ε, 1-ε))
			p := min(max(in[t.labels[r]], lo), hi)
			loss = -math.Log(float64(p))
		case device.MSE:
			// loss = mean over c of (in - target)²
			for c, v := range in {
				d := float64(v) - float64(t.target[r*t.cols+c])
				loss += d * d
			}
			loss /= float64(t.cols)
		case device.BinaryCrossEntropyWithLogits:
			// loss = mean over c of max(x,0) - x*t + log(1+exp(-|x|)); correct = the
			// fraction of columns where (x > 0) == (t > 0.5)
			hits := 0
			for c, v := range in {
				x, tg := float64(v), float64(t.target[r*t.cols+c])
				loss += max(x, 0) - x*tg + math.Log1p(math.Exp(-math.Abs(x)))
				if (x > 0) == (tg > 0.5) {
					hits++
				}
			}
			loss /= float64(t.cols)
			if t.correct != nil {
				t.correct[r] = float32(float64(hits) / float64(t.cols))
			}
		}
		t.loss[r] = float32(loss)
		if t.correct != nil && t.op != device.BinaryCrossEntropyWithLogits {
			t.correct[r] = 0
			if argmax(in) == int(t.labels[r]) {
				t.correct[r] = 1
			}
		}
	}
}

// lossBackwardRef is the reference LossBackward: grad (rows×cols) of scale * sum of the
// losses.
func lossBackwardRef(t *lossTask) {
	lo, hi := crossEntropyClamp()
	for r := range t.rows {
		for c := range t.cols {
			j := r*t.cols + c
			switch t.op {
			case device.SoftmaxCrossEntropy:
				// scale * (probs - onehot(label))
				g := t.probs[j]
				if c == int(t.labels[r]) {
					g--
				}
				t.grad[j] = t.scale * g
			case device.CrossEntropy:
				// -scale/p at the label where the clamp passes p, else 0
				t.grad[j] = 0
				if p := t.in[j]; c == int(t.labels[r]) && p >= lo && p <= hi {
					t.grad[j] = -t.scale / p
				}
			case device.MSE:
				// scale * 2 * (in - target) / cols
				t.grad[j] = t.scale * 2 * (t.in[j] - t.target[j]) / float32(t.cols)
			case device.BinaryCrossEntropyWithLogits:
				// scale * (σ(in) - target) / cols
				t.grad[j] = float32(float64(t.scale) * (sigmoid64(float64(t.in[j])) - float64(t.target[j])) / float64(t.cols))
			}
		}
	}
}

// run does rows [lo, hi) of the loss or its gradient. Softmax cross-entropy is fused:
// one call per row finds the maximum, writes the probabilities and yields the loss.
func (t *lossTask) run(part, parts int) {
	lo, hi := split(t.rows, part, parts, 1)
	n := t.cols
	if t.backward {
		t.backwardRows(lo, hi)
		return
	}
	if t.op == device.SoftmaxCrossEntropy {
		t.softmaxCrossEntropyRows(lo, hi)
		return
	}
	clo, chi := crossEntropyClamp()
	for r := lo; r < hi; r++ {
		in := t.in[r*n : (r+1)*n]
		var loss float32
		arg := -1 // argmax(in), when known
		switch t.op {
		case device.CrossEntropy:
			p := min(max(in[t.labels[r]], clo), chi)
			loss = float32(-math.Log(float64(p)))
		case device.MSE:
			target := t.target[r*n : (r+1)*n]
			var s float32
			for c, v := range in {
				d := v - target[c]
				s += d * d
			}
			loss = s / float32(n)
		case device.BinaryCrossEntropyWithLogits:
			target := t.target[r*n : (r+1)*n]
			var s float32
			hits := 0
			for c, v := range in {
				tg := target[c]
				s += max(v, 0) - v*tg + float32(math.Log1p(float64(expf(-abs32(v)))))
				if (v > 0) == (tg > 0.5) {
					hits++
				}
			}
			loss = s / float32(n)
			if t.correct != nil {
				t.correct[r] = float32(hits) / float32(n)
			}
			t.loss[r] = loss
			continue
		}
		t.loss[r] = loss
		if t.correct != nil {
			if arg < 0 {
				arg = argmax(in)
			}
			t.correct[r] = 0
			if arg == int(t.labels[r]) {
				t.correct[r] = 1
			}
		}
	}
}

// softmaxCrossEntropyRows does rows [lo, hi) of the fused softmax cross-entropy:
// probs = softmax(in) (probs may alias in) and loss = logsumexp(in) - in[label] =
// (max - in[label]) + log(sum of exp(in - max)). Three passes, so that the
// exponentials of all the rows run as one vector pass: per row the maximum (and the
// correct flag from its index), in - max into probs and max - in[label] into loss; the
// exponentials; per row the sum, the normalisation and the log.
func (t *lossTask) softmaxCrossEntropyRows(lo, hi int) {
	n := t.cols
	for r := lo; r < hi; r++ {
		in, label := t.in[r*n:(r+1)*n], int(t.labels[r])
		xl := in[label] // before probs, which may alias in, overwrites it
		mx, arg := softmaxShift(in, t.probs[r*n:(r+1)*n])
		t.loss[r] = mx - xl
		if t.correct != nil {
			t.correct[r] = 0
			if arg == label {
				t.correct[r] = 1
			}
		}
	}
	p := t.probs[lo*n : hi*n]
	t.vec.exp(p, p)
	for r := lo; r < hi; r++ {
		sum := softmaxNormalize(t.probs[r*n : (r+1)*n])
		t.loss[r] += float32(math.Log(float64(sum)))
	}
}

func (t *lossTask) backwardRows(lo, hi int) {
	n := t.cols
	grad := t.grad[lo*n : hi*n]
	s := t.scale
	switch t.op {
	case device.SoftmaxCrossEntropy:
		for i, p := range t.probs[lo*n : hi*n] {
			grad[i] = s * p
		}
		for r := lo; r < hi; r++ {
			j := r*n + int(t.labels[r])
			t.grad[j] = s * (t.probs[j] - 1)
		}
	case device.CrossEntropy:
		clear(grad)
		clo, chi := crossEntropyClamp()
		for r := lo; r < hi; r++ {
			j := r*n + int(t.labels[r])
			if p := t.in[j]; p >= clo && p <= chi {
				t.grad[j] = -s / p
			}
		}
	case device.MSE:
		in, target := t.in[lo*n:hi*n], t.target[lo*n:hi*n]
		for i, v := range in {
			grad[i] = s * 2 * (v - target[i]) / float32(n)
		}
	case device.BinaryCrossEntropyWithLogits:
		in, target := t.in[lo*n:hi*n], t.target[lo*n:hi*n]
		t.vec.sigmoid(grad, in)
		k := s / float32(n)
		for i, p := range grad {
			grad[i] = k * (p - target[i])
		}
	}
}

func abs32(x float32) float32 { return math.Float32frombits(math.Float32bits(x) &^ (1 << 31)) }
