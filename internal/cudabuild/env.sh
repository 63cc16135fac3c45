# env.sh: settings shared by the CUDA build scripts (sourced, POSIX sh). ROOT is set by
# the caller to the repository root.
#
#   CUDA_CACHE     where downloaded toolchain pieces are kept between runs
#                  (default ${XDG_CACHE_HOME:-$HOME/.cache}/gputrain-cuda)
#   CUDA_HEADERS   cu12 (default): CUDA 12.9 headers from NVIDIA's PyPI wheels;
#                  cu13: CUDA 13.0 headers from NVIDIA's PyPI wheels, behind the shim
#                  internal/cudabuild/cuda13/cuda.h (see there);
#                  debian: CUDA 11.8 headers from Debian's non-free nvidia-cuda-dev
#   CUDA_INC       a directory with cuda.h and cublas_v2.h (overrides CUDA_HEADERS)
#   CUBLAS_MAJOR   the soname major of the GPU host's libcublas (default 13)
CUDA_CACHE=${CUDA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gputrain-cuda}
CUDA_HEADERS=${CUDA_HEADERS:-cu12}
# ptxas and libdevice (and the cu12 headers) come from these wheels, pinned so that the
# PTX and the checks are reproducible.
CU12_WHEELS="nvidia-cuda-nvcc-cu12==12.9.86 nvidia-cuda-runtime-cu12==12.9.79 nvidia-cublas-cu12==12.9.1.4 nvidia-cuda-cccl-cu12==12.9.27"
CUDA_TOOLCHAIN=$CUDA_CACHE/cu12.9
# CUDA 13.0 headers (the GPU host's CUDA): cuda-check compiles against them too.
CU13_WHEELS="nvidia-cuda-runtime==13.0.96 nvidia-cublas==13.0.2.14 nvidia-cuda-cccl==13.0.85 nvidia-cuda-crt==13.0.88"
CUDA13_INC=$CUDA_CACHE/cu13.0/include
CUDA13_CFLAGS="-I$ROOT/internal/cudabuild/cuda13 -I$CUDA13_INC"
case $CUDA_HEADERS in
  cu12) CUDA_INC=${CUDA_INC:-$CUDA_TOOLCHAIN/include}; CUDA_CFLAGS="-I$CUDA_INC" ;;
  cu13) CUDA_INC=${CUDA_INC:-$CUDA13_INC}; CUDA_CFLAGS="-I$ROOT/internal/cudabuild/cuda13 -I$CUDA_INC" ;;
  debian) CUDA_INC=${CUDA_INC:-$CUDA_CACHE/debian-11.8/include}; CUDA_CFLAGS="-I$CUDA_INC" ;;
  *) echo "cudabuild: CUDA_HEADERS must be cu12, cu13 or debian, got $CUDA_HEADERS" >&2; exit 2 ;;
esac
CUBLAS_MAJOR=${CUBLAS_MAJOR:-13}
# NCCL for the nccl kind of device/comm: libnccl.so.2 from NVIDIA's PyPI wheel, loaded at
# run time (fetch-nccl.sh; the NCCL loader's test needs no GPU).
NCCL_WHEEL=${NCCL_WHEEL:-nvidia-nccl-cu13==2.32.6}
NCCL_DIR=$CUDA_CACHE/nccl-$(echo "$NCCL_WHEEL" | sed 's/.*==//')
STUBS=$ROOT/build/stubs$CUBLAS_MAJOR
SYMDIR=$ROOT/internal/cudabuild/syms
