package device

import (
	"fmt"
	"math"
	"slices"
)

// The Check functions validate an op's arguments before a backend runs it. Every backend
// calls them first, so that a shape mistake gives the same error on every device, and
// kernels may assume consistent arguments. They allocate nothing unless they fail (a
// training step calls them for every op), so op names come from tables built once.

type namedOp interface {
	~uint8
	String() string
}

// opNames returns prefix+op.String() for every op up to last.
func opNames[T namedOp](prefix string, last T) []string {
	names := make([]string, last+1)
	for op := range last + 1 {
		names[op] = prefix + op.String()
	}
	return names
}

var (
	unaryNames           = opNames("unary ", LastUnaryOp)
	unaryBackwardNames   = opNames("unary backward ", LastUnaryOp)
	binaryNames          = opNames("binary ", Div)
	broadcastNames       = opNames("broadcast ", Div)
	reduceNames          = opNames("reduce ", LastReduceOp)
	lossNames            = opNames("loss ", LastLossOp)
	lossBackwardNames    = opNames("loss backward ", LastLossOp)
	updateNames          = opNames("update ", AdamW)
	updateRowsNames      = opNames("update rows ", AdamW)
	rnnCellNames         = opNames("rnn cell ", LastRNNOp)
	rnnCellBackwardNames = opNames("rnn cell backward ", LastRNNOp)
)

func need(op, name string, b Buffer, dt DType, n int) error {
	if b == nil {
		return fmt.Errorf("device: %s: %s is nil", op, name)
	}
	if b.DType() != dt {
		return fmt.Errorf("device: %s: %s is %s, want %s", op, name, b.DType(), dt)
	}
	if b.Len() != n {
		return fmt.Errorf("device: %s: %s has %d elements, want %d", op, name, b.Len(), n)
	}
	return nil
}

func needAtLeast(op, name string, b Buffer, n int) error {
	if b == nil {
		return fmt.Errorf("device: %s: %s is nil", op, name)
	}
	if b.DType() != Float32 {
		return fmt.Errorf("device: %s: %s is %s, want float32", op, name, b.DType())
	}
	if b.Len() < n {
		return fmt.Errorf("device: %s: %s has %d elements, needs at least %d", op, name, b.Len(), n)
	}
	return nil
}

func positive(op string, names string, vals ...int) error {
	for _, v := range vals {
		if v <= 0 {
			return fmt.Errorf("device: %s: sizes %s must be positive, got %v", op, names, slices.Clone(vals))
		}
	}
	return nil
}

func sameLen(op string, a, b Buffer, an, bn string) error {
	if a == nil || b == nil {
		return fmt.Errorf("device: %s: %s or %s is nil", op, an, bn)
	}
	if a.Len() != b.Len() {
		return fmt.Errorf("device: %s: %s has %d elements but %s has %d", op, an, a.Len(), bn, b.Len())
	}
	return nil
}

// CheckView validates View(b, off, n).
func CheckView(b Buffer, off, n int) error {
	if b == nil {
		return fmt.Errorf("device: view of a nil buffer")
	}
	if off < 0 || n < 0 || off+n > b.Len() {
		return fmt.Errorf("device: view [%d, %d) is outside a buffer of %d elements", off, off+n, b.Len())
	}
	return nil
}

// CheckTransfer validates a host transfer of n elements of type dt to or from b.
func CheckTransfer(op string, b Buffer, dt DType, n int) error {
	return need(op, "buffer", b, dt, n)
}

// CheckCopy validates Copy(dst, src).
func CheckCopy(dst, src Buffer) error {
	if err := sameLen("copy", dst, src, "dst", "src"); err != nil {
		return err
	}
	if dst.DType() != src.DType() {
		return fmt.Errorf("device: copy: dst is %s but src is %s", dst.DType(), src.DType())
	}
	return nil
}

