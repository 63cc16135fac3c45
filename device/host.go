package device

import "fmt"

// HostMemory is implemented by backends whose buffers are ordinary memory of this
// process (cpu). HostFloat32 returns the elements of one of the backend's float32
// buffers themselves, not a copy: what is written through the slice is in the buffer,
// until the buffer is freed. Every op queued on the backend before has finished when it
// returns. It lets a collective (device/comm's mpi kind) hand a buffer to MPI without
// staging it through a copy; device/comm's benchmarks measure the difference.
type HostMemory interface {
	HostFloat32(b Buffer) ([]float32, error)
}

// MemoryInfo is implemented by backends that can tell how much memory new buffers may
// still take: the cpu backend reports what Linux says the process may use (MemAvailable
// within its cgroups' limits), the cuda backend the device's free memory
// (cuMemGetInfo). A program compares it with a Planner's count before it allocates.
type MemoryInfo interface {
	// AvailableMemory is the number of bytes new buffers can take now. It is an error
	// where the backend cannot tell (the cpu backend off Linux).
	AvailableMemory() (int64, error)
}

// FormatBytes writes n bytes for people, in decimal units as disks and GPU data sheets
// give them: "512 B", "38.1 GB", "1.2 TB".
func FormatBytes(n int64) string {
	const unit = 1000
	if n < unit && n > -unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n)/unit, 0
	for ; (v >= unit || v <= -unit) && i < 5; i++ {
		v /= unit
	}
	return fmt.Sprintf("%.1f %cB", v, "kMGTPE"[i])
}
