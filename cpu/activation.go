package cpu

import (
	"math"

	"github.com/gputrain/gputrain/device"
)

// Unary implements device.Backend: y = f(x) elementwise for the activation op (see
// device.UnaryOp); p is LeakyReLU's negative slope. x and y may be the same buffer.
// Errors: those of device.CheckUnary, or a buffer of another backend.
func (b *Backend) Unary(op device.UnaryOp, x, y device.Buffer, p float32) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckUnary(op, x, y); err != nil {
		return err
	}
	if err := own(x, y); err != nil {
		return err
	}
	xs, ys := f32(x), f32(y)
	if b.reference {
		unaryForwardRef(op, xs, ys, p)
		return nil
	}
	t := &b.kernels.unary
	*t = unaryTask{vec: b.kernels.vec, op: op, x: xs, y: ys, p: p}
	b.pool.parallel(parts(len(xs), unaryGrain(op, false)), t)
	*t = unaryTask{}
	return nil
}

// UnaryBackward implements device.Backend: dx = dy * f'(x), with f' read from x or from
// y = f(x) as device.UnaryOp says. dx may alias dy. Errors: those of
// device.CheckUnaryBackward, or a buffer of another backend.
func (b *Backend) UnaryBackward(op device.UnaryOp, x, y, dy, dx device.Buffer, p float32) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckUnaryBackward(op, x, y, dy, dx); err != nil {
		return err
	}
	if err := own(x, y, dy, dx); err != nil {
		return err
	}
	xs, ys, dys, dxs := f32(x), f32(y), f32(dy), f32(dx)
	if b.reference {
		unaryBackwardRef(op, xs, ys, dys, dxs, p)
		return nil
	}
	t := &b.kernels.unary
	*t = unaryTask{vec: b.kernels.vec, op: op, backward: true, x: xs, y: ys, dy: dys, dx: dxs, p: p}
	b.pool.parallel(parts(len(xs), unaryGrain(op, true)), t)
	*t = unaryTask{}
	return nil
}

// unaryGrain is the split grain of an activation: the ones computing exp, tanh or erf per
// element cost a hundred times more than ReLU's max.
func unaryGrain(op device.UnaryOp, backward bool) int {
	switch {
	case op == device.GELU, op == device.GELUTanh, !backward && (op == device.Sigmoid || op == device.Tanh):
		return grainExp
	}
	return grainCopy
}

// Softmax implements device.Backend: y[r,:] = exp(x[r,:]-max) / sum(exp(x[r,:]-max)) for
// x and y of rows×cols. y may alias x. Errors: those of device.CheckSoftmax, or a buffer
// of another backend.
func (b *Backend) Softmax(x, y device.Buffer, rows, cols int) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckSoftmax(x, y, rows, cols); err != nil {
		return err
	}
	if err := own(x, y); err != nil {
		return err
	}
	if b.reference {
		softmaxForwardRef(f32(x), f32(y), rows, cols)
		return nil
	}
	t := &b.kernels.softmax
	*t = softmaxTask{vec: b.kernels.vec, x: f32(x), y: f32(y), rows: rows, cols: cols}
	b.pool.parallel(parts(rows*cols, grainExp), t)
	*t = softmaxTask{}
	return nil
}

// SoftmaxBackward implements device.Backend: dx[r,c] = y[r,c]*(dy[r,c] - sum_k dy[r,k]*y[r,k])
// for rows×cols buffers. dx may alias dy. Errors: those of
// device.CheckSoftmaxBackward, or a buffer of another backend.
func (b *Backend) SoftmaxBackward(y, dy, dx device.Buffer, rows, cols int) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckSoftmaxBackward(y, dy, dx, rows, cols); err != nil {
		return err
	}
	if err := own(y, dy, dx); err != nil {
		return err
	}
	if b.reference {
		softmaxBackwardRef(f32(y), f32(dy), f32(dx), rows, cols)
		return nil
	}
	t := &b.kernels.softmax
	*t = softmaxTask{backward: true, y: f32(y), dy: f32(dy), dx: f32(dx), rows: rows, cols: cols}
	b.pool.parallel(parts(rows*cols, grainCopy), t)
	*t = softmaxTask{}
	return nil
}