// Batches is the number of products a GemmArgs describes: Batch, or 1 when Batch is 0.
func (g GemmArgs) Batches() int {
	if g.Batch == 0 {
		return 1
	}
	return g.Batch
}

// CheckGemm validates Gemm's arguments: positive sizes, operands long enough for every
// product of the batch, and an epilogue only on one product, with a Bias of N float32
// elements and a known activation.
func CheckGemm(g GemmArgs) error {
	if err := positive("gemm", "M, N, K", g.M, g.N, g.K); err != nil {
		return err
	}
	nb := g.Batches()
	if nb < 0 || g.StrideA < 0 || g.StrideB < 0 || g.StrideC < 0 {
		return fmt.Errorf("device: gemm: batch %d and strides (%d, %d, %d) must not be negative", g.Batch, g.StrideA, g.StrideB, g.StrideC)
	}
	if nb > 1 && g.StrideC < g.M*g.N {
		return fmt.Errorf("device: gemm: StrideC %d is smaller than one M×N = %d×%d result: batched results would overlap", g.StrideC, g.M, g.N)
	}
	last := nb - 1
	if err := needAtLeast("gemm", "A", g.A, last*g.StrideA+g.M*g.K); err != nil {
		return fmt.Errorf("%w (M=%d K=%d batch=%d)", err, g.M, g.K, nb)
	}
	if err := needAtLeast("gemm", "B", g.B, last*g.StrideB+g.K*g.N); err != nil {
		return fmt.Errorf("%w (K=%d N=%d batch=%d)", err, g.K, g.N, nb)
	}
	if err := needAtLeast("gemm", "C", g.C, last*g.StrideC+g.M*g.N); err != nil {
		return fmt.Errorf("%w (M=%d N=%d batch=%d)", err, g.M, g.N, nb)
	}
	if !g.HasEpilogue() {
		return nil
	}
	if nb > 1 {
		return fmt.Errorf("device: gemm: a bias or activation epilogue needs Batch <= 1, got batch %d", nb)
	}
	if g.Bias != nil {
		if err := need("gemm", "Bias", g.Bias, Float32, g.N); err != nil {
			return fmt.Errorf("%w (one per column of C, N=%d)", err, g.N)
		}
	}
	if g.ActOn && g.Act > LastUnaryOp {
		return fmt.Errorf("device: gemm: unknown epilogue activation %d", g.Act)
	}
	return nil
}

// CheckUnary validates Unary(op, x, y, p).
func CheckUnary(op UnaryOp, x, y Buffer) error {
	if op > LastUnaryOp {
		return fmt.Errorf("device: unary: unknown op %d", op)
	}
	name := unaryNames[op]
	if x == nil {
		return fmt.Errorf("device: %s: x is nil", name)
	}
	if err := need(name, "x", x, Float32, x.Len()); err != nil {
		return err
	}
	return need(name, "y", y, Float32, x.Len())
}

// CheckUnaryBackward validates UnaryBackward(op, x, y, dy, dx, p).
func CheckUnaryBackward(op UnaryOp, x, y, dy, dx Buffer) error {
	if err := CheckUnary(op, x, y); err != nil {
		return err
	}
	name := unaryBackwardNames[op]
	if err := need(name, "dy", dy, Float32, x.Len()); err != nil {
		return err
	}
	return need(name, "dx", dx, Float32, x.Len())
}

// CheckSoftmax validates Softmax(x, y, rows, cols).
func CheckSoftmax(x, y Buffer, rows, cols int) error {
	if err := positive("softmax", "rows, cols", rows, cols); err != nil {
		return err
	}
	if err := need("softmax", "x", x, Float32, rows*cols); err != nil {
		return err
	}
	return need("softmax", "y", y, Float32, rows*cols)
}

