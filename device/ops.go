package device

import "math"

// GemmArgs are the arguments of Backend.Gemm:
//
//	C = Alpha*op(A)*op(B) + Beta*C
//
// with op(A) of shape M×K, op(B) K×N and C M×N, all row-major and contiguous: A is stored
// M×K (K×M when TransA), B is stored K×N (N×K when TransB). With Beta == 0, C is not read
// (NaNs in it do not propagate).
//
// C must not overlap A or B.
//
// Batch > 1 runs Batch independent products, the i-th on A[i*StrideA:], B[i*StrideB:] and
// C[i*StrideC:]; a stride of 0 reuses one operand for every product (StrideC must not be 0).
//
// The optional epilogue (zero values: none) then transforms C, for one product only
// (Batch <= 1):
//
//	C[i,j] = C[i,j] + Bias[j]      when Bias is set (N float32 elements)
//	C = Act(C)                      when ActOn, as Unary(Act, C, C, ActParam)
//
// with the roundings of Gemm, Broadcast(Add, C, Bias, C, Shape3{M, N, 1}) and Unary called
// in turn, so that a dense layer's forward pass is one call. A backend may apply it while
// each tile of C is still in registers or cache.
type GemmArgs struct {
	TransA, TransB bool
	M, N, K        int
	Alpha, Beta    float32
	A, B, C        Buffer

	Batch                     int
	StrideA, StrideB, StrideC int

	Bias     Buffer  // optional, N float32: added to every row of C
	ActOn    bool    // apply Act after the bias
	Act      UnaryOp // the activation, see UnaryOp
	ActParam float32 // its parameter (LeakyReLU's slope)
}

// HasEpilogue reports whether g asks for a bias or an activation after the product.
func (g GemmArgs) HasEpilogue() bool { return g.Bias != nil || g.ActOn }

// UnaryOp selects an elementwise activation for Backend.Unary and Backend.UnaryBackward.
type UnaryOp uint8

// The activations. The derivative column says what UnaryBackward reads.
//
// ReLU, LeakyReLU with p >= 0, Sigmoid and Tanh can take their derivative from y alone
// (x > 0 exactly where y > 0, and Sigmoid and Tanh read only y), so a caller that kept
// only y = f(x) (a Gemm with an activation epilogue) may pass y as x to UnaryBackward
// for them. GELU and GELUTanh need x.
const (
	ReLU      UnaryOp = iota // max(x, 0); f' from x (0 at x == 0)
	LeakyReLU                // x if x > 0 else p*x; f' from x (p at x == 0)
	Sigmoid                  // 1/(1+exp(-x)); f' = y*(1-y)
	Tanh                     // tanh(x); f' = 1-y²
	GELU                     // x*Φ(x) = x/2*(1+erf(x/√2)), the exact form; f' = Φ(x) + x*φ(x) from x
	// GELUTanh is GELU's tanh approximation (PyTorch's approximate='tanh', GPT-2's):
	// x/2*(1+tanh(u)) with u = √(2/π)*(x + 0.044715*x³);
	// f' = (1+t)/2 + x/2*(1-t²)*√(2/π)*(1 + 3*0.044715*x²) with t = tanh(u), from x.
	GELUTanh
)

// LastUnaryOp is the largest UnaryOp.
const LastUnaryOp = GELUTanh

// DerivativeFromOutput reports whether UnaryBackward for op with parameter p may be
// given y = f(x) in place of x (see the list above).
func (op UnaryOp) DerivativeFromOutput(p float32) bool {
	switch op {
	case ReLU, Sigmoid, Tanh:
		return true
	case LeakyReLU:
		return p >= 0
	}
	return false
}

func (op UnaryOp) String() string {
	switch op {
	case ReLU:
		return "relu"
	case LeakyReLU:
		return "leaky_relu"
	case Sigmoid:
		return "sigmoid"
	case Tanh:
		return "tanh"
	case GELU:
		return "gelu"
	case GELUTanh:
		return "gelu_tanh"
	}
	return "unary(?)"
}

