package cpu

import (
	"math"

	"github.com/gputrain/gputrain/device"
)

// BatchNorm implements device.Backend: per-channel normalisation of X (N, C, Inner), see
// device.BatchNormArgs. Training uses the batch mean and biased variance over (N, Inner),
// saves mean and 1/√(var+Eps) and moves the running statistics by Momentum (unbiased
// variance, PyTorch's convention); inference uses RunMean and RunVar. Errors: those of
// device.CheckBatchNorm, or a buffer of another backend.
func (b *Backend) BatchNorm(a device.BatchNormArgs) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckBatchNorm(a, false); err != nil {
		return err
	}
	if err := own(a.X, a.Y, a.Gamma, a.Beta, a.RunMean, a.RunVar, a.SaveMean, a.SaveInvStd); err != nil {
		return err
	}
	t := &b.kernels.batchNorm
	t.set(a)
	t.vec = b.kernels.vec
	if b.reference {
		batchNormRef(t)
	} else {
		b.pool.parallel(min(a.C, parts(len(t.x), grain)), t)
	}
	*t = batchNormTask{}
	return nil
}

// BatchNormBackward implements device.Backend: from a training-mode BatchNorm's SaveMean
// and SaveInvStd, DBeta = sum(DY), DGamma = sum(DY*xhat) over (N, Inner) and
// DX = Gamma*invstd/M * (M*DY - DBeta - xhat*DGamma), M = N*Inner, all overwritten.
// Errors: those of device.CheckBatchNorm, or a buffer of another backend.
func (b *Backend) BatchNormBackward(a device.BatchNormArgs) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckBatchNorm(a, true); err != nil {
		return err
	}
	if err := own(a.X, a.DY, a.DX, a.Gamma, a.Beta, a.SaveMean, a.SaveInvStd, a.DGamma, a.DBeta); err != nil {
		return err
	}
	t := &b.kernels.batchNorm
	t.set(a)
	t.vec = b.kernels.vec
	t.backward = true
	if b.reference {
		batchNormBackwardRef(t)
	} else {
		b.pool.parallel(min(a.C, parts(len(t.x), grain)), t)
	}
	*t = batchNormTask{}
	return nil
}

// batchNormTask holds a BatchNorm or BatchNormBackward call as slices.
type batchNormTask struct {
	vec                  *vecVariant
	backward, training   bool
	n, c, inner          int
	momentum, eps        float64
	x, y, dy, dx         []float32 // (N, C, Inner)
	gamma, beta          []float32 // [C]
	runMean, runVar      []float32
	saveMean, saveInvStd []float32
	dGamma, dBeta        []float32
}

func (t *batchNormTask) set(a device.BatchNormArgs) {
	*t = batchNormTask{training: a.Training, n: a.N, c: a.C, inner: a.Inner,
		momentum: float64(a.Momentum), eps: float64(a.Eps),
		x: f32(a.X), y: f32(a.Y), dy: f32(a.DY), dx: f32(a.DX), gamma: f32(a.Gamma), beta: f32(a.Beta),
		runMean: f32(a.RunMean), runVar: f32(a.RunVar), saveMean: f32(a.SaveMean), saveInvStd: f32(a.SaveInvStd),
		dGamma: f32(a.DGamma), dBeta: f32(a.DBeta)}
}

// at is the index of x[n, c, i].
func (t *batchNormTask) at(n, c, i int) int { return (n*t.c+c)*t.inner + i }

