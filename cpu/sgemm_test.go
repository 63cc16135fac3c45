package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/device"
)

// naiveGemm is the test's own definition of the product, accumulated in float64:
// C = alpha*op(A)*op(B) + beta*C, C not read when beta == 0. It also returns, per
// element, the bound alpha*sum_k |op(A)[i,k]*op(B)[k,j]| + |beta*C[i,j]| that scales the
// rounding error of a float32 evaluation.
func naiveGemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) (want, scale []float64) {
	want = make([]float64, m*n)
	scale = make([]float64, m*n)
	for i := range m {
		for j := range n {
			var sum, abs float64
			for p := range k {
				var x, y float64
				if transA {
					x = float64(a[p*lda+i])
				} else {
					x = float64(a[i*lda+p])
				}
				if transB {
					y = float64(b[j*ldb+p])
				} else {
					y = float64(b[p*ldb+j])
				}
				sum += x * y
				abs += math.Abs(x * y)
			}
			w := float64(alpha) * sum
			s := math.Abs(float64(alpha)) * abs
			if beta != 0 {
				cv := float64(beta) * float64(c[i*ldc+j])
				w += cv
				s += math.Abs(cv)
			}
			want[i*n+j] = w
			scale[i*n+j] = s
		}
	}
	return want, scale
}

type gemmCase struct {
	name           string
	transA, transB bool
	m, n, k        int
}

// gemmShapes are the ragged sizes of the issue, mixed so that m, n and k each meet every
// size, plus the reference job's shapes and shapes that cross the cache blocks.
func gemmShapes() [][3]int {
	sizes := []int{1, 2, 15, 17, 31, 33, 64, 100, 257}
	var shapes [][3]int
	for i, s := range sizes {
		shapes = append(shapes,
			[3]int{s, s, s},
			[3]int{s, sizes[(i+3)%len(sizes)], sizes[(i+6)%len(sizes)]},
			[3]int{sizes[(i+4)%len(sizes)], s, sizes[(i+2)%len(sizes)]},
			[3]int{sizes[(i+7)%len(sizes)], sizes[(i+5)%len(sizes)], s},
		)
	}
	for _, r := range referenceShapes {
		shapes = append(shapes, [3]int{r.m, r.n, r.k})
	}
	// k past kc (384 for avx512), m past mc, n past nc.
	shapes = append(shapes, [3]int{13, 35, 800}, [3]int{3100, 5, 3}, [3]int{5, 1100, 7})
	return shapes
}

// referenceShapes are the products of one training step of the reference MLP (batch 32,
// 784-128-64-10, weights stored [out,in]): forward Y = X·Wᵀ, weight gradients dW = dYᵀ·X,
// input gradients dX = dY·W.
var referenceShapes = []gemmCase{
	{"fwd1_32x128x784_NT", false, true, 32, 128, 784},
	{"fwd2_32x64x128_NT", false, true, 32, 64, 128},
	{"fwd3_32x10x64_NT", false, true, 32, 10, 64},
	{"dw1_128x784x32_TN", true, false, 128, 784, 32},
	{"dw2_64x128x32_TN", true, false, 64, 128, 32},
	{"dw3_10x64x32_TN", true, false, 10, 64, 32},
	{"dx2_32x128x64_NN", false, false, 32, 128, 64},
	{"dx3_32x64x10_NN", false, false, 32, 64, 10},
}

func randSlice(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	return x
}

// gemmTestCase is one product with its inputs and its float64 reference.
type gemmTestCase struct {
	transA, transB bool
	m, n, k, pad   int
	alpha, beta    float32
	lda, ldb, ldc  int
	a, b, c        []float32 // c: the initial C (NaN where beta == 0, sentinel padding)
	want, scale    []float64
}

const gemmSentinel = float32(-12345.5)

func (tc *gemmTestCase) String() string {
	return fmt.Sprintf("%dx%dx%d transA=%v transB=%v alpha=%g beta=%g pad=%d", tc.m, tc.n, tc.k, tc.transA, tc.transB, tc.alpha, tc.beta, tc.pad)
}

