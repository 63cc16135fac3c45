package cpu

import (
	"fmt"
	"math"

	"github.com/gputrain/gputrain/device"
)

// Update implements device.Backend: one optimizer step on param from grad with Keras'
// formulas (see device.OptOp), updating the state m (Momentum, Adam, AdamW) and v (Adam,
// AdamW). Errors: those of device.CheckUpdate, or a buffer of another backend.
func (b *Backend) Update(op device.OptOp, h device.Hyper, param, grad, m, v device.Buffer) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckUpdate(op, h, param, grad, m, v); err != nil {
		return err
	}
	if err := own(param, grad, m, v); err != nil {
		return err
	}
	t := &b.kernels.update
	*t = updateTask{vec: b.kernels.vec, op: op, h: h, p: f32(param), g: f32(grad), m: f32(m), v: f32(v)}
	if op == device.Adam || op == device.AdamW {
		t.alpha = h.AdamStepSize()
		t.adam = adamConsts{b1: h.Beta1, c1: 1 - h.Beta1, b2: h.Beta2, c2: 1 - h.Beta2, alpha: t.alpha, eps: h.Eps}
		if op == device.AdamW {
			t.adam.decay = -(h.LR * h.WeightDecay)
		}
	}
	if b.reference {
		updateRef(t)
	} else {
		b.pool.parallel(parts(len(t.p), grain), t)
	}
	*t = updateTask{}
	return nil
}

// updateTask holds one Update call; alpha is Adam's bias-corrected step size, adam the
// scalars of the Adam primitive (kept here so that passing them allocates nothing).
type updateTask struct {
	vec        *vecVariant
	op         device.OptOp
	h          device.Hyper
	alpha      float32
	adam       adamConsts
	p, g, m, v []float32
}

func sqrtf(x float32) float32 { return float32(math.Sqrt(float64(x))) }

// updateRef is the reference step, element by element; p, g, m, v have n elements.
func updateRef(t *updateTask) { updateRefSlices(t.op, t.h, t.alpha, t.p, t.g, t.m, t.v) }

// updateRefSlices is updateRef's loop over p, g and the state m, v (nil where the op
// keeps none); alpha is Adam's bias-corrected step size.
func updateRefSlices(op device.OptOp, h device.Hyper, alpha float32, p, g, m, v []float32) {
	for i := range p {
		gi := g[i]
		switch op {
		case device.SGD:
			p[i] -= h.LR * gi
		case device.Momentum:
			m[i] = h.Momentum*m[i] - h.LR*gi
			if h.Nesterov {
				p[i] += h.Momentum*m[i] - h.LR*gi
			} else {
				p[i] += m[i]
			}
		case device.Adam, device.AdamW:
			if op == device.AdamW {
				p[i] -= h.LR * h.WeightDecay * p[i]
			}
			m[i] = h.Beta1*m[i] + (1-h.Beta1)*gi
			v[i] = h.Beta2*v[i] + (1-h.Beta2)*gi*gi
			p[i] -= alpha * m[i] / (sqrtf(v[i]) + h.Eps)
		}
	}
}

// run updates a range of elements with the vector primitives: one pass over p, g, m, v.
func (t *updateTask) run(part, parts int) {
	lo, hi := split(len(t.p), part, parts, 16)
	if lo >= hi {
		return
	}
	p, g := t.p[lo:hi], t.g[lo:hi]
	h := t.h
	switch t.op {
	case device.SGD:
		t.vec.axpby(p, g, -h.LR, 1) // p = p - LR*g
	case device.Momentum:
		t.vec.momentum(p, g, t.m[lo:hi], h.Momentum, h.LR, h.Nesterov)
	case device.Adam, device.AdamW:
		t.vec.adam(p, g, t.m[lo:hi], t.v[lo:hi], &t.adam)
	}
}

// rowSet views a row set buffer (device.RowSetLen): its count, list and marks.
type rowSet struct {
	s          []int32
	list, mark []int32
}

func viewRowSet(set device.Buffer) rowSet {
	s := i32(set)
	rows := (len(s) - 1) / 2
	return rowSet{s: s, list: s[1 : 1+rows], mark: s[1+rows:]}
}

// members returns the rows in the set, checked: a count or a listed row out of range
// (a buffer that is no row set) is an error naming op.
func (rs rowSet) members(op string) ([]int32, error) {
	n := int(rs.s[0])
	if n < 0 || n > len(rs.list) {
		return nil, fmt.Errorf("cpu: %s: the set holds %d rows, outside [0, %d] (not a row set made by AddRows?)", op, n, len(rs.list))
	}
	for k, r := range rs.list[:n] {
		if r < 0 || int(r) >= len(rs.mark) {
			return nil, fmt.Errorf("cpu: %s: the set's row %d is %d, outside the %d rows of the table", op, k, r, len(rs.mark))
		}
	}
	return rs.list[:n], nil
}