// BinaryOp selects the elementwise operation of Backend.Binary and Backend.Broadcast.
type BinaryOp uint8

// The binary operations: c = a op b.
const (
	Add BinaryOp = iota
	Sub
	Mul
	Div
)

func (op BinaryOp) String() string {
	switch op {
	case Add:
		return "add"
	case Sub:
		return "sub"
	case Mul:
		return "mul"
	case Div:
		return "div"
	}
	return "binary(?)"
}

// Shape3 views a buffer as Outer×Mid×Inner, row-major: the middle axis is the one that
// Broadcast broadcasts over and Reduce reduces.
type Shape3 struct {
	Outer, Mid, Inner int
}

// Len is Outer*Mid*Inner.
func (s Shape3) Len() int { return s.Outer * s.Mid * s.Inner }

// ReduceOp selects the reduction of Backend.Reduce.
type ReduceOp uint8

// The reductions over the middle axis.
const (
	Sum        ReduceOp = iota
	Mean                // Sum / Mid
	Max                 // largest element
	ArgMax              // index of the first largest element, int32 output
	SumSquares          // sum of squares
	// Norm is the L2 norm √(Σ x²): the squares summed in float32 (overflowing to +Inf
	// past about 1.8e19 as SumSquares does), then one correctly rounded square root. A
	// training step clips its gradients by it without reading it back.
	Norm
)

// LastReduceOp is the largest ReduceOp.
const LastReduceOp = Norm

func (op ReduceOp) String() string {
	switch op {
	case Sum:
		return "sum"
	case Mean:
		return "mean"
	case Max:
		return "max"
	case ArgMax:
		return "argmax"
	case SumSquares:
		return "sum_squares"
	case Norm:
		return "norm"
	}
	return "reduce(?)"
}

// LossOp selects the loss of Backend.Loss and Backend.LossBackward.
type LossOp uint8

// The losses, per row r of a Rows×Cols input.
const (
	// SoftmaxCrossEntropy takes logits: Probs = softmax(Input) and
	// Loss[r] = logsumexp(Input[r,:]) - Input[r,Labels[r]]. Its gradient is
	// Scale*(Probs - onehot(Labels)), read from Probs.
	SoftmaxCrossEntropy LossOp = iota
	// CrossEntropy takes probabilities: Loss[r] = -log(clamp(Input[r,Labels[r]], ε, 1-ε))
	// with ε = CrossEntropyEps, as Keras computes it (ε and 1-ε in float32). Its gradient
	// is -Scale/p at the label where ε <= p <= 1-ε (the clamp passes p through), and 0
	// elsewhere.
	CrossEntropy
	// MSE: Loss[r] = mean over c of (Input[r,c]-Target[r,c])²; gradient
	// Scale*2*(Input-Target)/Cols.
	MSE
	// BinaryCrossEntropyWithLogits takes logits x and targets t in [0, 1] (PyTorch's
	// BCEWithLogitsLoss): Loss[r] = mean over c of max(x,0) - x*t + log(1+exp(-|x|)),
	// the stable form of -(t*log σ(x) + (1-t)*log(1-σ(x))); gradient
	// Scale*(σ(x)-t)/Cols. Correct[r] is the fraction of the row's columns where
	// (x > 0) == (t > 0.5).
	BinaryCrossEntropyWithLogits
)

// LastLossOp is the largest LossOp.
const LastLossOp = BinaryCrossEntropyWithLogits

// CrossEntropyEps is the clamp applied to probabilities by the CrossEntropy loss (Keras'
// backend epsilon).
const CrossEntropyEps = 1e-7

func (op LossOp) String() string {
	switch op {
	case SoftmaxCrossEntropy:
		return "softmax_cross_entropy"
	case CrossEntropy:
		return "cross_entropy"
	case MSE:
		return "mse"
	case BinaryCrossEntropyWithLogits:
		return "binary_cross_entropy_with_logits"
	}
	return "loss(?)"
}