// newGemmCase makes random inputs for one product and computes naiveGemm on them. pad
// widens every leading dimension.
func newGemmCase(r *rand.Rand, transA, transB bool, m, n, kk, pad int, alpha, beta float32) *gemmTestCase {
	tc := &gemmTestCase{transA: transA, transB: transB, m: m, n: n, k: kk, pad: pad, alpha: alpha, beta: beta}
	ar, ac := m, kk
	if transA {
		ar, ac = kk, m
	}
	br, bc := kk, n
	if transB {
		br, bc = n, kk
	}
	tc.lda, tc.ldb, tc.ldc = ac+pad, bc+pad, n+pad
	tc.a = randSlice(r, (ar-1)*tc.lda+ac)
	tc.b = randSlice(r, (br-1)*tc.ldb+bc)
	tc.c = randSlice(r, m*tc.ldc)
	for i := range m {
		for j := n; j < tc.ldc; j++ {
			tc.c[i*tc.ldc+j] = gemmSentinel
		}
		if beta == 0 {
			for j := range n {
				tc.c[i*tc.ldc+j] = float32(math.NaN())
			}
		}
	}
	tc.want, tc.scale = naiveGemm(transA, transB, m, n, kk, alpha, tc.a, tc.lda, tc.b, tc.ldb, beta, tc.c, tc.ldc)
	return tc
}

// check runs k.sgemm on the case and compares C with the reference, within
// 2*eps*(k+2) of alpha*sum|a*b| + |beta*c| per element; the padding of C must come back
// untouched.
func (tc *gemmTestCase) check(t *testing.T, k *kernels) {
	t.Helper()
	c := slices.Clone(tc.c)
	k.sgemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, tc.a, tc.lda, tc.b, tc.ldb, tc.beta, c, tc.ldc)

	const eps = 1.0 / (1 << 23)
	m, n, ldc := tc.m, tc.n, tc.ldc
	bad, first := 0, ""
	maxErr := 0.0
	for i := range m {
		for j := range n {
			got := float64(c[i*ldc+j])
			err := math.Abs(got - tc.want[i*n+j])
			tol := 2*eps*float64(tc.k+2)*tc.scale[i*n+j] + 1e-30
			if math.IsNaN(got) || err > tol {
				if bad == 0 {
					first = fmt.Sprintf("C[%d,%d] = %g, want %g (tolerance %.3g)", i, j, got, tc.want[i*n+j], tol)
				}
				bad++
			}
			maxErr = max(maxErr, err)
		}
		for j := n; j < ldc; j++ {
			require.Equal(t, gemmSentinel, c[i*ldc+j], "C padding [%d,%d] overwritten", i, j)
		}
	}
	require.Zero(t, bad, "%s: %d of %d elements wrong, first %s; max abs error %.3g", tc, bad, m*n, first, maxErr)
}

// gemmVariants returns the available variants, each of their tiles on its own (a
// variant with an alt tile picks one by m), and each also with tiny cache blocks so that
// small shapes cross every block boundary.
func gemmVariants() []*sgemmVariant {
	var vs []*sgemmVariant
	var all []*sgemmVariant
	for _, v := range sgemmAvailable {
		all = append(all, v)
		if v.alt != nil {
			main := *v
			main.name = fmt.Sprintf("%s-%dx%d", v.name, v.mr, v.nr)
			main.alt = nil
			all = append(all, &main)
			alt := *v.alt
			alt.name = fmt.Sprintf("%s-%dx%d", v.name, alt.mr, alt.nr)
			all = append(all, &alt)
		}
	}
	for _, v := range all {
		vs = append(vs, v)
		small := *v
		small.name = v.name + "-smallblocks"
		small.kc, small.mc, small.nc = 7, 2*v.mr, 2*v.nr
		vs = append(vs, &small)
	}
	return vs
}

