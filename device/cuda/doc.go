// Package cuda is the engine's NVIDIA GPU backend: an implementation of device.Backend on
// the CUDA driver API (gorgonia.org/cu: context, stream, memory, module load, launch),
// cuBLAS for Gemm, and the engine's own kernels (package kernels: CUDA C compiled to PTX,
// embedded, JIT-compiled by the driver when the backend opens).
//
// The real backend is behind the `cuda` build tag. gorgonia.org/cu initialises the
// driver in its package init and exits the process when that fails, so a binary that
// imports it cannot start without an NVIDIA driver and GPU: the CPU build never imports
// it. Without the tag this package only registers "cuda" with an opener that answers
// device.ErrNotCompiled ("this binary was built without CUDA support (build with -tags
// cuda)"). With the tag, "cuda" opens device 0 and, having priority 10 (cpu has 0), is
// what device.Open("auto") picks on a CUDA build.
//
// Files mirror package cpu by op family (matmul.go, activation.go, binary.go, …) and the
// kernels by file name (kernels/activation.cu, …). memory.go holds the caching device
// allocator; graph.go records a training step as a CUDA graph (Backend.Step) and replays
// it, patching the kernel parameters that change. docs/cuda.md explains the design.
//
// Every op is queued on one stream and returns at once; a fault inside a kernel shows up
// at the next Read*, Sync or Step. Every op runs on the GPU: none falls back to the CPU.
package cuda
