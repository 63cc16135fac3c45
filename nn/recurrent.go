package nn

import (
	"fmt"
	"math"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/nn/onnx"
	"github.com/gputrain/gputrain/tensor"
)

func init() {
	Register("lstm", func() Module { return &LSTM{} })
	Register("gru", func() Module { return &GRU{} })
}

// LSTM is PyTorch's nn.LSTM(In, Hidden, num_layers=Layers, batch_first=True): for a
// sequence x of per-example shape (T, In), layer k (0 ≤ k < Layers) runs over the T
// steps of its input x⁽ᵏ⁾ (x itself for k = 0, layer k-1's states above) with
//
//	(i, f, g, o) = (σ, σ, tanh, σ)(x⁽ᵏ⁾_t·W_ihᵀ + b_ih + h_{t-1}·W_hhᵀ + b_hh)
//	c_t = f*c_{t-1} + i*g        h_t = o*tanh(c_t)        h_{-1} = c_{-1} = 0
//
// and the output is the top layer's states h_0 … h_{T-1}, (T, Hidden), or with Last
// its last state h_{T-1}, (Hidden) (what a classifier reads: PyTorch's output[:, -1]).
// Layer k's parameters are named as PyTorch names them, with the gate blocks i, f, g, o
// stacked in that order: weight_ih_lk (4·Hidden, In or Hidden), weight_hh_lk
// (4·Hidden, Hidden), bias_ih_lk and bias_hh_lk (4·Hidden), all drawn from
// U(±1/√Hidden) as PyTorch draws them, so that a state_dict moves both ways.
//
// The input GEMM of a layer covers all T steps at once; each step then adds
// h_{t-1}·W_hhᵀ with one GEMM and runs the cell (device.Backend.RNNCell). The
// backward pass is backpropagation through time, step T-1 down to 0, with one GEMM
// per step for the recurrent gradient; the weight gradients are then one GEMM each
// over all steps, added into the parameters' Grad. Inside, the sequences are kept
// time-major, (T, batch, ·), so that a step's rows are contiguous.
type LSTM struct {
	Hidden int  `json:"hidden"`
	Layers int  `json:"layers,omitempty"` // 0 means 1
	Last   bool `json:"last,omitempty"`

	r recurrent
}

// GRU is PyTorch's nn.GRU(In, Hidden, num_layers=Layers, batch_first=True): as LSTM,
// with the cell
//
//	r = σ(x_t·W_irᵀ + b_ir + h_{t-1}·W_hrᵀ + b_hr)      z likewise
//	n = tanh(x_t·W_inᵀ + b_in + r*(h_{t-1}·W_hnᵀ + b_hn))
//	h_t = (1-z)*n + z*h_{t-1}                            h_{-1} = 0
//
// and its parameters weight_ih_lk (3·Hidden, In or Hidden), weight_hh_lk (3·Hidden,
// Hidden), bias_ih_lk and bias_hh_lk (3·Hidden), the gate blocks r, z, n in that order.
type GRU struct {
	Hidden int  `json:"hidden"`
	Layers int  `json:"layers,omitempty"` // 0 means 1
	Last   bool `json:"last,omitempty"`

	r recurrent
}

// NewLSTM returns an LSTM of layers layers of hidden units; last selects the output
// (the last state rather than the whole sequence).
func NewLSTM(hidden, layers int, last bool) *LSTM {
	return &LSTM{Hidden: hidden, Layers: layers, Last: last}
}

// NewGRU returns a GRU of layers layers of hidden units, see NewLSTM.
func NewGRU(hidden, layers int, last bool) *GRU {
	return &GRU{Hidden: hidden, Layers: layers, Last: last}
}

// Kind implements Module.
func (m *LSTM) Kind() string { return "lstm" }

// Kind implements Module.
func (m *GRU) Kind() string { return "gru" }

// Validate checks the configuration without building it.
func (m *LSTM) Validate() error { return validateRecurrent(m.Hidden, m.Layers) }

