package cpu_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/cpu"
	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/device/devicetest"
)

// The conformance suite on the tuned backend with the default, one and three threads
// (three splits work unevenly over two cores), and on the reference loops themselves.
func TestConformance(t *testing.T) {
	for _, c := range []struct {
		name string
		opts cpu.Options
	}{
		{"tuned", cpu.Options{}},
		{"tuned-1-thread", cpu.Options{Threads: 1}},
		{"tuned-3-threads", cpu.Options{Threads: 3}},
		{"reference", cpu.Options{Reference: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			devicetest.Run(t, func(t *testing.T) device.Backend {
				b := cpu.New(c.opts)
				t.Cleanup(func() { b.Close() })
				return b
			})
		})
	}
}

// The conformance suite with each vector variant other than the default forced (the
// default ran above), on two threads.
func TestConformanceVectorVariants(t *testing.T) {
	for _, name := range cpu.VectorVariants()[1:] {
		t.Run(name, func(t *testing.T) {
			devicetest.Run(t, func(t *testing.T) device.Backend {
				b, err := cpu.NewWithVector(cpu.Options{Threads: 2}, name)
				require.NoError(t, err)
				t.Cleanup(func() { b.Close() })
				return b
			})
		})
	}
}

func TestRegisteredAsCPU(t *testing.T) {
	b, err := device.Open("cpu", device.Options{Threads: 2})
	require.NoError(t, err)
	defer b.Close()
	assert.Equal(t, "cpu", b.Name())
	assert.Contains(t, b.Describe(), "cpu: 2 threads")
}

func TestLabelOutOfRange(t *testing.T) {
	for _, opts := range []cpu.Options{{}, {Reference: true}} {
		b := cpu.New(opts)
		f := func(n int) device.Buffer { x, _ := b.Alloc(device.Float32, n); return x }
		labels, _ := b.Alloc(device.Int32, 3)
		require.NoError(t, b.WriteInt32(labels, []int32{0, 4, 1}))
		a := device.LossArgs{Op: device.SoftmaxCrossEntropy, Rows: 3, Cols: 4, Input: f(12), Labels: labels, Probs: f(12), Loss: f(3), Grad: f(12)}
		assert.EqualError(t, b.Loss(a), "cpu: loss softmax_cross_entropy: Labels[1] = 4 is outside [0, 4)")
		a.Op = device.CrossEntropy
		require.NoError(t, b.WriteInt32(labels, []int32{0, 1, -1}))
		assert.EqualError(t, b.LossBackward(a), "cpu: loss backward cross_entropy: Labels[2] = -1 is outside [0, 4)")
		b.Close()
	}
}

func TestGatherIndexOutOfRange(t *testing.T) {
	for _, opts := range []cpu.Options{{}, {Reference: true}} {
		b := cpu.New(opts)
		src, _ := b.Alloc(device.Float32, 6)
		dst, _ := b.Alloc(device.Float32, 4)
		idx, _ := b.Alloc(device.Int32, 2)
		require.NoError(t, b.WriteInt32(idx, []int32{2, 3}))
		assert.EqualError(t, b.Gather(dst, src, idx, 2, 1), "cpu: gather: idx[1] = 3 is outside the 3 rows of src")
		require.NoError(t, b.WriteInt32(idx, []int32{-1, 0}))
		assert.EqualError(t, b.Gather(dst, src, idx, 2, 1), "cpu: gather: idx[0] = -1 is outside the 3 rows of src")
		b.Close()
	}
}

func TestRowIndexOutOfRange(t *testing.T) {
	for _, opts := range []cpu.Options{{}, {Reference: true}} {
		b := cpu.New(opts)
		set, _ := b.Alloc(device.Int32, device.RowSetLen(3))
		ids, _ := b.Alloc(device.Int32, 3)
		require.NoError(t, b.WriteInt32(ids, []int32{0, 3, 1}))
		assert.EqualError(t, b.AddRows(set, ids), "cpu: add rows: ids[1] = 3 is outside the 3 rows of the table")
		got := make([]int32, device.RowSetLen(3))
		require.NoError(t, b.ReadInt32(got, set))
		assert.Equal(t, make([]int32, device.RowSetLen(3)), got, "a failed AddRows changes nothing")
		// A buffer that is no row set: a count past the table.
		require.NoError(t, b.WriteInt32(set, []int32{5, 0, 0, 0, 0, 0, 0}))
		p, _ := b.Alloc(device.Float32, 6)
		assert.EqualError(t, b.UpdateRows(device.SGD, device.Hyper{LR: 1}, p, p, nil, nil, set, 2),
			"cpu: update rows: the set holds 5 rows, outside [0, 3] (not a row set made by AddRows?)")
		require.NoError(t, b.WriteInt32(set, []int32{1, 7, 0, 0, 0, 0, 0}))
		assert.EqualError(t, b.ClearRows(p, set, 2), "cpu: clear rows: the set's row 0 is 7, outside the 3 rows of the table")
		b.Close()
	}
}

