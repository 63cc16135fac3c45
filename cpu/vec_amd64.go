//go:build amd64 && !noasm

package cpu

import (
	"golang.org/x/sys/cpu"

	"github.com/gputrain/gputrain/device"
)

// The amd64 vector primitives, in vec_avx512_amd64.s (16 floats per zmm register) and
// vec_avx2_amd64.s (8 per ymm). Each assembly function takes n, a multiple of its
// vector width; the wrappers below run the rest of a slice through the Go loop.

//go:noescape
func adamAVX512(p, grad, m, v *float32, n int, c *adamConsts)

//go:noescape
func momentumAVX512(p, grad, m *float32, n int, mu, lr float32, nesterov bool)

//go:noescape
func axpbyAVX512(y, x *float32, n int, a, b float32)

//go:noescape
func binaryAVX512(op int, c, a, b *float32, n int)

//go:noescape
func widenU8AVX512(dst *float32, src *uint8, n int, s float32)

//go:noescape
func reluAVX512(y, x *float32, n int)

//go:noescape
func selectPosAVX512(out, x, a *float32, n int, p float32)

//go:noescape
func expAVX512(y, x *float32, n int)

//go:noescape
func expAVX2(y, x *float32, n int)

//go:noescape
func biasReLUAVX512(c *float32, ldc, rows, cols int, bias *float32, relu bool)

//go:noescape
func sigmoidAVX512(y, x *float32, n int)

//go:noescape
func tanhAVX512(y, x *float32, n int)

//go:noescape
func geluAVX512(y, x *float32, n int)

//go:noescape
func geluBackwardAVX512(dx, x, dy *float32, n int)

//go:noescape
func geluTanhAVX512(y, x *float32, n int)

//go:noescape
func geluTanhBackwardAVX512(dx, x, dy *float32, n int)

//go:noescape
func sumAVX512(x *float32, n int) float32

//go:noescape
func maxAVX512(x *float32, n int) float32

//go:noescape
func expAffineAVX512(y, x *float32, n int, a, b float32)

//go:noescape
func sumSqDevAVX512(x *float32, n int, m float32) float32

//go:noescape
func normAffineAVX512(y, x, gamma, beta *float32, n int, m, s float32)

//go:noescape
func lnGradSumsAVX512(x, dy, gamma, pg, pb *float32, n int, m, s float32) (sg, sgx float32)

//go:noescape
func lnGradDXAVX512(dx, x, dy, gamma *float32, n int, m, s, mg, mgx float32)

//go:noescape
func lstmBackwardAVX512(acts, cprev, tc, dh, dc, dgx, dcprev *float32, hidden int)

//go:noescape
func gruBackwardAVX512(acts, gh, hprev, dh, dgx, dgh, dhprev *float32, hidden int)

