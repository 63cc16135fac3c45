package device

import "fmt"

// Planner is a Backend that holds no memory and computes nothing: it counts the bytes
// its buffers would take on the device it plans for. Building a model, and running a
// training step, on a Planner tells how much memory the same work needs on that device
// before any of it is allocated, so that a program can refuse a run that would not fit
// (train.Trainer.PlanMemory) instead of dying in the allocation.
//
// Alloc returns a buffer with a length and no elements; Free and the end of its life
// are counted; View shares its buffer's count. Writes are dropped, reads give zeros,
// every op returns nil at once. Name is the planned-for device's; Close closes nothing.
//
// Live is the bytes held now, Peak the most held at once. Bytes are counted as the
// element size times the length, without any rounding a backend's allocator adds.
//
// Every method of Backend is implemented here: the embedded Backend only names the
// device planned for, and a method added to the interface but missing here would call
// it with buffers it does not own (an error, never a write); TestPlannerImplementsEveryMethod
// finds such a method.
type Planner struct {
	Backend // the device planned for (Name); nil plans for a device named "plan"

	live, peak int64
	allocs     int
}

var _ Backend = (*Planner)(nil)

// NewPlanner returns a Planner for dev (which it never calls but for Name).
func NewPlanner(dev Backend) *Planner { return &Planner{Backend: dev} }

// planned is a Planner's buffer: a length, no memory.
type planned struct {
	dt    DType
	n     int
	view  bool
	freed bool
}

func (x *planned) Len() int     { return x.n }
func (x *planned) DType() DType { return x.dt }

// IsPlanner reports whether dev is a Planner: its buffers hold nothing, so a module
// need not make initial values on the host for it (nn.Context.NewParam skips them).
func IsPlanner(dev Backend) bool {
	_, ok := dev.(*Planner)
	return ok
}

// Live is the number of bytes the buffers not yet freed take.
func (p *Planner) Live() int64 { return p.live }

// Peak is the largest Live has been.
func (p *Planner) Peak() int64 { return p.peak }

// Allocs is the number of buffers allocated.
func (p *Planner) Allocs() int { return p.allocs }

// Name is the planned-for device's name ("plan" without one).
func (p *Planner) Name() string {
	if p.Backend == nil {
		return "plan"
	}
	return p.Backend.Name()
}

// Describe implements Backend.
func (p *Planner) Describe() string { return "memory plan for " + p.Name() }

// Close implements Backend: it closes nothing (not the device planned for).
func (p *Planner) Close() error { return nil }

// Alloc implements Backend: it counts n elements of dt and allocates nothing.
func (p *Planner) Alloc(dt DType, n int) (Buffer, error) {
	if n < 0 {
		return nil, fmt.Errorf("device: plan: alloc: negative length %d", n)
	}
	if dt > Uint8 {
		return nil, fmt.Errorf("device: plan: alloc: unknown dtype %d", dt)
	}
	p.live += int64(n) * int64(dt.Size())
	p.peak = max(p.peak, p.live)
	p.allocs++
	return &planned{dt: dt, n: n}, nil
}

// Free implements Backend: the buffer's bytes stop counting (views count nothing).
func (p *Planner) Free(b Buffer) {
	x, ok := b.(*planned)
	if !ok || x.view || x.freed {
		return
	}
	x.freed = true
	p.live -= int64(x.n) * int64(x.dt.Size())
}

// View implements Backend.
func (p *Planner) View(b Buffer, off, n int) (Buffer, error) {
	if err := CheckView(b, off, n); err != nil {
		return nil, err
	}
	return &planned{dt: b.DType(), n: n, view: true}, nil
}

// WriteFloat32 implements Backend: nothing is written.
func (p *Planner) WriteFloat32(dst Buffer, src []float32) error {
	return CheckTransfer("write", dst, Float32, len(src))
}

// WriteInt32 implements Backend: nothing is written.
func (p *Planner) WriteInt32(dst Buffer, src []int32) error {
	return CheckTransfer("write", dst, Int32, len(src))
}

// WriteUint8 implements Backend: nothing is written.
func (p *Planner) WriteUint8(dst Buffer, src []uint8) error {
	return CheckTransfer("write", dst, Uint8, len(src))
}