func TestSgemmVariants(t *testing.T) {
	type ab struct{ alpha, beta float32 }
	scalars := []ab{{1, 0}, {0.5, 0}, {-1.5, 1}, {2, -0.5}}
	r := rand.New(rand.NewPCG(1, 7))
	var cases []*gemmTestCase
	for si, s := range gemmShapes() {
		for tr := range 4 {
			sc := scalars[(si+tr)%len(scalars)]
			pad := 5 * ((si + tr) % 2)
			cases = append(cases, newGemmCase(r, tr&1 != 0, tr&2 != 0, s[0], s[1], s[2], pad, sc.alpha, sc.beta))
		}
	}
	for _, v := range gemmVariants() {
		for _, threads := range []int{1, 2, 3} {
			t.Run(fmt.Sprintf("%s/threads=%d", v.name, threads), func(t *testing.T) {
				b := New(Options{Threads: threads})
				defer b.Close()
				k := &b.kernels
				k.gemm.v = v
				k.gemm.minFlops = 0 // split even the smallest shapes
				if threads == 3 {
					k.gemm.sharedAMin = 0   // threads pack A together whenever they split columns
					k.gemm.rowSplitMaxB = 0 // and split columns where the shapes favour it
				}
				for _, tc := range cases {
					t.Run(tc.String(), func(t *testing.T) { tc.check(t, k) })
				}
			})
		}
	}
}

// TestSgemmScalars runs every alpha/beta pair (beta 0 over a NaN-filled C) on shapes that
// take the packed, the in-place, the ragged and the transposed (narrow C) paths.
func TestSgemmScalars(t *testing.T) {
	type ab struct{ alpha, beta float32 }
	scalars := []ab{{1, 0}, {0.5, 0}, {-1.5, 1}, {2, -0.5}, {1, 1}, {-1, float32(math.Copysign(0, -1))}}
	for _, v := range sgemmAvailable {
		b := New(Options{Threads: 2})
		k := &b.kernels
		k.gemm.v = v
		r := rand.New(rand.NewPCG(3, 4))
		// The last two are narrow: with beta == 0 they run transposed (C' = Cᵀ).
		for _, s := range [][3]int{{33, 65, 17}, {100, 257, 100}, {12, 32, 5}, {40, 10, 64}, {33, 3, 17}} {
			for tr := range 4 {
				for _, sc := range scalars {
					transA, transB := tr&1 != 0, tr&2 != 0
					t.Run(fmt.Sprintf("%s/%dx%dx%d/transA=%v/transB=%v/alpha=%g/beta=%g", v.name, s[0], s[1], s[2], transA, transB, sc.alpha, sc.beta), func(t *testing.T) {
						newGemmCase(r, transA, transB, s[0], s[1], s[2], 3, sc.alpha, sc.beta).check(t, k)
					})
				}
			}
		}
		b.Close()
	}
}

// TestSgemmDegenerate covers k == 0 and alpha == 0: C = beta*C, C not read when beta == 0.
func TestSgemmDegenerate(t *testing.T) {
	b := New(Options{Threads: 2})
	defer b.Close()
	nan := float32(math.NaN())
	c := []float32{1, 2, 3, nan, 4, 5, 6, nan}
	b.kernels.sgemm(false, false, 2, 3, 0, 1, nil, 0, nil, 3, 2, c, 4)
	require.Equal(t, []float32{2, 4, 6}, c[0:3])
	require.Equal(t, []float32{8, 10, 12}, c[4:7])
	require.True(t, math.IsNaN(float64(c[3])) && math.IsNaN(float64(c[7])), "padding of C was written")

	c = []float32{nan, nan, nan, nan}
	a := []float32{1, 2, 3, 4}
	b.kernels.sgemm(false, false, 2, 2, 2, 0, a, 2, a, 2, 0, c, 2)
	require.Equal(t, []float32{0, 0, 0, 0}, c)
}

