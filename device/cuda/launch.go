//go:build cuda || cudaemu

package cuda

import "math"

// Kernel parameters travel in 8-byte slots: gorgonia.org/cu's Function.Launch copies 8
// bytes from each parameter pointer, and CUDA graphs get the same slots. Pointers and
// sizes are 64-bit in the kernels (long long); a float parameter reads the slot's low
// four bytes (little-endian).

func i64(v int) uint64     { return uint64(int64(v)) }
func f32(v float32) uint64 { return uint64(math.Float32bits(v)) }
func u64(v uint64) uint64  { return v }

// maxArgs is the most parameters a kernel of ours takes.
const maxArgs = 16

type opKind uint8

const (
	opKernel opKind = iota
	opGemm
	opCopy
)

// op is one unit of GPU work: a kernel launch, a cuBLAS GEMM or a device-to-device copy.
// Every op goes through Backend.submit, which launches it, captures it into a CUDA graph
// or checks it against a recorded one (graph.go).
type op struct {
	kind  opKind
	fn    kernelID
	grid  int
	block int
	shmem int
	nargs int
	args  [maxArgs]uint64
	gemm  gemmCall
	// copies
	dst, src uintptr
	bytes    int64
}

const elementwiseBlock = 256

// launch queues kernel id on grid×block threads with the given parameter slots.
func (b *Backend) launch(id kernelID, grid, block int, args ...uint64) error {
	o := op{kind: opKernel, fn: id, grid: max(grid, 1), block: block, nargs: len(args)}
	copy(o.args[:], args)
	return b.submit(&o)
}

// elementwise launches a grid-stride kernel over n items: enough blocks to cover n, at
// most 32 per SM.
func (b *Backend) elementwise(id kernelID, n int, args ...uint64) error {
	if n == 0 {
		return nil
	}
	defer b.bind()()
	grid := min((n+elementwiseBlock-1)/elementwiseBlock, b.maxGrid)
	return b.launch(id, grid, elementwiseBlock, args...)
}

// rowBlock picks the threads of a block that owns one row of cols elements: a power of
// two from 32 to 256 (the reductions in the kernels need a power of two).
func rowBlock(cols int) int {
	t := 32
	for t < 256 && t < cols {
		t *= 2
	}
	return t
}

// perRow launches one block per row (grid-stride over rows).
func (b *Backend) perRow(id kernelID, rows, cols int, args ...uint64) error {
	defer b.bind()()
	return b.launch(id, min(rows, b.maxGrid*4), rowBlock(cols), args...)
}
