//go:build cuda

package cuda

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"

	"gorgonia.org/cu"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/kernels"
)

func init() {
	device.Register("cuda", 10, func(o device.Options) (device.Backend, error) {
		return New(Options{Device: o.GPU, Wrap: true})
	})
}

// Options configure New.
type Options struct {
	// Device is the ordinal of the GPU to use (0: the first one CUDA_VISIBLE_DEVICES shows).
	Device int
	// Wrap takes Device modulo the number of GPUs present instead of refusing an
	// ordinal past them: device.Options.GPU's rule, by which the ranks of a
	// data-parallel job pass their local rank.
	Wrap bool
	// NoGraphs makes Step launch every op directly instead of recording CUDA graphs. The
	// environment variable GPUTRAIN_CUDA_GRAPHS=0 sets it too.
	NoGraphs bool
}

// Backend is the CUDA implementation of device.Backend. It owns one context on one GPU
// and queues every op on one stream. It is not safe for concurrent use; it may be used
// from any goroutine, one at a time (each method makes the context current on the OS
// thread it runs on).
type Backend struct {
	dev     cu.Device
	ctx     cu.CUContext
	stream  cu.Stream
	modules []cu.Module
	fns     [numKernels]cu.Function
	blas    *blasHandle
	mem     *allocator
	rec     recorder // graph.go: plain launches, capture, replay
	conv    convWork // conv.go: Conv's scratch
	maxGrid int
	desc    string
	closed  bool
}

var _ device.Backend = (*Backend)(nil)

// New opens GPU opts.Device: a context, a stream, the kernels (JIT-compiled from the
// embedded PTX by the driver) and a cuBLAS handle bound to the stream. Its errors name
// the step that failed and, for the JIT, carry the driver's log.
func New(opts Options) (*Backend, error) {
	n, err := cu.NumDevices()
	if err != nil {
		return nil, fmt.Errorf("cuda: cuDeviceGetCount: %w", err)
	}
	if n == 0 {
		return nil, errors.New("cuda: the driver sees no GPU (check nvidia-smi and CUDA_VISIBLE_DEVICES)")
	}
	if opts.Wrap && opts.Device >= 0 {
		opts.Device %= n
	}
	if opts.Device < 0 || opts.Device >= n {
		return nil, fmt.Errorf("cuda: device %d requested, %d present", opts.Device, n)
	}
	dev, err := cu.GetDevice(opts.Device)
	if err != nil {
		return nil, fmt.Errorf("cuda: cuDeviceGet(%d): %w", opts.Device, err)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	ctx, err := dev.MakeContext(cu.SchedAuto)
	if err != nil {
		return nil, fmt.Errorf("cuda: cuCtxCreate on device %d: %w", opts.Device, err)
	}
	b := &Backend{dev: dev, ctx: ctx}
	fail := func(err error) (*Backend, error) {
		b.closeResources()
		return nil, err
	}
	// Flags 0: a blocking stream, ordered after work on the legacy default stream.
	if b.stream, err = cu.MakeStream(0); err != nil {
		return fail(fmt.Errorf("cuda: cuStreamCreate: %w", err))
	}
	if err := b.loadKernels(); err != nil {
		return fail(err)
	}
	sms, _ := dev.Attribute(cu.MultiprocessorCount) // 0 on failure: grids of 32 blocks, correct but slower
	b.maxGrid = max(sms, 1) * 32
	b.mem = newAllocator(b.stream.Synchronize)
	if b.blas, err = newBLAS(b); err != nil {
		return fail(err)
	}
	b.rec.init(b, !opts.NoGraphs && os.Getenv("GPUTRAIN_CUDA_GRAPHS") != "0")
	// The rest only describes the device (Describe); a failure leaves a blank in it.
	name, _ := dev.Name()
	major, _ := dev.Attribute(cu.ComputeCapabilityMajor)
	minor, _ := dev.Attribute(cu.ComputeCapabilityMinor)
	total, _ := dev.TotalMem()
	graphs := "graphs on"
	if !b.rec.graphs {
		graphs = "graphs off"
	}
	b.desc = fmt.Sprintf("cuda: device %d %s, sm_%d%d, %d SMs, %.1f GiB, driver API %d, %s",
		opts.Device, name, major, minor, sms, float64(total)/(1<<30), cu.Version(), graphs)
	return b, nil
}

// loadKernels JIT-compiles each embedded PTX module and looks up every kernel of
// kernelTable.
func (b *Backend) loadKernels() error {
	mods := map[string]cu.Module{}
	for _, family := range kernels.Families() {
		ptx, err := kernels.PTX(family)
		if err != nil {
			return err
		}
		elog := &cu.JITErrorLogBuffer{Buffer: make([]byte, 8192)}
		mod, err := cu.LoadDataEx(ptx, elog)
		if err != nil {
			log := elog.Buffer
			if i := bytes.IndexByte(log, 0); i >= 0 {
				log = log[:i]
			}
			return fmt.Errorf("cuda: loading kernels/%s.ptx (cuModuleLoadDataEx): %w; JIT log: %q", family, err, strings.TrimSpace(string(log)))
		}
		mods[family] = mod
		b.modules = append(b.modules, mod)
	}
	for id, k := range kernelTable {
		mod, ok := mods[k.family]
		if !ok {
			return fmt.Errorf("cuda: no PTX module %q for kernel %s", k.family, k.symbol)
		}
		fn, err := mod.Function(k.symbol)
		if err != nil {
			return fmt.Errorf("cuda: kernel %s not found in kernels/%s.ptx: %w", k.symbol, k.family, err)
		}
		b.fns[id] = fn
	}
	return nil
}

// bind makes the backend's context current on this goroutine's OS thread, locked until
// the returned function runs. Every exported method starts with defer b.bind()().
func (b *Backend) bind() func() {
	runtime.LockOSThread()
	if err := cu.SetCurrentContext(b.ctx); err != nil {
		b.rec.fail(fmt.Errorf("cuda: cuCtxSetCurrent: %w", err))
	}
	return runtime.UnlockOSThread
}

// Name implements device.Backend.
func (b *Backend) Name() string { return "cuda" }

// Describe implements device.Backend.
func (b *Backend) Describe() string { return b.desc }

// Close implements device.Backend: it waits for queued work, then releases graphs,
// memory, cuBLAS, the kernels, the stream and the context.
func (b *Backend) Close() error {
	if b.closed {
		return nil
	}
	defer b.bind()()
	err := b.stream.Synchronize()
	b.closeResources()
	b.closed = true
	if err != nil {
		return fmt.Errorf("cuda: close: %w", err)
	}
	return nil
}

// closeResources releases everything; errors are not reported: Close has waited for
// the stream (and reports that), and a resource the driver fails to release is gone
// with the context anyway.
func (b *Backend) closeResources() {
	b.rec.close()
	if b.blas != nil {
		b.blas.close()
	}
	if b.mem != nil {
		b.mem.release()
	}
	for _, m := range b.modules {
		_ = m.Unload()
	}
	if b.stream != (cu.Stream{}) {
		_ = b.stream.Destroy()
	}
	_ = b.ctx.Destroy()
}

// Sync implements device.Backend: it waits for every queued op and reports the first
// error (a launch error kept since, or a fault inside a kernel).
func (b *Backend) Sync() error {
	if b.closed {
		return device.ErrClosed
	}
	defer b.bind()()
	if err := b.rec.hostSync("sync"); err != nil {
		return err
	}
	if err := b.stream.Synchronize(); err != nil {
		return fmt.Errorf("cuda: a queued op failed: %w", err)
	}
	return b.rec.takeErr()
}
