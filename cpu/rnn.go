package cpu

import (
	"math"

	"github.com/gputrain/gputrain/device"
)

// RNNCell implements device.Backend: the gates, states and output of one LSTM or GRU
// step from its gate pre-activations (see device.RNNCellArgs). Errors: those of
// device.CheckRNNCell, or a buffer of another backend.
func (b *Backend) RNNCell(a device.RNNCellArgs) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckRNNCell(a, false); err != nil {
		return err
	}
	if err := own(a.GX, a.GH, a.Acts, a.HPrev, a.CPrev, a.H, a.C); err != nil {
		return err
	}
	return b.rnn(a, false)
}

// RNNCellBackward implements device.Backend: the gradients of one LSTM or GRU step's
// gate pre-activations and, when asked for, of its previous states (see
// device.RNNCellArgs). Errors: those of device.CheckRNNCell, or a buffer of another
// backend.
func (b *Backend) RNNCellBackward(a device.RNNCellArgs) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckRNNCell(a, true); err != nil {
		return err
	}
	if err := own(a.Acts, a.GH, a.HPrev, a.CPrev, a.C, a.DH, a.DC, a.DGX, a.DGH, a.DHPrev, a.DCPrev); err != nil {
		return err
	}
	return b.rnn(a, true)
}

func (b *Backend) rnn(a device.RNNCellArgs, backward bool) error {
	t := &b.kernels.rnn
	t.set(a, backward)
	t.vec = b.kernels.vec
	if b.reference {
		rnnRef(t)
	} else {
		np := min(a.Batch, parts(a.Batch*a.Hidden*a.Op.Gates(), grain))
		if n := np * 2 * a.Hidden; len(t.scratch) < n {
			t.scratch = make([]float32, n)
		}
		if len(t.zeros) < a.Hidden {
			t.zeros = make([]float32, a.Hidden)
		}
		t.zeros = t.zeros[:a.Hidden]
		b.pool.parallel(np, t)
	}
	*t = rnnTask{scratch: t.scratch, zeros: t.zeros}
	return nil
}

// rnnTask holds an RNNCell or RNNCellBackward call as slices (nil for absent buffers),
// and two scratch rows of Hidden floats per part and a row of zeros (kept between
// calls).
type rnnTask struct {
	vec                *vecVariant
	op                 device.RNNOp
	backward           bool
	batch, hidden      int
	gx, gh, acts       []float32 // batch × G*hidden
	hPrev, cPrev, h, c []float32 // batch × hidden
	dh, dc             []float32
	dgx, dgh           []float32
	dhPrev, dcPrev     []float32
	scratch            []float32 // per part: a row of temporaries, a sink row
	zeros              []float32 // hidden zeros: an absent state
}

func (t *rnnTask) set(a device.RNNCellArgs, backward bool) {
	*t = rnnTask{scratch: t.scratch, zeros: t.zeros, op: a.Op, backward: backward, batch: a.Batch, hidden: a.Hidden,
		gx: f32(a.GX), gh: f32(a.GH), acts: f32(a.Acts), hPrev: f32(a.HPrev), cPrev: f32(a.CPrev), h: f32(a.H), c: f32(a.C),
		dh: f32(a.DH), dc: f32(a.DC), dgx: f32(a.DGX), dgh: f32(a.DGH), dhPrev: f32(a.DHPrev), dcPrev: f32(a.DCPrev)}
}

// at returns x[i] of an optional buffer: 0 when x is nil.
func at(x []float32, i int) float64 {
	if x == nil {
		return 0
	}
	return float64(x[i])
}

func sigmoid64(v float64) float64 { return 1 / (1 + math.Exp(-v)) }

