package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/device"
)

// convCase is one convolution of the variant and thread tests.
type convCase struct {
	g device.ConvGeom
	f int
}

var convCases = []convCase{
	// The cnn preset's layers (unfolding path, then direct path where there is one).
	{device.ConvGeom{N: 5, C: 1, H: 28, W: 28, KH: 5, KW: 5, StrideH: 1, StrideW: 1, PadH: 2, PadW: 2}, 16},
	{device.ConvGeom{N: 11, C: 16, H: 14, W: 14, KH: 5, KW: 5, StrideH: 1, StrideW: 1}, 32},
	// Padding and strides on both paths; a width of more than one 16-lane chunk.
	{device.ConvGeom{N: 3, C: 3, H: 9, W: 37, KH: 3, KW: 4, StrideH: 2, StrideW: 1, PadH: 1, PadW: 2}, 24},
	{device.ConvGeom{N: 4, C: 2, H: 7, W: 8, KH: 3, KW: 3, StrideH: 1, StrideW: 2, PadH: 1, PadW: 1}, 5},
	// The filter gradient by rows (F a multiple of 4, KW <= 6): three chunks of 16 columns,
	// the widest tap row, a row stride of 2.
	{device.ConvGeom{N: 3, C: 2, H: 11, W: 40, KH: 2, KW: 6, StrideH: 2, StrideW: 1, PadH: 0, PadW: 1}, 8},
	// A plane larger than col2im's least scratch (70·5·16 floats), and taps too wide
	// for the one-chunk path.
	{device.ConvGeom{N: 2, C: 1, H: 70, W: 70, KH: 3, KW: 7, StrideH: 1, StrideW: 1, PadH: 1, PadW: 3}, 5},
}

// convResults runs Conv and ConvBackward (with and without accumulating) of c on b
// from inputs drawn from seed, and returns y, dx, dW, db and the accumulated dW, db.
func convResults(t *testing.T, b *Backend, c convCase, seed uint64) [][]float32 {
	g, f := c.g, c.f
	r := rand.New(rand.NewPCG(seed, 9))
	buf := func(n int) device.Buffer {
		x, err := b.Alloc(device.Float32, n)
		require.NoError(t, err)
		require.NoError(t, b.WriteFloat32(x, randSlice(r, n)))
		return x
	}
	nx, nw, ny := g.N*g.C*g.H*g.W, f*g.ColRows(), g.N*f*g.OutH()*g.OutW()
	a := device.ConvArgs{G: g, F: f, X: buf(nx), W: buf(nw), B: buf(f), Y: buf(ny), DY: buf(ny), DX: buf(nx), DW: buf(nw), DB: buf(f)}
	read := func(x device.Buffer) []float32 {
		v := make([]float32, x.Len())
		require.NoError(t, b.ReadFloat32(v, x))
		return v
	}
	require.NoError(t, b.Conv(a))
	require.NoError(t, b.ConvBackward(a))
	out := [][]float32{read(a.Y), read(a.DX), read(a.DW), read(a.DB)}
	a.Accumulate = true
	require.NoError(t, b.ConvBackward(a))
	return append(out, read(a.DW), read(a.DB))
}

var convOutputs = []string{"y", "dx", "dW", "db", "dW accumulated", "db accumulated"}

// Every SGEMM variant (AVX-512 with the direct path, AVX2, pure Go) with every vector
// variant against the reference loops.
func TestConvVariants(t *testing.T) {
	ref := New(Options{Reference: true})
	defer ref.Close()
	for _, c := range convCases {
		want := convResults(t, ref, c, 1)
		for _, sv := range sgemmAvailable {
			for _, vv := range vecAvailable {
				b := New(Options{Threads: 2})
				require.NoError(t, b.kernels.gemm.setVariant(sv.name))
				b.kernels.vec = vv
				got := convResults(t, b, c, 1)
				b.Close()
				for i, name := range convOutputs {
					for j := range want[i] {
						if d := math.Abs(float64(got[i][j] - want[i][j])); d > 5e-4+1e-4*math.Abs(float64(want[i][j])) {
							t.Fatalf("sgemm %s, vector %s, %+v, %d filters: %s[%d] = %v, reference %v",
								sv.name, vv.name, c.g, c.f, name, j, got[i][j], want[i][j])
						}
					}
				}
			}
		}
	}
}

// The results are the same, bit for bit, on 1, 2 and 3 threads.
func TestConvThreadsAgree(t *testing.T) {
	for _, c := range convCases {
		var first [][]float32
		for _, threads := range []int{1, 2, 3} {
			b := New(Options{Threads: threads})
			got := convResults(t, b, c, 2)
			b.Close()
			if first == nil {
				first = got
				continue
			}
			for i, name := range convOutputs {
				require.Equal(t, first[i], got[i], fmt.Sprintf("%s of %+v, %d filters, on %d threads vs 1", name, c.g, c.f, threads))
			}
		}
	}
}
