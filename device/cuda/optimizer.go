//go:build cuda || cudaemu

package cuda

import "github.com/gputrain/gputrain/device"

// Update implements device.Backend: one optimizer step, elementwise (kernels/optimizer.cu).
// Adam's bias-corrected step size is computed on the host (Hyper.AdamStepSize), as on
// every backend; it changes each step and reaches a replayed graph as a patched kernel
// parameter.
func (b *Backend) Update(op device.OptOp, h device.Hyper, param, grad, m, v device.Buffer) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckUpdate(op, h, param, grad, m, v); err != nil {
		return err
	}
	if err := b.owns(param, grad, m, v); err != nil {
		return err
	}
	n := param.Len()
	switch op {
	case device.SGD:
		return b.elementwise(kSGD, n, dp(param), dp(grad), i64(n), f32(h.LR))
	case device.Momentum:
		nesterov := 0
		if h.Nesterov {
			nesterov = 1
		}
		return b.elementwise(kMomentum, n, dp(param), dp(grad), dp(m), i64(n), f32(h.LR), f32(h.Momentum), i64(nesterov))
	default:
		var decay float32
		if op == device.AdamW {
			decay = h.LR * h.WeightDecay
		}
		return b.elementwise(kAdam, n, dp(param), dp(grad), dp(m), dp(v), i64(n),
			f32(h.Beta1), f32(h.Beta2), f32(h.Eps), f32(h.AdamStepSize()), f32(decay))
	}
}

// rowsBlock is add_rows_i32's block (ROWS_BLOCK in kernels/optimizer.cu).
const rowsBlock = 256

// AddRows implements device.Backend: one block of add_rows_i32 appends the new ids in
// order of first appearance, without atomics (the CPU's list, element for element). The
// device does not report an id outside the table (that would need a wait): it is
// skipped.
func (b *Backend) AddRows(set, ids device.Buffer) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckAddRows(set, ids); err != nil {
		return err
	}
	if err := b.owns(set, ids); err != nil {
		return err
	}
	if ids.Len() == 0 {
		return nil
	}
	defer b.bind()()
	return b.launch(kAddRows, 1, rowsBlock, dp(set), dp(ids), i64(ids.Len()), i64((set.Len()-1)/2))
}

// rowGrid is the grid of the row kernels: the set's count is on the device, so the grid
// covers every row a set could hold, up to the per-row launch's cap; blocks past the
// count return at once.
func (b *Backend) rowGrid(rows int) int { return min(rows, b.maxGrid*4) }

// UpdateRows implements device.Backend: one block per row of the set (sgd, momentum or
// adam_update_rows_f32, the dense kernels' formulas), then rows_reset_i32 empties the
// set. Adam's step size is computed on the host, as for Update.
func (b *Backend) UpdateRows(op device.OptOp, h device.Hyper, param, grad, m, v, set device.Buffer, rowLen int) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckUpdateRows(op, h, param, grad, m, v, set, rowLen); err != nil {
		return err
	}
	if err := b.owns(param, grad, m, v, set); err != nil {
		return err
	}
	rows := param.Len() / rowLen
	if rows == 0 {
		return nil
	}
	defer b.bind()()
	grid, block := b.rowGrid(rows), rowBlock(rowLen)
	var err error
	switch op {
	case device.SGD:
		err = b.launch(kSGDRows, grid, block, dp(param), dp(grad), dp(set), i64(rows), i64(rowLen), f32(h.LR))
	case device.Momentum:
		nesterov := 0
		if h.Nesterov {
			nesterov = 1
		}
		err = b.launch(kMomentumRows, grid, block, dp(param), dp(grad), dp(m), dp(set), i64(rows), i64(rowLen),
			f32(h.LR), f32(h.Momentum), i64(nesterov))
	default:
		var decay float32
		if op == device.AdamW {
			decay = h.LR * h.WeightDecay
		}
		err = b.launch(kAdamRows, grid, block, dp(param), dp(grad), dp(m), dp(v), dp(set), i64(rows), i64(rowLen),
			f32(h.Beta1), f32(h.Beta2), f32(h.Eps), f32(h.AdamStepSize()), f32(decay))
	}
	if err != nil {
		return err
	}
	return b.launch(kRowsReset, 1, 32, dp(set))
}

// ClearRows implements device.Backend: clear_rows_f32 zeroes the set's gradient rows,
// then rows_reset_i32 empties the set.
func (b *Backend) ClearRows(grad, set device.Buffer, rowLen int) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckClearRows(grad, set, rowLen); err != nil {
		return err
	}
	if err := b.owns(grad, set); err != nil {
		return err
	}
	rows := grad.Len() / rowLen
	if rows == 0 {
		return nil
	}
	defer b.bind()()
	if err := b.launch(kClearRows, b.rowGrid(rows), rowBlock(rowLen), dp(grad), dp(set), i64(rows), i64(rowLen)); err != nil {
		return err
	}
	return b.launch(kRowsReset, 1, 32, dp(set))
}
