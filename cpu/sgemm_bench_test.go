package cpu

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"testing"
)

// benchThreads is the thread count of the CPU benchmarks: env GPUTRAIN_THREADS, default
// one per core.
func benchThreads(b *testing.B) int {
	s := os.Getenv("GPUTRAIN_THREADS")
	if s == "" {
		return runtime.NumCPU()
	}
	t, err := strconv.Atoi(s)
	if err != nil || t < 1 {
		b.Fatalf("GPUTRAIN_THREADS=%q: want a positive integer", s)
	}
	return t
}

// BenchmarkSgemm times C = A·B on square matrices (n=128 … n=2048, no transpose) and on
// each GEMM of the reference job's training step, reporting GFLOP/s (2*m*n*k per call).
// Threads: env GPUTRAIN_THREADS (default all cores); micro-kernel: env GPUTRAIN_SGEMM
// ("avx512", "avx2", "go"; default the fastest this CPU runs).
func BenchmarkSgemm(b *testing.B) {
	threads := benchThreads(b)
	be := New(Options{Threads: threads})
	defer be.Close()
	k := &be.kernels
	if name := os.Getenv("GPUTRAIN_SGEMM"); name != "" {
		if err := k.gemm.setVariant(name); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("threads=%d %s", threads, be.Describe())
	cases := []gemmCase{}
	for _, n := range []int{128, 256, 512, 1024, 2048} {
		cases = append(cases, gemmCase{fmt.Sprintf("n=%d", n), false, false, n, n, n})
	}
	cases = append(cases, referenceShapes...)
	r := rand.New(rand.NewPCG(1, 1))
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			x := randSlice(r, c.m*c.k)
			y := randSlice(r, c.k*c.n)
			z := make([]float32, c.m*c.n)
			lda, ldb := c.k, c.n
			if c.transA {
				lda = c.m
			}
			if c.transB {
				ldb = c.k
			}
			k.sgemm(c.transA, c.transB, c.m, c.n, c.k, 1, x, lda, y, ldb, 0, z, c.n)
			cpu0 := processCPUTime()
			for b.Loop() {
				k.sgemm(c.transA, c.transB, c.m, c.n, c.k, 1, x, lda, y, ldb, 0, z, c.n)
			}
			cpu := processCPUTime() - cpu0
			flops := 2 * float64(c.m) * float64(c.n) * float64(c.k) * float64(b.N)
			b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			if cpu > 0 {
				b.ReportMetric(flops/cpu.Seconds()/1e9, "GFLOP/cpu-s")
			}
		})
	}
}