func TestForeignBuffer(t *testing.T) {
	b := cpu.New(cpu.Options{})
	defer b.Close()
	x, _ := b.Alloc(device.Float32, 4)
	assert.ErrorContains(t, b.Unary(device.ReLU, x, foreign{}, 0), "cpu: buffer of type cpu_test.foreign belongs to another backend")
}

type foreign struct{}

func (foreign) Len() int            { return 4 }
func (foreign) DType() device.DType { return device.Float32 }

// The ops of a training step allocate nothing on the tuned path, whether they run on the
// calling goroutine (small) or over the worker pool (large).
func TestTrainingStepOpsDoNotAllocate(t *testing.T) {
	b := cpu.New(cpu.Options{Threads: 3})
	defer b.Close()
	for _, size := range []struct {
		name            string
		rows, in, out   int
		params, srcRows int
	}{
		{"small", 32, 64, 10, 1000, 100},
		{"large", 1024, 256, 128, 100000, 2000}, // 262144-element x, 131072-element h: split over the pool
	} {
		rows, in, out := size.rows, size.in, size.out
		f := func(n int) device.Buffer {
			x, err := b.Alloc(device.Float32, n)
			require.NoError(t, err)
			require.NoError(t, b.Fill(x, 0.25))
			return x
		}
		labels, _ := b.Alloc(device.Int32, rows)
		idx, _ := b.Alloc(device.Int32, rows)
		srcU, _ := b.Alloc(device.Uint8, size.srcRows*in)
		x, w, h, dh := f(rows*in), f(in*out), f(rows*out), f(rows*out)
		bias, probs, loss, correct := f(out), f(rows*out), f(rows), f(rows)
		p, g, m, v := f(size.params), f(size.params), f(size.params), f(size.params)
		set, _ := b.Alloc(device.Int32, device.RowSetLen(size.params/8))
		ids := make([]int32, rows)
		for r := range ids {
			ids[r] = int32(r * 7 % min(size.params/8, size.srcRows))
		}
		require.NoError(t, b.WriteInt32(idx, ids))
		lossArgs := device.LossArgs{Op: device.SoftmaxCrossEntropy, Rows: rows, Cols: out, Input: h, Labels: labels,
			Probs: probs, Loss: loss, Correct: correct, Grad: dh, Scale: 1 / float32(rows)}
		hyper := device.Hyper{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-7, Step: 1}
		ops := []struct {
			name string
			fn   func() error
		}{
			{"gather", func() error { return b.Gather(x, srcU, idx, in, 1.0/255) }},
			{"gemm", func() error {
				return b.Gemm(device.GemmArgs{M: rows, N: out, K: in, Alpha: 1, A: x, B: w, C: h})
			}},
			{"gemm transA", func() error {
				return b.Gemm(device.GemmArgs{TransA: true, M: in, N: out, K: rows, Alpha: 1, A: x, B: dh, C: w})
			}},
			{"broadcast", func() error {
				return b.Broadcast(device.Add, h, bias, h, device.Shape3{Outer: rows, Mid: out, Inner: 1})
			}},
			{"unary", func() error { return b.Unary(device.ReLU, h, h, 0) }},
			{"unary backward", func() error { return b.UnaryBackward(device.ReLU, h, h, dh, dh, 0) }},
			{"loss", func() error { return b.Loss(lossArgs) }},
			{"loss backward", func() error { return b.LossBackward(lossArgs) }},
			{"reduce", func() error { return b.Reduce(device.Sum, dh, bias, device.Shape3{Outer: 1, Mid: rows, Inner: out}) }},
			{"update", func() error { return b.Update(device.Adam, hyper, p, g, m, v) }},
			// the sparse step of a table of params/8 rows of 8 from the batch's ids
			{"add rows and update rows", func() error {
				if err := b.AddRows(set, idx); err != nil {
					return err
				}
				return b.UpdateRows(device.Adam, hyper, p, g, m, v, set, 8)
			}},
			{"clear rows", func() error { return b.ClearRows(g, set, 8) }},
			{"axpby", func() error { return b.Axpby(0.5, g, 0.9, m) }},
		}
		for _, op := range ops {
			require.NoError(t, op.fn(), "%s %s", size.name, op.name)
			allocs := testing.AllocsPerRun(10, func() { _ = op.fn() })
			assert.Zero(t, allocs, "%s %s allocates", size.name, op.name)
		}
	}
}

