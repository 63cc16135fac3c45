package train

import (
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	gt "gorgonia.org/tensor"

	"github.com/gputrain/gputrain/cpu"
	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/device/comm"
	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/train/data"
)

// TestTrainingStepAllocatesNothing runs whole training steps of the reference MLP and
// counts heap allocations: after the first step built every workspace, none.
// fullStep is a training step that is a whole accumulation group: it zeroes the
// gradients and updates the weights.
var fullStep = stepKey{first: true, last: true}

func TestTrainingStepAllocatesNothing(t *testing.T) {
	const n, batch = 256, 32
	x := make([]uint8, n*784)
	y := make([]int32, n)
	for i := range x {
		x[i] = uint8(i * 7)
	}
	for i := range y {
		y[i] = int32(i % 10)
	}
	flat := Dataset{X: gt.New(gt.WithShape(n, 784), gt.WithBacking(x)), Y: gt.New(gt.WithShape(n), gt.WithBacking(y))}
	images := Dataset{X: gt.New(gt.WithShape(n, 1, 28, 28), gt.WithBacking(x)), Y: flat.Y}
	cnn, err := nn.CNNSpec([]int{1, 28, 28}, 10)
	require.NoError(t, err)
	seq := cnn.Root.(*nn.Sequential)
	seq.Layers = append([]nn.Module{nn.NewRandomShift(2, true)}, seq.Layers...)
	cnnModel, err := cnn.Model()
	require.NoError(t, err)
	resnet, err := nn.ResNetSpec([]int{1, 28, 28}, 10)
	require.NoError(t, err)
	resnetModel, err := resnet.Model()
	require.NoError(t, err)
	for _, c := range []struct {
		model nn.Module
		d     Dataset
		prec  device.Precision
	}{
		{nn.NewSequential(nn.NewDense(128, nn.ReLU), nn.NewDense(64, nn.ReLU), nn.NewDense(10, nn.Softmax)), flat, device.FP32},
		// mixed precision: 16-bit copies and casts; FP16's loss scaler reads its flag
		// and runs the update as a step of its own
		{nn.NewSequential(nn.NewDense(128, nn.ReLU), nn.NewDense(64, nn.ReLU), nn.NewDense(10, nn.Softmax)), flat, device.BF16},
		{nn.NewSequential(nn.NewDense(128, nn.ReLU), nn.NewDense(64, nn.ReLU), nn.NewDense(10, nn.Softmax)), flat, device.FP16},
		{nn.NewSequential(nn.NewDense(64, nn.Tanh), nn.NewDropout(0.3), nn.NewDense(10, nn.Softmax)), flat, device.FP32},
		// shift, conv, batch norm, pooling, dropout
		{cnnModel, images, device.FP32},
		// residual blocks with projections, global average pooling
		{resnetModel, images, device.FP32},
		// recurrent layers on rows of pixels (the lstm and gru presets, two layers)
		{nn.NewSequential(nn.NewReshape(28, 28), nn.NewLSTM(16, 2, true), nn.NewDense(10, nn.Softmax)), images, device.FP32},
		{nn.NewSequential(nn.NewReshape(28, 28), nn.NewGRU(16, 1, false), nn.NewFlatten(), nn.NewDense(10, nn.Softmax)), images, device.FP32},
	} {
		model, d := c.model, c.d
		tr := &Trainer{Model: model, Loss: &nn.SparseCategoricalCrossEntropy{}, Optimizer: NewAdam(),
			Dev: cpu.New(cpu.Options{Threads: 2}), BatchSize: batch, Seed: 1, Precision: c.prec}
		_, err := tr.Fit(d, Config{Epochs: 1}) // builds everything
		require.NoError(t, err)
		set, err := upload(tr.Dev, "test", d, tr.Net().InputShape(), tr.Net().OutputShape(), 10)
		require.NoError(t, err)
		require.NoError(t, set.batches(tr.Dev, 0, n, batch))
		order := set.orderV[1]
		require.NoError(t, tr.trainBatch(set, order, fullStep, 1/float32(order.Len())))
		allocs := testing.AllocsPerRun(20, func() {
			if err := tr.trainBatch(set, order, fullStep, 1/float32(order.Len())); err != nil {
				t.Fatal(err)
			}
		})
		require.Zero(t, allocs, "allocations per training step (%s)", c.prec)
	}
}