// Validate checks the configuration without building it.
func (m *GRU) Validate() error { return validateRecurrent(m.Hidden, m.Layers) }

func validateRecurrent(hidden, layers int) error {
	if hidden <= 0 {
		return fmt.Errorf("hidden must be positive, got %d", hidden)
	}
	if layers < 0 {
		return fmt.Errorf("layers must be positive (or 0 for 1), got %d", layers)
	}
	return nil
}

// Build implements Module: in is (T, In), a sequence of T steps of In values.
func (m *LSTM) Build(ctx *Context, in tensor.Shape) (tensor.Shape, error) {
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("nn: lstm: %w", err)
	}
	return m.r.build(ctx, in, device.LSTM, m.Hidden, max(m.Layers, 1), m.Last)
}

// Build implements Module: in is (T, In), a sequence of T steps of In values.
func (m *GRU) Build(ctx *Context, in tensor.Shape) (tensor.Shape, error) {
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("nn: gru: %w", err)
	}
	return m.r.build(ctx, in, device.GRU, m.Hidden, max(m.Layers, 1), m.Last)
}

// Forward implements Module.
func (m *LSTM) Forward(x *tensor.Tensor, train bool) (*tensor.Tensor, error) {
	if m.r.ctx == nil {
		return nil, fmt.Errorf("nn: %s used before Build", m.Kind())
	}
	return m.r.forward(x)
}

// Forward implements Module.
func (m *GRU) Forward(x *tensor.Tensor, train bool) (*tensor.Tensor, error) {
	if m.r.ctx == nil {
		return nil, fmt.Errorf("nn: %s used before Build", m.Kind())
	}
	return m.r.forward(x)
}

// Backward implements Module: backpropagation through time; the parameters'
// gradients are added into their Grad.
func (m *LSTM) Backward(dy *tensor.Tensor, needDX bool) (*tensor.Tensor, error) {
	if m.r.ctx == nil {
		return nil, fmt.Errorf("nn: %s used before Build", m.Kind())
	}
	return m.r.backward(dy, needDX)
}

// Backward implements Module: backpropagation through time; the parameters'
// gradients are added into their Grad.
func (m *GRU) Backward(dy *tensor.Tensor, needDX bool) (*tensor.Tensor, error) {
	if m.r.ctx == nil {
		return nil, fmt.Errorf("nn: %s used before Build", m.Kind())
	}
	return m.r.backward(dy, needDX)
}

// Params implements Module: weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, then
// layer 1's, … (PyTorch's state_dict order).
func (m *LSTM) Params() []*Param { return m.r.params() }

// Params implements Module, as LSTM's.
func (m *GRU) Params() []*Param { return m.r.params() }

// recurrent is the layer behind LSTM and GRU: the weights of each layer, the
// time-major workspaces and the views of them for each batch size seen.
type recurrent struct {
	op            device.RNNOp
	kind          string
	hidden, gates int // H; G·H
	last          bool
	ctx           *Context
	in, out       tensor.Shape
	steps, inDim  int // T; In
	layers        []*rnnLayer

	// Workspaces of MaxBatch sequences, time-major, shared by the layers in the
	// backward pass; a batch of n uses their first elements as (T, n, ·).
	xT, dxT, dh, dgx, dgh *tensor.Tensor
	dc, dhPrev            *tensor.Tensor // (MaxBatch, H)
	y, dx                 *batchBuf      // (n, T, H) without Last; (n, T, In)
	views                 map[int]*rnnViews
	db                    accumulator
	n                     int // batch of the last Forward
}

// rnnLayer is one layer: its parameters and its forward workspaces, time-major.
type rnnLayer struct {
	in                 int // its input width: In for layer 0, H above
	wih, whh, bih, bhh *Param
	gx, gh, hs, cs     *tensor.Tensor // (T, MaxBatch, G·H) pre-activations, then gates; GRU: hidden parts; states
}

