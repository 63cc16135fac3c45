package cpu

import (
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// countTask counts how often each part runs and checks that every call sees the job's
// part count.
type countTask struct {
	parts int
	runs  []atomic.Int32
	bad   atomic.Int32
}

func (c *countTask) run(part, parts int) {
	if parts != c.parts || part < 0 || part >= parts {
		c.bad.Add(1)
		return
	}
	c.runs[part].Add(1)
}

// Every part of every job runs exactly once, whatever the thread count and however many
// more parts than threads, over many jobs in a row (late workers must not run a part of
// the next job).
func TestPoolRunsEachPartOnce(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, threads := range []int{1, 2, 3, 5} {
		p := newPool(threads)
		for job := range 3000 {
			n := 1 + r.IntN(20)
			c := &countTask{parts: n, runs: make([]atomic.Int32, n)}
			p.parallel(n, c)
			require.Zero(t, c.bad.Load(), "threads=%d job %d: a part saw the wrong job", threads, job)
			for i := range c.runs {
				require.Equal(t, int32(1), c.runs[i].Load(), "threads=%d job %d: part %d of %d", threads, job, i, n)
			}
		}
		p.close()
	}
}

// The governor keeps splitting through short waits and an isolated long one, goes serial
// for serialJobs jobs after slowRuns long waits in a row, then splits again.
func TestGovernor(t *testing.T) {
	var g governor
	for range 10 {
		require.True(t, g.useThreads())
		g.observe(20 * time.Microsecond)
	}
	g.observe(5 * time.Millisecond) // one preempted worker
	require.True(t, g.useThreads())
	g.observe(10 * time.Microsecond)
	require.True(t, g.useThreads())
	for range slowRuns {
		g.observe(3 * time.Millisecond)
	}
	for i := range serialJobs {
		require.False(t, g.useThreads(), "job %d of the serial stretch", i)
	}
	require.True(t, g.useThreads(), "after the serial stretch")
}
