//go:build cuda || cudaemu

package cuda

import "github.com/gputrain/gputrain/device"

var (
	binaryKernels    = [...]kernelID{device.Add: kAdd, device.Sub: kSub, device.Mul: kMul, device.Div: kDiv}
	broadcastKernels = [...]kernelID{device.Add: kBroadcastAdd, device.Sub: kBroadcastSub, device.Mul: kBroadcastMul, device.Div: kBroadcastDiv}
)

// Binary implements device.Backend: c = a op b elementwise (add_f32, sub_f32, …).
func (b *Backend) Binary(op device.BinaryOp, x, y, c device.Buffer) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckBinary(op, x, y, c); err != nil {
		return err
	}
	if err := b.owns(x, y, c); err != nil {
		return err
	}
	n := x.Len()
	return b.elementwise(binaryKernels[op], n, dp(x), dp(y), dp(c), i64(n))
}

// Broadcast implements device.Backend: y[o,m,i] = x[o,m,i] op v[m] (broadcast_<op>_f32).
func (b *Backend) Broadcast(op device.BinaryOp, x, v, y device.Buffer, s device.Shape3) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckBroadcast(op, x, v, y, s); err != nil {
		return err
	}
	if err := b.owns(x, v, y); err != nil {
		return err
	}
	return b.elementwise(broadcastKernels[op], s.Len(), dp(x), dp(v), dp(y), i64(s.Outer), i64(s.Mid), i64(s.Inner))
}

// Axpby implements device.Backend: y = alpha*x + beta*y; with beta == 0, y is not read
// (axpby_f32).
func (b *Backend) Axpby(alpha float32, x device.Buffer, beta float32, y device.Buffer) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckAxpby(x, y); err != nil {
		return err
	}
	if err := b.owns(x, y); err != nil {
		return err
	}
	n := x.Len()
	return b.elementwise(kAxpby, n, dp(x), dp(y), i64(n), f32(alpha), f32(beta))
}
