//go:build cuda

package cuda_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/device/cuda"
)

// stepRig holds the fixed buffers of a small training-like step on one backend.
type stepRig struct {
	b                               device.Backend
	src, idx, lab, x, w, bias, h    device.Buffer
	mask, probs, loss, grad, colsum device.Buffer
	m, v                            device.Buffer // Adam's moments of bias
	dw                              device.Buffer // the weight gradient
	rows, in, out                   int
}

func newStepRig(t *testing.T, b device.Backend) *stepRig {
	rng := rand.New(rand.NewPCG(7, 8))
	r := &stepRig{b: b, rows: 33, in: 31, out: 10}
	const srcRows = 100
	r.src = put(t, b, uniform(rng, srcRows*r.in))
	var err error
	r.idx, err = b.Alloc(device.Int32, r.rows)
	require.NoError(t, err)
	r.lab, err = b.Alloc(device.Int32, r.rows)
	require.NoError(t, err)
	labels := make([]int32, r.rows)
	for i := range labels {
		labels[i] = int32(i % r.out)
	}
	require.NoError(t, b.WriteInt32(r.lab, labels))
	r.x = put(t, b, make([]float32, r.rows*r.in))
	r.w = put(t, b, uniform(rng, r.in*r.out))
	r.bias = put(t, b, uniform(rng, r.out))
	for _, p := range []*device.Buffer{&r.h, &r.mask, &r.probs, &r.grad} {
		*p = put(t, b, make([]float32, r.rows*r.out))
	}
	r.loss = put(t, b, make([]float32, r.rows))
	r.colsum = put(t, b, make([]float32, r.out))
	r.m = put(t, b, make([]float32, r.out))
	r.v = put(t, b, make([]float32, r.out))
	r.dw = put(t, b, make([]float32, r.in*r.out))
	return r
}

// setBatch writes the step's indices (outside the step, as train does).
func (r *stepRig) setBatch(t *testing.T, step int) {
	idx := make([]int32, r.rows)
	for i := range idx {
		idx[i] = int32((i*7 + step*13) % 100)
	}
	require.NoError(t, r.b.WriteInt32(r.idx, idx))
}

// ops queues the step: its scalars (dropout offset, Adam's step size, a view's offset)
// change with step; its buffers do not.
func (r *stepRig) ops(step int) error {
	b := r.b
	if err := b.Gather(r.x, r.src, r.idx, r.in, 1); err != nil {
		return err
	}
	if err := b.Gemm(device.GemmArgs{M: r.rows, N: r.out, K: r.in, Alpha: 1, A: r.x, B: r.w, C: r.h}); err != nil {
		return err
	}
	if err := b.Broadcast(device.Add, r.h, r.bias, r.h, device.Shape3{Outer: r.rows, Mid: r.out, Inner: 1}); err != nil {
		return err
	}
	if err := b.Unary(device.LeakyReLU, r.h, r.h, 0.01*float32(step)); err != nil {
		return err
	}
	if err := b.DropoutMask(r.mask, 0.25, 42, uint64(step)*device.PhiloxBlocks(r.rows*r.out)); err != nil {
		return err
	}
	if err := b.Binary(device.Mul, r.h, r.mask, r.h); err != nil {
		return err
	}
	la := device.LossArgs{Op: device.SoftmaxCrossEntropy, Rows: r.rows, Cols: r.out, Input: r.h, Labels: r.lab,
		Probs: r.probs, Loss: r.loss, Grad: r.grad, Scale: 1 / float32(r.rows)}
	if err := b.Loss(la); err != nil {
		return err
	}
	if err := b.LossBackward(la); err != nil {
		return err
	}
	if err := b.Reduce(device.Sum, r.grad, r.colsum, device.Shape3{Outer: 1, Mid: r.rows, Inner: r.out}); err != nil {
		return err
	}
	// a view whose offset moves every step: the kernel's pointer parameter changes
	view, err := b.View(r.src, step%5, r.out)
	if err != nil {
		return err
	}
	if err := b.Axpby(0.5, view, 1, r.colsum); err != nil {
		return err
	}
	if err := b.Update(device.Adam, device.Hyper{LR: 1e-2, Beta1: 0.9, Beta2: 0.999, Eps: 1e-7, Step: step}, r.bias, r.colsum, r.m, r.v); err != nil {
		return err
	}
	gw := device.GemmArgs{TransA: true, M: r.in, N: r.out, K: r.rows, Alpha: 1, A: r.x, B: r.grad, C: r.dw}
	return b.Gemm(gw)
}