// rnnRef is the reference cell, in float64, one (row b, unit j) at a time; gate k of
// unit j of row b is at [b, k*H+j] of the (batch, G*H) buffers.
func rnnRef(t *rnnTask) {
	hh := t.hidden
	g := t.op.Gates() * hh
	for b := range t.batch {
		for j := range hh {
			s := b*hh + j                                        // (b, j) in the state buffers
			k := func(gate int) int { return b*g + gate*hh + j } // (b, gate, j) in the gate buffers
			switch {
			case t.op == device.LSTM && !t.backward:
				// i, f, g, o = σ(a_i), σ(a_f), tanh(a_g), σ(a_o); c = f*cPrev + i*g; h = o*tanh(c)
				pre := func(gate int) float64 { return float64(t.gx[k(gate)]) + at(t.gh, k(gate)) }
				i, f, gg, o := sigmoid64(pre(0)), sigmoid64(pre(1)), math.Tanh(pre(2)), sigmoid64(pre(3))
				c := f*at(t.cPrev, s) + i*gg
				t.acts[k(0)], t.acts[k(1)], t.acts[k(2)], t.acts[k(3)] = float32(i), float32(f), float32(gg), float32(o)
				t.c[s], t.h[s] = float32(c), float32(o*math.Tanh(c))
			case t.op == device.LSTM:
				// dc = DC + DH*o*(1-tanh²c); d(a_i, a_f, a_g, a_o); dcPrev = dc*f
				i, f, gg, o := float64(t.acts[k(0)]), float64(t.acts[k(1)]), float64(t.acts[k(2)]), float64(t.acts[k(3)])
				tc, dh := math.Tanh(float64(t.c[s])), float64(t.dh[s])
				dc := at(t.dc, s) + dh*o*(1-tc*tc)
				t.dgx[k(0)] = float32(dc * gg * i * (1 - i))
				t.dgx[k(1)] = float32(dc * at(t.cPrev, s) * f * (1 - f))
				t.dgx[k(2)] = float32(dc * i * (1 - gg*gg))
				t.dgx[k(3)] = float32(dh * tc * o * (1 - o))
				if t.dcPrev != nil {
					t.dcPrev[s] = float32(dc * f)
				}
			case !t.backward: // GRU
				// r, z = σ(gx + gh); n = tanh(gx_n + r*gh_n); h = (1-z)*n + z*hPrev
				r := sigmoid64(float64(t.gx[k(0)]) + float64(t.gh[k(0)]))
				z := sigmoid64(float64(t.gx[k(1)]) + float64(t.gh[k(1)]))
				n := math.Tanh(float64(t.gx[k(2)]) + r*float64(t.gh[k(2)]))
				t.acts[k(0)], t.acts[k(1)], t.acts[k(2)] = float32(r), float32(z), float32(n)
				t.h[s] = float32((1-z)*n + z*at(t.hPrev, s))
			default: // GRU backward
				r, z, n := float64(t.acts[k(0)]), float64(t.acts[k(1)]), float64(t.acts[k(2)])
				dh := float64(t.dh[s])
				dn := dh * (1 - z) * (1 - n*n)
				dz := dh * (at(t.hPrev, s) - n) * z * (1 - z)
				dr := dn * float64(t.gh[k(2)]) * r * (1 - r)
				t.dgx[k(0)], t.dgx[k(1)], t.dgx[k(2)] = float32(dr), float32(dz), float32(dn)
				t.dgh[k(0)], t.dgh[k(1)], t.dgh[k(2)] = float32(dr), float32(dz), float32(dn*r)
				if t.dhPrev != nil {
					t.dhPrev[s] = float32(dh * z)
				}
			}
		}
	}
}

// row returns row b of an optional buffer with rows of n elements (nil when x is nil).
func row(x []float32, b, n int) []float32 {
	if x == nil {
		return nil
	}
	return x[b*n : (b+1)*n]
}

