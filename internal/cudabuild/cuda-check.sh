#!/bin/sh
# cuda-check.sh: everything about the CUDA build that can be checked without a GPU
# (make cuda-check; CI runs it).
#
#  1. fetch and cache the toolchain pieces (fetch-toolchain.sh)
#  2. build link-time stubs: libcuda.so.1 and libcublas.so.$CUBLAS_MAJOR, unversioned
#  3. go vet -tags cuda ./... (and -tags "cuda mpi" ./device/... where Open MPI is
#     installed: the nccl kind of device/comm with its MPI bootstrap)
#  4. build gputrain and every test binary with -tags cuda, and check what they need at
#     run time: libcuda.so.1, libcublas.so.$CUBLAS_MAJOR and libc, no symbol versions
#  5. the committed PTX is what kernels/*.cu produce, and ptxas assembles it for sm_80
#     and sm_90 (build-ptx.sh check)
#  6. the conformance suite and the whole-training test on the CUDA backend's op code
#     with kernels/*.cu run by the CPU emulator (go test -tags cudaemu ./device/cuda),
#     whose stand-in cuBLAS reads blas.h's calls with the constants of emu_cublas.h:
#     checked first against the real headers' (blas-consts.c)
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/internal/cudabuild/env.sh"
cd "$ROOT"
t0=$(date +%s)
step() { echo "cuda-check: [$(( $(date +%s) - t0 ))s] $*"; }

step "toolchain"
sh internal/cudabuild/fetch-toolchain.sh
step "stubs"
CUBLAS_MAJOR=$CUBLAS_MAJOR sh internal/cudabuild/gen-stubs.sh build "$SYMDIR" "$STUBS" >/dev/null
export CGO_ENABLED=1 CGO_CFLAGS="$CUDA_CFLAGS" CGO_LDFLAGS="-L$STUBS"

step "go vet -tags cuda ./..."
go vet -tags cuda ./...
if pkg-config --exists ompi-c 2>/dev/null; then
  step "go vet -tags \"cuda mpi\" ./device/..."
  go vet -tags "cuda mpi" ./device/...
else
  echo "cuda-check: no Open MPI (pkg-config ompi-c): the cuda+mpi build is not vetted (make comm-check needs it too)"
fi

out=$ROOT/build/cuda; rm -rf "$out"; mkdir -p "$out"
step "go build -tags cuda ./cmd/gputrain"
go build -tags cuda -o "$out/gputrain" ./cmd/gputrain
for p in $(go list -tags cuda -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' ./...); do
  name=$(echo "${p#github.com/gputrain/gputrain/}" | tr / -)
  step "go test -c -tags cuda $p"
  go test -c -tags cuda -o "$out/$name.test" "$p"
done
step "run-time needs of the binaries"
sh internal/cudabuild/check-elf.sh "$out"/*

if [ "$CUDA_HEADERS" != cu13 ] && [ "${FETCH_CU13:-1}" = 1 ]; then
  # The GPU host runs CUDA 13: the code must compile against its headers too (through
  # the cuda13/cuda.h shim), and call the same driver and cuBLAS functions.
  step "go vet -tags cuda ./... and gputrain against the CUDA 13.0 headers"
  CGO_CFLAGS="$CUDA13_CFLAGS" go vet -tags cuda ./...
  if pkg-config --exists ompi-c 2>/dev/null; then
    CGO_CFLAGS="$CUDA13_CFLAGS" go vet -tags "cuda mpi" ./device/...
  fi
  CGO_CFLAGS="$CUDA13_CFLAGS" go build -tags cuda -o "$out/gputrain-cuda13" ./cmd/gputrain
  nm -D --undefined-only "$out/gputrain" | awk '$2 ~ /^cu/ { print $2 }' | sort > "$out/syms.default"
  nm -D --undefined-only "$out/gputrain-cuda13" | awk '$2 ~ /^cu/ { print $2 }' | sort > "$out/syms.cuda13"
  if ! diff "$out/syms.default" "$out/syms.cuda13"; then
    echo "cuda-check: the CUDA 13 build calls other CUDA functions than the default build (diff above)"; exit 1
  fi
  echo "cuda-check: CUDA 13.0 build ok, same $(wc -l < "$out/syms.default") CUDA functions"
fi

step "the emulator's cuBLAS constants against the CUDA 12.9 and 13.0 headers"
bc=$ROOT/build/blas-consts; rm -rf "$bc"; mkdir -p "$bc"
${CC:-cc} -DGT_EMU -I"$ROOT/device/cuda" -o "$bc/emu" internal/cudabuild/blas-consts.c
${CC:-cc} $CUDA_CFLAGS -o "$bc/real" internal/cudabuild/blas-consts.c
"$bc/emu" > "$bc/emu.txt"; "$bc/real" > "$bc/real.txt"
diff "$bc/real.txt" "$bc/emu.txt" || { echo "cuda-check: device/cuda/emu_cublas.h's constants differ from cublas_v2.h's (diff above)"; exit 1; }
if [ "$CUDA_HEADERS" != cu13 ] && [ "${FETCH_CU13:-1}" = 1 ]; then
  ${CC:-cc} $CUDA13_CFLAGS -o "$bc/real13" internal/cudabuild/blas-consts.c
  "$bc/real13" > "$bc/real13.txt"
  diff "$bc/real13.txt" "$bc/emu.txt" || { echo "cuda-check: emu_cublas.h's constants differ from CUDA 13's cublas_v2.h (diff above)"; exit 1; }
fi
echo "cuda-check: emu_cublas.h: the same $(wc -l < "$bc/emu.txt") constants as the real headers"

step "PTX"
sh internal/cudabuild/build-ptx.sh check

step "go test -tags cudaemu ./device/cuda (the kernels on the CPU emulator)"
CGO_CFLAGS= CGO_LDFLAGS= go test -tags cudaemu -count=1 ./device/cuda
step "ok"
