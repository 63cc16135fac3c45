package checkpoint

import (
	"bytes"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/train"
)

// fuzzTrainer is the small model the fuzz target restores into: Dense 2 relu, BatchNorm,
// Dense 2 softmax on 3 features, Adam, seed 1, batch 4. testdata/fuzz holds a valid
// checkpoint of it among the seeds.
func fuzzTrainer() *train.Trainer {
	tr := newTrainer(nn.NewSequential(nn.NewDense(2, nn.ReLU), nn.NewBatchNorm(), nn.NewDense(2, nn.Softmax)), "adam", 1)
	tr.BatchSize = 4
	return tr
}

// FuzzLoadCheckpoint feeds arbitrary bytes to the decoder and, when they decode, to the
// metadata parser and to Restore. None may panic; what decodes must encode and decode
// again to the same tensors; and a refused Restore must leave the model and optimizer
// as they were.
func FuzzLoadCheckpoint(f *testing.F) {
	tr := fuzzTrainer()
	require.NoError(f, tr.Build([]int{3}))
	valid, err := Capture(tr, Settings{Model: "fuzz"})
	require.NoError(f, err)
	var buf bytes.Buffer
	require.NoError(f, Encode(&buf, valid))
	f.Add(buf.Bytes())

	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := Decode(b)
		if err != nil {
			require.Nil(t, file)
			return
		}
		var again bytes.Buffer
		require.NoError(t, Encode(&again, file), "what Decode accepts, Encode writes")
		back, err := Decode(again.Bytes())
		require.NoError(t, err)
		require.Equal(t, file.Metadata, back.Metadata)
		require.Equal(t, names(file), names(back))
		for i := range file.Tensors {
			a, c := file.Tensors[i], back.Tensors[i]
			require.Equal(t, a.Shape, c.Shape)
			require.Equal(t, a.I64, c.I64)
			require.Len(t, c.F32, len(a.F32))
			for j := range a.F32 {
				require.Equal(t, math.Float32bits(a.F32[j]), math.Float32bits(c.F32[j]))
			}
		}

		c, err := Parse(b)
		if err != nil {
			return
		}
		before, steps := snapshot(t, tr), tr.Optimizer.Iterations()
		if err := c.Restore(tr); err != nil {
			require.Equal(t, before, snapshot(t, tr), "a refused checkpoint changes nothing: %v", err)
			require.Equal(t, steps, tr.Optimizer.Iterations())
		}
	})
}
