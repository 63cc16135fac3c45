package cpu

import "github.com/gputrain/gputrain/device"

// TEMPORARY: every op answers Unsupported until its file lands.

func (b *Backend) unsupported(op string) error {
	return &device.UnsupportedError{Backend: "cpu", Op: op}
}

func (b *Backend) Gemm(g device.GemmArgs) error { return b.unsupported("gemm") }
func (b *Backend) Unary(op device.UnaryOp, x, y device.Buffer, p float32) error {
	return b.unsupported("unary")
}
func (b *Backend) UnaryBackward(op device.UnaryOp, x, y, dy, dx device.Buffer, p float32) error {
	return b.unsupported("unary backward")
}
func (b *Backend) Softmax(x, y device.Buffer, rows, cols int) error { return b.unsupported("softmax") }
func (b *Backend) SoftmaxBackward(y, dy, dx device.Buffer, rows, cols int) error {
	return b.unsupported("softmax backward")
}
func (b *Backend) Binary(op device.BinaryOp, a, x, c device.Buffer) error {
	return b.unsupported("binary")
}
func (b *Backend) Broadcast(op device.BinaryOp, x, v, y device.Buffer, s device.Shape3) error {
	return b.unsupported("broadcast")
}
func (b *Backend) Axpby(alpha float32, x device.Buffer, beta float32, y device.Buffer) error {
	return b.unsupported("axpby")
}
func (b *Backend) Reduce(op device.ReduceOp, x, y device.Buffer, s device.Shape3) error {
	return b.unsupported("reduce")
}
func (b *Backend) Loss(a device.LossArgs) error         { return b.unsupported("loss") }
func (b *Backend) LossBackward(a device.LossArgs) error { return b.unsupported("loss backward") }
func (b *Backend) Update(op device.OptOp, h device.Hyper, param, grad, m, v device.Buffer) error {
	return b.unsupported("update")
}
func (b *Backend) DropoutMask(mask device.Buffer, rate float32, seed, offset uint64) error {
	return b.unsupported("dropout")
}
func (b *Backend) Gather(dst, src, idx device.Buffer, rowLen int, scale float32) error {
	return b.unsupported("gather")
}
func (b *Backend) Im2Col(x, col device.Buffer, g device.ConvGeom) error {
	return b.unsupported("im2col")
}
func (b *Backend) Col2Im(col, dx device.Buffer, g device.ConvGeom) error {
	return b.unsupported("col2im")
}
func (b *Backend) Pool(op device.PoolOp, x, y device.Buffer, g device.ConvGeom) error {
	return b.unsupported("pool")
}
func (b *Backend) PoolBackward(op device.PoolOp, x, y, dy, dx device.Buffer, g device.ConvGeom) error {
	return b.unsupported("pool backward")
}
func (b *Backend) BatchNorm(a device.BatchNormArgs) error { return b.unsupported("batchnorm") }
func (b *Backend) BatchNormBackward(a device.BatchNormArgs) error {
	return b.unsupported("batchnorm backward")
}
func (b *Backend) Augment(x, y device.Buffer, a device.AugmentArgs) error {
	return b.unsupported("augment")
}