// batchNormRef is the reference forward, in float64, one channel at a time.
func batchNormRef(t *batchNormTask) {
	m := float64(t.n * t.inner) // values per channel
	for c := range t.c {
		var mean, invStd float64
		if t.training {
			var sum float64
			for n := range t.n {
				for i := range t.inner {
					sum += float64(t.x[t.at(n, c, i)])
				}
			}
			mean = sum / m
			var ss float64 // sum of squared deviations
			for n := range t.n {
				for i := range t.inner {
					d := float64(t.x[t.at(n, c, i)]) - mean
					ss += d * d
				}
			}
			invStd = 1 / math.Sqrt(ss/m+t.eps)
			t.saveMean[c], t.saveInvStd[c] = float32(mean), float32(invStd)
			t.runMean[c] = float32((1-t.momentum)*float64(t.runMean[c]) + t.momentum*mean)
			t.runVar[c] = float32((1-t.momentum)*float64(t.runVar[c]) + t.momentum*ss/(m-1))
		} else {
			mean = float64(t.runMean[c])
			invStd = 1 / math.Sqrt(float64(t.runVar[c])+t.eps)
		}
		g, bt := float64(t.gamma[c]), float64(t.beta[c])
		for n := range t.n {
			for i := range t.inner {
				k := t.at(n, c, i)
				t.y[k] = float32(g*(float64(t.x[k])-mean)*invStd + bt)
			}
		}
	}
}

// batchNormBackwardRef is the reference backward, in float64, one channel at a time.
func batchNormBackwardRef(t *batchNormTask) {
	m := float64(t.n * t.inner)
	for c := range t.c {
		mean, invStd := float64(t.saveMean[c]), float64(t.saveInvStd[c])
		var dBeta, dGamma float64
		for n := range t.n {
			for i := range t.inner {
				k := t.at(n, c, i)
				dBeta += float64(t.dy[k])
				dGamma += float64(t.dy[k]) * (float64(t.x[k]) - mean) * invStd
			}
		}
		t.dBeta[c], t.dGamma[c] = float32(dBeta), float32(dGamma)
		g := float64(t.gamma[c])
		for n := range t.n {
			for i := range t.inner {
				k := t.at(n, c, i)
				xhat := (float64(t.x[k]) - mean) * invStd
				t.dx[k] = float32(g * invStd / m * (m*float64(t.dy[k]) - dBeta - xhat*dGamma))
			}
		}
	}
}

// run does channels [lo, hi): statistics summed in float64 along the channel's N rows of
// Inner contiguous values, then one float32 pass y = (x-mean)*scale + beta (forward) or
// dx = a*dy + k1*(x-mean) + k0 (backward) with per-channel coefficients folded in float64.
func (t *batchNormTask) run(part, parts int) {
	lo, hi := split(t.c, part, parts, 1)
	m := float64(t.n * t.inner)
	for c := lo; c < hi; c++ {
		if t.backward {
			t.backwardChannel(c, m)
			continue
		}
		var mean, invStd float64
		if t.training {
			var sum float64
			for n := range t.n {
				sum += t.vec.sumF64(t.x[t.at(n, c, 0) : t.at(n, c, 0)+t.inner])
			}
			mean = sum / m
			var ss float64
			for n := range t.n {
				ss += t.vec.sumSqDevF64(t.x[t.at(n, c, 0):t.at(n, c, 0)+t.inner], mean)
			}
			invStd = 1 / math.Sqrt(ss/m+t.eps)
			t.saveMean[c], t.saveInvStd[c] = float32(mean), float32(invStd)
			t.runMean[c] = float32((1-t.momentum)*float64(t.runMean[c]) + t.momentum*mean)
			t.runVar[c] = float32((1-t.momentum)*float64(t.runVar[c]) + t.momentum*ss/(m-1))
		} else {
			mean = float64(t.runMean[c])
			invStd = 1 / math.Sqrt(float64(t.runVar[c])+t.eps)
		}
		// (x-mean)*s + beta as (x-hi)*s + (beta - (mean-hi)*s), hi = float32(mean): x-hi
		// is exact for x near the mean and the mean's rounding moves into the shift, so a
		// large mean (1000 with a spread of 1) loses nothing to it.
		hi := float32(mean)
		s64 := float64(t.gamma[c]) * invStd
		s, shift := float32(s64), float32(float64(t.beta[c])-(mean-float64(hi))*s64)
		for n := range t.n {
			k := t.at(n, c, 0)
			t.vec.norm(t.y[k:k+t.inner], t.x[k:k+t.inner], hi, s, shift)
		}
	}
}

