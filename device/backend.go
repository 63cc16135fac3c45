package device

// DType is the element type of a Buffer.
type DType uint8

// The element types. Float32 is the engine's number type; Int32 holds class labels and
// indices; Uint8 holds raw image bytes kept compact on the device (see Backend.Gather).
const (
	Float32 DType = iota
	Int32
	Uint8
)

// Size is the number of bytes one element takes.
func (d DType) Size() int {
	if d == Uint8 {
		return 1
	}
	return 4
}

func (d DType) String() string {
	switch d {
	case Float32:
		return "float32"
	case Int32:
		return "int32"
	case Uint8:
		return "uint8"
	}
	return "dtype(?)"
}

// Buffer is a run of elements of one DType in one backend's memory. Only the backend that
// made a buffer can use it; its contents are reached through the backend's Read*, Write*
// and Copy methods.
type Buffer interface {
	// Len is the number of elements.
	Len() int
	// DType is the element type.
	DType() DType
}

// Backend runs the engine's ops on one device. See the package documentation for the
// conventions every method follows (row-major, asynchronous, shared argument checks).
type Backend interface {
	// Name is the registry name ("cpu", "cuda").
	Name() string
	// Describe says what the backend runs on, in words, for logs ("cpu: 2 threads, avx512").
	Describe() string
	// Close releases the backend's resources; its buffers become invalid.
	Close() error

	// Alloc returns a zeroed buffer of n elements of type dt.
	Alloc(dt DType, n int) (Buffer, error)
	// Free returns b's memory to the backend. Views are not freed; freeing a buffer
	// invalidates its views.
	Free(b Buffer)
	// View returns the elements [off, off+n) of b, sharing b's memory.
	View(b Buffer, off, n int) (Buffer, error)
	// WriteFloat32 copies src into dst (float32, len(src) == dst.Len()).
	WriteFloat32(dst Buffer, src []float32) error
	// WriteInt32 copies src into dst (int32, len(src) == dst.Len()).
	WriteInt32(dst Buffer, src []int32) error
	// WriteUint8 copies src into dst (uint8, len(src) == dst.Len()).
	WriteUint8(dst Buffer, src []uint8) error
	// ReadFloat32 copies src (float32) into dst once every queued op has finished.
	ReadFloat32(dst []float32, src Buffer) error
	// ReadInt32 copies src (int32) into dst once every queued op has finished.
	ReadInt32(dst []int32, src Buffer) error
	// Copy copies src into dst on the device (same type and length).
	Copy(dst, src Buffer) error
	// Fill sets every element of dst (float32) to v.
	Fill(dst Buffer, v float32) error
	// Sync waits for every queued op and reports the first asynchronous fault.
	Sync() error
	// Step runs fn, which queues the ops of one training step. A backend may record the
	// ops fn queues under key and replay them on later calls with the same key (the CUDA
	// backend can, as a CUDA graph), so fn must queue the same ops on the same buffers
	// every time it is called with a given key; scalar arguments may change. The CPU
	// backend simply calls fn.
	Step(key string, fn func() error) error

	// Gemm computes C = Alpha*op(A)*op(B) + Beta*C, then the optional bias and activation
	// epilogue, see GemmArgs.
	Gemm(g GemmArgs) error

	// Unary computes y = f(x) elementwise for an activation f; p is the op's parameter
	// (the negative slope of LeakyReLU, unused otherwise). x and y may be the same buffer.
	Unary(op UnaryOp, x, y Buffer, p float32) error
	// UnaryBackward computes dx = dy * f'(x). It reads x or y = f(x), whichever the op's
	// derivative is cheaper from (see UnaryOp); both must be given. dx may alias dy. For
	// the ops whose UnaryOp.DerivativeFromOutput is true, x may be y itself.
	UnaryBackward(op UnaryOp, x, y, dy, dx Buffer, p float32) error
	// Softmax computes y[r,:] = exp(x[r,:]-max) / sum(exp(x[r,:]-max)) for each of rows
	// rows of cols elements, max being the row's maximum. y may alias x.
	Softmax(x, y Buffer, rows, cols int) error
	// SoftmaxBackward computes dx[r,c] = y[r,c] * (dy[r,c] - sum_k dy[r,k]*y[r,k]).
	// dx may alias dy.
	SoftmaxBackward(y, dy, dx Buffer, rows, cols int) error
	// CausalSoftmax is attention's masked softmax: for x and y of shape (batch, seq, seq)
	// (the scores of query i against key j), each row i is the softmax of scale*x over
	// the keys j <= i, and 0 beyond:
	//
	//	y[b,i,j] = exp(scale*x[b,i,j] - m) / Σ_{k<=i} exp(scale*x[b,i,k] - m)   for j <= i
	//	y[b,i,j] = 0                                                            for j > i
	//
	// with m = max_{k<=i} scale*x[b,i,k]; x is not read above the diagonal. y may alias
	// x. The masked y are exactly 0, so the gradient with respect to x is scale times
	// SoftmaxBackward(y, dy, dx, batch*seq, seq) (0 above the diagonal): a layer folds
	// the scale into the GEMMs that follow (their Alpha).
	CausalSoftmax(x, y Buffer, batch, seq int, scale float32) error

	// Binary computes c = a op b elementwise over buffers of equal length; c may alias a or b.
	Binary(op BinaryOp, a, b, c Buffer) error
	// Broadcast computes y[o,m,i] = x[o,m,i] op v[m] with x and y of shape s and v of
	// length s.Mid: adding a bias of cols elements to every row of a rows×cols matrix is
	// Shape3{rows, cols, 1}; a per-channel op on NCHW data is Shape3{N, C, H*W}. y may
	// alias x.
	Broadcast(op BinaryOp, x, v, y Buffer, s Shape3) error
	// Axpby computes y = alpha*x + beta*y over float32 buffers of equal length. With
	// beta == 0, y is not read (NaNs in it do not propagate), as Gemm's C.
	Axpby(alpha float32, x Buffer, beta float32, y Buffer) error
	// Reduce reduces x of shape s over its middle axis into y of shape (s.Outer, s.Inner):
	// y[o,i] = reduce over m of x[o,m,i]. ArgMax writes int32 indices (first maximum).
	Reduce(op ReduceOp, x, y Buffer, s Shape3) error

	// Loss computes per-row losses (and, for SoftmaxCrossEntropy, the probabilities), see LossArgs.
	Loss(a LossArgs) error
	// LossBackward computes the gradient of Scale * sum of the per-row losses with
	// respect to the loss input, see LossArgs.
	LossBackward(a LossArgs) error

	// Update applies one optimizer step to param from grad, using and updating the state
	// buffers m and v (nil where the op has no such state: SGD uses neither, Momentum uses m).
	Update(op OptOp, h Hyper, param, grad, m, v Buffer) error

	// AddRows adds the int32 row indices ids to set, a row set of a table (RowSetLen):
	// each index not yet in the set is appended, in the order of its first appearance;
	// the others change nothing. Its cost is proportional to ids.Len(). An index outside
	// the table is an error on backends that can check it without waiting (cpu, before
	// anything changes); the CUDA backend skips it.
	AddRows(set, ids Buffer) error
	// UpdateRows is Update restricted to the rows of set, a row set of param's table of
	// param.Len()/rowLen rows (a lazy, sparse update): for each row r in the set, the
	// elements [r*rowLen, (r+1)*rowLen) of param, m and v take one step of op with h,
	// computed as Update computes it, and grad's row r is then zeroed; then the set is
	// emptied. Rows outside the set are neither read nor written: their moments do not
	// decay and AdamW's decay does not shrink them. h.Step (Adam's bias correction) is
	// the caller's step count for the whole parameter, not a count per row: these are
	// the semantics of PyTorch's SparseAdam and TensorFlow Addons' LazyAdam. The cost is
	// proportional to the rows in the set.
	UpdateRows(op OptOp, h Hyper, param, grad, m, v, set Buffer, rowLen int) error
	// ClearRows zeroes the rows of grad (rows of rowLen elements) that set lists, then
	// empties set: the gradient reset of a sparse parameter whose gradient is zero outside
	// its row set.
	ClearRows(grad, set Buffer, rowLen int) error

	// DropoutMask fills mask (float32) with 1/(1-rate) where the Philox draw for element
	// i is kept and 0 where it is dropped: element i keeps when
	// PhiloxUint32(seed, offset, i)>>8 >= DropThreshold(rate). 0 <= rate < 1.
	DropoutMask(mask Buffer, rate float32, seed, offset uint64) error

	// Gather copies rows: dst[r,:] = scale * src[idx[r],:] for r < idx.Len(), rows of
	// rowLen elements. idx is int32. src may be float32 or uint8 with a float32 dst (uint8
	// images are widened and scaled on the device), or int32 with an int32 dst (labels;
	// scale is ignored). An index outside src is an error on backends that can check it
	// without waiting (cpu); the caller validates indices. With a float32 table as src and
	// token ids as idx, it is an embedding's forward pass.
	Gather(dst, src, idx Buffer, rowLen int, scale float32) error
	// ScatterAdd is Gather's adjoint on float32 rows: dst[idx[r],:] += src[r,:] for
	// r < idx.Len(), rows of rowLen elements; an embedding's backward pass (dst the
	// table's gradient, accumulated). Every backend adds the rows landing on one row of
	// dst in increasing r, so the result is the same bits whatever the thread count, and
	// the same on every backend. An index outside dst is an error on backends that can
	// check it without waiting (cpu, before anything is written); the CUDA backend skips
	// such rows.
	ScatterAdd(dst, src, idx Buffer, rowLen int) error
	// Permute copies x into y with its axes reordered, see PermuteArgs. y must not
	// overlap x.
	Permute(x, y Buffer, p PermuteArgs) error

	// Im2Col unfolds x (N,C,H,W) into col (N, C*KH*KW, OH*OW) for convolution as a
	// batched GEMM; padding reads as zero.
	Im2Col(x, col Buffer, g ConvGeom) error
	// Col2Im is Im2Col's adjoint: dx (N,C,H,W) = sum of the col (N, C*KH*KW, OH*OW)
	// entries that read each input element. dx is overwritten.
	Col2Im(col, dx Buffer, g ConvGeom) error
	// Conv computes Y = the convolution of X with the filters W, plus the bias B when
	// it is set, see ConvArgs.
	Conv(a ConvArgs) error
	// ConvBackward computes DW and DB (added to or overwriting them, by a.Accumulate)
	// and, when set, DX (overwritten) from DY, X and W, see ConvArgs.
	ConvBackward(a ConvArgs) error
	// Pool computes y (N,C,OH,OW) from windows of x (N,C,H,W): their maximum (padding
	// never wins) or their mean (padding counts as zero, divided by KH*KW).
	Pool(op PoolOp, x, y Buffer, g ConvGeom) error
	// PoolBackward computes dx (overwritten) from dy. MaxPool routes each dy to the first
	// maximum of its window in row-major window order, found again from x and y: the
	// first element of the window (padding skipped) whose x equals y. AvgPool spreads
	// dy/(KH*KW) over the window's elements (padding absorbs its share).
	PoolBackward(op PoolOp, x, y, dy, dx Buffer, g ConvGeom) error

	// BatchNorm normalises per channel, see BatchNormArgs.
	BatchNorm(a BatchNormArgs) error
	// BatchNormBackward computes DX, DGamma and DBeta (all overwritten) from a
	// training-mode BatchNorm's saved statistics, see BatchNormArgs.
	BatchNormBackward(a BatchNormArgs) error
	// LayerNorm normalises each row over its columns, see LayerNormArgs.
	LayerNorm(a LayerNormArgs) error
	// LayerNormBackward computes DX (overwritten) and adds into DGamma and DBeta, see
	// LayerNormArgs.
	LayerNormBackward(a LayerNormArgs) error

	// RNNCell runs the elementwise part of one step of an LSTM or GRU, see RNNCellArgs.
	RNNCell(a RNNCellArgs) error
	// RNNCellBackward computes the gradients of one step's gate pre-activations (and of
	// the previous states), all overwritten, see RNNCellArgs.
	RNNCellBackward(a RNNCellArgs) error

	// Augment writes to y each image of x (N,C,H,W) shifted by a random whole number of
	// pixels in [-MaxShift, MaxShift] in each direction (vacated pixels are 0) and, with
	// FlipH, mirrored left-right with probability 1/2, see AugmentArgs. y must not alias x.
	Augment(x, y Buffer, a AugmentArgs) error
}