// CheckSoftmaxBackward validates SoftmaxBackward(y, dy, dx, rows, cols).
func CheckSoftmaxBackward(y, dy, dx Buffer, rows, cols int) error {
	const op = "softmax backward"
	if err := positive(op, "rows, cols", rows, cols); err != nil {
		return err
	}
	if err := need(op, "y", y, Float32, rows*cols); err != nil {
		return err
	}
	if err := need(op, "dy", dy, Float32, rows*cols); err != nil {
		return err
	}
	return need(op, "dx", dx, Float32, rows*cols)
}

// CheckBinary validates Binary(op, a, b, c).
func CheckBinary(op BinaryOp, a, b, c Buffer) error {
	if op > Div {
		return fmt.Errorf("device: binary: unknown op %d", op)
	}
	name := binaryNames[op]
	if a == nil {
		return fmt.Errorf("device: %s: a is nil", name)
	}
	if err := need(name, "b", b, Float32, a.Len()); err != nil {
		return err
	}
	return need(name, "c", c, Float32, a.Len())
}

// CheckBroadcast validates Broadcast(op, x, v, y, s).
func CheckBroadcast(op BinaryOp, x, v, y Buffer, s Shape3) error {
	if op > Div {
		return fmt.Errorf("device: broadcast: unknown op %d", op)
	}
	name := broadcastNames[op]
	if err := positive(name, "Outer, Mid, Inner", s.Outer, s.Mid, s.Inner); err != nil {
		return err
	}
	if err := need(name, "x", x, Float32, s.Len()); err != nil {
		return err
	}
	if err := need(name, "v", v, Float32, s.Mid); err != nil {
		return err
	}
	return need(name, "y", y, Float32, s.Len())
}

// CheckAxpby validates Axpby(alpha, x, beta, y).
func CheckAxpby(x, y Buffer) error {
	if x == nil {
		return fmt.Errorf("device: axpby: x is nil")
	}
	if err := need("axpby", "x", x, Float32, x.Len()); err != nil {
		return err
	}
	return need("axpby", "y", y, Float32, x.Len())
}

// CheckReduce validates Reduce(op, x, y, s).
func CheckReduce(op ReduceOp, x, y Buffer, s Shape3) error {
	if op > LastReduceOp {
		return fmt.Errorf("device: reduce: unknown op %d", op)
	}
	name := reduceNames[op]
	if err := positive(name, "Outer, Mid, Inner", s.Outer, s.Mid, s.Inner); err != nil {
		return err
	}
	if err := need(name, "x", x, Float32, s.Len()); err != nil {
		return err
	}
	dt := Float32
	if op == ArgMax {
		dt = Int32
	}
	return need(name, "y", y, dt, s.Outer*s.Inner)
}

// CheckLoss validates Loss (backward false) or LossBackward (backward true).
func CheckLoss(a LossArgs, backward bool) error {
	if a.Op > LastLossOp {
		return fmt.Errorf("device: loss: unknown op %d", a.Op)
	}
	name := lossNames[a.Op]
	if backward {
		name = lossBackwardNames[a.Op]
	}
	if err := positive(name, "Rows, Cols", a.Rows, a.Cols); err != nil {
		return err
	}
	n := a.Rows * a.Cols
	if err := need(name, "Input", a.Input, Float32, n); err != nil {
		return err
	}
	switch a.Op {
	case SoftmaxCrossEntropy, CrossEntropy:
		if err := need(name, "Labels", a.Labels, Int32, a.Rows); err != nil {
			return err
		}
		if a.Op == SoftmaxCrossEntropy {
			if err := need(name, "Probs", a.Probs, Float32, n); err != nil {
				return err
			}
		}
	case MSE, BinaryCrossEntropyWithLogits:
		if err := need(name, "Target", a.Target, Float32, n); err != nil {
			return err
		}
		if a.Op == MSE && a.Correct != nil && !backward {
			return fmt.Errorf("device: %s: Correct is only defined for the cross-entropy losses", name)
		}
	}
	if backward {
		return need(name, "Grad", a.Grad, Float32, n)
	}
	if err := need(name, "Loss", a.Loss, Float32, a.Rows); err != nil {
		return err
	}
	if a.Correct != nil {
		return need(name, "Correct", a.Correct, Float32, a.Rows)
	}
	return nil
}

