/* blas-consts.c: prints the cuBLAS constants that device/cuda/blas.h uses. cuda-check
 * compiles it twice, against NVIDIA's headers and against the emulator's
 * device/cuda/emu_cublas.h (-DGT_EMU), and requires the same output: the emulator's
 * stand-in cuBLAS then reads blas.h's calls as the real library does. */
#include <stdio.h>
#ifdef GT_EMU
#include "emu_cublas.h"
#else
#include <cublas_v2.h>
#endif

#define P(name) printf("%s %d\n", #name, (int)(name))

int main(void) {
  P(CUBLAS_STATUS_SUCCESS);
  P(CUBLAS_STATUS_NOT_INITIALIZED);
  P(CUBLAS_STATUS_INVALID_VALUE);
  P(CUBLAS_STATUS_NOT_SUPPORTED);
  P(CUBLAS_OP_N);
  P(CUBLAS_OP_T);
  P(CUBLAS_OP_C);
  P(CUDA_R_32F);
  P(CUDA_R_16F);
  P(CUDA_R_16BF);
  P(CUBLAS_COMPUTE_32F);
  P(CUBLAS_COMPUTE_32F_PEDANTIC);
  P(CUBLAS_COMPUTE_32F_FAST_16F);
  P(CUBLAS_COMPUTE_32F_FAST_16BF);
  P(CUBLAS_COMPUTE_32F_FAST_TF32);
  P(CUBLAS_GEMM_DEFAULT);
  P(CUBLAS_DEFAULT_MATH);
  P(CUBLAS_TENSOR_OP_MATH);
  P(CUBLAS_PEDANTIC_MATH);
  P(CUBLAS_TF32_TENSOR_OP_MATH);
  return 0;
}