// The AVX-512 row primitives take any n (masked tails); AVX2 has none and runs the Go
// loops, but for expAffine, which takes the AVX2 exp (see init).
func init() {
	v := vecAVX512
	v.sum = func(x []float32) float32 {
		if len(x) == 0 {
			return 0
		}
		return sumAVX512(&x[0], len(x))
	}
	v.maxOf = func(x []float32) float32 {
		if len(x) == 0 {
			return maxGo(x)
		}
		return maxAVX512(&x[0], len(x))
	}
	v.expAffine = func(y, x []float32, a, b float32) {
		if len(x) == 0 {
			return
		}
		_ = y[len(x)-1]
		expAffineAVX512(&y[0], &x[0], len(x), a, b)
	}
	v.sumSqDev = func(x []float32, m float32) float32 {
		if len(x) == 0 {
			return 0
		}
		return sumSqDevAVX512(&x[0], len(x), m)
	}
	v.normAffine = func(y, x, gamma, beta []float32, m, s float32) {
		n := len(x)
		if n == 0 {
			return
		}
		_, _ = y[n-1], gamma[n-1]
		var bp *float32
		if beta != nil {
			_ = beta[n-1]
			bp = &beta[0]
		}
		normAffineAVX512(&y[0], &x[0], &gamma[0], bp, n, m, s)
	}
	v.lnGradSums = func(x, dy, gamma, pg, pb []float32, m, s float32) (float32, float32) {
		n := len(x)
		if n == 0 {
			return 0, 0
		}
		_, _, _, _ = dy[n-1], gamma[n-1], pg[n-1], pb[n-1]
		return lnGradSumsAVX512(&x[0], &dy[0], &gamma[0], &pg[0], &pb[0], n, m, s)
	}
	v.lnGradDX = func(dx, x, dy, gamma []float32, m, s, mg, mgx float32) {
		n := len(x)
		if n == 0 {
			return
		}
		_, _, _ = dx[n-1], dy[n-1], gamma[n-1]
		lnGradDXAVX512(&dx[0], &x[0], &dy[0], &gamma[0], n, m, s, mg, mgx)
	}
	v.lstmBackward = func(acts, cPrev, tc, dh, dc, dgx, dcPrev []float32) {
		n := len(tc)
		if n == 0 {
			return
		}
		_, _, _, _, _, _ = acts[4*n-1], cPrev[n-1], dh[n-1], dc[n-1], dgx[4*n-1], dcPrev[n-1]
		lstmBackwardAVX512(&acts[0], &cPrev[0], &tc[0], &dh[0], &dc[0], &dgx[0], &dcPrev[0], n)
	}
	v.gruBackward = func(acts, gh, hPrev, dh, dgx, dgh, dhPrev []float32) {
		n := len(dh)
		if n == 0 {
			return
		}
		_, _, _, _, _, _ = acts[3*n-1], gh[3*n-1], hPrev[n-1], dgx[3*n-1], dgh[3*n-1], dhPrev[n-1]
		gruBackwardAVX512(&acts[0], &gh[0], &hPrev[0], &dh[0], &dgx[0], &dgh[0], &dhPrev[0], n)
	}
	vecAVX2.expAffine = func(y, x []float32, a, b float32) {
		y = y[:len(x)]
		for i, v := range x {
			y[i] = a*v + b
		}
		vecAVX2.exp(y, y)
	}
}

// biasReLUAVX512Rows is vecVariant.biasReLU on biasReLUAVX512.
func biasReLUAVX512Rows(c []float32, ldc, rows, cols int, bias []float32, relu bool) {
	if rows <= 0 || cols <= 0 {
		return
	}
	_ = c[(rows-1)*ldc+cols-1]
	var bp *float32
	if bias != nil {
		_ = bias[cols-1]
		bp = &bias[0]
	}
	biasReLUAVX512(&c[0], ldc, rows, cols, bp, relu)
}

//go:noescape
func maxPool2AVX512(x, y *float32, rows, ow, w int)

//go:noescape
func maxPool2BackwardAVX512(x, y, dy, dx *float32, rows, ow, w int)

// maxPool2AVX512Rows is vecVariant.maxPool2 on maxPool2AVX512.
func maxPool2AVX512Rows(x, y []float32, rows, ow, w int) {
	if rows <= 0 || ow <= 0 {
		return
	}
	_ = x[(2*rows-1)*w+2*ow-1]
	_ = y[rows*ow-1]
	maxPool2AVX512(&x[0], &y[0], rows, ow, w)
}

// maxPool2BackwardAVX512Rows is vecVariant.maxPool2Backward on maxPool2BackwardAVX512.
func maxPool2BackwardAVX512Rows(x, y, dy, dx []float32, rows, ow, w int) {
	if rows <= 0 || ow <= 0 {
		return
	}
	_ = x[(2*rows-1)*w+2*ow-1]
	_ = dx[(2*rows-1)*w+2*ow-1]
	_ = y[rows*ow-1]
	_ = dy[rows*ow-1]
	maxPool2BackwardAVX512(&x[0], &y[0], &dy[0], &dx[0], rows, ow, w)
}

//go:noescape
func sumF64AVX512(x *float32, n int) float64