// The remaining ops allocate nothing either (large enough to use the pool).
func TestOtherOpsDoNotAllocate(t *testing.T) {
	b := cpu.New(cpu.Options{Threads: 3})
	defer b.Close()
	f := func(n int) device.Buffer {
		x, err := b.Alloc(device.Float32, n)
		require.NoError(t, err)
		require.NoError(t, b.Fill(x, 0.5))
		return x
	}
	conv := device.ConvGeom{N: 8, C: 4, H: 28, W: 28, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1}
	pool := device.ConvGeom{N: 8, C: 4, H: 28, W: 28, KH: 2, KW: 2, StrideH: 2, StrideW: 2}
	nx, ncol, npool := conv.N*conv.C*conv.H*conv.W, conv.N*conv.ColRows()*conv.OutH()*conv.OutW(), pool.N*pool.C*pool.OutH()*pool.OutW()
	x, y, dy, dx, col := f(nx), f(nx), f(nx), f(nx), f(ncol)
	py, pdy := f(npool), f(npool)
	w, dw, bias := f(4*conv.ColRows()), f(4*conv.ColRows()), f(4)
	w32, dw32, bias32, y32 := f(32*conv.ColRows()), f(32*conv.ColRows()), f(32), f(conv.N*32*28*28)
	bn := device.BatchNormArgs{N: 8, C: 4, Inner: 28 * 28, Training: true, Momentum: 0.1, Eps: 1e-5, X: x, Y: y,
		Gamma: f(4), Beta: f(4), RunMean: f(4), RunVar: f(4), SaveMean: f(4), SaveInvStd: f(4), DY: dy, DX: dx, DGamma: f(4), DBeta: f(4)}
	for _, op := range []struct {
		name string
		fn   func() error
	}{
		{"softmax", func() error { return b.Softmax(x, y, 256, nx/256) }},
		{"softmax backward", func() error { return b.SoftmaxBackward(y, dy, dx, 256, nx/256) }},
		{"binary", func() error { return b.Binary(device.Mul, x, dy, y) }},
		{"unary sigmoid", func() error { return b.Unary(device.Sigmoid, x, y, 0) }},
		{"unary backward tanh", func() error { return b.UnaryBackward(device.Tanh, x, y, dy, dx, 0) }},
		{"dropout", func() error { return b.DropoutMask(y, 0.5, 1, 2) }},
		{"augment", func() error {
			return b.Augment(x, y, device.AugmentArgs{N: 32, C: 1, H: 28, W: 28, MaxShift: 2, FlipH: true})
		}},
		{"im2col", func() error { return b.Im2Col(x, col, conv) }},
		{"col2im", func() error { return b.Col2Im(col, dx, conv) }},
		{"conv", func() error { return b.Conv(device.ConvArgs{G: conv, F: 4, X: x, W: w, B: bias, Y: y}) }},
		{"conv backward", func() error {
			return b.ConvBackward(device.ConvArgs{G: conv, F: 4, X: x, W: w, DY: dy, DX: dx, DW: dw, DB: bias, Accumulate: true})
		}},
		// 32 filters: the direct path where the machine has it.
		{"conv 32 filters", func() error { return b.Conv(device.ConvArgs{G: conv, F: 32, X: x, W: w32, B: bias32, Y: y32}) }},
		{"conv 32 filters backward", func() error {
			return b.ConvBackward(device.ConvArgs{G: conv, F: 32, X: x, W: w32, DY: y32, DX: dx, DW: dw32, DB: bias32})
		}},
		{"max pool", func() error { return b.Pool(device.MaxPool, x, py, pool) }},
		{"max pool backward", func() error { return b.PoolBackward(device.MaxPool, x, py, pdy, dx, pool) }},
		{"batchnorm", func() error { return b.BatchNorm(bn) }},
		{"batchnorm backward", func() error { return b.BatchNormBackward(bn) }},
	} {
		require.NoError(t, op.fn(), op.name)
		assert.Zero(t, testing.AllocsPerRun(5, func() { _ = op.fn() }), "%s allocates", op.name)
	}
}

// HostFloat32 is the buffer's memory itself: writes through it are in the buffer (and in
// a view's parent), and bad buffers are refused.
func TestHostFloat32(t *testing.T) {
	b := cpu.New(cpu.Options{Threads: 1})
	defer b.Close()
	x, _ := b.Alloc(device.Float32, 6)
	require.NoError(t, b.WriteFloat32(x, []float32{1, 2, 3, 4, 5, 6}))
	v, err := b.View(x, 2, 3)
	require.NoError(t, err)
	p, err := b.HostFloat32(v)
	require.NoError(t, err)
	assert.Equal(t, []float32{3, 4, 5}, p)
	p[1] = 40
	got := make([]float32, 6)
	require.NoError(t, b.ReadFloat32(got, x))
	assert.Equal(t, []float32{1, 2, 3, 40, 5, 6}, got)

	ints, _ := b.Alloc(device.Int32, 2)
	_, err = b.HostFloat32(ints)
	assert.EqualError(t, err, "cpu: host float32: the buffer is int32, want float32")
	_, err = b.HostFloat32(nil)
	assert.EqualError(t, err, "cpu: host float32: the buffer is nil")
	_, err = b.HostFloat32(foreign{})
	assert.EqualError(t, err, "cpu: buffer of type cpu_test.foreign belongs to another backend")
}

// A closed backend refuses every call with device.ErrClosed.
func TestClosed(t *testing.T) {
	devicetest.Closed(t, cpu.New(cpu.Options{Threads: 2}))
	devicetest.Closed(t, cpu.New(cpu.Options{Reference: true}))
}
