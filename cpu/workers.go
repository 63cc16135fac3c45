package cpu

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// task is a piece of work split into parts: run(part, parts) does part `part` of `parts`.
// Kernels keep their task structs inside the backend and pass pointers to them, so that
// handing work to the pool allocates nothing.
//
// A part must not depend on which goroutine runs it or on the order parts run in: the
// pool hands parts out dynamically. Each part runs exactly once, so a task may give part
// p its own scratch (the GEMM's packing buffers are indexed by part).
type task interface {
	run(part, parts int)
}

// pool is a fixed set of worker goroutines started once per backend.
//
// parallel(parts, t) does not assign parts to threads: the caller wakes up to
// parts-1 workers and then claims parts itself, one at a time, from a shared counter,
// as do the workers once they run. A worker that is slow to start (its core busy with
// another process, as on a shared machine) takes fewer parts or none, and the caller
// then waits only for parts a worker has actually started, instead of for a worker that
// is not running. The results do not depend on who runs which part.
type pool struct {
	threads int
	wake    []chan struct{} // one per worker, buffered: a pending wake-up
	done    chan struct{}   // the last part's finisher tells a blocked caller

	mu    sync.Mutex // guards the current job: t, parts, next
	t     task       // nil between jobs
	parts int
	next  int // the next part to hand out

	left    atomic.Int64 // parts of the current job not yet finished
	waiting atomic.Bool  // the caller is blocked on done
}

func newPool(threads int) *pool {
	p := &pool{threads: threads, done: make(chan struct{}, 1)}
	for i := 1; i < threads; i++ {
		ch := make(chan struct{}, 1)
		p.wake = append(p.wake, ch)
		go p.worker(ch)
	}
	return p
}

func (p *pool) worker(wake chan struct{}) {
	for range wake {
		p.work()
	}
}

// work runs parts of the current job until none is left to claim.
func (p *pool) work() {
	for {
		p.mu.Lock()
		t, parts, i := p.t, p.parts, p.next
		if t == nil || i >= parts {
			p.mu.Unlock()
			return
		}
		p.next++
		p.mu.Unlock()
		t.run(i, parts)
		if p.left.Add(-1) == 0 && p.waiting.CompareAndSwap(true, false) {
			select {
			case p.done <- struct{}{}:
			default: // a token is already there
			}
		}
	}
}

// parallel runs t.run(i, parts) for i in [0, parts) and returns when all are done. With
// one thread, or one part, the caller runs them in order.
func (p *pool) parallel(parts int, t task) {
	if parts <= 1 || p.threads <= 1 {
		for i := range max(parts, 1) {
			t.run(i, max(parts, 1))
		}
		return
	}
	p.left.Store(int64(parts))
	p.mu.Lock()
	p.t, p.parts, p.next = t, parts, 0
	p.mu.Unlock()
	for _, w := range p.wake[:min(len(p.wake), parts-1)] {
		select {
		case w <- struct{}{}:
		default: // a wake-up is already pending
		}
	}
	p.work()
	p.wait()
	p.mu.Lock()
	p.t = nil
	p.mu.Unlock()
}

// wait returns when every part of the current job has finished: it spins a little (the
// parts workers run are short), then blocks until the last finisher signals. A token
// left in done by a finisher of an earlier job only makes it check again.
func (p *pool) wait() {
	for range 100 {
		if p.left.Load() == 0 {
			return
		}
		runtime.Gosched()
	}
	for {
		p.waiting.Store(true)
		if p.left.Load() == 0 {
			p.waiting.Store(false)
			return
		}
		<-p.done
		if p.left.Load() == 0 {
			return
		}
	}
}

// close stops the workers.
func (p *pool) close() {
	for _, ch := range p.wake {
		close(ch)
	}
	p.wake = nil
	p.threads = 1
}

// split returns the half-open range [lo, hi) of part `part` when n items are divided into
// `parts` nearly equal runs, each a multiple of align (but the last).
func split(n, part, parts, align int) (lo, hi int) {
	if align < 1 {
		align = 1
	}
	blocks := (n + align - 1) / align
	per, extra := blocks/parts, blocks%parts
	start := part*per + min(part, extra)
	size := per
	if part < extra {
		size++
	}
	lo, hi = start*align, (start+size)*align
	return min(lo, n), min(hi, n)
}