// CausalSoftmax implements device.Backend: for x and y of shape (batch, seq, seq), row i
// of each matrix is the softmax of scale*x over its first i+1 entries, and 0 beyond
// (attention's causal mask). y may alias x. Errors: those of device.CheckCausalSoftmax,
// or a buffer of another backend.
func (b *Backend) CausalSoftmax(x, y device.Buffer, batch, seq int, scale float32) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckCausalSoftmax(x, y, batch, seq, scale); err != nil {
		return err
	}
	if err := own(x, y); err != nil {
		return err
	}
	if b.reference {
		causalSoftmaxRef(f32(x), f32(y), batch, seq, scale)
		return nil
	}
	t := &b.kernels.softmax
	*t = softmaxTask{vec: b.kernels.vec, causal: true, x: f32(x), y: f32(y), rows: batch * seq, cols: seq, scale: scale}
	// Half of each matrix is computed: the work is about batch*seq*seq/2 exponentials.
	b.pool.parallel(parts(batch*seq*seq/2, grainExp), t)
	*t = softmaxTask{}
	return nil
}

// The reference forms: one plain loop per activation, float64 transcendental functions.

// unaryForwardRef computes y[i] = f(x[i]) for x, y of n elements.
func unaryForwardRef(op device.UnaryOp, x, y []float32, p float32) {
	switch op {
	case device.ReLU:
		reluForwardRef(x, y)
	case device.LeakyReLU:
		leakyReLUForwardRef(x, y, p)
	case device.Sigmoid:
		sigmoidForwardRef(x, y)
	case device.Tanh:
		tanhForwardRef(x, y)
	case device.GELU:
		geluForwardRef(x, y)
	case device.GELUTanh:
		geluTanhForwardRef(x, y)
	}
}

// unaryBackwardRef computes dx[i] = dy[i] * f'(x[i]) for x, y, dy, dx of n elements.
func unaryBackwardRef(op device.UnaryOp, x, y, dy, dx []float32, p float32) {
	switch op {
	case device.ReLU:
		reluBackwardRef(x, dy, dx)
	case device.LeakyReLU:
		leakyReLUBackwardRef(x, dy, dx, p)
	case device.Sigmoid:
		sigmoidBackwardRef(y, dy, dx)
	case device.Tanh:
		tanhBackwardRef(y, dy, dx)
	case device.GELU:
		geluBackwardRef(x, dy, dx)
	case device.GELUTanh:
		geluTanhBackwardRef(x, dy, dx)
	}
}

// reluForwardRef: y = max(x, 0).
func reluForwardRef(x, y []float32) {
	for i := range x {
		y[i] = max(x[i], 0)
	}
}

// reluBackwardRef: dx = dy where x > 0, else 0.
func reluBackwardRef(x, dy, dx []float32) {
	for i := range x {
		if x[i] > 0 {
			dx[i] = dy[i]
		} else {
			dx[i] = 0
		}
	}
}

// leakyReLUForwardRef: y = x where x > 0, else p*x.
func leakyReLUForwardRef(x, y []float32, p float32) {
	for i := range x {
		if x[i] > 0 {
			y[i] = x[i]
		} else {
			y[i] = p * x[i]
		}
	}
}

// leakyReLUBackwardRef: dx = dy where x > 0, else p*dy.
func leakyReLUBackwardRef(x, dy, dx []float32, p float32) {
	for i := range x {
		if x[i] > 0 {
			dx[i] = dy[i]
		} else {
			dx[i] = p * dy[i]
		}
	}
}

// sigmoidForwardRef: y = 1/(1+exp(-x)).
func sigmoidForwardRef(x, y []float32) {
	for i := range x {
		y[i] = float32(1 / (1 + math.Exp(-float64(x[i]))))
	}
}

// sigmoidBackwardRef: dx = dy * y*(1-y).
func sigmoidBackwardRef(y, dy, dx []float32) {
	for i := range y {
		dx[i] = dy[i] * y[i] * (1 - y[i])
	}
}

// tanhForwardRef: y = tanh(x).
func tanhForwardRef(x, y []float32) {
	for i := range x {
		y[i] = float32(math.Tanh(float64(x[i])))
	}
}

