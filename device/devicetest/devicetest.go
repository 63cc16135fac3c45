// Package devicetest is the conformance suite every device.Backend runs: the CPU backend's
// tests call Run, and so do the CUDA backend's, so that both are held to one definition
// of every op.
//
// Run has five parts, each a subtest per op family:
//
//   - known: small cases whose answers are worked out by hand in the case tables
//     (a 2×3 by 3×2 GEMM, relu of [-1, 0, 2], softmax of [0, ln 2, ln 5], Adam's first
//     step, a 4×4 max pool, a padded 3×3 im2col, ...);
//   - gradients: every backward op against central differences of its forward op on the
//     same backend (Col2Im as the adjoint of Im2Col);
//   - random: DropoutMask bit for bit against the host's Philox, Augment against a host
//     recomputation of device.AugmentArgs' rule;
//   - golden: every op family, forward and backward, against PyTorch's answers on awkward
//     shapes and values (1×1, odd sizes, ±1e30, denormals, −0, ties), written by
//     golden/make_golden.py into testdata/golden and committed: an oracle independent of
//     our reference loops (see golden.go and GoldenTolerances);
//   - errors: bad arguments give errors naming the op and the operand, never panics;
//
// and then Parity against the CPU reference backend (cpu.Options{Reference: true}) on
// random inputs of awkward shapes, within the Tolerances table. Parity is exported on its
// own so that a backend's tests can compare any two backends.
package devicetest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/cpu"
	"github.com/gputrain/gputrain/device"
)

// Run runs the conformance suite on the backend open returns (opened once; open should
// register its Close with t.Cleanup), then Parity against the CPU reference backend.
func Run(t *testing.T, open func(t *testing.T) device.Backend) {
	b := open(t)
	t.Run("known", func(t *testing.T) { known(t, b) })
	t.Run("gradients", func(t *testing.T) { gradients(t, b) })
	t.Run("random", func(t *testing.T) { randomOps(t, b) })
	t.Run("golden", func(t *testing.T) { Golden(t, b) })
	t.Run("errors", func(t *testing.T) { errorCases(t, b) })
	t.Run("parity", func(t *testing.T) {
		ref := cpu.New(cpu.Options{Reference: true})
		t.Cleanup(func() { ref.Close() })
		Parity(t, ref, b)
	})
}

// Tol is an elementwise tolerance: got passes where |got-want| <= Atol + Rtol*|want|.
type Tol struct{ Atol, Rtol float64 }

// Tolerances are Parity's tolerances per op family, for the inputs Parity draws (uniform
// in [-1, 1) unless its code says otherwise, GEMM depths up to 300, reductions over up to
// 1031 elements). Zero means bit-for-bit equal: those ops do no arithmetic that a
// backend could round differently. "gradient" is the tolerance of the finite-difference
// checks (central differences of float32 forward ops, step 1e-2).
var Tolerances = map[string]Tol{
	"gemm":      {Atol: 1e-4, Rtol: 1e-4}, // float32 accumulation, any order, vs float64
	"unary":     {Atol: 1e-6, Rtol: 1e-5}, // float32 exp/tanh/erf vs float64
	"softmax":   {Atol: 1e-6, Rtol: 1e-5},
	"binary":    {Atol: 1e-6, Rtol: 1e-6}, // one rounding, but division may differ by an ulp
	"reduce":    {Atol: 1e-4, Rtol: 1e-5}, // sums of up to 1031 values, any order
	"loss":      {Atol: 1e-5, Rtol: 1e-5},
	"update":    {Atol: 1e-6, Rtol: 1e-5}, // three steps of each optimizer
	"gather":    {},
	"dropout":   {},
	"augment":   {},
	"im2col":    {},
	"col2im":    {Atol: 1e-5, Rtol: 1e-5}, // sums of up to KH*KW overlapping entries
	"conv":      {Atol: 5e-4, Rtol: 1e-4}, // float32 sums of up to 5*784 products (dW over a batch) vs float64
	"pool":      {Atol: 1e-6, Rtol: 1e-5}, // max pooling exact, average rounded
	"batchnorm": {Atol: 2e-5, Rtol: 1e-4}, // per-channel sums over up to 1031*49 values
	"layernorm": {Atol: 2e-5, Rtol: 1e-4}, // per-row statistics in float32; column sums over up to 1031 rows
	"scatter":   {},                       // the same additions in the same order everywhere
	"permute":   {},
	"rnn":       {Atol: 2e-6, Rtol: 1e-5}, // float32 sigmoid and tanh vs float64, a few products
	"gradient":  {Atol: 2e-3, Rtol: 2e-2},
}

func tol(family string) Tol {
	tl, ok := Tolerances[family]
	if !ok {
		panic("devicetest: no tolerance for " + family)
	}
	return tl
}

