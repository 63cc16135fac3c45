package cpu

import "github.com/gputrain/gputrain/device"

// Binary implements device.Backend: c = a op b elementwise over float32 buffers of equal
// length; c may alias a or b. Errors: those of device.CheckBinary, or a buffer of
// another backend.
func (b *Backend) Binary(op device.BinaryOp, a, x, c device.Buffer) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckBinary(op, a, x, c); err != nil {
		return err
	}
	if err := own(a, x, c); err != nil {
		return err
	}
	as, xs, cs := f32(a), f32(x), f32(c)
	if b.reference {
		binaryRef(op, as, xs, cs)
		return nil
	}
	t := &b.kernels.binary
	*t = binaryTask{vec: b.kernels.vec, op: op, a: as, b: xs, c: cs}
	b.pool.parallel(parts(len(as), grainCopy), t)
	*t = binaryTask{}
	return nil
}

// Broadcast implements device.Backend: y[o,m,i] = x[o,m,i] op v[m] for x and y of shape s
// and v of s.Mid elements; y may alias x. Errors: those of device.CheckBroadcast, or a
// buffer of another backend.
func (b *Backend) Broadcast(op device.BinaryOp, x, v, y device.Buffer, s device.Shape3) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckBroadcast(op, x, v, y, s); err != nil {
		return err
	}
	if err := own(x, v, y); err != nil {
		return err
	}
	if b.reference {
		broadcastRef(op, f32(x), f32(v), f32(y), s)
		return nil
	}
	t := &b.kernels.broadcast
	*t = broadcastTask{vec: b.kernels.vec, op: op, x: f32(x), v: f32(v), y: f32(y), s: s}
	b.pool.parallel(parts(s.Len(), grainCopy), t)
	*t = broadcastTask{}
	return nil
}

// Axpby implements device.Backend: y = alpha*x + beta*y over float32 buffers of equal
// length; with beta == 0, y is not read. Errors: those of device.CheckAxpby, or a buffer
// of another backend.
func (b *Backend) Axpby(alpha float32, x device.Buffer, beta float32, y device.Buffer) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckAxpby(x, y); err != nil {
		return err
	}
	if err := own(x, y); err != nil {
		return err
	}
	if b.reference {
		axpbyRef(alpha, f32(x), beta, f32(y))
		return nil
	}
	t := &b.kernels.axpby
	*t = axpbyTask{vec: b.kernels.vec, alpha: alpha, beta: beta, x: f32(x), y: f32(y)}
	b.pool.parallel(parts(len(t.x), grainCopy), t)
	*t = axpbyTask{}
	return nil
}

// binaryRef: a, b, c of n elements; c[i] = a[i] op b[i].
func binaryRef(op device.BinaryOp, a, b, c []float32) {
	for i := range a {
		c[i] = apply(op, a[i], b[i])
	}
}

func apply(op device.BinaryOp, a, b float32) float32 {
	switch op {
	case device.Add:
		return a + b
	case device.Sub:
		return a - b
	case device.Mul:
		return a * b
	}
	return a / b
}

// broadcastRef: x, y of (s.Outer, s.Mid, s.Inner), v of s.Mid; y[o,m,i] = x[o,m,i] op v[m].
func broadcastRef(op device.BinaryOp, x, v, y []float32, s device.Shape3) {
	for o := range s.Outer {
		for m := range s.Mid {
			for i := range s.Inner {
				j := (o*s.Mid+m)*s.Inner + i
				y[j] = apply(op, x[j], v[m])
			}
		}
	}
}

// axpbyRef: x, y of n elements; y = alpha*x + beta*y, y not read when beta == 0.
func axpbyRef(alpha float32, x []float32, beta float32, y []float32) {
	for i := range x {
		if beta == 0 {
			y[i] = alpha * x[i]
		} else {
			y[i] = alpha*x[i] + beta*y[i]
		}
	}
}

// binaryTask runs Binary over a range of elements per part.
type binaryTask struct {
	vec     *vecVariant
	op      device.BinaryOp
	a, b, c []float32
}

func (t *binaryTask) run(part, parts int) {
	lo, hi := split(len(t.a), part, parts, 16)
	t.vec.binary(t.op, t.c[lo:hi], t.a[lo:hi], t.b[lo:hi])
}

// binaryScalar is y = x op s.
func binaryScalar(op device.BinaryOp, x []float32, s float32, y []float32) {
	y = y[:len(x)]
	switch op {
	case device.Add:
		for i, v := range x {
			y[i] = v + s
		}
	case device.Sub:
		for i, v := range x {
			y[i] = v - s
		}
	case device.Mul:
		for i, v := range x {
			y[i] = v * s
		}
	case device.Div:
		for i, v := range x {
			y[i] = v / s
		}
	}
}

// broadcastTask runs Broadcast over a range of the Outer*Mid rows of Inner elements per
// part; with Inner == 1 over a range of the Outer rows of Mid elements (a bias added to
// each row of a matrix).
type broadcastTask struct {
	vec     *vecVariant
	op      device.BinaryOp
	x, v, y []float32
	s       device.Shape3
}

func (t *broadcastTask) run(part, parts int) {
	s := t.s
	if s.Inner == 1 {
		lo, hi := split(s.Outer, part, parts, 1)
		for o := lo; o < hi; o++ {
			row := o * s.Mid
			t.vec.binary(t.op, t.y[row:row+s.Mid], t.x[row:row+s.Mid], t.v)
		}
		return
	}
	lo, hi := split(s.Outer*s.Mid, part, parts, 1)
	for om := lo; om < hi; om++ {
		row := om * s.Inner
		binaryScalar(t.op, t.x[row:row+s.Inner], t.v[om%s.Mid], t.y[row:row+s.Inner])
	}
}

// axpbyTask runs Axpby over a range of elements per part.
type axpbyTask struct {
	vec         *vecVariant
	alpha, beta float32
	x, y        []float32
}

func (t *axpbyTask) run(part, parts int) {
	lo, hi := split(len(t.x), part, parts, 16)
	t.vec.axpby(t.y[lo:hi], t.x[lo:hi], t.alpha, t.beta)
}
