package train

import (
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"testing"

	gt "gorgonia.org/tensor"

	"github.com/gputrain/gputrain/cpu"
	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/train/data"
)

// benchThreads is the CPU thread counts the training benchmarks run: env
// GPUTRAIN_THREADS (one count), else 1 and every core.
func benchThreads(b *testing.B) []int {
	s := os.Getenv("GPUTRAIN_THREADS")
	if s == "" {
		if runtime.NumCPU() == 1 {
			return []int{1}
		}
		return []int{1, runtime.NumCPU()}
	}
	t, err := strconv.Atoi(s)
	if err != nil || t < 1 {
		b.Fatalf("GPUTRAIN_THREADS=%q: want a positive integer", s)
	}
	return []int{t}
}

// referenceTrainer is the reference job's model, loss and optimizer on a CPU backend of
// the given threads.
func referenceTrainer(threads int) *Trainer {
	return &Trainer{
		Model: nn.NewSequential(nn.NewDense(128, nn.ReLU), nn.NewDense(64, nn.ReLU), nn.NewDense(10, nn.Softmax)),
		Loss:  &nn.SparseCategoricalCrossEntropy{}, Optimizer: NewAdam(),
		Dev: cpu.New(cpu.Options{Threads: threads}), BatchSize: 32, Seed: 1,
	}
}

// BenchmarkTrainStep times one training step of the reference job (MNIST MLP
// 784-128-64-10, batch 32, Adam) on the CPU backend: gather, forward, loss, backward,
// update. The images are random bytes (half of them 0, as MNIST's background), so
// the benchmark needs no data files. Threads: env GPUTRAIN_THREADS, else 1 and all
// cores. Reports µs/step and the process CPU time per step (cpu-µs/step, all threads:
// steadier than the wall time on a busy machine).
func BenchmarkTrainStep(b *testing.B) {
	benchSteps(b, func(threads int) *Trainer { return referenceTrainer(threads) }, 784)
}

// BenchmarkTrainStepCNN is BenchmarkTrainStep for the cnn preset (nn.CNNSpec: two 5×5
// convolutions with batch norm, ReLU and 2×2 max pooling, a dense layer with dropout;
// docs/cnn.md) on 28×28 images, batch 32, Adam.
func BenchmarkTrainStepCNN(b *testing.B) {
	benchSteps(b, func(threads int) *Trainer {
		spec, err := nn.CNNSpec([]int{1, 28, 28}, 10)
		if err != nil {
			b.Fatal(err)
		}
		m, err := spec.Model()
		if err != nil {
			b.Fatal(err)
		}
		return &Trainer{Model: m, Loss: &nn.SparseCategoricalCrossEntropy{}, Optimizer: NewAdam(),
			Dev: cpu.New(cpu.Options{Threads: threads}), BatchSize: 32, Seed: 1}
	}, 1, 28, 28)
}

// BenchmarkTrainStepResNet is the resnet preset's training step (batch 32, 28×28).
func BenchmarkTrainStepResNet(b *testing.B) {
	benchSteps(b, func(threads int) *Trainer {
		spec, err := nn.ResNetSpec([]int{1, 28, 28}, 10)
		if err != nil {
			b.Fatal(err)
		}
		m, err := spec.Model()
		if err != nil {
			b.Fatal(err)
		}
		return &Trainer{Model: m, Loss: &nn.SparseCategoricalCrossEntropy{}, Optimizer: NewAdam(),
			Dev: cpu.New(cpu.Options{Threads: threads}), BatchSize: 32, Seed: 1}
	}, 1, 28, 28)
}

// BenchmarkTrainStepLSTM is the lstm preset's training step (nn.RecurrentSpec: LSTM(128)
// over 28 rows of 28 pixels, a dense softmax head; docs/rnn.md), batch 32, Adam.
func BenchmarkTrainStepLSTM(b *testing.B) {
	benchSteps(b, func(threads int) *Trainer {
		spec, err := nn.RecurrentSpec("lstm", 128, 1, []int{1, 28, 28}, 10)
		if err != nil {
			b.Fatal(err)
		}
		return &Trainer{Model: nn.NewSequential(nn.NewReshape(28, 28), spec.Root), Loss: &nn.SparseCategoricalCrossEntropy{},
			Optimizer: NewAdam(), Dev: cpu.New(cpu.Options{Threads: threads}), BatchSize: 32, Seed: 1}
	}, 1, 28, 28)
}