// TestSgemmVariantSelection checks that the fastest variant this CPU supports is the
// default, that every variant can be forced and that Describe names the kernel.
func TestSgemmVariantSelection(t *testing.T) {
	b := New(Options{Threads: 1})
	defer b.Close()
	require.Equal(t, sgemmAvailable[0], b.kernels.gemm.v)
	require.Equal(t, "go", sgemmAvailable[len(sgemmAvailable)-1].name)
	for _, v := range sgemmAvailable {
		require.NoError(t, b.kernels.gemm.setVariant(v.name))
		require.Contains(t, b.Describe(), fmt.Sprintf("sgemm %s %dx%d", v.name, v.mr, v.nr))
	}
	require.ErrorContains(t, b.kernels.gemm.setVariant("sse9"), `"sse9"`)
}

// TestSgemmNoAllocs checks that a GEMM, threaded or not (with each thread packing its
// own A, or all packing one shared A), allocates nothing once its buffers have grown.
func TestSgemmNoAllocs(t *testing.T) {
	for _, v := range sgemmAvailable {
		for _, threads := range []int{1, 2} {
			b := New(Options{Threads: threads})
			k := &b.kernels
			k.gemm.v = v
			r := rand.New(rand.NewPCG(1, 2))
			for _, s := range [][3]int{{96, 200, 300}, {160, 200, 300}} {
				m, n, kk := s[0], s[1], s[2]
				a, bb, c := randSlice(r, m*kk), randSlice(r, kk*n), randSlice(r, m*n)
				for tr := range 4 {
					transA, transB := tr&1 != 0, tr&2 != 0
					lda, ldb := kk, n
					if transA {
						lda = m
					}
					if transB {
						ldb = kk
					}
					run := func() { k.sgemm(transA, transB, m, n, kk, 1, a, lda, bb, ldb, 0, c, n) }
					run()
					allocs := testing.AllocsPerRun(20, run)
					require.Zero(t, allocs, "%s threads=%d %dx%dx%d transA=%v transB=%v: %v allocations per call", v.name, threads, m, n, kk, transA, transB, allocs)
				}
			}
			b.Close()
		}
	}
}

// TestSgemmEpilogue runs the bias + activation epilogue on every variant and tile (with
// tiny blocks too, so that the epilogue must wait for the last of many k blocks), on 1
// and 3 threads (split columns carry their part of the bias), with padded C rows whose
// padding must stay untouched.
func TestSgemmEpilogue(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 9))
	var cases []*gemmTestCase
	for si, s := range gemmShapes() {
		if si%3 != 0 {
			continue
		}
		for tr := range 4 {
			cases = append(cases, newGemmCase(r, tr&1 != 0, tr&2 != 0, s[0], s[1], s[2], 3*(tr%2), 1, float32(tr/2)))
		}
	}
	// Narrow C with beta 0: the transposed evaluation.
	cases = append(cases, newGemmCase(r, false, true, 40, 10, 64, 0, 1, 0), newGemmCase(r, true, false, 33, 3, 17, 2, 1, 0))
	const eps = 1.0 / (1 << 23)
	for _, v := range gemmVariants() {
		for _, threads := range []int{1, 3} {
			t.Run(fmt.Sprintf("%s/threads=%d", v.name, threads), func(t *testing.T) {
				b := New(Options{Threads: threads})
				defer b.Close()
				k := &b.kernels
				k.gemm.v = v
				k.gemm.minFlops = 0
				if threads == 3 {
					k.gemm.sharedAMin = 0
					k.gemm.rowSplitMaxB = 0
				}
				for ci, tc := range cases {
					bias := randSlice(r, tc.n)
					ep := sgemmEpilogue{vec: k.vec, bias: bias, actOn: true, act: device.LeakyReLU, p: 0.125}
					if ci%2 == 1 {
						ep.act = device.ReLU
					}
					c := slices.Clone(tc.c)
					k.sgemmWith(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, tc.a, tc.lda, tc.b, tc.ldb, tc.beta, c, tc.ldc, ep)
					for i := range tc.m {
						for j := range tc.n {
							z := tc.want[i*tc.n+j] + float64(bias[j])
							want := z
							if !(z > 0) {
								want = 0
								if ep.act == device.LeakyReLU {
									want = 0.125 * z
								}
							}
							got := float64(c[i*tc.ldc+j])
							tol := 2*eps*float64(tc.k+3)*(tc.scale[i*tc.n+j]+math.Abs(float64(bias[j]))) + 1e-30
							require.False(t, math.IsNaN(got) || math.Abs(got-want) > tol, "%s %s: C[%d,%d] = %g, want %g", tc, ep.act, i, j, got, want)
						}
						for j := tc.n; j < tc.ldc; j++ {
							require.Equal(t, gemmSentinel, c[i*tc.ldc+j], "%s: C padding [%d,%d] overwritten", tc, i, j)
						}
					}
				}
			})
		}
	}
}

