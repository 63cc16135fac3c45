package cpu

import (
	"strconv"
	"testing"
)

// spinTask does a fixed amount of arithmetic per part.
type spinTask struct {
	n   int
	out [8]float32
}

func (t *spinTask) run(part, parts int) {
	x := float32(part)
	for range t.n {
		x = x*0.999 + 1
	}
	t.out[part%8] = x
}

// BenchmarkPool times one fork-join of the worker pool around parts of ~0 and ~10 µs
// of work: the hand-off cost a split op pays.
func BenchmarkPool(b *testing.B) {
	for _, n := range []int{0, 2500, 25000} {
		for _, threads := range []int{1, 2} {
			p := newPool(threads)
			t := &spinTask{n: n}
			b.Run(fmtName("work", n, threads), func(b *testing.B) {
				for b.Loop() {
					p.parallel(threads, t)
				}
			})
			p.close()
		}
	}
}

func fmtName(what string, n, threads int) string {
	return what + "=" + strconv.Itoa(n) + "/threads=" + strconv.Itoa(threads)
}
