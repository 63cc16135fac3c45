package device

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Options configure a backend when it is opened.
type Options struct {
	// Threads is the number of CPU threads the cpu backend's kernels use; 0 means one per
	// core. Backends that do not compute on the CPU take no notice of it.
	Threads int
	// GPU picks the GPU of a backend that drives GPUs (cuda): GPU modulo the number of
	// GPUs this process sees (CUDA_VISIBLE_DEVICES), so that each rank of a
	// data-parallel job passes its local rank (comm.Detect().LocalRank) and takes a GPU
	// of its own, and ranks that each see one GPU (Slurm's --gpus-per-task) all take
	// theirs (docs/distributed.md). 0, the default, is the first GPU; the backend's
	// Describe names the one opened. Other backends take no notice of it.
	GPU int
}

// Opener makes a backend. It returns an error when the backend cannot run here (no
// driver, no GPU, not compiled in).
type Opener func(Options) (Backend, error)

type entry struct {
	name     string
	priority int
	open     Opener
}

var (
	registryMu sync.Mutex
	registry   = map[string]entry{}
)

// ErrNotCompiled is what opening a backend gives when this binary was built without it.
var ErrNotCompiled = errors.New("this binary was built without CUDA support (build with -tags cuda)")

// ErrClosed is what a backend's methods return after Close.
var ErrClosed = errors.New("device: the backend is closed")

// UnsupportedError is returned by a backend for an op (or an op variant) it does not
// implement, after the shared argument checks have passed: the CUDA backend returns it
// for a Gemm whose M, N, K or batch count exceeds cuBLAS's int. No backend falls back to
// another one. devicetest.AssertUnsupported checks one.
type UnsupportedError struct {
	Backend string // "cpu", "cuda"
	Op      string // "unary gelu", "pool avg_pool", …
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("device: %s backend does not support %s", e.Backend, e.Op)
}

// Register makes a backend available to Open under name. "auto" tries registered backends
// from the highest priority down and takes the first that opens. Register panics if name
// is taken or is "auto": that is a programming error in a backend package's init.
func Register(name string, priority int, open Opener) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if name == "auto" || name == "" {
		panic("device: Register: reserved name " + fmt.Sprintf("%q", name))
	}
	if _, ok := registry[name]; ok {
		panic("device: Register: backend " + name + " registered twice")
	}
	registry[name] = entry{name: name, priority: priority, open: open}
}

// Names lists the registered backends, highest priority first.
func Names() []string {
	var names []string
	for _, e := range sorted() {
		names = append(names, e.name)
	}
	return names
}

func sorted() []entry {
	registryMu.Lock()
	defer registryMu.Unlock()
	es := make([]entry, 0, len(registry))
	for _, e := range registry {
		es = append(es, e)
	}
	sort.Slice(es, func(i, j int) bool {
		if es[i].priority != es[j].priority {
			return es[i].priority > es[j].priority
		}
		return es[i].name < es[j].name
	})
	return es
}

// Open returns the backend registered under name, or for "auto" the first of the
// registered backends (by priority) that opens on this machine. Its error names the
// backend and why it could not be opened.
func Open(name string, opts Options) (Backend, error) {
	if opts.Threads < 0 {
		return nil, fmt.Errorf("device: threads must be >= 0, got %d", opts.Threads)
	}
	if opts.GPU < 0 {
		return nil, fmt.Errorf("device: GPU must be >= 0, got %d", opts.GPU)
	}
	if name == "auto" {
		var reasons []string
		for _, e := range sorted() {
			b, err := e.open(opts)
			if err == nil {
				return b, nil
			}
			reasons = append(reasons, e.name+": "+err.Error())
		}
		if len(reasons) == 0 {
			return nil, errors.New("device: no backend is registered (import github.com/gputrain/gputrain/cpu)")
		}
		return nil, fmt.Errorf("device: no backend could be opened (%s)", strings.Join(reasons, "; "))
	}
	registryMu.Lock()
	e, ok := registry[name]
	registryMu.Unlock()
	if !ok {
		return nil, fmt.Errorf("device: unknown device %q (registered: %s, or auto)", name, strings.Join(Names(), ", "))
	}
	b, err := e.open(opts)
	if err != nil {
		return nil, fmt.Errorf("device: cannot open %s: %w", name, err)
	}
	return b, nil
}