// CheckUpdate validates Update(op, h, param, grad, m, v).
func CheckUpdate(op OptOp, h Hyper, param, grad, m, v Buffer) error {
	if op > AdamW {
		return fmt.Errorf("device: update: unknown optimizer %d", op)
	}
	name := updateNames[op]
	if param == nil {
		return fmt.Errorf("device: %s: param is nil", name)
	}
	n := param.Len()
	if err := need(name, "param", param, Float32, n); err != nil {
		return err
	}
	if err := need(name, "grad", grad, Float32, n); err != nil {
		return err
	}
	if op != SGD {
		if err := need(name, "m", m, Float32, n); err != nil {
			return err
		}
	}
	if op == Adam || op == AdamW {
		if err := need(name, "v", v, Float32, n); err != nil {
			return err
		}
		if h.Step < 1 {
			return fmt.Errorf("device: %s: Step must be >= 1, got %d", name, h.Step)
		}
	}
	if !finite(h.LR) || !finite(h.Momentum) || !finite(h.Beta1) || !finite(h.Beta2) || !finite(h.Eps) || !finite(h.WeightDecay) {
		return fmt.Errorf("device: %s: hyper-parameters must be finite, got %+v", name, h)
	}
	return nil
}

// rowSetRows returns the number of table rows a row set buffer is for; the error names op.
func rowSetRows(op string, set Buffer) (int, error) {
	if set == nil {
		return 0, fmt.Errorf("device: %s: set is nil", op)
	}
	if set.DType() != Int32 {
		return 0, fmt.Errorf("device: %s: set is %s, want int32", op, set.DType())
	}
	if set.Len()%2 != 1 {
		return 0, fmt.Errorf("device: %s: set has %d elements, not a row set (RowSetLen(rows) = 1 + 2·rows)", op, set.Len())
	}
	return (set.Len() - 1) / 2, nil
}

// CheckAddRows validates AddRows(set, ids).
func CheckAddRows(set, ids Buffer) error {
	const op = "add rows"
	if _, err := rowSetRows(op, set); err != nil {
		return err
	}
	if ids == nil {
		return fmt.Errorf("device: %s: ids is nil", op)
	}
	return need(op, "ids", ids, Int32, ids.Len())
}

// CheckUpdateRows validates UpdateRows(op, h, param, grad, m, v, set, rowLen): the
// checks of Update, a positive rowLen that divides param's length, and a row set of
// that many rows.
func CheckUpdateRows(op OptOp, h Hyper, param, grad, m, v, set Buffer, rowLen int) error {
	if err := CheckUpdate(op, h, param, grad, m, v); err != nil {
		return err
	}
	name := updateRowsNames[op]
	if rowLen <= 0 {
		return fmt.Errorf("device: %s: rowLen must be positive, got %d", name, rowLen)
	}
	if param.Len()%rowLen != 0 {
		return fmt.Errorf("device: %s: param has %d elements, not a whole number of rows of %d", name, param.Len(), rowLen)
	}
	rows, err := rowSetRows(name, set)
	if err != nil {
		return err
	}
	if rows != param.Len()/rowLen {
		return fmt.Errorf("device: %s: set is a row set of %d rows, param has %d rows of %d", name, rows, param.Len()/rowLen, rowLen)
	}
	return nil
}

// CheckClearRows validates ClearRows(grad, set, rowLen).
func CheckClearRows(grad, set Buffer, rowLen int) error {
	const op = "clear rows"
	if rowLen <= 0 {
		return fmt.Errorf("device: %s: rowLen must be positive, got %d", op, rowLen)
	}
	if grad == nil {
		return fmt.Errorf("device: %s: grad is nil", op)
	}
	if err := need(op, "grad", grad, Float32, grad.Len()); err != nil {
		return err
	}
	if grad.Len()%rowLen != 0 {
		return fmt.Errorf("device: %s: grad has %d elements, not a whole number of rows of %d", op, grad.Len(), rowLen)
	}
	rows, err := rowSetRows(op, set)
	if err != nil {
		return err
	}
	if rows != grad.Len()/rowLen {
		return fmt.Errorf("device: %s: set is a row set of %d rows, grad has %d rows of %d", op, rows, grad.Len()/rowLen, rowLen)
	}
	return nil
}