// TestStreamStepAllocatesNothing: a step-based training step of a GPT (embeddings,
// attention with dropout, layer norms, the tied head, the sequence cross-entropy,
// AdamW and gradient clipping on the device), with the next batch drawn from a text
// stream, allocates nothing once built: a small GPT with dropout, and nanoGPT's CPU
// recipe (4 layers, width 128, context 64, batch 12), whose sizes take the CPU's
// threaded paths (the GEMMs split on the pool, the gradients' norm in chunks).
func TestStreamStepAllocatesNothing(t *testing.T) {
	raw := []byte(strings.Repeat("to be or not to be, that is the question. ", 30))
	lmVocab, err := data.NewText(raw, "test", 16)
	require.NoError(t, err)
	// and the language model of -model lstm on text (embedding, two LSTM layers, a
	// Linear on every step)
	lm, err := nn.RecurrentLMSpec("lstm", 16, 2, lmVocab.Vocab.Size(), 16)
	require.NoError(t, err)
	for _, c := range []struct {
		model   nn.Module
		context int
		batch   int
	}{
		{&nn.GPT{Context: 16, Layers: 2, Heads: 2, Dim: 16, Dropout: 0.1}, 16, 4},
		{&nn.GPT{Context: 64, Layers: 4, Heads: 4, Dim: 128}, 64, 12},
		{lm.Root, 16, 4},
	} {
		text, err := data.NewText(raw, "test", c.context)
		require.NoError(t, err)
		if g, ok := c.model.(*nn.GPT); ok {
			g.Vocab = text.Vocab.Size()
		}
		tr := &Trainer{Model: c.model, Loss: &nn.SequenceCrossEntropy{}, Optimizer: NewAdamW(),
			Dev: cpu.New(cpu.Options{Threads: 2}), BatchSize: c.batch, Seed: 1, ClipNorm: 1}
		s := text.Stream(1)
		_, err = tr.FitSteps(s, StepConfig{Steps: 2}) // builds everything
		require.NoError(t, err)
		step := func() {
			if err := s.Next(tr.hx, tr.hy); err != nil {
				t.Fatal(err)
			}
			if err := tr.streamStep(fullStep, 1/float32(c.batch)); err != nil {
				t.Fatal(err)
			}
		}
		step()
		allocs := testing.AllocsPerRun(20, step)
		require.Zero(t, allocs, "%s (batch %d, context %d): allocations per training step", c.model.Kind(), c.batch, c.context)
		tr.Dev.Close()
	}
}

// The recommenders' training steps (MF and TwoTower on int32 ids, MSE, lazy Adam on
// their sparse tables) allocate nothing either.
func TestRecommenderStepAllocatesNothing(t *testing.T) {
	const n, batch = 256, 32
	x := make([]int32, n*4)
	y := make([]float32, n)
	for i := range n {
		x[4*i], x[4*i+1], x[4*i+2], x[4*i+3] = int32(i%50), int32(i*7%30), int32(i%3), int32(i%5)
		y[i] = float32(1 + i%5)
	}
	pairs := make([]int32, 2*n)
	for i := range n {
		pairs[2*i], pairs[2*i+1] = x[4*i], x[4*i+1]
	}
	for _, c := range []struct {
		model nn.Module
		x     []int32
		f     int
	}{
		{&nn.MF{Users: 50, Items: 30, Dim: 8, L2: 0.1, BiasL2: 0.1, Mean: 3}, pairs, 2},
		{&nn.TwoTower{Users: 50, Items: 30, UserFields: []int{3}, ItemFields: []int{5}, Dim: 8, Hidden: 16, L2: 0.1, Mean: 3}, x, 4},
	} {
		d := Dataset{X: gt.New(gt.WithShape(n, c.f), gt.WithBacking(c.x)), Y: gt.New(gt.WithShape(n, 1), gt.WithBacking(y))}
		tr := &Trainer{Model: c.model, Loss: &nn.MSE{}, Optimizer: NewAdam(), Dev: cpu.New(cpu.Options{Threads: 2}), BatchSize: batch, Seed: 1}
		_, err := tr.Fit(d, Config{Epochs: 1})
		require.NoError(t, err)
		set, err := upload(tr.Dev, "test", d, tr.Net().InputShape(), tr.Net().OutputShape(), 0)
		require.NoError(t, err)
		require.NoError(t, set.batches(tr.Dev, 0, n, batch))
		for _, order := range []int{1, len(set.orderV) - 1} {
			o := set.orderV[order]
			require.NoError(t, tr.trainBatch(set, o, fullStep, 1/float32(o.Len())))
			allocs := testing.AllocsPerRun(20, func() {
				if err := tr.trainBatch(set, o, fullStep, 1/float32(o.Len())); err != nil {
					t.Fatal(err)
				}
			})
			require.Zero(t, allocs, "%s: allocations per training step", c.model.Kind())
		}
	}
}

