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
// for them. GELU needs x.
const (
	ReLU      UnaryOp = iota // max(x, 0); f' from x (0 at x == 0)
	LeakyReLU                // x if x > 0 else p*x; f' from x (p at x == 0)
	Sigmoid                  // 1/(1+exp(-x)); f' = y*(1-y)
	Tanh                     // tanh(x); f' = 1-y²
	GELU                     // x*Φ(x) = x/2*(1+erf(x/√2)), the exact form; f' = Φ(x) + x*φ(x) from x
)

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
	SumSquares          // sum of squares (for norms)
)

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
)

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
	}
	return "loss(?)"
}

// LossArgs are the arguments of Backend.Loss and Backend.LossBackward. Buffers a loss
// does not use are nil. A label outside [0, Cols) is an error on backends that can check
// it without waiting (cpu); elsewhere the caller validates labels, as Gather's indices.
type LossArgs struct {
	Op         LossOp
	Rows, Cols int

	Input  Buffer // float32 Rows×Cols: logits, probabilities or predictions (see LossOp)
	Labels Buffer // int32 [Rows], class indices in [0, Cols): the cross-entropy losses
	Target Buffer // float32 Rows×Cols: MSE

	Probs   Buffer // float32 Rows×Cols: SoftmaxCrossEntropy writes softmax(Input) here
	Loss    Buffer // float32 [Rows]: Loss writes the per-row losses here
	Correct Buffer // optional float32 [Rows]: Loss writes 1 where argmax(Input[r,:]) (first maximum) == Labels[r], else 0

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