// LossArgs are the arguments of Backend.Loss and Backend.LossBackward. Buffers a loss
// does not use are nil. A label outside [0, Cols) is an error on backends that can check
// it without waiting (cpu); elsewhere the caller validates labels, as Gather's indices.
// A sequence model's cross-entropy over logits of shape (B, T, V) with int32 targets
// (B, T) is SoftmaxCrossEntropy with Rows = B*T and Cols = V.
type LossArgs struct {
	Op         LossOp
	Rows, Cols int

	Input  Buffer // float32 Rows×Cols: logits, probabilities or predictions (see LossOp)
	Labels Buffer // int32 [Rows], class indices in [0, Cols): the cross-entropy losses
	Target Buffer // float32 Rows×Cols: MSE, BinaryCrossEntropyWithLogits

	Probs   Buffer // float32 Rows×Cols: SoftmaxCrossEntropy writes softmax(Input) here
	Loss    Buffer // float32 [Rows]: Loss writes the per-row losses here
	Correct Buffer // optional float32 [Rows]: Loss writes 1 where argmax(Input[r,:]) (first maximum) == Labels[r], else 0 (BinaryCrossEntropyWithLogits: see there; MSE: none)

	Grad  Buffer  // float32 Rows×Cols: LossBackward writes the gradient here
	Scale float32 // LossBackward: the gradient's factor, usually 1/Rows for a batch mean
}

// OptOp selects the optimizer of Backend.Update.
type OptOp uint8

// The optimizers, following Keras' formulas. g is the gradient, p the parameter, t = Hyper.Step.
const (
	// SGD: p -= LR*g.
	SGD OptOp = iota
	// Momentum: m = Momentum*m - LR*g; p += m, or p += Momentum*m - LR*g (with the
	// updated m) when Nesterov.
	Momentum
	// Adam: m = B1*m + (1-B1)*g; v = B2*v + (1-B2)*g²; p -= α*m/(√v + Eps) with
	// α = Hyper.AdamStepSize() = LR*√(1-B2^t)/(1-B1^t).
	Adam
	// AdamW: p -= LR*WeightDecay*p, then the Adam step.
	AdamW
)

func (op OptOp) String() string {
	switch op {
	case SGD:
		return "sgd"
	case Momentum:
		return "momentum"
	case Adam:
		return "adam"
	case AdamW:
		return "adamw"
	}
	return "optimizer(?)"
}

// Hyper holds an optimizer step's hyper-parameters. Each op reads the fields its formula
// names (see OptOp).
type Hyper struct {
	LR          float32
	Momentum    float32
	Nesterov    bool
	Beta1       float32
	Beta2       float32
	Eps         float32
	WeightDecay float32
	Step        int // 1 for the first update: Adam's bias correction
}

// AdamStepSize is Adam's bias-corrected step LR*√(1-Beta2^Step)/(1-Beta1^Step), computed
// on the host in float64 so that every backend applies the same float32 value.
func (h Hyper) AdamStepSize() float32 {
	t := float64(h.Step)
	b1 := 1 - math.Pow(float64(h.Beta1), t)
	b2 := 1 - math.Pow(float64(h.Beta2), t)
	return float32(float64(h.LR) * math.Sqrt(b2) / b1)
}

// RowSetLen is the length of a row set for a table of rows rows: the int32 buffer that
// AddRows, UpdateRows and ClearRows keep the distinct rows of a sparse parameter in (the
// rows of an embedding table that the batches since the last optimizer step used).
// Layout, for a set of n rows:
//
//	set[0]                 n, the number of rows in the set
//	set[1 : 1+n]           the rows, in the order they were first added
//	set[1+rows+r]          1 while row r is in the set, else 0
//
// A zeroed buffer is an empty set, and emptying a set (UpdateRows, ClearRows) zeroes it
// whole. Its size is 1 + 2·rows int32 elements.
func RowSetLen(rows int) int { return 1 + 2*rows }