// TestDataParallelStepAllocatesNothing runs the steps of rank 0 of a 2-rank job
// (comm.NewGroup, rank 1 in a goroutine taking the same steps): the step, the
// all-reduce of the flat gradient buffer and the update step allocate nothing either.
func TestDataParallelStepAllocatesNothing(t *testing.T) {
	for _, p := range []device.Precision{device.FP32, device.FP16} {
		t.Run(p.String(), func(t *testing.T) { dataParallelStepAllocs(t, p) })
	}
}

// dataParallelStepAllocs is TestDataParallelStepAllocatesNothing in precision p (FP16: the
// loss scaler's unscale step and flag read after the all-reduce).
func dataParallelStepAllocs(t *testing.T, p device.Precision) {
	const n, batch, warm, runs = 256, 16, 1, 20
	x := make([]float32, n*20)
	y := make([]int32, n)
	for i := range x {
		x[i] = float32(i%13) / 13
	}
	for i := range y {
		y[i] = int32(i % 5)
	}
	d := Dataset{X: gt.New(gt.WithShape(n, 20), gt.WithBacking(x)), Y: gt.New(gt.WithShape(n), gt.WithBacking(y))}
	devs := []device.Backend{cpu.New(cpu.Options{Threads: 1}), cpu.New(cpu.Options{Threads: 1})}
	comms, err := comm.NewGroup(devs)
	require.NoError(t, err)
	trs := make([]*Trainer, 2)
	sets := make([]*deviceSet, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for r := range trs {
		trs[r] = &Trainer{Model: nn.NewSequential(nn.NewDense(32, nn.ReLU), nn.NewDropout(0.2), nn.NewDense(5, nn.Softmax)),
			Loss: &nn.SparseCategoricalCrossEntropy{}, Optimizer: NewAdam(), Dev: devs[r], Comm: comms[r],
			BatchSize: batch, Seed: 1, ClipNorm: 0.5, Precision: p}
		wg.Add(1)
		go func() { // builds everything
			defer wg.Done()
			if _, errs[r] = trs[r].Fit(d, Config{Epochs: 1}); errs[r] != nil {
				return
			}
			if sets[r], errs[r] = upload(devs[r], "test", d, trs[r].Net().InputShape(), trs[r].Net().OutputShape(), 5); errs[r] == nil {
				errs[r] = sets[r].shard(devs[r], 0, n, batch, 2, r)
			}
		}()
	}
	wg.Wait()
	require.NoError(t, errs[0])
	require.NoError(t, errs[1])
	step := func(r int) error {
		order := sets[r].orderV[1]
		return trs[r].trainBatch(sets[r], order, fullStep, 1/float32(2*order.Len()))
	}
	wg.Add(1)
	go func() { // rank 1 takes as many steps as rank 0: the warm-up, AllocsPerRun's own, the runs
		defer wg.Done()
		for range warm + 1 + runs {
			if errs[1] = step(1); errs[1] != nil {
				comms[1].Close()
				return
			}
		}
	}()
	require.NoError(t, step(0))
	allocs := testing.AllocsPerRun(runs, func() {
		if err := step(0); err != nil {
			t.Error(err)
		}
	})
	wg.Wait()
	require.NoError(t, errs[1])
	require.Zero(t, allocs, "allocations per data-parallel training step")
}