// run does rows [lo, hi) of the part: the activations and the elementwise products of
// the forward pass with the vector primitives over each gate's contiguous run, the
// backward pass with the lstmBackward and gruBackward row primitives. Absent optional buffers read as t.zeros; outputs
// not asked for go to the part's sink row.
func (t *rnnTask) run(part, parts int) {
	lo, hi := split(t.batch, part, parts, 1)
	hh := t.hidden
	g := t.op.Gates() * hh
	tmp := t.scratch[part*2*hh : part*2*hh+hh]
	sink := t.scratch[part*2*hh+hh : (part+1)*2*hh]
	opt := func(x []float32, b int) []float32 { // row b of an optional input
		if x == nil {
			return t.zeros
		}
		return x[b*hh : (b+1)*hh]
	}
	out := func(x []float32, b int) []float32 { // row b of an optional output
		if x == nil {
			return sink
		}
		return x[b*hh : (b+1)*hh]
	}
	for b := lo; b < hi; b++ {
		acts := t.acts[b*g : (b+1)*g]
		h := func(x []float32) []float32 { return x[b*hh : (b+1)*hh] }
		switch {
		case t.op == device.LSTM && !t.backward:
			t.lstmRow(acts, t.gx[b*g:(b+1)*g], row(t.gh, b, g), opt(t.cPrev, b), h(t.c), h(t.h), tmp)
		case t.op == device.LSTM:
			t.vec.tanh(tmp, h(t.c))
			t.vec.lstmBackward(acts, opt(t.cPrev, b), tmp, h(t.dh), opt(t.dc, b), t.dgx[b*g:(b+1)*g], out(t.dcPrev, b))
		case !t.backward:
			t.gruRow(acts, t.gx[b*g:(b+1)*g], t.gh[b*g:(b+1)*g], opt(t.hPrev, b), h(t.h), tmp)
		default:
			t.vec.gruBackward(acts, t.gh[b*g:(b+1)*g], opt(t.hPrev, b), h(t.dh), t.dgx[b*g:(b+1)*g], t.dgh[b*g:(b+1)*g], out(t.dhPrev, b))
		}
	}
}

// lstmRow: acts = (σ, σ, tanh, σ) of gx (+ gh), c = f*cPrev + i*g, h = o*tanh(c), each
// a vector pass.
func (t *rnnTask) lstmRow(acts, gx, gh, cPrev, c, h, tmp []float32) {
	hh := len(c)
	pre := gx
	if gh != nil {
		t.vec.binary(device.Add, acts, gx, gh)
		pre = acts
	}
	t.vec.sigmoid(acts[:2*hh], pre[:2*hh])
	t.vec.tanh(acts[2*hh:3*hh], pre[2*hh:3*hh])
	t.vec.sigmoid(acts[3*hh:], pre[3*hh:])
	i, f, gg, o := acts[:hh], acts[hh:2*hh], acts[2*hh:3*hh], acts[3*hh:4*hh]
	t.vec.binary(device.Mul, tmp, f, cPrev)
	t.vec.binary(device.Mul, c, i, gg)
	t.vec.binary(device.Add, c, c, tmp)
	t.vec.tanh(tmp, c)
	t.vec.binary(device.Mul, h, o, tmp)
}

// gruRow: (r, z) = σ(gx + gh), n = tanh(gx_n + r*gh_n), h = n + z*(hPrev - n), each a
// vector pass.
func (t *rnnTask) gruRow(acts, gx, gh, hPrev, h, tmp []float32) {
	hh := len(h)
	t.vec.binary(device.Add, acts[:2*hh], gx[:2*hh], gh[:2*hh])
	t.vec.sigmoid(acts[:2*hh], acts[:2*hh])
	r, z, n := acts[:hh], acts[hh:2*hh], acts[2*hh:3*hh]
	t.vec.binary(device.Mul, tmp, r, gh[2*hh:3*hh])
	t.vec.binary(device.Add, n, gx[2*hh:3*hh], tmp)
	t.vec.tanh(n, n)
	t.vec.binary(device.Sub, tmp, hPrev, n)
	t.vec.binary(device.Mul, tmp, z, tmp)
	t.vec.binary(device.Add, h, n, tmp)
}
