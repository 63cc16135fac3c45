//go:build cuda

package cuda_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/device/cuda"
)

// gpu is the backend every test shares (one context for the binary). If the driver or
// GPU is missing, gorgonia.org/cu has already exited in its package init; if opening
// fails, TestMain says why and exits 2.
var gpu *cuda.Backend

func TestMain(m *testing.M) {
	var err error
	gpu, err = cuda.New(cuda.Options{})
	if err != nil {
		fmt.Fprintf(os.Stderr, "cuda: cannot open the CUDA backend: %v\n", err)
		os.Exit(2)
	}
	fmt.Fprintf(os.Stderr, "cuda: %s\n", gpu.Describe())
	code := m.Run()
	if err := gpu.Close(); err != nil {
		fmt.Fprintf(os.Stderr, "cuda: close: %v\n", err)
		code = 1
	}
	os.Exit(code)
}

func put(t *testing.T, b device.Backend, vals []float32) device.Buffer {
	t.Helper()
	x, err := b.Alloc(device.Float32, len(vals))
	require.NoError(t, err)
	require.NoError(t, b.WriteFloat32(x, vals))
	return x
}

func get(t *testing.T, b device.Backend, x device.Buffer) []float32 {
	t.Helper()
	out := make([]float32, x.Len())
	require.NoError(t, b.ReadFloat32(out, x))
	return out
}

func uniform(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.Float64()*2 - 1)
	}
	return v
}

// closeTo reports the first values and the largest errors when got and want differ
// by more than atol + rtol*|want| somewhere.
func closeTo(t *testing.T, name, shape string, want, got []float32, atol, rtol float64) {
	t.Helper()
	require.Equal(t, len(want), len(got), "%s %s: lengths", name, shape)
	worstAbs, worstRel, at, bad := 0.0, 0.0, -1, 0
	for i := range want {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if math.IsNaN(float64(got[i])) != math.IsNaN(float64(want[i])) {
			d = math.Inf(1)
		}
		if d > worstAbs {
			worstAbs, at = d, i
		}
		if r := d / math.Max(math.Abs(float64(want[i])), 1e-30); r > worstRel && d > 0 {
			worstRel = r
		}
		if d > atol+rtol*math.Abs(float64(want[i])) {
			bad++
		}
	}
	if bad > 0 {
		n := min(len(want), 6)
		t.Errorf("%s %s: %d of %d values differ; max abs error %.3g at %d (want %v got %v), max rel error %.3g\n  want[:%d] %v\n  got[:%d]  %v",
			name, shape, bad, len(want), worstAbs, at, want[at], got[at], worstRel, n, want[:n], n, got[:n])
	}
}

func TestDescribe(t *testing.T) {
	assert.Equal(t, "cuda", gpu.Name())
	assert.Contains(t, gpu.Describe(), "cuda: device 0")
}

func TestMemoryRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 31, 33, 1031, 1 << 20} {
		vals := uniform(rng, n)
		x := put(t, gpu, vals)
		assert.Equal(t, vals, get(t, gpu, x), "n=%d", n)
		y, err := gpu.Alloc(device.Float32, n)
		require.NoError(t, err)
		assert.Equal(t, make([]float32, n), get(t, gpu, y), "Alloc zeroes, n=%d", n)
		require.NoError(t, gpu.Copy(y, x))
		assert.Equal(t, vals, get(t, gpu, y))
		if n > 2 {
			v, err := gpu.View(x, 1, n-2)
			require.NoError(t, err)
			assert.Equal(t, vals[1:n-1], get(t, gpu, v), "view")
		}
		require.NoError(t, gpu.Fill(y, 2.5))
		for _, v := range get(t, gpu, y) {
			require.Equal(t, float32(2.5), v)
		}
		gpu.Free(x)
		gpu.Free(y)
	}
	i, err := gpu.Alloc(device.Int32, 5)
	require.NoError(t, err)
	require.NoError(t, gpu.WriteInt32(i, []int32{-1, 2, 3, 4, math.MaxInt32}))
	gotI := make([]int32, 5)
	require.NoError(t, gpu.ReadInt32(gotI, i))
	assert.Equal(t, []int32{-1, 2, 3, 4, math.MaxInt32}, gotI)
}

func TestForeignAndFreedBuffersAreErrors(t *testing.T) {
	x := put(t, gpu, []float32{1, 2})
	gpu.Free(x)
	assert.ErrorContains(t, gpu.Fill(x, 1), "cuda: buffer of 2 float32 was freed")
	var foreign fakeBuf
	assert.ErrorContains(t, gpu.Unary(device.ReLU, foreign, foreign, 0), "belongs to another backend")
}

type fakeBuf struct{}

func (fakeBuf) Len() int            { return 4 }
func (fakeBuf) DType() device.DType { return device.Float32 }

// The caching allocator: after one round, a loop that allocates and frees the same
// sizes never calls cuMemAlloc again.
func TestAllocatorReusesMemory(t *testing.T) {
	round := func() {
		for _, n := range []int{1, 100, 1000, 25088, 100352, 1 << 20} {
			x, err := gpu.Alloc(device.Float32, n)
			require.NoError(t, err)
			gpu.Free(x)
		}
	}
	round()
	before := gpu.MemStats().DriverAllocs
	for range 10 {
		round()
	}
	assert.Equal(t, before, gpu.MemStats().DriverAllocs, "cuMemAlloc calls after the first round")
}

