package cpu

import (
	"fmt"
	"math"

	"github.com/gputrain/gputrain/device"
)

// The elementwise primitives behind the tuned optimizer, gather, activation, binary and
// reduction kernels. Each is one pass over a few slices of equal length; the ops are
// compositions of them (SGD is axpby, a bias gradient is a run of adds, ReLU's backward
// pass is selectPos with p = 0).
//
// vecVariant holds one implementation of every primitive. The Go variant is the plain
// loops below, whose code is the primitives' definition; the amd64 variants
// (vec_amd64.go) run AVX-512 or AVX2+FMA assembly over whole vectors and finish the last
// few elements with the Go loop. They may round differently where they fuse a multiply
// and an add (one rounding instead of two); sqrt, division and max are exact in both.
//
// Denormals: the optimizer primitives flush results below the smallest normal float32
// (2^-126 ≈ 1.2e-38) to zero. A weight whose gradient stays 0 (a pixel that is black in
// every image, a dead ReLU unit) has its Adam or momentum state decay geometrically, and
// each multiply on a denormal costs about a hundred cycles on Intel cores: without the
// flush, the denormal stretch of that decay made the reference job's Adam steps several
// times slower. The assembly sets the MXCSR flush-to-zero and denormals-are-zero bits for
// its loop (TensorFlow runs its CPU kernels so); the Go loop zeroes m and v when they
// fall below 2^-126. The reference loops (updateRef) do not flush; the difference is
// below 1.2e-38 per value.
type vecVariant struct {
	name string
	// adam is one Adam (or AdamW) step over p, g, m, v, see adamGo.
	adam func(p, g, m, v []float32, c *adamConsts)
	// momentum is one momentum step over p, g, m, see momentumGo.
	momentum func(p, g, m []float32, mu, lr float32, nesterov bool)
	// axpby is y = a*x + b*y (y not read when b == 0), see axpbyGo.
	axpby func(y, x []float32, a, b float32)
	// binary is c = a op b elementwise, see binaryGo.
	binary func(op device.BinaryOp, c, a, b []float32)
	// widenU8 is dst = s*float32(src), see widenU8Go.
	widenU8 func(dst []float32, src []uint8, s float32)
	// relu is y = max(x, 0), see reluGo.
	relu func(y, x []float32)
	// selectPos is out = a where x > 0, else p*a, see selectPosGo.
	selectPos func(out, x, a []float32, p float32)
	// exp is y = expf(x) elementwise, see expGo.
	exp func(y, x []float32)
	// biasReLU adds bias to each row of a matrix and applies ReLU, see biasReLUGo.
	biasReLU func(c []float32, ldc, rows, cols int, bias []float32, relu bool)
	// maxPool2 is 2×2 max pooling with stride 2 over rows output rows, see maxPool2Go.
	maxPool2 func(x, y []float32, rows, ow, w int)
	// maxPool2Backward is maxPool2's backward pass, see maxPool2BackwardGo.
	maxPool2Backward func(x, y, dy, dx []float32, rows, ow, w int)
	// sumF64, sumSqDevF64 and sumDotF64 are batch normalisation's float64 sums, see
	// the Go functions of the same names.
	sumF64      func(x []float32) float64
	sumSqDevF64 func(x []float32, mean float64) float64
	sumDotF64   func(d, x []float32) (sum, dot float64)
	// norm is y = (x-mu)*s + b, see normGo.
	norm func(y, x []float32, mu, s, b float32)
	// normBackward is dx = a*dy + (k1*(x-mu) + k0), see normBackwardGo.
	normBackward func(dx, dy, x []float32, a, mu, k1, k0 float32)
	// im2col unfolds one image into rows ld apart, see im2colGo; col2im is its
	// adjoint, see col2imGo (work: col2imWork floats of scratch).
	im2col func(x, col []float32, ld int, g *device.ConvGeom)
	col2im func(col []float32, ld int, dx []float32, g *device.ConvGeom, work []float32)
	// filterRows, when set, is a convolution's filter gradient over one tap row of
	// 4 filters (unit column stride, kw <= 6): for b < 4 and v < kw,
	//
	//	dw[b*dwF+v] += Σ_{i<oh, j<ow} dy[b*dyF + i*ow + j] · x[i*xRow + j + v]
	//
	// Variants without it unfold the images instead.
	filterRows func(dy, x, dw []float32, oh, ow, kw, dyF, xRow, dwF int)
}

func (v *vecVariant) String() string { return v.name }

// vecGo is the portable variant.
var vecGo = &vecVariant{name: "go", adam: adamGo, momentum: momentumGo, axpby: axpbyGo, binary: binaryGo,
	widenU8: widenU8Go, relu: reluGo, selectPos: selectPosGo, exp: expGo, biasReLU: biasReLUGo,
	maxPool2: maxPool2Go, maxPool2Backward: maxPool2BackwardGo,
	sumF64: sumF64, sumSqDevF64: sumSqDevF64, sumDotF64: sumDotF64, norm: normGo, normBackward: normBackwardGo,
	im2col: im2colGo, col2im: col2imGo}

// vecAvailable lists the variants this machine runs, fastest first; set in init by
// vec_amd64.go or vec_other.go.
var vecAvailable []*vecVariant

