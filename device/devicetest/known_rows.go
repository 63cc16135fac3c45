package devicetest

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/device"
)

// Known answers of the sparse optimizer ops (AddRows, UpdateRows, ClearRows), worked out
// by hand from device.OptOp's formulas in the comments, and the dense equivalence: a
// set holding every row makes UpdateRows the same step as Update.

func knownRows(t *testing.T, b device.Backend) {
	t.Run("add rows", func(t *testing.T) { knownAddRows(t, dev{t, b}) })
	t.Run("lazy adam", func(t *testing.T) { knownLazyAdam(t, dev{t, b}) })
	t.Run("update rows sgd and momentum", func(t *testing.T) { knownUpdateRowsMomentum(t, dev{t, b}) })
	t.Run("clear rows", func(t *testing.T) { knownClearRows(t, dev{t, b}) })
	t.Run("dense equivalence", func(t *testing.T) { denseEquivalence(t, dev{t, b}) })
}

// rowSet is an empty row set of rows rows.
func (d dev) rowSet(rows int) device.Buffer {
	d.t.Helper()
	return d.i32(make([]int32, device.RowSetLen(rows))...)
}

func knownAddRows(t *testing.T, d dev) {
	// A table of 4 rows; ids [2 0 2 3 0]: the set is 2, 0, 3 in order of first
	// appearance (count 3, marks of rows 0, 2, 3). Then [1 3 1]: 1 is new, 3 is in.
	set := d.rowSet(4)
	require.NoError(t, d.b.AddRows(set, d.i32(2, 0, 2, 3, 0)))
	require.Equal(t, []int32{3, 2, 0, 3, 0, 1, 0, 1, 1}, d.readI(set), "add rows [2 0 2 3 0]")
	require.NoError(t, d.b.AddRows(set, d.i32(1, 3, 1)))
	require.Equal(t, []int32{4, 2, 0, 3, 1, 1, 1, 1, 1}, d.readI(set), "add rows [1 3 1]")
	// No ids: nothing changes.
	require.NoError(t, d.b.AddRows(set, d.i32()))
	require.Equal(t, []int32{4, 2, 0, 3, 1, 1, 1, 1, 1}, d.readI(set), "add rows []")
	// More ids than a block of threads, with repeats across blocks: ids r%37 for r < 600
	// over a table of 50 rows: the set is 0…36 in order.
	set = d.rowSet(50)
	ids := make([]int32, 600)
	for r := range ids {
		ids[r] = int32(r % 37)
	}
	require.NoError(t, d.b.AddRows(set, d.i32(ids...)))
	got := d.readI(set)
	require.Equal(t, int32(37), got[0], "count after 600 ids of 37 rows")
	for k := range 37 {
		require.Equal(t, int32(k), got[1+k], "row %d of the set", k)
	}
	for r := range 50 {
		want := int32(0)
		if r < 37 {
			want = 1
		}
		require.Equal(t, want, got[1+50+r], "mark of row %d", r)
	}
}