// rnnViews are the views of the workspaces for a batch of n sequences: whole
// sequences (T, n, ·) and single steps (n, ·), made once per batch size.
type rnnViews struct {
	xT, dxT, dh, dgx, dgh device.Buffer
	dhAt, dgxAt, dghAt    []device.Buffer // step t of dh, dgx, dgh
	dgxTail, dghTail      device.Buffer   // steps 1 … T-1 of dgx, dgh
	dc, dhPrev            device.Buffer
	layers                []rnnLayerViews
	last                  *tensor.Tensor // (n, H): the top layer's h_{T-1}
}

type rnnLayerViews struct {
	gx, hs               device.Buffer
	gxAt, ghAt, hAt, cAt []device.Buffer // step t
	hsHead               device.Buffer   // steps 0 … T-2 of hs
}

func (r *recurrent) params() []*Param {
	var ps []*Param
	for _, l := range r.layers {
		ps = append(ps, l.wih, l.whh, l.bih, l.bhh)
	}
	return ps
}

func (r *recurrent) build(ctx *Context, in tensor.Shape, op device.RNNOp, hidden, layers int, last bool) (tensor.Shape, error) {
	kind := op.String()
	if len(in) != 2 || in[0] <= 0 || in[1] <= 0 {
		return nil, fmt.Errorf("nn: %s: input shape %v, want (steps, features)", kind, in)
	}
	*r = recurrent{op: op, kind: kind, hidden: hidden, gates: op.Gates() * hidden, last: last, ctx: ctx,
		in: in.Clone(), steps: in[0], inDim: in[1], views: map[int]*rnnViews{}}
	r.out = tensor.Shape{r.steps, hidden}
	if last {
		r.out = tensor.Shape{hidden}
	}
	dev, nb, tn := ctx.Dev, ctx.MaxBatch, r.steps*ctx.MaxBatch
	limit := 1 / math.Sqrt(float64(hidden))
	var err error
	alloc := func(n int) *tensor.Tensor {
		if err != nil {
			return nil
		}
		var t *tensor.Tensor
		t, err = tensor.Zeros(dev, n)
		return t
	}
	param := func(name string, shape ...int) *Param {
		if err != nil {
			return nil
		}
		var p *Param
		p, err = newParam(dev, name, true, uniform(ctx, tensor.Shape(shape).Len(), limit), shape...)
		return p
	}
	for k := range layers {
		l := &rnnLayer{in: r.inDim}
		if k > 0 {
			l.in = hidden
		}
		l.wih = param(fmt.Sprintf("weight_ih_l%d", k), r.gates, l.in)
		l.whh = param(fmt.Sprintf("weight_hh_l%d", k), r.gates, hidden)
		l.bih = param(fmt.Sprintf("bias_ih_l%d", k), r.gates)
		l.bhh = param(fmt.Sprintf("bias_hh_l%d", k), r.gates)
		l.gx, l.hs = alloc(tn*r.gates), alloc(tn*hidden)
		if op == device.GRU {
			l.gh = alloc(tn * r.gates)
		} else {
			l.cs = alloc(tn * hidden)
		}
		r.layers = append(r.layers, l)
	}
	r.xT, r.dh, r.dgx = alloc(tn*r.inDim), alloc(tn*hidden), alloc(tn*r.gates)
	r.dc, r.dhPrev = alloc(nb*hidden), alloc(nb*hidden)
	if op == device.GRU {
		r.dgh = alloc(tn * r.gates)
	}
	if err != nil {
		return nil, err
	}
	if !last {
		if r.y, err = newBatchBuf(dev, device.Float32, nb, r.out); err != nil {
			return nil, err
		}
	}
	return r.out.Clone(), nil
}