func finite(f float32) bool { return !math.IsNaN(float64(f)) && !math.IsInf(float64(f), 0) }

// CheckDropout validates DropoutMask(mask, rate, …).
func CheckDropout(mask Buffer, rate float32) error {
	if mask == nil {
		return fmt.Errorf("device: dropout: mask is nil")
	}
	if err := need("dropout", "mask", mask, Float32, mask.Len()); err != nil {
		return err
	}
	if !(rate >= 0 && rate < 1) {
		return fmt.Errorf("device: dropout: rate must be in [0, 1), got %v", rate)
	}
	return nil
}

// CheckGather validates Gather(dst, src, idx, rowLen, scale).
func CheckGather(dst, src, idx Buffer, rowLen int) error {
	if dst == nil || src == nil || idx == nil {
		return fmt.Errorf("device: gather: dst, src and idx must not be nil")
	}
	if rowLen <= 0 {
		return fmt.Errorf("device: gather: rowLen must be positive, got %d", rowLen)
	}
	if idx.DType() != Int32 {
		return fmt.Errorf("device: gather: idx is %s, want int32", idx.DType())
	}
	switch {
	case src.DType() == Int32 && dst.DType() == Int32:
	case (src.DType() == Float32 || src.DType() == Uint8) && dst.DType() == Float32:
	default:
		return fmt.Errorf("device: gather: cannot gather %s rows into %s", src.DType(), dst.DType())
	}
	if src.Len()%rowLen != 0 {
		return fmt.Errorf("device: gather: src has %d elements, not a whole number of rows of %d", src.Len(), rowLen)
	}
	if dst.Len() != idx.Len()*rowLen {
		return fmt.Errorf("device: gather: dst has %d elements, want %d rows of %d", dst.Len(), idx.Len(), rowLen)
	}
	return nil
}

// CheckScatterAdd validates ScatterAdd(dst, src, idx, rowLen).
func CheckScatterAdd(dst, src, idx Buffer, rowLen int) error {
	const op = "scatter add"
	if rowLen <= 0 {
		return fmt.Errorf("device: %s: rowLen must be positive, got %d", op, rowLen)
	}
	if idx == nil {
		return fmt.Errorf("device: %s: idx is nil", op)
	}
	if err := need(op, "idx", idx, Int32, idx.Len()); err != nil {
		return err
	}
	if dst == nil {
		return fmt.Errorf("device: %s: dst is nil", op)
	}
	if err := need(op, "dst", dst, Float32, dst.Len()); err != nil {
		return err
	}
	if dst.Len()%rowLen != 0 {
		return fmt.Errorf("device: %s: dst has %d elements, not a whole number of rows of %d", op, dst.Len(), rowLen)
	}
	if err := need(op, "src", src, Float32, idx.Len()*rowLen); err != nil {
		return fmt.Errorf("%w (%d rows of %d)", err, idx.Len(), rowLen)
	}
	return nil
}