// ReadFloat32 implements Backend: dst becomes zeros.
func (p *Planner) ReadFloat32(dst []float32, src Buffer) error {
	if err := CheckTransfer("read", src, Float32, len(dst)); err != nil {
		return err
	}
	clear(dst)
	return nil
}

// ReadInt32 implements Backend: dst becomes zeros.
func (p *Planner) ReadInt32(dst []int32, src Buffer) error {
	if err := CheckTransfer("read", src, Int32, len(dst)); err != nil {
		return err
	}
	clear(dst)
	return nil
}

// Step implements Backend: it calls fn.
func (p *Planner) Step(_ string, fn func() error) error { return fn() }

// The memory and op methods below do nothing.

func (p *Planner) Copy(dst, src Buffer) error                     { return nil }
func (p *Planner) Fill(dst Buffer, v float32) error               { return nil }
func (p *Planner) Sync() error                                    { return nil }
func (p *Planner) Gemm(g GemmArgs) error                          { return nil }
func (p *Planner) Unary(op UnaryOp, x, y Buffer, a float32) error { return nil }
func (p *Planner) UnaryBackward(op UnaryOp, x, y, dy, dx Buffer, a float32) error {
	return nil
}
func (p *Planner) Softmax(x, y Buffer, rows, cols int) error                  { return nil }
func (p *Planner) SoftmaxBackward(y, dy, dx Buffer, rows, cols int) error     { return nil }
func (p *Planner) CausalSoftmax(x, y Buffer, batch, seq int, s float32) error { return nil }
func (p *Planner) Binary(op BinaryOp, a, b, c Buffer) error                   { return nil }
func (p *Planner) Broadcast(op BinaryOp, x, v, y Buffer, s Shape3) error      { return nil }
func (p *Planner) Axpby(alpha float32, x Buffer, beta float32, y Buffer) error {
	return nil
}
func (p *Planner) Reduce(op ReduceOp, x, y Buffer, s Shape3) error          { return nil }
func (p *Planner) Loss(a LossArgs) error                                    { return nil }
func (p *Planner) LossBackward(a LossArgs) error                            { return nil }
func (p *Planner) Update(op OptOp, h Hyper, param, grad, m, v Buffer) error { return nil }
func (p *Planner) AddRows(set, ids Buffer) error                            { return nil }
func (p *Planner) UpdateRows(op OptOp, h Hyper, param, grad, m, v, set Buffer, rowLen int) error {
	return nil
}
func (p *Planner) ClearRows(grad, set Buffer, rowLen int) error                     { return nil }
func (p *Planner) DropoutMask(mask Buffer, rate float32, seed, offset uint64) error { return nil }
func (p *Planner) Gather(dst, src, idx Buffer, rowLen int, scale float32) error     { return nil }
func (p *Planner) ScatterAdd(dst, src, idx Buffer, rowLen int) error                { return nil }
func (p *Planner) Permute(x, y Buffer, a PermuteArgs) error                         { return nil }
func (p *Planner) Conv(a ConvArgs) error                                            { return nil }
func (p *Planner) ConvBackward(a ConvArgs) error                                    { return nil }
func (p *Planner) Im2Col(x, col Buffer, g ConvGeom) error                           { return nil }
func (p *Planner) Col2Im(col, dx Buffer, g ConvGeom) error                          { return nil }
func (p *Planner) Pool(op PoolOp, x, y Buffer, g ConvGeom) error                    { return nil }
func (p *Planner) PoolBackward(op PoolOp, x, y, dy, dx Buffer, g ConvGeom) error    { return nil }
func (p *Planner) BatchNorm(a BatchNormArgs) error                                  { return nil }
func (p *Planner) BatchNormBackward(a BatchNormArgs) error                          { return nil }
func (p *Planner) LayerNorm(a LayerNormArgs) error                                  { return nil }
func (p *Planner) LayerNormBackward(a LayerNormArgs) error                          { return nil }
func (p *Planner) RNNCell(a RNNCellArgs) error                                      { return nil }
func (p *Planner) RNNCellBackward(a RNNCellArgs) error                              { return nil }
func (p *Planner) Augment(x, y Buffer, a AugmentArgs) error                         { return nil }
