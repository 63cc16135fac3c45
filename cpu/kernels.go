package cpu

// kernels holds the backend's reusable kernel state (task structs handed to the pool,
// packing buffers), so that running an op allocates nothing.
type kernels struct {
	b    *Backend
	gemm gemmState
}

func (k *kernels) init(b *Backend) {
	k.b = b
	k.gemm.init(b.pool, b.threads)
}

// describe names the kernel variants in use, for Backend.Describe.
func (k *kernels) describe() string { return "sgemm " + k.gemm.v.String() }
