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

	unary      unaryTask
	softmax    softmaxTask
	binary     binaryTask
	broadcast  broadcastTask
	axpby      axpbyTask
	reduce     reduceTask
	loss       lossTask
	update     updateTask
	updateRows updateRowsTask
	dropout    dropoutTask
	augment    augmentTask
	gather     gatherTask
	scatter    scatterTask
	permute    permuteTask
	layerNorm  layerNormTask
	rnn        rnnTask
	unfold     unfoldTask
	conv       convState
	pooling    poolTask
	batchNorm  batchNormTask
}

func (k *kernels) init(b *Backend) {
	k.b = b
	k.gemm.init(b.pool, b.threads)
	k.conv.init(b.threads)
	k.vec = vecAvailable[0]
}

// describe names the kernel variants in use, for Backend.Describe.
func (k *kernels) describe() string { return "sgemm " + k.gemm.v.String() + ", vector " + k.vec.name }

// An op is split over the worker pool only when each part has enough work to repay
// handing it to another thread (waking a worker takes a few microseconds; a busy core
// takes longer). The grains below are the elements of work per part, by the cost of an
// element, measured with BenchmarkVec and BenchmarkOps: about 8 µs of one core's time.
const (
	// grainCopy: memory-bound passes, ~0.1-0.2 ns an element (copies, adds, ReLU,
	// gathers, axpby, sums).
	grainCopy = 1 << 16
	// grain: ~1 ns an element (the optimizer updates, and the ops not measured).
	grain = 1 << 13
	// grainExp: an exp, tanh or erf per element, 5-30 ns (sigmoid, tanh, GELU, softmax,
	// softmax cross-entropy).
	grainExp = 1 << 10
)

// maxParts bounds the parts of one op. The pool hands parts out as threads become free,
// so a few more parts than threads even out uneven progress; the count does not depend
// on the thread count, and neither do the results.
const maxParts = 16

// parts is the number of parts to split n elements of work into, g elements (a grain)
// at least per part.
func parts(n, g int) int { return min(maxParts, max(1, n/g)) }
