//go:build cuda || cudaemu

package cuda

import (
	"unsafe"

	"github.com/gputrain/gputrain/device"
)

// The typed transfers of device.Backend, over the write and read of memory.go (the GPU)
// or emu.go (the CPU emulator). A read waits for every queued op.

// WriteFloat32 implements device.Backend.
func (b *Backend) WriteFloat32(dst device.Buffer, src []float32) error {
	return b.write(dst, device.Float32, len(src), unsafe.Pointer(unsafe.SliceData(src)))
}

// WriteInt32 implements device.Backend.
func (b *Backend) WriteInt32(dst device.Buffer, src []int32) error {
	return b.write(dst, device.Int32, len(src), unsafe.Pointer(unsafe.SliceData(src)))
}

// WriteUint8 implements device.Backend.
func (b *Backend) WriteUint8(dst device.Buffer, src []uint8) error {
	return b.write(dst, device.Uint8, len(src), unsafe.Pointer(unsafe.SliceData(src)))
}

// ReadFloat32 implements device.Backend: it waits for every queued op.
func (b *Backend) ReadFloat32(dst []float32, src device.Buffer) error {
	return b.read(unsafe.Pointer(unsafe.SliceData(dst)), device.Float32, len(dst), src)
}

// ReadInt32 implements device.Backend: it waits for every queued op.
func (b *Backend) ReadInt32(dst []int32, src device.Buffer) error {
	return b.read(unsafe.Pointer(unsafe.SliceData(dst)), device.Int32, len(dst), src)
}