// tanhBackwardRef: dx = dy * (1-y²).
func tanhBackwardRef(y, dy, dx []float32) {
	for i := range y {
		dx[i] = dy[i] * (1 - y[i]*y[i])
	}
}

// geluForwardRef: y = x*Φ(x) = x/2 * (1 + erf(x/√2)).
func geluForwardRef(x, y []float32) {
	for i := range x {
		v := float64(x[i])
		y[i] = float32(v / 2 * (1 + math.Erf(v/math.Sqrt2)))
	}
}

// geluBackwardRef: dx = dy * (Φ(x) + x*φ(x)), φ(x) = exp(-x²/2)/√(2π).
func geluBackwardRef(x, dy, dx []float32) {
	for i := range x {
		v := float64(x[i])
		cdf := (1 + math.Erf(v/math.Sqrt2)) / 2
		pdf := math.Exp(-v*v/2) / math.Sqrt(2*math.Pi)
		dx[i] = float32(float64(dy[i]) * (cdf + v*pdf))
	}
}

// The constants of GELU's tanh approximation: u = √(2/π)*(x + geluKappa*x³).
const (
	geluBeta  = 0.7978845608028654 // √(2/π)
	geluKappa = 0.044715
)

// geluTanhForwardRef: y = x/2 * (1 + tanh(u)), u = √(2/π)*(x + 0.044715*x³).
func geluTanhForwardRef(x, y []float32) {
	for i := range x {
		v := float64(x[i])
		u := geluBeta * (v + geluKappa*v*v*v)
		y[i] = float32(v / 2 * (1 + math.Tanh(u)))
	}
}

// geluTanhBackwardRef: dx = dy * ((1+t)/2 + x/2*(1-t²)*du/dx), t = tanh(u),
// du/dx = √(2/π)*(1 + 3*0.044715*x²).
func geluTanhBackwardRef(x, dy, dx []float32) {
	for i := range x {
		v := float64(x[i])
		t := math.Tanh(geluBeta * (v + geluKappa*v*v*v))
		du := geluBeta * (1 + 3*geluKappa*v*v)
		dx[i] = float32(float64(dy[i]) * ((1+t)/2 + v/2*(1-t*t)*du))
	}
}

// softmaxForwardRef: x, y are rows×cols; y[r,:] = exp(x[r,:]-max) / sum(exp(x[r,:]-max)),
// in float64.
func softmaxForwardRef(x, y []float32, rows, cols int) {
	for r := range rows {
		xr, yr := x[r*cols:(r+1)*cols], y[r*cols:(r+1)*cols]
		mx := xr[0]
		for _, v := range xr {
			mx = max(mx, v)
		}
		var sum float64
		for _, v := range xr {
			sum += math.Exp(float64(v - mx))
		}
		for c, v := range xr {
			yr[c] = float32(math.Exp(float64(v-mx)) / sum)
		}
	}
}

// causalSoftmaxRef: x, y are (batch, seq, seq); for row i of matrix b,
// y[b,i,j] = exp(s_j - m) / Σ_{k<=i} exp(s_k - m) with s_j = scale*x[b,i,j] and
// m = max_{k<=i} s_k for j <= i, and y[b,i,j] = 0 for j > i; in float64.
func causalSoftmaxRef(x, y []float32, batch, seq int, scale float32) {
	for b := range batch {
		for i := range seq {
			row := (b*seq + i) * seq
			xr, yr := x[row:row+seq], y[row:row+seq]
			m := math.Inf(-1)
			for j := 0; j <= i; j++ {
				m = max(m, float64(scale)*float64(xr[j]))
			}
			var sum float64
			for j := 0; j <= i; j++ {
				sum += math.Exp(float64(scale)*float64(xr[j]) - m)
			}
			for j := range seq {
				if j <= i {
					yr[j] = float32(math.Exp(float64(scale)*float64(xr[j])-m) / sum)
				} else {
					yr[j] = 0
				}
			}
		}
	}
}