// PoolOp selects the pooling of Backend.Pool and Backend.PoolBackward.
type PoolOp uint8

// The poolings.
const (
	MaxPool PoolOp = iota
	AvgPool
)

func (op PoolOp) String() string {
	if op == MaxPool {
		return "max_pool"
	}
	if op == AvgPool {
		return "avg_pool"
	}
	return "pool(?)"
}

// ConvGeom describes a 2-D window sliding over N images of C channels of H×W pixels
// (NCHW): windows of KH×KW taken every StrideH×StrideW pixels over the input padded with
// PadH rows and PadW columns of zeros on each side.
type ConvGeom struct {
	N, C, H, W       int
	KH, KW           int
	StrideH, StrideW int
	PadH, PadW       int
}

// OutH is the number of window rows: (H + 2*PadH - KH)/StrideH + 1.
func (g ConvGeom) OutH() int { return (g.H+2*g.PadH-g.KH)/g.StrideH + 1 }

// OutW is the number of window columns: (W + 2*PadW - KW)/StrideW + 1.
func (g ConvGeom) OutW() int { return (g.W+2*g.PadW-g.KW)/g.StrideW + 1 }

// ColRows is C*KH*KW, the rows of one image's unfolded matrix in Im2Col.
func (g ConvGeom) ColRows() int { return g.C * g.KH * g.KW }

// ConvArgs are the arguments of Backend.Conv and Backend.ConvBackward: a 2-D
// convolution (a cross-correlation, as PyTorch's conv2d) of the images X (N, C, H, W) of
// geometry G with F filters W (F, C, KH, KW) and an optional bias B (F), giving Y
// (N, F, OH, OW):
//
//	Y[n,f,i,j] = B[f] + Σ_{c,u,v} W[f,c,u,v] · X[n, c, i*StrideH-PadH+u, j*StrideW-PadW+v]
//
// where X reads as 0 outside the image (padding). ConvBackward takes DY (N, F, OH, OW) =
// dL/dY and computes
//
//	DW[f,c,u,v] (+)= Σ_{n,i,j} DY[n,f,i,j] · X[n, c, i*StrideH-PadH+u, j*StrideW-PadW+v]
//	DB[f]       (+)= Σ_{n,i,j} DY[n,f,i,j]
//	DX[n,c,h,w]   = Σ DY[n,f,i,j] · W[f,c,u,v] over the (f,i,j,u,v) whose window reads X[n,c,h,w]
//
// The parameter gradients DW and DB are added to what they hold when Accumulate is set
// and overwritten otherwise; DX is always overwritten. DX nil skips the input gradient
// (a model's first layer needs none), DB nil the bias gradient. G.N is the batch.
type ConvArgs struct {
	G ConvGeom
	F int // filters: output channels

	X Buffer // (N, C, H, W)
	W Buffer // (F, C, KH, KW)
	B Buffer // (F), or nil: no bias
	Y Buffer // (N, F, OH, OW), Conv's output

	DY         Buffer // (N, F, OH, OW)
	DX         Buffer // (N, C, H, W), or nil
	DW         Buffer // (F, C, KH, KW)
	DB         Buffer // (F), or nil
	Accumulate bool   // DW += and DB += instead of overwriting them
}

// BatchNormArgs are the arguments of Backend.BatchNorm and Backend.BatchNormBackward
// for X of shape (N, C, Inner): Inner is H*W for images and 1 after a Dense layer.
//
// Training: mean and biased variance over (N, Inner) per channel;
// Y = Gamma*(X-mean)*invstd + Beta with invstd = 1/√(var+Eps); SaveMean and SaveInvStd
// receive mean and invstd; RunMean = (1-Momentum)*RunMean + Momentum*mean and RunVar
// likewise with the unbiased variance (PyTorch's convention, Momentum 0.1).
// Inference: Y = Gamma*(X-RunMean)/√(RunVar+Eps) + Beta.
//
// Backward (training mode only) writes DX, DGamma = sum(DY*xhat), DBeta = sum(DY), sums
// over (N, Inner), with xhat = (X-SaveMean)*SaveInvStd and M = N*Inner:
// DX = Gamma*SaveInvStd/M * (M*DY - DBeta - xhat*DGamma).
type BatchNormArgs struct {
	N, C, Inner int
	Training    bool
	Momentum    float32
	Eps         float32

	X, Y                 Buffer // (N, C, Inner)
	Gamma, Beta          Buffer // [C]
	RunMean, RunVar      Buffer // [C]
	SaveMean, SaveInvStd Buffer // [C]

	DY, DX        Buffer // (N, C, Inner)
	DGamma, DBeta Buffer // [C]
}