//go:noescape
func sumSqDevF64AVX512(x *float32, n int, mean float64) float64

//go:noescape
func sumDotF64AVX512(d, x *float32, n int) (sum, dot float64)

//go:noescape
func normAVX512(y, x *float32, n int, mu, s, b float32)

//go:noescape
func normBackwardAVX512(dx, dy, x *float32, n int, a, mu, k1, k0 float32)

// The batch-norm primitives on AVX-512: whole vectors in assembly, the rest (and its
// part of a sum) in Go.
func init() {
	body := func(n int) int { return n &^ 15 }
	vecAVX512.sumF64 = func(x []float32) float64 {
		var s float64
		if k := body(len(x)); k > 0 {
			s = sumF64AVX512(&x[0], k)
			x = x[k:]
		}
		return s + sumF64(x)
	}
	vecAVX512.sumSqDevF64 = func(x []float32, mean float64) float64 {
		var s float64
		if k := body(len(x)); k > 0 {
			s = sumSqDevF64AVX512(&x[0], k, mean)
			x = x[k:]
		}
		return s + sumSqDevF64(x, mean)
	}
	vecAVX512.sumDotF64 = func(d, x []float32) (sum, dot float64) {
		x = x[:len(d)]
		if k := body(len(d)); k > 0 {
			sum, dot = sumDotF64AVX512(&d[0], &x[0], k)
			d, x = d[k:], x[k:]
		}
		s, p := sumDotF64(d, x)
		return sum + s, dot + p
	}
	vecAVX512.norm = func(y, x []float32, mu, s, b float32) {
		y = y[:len(x)]
		if k := body(len(x)); k > 0 {
			normAVX512(&y[0], &x[0], k, mu, s, b)
			y, x = y[k:], x[k:]
		}
		normGo(y, x, mu, s, b)
	}
	vecAVX512.normBackward = func(dx, dy, x []float32, a, mu, k1, k0 float32) {
		dx, x = dx[:len(dy)], x[:len(dy)]
		if k := body(len(dy)); k > 0 {
			normBackwardAVX512(&dx[0], &dy[0], &x[0], k, a, mu, k1, k0)
			dx, dy, x = dx[k:], dy[k:], x[k:]
		}
		normBackwardGo(dx, dy, x, a, mu, k1, k0)
	}
	vecAVX2.sumF64, vecAVX2.sumSqDevF64, vecAVX2.sumDotF64 = sumF64, sumSqDevF64, sumDotF64
	vecAVX2.norm, vecAVX2.normBackward = normGo, normBackwardGo
	vecAVX512.im2col, vecAVX512.col2im = im2colAVX512, col2imAVX512
	vecAVX512.filterRows = filterRowsAVX512
	vecAVX2.im2col, vecAVX2.col2im = im2colGo, col2imGo
}

//go:noescape
func adamAVX2(p, grad, m, v *float32, n int, c *adamConsts)

//go:noescape
func momentumAVX2(p, grad, m *float32, n int, mu, lr float32, nesterov bool)

//go:noescape
func axpbyAVX2(y, x *float32, n int, a, b float32)

//go:noescape
func binaryAVX2(op int, c, a, b *float32, n int)

//go:noescape
func widenU8AVX2(dst *float32, src *uint8, n int, s float32)

//go:noescape
func reluAVX2(y, x *float32, n int)

//go:noescape
func selectPosAVX2(out, x, a *float32, n int, p float32)

//go:noescape
func sigmoidAVX2(y, x *float32, n int)

//go:noescape
func tanhAVX2(y, x *float32, n int)

//go:noescape
func geluAVX2(y, x *float32, n int)

//go:noescape
func geluBackwardAVX2(dx, x, dy *float32, n int)

//go:noescape
func geluTanhAVX2(y, x *float32, n int)

//go:noescape
func geluTanhBackwardAVX2(dx, x, dy *float32, n int)

