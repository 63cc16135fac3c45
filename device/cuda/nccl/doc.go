// Package nccl binds NVIDIA's NCCL (the collective library of the nccl kind of
// device/comm) without its headers and without linking it: libnccl.so.2 is loaded at run
// time with dlopen, so a CUDA build runs on a machine without NCCL and says what is
// missing only when a job asks for it. The few prototypes it calls are declared here.
//
// The real binding is behind the `cuda` build tag (it needs cgo and dlopen from libc,
// nothing from CUDA). Without the tag, Load answers that the binary was built without
// CUDA support.
//
// Where libnccl.so.2 is looked for, in order:
//
//	$GPUTRAIN_NCCL_LIB      the file, or a directory holding libnccl.so.2
//	libnccl.so.2            the dynamic loader's search: LD_LIBRARY_PATH, ldconfig's cache
//
// NVIDIA's PyPI wheels nvidia-nccl-cu13 and nvidia-nccl-cu12 install it as
// site-packages/nvidia/nccl/lib/libnccl.so.2; internal/cudabuild/fetch-nccl.sh fetches
// and caches it.
//
// Version and UniqueID work without a GPU (CI checks them); InitRank and the
// collectives need one GPU per rank, current in the calling thread's CUDA context.
package nccl