// TestSgemmDot runs the products the inner-product kernel takes (A·Bᵀ, k >= 256, small
// A) with ragged rows (m mod 3), columns (n mod 8) and k (mod 16), beta 0 and 1, on 1 and
// 3 threads, with no epilogue, a bias, bias + ReLU (in the kernel) and bias + sigmoid
// (after it), against the float64 product.
func TestSgemmDot(t *testing.T) {
	var dot *sgemmVariant
	for _, v := range sgemmAvailable {
		if v.dot != nil {
			dot = v
		}
	}
	if dot == nil {
		t.Skip("no inner-product kernel on this machine")
	}
	r := rand.New(rand.NewPCG(11, 12))
	const eps = 1.0 / (1 << 23)
	for _, s := range [][3]int{{32, 128, 784}, {1, 1, 256}, {2, 9, 257}, {13, 35, 800}, {64, 17, 1000}, {5, 8, 300}} {
		for _, beta := range []float32{0, 1} {
			tc := newGemmCase(r, false, true, s[0], s[1], s[2], 3, 0.5, beta)
			for _, threads := range []int{1, 3} {
				for _, act := range []int{-2, -1, int(device.ReLU), int(device.Sigmoid)} {
					b := New(Options{Threads: threads})
					k := &b.kernels
					k.gemm.v = dot
					k.gemm.minFlops = 0
					g := sgemmArgs{m: tc.m, n: tc.n, k: tc.k, transB: true}
					require.True(t, dot.takesDot(&g), "%v", s)
					bias := randSlice(r, tc.n)
					ep := sgemmEpilogue{vec: k.vec}
					if act >= -1 {
						ep.bias = bias
					}
					if act >= 0 {
						ep.actOn, ep.act = true, device.UnaryOp(act)
					}
					c := slices.Clone(tc.c)
					k.sgemmWith(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, tc.a, tc.lda, tc.b, tc.ldb, tc.beta, c, tc.ldc, ep)
					b.Close()
					for i := range tc.m {
						for j := range tc.n {
							want := tc.want[i*tc.n+j]
							tol := 2*eps*float64(tc.k+3)*tc.scale[i*tc.n+j] + 1e-30
							if ep.bias != nil {
								want += float64(bias[j])
								tol += eps * math.Abs(want)
							}
							switch {
							case act == int(device.ReLU):
								want = max(want, 0)
							case act == int(device.Sigmoid):
								want = 1 / (1 + math.Exp(-want))
								tol += 1e-6
							}
							got := float64(c[i*tc.ldc+j])
							require.False(t, math.IsNaN(got) || math.Abs(got-want) > tol,
								"%s threads=%d act=%d: C[%d,%d] = %g, want %g", tc, threads, act, i, j, got, want)
						}
						for j := tc.n; j < tc.ldc; j++ {
							require.Equal(t, gemmSentinel, c[i*tc.ldc+j], "%s: C padding [%d,%d] overwritten", tc, i, j)
						}
					}
				}
			}
		}
	}
}