// vecAsm is one instruction set's assembly primitives and their vector width.
type vecAsm struct {
	width     int
	adam      func(p, g, m, v *float32, n int, c *adamConsts)
	momentum  func(p, g, m *float32, n int, mu, lr float32, nesterov bool)
	axpby     func(y, x *float32, n int, a, b float32)
	binary    func(op int, c, a, b *float32, n int)
	widenU8   func(dst *float32, src *uint8, n int, s float32)
	relu      func(y, x *float32, n int)
	selectPos func(out, x, a *float32, n int, p float32)
	exp       func(y, x *float32, n int)
	// The activations; nil where the instruction set has none (the Go loop runs).
	sigmoid, tanh, gelu, geluTanh  func(y, x *float32, n int)
	geluBackward, geluTanhBackward func(dx, x, dy *float32, n int)
}

// unaryAsm wraps an assembly activation y = f(x) as a vecVariant entry: whole vectors in
// assembly, the tail (or everything, when f is nil) in the Go loop.
func unaryAsm(width int, f func(y, x *float32, n int), tail func(y, x []float32)) func(y, x []float32) {
	if f == nil {
		return tail
	}
	return func(y, x []float32) {
		n := len(x)
		y = y[:n]
		k := n &^ (width - 1)
		if k > 0 {
			f(&y[0], &x[0], k)
		}
		if k < n {
			tail(y[k:], x[k:])
		}
	}
}

// newVecVariant wraps a's primitives as a vecVariant: the assembly takes the whole
// vectors of each slice, the Go loop the last len%width elements. The reslicing checks
// that every operand is as long as the first.
func newVecVariant(name string, a vecAsm) *vecVariant {
	body := func(n int) int { return n &^ (a.width - 1) }
	return &vecVariant{
		name: name,
		sum:  sumGo, maxOf: maxGo, expAffine: expAffineGo, sumSqDev: sumSqDevGo, normAffine: normAffineGo,
		lnGradSums: lnGradSumsGo, lnGradDX: lnGradDXGo, lstmBackward: lstmBackwardGo, gruBackward: gruBackwardGo,
		adam: func(p, g, m, v []float32, c *adamConsts) {
			n := len(p)
			g, m, v = g[:n], m[:n], v[:n]
			k := body(n)
			if k > 0 {
				a.adam(&p[0], &g[0], &m[0], &v[0], k, c)
			}
			if k < n {
				adamGo(p[k:], g[k:], m[k:], v[k:], c)
			}
		},
		momentum: func(p, g, m []float32, mu, lr float32, nesterov bool) {
			n := len(p)
			g, m = g[:n], m[:n]
			k := body(n)
			if k > 0 {
				a.momentum(&p[0], &g[0], &m[0], k, mu, lr, nesterov)
			}
			if k < n {
				momentumGo(p[k:], g[k:], m[k:], mu, lr, nesterov)
			}
		},
		axpby: func(y, x []float32, aa, b float32) {
			n := len(x)
			y = y[:n]
			k := body(n)
			if k > 0 {
				a.axpby(&y[0], &x[0], k, aa, b)
			}
			if k < n {
				axpbyGo(y[k:], x[k:], aa, b)
			}
		},
		binary: func(op device.BinaryOp, c, x, y []float32) {
			n := len(x)
			c, y = c[:n], y[:n]
			k := body(n)
			if k > 0 {
				a.binary(int(op), &c[0], &x[0], &y[0], k)
			}
			if k < n {
				binaryGo(op, c[k:], x[k:], y[k:])
			}
		},
		widenU8: func(dst []float32, src []uint8, s float32) {
			n := len(src)
			dst = dst[:n]
			k := body(n)
			if k > 0 {
				a.widenU8(&dst[0], &src[0], k, s)
			}
			if k < n {
				widenU8Go(dst[k:], src[k:], s)
			}
		},
		relu: func(y, x []float32) {
			n := len(x)
			y = y[:n]
			k := body(n)
			if k > 0 {
				a.relu(&y[0], &x[0], k)
			}
			if k < n {
				reluGo(y[k:], x[k:])
			}
		},
		exp: func(y, x []float32) {
			n := len(x)
			y = y[:n]
			k := body(n)
			if k > 0 {
				a.exp(&y[0], &x[0], k)
			}
			if k < n {
				expGo(y[k:], x[k:])
			}
		},
		sigmoid: unaryAsm(a.width, a.sigmoid, sigmoidGo),
		tanh:    unaryAsm(a.width, a.tanh, tanhGo),
		gelu:    unaryAsm(a.width, a.gelu, geluGo),
		geluBackward: func(dx, x, dy []float32) {
			n := len(x)
			dx, dy = dx[:n], dy[:n]
			k := body(n)
			if a.geluBackward == nil {
				k = 0
			}
			if k > 0 {
				a.geluBackward(&dx[0], &x[0], &dy[0], k)
			}
			if k < n {
				geluBackwardGo(dx[k:], x[k:], dy[k:])
			}
		},
		geluTanh: unaryAsm(a.width, a.geluTanh, geluTanhGo),
		geluTanhBackward: func(dx, x, dy []float32) {
			n := len(x)
			dx, dy = dx[:n], dy[:n]
			k := body(n)
			if a.geluTanhBackward == nil {
				k = 0
			}
			if k > 0 {
				a.geluTanhBackward(&dx[0], &x[0], &dy[0], k)
			}
			if k < n {
				geluTanhBackwardGo(dx[k:], x[k:], dy[k:])
			}
		},
		selectPos: func(out, x, v []float32, p float32) {
			n := len(x)
			out, v = out[:n], v[:n]
			k := body(n)
			if k > 0 {
				a.selectPos(&out[0], &x[0], &v[0], k, p)
			}
			if k < n {
				selectPosGo(out[k:], x[k:], v[k:], p)
			}
		},
	}
}