// CheckPermute validates Permute(x, y, p): a rank in [1, MaxRank], positive sizes, Perm
// a permutation of 0..Rank-1, and x and y float32 of p.Len() elements.
func CheckPermute(x, y Buffer, p PermuteArgs) error {
	const op = "permute"
	if p.Rank < 1 || p.Rank > MaxRank {
		return fmt.Errorf("device: %s: rank must be in [1, %d], got %d", op, MaxRank, p.Rank)
	}
	if err := positive(op, "Shape", p.Shape[:p.Rank]...); err != nil {
		return err
	}
	var seen [MaxRank]bool
	for _, a := range p.Perm[:p.Rank] {
		if a < 0 || a >= p.Rank || seen[a] {
			return fmt.Errorf("device: %s: Perm %v is not a permutation of 0..%d", op, slices.Clone(p.Perm[:p.Rank]), p.Rank-1)
		}
		seen[a] = true
	}
	if err := need(op, "x", x, Float32, p.Len()); err != nil {
		return fmt.Errorf("%w (shape %v)", err, slices.Clone(p.Shape[:p.Rank]))
	}
	return need(op, "y", y, Float32, p.Len())
}

// CheckCausalSoftmax validates CausalSoftmax(x, y, batch, seq, scale).
func CheckCausalSoftmax(x, y Buffer, batch, seq int, scale float32) error {
	const op = "causal softmax"
	if err := positive(op, "batch, seq", batch, seq); err != nil {
		return err
	}
	if !finite(scale) {
		return fmt.Errorf("device: %s: scale must be finite, got %v", op, scale)
	}
	n := batch * seq * seq
	if err := need(op, "x", x, Float32, n); err != nil {
		return fmt.Errorf("%w (batch %d of %d×%d)", err, batch, seq, seq)
	}
	return need(op, "y", y, Float32, n)
}

// CheckLayerNorm validates LayerNorm (backward false) or LayerNormBackward.
func CheckLayerNorm(a LayerNormArgs, backward bool) error {
	name := "layernorm"
	if backward {
		name = "layernorm backward"
	}
	if err := positive(name, "Rows, Cols", a.Rows, a.Cols); err != nil {
		return err
	}
	if !(a.Eps > 0) || !finite(a.Eps) {
		return fmt.Errorf("device: %s: Eps must be positive, got %v", name, a.Eps)
	}
	n, r, c := a.Rows*a.Cols, a.Rows, a.Cols
	operands := [...]struct {
		name     string
		b        Buffer
		n        int
		used     bool
		optional bool
	}{
		{"X", a.X, n, true, false}, {"Gamma", a.Gamma, c, true, false},
		{"Mean", a.Mean, r, true, false}, {"RStd", a.RStd, r, true, false},
		{"Y", a.Y, n, !backward, false}, {"Beta", a.Beta, c, !backward, true},
		{"DY", a.DY, n, backward, false}, {"DX", a.DX, n, backward, false},
		{"DGamma", a.DGamma, c, backward, false}, {"DBeta", a.DBeta, c, backward, true},
	}
	for _, o := range operands {
		if !o.used || (o.optional && o.b == nil) {
			continue
		}
		if err := need(name, o.name, o.b, Float32, o.n); err != nil {
			return fmt.Errorf("%w (Rows %d, Cols %d)", err, a.Rows, a.Cols)
		}
	}
	return nil
}