// AugmentArgs are the arguments of Backend.Augment. Image n draws the Philox block
// PhiloxBlock(Seed, Offset+n) = w: it moves by dx = w[0] mod (2*MaxShift+1) - MaxShift
// columns and dy = w[1] mod (2*MaxShift+1) - MaxShift rows (output pixel (r, c) reads
// input (r-dy, c-dx)), and, with FlipH, is mirrored left-right before the shift when w[2]
// is odd. That is, for every channel c, with fx(col) = W-1-col when flipped and col otherwise:
//
//	y[n,c,r,col] = x[n,c,r-dy,fx(col-dx)], or 0 where r-dy or col-dx falls outside the image.
type AugmentArgs struct {
	N, C, H, W int
	MaxShift   int
	FlipH      bool
	Seed       uint64
	Offset     uint64
}

// LayerNormArgs are the arguments of Backend.LayerNorm and Backend.LayerNormBackward:
// PyTorch's LayerNorm over the last dimension, with weight Gamma and bias Beta, of X
// viewed as Rows rows of Cols values. For each row r:
//
//	mean = Σ_c X[r,c]/Cols, var = Σ_c (X[r,c]-mean)²/Cols (biased), rstd = 1/√(var+Eps)
//	Y[r,c] = (X[r,c]-mean)*rstd*Gamma[c] + Beta[c]
//
// LayerNorm writes Y (which may alias X) and saves mean and rstd in Mean and RStd for
// the backward pass. Beta nil means no bias (PyTorch's bias=False).
//
// LayerNormBackward, with xhat = (X-Mean)*RStd and g = DY*Gamma, overwrites the input
// gradient and accumulates the parameter gradients (sums over the rows):
//
//	DX[r,c] = RStd[r] * (g[r,c] - mean_c g[r,:] - xhat[r,c] * mean_c(g[r,:]*xhat[r,:]))
//	DGamma[c] += Σ_r DY[r,c]*xhat[r,c]
//	DBeta[c]  += Σ_r DY[r,c]                (when DBeta is given: nil without a bias)
//
// DX may alias DY. The statistics are computed in two passes (the mean, then the squared
// deviations), as PyTorch does, never as E[x²]-E[x]².
type LayerNormArgs struct {
	Rows, Cols int
	Eps        float32

	X, Y        Buffer // Rows×Cols
	Gamma, Beta Buffer // [Cols]; Beta optional
	Mean, RStd  Buffer // [Rows]: LayerNorm writes them, LayerNormBackward reads them

	DY, DX        Buffer // Rows×Cols
	DGamma, DBeta Buffer // [Cols], accumulated; DBeta optional
}

// MaxRank is the largest rank Backend.Permute handles.
const MaxRank = 6

// PermuteArgs describe Backend.Permute. X is a row-major array of shape Shape[:Rank];
// Y receives it with its axes reordered so that axis i of Y is axis Perm[i] of X. Y has
// shape (Shape[Perm[0]], …, Shape[Perm[Rank-1]]) and
//
//	Y[i_0, …, i_{Rank-1}] = X[j_0, …, j_{Rank-1}]  with j_{Perm[k]} = i_k.
//
// For attention heads, (B,T,H,D) → (B,H,T,D) is Shape {B,T,H,D}, Perm {0,2,1,3}; the
// split of a fused qkv projection (B,T,3,H,D) into q, k and v, each (B,H,T,D) and one
// after the other in Y, is Shape {B,T,3,H,D}, Perm {2,0,3,1,4}. Inverse gives the
// permutation back (the backward pass).
type PermuteArgs struct {
	Rank  int
	Shape [MaxRank]int
	Perm  [MaxRank]int
}

