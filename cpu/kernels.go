package cpu

// kernels holds the backend's reusable kernel state (task structs handed to the pool,
// packing buffers), so that running an op allocates nothing.
//
// Each op family keeps one task struct here. An op fills it, hands a pointer to it to the
// worker pool (see task in workers.go) and clears it afterwards, so that the kernels
// keep no reference to buffers the caller may free.
type kernels struct {
	b    *Backend
	gemm gemmState
	vec  *vecVariant // the elementwise primitives (vec.go)

	unary     unaryTask
	softmax   softmaxTask
	binary    binaryTask
	broadcast broadcastTask
	axpby     axpbyTask
	reduce    reduceTask
	loss      lossTask
	update    updateTask
	dropout   dropoutTask
	augment   augmentTask
	gather    gatherTask
	conv      convTask
	pooling   poolTask
	batchNorm batchNormTask
}

func (k *kernels) init(b *Backend) {
	k.b = b
	k.gemm.init(b.pool, b.threads)
	k.vec = vecAvailable[0]
}

// describe names the kernel variants in use, for Backend.Describe.
func (k *kernels) describe() string { return "sgemm " + k.gemm.v.String() + ", vector " + k.vec.name }

// grain is the number of elements (or multiply-adds) one goroutine takes at least:
// ops on fewer than 2*grain run on the calling goroutine, larger ones are split into
// parts of at least grain over the worker pool.
const grain = 8192

// parts is the number of parts to split n units of work into (the pool clamps it to
// its thread count).
func parts(n int) int { return max(1, n/grain) }
