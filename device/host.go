package device

// HostMemory is implemented by backends whose buffers are ordinary memory of this
// process (cpu). HostFloat32 returns the elements of one of the backend's float32
// buffers themselves, not a copy: what is written through the slice is in the buffer,
// until the buffer is freed. Every op queued on the backend before has finished when it
// returns. It lets a collective (device/comm's mpi kind) hand a buffer to MPI without
// staging it through a copy; device/comm's benchmarks measure the difference.
type HostMemory interface {
	HostFloat32(b Buffer) ([]float32, error)
}