// viewsFor returns the views for a batch of n sequences, making them on first use.
func (r *recurrent) viewsFor(n int) (*rnnViews, error) {
	if v, ok := r.views[n]; ok {
		return v, nil
	}
	dev, t, h, g := r.ctx.Dev, r.steps, r.hidden, r.gates
	var err error
	view := func(x *tensor.Tensor, off, size int) device.Buffer {
		if err != nil || x == nil {
			return nil
		}
		var b device.Buffer
		b, err = dev.View(x.Buffer(), off, size)
		return b
	}
	steps := func(x *tensor.Tensor, width int) []device.Buffer {
		if x == nil {
			return nil
		}
		s := make([]device.Buffer, t)
		for i := range s {
			s[i] = view(x, i*n*width, n*width)
		}
		return s
	}
	v := &rnnViews{xT: view(r.xT, 0, t*n*r.inDim), dh: view(r.dh, 0, t*n*h), dgx: view(r.dgx, 0, t*n*g), dgh: view(r.dgh, 0, t*n*g),
		dhAt: steps(r.dh, h), dgxAt: steps(r.dgx, g), dghAt: steps(r.dgh, g),
		dc: view(r.dc, 0, n*h), dhPrev: view(r.dhPrev, 0, n*h)}
	if t > 1 {
		v.dgxTail, v.dghTail = view(r.dgx, n*g, (t-1)*n*g), view(r.dgh, n*g, (t-1)*n*g)
	}
	if r.dxT != nil {
		v.dxT = view(r.dxT, 0, t*n*r.inDim)
	}
	for _, l := range r.layers {
		lv := rnnLayerViews{gx: view(l.gx, 0, t*n*g), hs: view(l.hs, 0, t*n*h),
			gxAt: steps(l.gx, g), ghAt: steps(l.gh, g), hAt: steps(l.hs, h), cAt: steps(l.cs, h)}
		if t > 1 {
			lv.hsHead = view(l.hs, 0, (t-1)*n*h)
		}
		v.layers = append(v.layers, lv)
	}
	if err != nil {
		return nil, fmt.Errorf("nn: %s: %w", r.kind, err)
	}
	top := r.layers[len(r.layers)-1]
	if v.last, err = top.hs.View((t-1)*n*h, n, h); err != nil {
		return nil, fmt.Errorf("nn: %s: %w", r.kind, err)
	}
	r.views[n] = v
	return v, nil
}

// timeMajor is the permutation of a batch of n sequences (n, T, w) into (T, n, w); its
// Inverse takes them back.
func timeMajor(n, t, w int) device.PermuteArgs {
	return device.PermuteArgs{Rank: 3, Shape: [device.MaxRank]int{n, t, w}, Perm: [device.MaxRank]int{1, 0, 2}}
}

func (r *recurrent) forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	n, err := checkInput(r.kind, r.ctx, x, r.in)
	if err != nil {
		return nil, err
	}
	if x.DType() != device.Float32 {
		return nil, fmt.Errorf("nn: %s: input must be float32, got %s", r.kind, x.DType())
	}
	v, err := r.viewsFor(n)
	if err != nil {
		return nil, err
	}
	if err := r.forwardOps(n, x.Buffer(), v); err != nil {
		return nil, fmt.Errorf("nn: %s forward: %w", r.kind, err)
	}
	r.n = n
	if r.last {
		return v.last, nil
	}
	y, err := r.y.rows(n)
	if err != nil {
		return nil, err
	}
	// y (n, T, H) = the top layer's states (T, n, H)
	if err := r.ctx.Dev.Permute(v.layers[len(r.layers)-1].hs, y.Buffer(), timeMajor(n, r.steps, r.hidden).Inverse()); err != nil {
		return nil, fmt.Errorf("nn: %s forward: %w", r.kind, err)
	}
	return y, nil
}

