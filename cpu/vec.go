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
	// sigmoid is y = 1/(1+expf(-x)) elementwise, see sigmoidGo.
	sigmoid func(y, x []float32)
	// tanh is y = tanhf(x) elementwise, see tanhGo.
	tanh func(y, x []float32)
	// gelu is the exact GELU y = x*Φ(x), see geluGo.
	gelu func(y, x []float32)
	// geluBackward is its derivative times dy, see geluBackwardGo.
	geluBackward func(dx, x, dy []float32)
	// geluTanh is GELU's tanh approximation y = x/2*(1+tanh(u)), see geluTanhGo.
	geluTanh func(y, x []float32)
	// geluTanhBackward is its derivative times dy, see geluTanhBackwardGo.
	geluTanhBackward func(dx, x, dy []float32)
	// biasReLU adds bias to each row of a matrix and applies ReLU, see biasReLUGo.
	biasReLU func(c []float32, ldc, rows, cols int, bias []float32, relu bool)

	// The row primitives of LayerNorm, the causal softmax and the recurrent cells:
	// reductions (their order of summation differs between variants, never with the
	// thread count) and the elementwise passes around them. AVX-512 has all of them in
	// assembly, masked tails included; the AVX2 variant runs the Go loops, but for
	// expAffine (its exp in assembly).

	// sum is Σ x, see sumGo.
	sum func(x []float32) float32
	// maxOf is the largest element of x, see maxGo.
	maxOf func(x []float32) float32
	// expAffine is y = expf(a*x + b), see expAffineGo.
	expAffine func(y, x []float32, a, b float32)
	// sumSqDev is Σ (x-m)², see sumSqDevGo.
	sumSqDev func(x []float32, m float32) float32
	// normAffine is y = (x-m)*s*gamma + beta, see normAffineGo.
	normAffine func(y, x, gamma, beta []float32, m, s float32)
	// lnGradSums is LayerNorm's backward row sums, see lnGradSumsGo.
	lnGradSums func(x, dy, gamma, pg, pb []float32, m, s float32) (sg, sgx float32)
	// lnGradDX is LayerNorm's backward dx row, see lnGradDXGo.
	lnGradDX func(dx, x, dy, gamma []float32, m, s, mg, mgx float32)
	// lstmBackward is one row of an LSTM step's backward pass, see lstmBackwardGo.
	lstmBackward func(acts, cPrev, tc, dh, dc, dgx, dcPrev []float32)
	// gruBackward is one row of a GRU step's backward pass, see gruBackwardGo.
	gruBackward func(acts, gh, hPrev, dh, dgx, dgh, dhPrev []float32)

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
	widenU8: widenU8Go, relu: reluGo, selectPos: selectPosGo, exp: expGo, sigmoid: sigmoidGo, tanh: tanhGo,
	gelu: geluGo, geluBackward: geluBackwardGo, geluTanh: geluTanhGo, geluTanhBackward: geluTanhBackwardGo, biasReLU: biasReLUGo,
	sum: sumGo, maxOf: maxGo, expAffine: expAffineGo, sumSqDev: sumSqDevGo, normAffine: normAffineGo,
	lnGradSums: lnGradSumsGo, lnGradDX: lnGradDXGo, lstmBackward: lstmBackwardGo, gruBackward: gruBackwardGo,
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

// sigmoidGo is y = 1/(1+expf(-x)) elementwise (y may alias x): 0 below -88.72 (where
// expf(-x) is +Inf), 1 once expf(-x) < 2^-24, NaN for NaN.
func sigmoidGo(y, x []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] = 1 / (1 + expf(-v))
	}
}

// tanhGo is y = tanhf(x) elementwise (y may alias x), see tanhf.
func tanhGo(y, x []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] = tanhf(v)
	}
}

// The normal distribution's tail in float32, for the exact GELU: for a >= 0,
//
//	Q(a) = P(Z > a) = erfc(a/√2)/2 = exp(-a²/2) · t·P(t),  t = 1/(1 + phiP·a)
//
// with P of degree 8, fitted (least squares on the relative error, Chebyshev nodes) to
// Q(a)·exp(a²/2) over [0, 9]: within 3.6e-7 relative in float32 there, and within a
// few percent of it (positive, decreasing) beyond, where exp(-a²/2) < 3e-18 makes Q's
// contribution to GELU negligible. Then Φ(x) = Q(-x) for x < 0 and 1 - Q(x) for x >= 0:
// the left tail keeps its relative accuracy, with no 1 - erf cancellation.
const phiP = 0.45

var phiCoef = [9]float32{0.17959255, 0.17799206, 0.1578198, -0.0077716, 0.23770519, -0.58025867, 0.51427186, -0.21587214, 0.03652096}