// softmaxBackwardRef: y, dy, dx are rows×cols; dx[r,c] = y[r,c]*(dy[r,c] - dot(dy[r,:], y[r,:])).
func softmaxBackwardRef(y, dy, dx []float32, rows, cols int) {
	for r := range rows {
		yr, dyr, dxr := y[r*cols:(r+1)*cols], dy[r*cols:(r+1)*cols], dx[r*cols:(r+1)*cols]
		var dot float64
		for c := range yr {
			dot += float64(dy[r*cols+c]) * float64(yr[c])
		}
		for c := range yr {
			dxr[c] = float32(float64(yr[c]) * (float64(dyr[c]) - dot))
		}
	}
}

// The tuned forms: the same formulas in float32 (expf and tanhf below instead of the
// float64 math package), split over the worker pool.

// unaryTask runs Unary (or UnaryBackward) over a range of elements per part.
type unaryTask struct {
	vec          *vecVariant
	op           device.UnaryOp
	backward     bool
	x, y, dy, dx []float32
	p            float32
}

func (t *unaryTask) run(part, parts int) {
	lo, hi := split(len(t.x), part, parts, 16)
	x, y := t.x[lo:hi], t.y[lo:hi]
	if !t.backward {
		unaryForward(t.vec, t.op, x, y, t.p)
		return
	}
	dy, dx := t.dy[lo:hi], t.dx[lo:hi]
	switch t.op {
	case device.ReLU:
		t.vec.selectPos(dx, x, dy, 0) // dy where x > 0, else 0
	case device.LeakyReLU:
		t.vec.selectPos(dx, x, dy, t.p) // dy where x > 0, else p*dy
	case device.Sigmoid:
		sigmoidBackward(y, dy, dx)
	case device.Tanh:
		tanhBackward(y, dy, dx)
	case device.GELU:
		t.vec.geluBackward(dx, x, dy)
	case device.GELUTanh:
		t.vec.geluTanhBackward(dx, x, dy)
	}
}

// unaryForward is y = f(x) with the vector primitives where there is one.
func unaryForward(vec *vecVariant, op device.UnaryOp, x, y []float32, p float32) {
	y = y[:len(x)]
	switch op {
	case device.ReLU:
		vec.relu(y, x)
	case device.LeakyReLU:
		vec.selectPos(y, x, x, p) // x where x > 0, else p*x
	case device.Sigmoid:
		vec.sigmoid(y, x)
	case device.Tanh:
		vec.tanh(y, x)
	case device.GELU:
		vec.gelu(y, x)
	case device.GELUTanh:
		vec.geluTanh(y, x)
	}
}

func sigmoidBackward(y, dy, dx []float32) {
	dy, dx = dy[:len(y)], dx[:len(y)]
	for i, v := range y {
		dx[i] = dy[i] * v * (1 - v)
	}
}

func tanhBackward(y, dy, dx []float32) {
	dy, dx = dy[:len(y)], dx[:len(y)]
	for i, v := range y {
		dx[i] = dy[i] * (1 - v*v)
	}
}

// softmaxTask runs Softmax, SoftmaxBackward or CausalSoftmax over a range of rows per
// part.
type softmaxTask struct {
	vec          *vecVariant
	backward     bool
	causal       bool // CausalSoftmax: rows of cols×cols matrices
	x, y, dy, dx []float32
	rows, cols   int
	scale        float32
}

func (t *softmaxTask) run(part, parts int) {
	lo, hi := split(t.rows, part, parts, 1)
	c := t.cols
	if t.causal {
		t.causalRows(lo, hi)
		return
	}
	if t.backward {
		for r := lo; r < hi; r++ {
			softmaxBackwardRow(t.y[r*c:(r+1)*c], t.dy[r*c:(r+1)*c], t.dx[r*c:(r+1)*c])
		}
		return
	}
	// Three passes over the part's rows, so that the exponentials run as one vector
	// pass even when rows are short (10 classes): y = x - max per row; y = exp(y);
	// y /= sum per row.
	y := t.y[lo*c : hi*c]
	for r := lo; r < hi; r++ {
		softmaxShift(t.x[r*c:(r+1)*c], t.y[r*c:(r+1)*c])
	}
	t.vec.exp(y, y)
	for r := range hi - lo {
		softmaxNormalize(y[r*c : (r+1)*c])
	}
}