func (r *recurrent) forwardOps(n int, x device.Buffer, v *rnnViews) error {
	dev, t, h, g := r.ctx.Dev, r.steps, r.hidden, r.gates
	// xT (T, n, In) = x (n, T, In)
	if err := dev.Permute(x, v.xT, timeMajor(n, t, r.inDim)); err != nil {
		return err
	}
	in := v.xT
	for k, l := range r.layers {
		lv := &v.layers[k]
		// gx (T·n × G·H) = x⁽ᵏ⁾ (T·n × In) · W_ihᵀ + b_ih, every step at once
		if err := dev.Gemm(device.GemmArgs{TransB: true, M: t * n, N: g, K: l.in, Alpha: 1,
			A: in, B: l.wih.Value.Buffer(), C: lv.gx, Bias: l.bih.Value.Buffer()}); err != nil {
			return err
		}
		if r.op == device.LSTM {
			// gx += b_hh; then step by step gx[t] += h[t-1]·W_hhᵀ and the cell (acts in gx[t])
			if err := dev.Broadcast(device.Add, lv.gx, l.bhh.Value.Buffer(), lv.gx, device.Shape3{Outer: t * n, Mid: g, Inner: 1}); err != nil {
				return err
			}
			for s := range t {
				a := device.RNNCellArgs{Op: device.LSTM, Batch: n, Hidden: h, GX: lv.gxAt[s], Acts: lv.gxAt[s], H: lv.hAt[s], C: lv.cAt[s]}
				if s > 0 {
					if err := dev.Gemm(device.GemmArgs{TransB: true, M: n, N: g, K: h, Alpha: 1, Beta: 1,
						A: lv.hAt[s-1], B: l.whh.Value.Buffer(), C: lv.gxAt[s]}); err != nil {
						return err
					}
					a.CPrev = lv.cAt[s-1]
				}
				if err := dev.RNNCell(a); err != nil {
					return err
				}
			}
		} else {
			// step by step gh[t] = h[t-1]·W_hhᵀ + b_hh (b_hh alone at t = 0) and the cell
			for s := range t {
				a := device.RNNCellArgs{Op: device.GRU, Batch: n, Hidden: h, GX: lv.gxAt[s], GH: lv.ghAt[s], Acts: lv.gxAt[s], H: lv.hAt[s]}
				if s == 0 {
					if err := dev.Fill(lv.ghAt[0], 0); err != nil {
						return err
					}
					if err := dev.Broadcast(device.Add, lv.ghAt[0], l.bhh.Value.Buffer(), lv.ghAt[0], device.Shape3{Outer: n, Mid: g, Inner: 1}); err != nil {
						return err
					}
				} else {
					if err := dev.Gemm(device.GemmArgs{TransB: true, M: n, N: g, K: h, Alpha: 1,
						A: lv.hAt[s-1], B: l.whh.Value.Buffer(), C: lv.ghAt[s], Bias: l.bhh.Value.Buffer()}); err != nil {
						return err
					}
					a.HPrev = lv.hAt[s-1]
				}
				if err := dev.RNNCell(a); err != nil {
					return err
				}
			}
		}
		in = lv.hs
	}
	return nil
}

func (r *recurrent) backward(dy *tensor.Tensor, needDX bool) (*tensor.Tensor, error) {
	if err := checkGrad(r.kind, r.n, dy, r.out); err != nil {
		return nil, err
	}
	n := r.n
	v, err := r.viewsFor(n)
	if err != nil {
		return nil, err
	}
	if needDX && r.dx == nil {
		// allocated on the first Backward that needs it: a first layer never does
		if r.dxT, err = tensor.Zeros(r.ctx.Dev, r.steps*r.ctx.MaxBatch*r.inDim); err != nil {
			return nil, err
		}
		if r.dx, err = newBatchBuf(r.ctx.Dev, device.Float32, r.ctx.MaxBatch, r.in); err != nil {
			return nil, err
		}
		r.views = map[int]*rnnViews{}
		if v, err = r.viewsFor(n); err != nil {
			return nil, err
		}
	}
	var dx *tensor.Tensor
	if needDX {
		if dx, err = r.dx.rows(n); err != nil {
			return nil, err
		}
	}
	if err := r.backwardOps(n, dy.Buffer(), dx, v); err != nil {
		return nil, fmt.Errorf("nn: %s backward: %w", r.kind, err)
	}
	return dx, nil
}

