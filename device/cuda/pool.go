//go:build cuda || cudaemu

package cuda

import "github.com/gputrain/gputrain/device"

// Pool implements device.Backend (max_pool_forward_f32, avg_pool_forward_f32: one
// thread per output).
func (b *Backend) Pool(op device.PoolOp, x, y device.Buffer, g device.ConvGeom) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckPool(op, x, y, nil, nil, g, false); err != nil {
		return err
	}
	if err := b.owns(x, y); err != nil {
		return err
	}
	id := kMaxPoolForward
	if op == device.AvgPool {
		id = kAvgPoolForward
	}
	ga := geomArgs(g)
	return b.elementwise(id, y.Len(), append([]uint64{dp(x), dp(y)}, ga[:]...)...)
}

// PoolBackward implements device.Backend: one thread per input element gathers the dy of
// the windows that route to it (MaxPool: the window's first maximum, found again from x
// and y), so no atomics are needed and dx is overwritten.
func (b *Backend) PoolBackward(op device.PoolOp, x, y, dy, dx device.Buffer, g device.ConvGeom) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckPool(op, x, y, dy, dx, g, true); err != nil {
		return err
	}
	if err := b.owns(x, y, dy, dx); err != nil {
		return err
	}
	ga := geomArgs(g)
	if op == device.AvgPool {
		return b.elementwise(kAvgPoolBackward, dx.Len(), append([]uint64{dp(dy), dp(dx)}, ga[:]...)...)
	}
	return b.elementwise(kMaxPoolBackward, dx.Len(), append([]uint64{dp(x), dp(y), dp(dy), dp(dx)}, ga[:]...)...)
}
