package cpu

import (
	"sync"
)

// task is a piece of work split into parts: run(part, parts) does part `part` of `parts`.
// Kernels keep their task structs inside the backend and pass pointers to them, so that
// handing work to the pool allocates nothing.
type task interface {
	run(part, parts int)
}

type job struct {
	t           task
	part, parts int
}

// pool is a fixed set of worker goroutines started once per backend. parallel hands
// each worker one part and runs part 0 on the calling goroutine.
type pool struct {
	threads int
	jobs    []chan job
	wg      sync.WaitGroup
}

func newPool(threads int) *pool {
	p := &pool{threads: threads}
	for i := 1; i < threads; i++ {
		ch := make(chan job, 1)
		p.jobs = append(p.jobs, ch)
		go p.worker(ch)
	}
	return p
}

func (p *pool) worker(ch chan job) {
	for j := range ch {
		j.t.run(j.part, j.parts)
		p.wg.Done()
	}
}

// parallel runs t.run(i, parts) for i in [0, parts) and returns when all are done.
// parts is clamped to [1, threads].
func (p *pool) parallel(parts int, t task) {
	if parts > p.threads {
		parts = p.threads
	}
	if parts <= 1 {
		t.run(0, 1)
		return
	}
	p.wg.Add(parts - 1)
	for i := 1; i < parts; i++ {
		p.jobs[i-1] <- job{t: t, part: i, parts: parts}
	}
	t.run(0, parts)
	p.wg.Wait()
}

// close stops the workers.
func (p *pool) close() {
	for _, ch := range p.jobs {
		close(ch)
	}
	p.jobs = nil
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