func knownLazyAdam(t *testing.T, d dev) {
	// A table of 3 rows of 2, LR 0.1, β1 0.9, β2 0.999, ε 1e-7, the step size
	// α_t = 0.1·√(1-0.999^t)/(1-0.9^t) of the caller's step t.
	//
	// Step 1, set {2, 0}: grad rows g0 = [0.5 -0.25], g1 = [7 7] (not in the set: not
	// read, left as it is), g2 = [0 1]. Row 0: m = 0.1·g0, v = 0.001·g0², so
	// α1·m/(√v+ε) = 0.1·sign(g0) up to ε: p0 = [1 -1] → [0.90000063 -0.90000126]. Row 2:
	// the zero gradient leaves element 0 (m = v = 0, 0/ε); element 1 → -3.09999968.
	// Row 1 does not move.
	//
	// Step 2, set {1}: row 1's first step, but at the caller's step 2 (PyTorch's
	// SparseAdam and LazyAdam count steps per parameter, not per row): m = 0.7,
	// v = 0.049, α2 = 0.1·√0.001999/0.19 = 0.0235316725; p1 -= α2·0.7/(√0.049+ε)
	// = 0.0744136487: [0.5 2] → [0.4255863513 1.9255863513].
	//
	// Step 3, set {0} with g0 again: rows 0's moments were not decayed at step 2:
	// m = 0.9·0.05 + 0.05 = 0.095, v = 0.999·0.00025 + 0.00025 = 0.00049975 (element 0);
	// α3 = 0.1·√(1-0.999³)/(1-0.9³): p0 → [0.8141547609 -0.8141557773].
	p := d.f32(1, -1, 0.5, 2, 3, -3)
	g := d.f32(0.5, -0.25, 7, 7, 0, 1)
	m, v := d.f32(0, 0, 0, 0, 0, 0), d.f32(0, 0, 0, 0, 0, 0)
	set := d.rowSet(3)
	h := device.Hyper{LR: 0.1, Beta1: 0.9, Beta2: 0.999, Eps: 1e-7}
	tl := Tol{Atol: 1e-6, Rtol: 1e-6}

	require.NoError(t, d.b.AddRows(set, d.i32(2, 0, 2)))
	h.Step = 1
	require.NoError(t, d.b.UpdateRows(device.Adam, h, p, g, m, v, set, 2))
	d.close(tl, "lazy adam step 1 param", "3×2", []float32{0.9000006325, -0.9000012649, 0.5, 2, 3, -3.0999996838}, p)
	d.close(exact, "lazy adam step 1 grad (rows of the set zeroed)", "3×2", []float32{0, 0, 7, 7, 0, 0}, g)
	d.close(tl, "lazy adam step 1 m", "3×2", []float32{0.05, -0.025, 0, 0, 0, 0.1}, m)
	require.Equal(t, make([]int32, device.RowSetLen(3)), d.readI(set), "the set is empty after the update")

	require.NoError(t, d.b.AddRows(set, d.i32(1)))
	h.Step = 2
	require.NoError(t, d.b.UpdateRows(device.Adam, h, p, g, m, v, set, 2))
	d.close(tl, "lazy adam step 2 param", "3×2", []float32{0.9000006325, -0.9000012649, 0.4255863513, 1.9255863513, 3, -3.0999996838}, p)
	d.close(tl, "lazy adam step 2 v (rows 0 and 2 not decayed)", "3×2", []float32{0.00025, 0.0000625, 0.049, 0.049, 0, 0.001}, v)

	d.write(g, []float32{0.5, -0.25, 0, 0, 0, 0})
	require.NoError(t, d.b.AddRows(set, d.i32(0)))
	h.Step = 3
	require.NoError(t, d.b.UpdateRows(device.Adam, h, p, g, m, v, set, 2))
	d.close(tl, "lazy adam step 3 param", "3×2", []float32{0.8141547609, -0.8141557773, 0.4255863513, 1.9255863513, 3, -3.0999996838}, p)
	d.close(tl, "lazy adam step 3 m", "3×2", []float32{0.095, -0.0475, 0.7, 0.7, 0, 0.1}, m)
	d.close(tl, "lazy adam step 3 v", "3×2", []float32{0.00049975, 0.0001249375, 0.049, 0.049, 0, 0.001}, v)

	// AdamW decays only the rows of the set: WeightDecay 0.5, LR 0.1, row 1 of [1 1],
	// [2 2] with g = [0.5 0.5] at step 1: 0.95·2 - 0.1 = 1.8 (up to ε); row 0 stays 1.
	p, g = d.f32(1, 1, 2, 2), d.f32(9, 9, 0.5, 0.5)
	m, v, set = d.f32(0, 0, 0, 0), d.f32(0, 0, 0, 0), d.rowSet(2)
	require.NoError(t, d.b.AddRows(set, d.i32(1)))
	require.NoError(t, d.b.UpdateRows(device.AdamW, device.Hyper{LR: 0.1, Beta1: 0.9, Beta2: 0.999, Eps: 1e-7, WeightDecay: 0.5, Step: 1}, p, g, m, v, set, 2))
	d.close(Tol{Atol: 1e-5}, "lazy adamw", "2×2", []float32{1, 1, 1.8, 1.8}, p)
	d.close(exact, "lazy adamw grad", "2×2", []float32{9, 9, 0, 0}, g)
}