// CheckRNNCell validates RNNCell (backward false) or RNNCellBackward: every buffer the
// step reads or writes is float32 of the size RNNCellArgs gives (optional ones may be
// nil), and the buffers the other cell has (a GRU has no C, an LSTM no HPrev) are nil.
// Buffers of the other direction (H in the backward pass, DGX in the forward) are not
// looked at.
func CheckRNNCell(a RNNCellArgs, backward bool) error {
	if a.Op > LastRNNOp {
		return fmt.Errorf("device: rnn cell: unknown op %d", a.Op)
	}
	name := rnnCellNames[a.Op]
	if backward {
		name = rnnCellBackwardNames[a.Op]
	}
	if err := positive(name, "Batch, Hidden", a.Batch, a.Hidden); err != nil {
		return err
	}
	n := a.Batch * a.Hidden
	g := a.Op.Gates() * n
	// use: per cell (LSTM, GRU) and direction (forward, backward), r required,
	// o optional, x must be nil (the cell has no such buffer), - not looked at.
	operands := [...]struct {
		name string
		b    Buffer
		n    int
		use  [2]string
	}{
		{"GX", a.GX, g, [2]string{"r-", "r-"}},
		{"GH", a.GH, g, [2]string{"o-", "rr"}},
		{"Acts", a.Acts, g, [2]string{"rr", "rr"}},
		{"HPrev", a.HPrev, n, [2]string{"xx", "oo"}},
		{"CPrev", a.CPrev, n, [2]string{"oo", "xx"}},
		{"H", a.H, n, [2]string{"r-", "r-"}},
		{"C", a.C, n, [2]string{"rr", "xx"}},
		{"DH", a.DH, n, [2]string{"-r", "-r"}},
		{"DC", a.DC, n, [2]string{"-o", "xx"}},
		{"DGX", a.DGX, g, [2]string{"-r", "-r"}},
		{"DGH", a.DGH, g, [2]string{"xx", "-r"}},
		{"DHPrev", a.DHPrev, n, [2]string{"xx", "-o"}},
		{"DCPrev", a.DCPrev, n, [2]string{"-o", "xx"}},
	}
	dir := 0
	if backward {
		dir = 1
	}
	for _, o := range operands {
		switch o.use[a.Op][dir] {
		case '-':
			continue
		case 'x':
			if o.b != nil {
				return fmt.Errorf("device: %s: %s must be nil: the %s cell has no such buffer", name, o.name, a.Op)
			}
			continue
		case 'o':
			if o.b == nil {
				continue
			}
		}
		if err := need(name, o.name, o.b, Float32, o.n); err != nil {
			return fmt.Errorf("%w (Batch %d, Hidden %d)", err, a.Batch, a.Hidden)
		}
	}
	return nil
}

// CheckGeom validates a ConvGeom: positive sizes and at least one window.
func CheckGeom(op string, g ConvGeom) error {
	if err := positive(op, "N, C, H, W, KH, KW, StrideH, StrideW", g.N, g.C, g.H, g.W, g.KH, g.KW, g.StrideH, g.StrideW); err != nil {
		return err
	}
	if g.PadH < 0 || g.PadW < 0 {
		return fmt.Errorf("device: %s: padding must not be negative, got %d×%d", op, g.PadH, g.PadW)
	}
	if g.H+2*g.PadH < g.KH || g.W+2*g.PadW < g.KW {
		return fmt.Errorf("device: %s: window %d×%d is larger than the padded input %d×%d", op, g.KH, g.KW, g.H+2*g.PadH, g.W+2*g.PadW)
	}
	return nil
}

// CheckIm2Col validates Im2Col(x, col, g) and Col2Im(col, x, g).
func CheckIm2Col(op string, x, col Buffer, g ConvGeom) error {
	if err := CheckGeom(op, g); err != nil {
		return err
	}
	if err := need(op, "image", x, Float32, g.N*g.C*g.H*g.W); err != nil {
		return err
	}
	return need(op, "col", col, Float32, g.N*g.ColRows()*g.OutH()*g.OutW())
}

// CheckConv validates Conv (backward false: X, W, Y and the optional B) or ConvBackward
// (X, W, DY, DW and the optional DX and DB).
func CheckConv(a ConvArgs, backward bool) error {
	name := "conv"
	if backward {
		name = "conv backward"
	}
	g := a.G
	if err := CheckGeom(name, g); err != nil {
		return err
	}
	if a.F <= 0 {
		return fmt.Errorf("device: %s: filters F must be positive, got %d", name, a.F)
	}
	in, out, w := g.N*g.C*g.H*g.W, g.N*a.F*g.OutH()*g.OutW(), a.F*g.ColRows()
	operands := [...]operand{
		{"X", a.X, in, true}, {"W", a.W, w, true},
		{"Y", a.Y, out, !backward}, {"B", a.B, a.F, !backward && a.B != nil},
		{"DY", a.DY, out, backward}, {"DW", a.DW, w, backward},
		{"DX", a.DX, in, backward && a.DX != nil}, {"DB", a.DB, a.F, backward && a.DB != nil},
	}
	return needAll(name, operands[:])
}

