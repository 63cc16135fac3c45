//go:build cuda

package cuda

// CUDA graphs for Backend.Step, through cgo calls to the driver's stream-capture API
// (gorgonia.org/cu does not wrap it). The design is in docs/cuda.md; in short:
//
//   - Every op that reaches the GPU goes through recorder.submit as an op value: a kernel
//     launch (function, grid, block and its 64-bit parameter slots), a cuBLAS GEMM call or
//     a device-to-device copy.
//   - Step(key, fn): the first call with a key runs fn with plain launches (warm-up: the
//     allocator and cuBLAS settle). The second captures: fn's ops are queued on the
//     capturing stream, each kernel's graph node is noted (cuStreamGetCaptureInfo), the
//     graph is instantiated and launched once. Later calls replay: fn runs again but its
//     ops are only compared with the recorded ones; kernel parameters that changed (Adam's
//     step size, a dropout offset, a view's address) are patched into the instantiated
//     graph (cuGraphExecKernelNodeSetParams), then the graph is launched: one launch for
//     the whole step.
//   - Anything else (another kernel, another grid, a GEMM or copy with other arguments, fewer
//     or more ops) is a mismatch: the ops fn queued so far are launched one by one, the
//     rest of fn runs plainly, and the key is captured again next time (after 3
//     mismatches in a row it stays plain). A host transfer, Sync, Alloc or Free inside fn cannot be captured:
//     the same flush happens and the key stays plain for good.
//
// So a replay computes exactly what plain launches compute, and whatever fn does, the
// step is never wrong, only slower.

/*
#include <stdlib.h>
#include <string.h>
#include <cuda.h>

static CUresult gt_begin_capture(CUstream s) {
	// Relaxed: we police capture safety ourselves (recorder.hostSync), and other
	// threads of the Go runtime must not be disturbed.
	return cuStreamBeginCapture(s, CU_STREAM_CAPTURE_MODE_RELAXED);
}

static CUresult gt_end_capture(CUstream s, CUgraph *g) { return cuStreamEndCapture(s, g); }

// gt_last_node is the node the last op queued on the capturing stream became: the only
// dependency of whatever is captured next.
static CUresult gt_last_node(CUstream s, CUgraphNode *node) {
	CUstreamCaptureStatus st;
	cuuint64_t id;
	CUgraph g;
	const CUgraphNode *deps = NULL;
	size_t n = 0;
	CUresult r = cuStreamGetCaptureInfo_v2(s, &st, &id, &g, &deps, &n);
	if (r != CUDA_SUCCESS) return r;
	if (st != CU_STREAM_CAPTURE_STATUS_ACTIVE || n != 1) return CUDA_ERROR_STREAM_CAPTURE_INVALIDATED;
	*node = deps[0];
	return CUDA_SUCCESS;
}

static CUresult gt_instantiate(CUgraphExec *e, CUgraph g) { return cuGraphInstantiateWithFlags(e, g, 0); }

static CUresult gt_launch(CUgraphExec e, CUstream s) { return cuGraphLaunch(e, s); }

// gt_set_params patches a kernel node of an instantiated graph. args holds n 8-byte
// parameter slots; the driver copies them before returning.
static CUresult gt_set_params(CUgraphExec e, CUgraphNode node, CUfunction f,
		unsigned gx, unsigned bx, unsigned shmem, unsigned long long *args, int n) {
	void *ptrs[32];
	CUDA_KERNEL_NODE_PARAMS p;
	int i;
	memset(&p, 0, sizeof p);
	for (i = 0; i < n && i < 32; i++) ptrs[i] = &args[i];
	p.func = f;
	p.gridDimX = gx; p.gridDimY = 1; p.gridDimZ = 1;
	p.blockDimX = bx; p.blockDimY = 1; p.blockDimZ = 1;
	p.sharedMemBytes = shmem;
	p.kernelParams = ptrs;
	return cuGraphExecKernelNodeSetParams(e, node, &p);
}

static const char *gt_error_name(CUresult r) {
	const char *s = NULL;
	if (cuGetErrorName(r, &s) != CUDA_SUCCESS || s == NULL) return "unknown CUDA error";
	return s;
}

static void gt_destroy(CUgraphExec e, CUgraph g) {
	if (e) cuGraphExecDestroy(e);
	if (g) cuGraphDestroy(g);
}
*/
import "C"

import (
	"fmt"
	"unsafe"

	"gorgonia.org/cu"

	"github.com/gputrain/gputrain/device"
)

// sameShape reports whether a replayed op can reuse o's graph node: a kernel needs the
// same function and launch shape (its parameters may differ and are patched); GEMMs
// and copies must be identical.
func (o *op) sameShape(p *op) bool {
	if o.kind != p.kind {
		return false
	}
	switch o.kind {
	case opKernel:
		return o.fn == p.fn && o.grid == p.grid && o.block == p.block && o.shmem == p.shmem && o.nargs == p.nargs
	case opGemm:
		return o.gemm == p.gemm
	default:
		return o.dst == p.dst && o.src == p.src && o.bytes == p.bytes
	}
}

