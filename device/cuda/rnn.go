//go:build cuda || cudaemu

package cuda

import "github.com/gputrain/gputrain/device"

// RNNCell implements device.Backend: lstm_cell_forward_f32 or gru_cell_forward_f32, one
// thread per (row, unit).
func (b *Backend) RNNCell(a device.RNNCellArgs) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckRNNCell(a, false); err != nil {
		return err
	}
	if err := b.owns(a.GX, a.GH, a.Acts, a.HPrev, a.CPrev, a.H, a.C); err != nil {
		return err
	}
	n, batch, hidden := a.Batch*a.Hidden, i64(a.Batch), i64(a.Hidden)
	if a.Op == device.LSTM {
		return b.elementwise(kLSTMCellForward, n, dp(a.GX), dp(a.GH), dp(a.Acts), dp(a.CPrev), dp(a.H), dp(a.C), batch, hidden)
	}
	return b.elementwise(kGRUCellForward, n, dp(a.GX), dp(a.GH), dp(a.Acts), dp(a.HPrev), dp(a.H), batch, hidden)
}

// RNNCellBackward implements device.Backend: lstm_cell_backward_f32 or
// gru_cell_backward_f32, one thread per (row, unit).
func (b *Backend) RNNCellBackward(a device.RNNCellArgs) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckRNNCell(a, true); err != nil {
		return err
	}
	if err := b.owns(a.Acts, a.GH, a.HPrev, a.CPrev, a.C, a.DH, a.DC, a.DGX, a.DGH, a.DHPrev, a.DCPrev); err != nil {
		return err
	}
	n, batch, hidden := a.Batch*a.Hidden, i64(a.Batch), i64(a.Hidden)
	if a.Op == device.LSTM {
		return b.elementwise(kLSTMCellBackward, n, dp(a.Acts), dp(a.CPrev), dp(a.C), dp(a.DH), dp(a.DC), dp(a.DGX), dp(a.DCPrev), batch, hidden)
	}
	return b.elementwise(kGRUCellBackward, n, dp(a.Acts), dp(a.GH), dp(a.HPrev), dp(a.DH), dp(a.DGX), dp(a.DGH), dp(a.DHPrev), batch, hidden)
}