// AssertClose checks |got[i]-want[i]| <= atol + rtol*|want[i]| for every i (a NaN only
// matches a NaN). On failure it reports name and shape, how many elements are off and the
// first of them, the largest absolute and relative errors with their indices, and the
// first values of both. It returns whether all elements were close.
func AssertClose(t testing.TB, name, shape string, want, got []float32, atol, rtol float64) bool {
	t.Helper()
	if len(want) != len(got) {
		t.Errorf("%s %s: got %d values, want %d", name, shape, len(got), len(want))
		return false
	}
	bad, first := 0, -1
	maxAbs, maxRel, iAbs, iRel := 0.0, 0.0, 0, 0
	for i := range want {
		w, g := float64(want[i]), float64(got[i])
		if math.IsNaN(w) || math.IsNaN(g) {
			if math.IsNaN(w) != math.IsNaN(g) {
				bad++
				if first < 0 {
					first = i
				}
				maxAbs, iAbs = math.NaN(), i
			}
			continue
		}
		d := math.Abs(g - w)
		if math.IsInf(w, 0) && g == w {
			d = 0
		}
		if d > maxAbs {
			maxAbs, iAbs = d, i
		}
		if r := d / math.Max(math.Abs(w), 1e-30); d > 0 && r > maxRel {
			maxRel, iRel = r, i
		}
		if !(d <= atol+rtol*math.Abs(w)) {
			bad++
			if first < 0 {
				first = i
			}
		}
	}
	if bad == 0 {
		return true
	}
	t.Errorf("%s %s: %d of %d values differ beyond atol %g + rtol %g*|want|; first at [%d]: got %g, want %g\n"+
		"\tmax abs error %.3g at [%d] (got %g, want %g), max rel error %.3g at [%d]\n\twant %s\n\tgot  %s",
		name, shape, bad, len(want), atol, rtol, first, got[first], want[first],
		maxAbs, iAbs, got[iAbs], want[iAbs], maxRel, iRel, head(want), head(got))
	return false
}

// head formats the first values of x.
func head(x []float32) string {
	const n = 8
	var sb strings.Builder
	sb.WriteString("[")
	for i, v := range x[:min(n, len(x))] {
		if i > 0 {
			sb.WriteString(" ")
		}
		fmt.Fprintf(&sb, "%.7g", v)
	}
	if len(x) > n {
		fmt.Fprintf(&sb, " … (%d)", len(x))
	}
	sb.WriteString("]")
	return sb.String()
}

// dev wraps a backend with helpers that fail the test on error and free what they
// allocate when the test ends.
type dev struct {
	t *testing.T
	b device.Backend
}

func (d dev) alloc(dt device.DType, n int) device.Buffer {
	d.t.Helper()
	buf, err := d.b.Alloc(dt, n)
	require.NoError(d.t, err)
	d.t.Cleanup(func() { d.b.Free(buf) })
	return buf
}

// f32 is a float32 buffer holding vals.
func (d dev) f32(vals ...float32) device.Buffer {
	d.t.Helper()
	buf := d.alloc(device.Float32, len(vals))
	require.NoError(d.t, d.b.WriteFloat32(buf, vals))
	return buf
}

// fill is a float32 buffer of n copies of v.
func (d dev) fill(n int, v float32) device.Buffer {
	d.t.Helper()
	buf := d.alloc(device.Float32, n)
	require.NoError(d.t, d.b.Fill(buf, v))
	return buf
}

func (d dev) i32(vals ...int32) device.Buffer {
	d.t.Helper()
	buf := d.alloc(device.Int32, len(vals))
	require.NoError(d.t, d.b.WriteInt32(buf, vals))
	return buf
}

func (d dev) u8(vals ...uint8) device.Buffer {
	d.t.Helper()
	buf := d.alloc(device.Uint8, len(vals))
	require.NoError(d.t, d.b.WriteUint8(buf, vals))
	return buf
}

func (d dev) read(buf device.Buffer) []float32 {
	d.t.Helper()
	out := make([]float32, buf.Len())
	require.NoError(d.t, d.b.ReadFloat32(out, buf))
	return out
}

func (d dev) readI(buf device.Buffer) []int32 {
	d.t.Helper()
	out := make([]int32, buf.Len())
	require.NoError(d.t, d.b.ReadInt32(out, buf))
	return out
}

// write overwrites buf with vals.
func (d dev) write(buf device.Buffer, vals []float32) {
	d.t.Helper()
	require.NoError(d.t, d.b.WriteFloat32(buf, vals))
}

// close asserts that buf holds want within tl.
func (d dev) close(tl Tol, name, shape string, want []float32, buf device.Buffer) {
	d.t.Helper()
	AssertClose(d.t, name, shape, want, d.read(buf), tl.Atol, tl.Rtol)
}

// uniform returns n values drawn uniformly from [lo, hi).
func uniform(rng *rand.Rand, n int, lo, hi float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(lo + (hi-lo)*rng.Float64())
	}
	return x
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x6770_7574_7261_696e)) }

func nan() float32 { return float32(math.NaN()) }

// nans is n NaNs: the initial contents of outputs an op must overwrite without reading.
func nans(n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = nan()
	}
	return x
}
