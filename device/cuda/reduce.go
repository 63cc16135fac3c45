//go:build cuda || cudaemu

package cuda

import "github.com/gputrain/gputrain/device"

var reduceKernels = [...]kernelID{device.Sum: kReduceSum, device.Mean: kReduceMean, device.Max: kReduceMax, device.ArgMax: kReduceArgMax, device.SumSquares: kReduceSumSquares, device.Norm: kReduceNorm}

// reduceThreads is REDUCE_THREADS in kernels/reduce.cu.
const reduceThreads = 256

// Reduce implements device.Backend: y[o,i] = reduce over m of x[o,m,i]. One block of 256
// threads per (o, tile of 32 consecutive i), or per o when Inner is 1 (reduce_<op>_f32).
func (b *Backend) Reduce(op device.ReduceOp, x, y device.Buffer, s device.Shape3) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckReduce(op, x, y, s); err != nil {
		return err
	}
	if err := b.owns(x, y); err != nil {
		return err
	}
	lanes := 32
	if s.Inner == 1 {
		lanes = 1
	}
	blocks := s.Outer * ((s.Inner + lanes - 1) / lanes)
	defer b.bind()()
	return b.launch(reduceKernels[op], min(blocks, b.maxGrid*4), reduceThreads, dp(x), dp(y), i64(s.Outer), i64(s.Mid), i64(s.Inner))
}