// Gemm against a float64 host product, for every transpose, alpha/beta, and strided
// batches with a shared operand; beta == 0 must not read C (NaN there stays out).
func TestGemmRowMajor(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, sh := range [][3]int{{1, 1, 1}, {31, 33, 17}, {33, 31, 64}, {1031, 10, 33}, {7, 1, 300}} {
		m, n, k := sh[0], sh[1], sh[2]
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			for _, ab := range [][2]float32{{1, 0}, {0.5, -1.5}} {
				const batch = 3
				a, bm := uniform(rng, batch*m*k), uniform(rng, k*n) // B shared: stride 0
				c := uniform(rng, batch*m*n)
				if ab[1] == 0 {
					for i := range c {
						c[i] = float32(math.NaN())
					}
				}
				want := make([]float32, len(c))
				for p := range batch {
					for i := range m {
						for j := range n {
							var s float64
							for l := range k {
								av := a[p*m*k+i*k+l]
								if tr[0] {
									av = a[p*m*k+l*m+i]
								}
								bv := bm[l*n+j]
								if tr[1] {
									bv = bm[j*k+l]
								}
								s += float64(av) * float64(bv)
							}
							w := float64(ab[0]) * s
							if ab[1] != 0 {
								w += float64(ab[1]) * float64(c[p*m*n+i*n+j])
							}
							want[p*m*n+i*n+j] = float32(w)
						}
					}
				}
				da, db, dc := put(t, gpu, a), put(t, gpu, bm), put(t, gpu, c)
				require.NoError(t, gpu.Gemm(device.GemmArgs{TransA: tr[0], TransB: tr[1], M: m, N: n, K: k, Alpha: ab[0], Beta: ab[1],
					A: da, B: db, C: dc, Batch: batch, StrideA: m * k, StrideB: 0, StrideC: m * n}))
				closeTo(t, "gemm", fmt.Sprintf("m,n,k=%v trans=%v alpha,beta=%v batch=%d", sh, tr, ab, batch), want, get(t, gpu, dc), 1e-4, 1e-4)
				for _, x := range []device.Buffer{da, db, dc} {
					gpu.Free(x)
				}
			}
		}
	}
}

// Dropout masks equal the host's Philox draws bit for bit.
func TestDropoutMaskBitForBit(t *testing.T) {
	for _, n := range []int{1, 7, 31, 33, 1001, 65539} {
		for _, rate := range []float32{0, 0.1, 0.5, 0.9} {
			const seed, offset = 0x1234_5678_9abc_def0, 12345
			mask, err := gpu.Alloc(device.Float32, n)
			require.NoError(t, err)
			require.NoError(t, gpu.DropoutMask(mask, rate, seed, offset))
			got := get(t, gpu, mask)
			th, scale := device.DropThreshold(rate), device.DropScale(rate)
			for i := range n {
				want := float32(0)
				if device.PhiloxUint32(seed, offset, i)>>8 >= th {
					want = scale
				}
				if math.Float32bits(got[i]) != math.Float32bits(want) {
					t.Fatalf("dropout n=%d rate=%v: element %d is %v, the host's Philox says %v", n, rate, i, got[i], want)
				}
			}
			gpu.Free(mask)
		}
	}
}

// Augment follows device.AugmentArgs' rule exactly (a host recomputation).
func TestAugmentRule(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, a := range []device.AugmentArgs{
		{N: 33, C: 3, H: 13, W: 11, MaxShift: 3, FlipH: true, Seed: 3, Offset: 1},
		{N: 2, C: 1, H: 28, W: 28, MaxShift: 2, Seed: 9, Offset: 1 << 40},
		{N: 1, C: 2, H: 1, W: 1, MaxShift: 0, FlipH: true, Seed: 1},
	} {
		x := uniform(rng, a.N*a.C*a.H*a.W)
		want := make([]float32, len(x))
		for img := range a.N {
			w := device.PhiloxBlock(a.Seed, a.Offset+uint64(img))
			span := uint32(2*a.MaxShift + 1)
			dx, dy := int(w[0]%span)-a.MaxShift, int(w[1]%span)-a.MaxShift
			flip := a.FlipH && w[2]&1 == 1
			for c := range a.C {
				for r := range a.H {
					for col := range a.W {
						sr, sc := r-dy, col-dx
						v := float32(0)
						if sr >= 0 && sr < a.H && sc >= 0 && sc < a.W {
							if flip {
								sc = a.W - 1 - sc
							}
							v = x[((img*a.C+c)*a.H+sr)*a.W+sc]
						}
						want[((img*a.C+c)*a.H+r)*a.W+col] = v
					}
				}
			}
		}
		dx, dy := put(t, gpu, x), put(t, gpu, make([]float32, len(x)))
		require.NoError(t, gpu.Augment(dx, dy, a))
		assert.Equal(t, want, get(t, gpu, dy), "%+v", a)
	}
}

// testBackend is the backend of the tests shared with the emulator build.
func testBackend(*testing.T) device.Backend { return gpu }
