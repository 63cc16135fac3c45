package cpu

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"testing"

	"github.com/gputrain/gputrain/device"
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

// gptShapes are the GEMMs of one training step of the char-GPT's CPU recipe (4 layers,
// width 128, 4 heads, context 64, batch 12: 768 rows): each Linear's forward (NT), weight
// gradient (TN) and input gradient (NN), and the attention's batched products over the
// 48 heads; times is how often each runs per step.
var gptShapes = []struct {
	gemmCase
	batch, times int
}{
	{gemmCase{"qkv_fwd_768x384x128_NT", false, true, 768, 384, 128}, 1, 4},
	{gemmCase{"proj_fwd_768x128x128_NT", false, true, 768, 128, 128}, 1, 4},
	{gemmCase{"fc_fwd_768x512x128_NT", false, true, 768, 512, 128}, 1, 4},
	{gemmCase{"fc2_fwd_768x128x512_NT", false, true, 768, 128, 512}, 1, 4},
	{gemmCase{"head_fwd_768x84x128_NT", false, true, 768, 84, 128}, 1, 1},
	{gemmCase{"qkv_dw_384x128x768_TN", true, false, 384, 128, 768}, 1, 4},
	{gemmCase{"proj_dw_128x128x768_TN", true, false, 128, 128, 768}, 1, 4},
	{gemmCase{"fc_dw_512x128x768_TN", true, false, 512, 128, 768}, 1, 4},
	{gemmCase{"fc2_dw_128x512x768_TN", true, false, 128, 512, 768}, 1, 4},
	{gemmCase{"head_dw_84x128x768_TN", true, false, 84, 128, 768}, 1, 1},
	{gemmCase{"qkv_dx_768x128x384_NN", false, false, 768, 128, 384}, 1, 4},
	{gemmCase{"proj_dx_768x128x128_NN", false, false, 768, 128, 128}, 1, 4},
	{gemmCase{"fc_dx_768x128x512_NN", false, false, 768, 128, 512}, 1, 4},
	{gemmCase{"fc2_dx_768x512x128_NN", false, false, 768, 512, 128}, 1, 4},
	{gemmCase{"head_dx_768x128x84_NN", false, false, 768, 128, 84}, 1, 1},
	{gemmCase{"att_scores_48x64x64x32_NT", false, true, 64, 64, 32}, 48, 8},  // forward, and dA
	{gemmCase{"att_values_48x64x32x64_NN", false, false, 64, 32, 64}, 48, 8}, // forward, and dq
	{gemmCase{"att_grads_48x64x32x64_TN", true, false, 64, 32, 64}, 48, 8},   // dv, dk
}

// BenchmarkSgemmGPT times each GEMM shape of the char-GPT's training step (gptShapes),
// through Backend.Gemm, and reports its GFLOP/s and its milliseconds per training step
// (times × one call). Threads: env GPUTRAIN_THREADS (default all cores).
func BenchmarkSgemmGPT(b *testing.B) {
	be := New(Options{Threads: benchThreads(b)})
	defer be.Close()
	r := rand.New(rand.NewPCG(1, 1))
	for _, c := range gptShapes {
		b.Run(c.name, func(b *testing.B) {
			buf := func(n int) device.Buffer {
				x, err := be.Alloc(device.Float32, n)
				if err != nil {
					b.Fatal(err)
				}
				if err := be.WriteFloat32(x, randSlice(r, n)); err != nil {
					b.Fatal(err)
				}
				return x
			}
			g := device.GemmArgs{TransA: c.transA, TransB: c.transB, M: c.m, N: c.n, K: c.k, Alpha: 1,
				A: buf(c.batch * c.m * c.k), B: buf(c.batch * c.k * c.n), C: buf(c.batch * c.m * c.n),
				Batch: c.batch, StrideA: c.m * c.k, StrideB: c.k * c.n, StrideC: c.m * c.n}
			for b.Loop() {
				if err := be.Gemm(g); err != nil {
					b.Fatal(err)
				}
			}
			per := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(2*float64(c.batch*c.m*c.n*c.k)/per/1e9, "GFLOP/s")
			b.ReportMetric(per*1e3*float64(c.times), "ms/step")
		})
	}
}