// Len is the number of elements, the product of Shape[:Rank].
func (p PermuteArgs) Len() int {
	n := 1
	for _, d := range p.Shape[:max(0, min(p.Rank, MaxRank))] {
		n *= d
	}
	return n
}

// OutShape is the shape of Y: OutShape()[i] = Shape[Perm[i]] for i < Rank. p must be
// valid (CheckPermute).
func (p PermuteArgs) OutShape() [MaxRank]int {
	var s [MaxRank]int
	for i := range p.Rank {
		s[i] = p.Shape[p.Perm[i]]
	}
	return s
}

// Inverse is the permutation that takes Y back to X: shape OutShape() and the inverse
// order. p must be valid (CheckPermute).
func (p PermuteArgs) Inverse() PermuteArgs {
	q := PermuteArgs{Rank: p.Rank, Shape: p.OutShape()}
	for i := range p.Rank {
		q.Perm[p.Perm[i]] = i
	}
	return q
}

// Simplify returns a permutation that moves the same elements with fewest axes: axes of
// size 1 dropped, and axes that stay next to each other and in order merged into one
// (Perm {0,2,1,3} of (B,T,H,D) keeps four axes; Perm {1,0,2,3} becomes {1,0,2} of
// (B, T, H*D)). Backends run the simplified form; p must be valid (CheckPermute).
func (p PermuteArgs) Simplify() PermuteArgs {
	// Drop the axes of size 1, renumbering the others.
	var keep [MaxRank]int // new number of each kept input axis, -1 when dropped
	var q PermuteArgs
	for a := range p.Rank {
		keep[a] = -1
		if p.Shape[a] != 1 {
			keep[a] = q.Rank
			q.Shape[q.Rank] = p.Shape[a]
			q.Rank++
		}
	}
	if q.Rank == 0 {
		return PermuteArgs{Rank: 1, Shape: [MaxRank]int{1}}
	}
	k := 0
	for _, a := range p.Perm[:p.Rank] {
		if keep[a] >= 0 {
			q.Perm[k] = keep[a]
			k++
		}
	}
	// Merge: output positions i-1, i with Perm[i] == Perm[i-1]+1 read consecutive input
	// axes in order. group[a] is the merged axis that input axis a falls in; the merged
	// axes keep the input order.
	var head [MaxRank]bool // input axis a starts a merged axis
	head[q.Perm[0]] = true
	for i := 1; i < q.Rank; i++ {
		if q.Perm[i] != q.Perm[i-1]+1 {
			head[q.Perm[i]] = true
		}
	}
	var group [MaxRank]int
	var r PermuteArgs
	for a := range q.Rank {
		if head[a] {
			r.Shape[r.Rank] = 1
			r.Rank++
		}
		group[a] = r.Rank - 1
		r.Shape[r.Rank-1] *= q.Shape[a]
	}
	k = 0
	for _, a := range q.Perm[:q.Rank] {
		if head[a] {
			r.Perm[k] = group[a]
			k++
		}
	}
	return r
}

// RNNOp selects the recurrent cell of Backend.RNNCell and Backend.RNNCellBackward.
type RNNOp uint8

// The recurrent cells, with PyTorch's gate order, so that weights trained here load
// into torch.nn.LSTM and torch.nn.GRU (weight_ih_l0 and weight_hh_l0 stack the gates'
// rows in this order).
const (
	// LSTM: gates (i, f, g, o), each Hidden wide: i = σ(a_i), f = σ(a_f), g = tanh(a_g),
	// o = σ(a_o) from the pre-activations a = GX (+ GH when given);
	// C = f*CPrev + i*g, H = o*tanh(C).
	LSTM RNNOp = iota
	// GRU: gates (r, z, n): r = σ(GX_r + GH_r), z = σ(GX_z + GH_z),
	// n = tanh(GX_n + r*GH_n), H = (1-z)*n + z*HPrev.
	GRU
)