// recOp is an op as the recorder keeps it: with the graph node a kernel became.
type recOp struct {
	op
	node C.CUgraphNode
}

type recMode uint8

const (
	modePlain recMode = iota
	modeCapture
	modeReplay
)

// graphEntry is what Step keeps per key.
type graphEntry struct {
	calls      int
	ops        []recOp
	graph      C.CUgraph
	exec       C.CUgraphExec
	recaptures int    // mismatches since the last good replay
	plain      bool   // never capture this key again
	why        string // why the key runs plainly, when it does
	launches   int    // graph launches, for tests and logs
}

// recorder routes ops to the stream directly, into a capture, or against a recorded
// graph (see the file comment).
type recorder struct {
	b       *Backend
	graphs  bool
	mode    recMode
	cur     *graphEntry
	pending []recOp // the ops of the current Step call (capture and replay)
	cursor  int
	entries map[string]*graphEntry
	err     error // first asynchronous-path error, reported by Sync/Read/Step
	scratch [maxArgs]uint64
	ptrs    [maxArgs]unsafe.Pointer
}

func (r *recorder) init(b *Backend, graphs bool) {
	r.b = b
	r.graphs = graphs
	r.entries = map[string]*graphEntry{}
	for i := range r.ptrs {
		r.ptrs[i] = unsafe.Pointer(&r.scratch[i])
	}
}

func (r *recorder) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

func (r *recorder) takeErr() error {
	err := r.err
	r.err = nil
	return err
}

func (r *recorder) cstream() C.CUstream {
	return *(*C.CUstream)(unsafe.Pointer(&r.b.stream))
}

// exec queues o on the stream (plain launch, or into an active capture).
func (r *recorder) exec(o *op) error {
	switch o.kind {
	case opKernel:
		copy(r.scratch[:o.nargs], o.args[:o.nargs])
		if err := r.b.fns[o.fn].Launch(o.grid, 1, 1, o.block, 1, 1, o.shmem, r.b.stream, r.ptrs[:o.nargs]); err != nil {
			return fmt.Errorf("cuda: launching %s (grid %d, block %d): %w", kernelTable[o.fn].symbol, o.grid, o.block, err)
		}
	case opGemm:
		return r.b.blas.run(&o.gemm)
	case opCopy:
		if err := cu.MemcpyDtoDAsync(cu.DevicePtr(o.dst), cu.DevicePtr(o.src), o.bytes, r.b.stream); err != nil {
			return fmt.Errorf("cuda: copy of %d bytes (cuMemcpyDtoDAsync): %w", o.bytes, err)
		}
	}
	return nil
}

// submit runs, captures or checks one op according to the mode.
func (r *recorder) submit(o *op) error {
	switch r.mode {
	case modeCapture:
		if err := r.exec(o); err != nil {
			return err
		}
		var node C.CUgraphNode
		if o.kind == opKernel {
			if res := C.gt_last_node(r.cstream(), &node); res != C.CUDA_SUCCESS {
				// we could not tell which node the kernel became: no graph for this key
				r.cur.why = fmt.Sprintf("capturing %s: %v", kernelTable[o.fn].symbol, resultErr("cuStreamGetCaptureInfo", res))
				r.pending = append(r.pending, recOp{op: *o})
				return r.abandon(true)
			}
		}
		r.pending = append(r.pending, recOp{*o, node})
		return nil
	case modeReplay:
		if r.cursor < len(r.cur.ops) && r.cur.ops[r.cursor].sameShape(o) {
			r.pending = append(r.pending, recOp{*o, r.cur.ops[r.cursor].node})
			r.cursor++
			return nil
		}
		// not the recorded step: launch what fn queued so far and go on plainly
		r.pending = append(r.pending, recOp{op: *o})
		return r.abandon(false)
	}
	return r.exec(o)
}

// hostSync is called by every operation that cannot be part of a graph (host
// transfers, Sync, Alloc, Free). Inside Step it ends the capture or replay, launching
// the ops queued so far, and marks the key plain for good.
func (r *recorder) hostSync(what string) error {
	if r.mode == modePlain {
		return nil
	}
	r.cur.why = what + " inside the step"
	return r.abandon(true)
}

// abandon turns the current capture or replay into plain launches of the pending ops.
func (r *recorder) abandon(forever bool) error {
	e := r.cur
	if r.mode == modeCapture {
		var g C.CUgraph
		C.gt_end_capture(r.cstream(), &g)
		C.gt_destroy(nil, g)
	}
	r.mode = modePlain
	e.drop()
	if forever || e.recaptures >= 3 {
		e.plain = true
		if e.why == "" {
			e.why = "the step's ops changed shape in 3 replays in a row"
		}
	}
	e.recaptures++
	e.ops = e.ops[:0]
	return r.runPending()
}

func (e *graphEntry) drop() {
	C.gt_destroy(e.exec, e.graph)
	e.exec, e.graph = nil, nil
}