// vecVariantNamed returns the available variant called name ("avx512", "avx2", "go").
func vecVariantNamed(name string) (*vecVariant, error) {
	for _, v := range vecAvailable {
		if v.name == name {
			return v, nil
		}
	}
	return nil, fmt.Errorf("cpu: vector kernel variant %q is not available on this machine", name)
}

// adamConsts are the scalars of an Adam step, laid out for the assembly (seven float32).
type adamConsts struct {
	b1, c1 float32 // β1, 1-β1
	b2, c2 float32 // β2, 1-β2
	alpha  float32 // the bias-corrected step size, device.Hyper.AdamStepSize
	eps    float32
	decay  float32 // -LR*WeightDecay for AdamW, 0 for Adam
}

// minNormal is the smallest normal float32, 2^-126.
const minNormal = 0x1p-126

// flush returns 0 for denormal x (|x| < 2^-126), x otherwise.
func flush(x float32) float32 {
	if math.Float32bits(x)&0x7fffffff < 0x00800000 {
		return 0
	}
	return x
}

// adamGo is one Adam step, for each i:
//
//	p = p + decay*p                      (AdamW; decay = -LR*WeightDecay)
//	m = b1*m + c1*g
//	v = b2*v + c2*g*g
//	p = p - alpha*m/(√v + eps)
//
// with m and v flushed to zero below 2^-126.
func adamGo(p, g, m, v []float32, c *adamConsts) {
	g, m, v = g[:len(p)], m[:len(p)], v[:len(p)]
	b1, c1, b2, c2, alpha, eps, decay := c.b1, c.c1, c.b2, c.c2, c.alpha, c.eps, c.decay
	for i, gi := range g {
		pi := p[i]
		if decay != 0 {
			pi += decay * pi
		}
		mi := flush(b1*m[i] + c1*gi)
		vi := flush(b2*v[i] + c2*gi*gi)
		m[i], v[i] = mi, vi
		p[i] = pi - alpha*mi/(sqrtf(vi)+eps)
	}
}

// momentumGo is one momentum step, for each i:
//
//	m = mu*m - lr*g
//	p = p + m                 (p = p + mu*m - lr*g when nesterov)
//
// with m flushed to zero below 2^-126.
func momentumGo(p, g, m []float32, mu, lr float32, nesterov bool) {
	g, m = g[:len(p)], m[:len(p)]
	for i, gi := range g {
		mi := flush(mu*m[i] - lr*gi)
		m[i] = mi
		if nesterov {
			p[i] += mu*mi - lr*gi
		} else {
			p[i] += mi
		}
	}
}

// axpbyGo is y = a*x + b*y; with b == 0, y = a*x without reading y.
func axpbyGo(y, x []float32, a, b float32) {
	y = y[:len(x)]
	switch b {
	case 0:
		for i, v := range x {
			y[i] = a * v
		}
	case 1:
		for i, v := range x {
			y[i] += a * v
		}
	default:
		for i, v := range x {
			y[i] = a*v + b*y[i]
		}
	}
}

// binaryGo is c = a op b elementwise, the op chosen once outside the loop.
func binaryGo(op device.BinaryOp, c, a, b []float32) {
	b, c = b[:len(a)], c[:len(a)]
	switch op {
	case device.Add:
		for i, v := range a {
			c[i] = v + b[i]
		}
	case device.Sub:
		for i, v := range a {
			c[i] = v - b[i]
		}
	case device.Mul:
		for i, v := range a {
			c[i] = v * b[i]
		}
	case device.Div:
		for i, v := range a {
			c[i] = v / b[i]
		}
	}
}

// widenU8Go is dst = s*float32(src).
func widenU8Go(dst []float32, src []uint8, s float32) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = s * float32(v)
	}
}

// reluGo is y = max(x, 0) (NaN stays NaN).
func reluGo(y, x []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] = max(v, 0)
	}
}

// selectPosGo is out = a where x > 0, else p*a; with p == 0, 0 (not 0*a) there.
func selectPosGo(out, x, a []float32, p float32) {
	out, a = out[:len(x)], a[:len(x)]
	if p == 0 {
		for i, v := range x {
			o := a[i]
			if !(v > 0) {
				o = 0
			}
			out[i] = o
		}
		return
	}
	for i, v := range x {
		o := a[i]
		if !(v > 0) {
			o *= p
		}
		out[i] = o
	}
}

// expGo is y = expf(x) elementwise (y may alias x); the assembly runs the same algorithm
// (activation.go's expf) on whole vectors.
func expGo(y, x []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] = expf(v)
	}
}

// biasReLUGo is, for each of rows rows of cols elements of c (ldc apart), c += bias
// (unless bias is nil), then c = max(c, 0) when relu: a GEMM's bias and ReLU epilogue
// on a block of C.
func biasReLUGo(c []float32, ldc, rows, cols int, bias []float32, relu bool) {
	for r := range rows {
		row := c[r*ldc : r*ldc+cols]
		if bias != nil {
			for j, b := range bias[:cols] {
				row[j] += b
			}
		}
		if relu {
			for j, v := range row {
				row[j] = max(v, 0)
			}
		}
	}
}
