//go:build cuda

package cuda_test

// Throughput on large work: cuBLAS SGEMM's own rate on the card, and the training step
// of a large MLP, in TFLOP/s, measured in the same run so that their ratio means
// something. (Not in the cudaemu build: the emulator would take hours for 4096³.)

import (
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/device/cuda"
	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/train"
)

// BenchmarkCublasSgemm measures cublasSgemm (FP32, CUBLAS_DEFAULT_MATH: no TF32) through
// Backend.Gemm on the square 4096³ product and on each distinct GEMM shape of the large
// MLP's training step (largemlp_test.go), and on the step's whole list of GEMMs in order
// ("step-gemms"). TFLOP/s = 2·M·N·K per GEMM / seconds; the clock stops after a Sync.
// Backend.Gemm adds a few microseconds of Go per call to a 4096³ GEMM of milliseconds.
func BenchmarkCublasSgemm(b *testing.B) { benchGemms(b, device.FP32) }

// BenchmarkCublasGemmPrecision is BenchmarkCublasSgemm in the other precisions, one
// sub-benchmark family each (tf32/..., bf16/..., fp16/...): cublasGemmEx with
// CUBLAS_COMPUTE_32F_FAST_TF32 on float32 operands (tf32), or on bfloat16 or float16
// operands with float32 C and CUBLAS_COMPUTE_32F (bf16, fp16), as the Dense layers call
// it in that precision (blas.h). These are cuBLAS's own rates for the large MLP's GEMMs,
// which BenchmarkLargeMLPStepPrecision's gemm-TFLOP/s is compared against.
func BenchmarkCublasGemmPrecision(b *testing.B) {
	for _, p := range []device.Precision{device.TF32, device.BF16, device.FP16} {
		b.Run(p.String(), func(b *testing.B) { benchGemms(b, p) })
	}
}

// benchGemms runs BenchmarkCublasSgemm's cases in precision p: A and B are buffers of
// p.Half() (float32 for FP32 and TF32), C is float32.
func benchGemms(b *testing.B, p device.Precision) {
	step := stepGemms(largeIn, largeWidths, largeBatch)
	cases := []struct {
		name   string
		shapes []gemmShape
	}{{"NN-m4096-n4096-k4096", []gemmShape{{M: 4096, N: 4096, K: 4096}}}}
	seen := map[gemmShape]bool{cases[0].shapes[0]: true}
	for _, g := range step {
		if !seen[g] {
			seen[g] = true
			cases = append(cases, struct {
				name   string
				shapes []gemmShape
			}{g.String(), []gemmShape{g}})
		}
	}
	cases = append(cases, struct {
		name   string
		shapes []gemmShape
	}{"step-gemms", step})

	largest := 0
	for g := range seen {
		largest = max(largest, g.M*g.K, g.K*g.N, g.M*g.N)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	bufs := make([]device.Buffer, 3)
	for i := range bufs {
		x, err := gpu.Alloc(device.Float32, largest)
		if err != nil {
			b.Fatal(err)
		}
		if err := gpu.WriteFloat32(x, uniform(rng, largest)); err != nil {
			b.Fatal(err)
		}
		if dt := p.Half(); dt != device.Float32 && i < 2 { // the operands, rounded
			h, err := gpu.Alloc(dt, largest)
			if err != nil {
				b.Fatal(err)
			}
			if err := gpu.Cast(h, x); err != nil {
				b.Fatal(err)
			}
			gpu.Free(x)
			x = h
		}
		bufs[i] = x
	}
	defer func() {
		for _, x := range bufs {
			gpu.Free(x)
		}
	}()
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			run := func() {
				for _, g := range c.shapes {
					if err := gpu.Gemm(device.GemmArgs{TransA: g.TransA, TransB: g.TransB, M: g.M, N: g.N, K: g.K,
						Alpha: 1, A: bufs[0], B: bufs[1], C: bufs[2], Precision: p}); err != nil {
						b.Fatal(err)
					}
				}
			}
			run() // cuBLAS picks and loads its kernels on first use
			if err := gpu.Sync(); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				run()
			}
			if err := gpu.Sync(); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			b.ReportMetric(gemmFlop(c.shapes)*float64(b.N)/b.Elapsed().Seconds()/1e12, "TFLOP/s")
		})
	}
}

// largeRig is the large MLP's trainer and data, on a backend of their own (so that no
// other benchmark's "train" graph is in the way), made once per binary.
var largeRig = sync.OnceValues(func() (*train.Trainer, error) { return newLargeRig(device.FP32) })

// newLargeRig makes the large MLP's trainer in precision p, on a backend of its own.
func newLargeRig(p device.Precision) (*train.Trainer, error) {
	dev, err := cuda.New(cuda.Options{})
	if err != nil {
		return nil, err
	}
	return &train.Trainer{Model: denseMLP(largeWidths), Loss: &nn.SparseCategoricalCrossEntropy{}, Optimizer: train.NewAdam(),
		Dev: dev, BatchSize: largeBatch, Seed: 1, Precision: p}, nil
}

