#!/bin/sh
# cuda-check.sh: everything about the CUDA build that can be checked without a GPU
# (make cuda-check; CI runs it).
#
#  1. fetch and cache the toolchain pieces (fetch-toolchain.sh)
#  2. build link-time stubs: libcuda.so.1 and libcublas.so.$CUBLAS_MAJOR, unversioned
#  3. go vet -tags cuda ./...
#  4. build gputrain and every test binary with -tags cuda, and check what they need at
#     run time: libcuda.so.1, libcublas.so.$CUBLAS_MAJOR and libc, no symbol versions
#  5. the committed PTX is what kernels/*.cu produce, and ptxas assembles it for sm_80
#     and sm_90 (build-ptx.sh check)
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
export CGO_ENABLED=1 CGO_CFLAGS="-I$CUDA_INC" CGO_LDFLAGS="-L$STUBS"

step "go vet -tags cuda ./..."
go vet -tags cuda ./...

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

step "PTX"
sh internal/cudabuild/build-ptx.sh check
step "ok"