func (r *recurrent) backwardOps(n int, dy device.Buffer, dx *tensor.Tensor, v *rnnViews) error {
	dev, t, h, g := r.ctx.Dev, r.steps, r.hidden, r.gates
	// dh (T, n, H): the gradient with respect to the top layer's states
	if r.last {
		if err := dev.Fill(v.dh, 0); err != nil {
			return err
		}
		if err := dev.Copy(v.dhAt[t-1], dy); err != nil {
			return err
		}
	} else if err := dev.Permute(dy, v.dh, timeMajor(n, t, h)); err != nil {
		return err
	}
	for k := len(r.layers) - 1; k >= 0; k-- {
		l, lv := r.layers[k], &v.layers[k]
		// step by step, T-1 down to 0: the cell's gradients, then dh[t-1] += the
		// recurrent part (dgx[t]·W_hh; GRU: dgh[t]·W_hh plus the direct z*dh)
		for s := t - 1; s >= 0; s-- {
			rec := v.dgxAt[s]
			if r.op == device.LSTM {
				a := device.RNNCellArgs{Op: device.LSTM, Batch: n, Hidden: h, Acts: lv.gxAt[s], C: lv.cAt[s],
					DH: v.dhAt[s], DGX: v.dgxAt[s]}
				if s < t-1 {
					a.DC = v.dc
				}
				if s > 0 {
					a.CPrev, a.DCPrev = lv.cAt[s-1], v.dc
				}
				if err := dev.RNNCellBackward(a); err != nil {
					return err
				}
			} else {
				a := device.RNNCellArgs{Op: device.GRU, Batch: n, Hidden: h, GH: lv.ghAt[s], Acts: lv.gxAt[s],
					DH: v.dhAt[s], DGX: v.dgxAt[s], DGH: v.dghAt[s]}
				if s > 0 {
					a.HPrev, a.DHPrev = lv.hAt[s-1], v.dhPrev
				}
				if err := dev.RNNCellBackward(a); err != nil {
					return err
				}
				rec = v.dghAt[s]
				if s > 0 {
					if err := dev.Axpby(1, v.dhPrev, 1, v.dhAt[s-1]); err != nil {
						return err
					}
				}
			}
			if s > 0 {
				// dh[t-1] (n × H) += rec (n × G·H) · W_hh (G·H × H)
				if err := dev.Gemm(device.GemmArgs{M: n, N: h, K: g, Alpha: 1, Beta: 1,
					A: rec, B: l.whh.Value.Buffer(), C: v.dhAt[s-1]}); err != nil {
					return err
				}
			}
		}
		in := v.xT
		if k > 0 {
			in = v.layers[k-1].hs
		}
		if err := r.weightGrads(n, l, lv, v, in); err != nil {
			return err
		}
		// the input gradient (T·n × In) = dgx (T·n × G·H) · W_ih (G·H × In): the next
		// layer down's dh, or the module's dx
		switch {
		case k > 0:
			if err := dev.Gemm(device.GemmArgs{M: t * n, N: l.in, K: g, Alpha: 1, A: v.dgx, B: l.wih.Value.Buffer(), C: v.dh}); err != nil {
				return err
			}
		case dx != nil:
			if err := dev.Gemm(device.GemmArgs{M: t * n, N: l.in, K: g, Alpha: 1, A: v.dgx, B: l.wih.Value.Buffer(), C: v.dxT}); err != nil {
				return err
			}
			if err := dev.Permute(v.dxT, dx.Buffer(), timeMajor(n, t, r.inDim).Inverse()); err != nil {
				return err
			}
		}
	}
	return nil
}