// largeData is the large MLP's data set: 8 batches of random examples.
var largeData = sync.OnceValue(func() train.Dataset {
	return randomImages(5, 8*largeBatch, largeIn, largeWidths[len(largeWidths)-1])
})

// BenchmarkLargeMLPStep trains the large MLP (largemlp_test.go: 4096 inputs, Dense
// 4096 ReLU ×3, Dense 4096 softmax, 4096 classes; Adam, sparse cross-entropy, batch
// 4096) with train.Trainer.Fit on the GPU: each op b.N is one epoch of 8 steps over
// 32768 random examples, with CUDA graphs as the backend is configured. It reports the
// time per step and two rates:
//
//	TFLOP/s       6·batch·Σ in·out per step (the customary count, 2 forward + 4 backward)
//	gemm-TFLOP/s  the FLOP of the GEMMs the step runs, 2·batch·(3·Σ in·out − in₀·out₀):
//	              the first layer computes no input gradient
//
// Compare gemm-TFLOP/s with BenchmarkCublasSgemm/step-gemms: the same GEMMs, alone.
// The step also gathers the batch, adds biases, applies ReLU and its gradient, the
// fused softmax cross-entropy, the bias reductions and Adam; all of that counts in the
// time, none of it in the FLOP. Uploading the data set and the first Fit (plain launches,
// then the graph capture) happen before the clock starts.
func BenchmarkLargeMLPStep(b *testing.B) {
	tr, err := largeRig()
	if err != nil {
		b.Fatal(err)
	}
	benchLargeStep(b, tr)
}

// largeRigs are the large MLP's trainers in the other precisions, made once per binary.
var largeRigs = map[device.Precision]func() (*train.Trainer, error){
	device.TF32: sync.OnceValues(func() (*train.Trainer, error) { return newLargeRig(device.TF32) }),
	device.BF16: sync.OnceValues(func() (*train.Trainer, error) { return newLargeRig(device.BF16) }),
	device.FP16: sync.OnceValues(func() (*train.Trainer, error) { return newLargeRig(device.FP16) }),
}

// BenchmarkLargeMLPStepPrecision is BenchmarkLargeMLPStep with Trainer.Precision tf32,
// bf16 and fp16 (one sub-benchmark each, each on a backend of its own). Compare its
// gemm-TFLOP/s with BenchmarkCublasGemmPrecision/<precision>/step-gemms (cuBLAS's rate
// for the same GEMMs in the same precision; the goal is 0.8x), and its TFLOP/s with
// bench/torch_large_mlp.py's in bf16 autocast (the goal is 1.0x). fp16's loss scaler
// reads one flag back per step.
func BenchmarkLargeMLPStepPrecision(b *testing.B) {
	for _, p := range []device.Precision{device.TF32, device.BF16, device.FP16} {
		b.Run(p.String(), func(b *testing.B) {
			tr, err := largeRigs[p]()
			if err != nil {
				b.Fatal(err)
			}
			benchLargeStep(b, tr)
		})
	}
}

// benchLargeStep is the body of the large-MLP benchmarks: a warm-up epoch (the first
// time), then b.N epochs of 8 steps on the clock.
func benchLargeStep(b *testing.B, tr *train.Trainer) {
	d := largeData()
	cfg := train.Config{Epochs: 1, NoShuffle: true, CheckEvery: 1 << 30}
	if tr.Net() == nil {
		if _, err := tr.Fit(d, cfg); err != nil {
			b.Fatalf("warm-up epoch: %v", err)
		}
	}
	cfg.Epochs = b.N
	cfg.Callbacks = []train.Callback{startClock{b: b}}
	if _, err := tr.Fit(d, cfg); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	steps := float64(b.N * d.Len() / largeBatch)
	sec := b.Elapsed().Seconds()
	b.ReportMetric(1e3*sec/steps, "ms/step")
	b.ReportMetric(modelFlop(largeIn, largeWidths, largeBatch)*steps/sec/1e12, "TFLOP/s")
	b.ReportMetric(gemmFlop(stepGemms(largeIn, largeWidths, largeBatch))*steps/sec/1e12, "gemm-TFLOP/s")
	if dev := tr.Dev.(*cuda.Backend); dev.GraphLaunches("train") == 0 {
		b.Logf("the step ran with plain launches: %q", dev.GraphNote("train"))
	}
}

// startClock restarts the benchmark's clock when Fit begins training: after the data
// set's upload, once the device has finished it.
type startClock struct {
	train.NopCallback
	b *testing.B
}

func (c startClock) OnTrainBegin(t *train.Trainer) error {
	if err := t.Dev.Sync(); err != nil {
		return err
	}
	c.b.ResetTimer()
	return nil
}
