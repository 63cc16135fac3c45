//go:build cuda || cudaemu

package cuda_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	gt "gorgonia.org/tensor"

	"github.com/gputrain/gputrain/cpu"
	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/train"
	"github.com/gputrain/gputrain/train/data"
)

// The containers of the general-models work on the CUDA backend: the resnet preset
// (residual blocks with and without projection, global average pooling, batch norm)
// on small images, and a tied-weight model trained with gradient accumulation, each
// trained for a few steps against the CPU reference with TestTrainingMatchesCPU's
// tolerances. (Small: the emulator build runs each kernel's blocks on host threads, and
// three resnet steps take it about a minute.)
func TestModelsTrainAsOnTheCPU(t *testing.T) {
	const side, n = 8, 3 * 8
	flat := digits(5, n)
	px := flat.X.Data().([]uint8)
	small := make([]uint8, n*side*side)
	for i := range n { // the central 8×8 of each 28×28 digit
		for r := range side {
			src := i*784 + (10+r)*28 + 10
			copy(small[(i*side+r)*side:(i*side+r+1)*side], px[src:src+side])
		}
	}
	images := train.Dataset{X: gt.New(gt.WithShape(n, 1, side, side), gt.WithBacking(small)), Y: flat.Y}
	for _, c := range []struct {
		name         string
		model        func() nn.Module
		d            train.Dataset
		batch, accum int
	}{
		{"resnet", func() nn.Module {
			s, err := nn.ResNetSpec([]int{1, side, side}, 10)
			require.NoError(t, err)
			m, err := s.Model()
			require.NoError(t, err)
			return m
		}, images, 8, 1},
		{"tied-accumulated", func() nn.Module {
			return nn.NewSequential(nn.NewDense(32, nn.Tanh), nn.NewDense(32, nn.Tanh),
				&nn.Dense{Units: 32, Act: nn.Tanh, TieWeight: "2.weight", NoBias: true}, nn.NewDense(10, nn.Softmax))
		}, flat, 8, 3},
		// recurrent layers reading the images row by row (the lstm and gru presets'
		// shape): Permute, the per-step GEMMs, RNNCell and its backward
		{"lstm-rows", func() nn.Module {
			return nn.NewSequential(nn.NewReshape(side, side), nn.NewLSTM(8, 2, true), nn.NewDense(10, nn.Softmax))
		}, images, 8, 1},
		{"gru-rows", func() nn.Module {
			return nn.NewSequential(nn.NewReshape(side, side), nn.NewGRU(8, 1, false), nn.NewFlatten(), nn.NewDense(10, nn.Softmax))
		}, images, 8, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			ref := cpu.New(cpu.Options{Reference: true})
			defer ref.Close()
			wantLoss, wantParams := runModel(t, ref, c.d, 3, c.model(), c.batch, c.accum)
			gotLoss, gotParams := runModel(t, testBackend(t), c.d, 3, c.model(), c.batch, c.accum)
			sameTraining(t, wantLoss, wantParams, gotLoss, gotParams)
		})
	}
}

// The char-GPT's whole training step on the CUDA backend against the CPU reference:
// token and position embeddings (Gather, Broadcast, ScatterAdd), layer norms, the
// attention (Permute, batched GEMMs, CausalSoftmax and its backward), the exact GELU,
// dropout, the tied head, the sequence cross-entropy, clipping on the device
// (Reduce Norm) and AdamW, for a few steps drawn from a text stream, through
// Backend.Step (a CUDA graph on a GPU). Tiny, for the emulator. In BF16 and FP16 (with
// the loss scaler's read and update steps) too: the linear layers' 16-bit operands and
// their casts, within mixedTraining.
func TestGPTTrainsAsOnTheCPU(t *testing.T) {
	text, err := data.NewText([]byte(strings.Repeat("O Romeo, Romeo! wherefore art thou Romeo?\n", 20)), "romeo", 8)
	require.NoError(t, err)
	run := func(dev device.Backend, p device.Precision) ([]float64, map[string][]float32) {
		opt := train.NewAdamW()
		opt.Hyper.LR, opt.Hyper.Beta2 = 3e-3, 0.99
		tr := &train.Trainer{Model: &nn.GPT{Vocab: text.Vocab.Size(), Context: 8, Layers: 2, Heads: 2, Dim: 8, Dropout: 0.1},
			Loss: &nn.SequenceCrossEntropy{}, Optimizer: opt, Dev: dev, BatchSize: 3, Seed: 5, ClipNorm: 0.5, Precision: p}
		var losses []float64
		rec := &lossRecorder{losses: &losses}
		_, err := tr.FitSteps(text.Stream(2), train.StepConfig{Steps: 4, CheckEvery: 1, Callbacks: []train.Callback{rec}})
		require.NoError(t, err, "training on %s", dev.Describe())
		params := map[string][]float32{}
		for _, p := range tr.Net().Params() {
			v, err := p.Value.Float32s()
			require.NoError(t, err)
			params[p.Name] = v
		}
		return losses, params
	}
	ref := cpu.New(cpu.Options{Reference: true})
	defer ref.Close()
	for _, p := range []device.Precision{device.FP32, device.BF16, device.FP16} {
		t.Run(p.String(), func(t *testing.T) {
			wantLoss, wantParams := run(ref, p)
			gotLoss, gotParams := run(testBackend(t), p)
			if p == device.FP32 {
				sameTraining(t, wantLoss, wantParams, gotLoss, gotParams)
			} else {
				sameTrainingTol(t, mixedTraining, wantLoss, wantParams, gotLoss, gotParams)
			}
		})
	}
}