// LastRNNOp is the largest RNNOp.
const LastRNNOp = GRU

// Gates is the number of gates of the cell: 4 for LSTM, 3 for GRU.
func (op RNNOp) Gates() int {
	if op == LSTM {
		return 4
	}
	return 3
}

func (op RNNOp) String() string {
	switch op {
	case LSTM:
		return "lstm"
	case GRU:
		return "gru"
	}
	return "rnn(?)"
}

// RNNCellArgs are the arguments of Backend.RNNCell and Backend.RNNCellBackward: the
// elementwise part of one time step of an LSTM or GRU layer over Batch rows of Hidden
// units. The layer computes the gate pre-activations with GEMMs (GX = x_t·W_ihᵀ + b_ih
// for all steps at once, GH = h_{t-1}·W_hhᵀ + b_hh per step); the cell does the rest.
// With G = Op.Gates(), GX, GH, Acts, DGX and DGH are (Batch, G*Hidden), the gates side
// by side in each row; the states and their gradients are (Batch, Hidden). All are
// float32 and contiguous.
//
// RNNCell (forward) writes Acts (the activated gates: LSTM (i, f, g, o), GRU (r, z, n))
// and H, and for LSTM C. Acts may alias GX; nothing else may alias.
//
//   - LSTM: GH is optional: without it GX holds the whole pre-activation (a layer may
//     accumulate h_{t-1}·W_hhᵀ into GX with a Beta 1 Gemm). CPrev nil is a zero state.
//   - GRU: GH is required (r multiplies its n part). HPrev nil is a zero state.
//
// RNNCellBackward overwrites the pre-activation gradients from the forward's Acts, C
// and states, and DH, the gradient of the loss with respect to H (from the layer's
// output and from step t+1's recurrent GEMM):
//
//   - LSTM: DC (optional: the gradient with respect to C from step t+1; nil at the last
//     step) and dc = DC + DH*o*(1-tanh²(C)) give
//     DGX = (dc*g*i*(1-i), dc*CPrev*f*(1-f), dc*i*(1-g²), DH*tanh(C)*o*(1-o)) and
//     DCPrev = dc*f (optional; it may alias DC). DGH must be nil: the gradient with
//     respect to GH is DGX.
//   - GRU: dn = DH*(1-z)*(1-n²), dz = DH*(HPrev-n)*z*(1-z), dr = dn*GH_n*r*(1-r) give
//     DGX = (dr, dz, dn), DGH = (dr, dz, dn*r) and DHPrev = DH*z (optional; it may alias
//     DH): the direct part of the gradient with respect to HPrev, to which the layer
//     adds DGH·W_hh.
//
// The layer then gets the weight gradients from DGX and DGH with GEMMs (dW_ih += DGXᵀ·x_t,
// dW_hh += DGHᵀ·h_{t-1}, the biases' by summing rows).
type RNNCellArgs struct {
	Op            RNNOp
	Batch, Hidden int

	GX, GH Buffer // (Batch, G*Hidden) pre-activations: input part, hidden part
	Acts   Buffer // (Batch, G*Hidden) activated gates, written forward, read backward

	HPrev, CPrev Buffer // (Batch, Hidden) states at t-1 (CPrev: LSTM); nil: zeros
	H, C         Buffer // (Batch, Hidden) states at t (C: LSTM)

	DH, DC         Buffer // (Batch, Hidden) gradients with respect to H and C (C: LSTM, optional)
	DGX, DGH       Buffer // (Batch, G*Hidden) gradients of the pre-activations (DGH: GRU)
	DHPrev, DCPrev Buffer // (Batch, Hidden) gradients with respect to the previous states (optional)
}