// normCDFf returns Φ(x), the standard normal distribution function, and exp(-x²/2),
// in float32 arithmetic (see phiCoef).
func normCDFf(x float32) (phi, e float32) {
	a := x
	if a < 0 {
		a = -a
	}
	t := 1 / (1 + phiP*a)
	p := phiCoef[8]
	for k := 7; k >= 0; k-- {
		p = p*t + phiCoef[k]
	}
	e = expf(-0.5 * (a * a))
	q := e * (p * t)
	if x < 0 {
		return q, e
	}
	return 1 - q, e
}

// geluGo is the exact GELU y = x*Φ(x) with Φ from normCDFf, in float32 (y may alias x):
// within 1e-6 relative of x*Φ(x) (and of float64's x/2*(1+erf(x/√2))).
func geluGo(y, x []float32) {
	y = y[:len(x)]
	for i, v := range x {
		phi, _ := normCDFf(v)
		y[i] = v * phi
	}
}

// geluBackwardGo is dx = dy*(Φ(x) + x*φ(x)), φ(x) = exp(-x²/2)/√(2π), in float32 (dx
// may alias dy).
func geluBackwardGo(dx, x, dy []float32) {
	dx, dy = dx[:len(x)], dy[:len(x)]
	const invSqrt2Pi = 0.3989422804014327
	for i, v := range x {
		phi, e := normCDFf(v)
		dx[i] = dy[i] * (phi + v*(invSqrt2Pi*e))
	}
}

// geluTanhGo is y = x/2*(1+tanhf(u)) with u = √(2/π)*(x + 0.044715*x³), in float32
// (y may alias x).
func geluTanhGo(y, x []float32) {
	y = y[:len(x)]
	for i, v := range x {
		u := geluBeta * (v + geluKappa*v*v*v)
		y[i] = 0.5 * v * (1 + tanhf(u))
	}
}

// geluTanhBackwardGo is dx = dy*((1+t)/2 + x/2*(1-t²)*√(2/π)*(1+3*0.044715*x²)) with
// t = tanhf(u), u as in geluTanhGo, in float32 (dx may alias dy).
func geluTanhBackwardGo(dx, x, dy []float32) {
	dx, dy = dx[:len(x)], dy[:len(x)]
	for i, v := range x {
		t := tanhf(geluBeta * (v + geluKappa*v*v*v))
		du := geluBeta * (1 + 3*geluKappa*v*v)
		dx[i] = dy[i] * (0.5*(1+t) + 0.5*v*(1-t*t)*du)
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

// sumGo is Σ x in float32, in eight running sums (scalars, so that they stay in
// registers).
func sumGo(x []float32) float32 {
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	i := 0
	for ; i+8 <= len(x); i += 8 {
		v := x[i : i+8 : i+8]
		s0 += v[0]
		s1 += v[1]
		s2 += v[2]
		s3 += v[3]
		s4 += v[4]
		s5 += v[5]
		s6 += v[6]
		s7 += v[7]
	}
	for ; i < len(x); i++ {
		s0 += x[i]
	}
	return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
}

// maxGo is the largest element of x, -Inf for an empty x (with NaNs, NaN).
func maxGo(x []float32) float32 {
	m := float32(math.Inf(-1))
	for _, v := range x {
		m = max(m, v)
	}
	return m
}

// expAffineGo is y = expf(a*x + b) elementwise (y may alias x).
func expAffineGo(y, x []float32, a, b float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] = expf(a*v + b)
	}
}

// sumSqDevGo is Σ (x-m)² in float32, in eight running sums.
func sumSqDevGo(x []float32, m float32) float32 {
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	i := 0
	for ; i+8 <= len(x); i += 8 {
		v := x[i : i+8 : i+8]
		d0, d1, d2, d3 := v[0]-m, v[1]-m, v[2]-m, v[3]-m
		d4, d5, d6, d7 := v[4]-m, v[5]-m, v[6]-m, v[7]-m
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
		s4 += d4 * d4
		s5 += d5 * d5
		s6 += d6 * d6
		s7 += d7 * d7
	}
	for ; i < len(x); i++ {
		d := x[i] - m
		s0 += d * d
	}
	return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
}

// normAffineGo is y = (x-m)*s*gamma + beta elementwise (without beta when it is nil);
// y may alias x.
func normAffineGo(y, x, gamma, beta []float32, m, s float32) {
	y, gamma = y[:len(x)], gamma[:len(x)]
	if beta == nil {
		for i, v := range x {
			y[i] = (v - m) * s * gamma[i]
		}
		return
	}
	beta = beta[:len(x)]
	for i, v := range x {
		y[i] = (v-m)*s*gamma[i] + beta[i]
	}
}

