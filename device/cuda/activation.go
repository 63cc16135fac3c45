//go:build cuda || cudaemu

package cuda

import "github.com/gputrain/gputrain/device"

// The activation kernels of kernels/activation.cu, by op.
var (
	unaryForward = [...]kernelID{device.ReLU: kReLUForward, device.LeakyReLU: kLeakyReLUForward, device.Sigmoid: kSigmoidForward,
		device.Tanh: kTanhForward, device.GELU: kGELUForward, device.GELUTanh: kGELUTanhForward}
	unaryBackward = [...]kernelID{device.ReLU: kReLUBackward, device.LeakyReLU: kLeakyReLUBackward, device.Sigmoid: kSigmoidBackward,
		device.Tanh: kTanhBackward, device.GELU: kGELUBackward, device.GELUTanh: kGELUTanhBackward}
)

// Unary implements device.Backend: y = f(x) elementwise (kernels <op>_forward_f32).
func (b *Backend) Unary(op device.UnaryOp, x, y device.Buffer, p float32) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckUnary(op, x, y); err != nil {
		return err
	}
	if err := b.owns(x, y); err != nil {
		return err
	}
	n := x.Len()
	if op == device.LeakyReLU {
		return b.elementwise(unaryForward[op], n, dp(x), dp(y), i64(n), f32(p))
	}
	return b.elementwise(unaryForward[op], n, dp(x), dp(y), i64(n))
}

// UnaryBackward implements device.Backend: dx = dy * f'(·), f' read from x, or from
// y = f(x) for Sigmoid and Tanh (kernels <op>_backward_f32).
func (b *Backend) UnaryBackward(op device.UnaryOp, x, y, dy, dx device.Buffer, p float32) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckUnaryBackward(op, x, y, dy, dx); err != nil {
		return err
	}
	if err := b.owns(x, y, dy, dx); err != nil {
		return err
	}
	src := x
	if op == device.Sigmoid || op == device.Tanh {
		src = y
	}
	n := x.Len()
	if op == device.LeakyReLU {
		return b.elementwise(unaryBackward[op], n, dp(src), dp(dy), dp(dx), i64(n), f32(p))
	}
	return b.elementwise(unaryBackward[op], n, dp(src), dp(dy), dp(dx), i64(n))
}

// Softmax implements device.Backend: one block per row (softmax_forward_f32).
func (b *Backend) Softmax(x, y device.Buffer, rows, cols int) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckSoftmax(x, y, rows, cols); err != nil {
		return err
	}
	if err := b.owns(x, y); err != nil {
		return err
	}
	return b.perRow(kSoftmaxForward, rows, cols, dp(x), dp(y), i64(rows), i64(cols))
}

// SoftmaxBackward implements device.Backend: one block per row (softmax_backward_f32).
func (b *Backend) SoftmaxBackward(y, dy, dx device.Buffer, rows, cols int) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckSoftmaxBackward(y, dy, dx, rows, cols); err != nil {
		return err
	}
	if err := b.owns(y, dy, dx); err != nil {
		return err
	}
	return b.perRow(kSoftmaxBackward, rows, cols, dp(y), dp(dy), dp(dx), i64(rows), i64(cols))
}

// CausalSoftmax implements device.Backend: one block per row of the (batch, seq, seq)
// scores (causal_softmax_forward_f32). Its backward pass is SoftmaxBackward.
func (b *Backend) CausalSoftmax(x, y device.Buffer, batch, seq int, scale float32) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckCausalSoftmax(x, y, batch, seq, scale); err != nil {
		return err
	}
	if err := b.owns(x, y); err != nil {
		return err
	}
	return b.perRow(kCausalSoftmaxForward, batch*seq, seq, dp(x), dp(y), i64(batch*seq), i64(seq), f32(scale))
}
