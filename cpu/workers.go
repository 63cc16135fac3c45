package cpu

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
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

// threadTask is a task whose parts use scratch memory of the thread that runs them:
// runOn(part, parts, thread) is run(part, parts) told which of the pool's threads runs
// it (0, the caller, to threads-1). A thread runs one part at a time, so scratch indexed
// by thread is never shared; as with any task, the results must not depend on which
// thread runs which part.
type threadTask interface {
	task
	runOn(part, parts, thread int)
}

// runPart runs part i of t on thread id.
func runPart(t task, i, parts, id int) {
	if tt, ok := t.(threadTask); ok {
		tt.runOn(i, parts, id)
		return
	}
	t.run(i, parts)
}

// pool is a fixed set of worker goroutines started once per backend.
//
// parallel(parts, t) does not bind parts to threads: the caller wakes up to parts-1
// workers and then claims parts itself, as do the workers once they run. Each thread
// first claims the parts of its own share (thread i of T: parts [i*parts/T,
// (i+1)*parts/T), in order), then any part still unclaimed. Without contention a thread
// thus runs the same contiguous share of every op, so that the data an op leaves in a
// core's cache (a slice of the weights, their gradient and the optimizer state) is
// there for the next op on that slice, step after step. A worker slow to start (its
// core busy with another process, as on a shared machine) has its share taken by the
// others, and the caller waits only for parts a worker has actually started. The
// results do not depend on who runs which part.
type pool struct {
	threads int
	wake    []chan struct{} // one per worker, buffered: a pending wake-up
	done    chan struct{}   // the last part's finisher tells a blocked caller

	mu      sync.Mutex // guards the current job: t, parts, claimed
	t       task       // nil between jobs
	parts   int
	claimed []bool // which parts have been handed out

	gen     atomic.Uint64 // counts the jobs handed to the workers
	left    atomic.Int64  // parts of the current job not yet finished
	waiting atomic.Bool   // the caller is blocked on done

	gov governor
}

// governor turns the pool's splitting off for a while when the other cores are taken.
// When a worker that claimed a part loses its core to another process, the caller waits
// for that part for as long as the kernel keeps the worker off a core, milliseconds where
// the part would take microseconds: on a busy shared machine this made two threads much
// slower than one. After slowRuns consecutive jobs whose caller waited more than slowWait
// for the workers, the next serialJobs jobs run on the caller alone; then it tries again.
// Which thread runs a part never changes the results.
type governor struct {
	slow   int // consecutive slow waits
	serial int // jobs left to run on the caller alone
}

const (
	slowWait   = 250 * time.Microsecond // a few parts' work: the worker was not running
	slowRuns   = 2
	serialJobs = 512 // about a hundred training steps of the reference job
)

// useThreads reports whether the next job may go to the workers (and counts down a
// serial stretch).
func (g *governor) useThreads() bool {
	if g.serial > 0 {
		g.serial--
		return false
	}
	return true
}

// observe records how long a job's caller waited for the workers after its own parts.
func (g *governor) observe(waited time.Duration) {
	if waited < slowWait {
		g.slow = 0
		return
	}
	g.slow++
	if g.slow >= slowRuns {
		g.slow, g.serial = 0, serialJobs
	}
}

func newPool(threads int) *pool {
	p := &pool{threads: threads, done: make(chan struct{}, 1)}
	for i := 1; i < threads; i++ {
		ch := make(chan struct{}, 1)
		p.wake = append(p.wake, ch)
		go p.worker(i, ch)
	}
	return p
}

// spinWait is how long an idle worker keeps looking for the next job before it parks
// on its wake channel. The ops of a training step follow each other within a few
// microseconds, and waking a parked goroutine costs about as much as a small op's share
// of work: spinning keeps the workers on their cores through a step, as OpenMP's
// threads do, and lets them sleep between steps that are further apart.
const spinWait = 50 * time.Microsecond

func (p *pool) worker(id int, wake chan struct{}) {
	seen := p.gen.Load()
	for {
		if g := p.spin(seen); g != seen {
			seen = g
			p.work(id)
			continue
		}
		if _, ok := <-wake; !ok {
			return
		}
		seen = p.gen.Load()
		p.work(id)
	}
}

// spin watches the job counter for up to spinWait and returns it: seen if no job came.
func (p *pool) spin(seen uint64) uint64 {
	start := time.Now()
	for i := 1; ; i++ {
		if g := p.gen.Load(); g != seen {
			return g
		}
		if i%128 == 0 {
			if time.Since(start) > spinWait {
				return seen
			}
			runtime.Gosched()
		}
	}
}

// claim hands thread id the next part of its share, or else any unclaimed part; -1
// when none is left. p.mu is held.
func (p *pool) claim(id int) int {
	lo, hi := split(p.parts, id, p.threads, 1)
	for i := lo; i < hi; i++ {
		if !p.claimed[i] {
			p.claimed[i] = true
			return i
		}
	}
	for i := range p.parts {
		if !p.claimed[i] {
			p.claimed[i] = true
			return i
		}
	}
	return -1
}

// work runs parts of the current job, as thread id, until none is left to claim.
func (p *pool) work(id int) {
	for {
		p.mu.Lock()
		t, parts, i := p.t, p.parts, -1
		if t != nil {
			i = p.claim(id)
		}
		p.mu.Unlock()
		if i < 0 {
			return
		}
		runPart(t, i, parts, id)
		if p.left.Add(-1) == 0 && p.waiting.CompareAndSwap(true, false) {
			select {
			case p.done <- struct{}{}:
			default: // a token is already there
			}
		}
	}
}

// parallel runs t.run(i, parts) for i in [0, parts) and returns when all are done. With
// one thread, one part, or while the governor holds the workers back, the caller runs
// them in order.
func (p *pool) parallel(parts int, t task) {
	if parts <= 1 || p.threads <= 1 || !p.gov.useThreads() {
		for i := range max(parts, 1) {
			runPart(t, i, max(parts, 1), 0)
		}
		return
	}
	p.left.Store(int64(parts))
	p.mu.Lock()
	p.t, p.parts = t, parts
	if cap(p.claimed) < parts {
		p.claimed = make([]bool, parts)
	}
	p.claimed = p.claimed[:parts]
	clear(p.claimed)
	p.mu.Unlock()
	p.gen.Add(1)
	for i, w := range p.wake {
		if lo, hi := split(parts, i+1, p.threads, 1); lo == hi {
			break // this worker's share is empty, and so are the later ones'
		}
		select {
		case w <- struct{}{}:
		default: // a wake-up is already pending
		}
	}
	p.work(0)
	start := time.Now()
	p.wait()
	p.gov.observe(time.Since(start))
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
