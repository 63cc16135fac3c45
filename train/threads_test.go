package train

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	gt "gorgonia.org/tensor"
)

// TestSameResultsAnyThreadCount trains the reference MLP (batch 32: its first GEMMs and
// its Adam update are split over threads) for an epoch on 1, 2 and 3 threads: the CPU
// backend's parts do not depend on the thread count, nor the arithmetic on which thread
// runs a part, so the weights must agree bit for bit.
func TestSameResultsAnyThreadCount(t *testing.T) {
	const n = 320
	rng := rand.New(rand.NewPCG(5, 6))
	x := make([]uint8, n*784)
	for i := range x {
		x[i] = uint8(rng.IntN(256))
	}
	y := make([]int32, n)
	for i := range y {
		y[i] = int32(rng.IntN(10))
	}
	d := Dataset{X: gt.New(gt.WithShape(n, 784), gt.WithBacking(x)), Y: gt.New(gt.WithShape(n), gt.WithBacking(y))}
	var want [][]float32
	for _, threads := range []int{1, 2, 3} {
		tr := referenceTrainer(threads)
		hist, err := tr.Fit(d, Config{Epochs: 1})
		require.NoError(t, err)
		var got [][]float32
		for _, p := range tr.Net().Params() {
			v, err := p.Value.Float32s()
			require.NoError(t, err)
			got = append(got, v)
		}
		require.NoError(t, tr.Dev.Close())
		if want == nil {
			want = got
			require.Greater(t, hist.Epochs[0].Loss, 0.0)
			continue
		}
		for i := range want {
			require.Equal(t, want[i], got[i], "threads=%d: parameter %d differs from 1 thread", threads, i)
		}
	}
}
