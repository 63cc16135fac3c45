/*
 * cuda.h shim for building gorgonia.org/cu v0.9.6 against CUDA 13 headers.
 *
 * CUDA 13's cuda.h maps a dozen driver entry points to new ABIs (cuCtxCreate ->
 * cuCtxCreate_v4 with a params struct, cuMemAdvise -> cuMemAdvise_v2 with a
 * CUmemLocation, cuGraphAddDependencies -> _v2 with edge data, ...). gorgonia.org/cu
 * calls them with their CUDA 12 arguments, so it does not compile. The CUDA 13 driver
 * still exports the CUDA 12 entry points (the driver keeps every old ABI for binaries
 * built against older toolkits), so this header, put before the toolkit's include
 * directory (CGO_CFLAGS=-I<this dir> -I<toolkit include>), includes the real cuda.h and
 * maps those names back to the CUDA 12 entry points, declared with their CUDA 12
 * prototypes. With CUDA 12 or older headers it changes nothing.
 */
#ifndef GPUTRAIN_CUDA13_SHIM_H
#define GPUTRAIN_CUDA13_SHIM_H
#include_next <cuda.h>

#if CUDA_VERSION >= 13000
#ifdef __cplusplus
extern "C" {
#endif

#undef cuCtxCreate
#define cuCtxCreate cuCtxCreate_v2
CUresult CUDAAPI cuCtxCreate_v2(CUcontext *pctx, unsigned int flags, CUdevice dev);

#undef cuDeviceGetUuid
CUresult CUDAAPI cuDeviceGetUuid(CUuuid *uuid, CUdevice dev);

#undef cuEventElapsedTime
CUresult CUDAAPI cuEventElapsedTime(float *pMilliseconds, CUevent hStart, CUevent hEnd);

#undef cuMemAdvise
CUresult CUDAAPI cuMemAdvise(CUdeviceptr devPtr, size_t count, CUmem_advise advice, CUdevice device);

#undef cuMemPrefetchAsync
CUresult CUDAAPI cuMemPrefetchAsync(CUdeviceptr devPtr, size_t count, CUdevice dstDevice, CUstream hStream);

#undef cuGraphAddDependencies
CUresult CUDAAPI cuGraphAddDependencies(CUgraph hGraph, const CUgraphNode *from, const CUgraphNode *to, size_t numDependencies);

#undef cuGraphRemoveDependencies
CUresult CUDAAPI cuGraphRemoveDependencies(CUgraph hGraph, const CUgraphNode *from, const CUgraphNode *to, size_t numDependencies);

#undef cuGraphGetEdges
CUresult CUDAAPI cuGraphGetEdges(CUgraph hGraph, CUgraphNode *from, CUgraphNode *to, size_t *numEdges);

#undef cuGraphNodeGetDependencies
CUresult CUDAAPI cuGraphNodeGetDependencies(CUgraphNode hNode, CUgraphNode *dependencies, size_t *numDependencies);

#undef cuGraphNodeGetDependentNodes
CUresult CUDAAPI cuGraphNodeGetDependentNodes(CUgraphNode hNode, CUgraphNode *dependentNodes, size_t *numDependentNodes);

#undef cuStreamGetCaptureInfo
#undef cuStreamGetCaptureInfo_v2
CUresult CUDAAPI cuStreamGetCaptureInfo_v2(CUstream hStream, CUstreamCaptureStatus *captureStatus_out,
    cuuint64_t *id_out, CUgraph *graph_out, const CUgraphNode **dependencies_out, size_t *numDependencies_out);
#define cuStreamGetCaptureInfo cuStreamGetCaptureInfo_v2

#ifdef __cplusplus
}
#endif
#endif /* CUDA_VERSION >= 13000 */
#endif