func (t *batchNormTask) backwardChannel(c int, m float64) {
	mean, invStd := float64(t.saveMean[c]), float64(t.saveInvStd[c])
	var dBeta, dyx float64 // sum(dy), sum(dy*x)
	for n := range t.n {
		k := t.at(n, c, 0)
		sd, sdx := t.vec.sumDotF64(t.dy[k:k+t.inner], t.x[k:k+t.inner])
		dBeta += sd
		dyx += sdx
	}
	dGamma := (dyx - mean*dBeta) * invStd // sum(dy*(x-mean))*invstd
	t.dBeta[c], t.dGamma[c] = float32(dBeta), float32(dGamma)
	// dx = g*invstd*dy - g*invstd/m*(dBeta + xhat*dGamma), xhat = (x-mean)*invstd,
	// as a*dy + k1*(x-mean) + k0 (x-mean in float32 loses nothing when x is near mean).
	a := float64(t.gamma[c]) * invStd
	fa, k1, k0 := float32(a), float32(-a*invStd*dGamma/m), float32(-a*dBeta/m)
	mu := float32(mean)
	for n := range t.n {
		k := t.at(n, c, 0)
		t.vec.normBackward(t.dx[k:k+t.inner], t.dy[k:k+t.inner], t.x[k:k+t.inner], fa, mu, k1, k0)
	}
}

// normGo is y = (x-mu)*s + b elementwise (len(y) >= len(x)).
func normGo(y, x []float32, mu, s, b float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] = (v-mu)*s + b
	}
}

// normBackwardGo is dx = a*dy + (k1*(x-mu) + k0) elementwise (len(dx), len(x) >=
// len(dy)).
func normBackwardGo(dx, dy, x []float32, a, mu, k1, k0 float32) {
	dx, x = dx[:len(dy)], x[:len(dy)]
	for i, d := range dy {
		dx[i] = a*d + (k1*(x[i]-mu) + k0)
	}
}

// The float64 sums below keep four partial sums: one running sum is a chain of
// dependent additions, each waiting for the last (four cycles or so), which made the
// statistics of a batch of feature maps the slowest part of a CNN step.

// sumF64 is the float64 sum of x.
func sumF64(x []float32) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += float64(x[i])
		s1 += float64(x[i+1])
		s2 += float64(x[i+2])
		s3 += float64(x[i+3])
	}
	for ; i < len(x); i++ {
		s0 += float64(x[i])
	}
	return (s0 + s1) + (s2 + s3)
}

// sumSqDevF64 is the float64 sum of (x - mean)².
func sumSqDevF64(x []float32, mean float64) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		d0, d1 := float64(x[i])-mean, float64(x[i+1])-mean
		d2, d3 := float64(x[i+2])-mean, float64(x[i+3])-mean
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	for ; i < len(x); i++ {
		d := float64(x[i]) - mean
		s0 += d * d
	}
	return (s0 + s1) + (s2 + s3)
}

// sumDotF64 returns the float64 sums of d and of d·x (len(x) >= len(d)).
func sumDotF64(d, x []float32) (sum, dot float64) {
	x = x[:len(d)]
	var s0, s1, p0, p1 float64
	i := 0
	for ; i+2 <= len(d); i += 2 {
		a, b := float64(d[i]), float64(d[i+1])
		s0 += a
		s1 += b
		p0 += a * float64(x[i])
		p1 += b * float64(x[i+1])
	}
	for ; i < len(d); i++ {
		a := float64(d[i])
		s0 += a
		p0 += a * float64(x[i])
	}
	return s0 + s1, p0 + p1
}