func knownUpdateRowsMomentum(t *testing.T, d dev) {
	// Rows of one element, p = [1 2 3 4], g = [1 1 1 1], LR 0.1.
	// SGD on the set {3, 1}: p = [1 1.9 3 3.9].
	p, g, set := d.f32(1, 2, 3, 4), d.f32(1, 1, 1, 1), d.rowSet(4)
	require.NoError(t, d.b.AddRows(set, d.i32(3, 1)))
	require.NoError(t, d.b.UpdateRows(device.SGD, device.Hyper{LR: 0.1}, p, g, nil, nil, set, 1))
	d.close(near, "sgd rows", "[4]", []float32{1, 1.9, 3, 3.9}, p)
	d.close(exact, "sgd rows grad", "[4]", []float32{1, 0, 1, 0}, g)
	// Momentum 0.9 on the set {0} twice, with g0 = 1 each time, m0 = -0.1 then
	// 0.9·-0.1 - 0.1 = -0.19: p0 = 1 → 0.9 → 0.71; row 2's gradient of 1 is not read and
	// its m stays 0 (a dense step would have made it -0.1).
	p, g, set = d.f32(1, 2, 3, 4), d.f32(1, 1, 1, 1), d.rowSet(4)
	m := d.f32(0, 0, 0, 0)
	for range 2 {
		d.write(g, []float32{1, 1, 1, 1})
		require.NoError(t, d.b.AddRows(set, d.i32(0)))
		require.NoError(t, d.b.UpdateRows(device.Momentum, device.Hyper{LR: 0.1, Momentum: 0.9}, p, g, m, nil, set, 1))
	}
	d.close(near, "momentum rows", "[4]", []float32{0.71, 2, 3, 4}, p)
	d.close(near, "momentum rows m", "[4]", []float32{-0.19, 0, 0, 0}, m)
}

func knownClearRows(t *testing.T, d dev) {
	// grad rows [1 2] [3 4] [5 6]; the set {2}: row 2 zeroed, the set emptied.
	g, set := d.f32(1, 2, 3, 4, 5, 6), d.rowSet(3)
	require.NoError(t, d.b.AddRows(set, d.i32(2, 2)))
	require.NoError(t, d.b.ClearRows(g, set, 2))
	d.close(exact, "clear rows", "3×2", []float32{1, 2, 3, 4, 0, 0}, g)
	require.Equal(t, make([]int32, device.RowSetLen(3)), d.readI(set), "the set is empty after ClearRows")
	// An empty set clears nothing.
	require.NoError(t, d.b.ClearRows(g, set, 2))
	d.close(exact, "clear rows of an empty set", "3×2", []float32{1, 2, 3, 4, 0, 0}, g)
}

// denseEquivalence: when every row is in the set, three UpdateRows steps equal three
// Update steps of the same op (within the "update" tolerance: the same formula, but a
// backend may round a row's elements as it rounds a vector's tail).
func denseEquivalence(t *testing.T, d dev) {
	const rows, rowLen = 7, 5
	n := rows * rowLen
	rng := newRand(7)
	for _, c := range []struct {
		op device.OptOp
		h  device.Hyper
	}{
		{device.SGD, device.Hyper{LR: 0.05}},
		{device.Momentum, device.Hyper{LR: 0.05, Momentum: 0.9, Nesterov: true}},
		{device.Adam, device.Hyper{LR: 1e-2, Beta1: 0.9, Beta2: 0.999, Eps: 1e-7}},
		{device.AdamW, device.Hyper{LR: 1e-2, Beta1: 0.9, Beta2: 0.999, Eps: 1e-7, WeightDecay: 0.1}},
	} {
		p0 := uniform(rng, n, -1, 1)
		pd, ps := d.f32(p0...), d.f32(p0...)
		md, ms, vd, vs := d.f32(make([]float32, n)...), d.f32(make([]float32, n)...), d.f32(make([]float32, n)...), d.f32(make([]float32, n)...)
		set := d.rowSet(rows)
		for step := 1; step <= 3; step++ {
			g0 := uniform(rng, n, -1, 1)
			gd, gs := d.f32(g0...), d.f32(g0...)
			h := c.h
			h.Step = step
			mm, vv, mms, vvs := md, vd, ms, vs
			if c.op == device.SGD {
				mm, mms = nil, nil
			}
			if c.op == device.SGD || c.op == device.Momentum {
				vv, vvs = nil, nil
			}
			require.NoError(t, d.b.Update(c.op, h, pd, gd, mm, vv))
			// every row, in a scrambled order with repeats
			require.NoError(t, d.b.AddRows(set, d.i32(4, 1, 6, 1, 0, 3, 5, 2, 4)))
			require.NoError(t, d.b.UpdateRows(c.op, h, ps, gs, mms, vvs, set, rowLen))
			d.close(exact, fmt.Sprintf("%s rows: gradient zeroed at step %d", c.op, step), "7×5", make([]float32, n), gs)
		}
		tl := tol("update")
		AssertClose(t, c.op.String()+" rows vs dense: param", "7×5", d.read(pd), d.read(ps), tl.Atol, tl.Rtol)
		if c.op != device.SGD {
			AssertClose(t, c.op.String()+" rows vs dense: m", "7×5", d.read(md), d.read(ms), tl.Atol, tl.Rtol)
		}
	}
}
