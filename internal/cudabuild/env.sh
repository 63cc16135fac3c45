# env.sh: settings shared by the CUDA build scripts (sourced, POSIX sh). ROOT is set by
# the caller to the repository root.
#
#   CUDA_CACHE     where downloaded toolchain pieces are kept between runs
#                  (default ${XDG_CACHE_HOME:-$HOME/.cache}/gputrain-cuda)
#   CUDA_HEADERS   cu12 (default): CUDA 12.9 headers from NVIDIA's PyPI wheels;
#                  debian: CUDA 11.8 headers from Debian's non-free nvidia-cuda-dev
#   CUDA_INC       a directory with cuda.h and cublas_v2.h (overrides CUDA_HEADERS)
#   CUBLAS_MAJOR   the soname major of the GPU host's libcublas (default 13)
CUDA_CACHE=${CUDA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gputrain-cuda}
CUDA_HEADERS=${CUDA_HEADERS:-cu12}
# ptxas and libdevice (and the cu12 headers) come from these wheels, pinned so that the
# PTX and the checks are reproducible.
CU12_WHEELS="nvidia-cuda-nvcc-cu12==12.9.86 nvidia-cuda-runtime-cu12==12.9.79 nvidia-cublas-cu12==12.9.1.4 nvidia-cuda-cccl-cu12==12.9.27"
CUDA_TOOLCHAIN=$CUDA_CACHE/cu12.9
case $CUDA_HEADERS in
  cu12) CUDA_INC=${CUDA_INC:-$CUDA_TOOLCHAIN/include} ;;
  debian) CUDA_INC=${CUDA_INC:-$CUDA_CACHE/debian-11.8/include} ;;
  *) echo "cudabuild: CUDA_HEADERS must be cu12 or debian, got $CUDA_HEADERS" >&2; exit 2 ;;
esac
CUBLAS_MAJOR=${CUBLAS_MAJOR:-13}
STUBS=$ROOT/build/stubs$CUBLAS_MAJOR
SYMDIR=$ROOT/internal/cudabuild/syms
