// Package device is the boundary between the engine and the hardware it runs on.
//
// The layering, from the top:
//
//	cmd/gputrain, your program      picks a backend by name: device.Open("auto" | "cpu" | "cuda")
//	train                           Fit / Evaluate / Predict, optimizers: call nn and device
//	nn                              layers and losses: each forward/backward is a few Backend calls
//	tensor                          a shape plus a Buffer on one Backend; converts to gorgonia.org/tensor
//	device (this package)           the Backend interface, op enums, argument structs, the registry
//	cpu, device/cuda                the two implementations of Backend
//
// A Backend owns memory (Alloc, View, Write*, Read*, Copy) and runs op families. Each
// family is one method taking an op enum or an argument struct, so that a new activation or
// optimizer is a new enum value, not a new interface: Gemm, Unary/UnaryBackward,
// Softmax/SoftmaxBackward, CausalSoftmax, Binary/Broadcast/Axpby, Reduce,
// Loss/LossBackward, Update (and its sparse form AddRows/UpdateRows/ClearRows), DropoutMask, Gather/ScatterAdd, Permute, Conv/ConvBackward,
// Im2Col/Col2Im,
// Pool/PoolBackward, BatchNorm/BatchNormBackward, LayerNorm/LayerNormBackward,
// RNNCell/RNNCellBackward and Augment. An op, or an op variant, that a backend does not
// implement returns an *UnsupportedError (the CUDA backend's Gemm past cuBLAS's 32-bit
// sizes is one); no backend ever falls back to another one.
//
// Gradients: an op's input gradient (dx) is overwritten; a parameter gradient (a
// LayerNorm's DGamma and DBeta, an embedding table's gradient through ScatterAdd) is added
// into, so that a weight used twice, or several micro-batches, sum their contributions.
//
// All tensors are row-major and contiguous. Shapes travel as plain ints next to the
// buffers; every backend checks them with the shared Check* functions of this package, so
// the same mistake gives the same error on every device.
//
// Ops are asynchronous on devices that can be (CUDA): a method returns once the op is
// queued, and a fault inside a kernel surfaces at the next Read* or Sync. Reads wait for
// every op queued before them. A Backend is not safe for concurrent use.
//
// Random numbers (dropout masks, augmentation) come from Philox4x32-10, a counter-based
// generator: the value for element i depends only on (seed, offset, i), so every backend
// draws the same numbers for the same seed, bit for bit. See Philox.
//
// Backends register themselves by name in their package's init (Register), the way
// database/sql drivers do; a program selects them with a blank import:
//
//	import _ "github.com/gputrain/gputrain/cpu"
package device