// weightGrads adds layer l's parameter gradients from the pre-activation gradients
// of all steps: dW_ih += dgxᵀ·x⁽ᵏ⁾, dW_hh += Σ_{t≥1} dghᵀ[t]·h[t-1] (dgh is dgx for an
// LSTM), db_ih += Σ dgx, db_hh += Σ dgh.
func (r *recurrent) weightGrads(n int, l *rnnLayer, lv *rnnLayerViews, v *rnnViews, in device.Buffer) error {
	dev, t, h, g := r.ctx.Dev, r.steps, r.hidden, r.gates
	dgh, dghTail := v.dgx, v.dgxTail
	if r.op == device.GRU {
		dgh, dghTail = v.dgh, v.dghTail
	}
	if l.wih.needsGrad() {
		if err := dev.Gemm(device.GemmArgs{TransA: true, M: g, N: l.in, K: t * n, Alpha: 1, Beta: 1,
			A: v.dgx, B: in, C: l.wih.Grad.Buffer()}); err != nil {
			return err
		}
	}
	if l.whh.needsGrad() && t > 1 {
		if err := dev.Gemm(device.GemmArgs{TransA: true, M: g, N: h, K: (t - 1) * n, Alpha: 1, Beta: 1,
			A: dghTail, B: lv.hsHead, C: l.whh.Grad.Buffer()}); err != nil {
			return err
		}
	}
	for _, b := range []struct {
		p *Param
		d device.Buffer
	}{{l.bih, v.dgx}, {l.bhh, dgh}} {
		if !b.p.needsGrad() {
			continue
		}
		tmp, err := r.db.scratch(dev, b.p)
		if err != nil {
			return err
		}
		if err := dev.Reduce(device.Sum, b.d, tmp.Buffer(), device.Shape3{Outer: 1, Mid: t * n, Inner: g}); err != nil {
			return err
		}
		if err := r.db.add(dev, b.p); err != nil {
			return err
		}
	}
	return nil
}

// ExportONNX implements Exporter: one ONNX LSTM node per layer (onnx.LSTM, the gates
// reordered into ONNX's i, o, f, c), batch-first; with Last, the top layer's last
// hidden state.
func (m *LSTM) ExportONNX(g *onnx.Graph, x string) (string, error) {
	if m.r.ctx == nil {
		return "", fmt.Errorf("nn: lstm: export before Build")
	}
	return m.r.export(g, x)
}

// ExportONNX implements Exporter: one ONNX GRU node per layer (onnx.GRU, with
// linear_before_reset as PyTorch computes n), batch-first; with Last, the top
// layer's last hidden state.
func (m *GRU) ExportONNX(g *onnx.Graph, x string) (string, error) {
	if m.r.ctx == nil {
		return "", fmt.Errorf("nn: gru: export before Build")
	}
	return m.r.export(g, x)
}

func (r *recurrent) export(g *onnx.Graph, x string) (string, error) {
	host := func(p *Param) ([]float32, error) {
		v, err := p.Value.Float32s()
		if err != nil {
			return nil, fmt.Errorf("nn: %s: export %s: %w", r.kind, p.Name, err)
		}
		return v, nil
	}
	var h string
	for k, l := range r.layers {
		w := onnx.RNNWeights{Input: l.in, Hidden: r.hidden}
		for _, p := range []struct {
			dst *[]float32
			p   *Param
		}{{&w.WeightIH, l.wih}, {&w.WeightHH, l.whh}, {&w.BiasIH, l.bih}, {&w.BiasHH, l.bhh}} {
			v, err := host(p.p)
			if err != nil {
				return "", err
			}
			*p.dst = v
		}
		s := g.Scope(fmt.Sprintf("l%d", k))
		if r.op == device.LSTM {
			x, h, _ = onnx.LSTM(s, x, w, true)
		} else {
			x, h = onnx.GRU(s, x, w, true)
		}
	}
	if r.last {
		return h, nil
	}
	return x, nil
}