func (r *stepRig) state(t *testing.T) map[string][]float32 {
	out := map[string][]float32{}
	for name, x := range map[string]device.Buffer{"h": r.h, "probs": r.probs, "loss": r.loss, "grad": r.grad, "bias": r.bias, "m": r.m, "v": r.v, "dw": r.dw, "colsum": r.colsum} {
		out[name] = get(t, r.b, x)
	}
	return out
}

func plainBackend(t *testing.T) *cuda.Backend {
	b, err := cuda.New(cuda.Options{NoGraphs: true})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, b.Close()) })
	return b
}

func sameBits(t *testing.T, what string, want, got map[string][]float32) {
	t.Helper()
	for name, w := range want {
		g := got[name]
		require.Len(t, g, len(w), name)
		for i := range w {
			if math.Float32bits(w[i]) != math.Float32bits(g[i]) {
				t.Errorf("%s: %s[%d] = %v with graphs, %v with plain launches (first values %v vs %v)", what, name, i, g[i], w[i], g[:min(4, len(g))], w[:min(4, len(w))])
				break
			}
		}
	}
}

// A step replayed as a CUDA graph, with its scalars patched each time, computes exactly
// what plain launches compute, and the graph is launched once per step after capture.
func TestStepGraphReplayMatchesPlainLaunches(t *testing.T) {
	plain := plainBackend(t)
	rg, rp := newStepRig(t, gpu), newStepRig(t, plain)
	const steps = 6
	for step := 1; step <= steps; step++ {
		for _, r := range []*stepRig{rg, rp} {
			r.setBatch(t, step)
			require.NoError(t, r.b.Step("graph-test", func() error { return r.ops(step) }), "step %d on %s", step, r.b.Describe())
		}
		sameBits(t, fmt.Sprintf("step %d", step), rp.state(t), rg.state(t))
	}
	assert.Equal(t, steps-1, gpu.GraphLaunches("graph-test"), "warm-up plain, then one capture and replays; note: %q", gpu.GraphNote("graph-test"))
	assert.Zero(t, plain.GraphLaunches("graph-test"))
}

// A step that reads back to the host cannot be a graph: it runs plainly, correctly.
func TestStepWithHostTransferRunsPlainly(t *testing.T) {
	plain := plainBackend(t)
	rg, rp := newStepRig(t, gpu), newStepRig(t, plain)
	for step := 1; step <= 4; step++ {
		for _, r := range []*stepRig{rg, rp} {
			require.NoError(t, r.b.Step("host-test", func() error {
				r.setBatch(t, step) // a host write inside the step
				return r.ops(step)
			}))
		}
		sameBits(t, fmt.Sprintf("step %d", step), rp.state(t), rg.state(t))
	}
	assert.Zero(t, gpu.GraphLaunches("host-test"))
	assert.Equal(t, "write inside the step", gpu.GraphNote("host-test"))
}

// A step whose ops change shape (here: every third call skips the last GEMM) is
// re-recorded or run plainly, never replayed wrongly.
func TestStepThatChangesShapeIsNotReplayedWrongly(t *testing.T) {
	plain := plainBackend(t)
	rg, rp := newStepRig(t, gpu), newStepRig(t, plain)
	for step := 1; step <= 9; step++ {
		for _, r := range []*stepRig{rg, rp} {
			r.setBatch(t, step)
			require.NoError(t, r.b.Step("shape-test", func() error {
				if step%3 == 0 {
					return r.b.Unary(device.ReLU, r.h, r.h, 0)
				}
				return r.ops(step)
			}))
		}
		sameBits(t, fmt.Sprintf("step %d", step), rp.state(t), rg.state(t))
	}
}
