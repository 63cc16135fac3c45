//go:build cuda || cudaemu

package cuda

import "github.com/gputrain/gputrain/device"

// DropoutMask implements device.Backend with the CPU's Philox stream layout, so the masks
// are the CPU's bit for bit (dropout_mask_f32: one thread per four elements).
func (b *Backend) DropoutMask(mask device.Buffer, rate float32, seed, offset uint64) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckDropout(mask, rate); err != nil {
		return err
	}
	if err := b.owns(mask); err != nil {
		return err
	}
	n := mask.Len()
	return b.elementwise(kDropoutMask, (n+3)/4, dp(mask), i64(n), u64(seed), u64(offset),
		u64(uint64(device.DropThreshold(rate))), f32(device.DropScale(rate)))
}

// Augment implements device.Backend: shifts and flips drawn per image from Philox as
// device.AugmentArgs says (augment_f32: one thread per output element).
func (b *Backend) Augment(x, y device.Buffer, a device.AugmentArgs) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckAugment(x, y, a); err != nil {
		return err
	}
	if err := b.owns(x, y); err != nil {
		return err
	}
	flip := 0
	if a.FlipH {
		flip = 1
	}
	return b.elementwise(kAugment, a.N*a.C*a.H*a.W, dp(x), dp(y), i64(a.N), i64(a.C), i64(a.H), i64(a.W),
		i64(a.MaxShift), i64(flip), u64(a.Seed), u64(a.Offset))
}
