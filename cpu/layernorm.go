package cpu

import (
	"math"

	"github.com/gputrain/gputrain/device"
)

// LayerNorm implements device.Backend: each row of a.X (a.Rows×a.Cols) normalised by its
// mean and biased variance (two passes), times Gamma plus Beta (when given); the means
// and 1/√(var+Eps) go to a.Mean and a.RStd. a.Y may alias a.X. Errors: those of
// device.CheckLayerNorm, or a buffer of another backend.
func (b *Backend) LayerNorm(a device.LayerNormArgs) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckLayerNorm(a, false); err != nil {
		return err
	}
	if err := own(a.X, a.Y, a.Gamma, a.Beta, a.Mean, a.RStd); err != nil {
		return err
	}
	t := &b.kernels.layerNorm
	t.set(a)
	t.vec = b.kernels.vec
	if b.reference {
		layerNormRef(t)
	} else {
		b.pool.parallel(parts(a.Rows*a.Cols, grain), t)
	}
	*t = layerNormTask{partials: t.partials}
	return nil
}

// LayerNormBackward implements device.Backend: DX (overwritten; it may alias DY) from the
// saved Mean and RStd, and DGamma += Σ_r DY*xhat, DBeta += Σ_r DY (when DBeta is given).
// The column sums run over row ranges whose number depends only on the shape, each
// range's partial sums added in range order, so the results do not depend on the
// thread count. Errors: those of device.CheckLayerNorm, or a buffer of another backend.
func (b *Backend) LayerNormBackward(a device.LayerNormArgs) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckLayerNorm(a, true); err != nil {
		return err
	}
	if err := own(a.X, a.Gamma, a.Mean, a.RStd, a.DY, a.DX, a.DGamma, a.DBeta); err != nil {
		return err
	}
	t := &b.kernels.layerNorm
	t.set(a)
	t.vec = b.kernels.vec
	t.backward = true
	if b.reference {
		layerNormBackwardRef(t)
	} else {
		np := parts(a.Rows*a.Cols, grain)
		t.grow(np)
		b.pool.parallel(np, t)
		t.combine(np)
	}
	*t = layerNormTask{partials: t.partials}
	return nil
}

// layerNormTask holds a LayerNorm or LayerNormBackward call as slices, and the
// backward's per-part column sums (kept between calls, so that a step allocates
// nothing once they have grown).
type layerNormTask struct {
	vec           *vecVariant
	backward      bool
	rows, cols    int
	eps           float32
	x, y, dy, dx  []float32 // rows×cols
	gamma, beta   []float32 // [cols]
	mean, rstd    []float32 // [rows]
	dGamma, dBeta []float32 // [cols]
	partials      []float32 // parts × 2 × cols: each part's Σ dy*xhat, then Σ dy
}

func (t *layerNormTask) set(a device.LayerNormArgs) {
	*t = layerNormTask{partials: t.partials, rows: a.Rows, cols: a.Cols, eps: a.Eps,
		x: f32(a.X), y: f32(a.Y), dy: f32(a.DY), dx: f32(a.DX), gamma: f32(a.Gamma), beta: f32(a.Beta),
		mean: f32(a.Mean), rstd: f32(a.RStd), dGamma: f32(a.DGamma), dBeta: f32(a.DBeta)}
}

// layerNormRef is the reference forward, in float64, one row at a time.
func layerNormRef(t *layerNormTask) {
	n := float64(t.cols)
	for r := range t.rows {
		x, y := t.x[r*t.cols:(r+1)*t.cols], t.y[r*t.cols:(r+1)*t.cols] // row r
		var sum float64
		for _, v := range x {
			sum += float64(v)
		}
		mean := sum / n
		var ss float64 // Σ (x-mean)²
		for _, v := range x {
			d := float64(v) - mean
			ss += d * d
		}
		rstd := 1 / math.Sqrt(ss/n+float64(t.eps))
		t.mean[r], t.rstd[r] = float32(mean), float32(rstd)
		for c, v := range x {
			o := (float64(v) - mean) * rstd * float64(t.gamma[c])
			if t.beta != nil {
				o += float64(t.beta[c])
			}
			y[c] = float32(o)
		}
	}
}