// lnGradSumsGo is, with h = (x-m)*s and g = dy*gamma elementwise: pg += dy*h,
// pb += dy, and the returns Σ g and Σ g*h (four running sums each).
func lnGradSumsGo(x, dy, gamma, pg, pb []float32, m, s float32) (sg, sgx float32) {
	n := len(x)
	dy, gamma, pg, pb = dy[:n], gamma[:n], pg[:n], pb[:n]
	var sg0, sg1, sg2, sg3, sx0, sx1, sx2, sx3 float32
	i := 0
	for ; i+4 <= n; i += 4 {
		xv, dv, gv := x[i:i+4:i+4], dy[i:i+4:i+4], gamma[i:i+4:i+4]
		pgv, pbv := pg[i:i+4:i+4], pb[i:i+4:i+4]
		h0, h1, h2, h3 := (xv[0]-m)*s, (xv[1]-m)*s, (xv[2]-m)*s, (xv[3]-m)*s
		g0, g1, g2, g3 := dv[0]*gv[0], dv[1]*gv[1], dv[2]*gv[2], dv[3]*gv[3]
		sg0 += g0
		sg1 += g1
		sg2 += g2
		sg3 += g3
		sx0 += g0 * h0
		sx1 += g1 * h1
		sx2 += g2 * h2
		sx3 += g3 * h3
		pgv[0] += dv[0] * h0
		pgv[1] += dv[1] * h1
		pgv[2] += dv[2] * h2
		pgv[3] += dv[3] * h3
		pbv[0] += dv[0]
		pbv[1] += dv[1]
		pbv[2] += dv[2]
		pbv[3] += dv[3]
	}
	for ; i < n; i++ {
		h, d := (x[i]-m)*s, dy[i]
		g := d * gamma[i]
		sg0 += g
		sx0 += g * h
		pg[i] += d * h
		pb[i] += d
	}
	return (sg0 + sg1) + (sg2 + sg3), (sx0 + sx1) + (sx2 + sx3)
}

// lnGradDXGo is dx = s*(dy*gamma - mg - (x-m)*s*mgx) elementwise; dx may alias dy.
func lnGradDXGo(dx, x, dy, gamma []float32, m, s, mg, mgx float32) {
	n := len(x)
	dx, dy, gamma = dx[:n], dy[:n], gamma[:n]
	for i, v := range x {
		dx[i] = s * (dy[i]*gamma[i] - mg - (v-m)*s*mgx)
	}
}

// lstmBackwardGo is one row of an LSTM step's backward pass, from acts = (i, f, g, o),
// cPrev, tc = tanh(c), dh and dc (the gradient from step t+1):
// dc' = dh*o*(1-tc²) + dc, dgx = (dc'*g*i*(1-i), dc'*cPrev*f*(1-f), dc'*i*(1-g²),
// dh*tc*o*(1-o)) and dcPrev = dc'*f (which may alias dc).
func lstmBackwardGo(acts, cPrev, tc, dh, dc, dgx, dcPrev []float32) {
	hh := len(tc)
	i, f, gg, o := acts[:hh], acts[hh:2*hh], acts[2*hh:3*hh], acts[3*hh:4*hh]
	di, df, dg, do := dgx[:hh], dgx[hh:2*hh], dgx[2*hh:3*hh], dgx[3*hh:4*hh]
	cPrev, dh, dc, dcPrev = cPrev[:hh], dh[:hh], dc[:hh], dcPrev[:hh]
	for j, tcj := range tc {
		ij, fj, gj, oj, dhj := i[j], f[j], gg[j], o[j], dh[j]
		dcj := dhj*oj*(1-tcj*tcj) + dc[j]
		di[j] = dcj * gj * ij * (1 - ij)
		df[j] = dcj * cPrev[j] * fj * (1 - fj)
		dg[j] = dcj * ij * (1 - gj*gj)
		do[j] = dhj * tcj * oj * (1 - oj)
		dcPrev[j] = dcj * fj
	}
}

// gruBackwardGo is one row of a GRU step's backward pass, from acts = (r, z, n), gh (its
// n part), hPrev and dh: dn = dh*(1-z)*(1-n²), dz = dh*(hPrev-n)*z*(1-z),
// dr = dn*gh_n*r*(1-r); dgx = (dr, dz, dn), dgh = (dr, dz, dn*r), dhPrev = dh*z (which
// may alias dh).
func gruBackwardGo(acts, gh, hPrev, dh, dgx, dgh, dhPrev []float32) {
	hh := len(dh)
	r, z, n := acts[:hh], acts[hh:2*hh], acts[2*hh:3*hh]
	ghn := gh[2*hh : 3*hh]
	dxr, dxz, dxn := dgx[:hh], dgx[hh:2*hh], dgx[2*hh:3*hh]
	dhr, dhz, dhn := dgh[:hh], dgh[hh:2*hh], dgh[2*hh:3*hh]
	hPrev, dhPrev = hPrev[:hh], dhPrev[:hh]
	for j, d := range dh {
		rj, zj, nj := r[j], z[j], n[j]
		dn := d * (1 - zj) * (1 - nj*nj)
		dz := d * (hPrev[j] - nj) * zj * (1 - zj)
		dr := dn * ghn[j] * rj * (1 - rj)
		dxr[j], dxz[j], dxn[j] = dr, dz, dn
		dhr[j], dhz[j], dhn[j] = dr, dz, dn*rj
		dhPrev[j] = d * zj
	}
}
