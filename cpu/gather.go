package cpu

import (
	"fmt"

	"github.com/gputrain/gputrain/device"
)

// Gather implements device.Backend: dst[r,:] = scale * src[idx[r],:] for r < idx.Len(),
// rows of rowLen elements; float32 or uint8 src into float32 dst (uint8 widened, then
// scaled), or int32 src into int32 dst (scale ignored). Errors: those of
// device.CheckGather, a buffer of another backend, or an index outside src's rows
// (naming its position and value).
func (b *Backend) Gather(dst, src, idx device.Buffer, rowLen int, scale float32) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckGather(dst, src, idx, rowLen); err != nil {
		return err
	}
	if err := own(dst, src, idx); err != nil {
		return err
	}
	t := &b.kernels.gather
	*t = gatherTask{vec: b.kernels.vec, idx: i32(idx), rowLen: rowLen, scale: scale, kind: src.DType()}
	s, d := src.(*buffer), dst.(*buffer)
	t.srcF, t.srcU, t.srcI, t.dstF, t.dstI = s.f32, s.u8, s.i32, d.f32, d.i32
	rows := src.Len() / rowLen
	for r, i := range t.idx {
		if i < 0 || int(i) >= rows {
			*t = gatherTask{}
			return fmt.Errorf("cpu: gather: idx[%d] = %d is outside the %d rows of src", r, i, rows)
		}
	}
	if b.reference {
		gatherRef(t)
	} else {
		b.pool.parallel(parts(dst.Len(), grainCopy), t)
	}
	*t = gatherTask{}
	return nil
}

// gatherTask holds a Gather call; kind is src's element type, which says which of srcF,
// srcU, srcI is used (and dstI for int32, dstF otherwise).
type gatherTask struct {
	vec        *vecVariant
	kind       device.DType
	idx        []int32
	rowLen     int
	scale      float32
	srcF, dstF []float32
	srcU       []uint8
	srcI, dstI []int32
}

// gatherRef: dst (len(idx)×rowLen) row r = scale * src row idx[r].
func gatherRef(t *gatherTask) {
	for r, i := range t.idx {
		for c := range t.rowLen {
			d, s := r*t.rowLen+c, int(i)*t.rowLen+c
			switch t.kind {
			case device.Int32:
				t.dstI[d] = t.srcI[s]
			case device.Uint8:
				t.dstF[d] = t.scale * float32(t.srcU[s])
			default:
				t.dstF[d] = t.scale * t.srcF[s]
			}
		}
	}
}

// run copies a range of rows per part, widening and scaling with the vector primitives.
func (t *gatherTask) run(part, parts int) {
	lo, hi := split(len(t.idx), part, parts, 1)
	n := t.rowLen
	for r := lo; r < hi; r++ {
		s := int(t.idx[r]) * n
		switch t.kind {
		case device.Int32:
			copy(t.dstI[r*n:(r+1)*n], t.srcI[s:s+n])
		case device.Uint8:
			t.vec.widenU8(t.dstF[r*n:(r+1)*n], t.srcU[s:s+n], t.scale)
		default:
			t.vec.axpby(t.dstF[r*n:(r+1)*n], t.srcF[s:s+n], t.scale, 0)
		}
	}
}

// ScatterAdd implements device.Backend: dst[idx[r],:] += src[r,:] for r < idx.Len(), rows
// of rowLen float32 elements (Gather's adjoint: an embedding table's gradient). Each row
// of dst receives its contributions in increasing r, in every form and for any thread
// count, so the results are the same bits. Errors: those of device.CheckScatterAdd, a
// buffer of another backend, or an index outside dst's rows (naming its position and
// value; nothing is written).
func (b *Backend) ScatterAdd(dst, src, idx device.Buffer, rowLen int) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckScatterAdd(dst, src, idx, rowLen); err != nil {
		return err
	}
	if err := own(dst, src, idx); err != nil {
		return err
	}
	rows := dst.Len() / rowLen
	ids := i32(idx)
	for r, i := range ids {
		if i < 0 || int(i) >= rows {
			return fmt.Errorf("cpu: scatter add: idx[%d] = %d is outside the %d rows of dst", r, i, rows)
		}
	}
	if b.reference {
		scatterAddRef(f32(dst), f32(src), ids, rowLen)
		return nil
	}
	t := &b.kernels.scatter
	*t = scatterTask{vec: b.kernels.vec, dst: f32(dst), src: f32(src), idx: ids, rowLen: rowLen}
	b.pool.parallel(min(rows, parts(src.Len(), grainCopy)), t)
	*t = scatterTask{}
	return nil
}

// scatterAddRef: dst (rows×rowLen) row idx[r] += src (len(idx)×rowLen) row r, r in order.
func scatterAddRef(dst, src []float32, idx []int32, rowLen int) {
	for r, i := range idx {
		for c := range rowLen {
			dst[int(i)*rowLen+c] += src[r*rowLen+c]
		}
	}
}

// scatterTask holds a ScatterAdd call. Part p owns a range of dst's rows and walks the
// whole of idx in order, adding the src rows that land in its range: no two parts write
// the same row, and each row's sum runs in increasing r, as in scatterAddRef.
type scatterTask struct {
	vec      *vecVariant
	dst, src []float32
	idx      []int32
	rowLen   int
}

func (t *scatterTask) run(part, parts int) {
	n := t.rowLen
	lo, hi := split(len(t.dst)/n, part, parts, 1)
	for r, i := range t.idx {
		if d := int(i); d >= lo && d < hi {
			// y += 1*x rounds as y + x: the same bits as the reference loop.
			t.vec.axpby(t.dst[d*n:(d+1)*n], t.src[r*n:(r+1)*n], 1, 1)
		}
	}
}