// empty zeroes the set, whose members are rows: its count, list and marks.
func (rs rowSet) empty(rows []int32) {
	for _, r := range rows {
		rs.mark[r] = 0
	}
	clear(rows)
	rs.s[0] = 0
}

// AddRows implements device.Backend: appends each id not yet in the row set, in the
// order of first appearance (one pass over ids, a mark per row). Errors: those of
// device.CheckAddRows, a buffer of another backend, or an id outside the table (naming
// its position and value; nothing is changed).
func (b *Backend) AddRows(set, ids device.Buffer) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckAddRows(set, ids); err != nil {
		return err
	}
	if err := own(set, ids); err != nil {
		return err
	}
	rs := viewRowSet(set)
	if _, err := rs.members("add rows"); err != nil {
		return err
	}
	id := i32(ids)
	for k, r := range id {
		if r < 0 || int(r) >= len(rs.mark) {
			return fmt.Errorf("cpu: add rows: ids[%d] = %d is outside the %d rows of the table", k, r, len(rs.mark))
		}
	}
	n := rs.s[0]
	for _, r := range id {
		if rs.mark[r] == 0 {
			rs.mark[r] = 1
			rs.list[n] = r
			n++
		}
	}
	rs.s[0] = n
	return nil
}

// UpdateRows implements device.Backend: the optimizer step of Update on the rows of the
// set only, each row's gradient zeroed after its step, then the set emptied (see
// device.Backend.UpdateRows for the lazy semantics). The reference runs updateRef on
// each row; the tuned form splits the set's rows over the worker pool and runs the
// vector primitives on each row. Errors: those of device.CheckUpdateRows, a buffer of
// another backend, or a set that is no row set.
func (b *Backend) UpdateRows(op device.OptOp, h device.Hyper, param, grad, m, v, set device.Buffer, rowLen int) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckUpdateRows(op, h, param, grad, m, v, set, rowLen); err != nil {
		return err
	}
	if err := own(param, grad, m, v, set); err != nil {
		return err
	}
	rs := viewRowSet(set)
	rows, err := rs.members("update rows")
	if err != nil {
		return err
	}
	t := &b.kernels.updateRows
	t.u = updateTask{vec: b.kernels.vec, op: op, h: h}
	if op == device.Adam || op == device.AdamW {
		t.u.alpha = h.AdamStepSize()
		t.u.adam = adamConsts{b1: h.Beta1, c1: 1 - h.Beta1, b2: h.Beta2, c2: 1 - h.Beta2, alpha: t.u.alpha, eps: h.Eps}
		if op == device.AdamW {
			t.u.adam.decay = -(h.LR * h.WeightDecay)
		}
	}
	t.p, t.g, t.m, t.v, t.rows, t.rowLen, t.reference = f32(param), f32(grad), f32(m), f32(v), rows, rowLen, b.reference
	if b.reference {
		t.run(0, 1)
	} else {
		b.pool.parallel(parts(len(rows)*rowLen, grain), t)
	}
	*t = updateRowsTask{}
	rs.empty(rows)
	return nil
}

// updateRowsTask holds one UpdateRows call: the step of Update (u) applied to each row
// of rows in turn. Part p takes a range of the rows; no two parts touch one row.
type updateRowsTask struct {
	u          updateTask
	p, g, m, v []float32
	rows       []int32
	rowLen     int
	reference  bool
}

func (t *updateRowsTask) run(part, parts int) {
	lo, hi := split(len(t.rows), part, parts, 1)
	n, u := t.rowLen, &t.u
	for _, r := range t.rows[lo:hi] {
		a, z := int(r)*n, int(r+1)*n
		p, g := t.p[a:z], t.g[a:z]
		var m, v []float32
		if t.m != nil {
			m = t.m[a:z]
		}
		if t.v != nil {
			v = t.v[a:z]
		}
		switch {
		case t.reference:
			updateRefSlices(u.op, u.h, u.alpha, p, g, m, v)
		case u.op == device.SGD:
			u.vec.axpby(p, g, -u.h.LR, 1) // p = p - LR*g
		case u.op == device.Momentum:
			u.vec.momentum(p, g, m, u.h.Momentum, u.h.LR, u.h.Nesterov)
		default:
			u.vec.adam(p, g, m, v, &u.adam)
		}
		clear(g)
	}
}

// ClearRows implements device.Backend: zeroes grad's rows that the set lists and
// empties the set. Errors: those of device.CheckClearRows, a buffer of another backend,
// or a set that is no row set.
func (b *Backend) ClearRows(grad, set device.Buffer, rowLen int) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckClearRows(grad, set, rowLen); err != nil {
		return err
	}
	if err := own(grad, set); err != nil {
		return err
	}
	rs := viewRowSet(set)
	rows, err := rs.members("clear rows")
	if err != nil {
		return err
	}
	g := f32(grad)
	for _, r := range rows {
		clear(g[int(r)*rowLen : int(r+1)*rowLen])
	}
	rs.empty(rows)
	return nil
}