// step implements Backend.Step.
func (r *recorder) step(key string, fn func() error) error {
	if !r.graphs || r.mode != modePlain {
		return fn() // graphs off, or a Step inside a Step: plain
	}
	e := r.entries[key]
	if e == nil {
		e = &graphEntry{}
		r.entries[key] = e
	}
	e.calls++
	if e.plain || e.calls == 1 {
		return fn()
	}
	r.cur, r.pending, r.cursor = e, r.pending[:0], 0
	defer func() { r.mode, r.cur = modePlain, nil }()

	if e.exec == nil {
		if res := C.gt_begin_capture(r.cstream()); res != C.CUDA_SUCCESS {
			e.plain, e.why = true, resultErr("cuStreamBeginCapture", res).Error()
			r.mode = modePlain
			return fn()
		}
		r.mode = modeCapture
		err := fn()
		if r.mode != modeCapture { // abandoned inside fn: everything already ran
			return err
		}
		var g C.CUgraph
		res := C.gt_end_capture(r.cstream(), &g)
		r.mode = modePlain
		if res != C.CUDA_SUCCESS || err != nil {
			// the captured ops did not run: run them plainly
			C.gt_destroy(nil, g)
			if res != C.CUDA_SUCCESS {
				e.plain, e.why = true, resultErr("cuStreamEndCapture", res).Error()
			}
			return firstErr(err, r.runPending())
		}
		var x C.CUgraphExec
		if res := C.gt_instantiate(&x, g); res != C.CUDA_SUCCESS {
			C.gt_destroy(nil, g)
			e.plain, e.why = true, resultErr("cuGraphInstantiate", res).Error()
			return r.runPending()
		}
		e.graph, e.exec = g, x
		e.ops = append(e.ops[:0], r.pending...)
		return r.launchGraph(e)
	}

	r.mode = modeReplay
	err := fn()
	if r.mode != modeReplay {
		return err
	}
	r.mode = modePlain
	if err != nil || r.cursor != len(e.ops) {
		return firstErr(err, r.abandonAfter())
	}
	// patch the kernel parameters that changed, then launch the whole step at once
	for i := range r.pending {
		p, o := &r.pending[i], &e.ops[i]
		if p.kind != opKernel || p.args == o.args {
			continue
		}
		res := C.gt_set_params(e.exec, o.node, *(*C.CUfunction)(unsafe.Pointer(&r.b.fns[p.fn])),
			C.uint(p.grid), C.uint(p.block), C.uint(p.shmem),
			(*C.ulonglong)(unsafe.Pointer(&p.args[0])), C.int(p.nargs))
		if res != C.CUDA_SUCCESS {
			e.why = resultErr("cuGraphExecKernelNodeSetParams", res).Error()
			r.mode = modeReplay
			return r.abandon(true)
		}
		o.args = p.args
	}
	e.recaptures = 0
	return r.launchGraph(e)
}

// abandonAfter handles a replay whose fn queued fewer ops than recorded, or failed.
func (r *recorder) abandonAfter() error {
	r.mode = modeReplay
	return r.abandon(false)
}

func (r *recorder) runPending() error {
	var first error
	for i := range r.pending {
		if err := r.exec(&r.pending[i].op); err != nil && first == nil {
			first = err
		}
	}
	r.pending = r.pending[:0]
	return first
}

// launchGraph launches e's graph for the step whose ops are pending; if the launch
// fails, the key turns plain and the ops run one by one (a fault of an earlier kernel
// then shows up there).
func (r *recorder) launchGraph(e *graphEntry) error {
	if res := C.gt_launch(e.exec, r.cstream()); res != C.CUDA_SUCCESS {
		e.drop()
		e.plain, e.why = true, resultErr("cuGraphLaunch", res).Error()
		return r.runPending()
	}
	e.launches++
	r.pending = r.pending[:0]
	return nil
}

func (r *recorder) close() {
	for _, e := range r.entries {
		e.drop()
	}
	r.entries = map[string]*graphEntry{}
}

func resultErr(call string, res C.CUresult) error {
	if res == C.CUDA_SUCCESS {
		return nil
	}
	return fmt.Errorf("cuda: %s: %s (%d)", call, C.GoString(C.gt_error_name(res)), int(res))
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// submit hands one op to the recorder.
func (b *Backend) submit(o *op) error {
	if b.closed {
		return device.ErrClosed
	}
	return b.rec.submit(o)
}

// Step implements device.Backend: see the recorder above and docs/cuda.md.
func (b *Backend) Step(key string, fn func() error) error {
	if b.closed {
		return device.ErrClosed
	}
	defer b.bind()()
	if err := b.rec.step(key, fn); err != nil {
		return err
	}
	return b.rec.takeErr()
}

// GraphNote says why Step runs key's ops one by one ("" when it records or replays a
// graph, or has not seen the key). Tests and logs use it.
func (b *Backend) GraphNote(key string) string {
	if e := b.rec.entries[key]; e != nil && e.plain {
		return e.why
	}
	return ""
}

// GraphLaunches reports how many times Step has launched the graph recorded under key
// (0 when graphs are off or the key runs plainly). Tests use it.
func (b *Backend) GraphLaunches(key string) int {
	if e := b.rec.entries[key]; e != nil {
		return e.launches
	}
	return 0
}