// layerNormBackwardRef is the reference backward, in float64, one row at a time:
// g = dy*gamma, dx = rstd*(g - mean(g) - xhat*mean(g*xhat)); the parameter gradients
// summed over all rows in float64, then added.
func layerNormBackwardRef(t *layerNormTask) {
	n := float64(t.cols)
	dGamma, dBeta := make([]float64, t.cols), make([]float64, t.cols)
	for r := range t.rows {
		x, dy, dx := t.x[r*t.cols:(r+1)*t.cols], t.dy[r*t.cols:(r+1)*t.cols], t.dx[r*t.cols:(r+1)*t.cols]
		mean, rstd := float64(t.mean[r]), float64(t.rstd[r])
		var sg, sgx float64 // Σ g, Σ g*xhat
		for c, v := range x {
			xhat := (float64(v) - mean) * rstd
			g := float64(dy[c]) * float64(t.gamma[c])
			sg += g
			sgx += g * xhat
			dGamma[c] += float64(dy[c]) * xhat
			dBeta[c] += float64(dy[c])
		}
		for c, v := range x {
			xhat := (float64(v) - mean) * rstd
			g := float64(dy[c]) * float64(t.gamma[c])
			dx[c] = float32(rstd * (g - sg/n - xhat*sgx/n))
		}
	}
	for c := range t.cols {
		t.dGamma[c] = float32(float64(t.dGamma[c]) + dGamma[c])
		if t.dBeta != nil {
			t.dBeta[c] = float32(float64(t.dBeta[c]) + dBeta[c])
		}
	}
}

// grow makes room for the partial column sums of parts parts.
func (t *layerNormTask) grow(parts int) {
	if n := parts * 2 * t.cols; len(t.partials) < n {
		t.partials = make([]float32, n)
	}
}

// run does rows [lo, hi) of the part with the vector row primitives: the mean, the
// squared deviations and y (forward), or the row sums, the part's column sums and dx
// (backward).
func (t *layerNormTask) run(part, parts int) {
	lo, hi := split(t.rows, part, parts, 1)
	c := t.cols
	inv := 1 / float32(c)
	if t.backward {
		pg, pb := t.partials[part*2*c:part*2*c+c], t.partials[part*2*c+c:(part+1)*2*c]
		clear(pg)
		clear(pb)
		for r := lo; r < hi; r++ {
			x, dy, dx := t.x[r*c:(r+1)*c], t.dy[r*c:(r+1)*c], t.dx[r*c:(r+1)*c]
			mean, rstd := t.mean[r], t.rstd[r]
			sg, sgx := t.vec.lnGradSums(x, dy, t.gamma, pg, pb, mean, rstd)
			t.vec.lnGradDX(dx, x, dy, t.gamma, mean, rstd, sg*inv, sgx*inv)
		}
		return
	}
	for r := lo; r < hi; r++ {
		x, y := t.x[r*c:(r+1)*c], t.y[r*c:(r+1)*c]
		mean := t.vec.sum(x) * inv
		rstd := float32(1 / math.Sqrt(float64(t.vec.sumSqDev(x, mean)*inv+t.eps)))
		t.mean[r], t.rstd[r] = mean, rstd
		t.vec.normAffine(y, x, t.gamma, t.beta, mean, rstd)
	}
}

// combine adds the parts' column sums, in part order, into DGamma and DBeta.
func (t *layerNormTask) combine(parts int) {
	c := t.cols
	for p := range parts {
		part := t.partials[p*2*c : (p+1)*2*c]
		for i, v := range part[:c] {
			t.dGamma[i] += v
		}
		if t.dBeta != nil {
			for i, v := range part[c:] {
				t.dBeta[i] += v
			}
		}
	}
}