// operand is one float32 buffer of an argument struct: its name, the buffer, the
// length it must have, and whether the call uses it.
type operand struct {
	name string
	b    Buffer
	n    int
	used bool
}

// needAll checks the used operands with need, in order.
func needAll(op string, operands []operand) error {
	for _, o := range operands {
		if !o.used {
			continue
		}
		if err := need(op, o.name, o.b, Float32, o.n); err != nil {
			return err
		}
	}
	return nil
}

// CheckPool validates Pool (dy, dx nil) and PoolBackward.
func CheckPool(op PoolOp, x, y, dy, dx Buffer, g ConvGeom, backward bool) error {
	if op > AvgPool {
		return fmt.Errorf("device: pool: unknown op %d", op)
	}
	name := op.String()
	if err := CheckGeom(name, g); err != nil {
		return err
	}
	if g.PadH*2 > g.KH || g.PadW*2 > g.KW {
		return fmt.Errorf("device: %s: padding %d×%d must be at most half the window %d×%d", name, g.PadH, g.PadW, g.KH, g.KW)
	}
	in, out := g.N*g.C*g.H*g.W, g.N*g.C*g.OutH()*g.OutW()
	if err := need(name, "x", x, Float32, in); err != nil {
		return err
	}
	if err := need(name, "y", y, Float32, out); err != nil {
		return err
	}
	if !backward {
		return nil
	}
	if err := need(name, "dy", dy, Float32, out); err != nil {
		return err
	}
	return need(name, "dx", dx, Float32, in)
}

// CheckBatchNorm validates BatchNorm (backward false) or BatchNormBackward.
func CheckBatchNorm(a BatchNormArgs, backward bool) error {
	name := "batchnorm"
	if backward {
		name = "batchnorm backward"
	}
	if err := positive(name, "N, C, Inner", a.N, a.C, a.Inner); err != nil {
		return err
	}
	if !(a.Eps > 0) || !finite(a.Eps) {
		return fmt.Errorf("device: %s: Eps must be positive, got %v", name, a.Eps)
	}
	if backward && !a.Training {
		return fmt.Errorf("device: %s: only defined for training mode", name)
	}
	if a.Training && a.N*a.Inner < 2 {
		return fmt.Errorf("device: %s: training needs more than one value per channel, got N=%d Inner=%d", name, a.N, a.Inner)
	}
	n, c := a.N*a.C*a.Inner, a.C
	operands := [...]operand{
		{"X", a.X, n, true}, {"Gamma", a.Gamma, c, true}, {"Beta", a.Beta, c, true},
		{"SaveMean", a.SaveMean, c, a.Training}, {"SaveInvStd", a.SaveInvStd, c, a.Training},
		{"Y", a.Y, n, !backward}, {"RunMean", a.RunMean, c, !backward}, {"RunVar", a.RunVar, c, !backward},
		{"DY", a.DY, n, backward}, {"DX", a.DX, n, backward}, {"DGamma", a.DGamma, c, backward}, {"DBeta", a.DBeta, c, backward},
	}
	return needAll(name, operands[:])
}

// CheckAugment validates Augment(x, y, a).
func CheckAugment(x, y Buffer, a AugmentArgs) error {
	if err := positive("augment", "N, C, H, W", a.N, a.C, a.H, a.W); err != nil {
		return err
	}
	if a.MaxShift < 0 || a.MaxShift >= a.H || a.MaxShift >= a.W {
		return fmt.Errorf("device: augment: MaxShift %d must be in [0, min(H, W)) for %d×%d images", a.MaxShift, a.H, a.W)
	}
	n := a.N * a.C * a.H * a.W
	if err := need("augment", "x", x, Float32, n); err != nil {
		return err
	}
	return need("augment", "y", y, Float32, n)
}