// softmaxShift writes x - max(x) to y (same length; y may alias x) and returns the
// maximum and the index of its first occurrence.
func softmaxShift(x, y []float32) (mx float32, arg int) {
	y = y[:len(x)]
	mx = x[0]
	for i, v := range x {
		if v > mx {
			mx, arg = v, i
		}
	}
	for i, v := range x {
		y[i] = v - mx
	}
	return mx, arg
}

// softmaxNormalize divides the exponentials e by their sum and returns the sum.
func softmaxNormalize(e []float32) float32 {
	var sum float32
	for _, v := range e {
		sum += v
	}
	inv := 1 / sum
	for i := range e {
		e[i] *= inv
	}
	return sum
}

// causalRows does rows [lo, hi) of CausalSoftmax, row r being row i = r % cols of its
// matrix, with n = i+1 keys: e = scale*x[:n], e = exp(e - max e), e /= Σ e, and zeros
// after them, each a vector pass. y may alias x.
func (t *softmaxTask) causalRows(lo, hi int) {
	c := t.cols
	for r := lo; r < hi; r++ {
		x, y := t.x[r*c:(r+1)*c], t.y[r*c:(r+1)*c]
		n := r%c + 1
		e := y[:n]
		t.vec.axpby(e, x[:n], t.scale, 0)
		t.vec.expAffine(e, e, 1, -t.vec.maxOf(e))
		t.vec.axpby(e, e, 1/t.vec.sum(e), 0)
		clear(y[n:])
	}
}

func softmaxBackwardRow(y, dy, dx []float32) {
	dy, dx = dy[:len(y)], dx[:len(y)]
	var dot float32
	for i, v := range y {
		dot += dy[i] * v
	}
	for i, v := range y {
		dx[i] = v * (dy[i] - dot)
	}
}

// expf is exp(x) in float32 arithmetic, within 1.5 ulp of exp(x) (0.8 measured over the
// whole range, see TestExpfAccuracy); +Inf above ln(MaxFloat32), 0 below ln(2^-126) (no
// subnormal results), NaN for NaN.
//
// x = n*ln2 + r with n = round(x/ln2) and |r| <= ln2/2 (ln2 split in two, Cody and Waite,
// so that n*ln2Hi is exact); exp(r) by its Taylor series to r⁷ (the next term is below
// 2^-27 of the sum); exp(x) = 2^n * exp(r).
func expf(x float32) float32 {
	const (
		log2e   = 1.4426950408889634
		ln2Hi   = 0.693359375 // 355/512
		ln2Lo   = -2.1219444005469058e-4
		shifter = 1 << 23 * 1.5 // adding it rounds a float32 below 2^22 to an integer
	)
	if x > 88.72283 {
		return float32(math.Inf(1))
	}
	if x < -87.33654 {
		return 0
	}
	t := x*log2e + shifter
	n := t - shifter // round(x/ln2), in [-126, 128]
	r := x - n*ln2Hi - n*ln2Lo
	p := ((((((1.0/5040*r+1.0/720)*r+1.0/120)*r+1.0/24)*r+1.0/6)*r+0.5)*r+1)*r + 1
	ni := int32(math.Float32bits(t) - math.Float32bits(shifter))
	if ni > 127 {
		return p * math.Float32frombits(254<<23) * 2 // 2^127 * 2
	}
	return p * math.Float32frombits(uint32(ni+127)<<23)
}

// tanhf is tanh(x) in float32 arithmetic, within 1e-7 absolute and 1e-6 relative: an odd
// Taylor polynomial below |x| = 1/4 (where 1 - 2/(e^2x+1) would cancel), and
// 1 - 2/(exp(2|x|)+1) with the sign of x above.
func tanhf(x float32) float32 {
	a := x
	if a < 0 {
		a = -a
	}
	if a < 0.25 {
		x2 := x * x
		return x + x*x2*(-1.0/3+x2*(2.0/15+x2*(-17.0/315+x2*62.0/2835)))
	}
	if a > 9 { // 1 - tanh(9) < 2^-24
		if x < 0 {
			return -1
		}
		return 1
	}
	t := 1 - 2/(expf(2*a)+1)
	if x < 0 {
		return -t
	}
	return t
}