var (
	vecAVX512 = newVecVariant("avx512", vecAsm{width: 16, adam: adamAVX512, momentum: momentumAVX512, axpby: axpbyAVX512,
		binary: binaryAVX512, widenU8: widenU8AVX512, relu: reluAVX512, selectPos: selectPosAVX512, exp: expAVX512,
		sigmoid: sigmoidAVX512, tanh: tanhAVX512, gelu: geluAVX512, geluBackward: geluBackwardAVX512,
		geluTanh: geluTanhAVX512, geluTanhBackward: geluTanhBackwardAVX512})
	vecAVX2 = newVecVariant("avx2", vecAsm{width: 8, adam: adamAVX2, momentum: momentumAVX2, axpby: axpbyAVX2,
		binary: binaryAVX2, widenU8: widenU8AVX2, relu: reluAVX2, selectPos: selectPosAVX2, exp: expAVX2,
		sigmoid: sigmoidAVX2, tanh: tanhAVX2, gelu: geluAVX2, geluBackward: geluBackwardAVX2,
		geluTanh: geluTanhAVX2, geluTanhBackward: geluTanhBackwardAVX2})
)

func init() {
	vecAVX512.biasReLU = biasReLUAVX512Rows
	vecAVX512.maxPool2, vecAVX512.maxPool2Backward = maxPool2AVX512Rows, maxPool2BackwardAVX512Rows
	vecAVX2.maxPool2, vecAVX2.maxPool2Backward = maxPool2Go, maxPool2BackwardGo
	vecAVX2.biasReLU = func(c []float32, ldc, rows, cols int, bias []float32, relu bool) {
		// Row by row on the AVX2 add and max.
		for r := range rows {
			row := c[r*ldc : r*ldc+cols]
			if bias != nil {
				vecAVX2.binary(device.Add, row, row, bias[:cols])
			}
			if relu {
				vecAVX2.relu(row, row)
			}
		}
	}
	if cpu.X86.HasAVX512F {
		vecAvailable = append(vecAvailable, vecAVX512)
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		vecAvailable = append(vecAvailable, vecAVX2)
	}
	vecAvailable = append(vecAvailable, vecGo)
}