// benchSteps times training steps of the trainers newTrainer makes, per thread count,
// on random examples of the given shape.
func benchSteps(b *testing.B, newTrainer func(threads int) *Trainer, shape ...int) {
	const n, batch = 2048, 32
	rng := rand.New(rand.NewPCG(3, 4))
	size := 1
	for _, d := range shape {
		size *= d
	}
	x := make([]uint8, n*size)
	for i := range x {
		if rng.IntN(2) == 0 {
			x[i] = uint8(rng.IntN(256))
		}
	}
	y := make([]int32, n)
	for i := range y {
		y[i] = int32(rng.IntN(10))
	}
	d := Dataset{X: gt.New(gt.WithShape(append([]int{n}, shape...)...), gt.WithBacking(x)), Y: gt.New(gt.WithShape(n), gt.WithBacking(y))}
	for _, threads := range benchThreads(b) {
		b.Run("threads="+strconv.Itoa(threads), func(b *testing.B) {
			tr := newTrainer(threads)
			defer tr.Dev.Close()
			if _, err := tr.Fit(d, Config{Epochs: 1}); err != nil { // builds everything
				b.Fatal(err)
			}
			set, err := upload(tr.Dev, "bench", d, tr.Net().InputShape(), tr.Net().OutputShape(), 10)
			if err != nil {
				b.Fatal(err)
			}
			defer set.free()
			if err := set.batches(tr.Dev, 0, n, batch); err != nil {
				b.Fatal(err)
			}
			i := 0
			cpu0 := processCPUTime()
			for b.Loop() {
				if err := tr.trainBatch(set, set.orderV[i], fullStep, 1/float32(set.orderV[i].Len())); err != nil {
					b.Fatal(err)
				}
				i = (i + 1) % len(set.orderV)
			}
			cpu := processCPUTime() - cpu0
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/step")
			if cpu > 0 {
				b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/step")
			}
		})
	}
}

// BenchmarkFitMNIST times one epoch of the reference job on the real MNIST files
// (../data/mnist, `make data`; skipped without them): 54,000 training examples in 1,688
// steps and the validation pass, as `gputrain -device cpu -epochs 1` runs it. Threads:
// env GPUTRAIN_THREADS, else 1 and all cores. Reports s/epoch and cpu-s/epoch.
func BenchmarkFitMNIST(b *testing.B) {
	const dir = "../data/mnist"
	if _, err := os.Stat(dir); err != nil {
		b.Skipf("MNIST not found in %s (run `make data`): %v", dir, err)
	}
	ds, err := data.LoadMNIST(dir)
	if err != nil {
		b.Fatal(err)
	}
	xs, ys, err := ds.Train.Dense()
	if err != nil {
		b.Fatal(err)
	}
	d := Dataset{X: xs, Y: ys}
	for _, threads := range benchThreads(b) {
		b.Run("threads="+strconv.Itoa(threads), func(b *testing.B) {
			cpu0 := processCPUTime()
			for b.Loop() {
				tr := referenceTrainer(threads)
				if _, err := tr.Fit(d, Config{Epochs: 1, ValidationSplit: 0.1}); err != nil {
					b.Fatal(err)
				}
				tr.Dev.Close()
			}
			cpu := processCPUTime() - cpu0
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/epoch")
			if cpu > 0 {
				b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/epoch")
			}
		})
	}
}

// BenchmarkTrainStepGPT is one step of the char-GPT's CPU recipe (nanoGPT's: 4 layers,
// 4 heads, width 128, context 64, batch 12, AdamW, clipping at 1), windows drawn from a
// stream over a random text of 84 distinct bytes (the Shakespeare file's count), so
// that it needs no data files: drawing the batch, writing it to the device, forward,
// sequence cross-entropy, backward, clipping, update.
func BenchmarkTrainStepGPT(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	raw := make([]byte, 200_000)
	for i := range raw {
		raw[i] = byte(' ' + rng.IntN(84))
	}
	text, err := data.NewText(raw, "bench", 64)
	if err != nil {
		b.Fatal(err)
	}
	for _, threads := range benchThreads(b) {
		b.Run("threads="+strconv.Itoa(threads), func(b *testing.B) {
			opt := NewAdamW()
			opt.Hyper.Beta2, opt.Hyper.WeightDecay, opt.Hyper.Eps = 0.99, 0.1, 1e-8
			tr := &Trainer{Model: &nn.GPT{Vocab: text.Vocab.Size(), Context: 64, Layers: 4, Heads: 4, Dim: 128},
				Loss: &nn.SequenceCrossEntropy{}, Optimizer: opt, Dev: cpu.New(cpu.Options{Threads: threads}),
				BatchSize: 12, Seed: 1, ClipNorm: 1}
			defer tr.Dev.Close()
			s := text.Stream(1)
			if _, err := tr.FitSteps(s, StepConfig{Steps: 2}); err != nil { // builds everything
				b.Fatal(err)
			}
			cpu0 := processCPUTime()
			for b.Loop() {
				if err := s.Next(tr.hx, tr.hy); err != nil {
					b.Fatal(err)
				}
				if err := tr.streamStep(fullStep, 1/float32(12)); err != nil {
					b.Fatal(err)
				}
			}
			cpu := processCPUTime() - cpu0
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/step")
			if cpu > 0 {
				b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/step")
			}
		})
	}
}
