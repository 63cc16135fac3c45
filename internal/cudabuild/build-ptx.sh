#!/bin/sh
# build-ptx.sh: compile kernels/*.cu to PTX and validate it with ptxas.
#
#   build-ptx.sh write    regenerate kernels/ptx/*.ptx (make kernels)
#   build-ptx.sh check    compile into build/ptx, fail unless identical to kernels/ptx, and
#                         assemble every committed PTX with ptxas for $PTXAS_ARCHS
#   build-ptx.sh nvcc     compile with nvcc into build/ptx-nvcc and assemble it (a second
#                         opinion on the sources; needs nvcc, not committed)
#
# The committed PTX comes from clang-16's NVPTX back end (no CUDA SDK): target sm_80,
# PTX ISA 7.0, so the driver of any CUDA >= 11.0 system can load it and JIT it for its
# GPU (sm_80 and newer: A100, H100/H200, ...). Math functions come from NVIDIA's
# libdevice bitcode, taken with ptxas from the nvidia-cuda-nvcc-cu12 wheel by
# fetch-toolchain.sh.
#
# env: CLANG (clang-16), PTXAS, LIBDEVICE (default: from the toolchain cache),
#      PTXAS_ARCHS ("sm_80 sm_90"), NVCC (nvcc).
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/internal/cudabuild/env.sh"
mode=${1:-check}
CLANG=${CLANG:-clang-16}
PTXAS=${PTXAS:-$CUDA_TOOLCHAIN/bin/ptxas}
LIBDEVICE=${LIBDEVICE:-$CUDA_TOOLCHAIN/libdevice/libdevice.10.bc}
PTXAS_ARCHS=${PTXAS_ARCHS:-sm_80 sm_90}
SRC=$ROOT/kernels

die() { echo "build-ptx: $*" >&2; exit 1; }

clang_ptx() { # SRC.cu OUT.ptx
  command -v "$CLANG" >/dev/null || die "$CLANG not found (apt-get install clang-16)"
  [ -f "$LIBDEVICE" ] || die "no libdevice at $LIBDEVICE (run internal/cudabuild/fetch-toolchain.sh)"
  empty=$(mktemp -d)
  # --cuda-path at an empty dir and -nocudainc/-nocudalib: the output depends on the
  # sources, clang and libdevice only, never on whatever CUDA install the machine has.
  "$CLANG" -x cuda --cuda-path="$empty" --cuda-device-only -nocudainc -nocudalib \
    --cuda-gpu-arch=sm_80 --cuda-feature=+ptx70 -O3 -std=c++17 -Wall -Werror \
    -Xclang -mlink-builtin-bitcode -Xclang "$LIBDEVICE" \
    -I"$SRC" -S -o "$2" "$1"
  rmdir "$empty"
}

assemble() { # PTX...
  [ -x "$PTXAS" ] || die "no ptxas at $PTXAS (run internal/cudabuild/fetch-toolchain.sh)"
  for f in "$@"; do
    for a in $PTXAS_ARCHS; do
      "$PTXAS" -arch="$a" -o /dev/null "$f" || die "ptxas -arch=$a $f failed"
    done
    echo "build-ptx: $(basename "$f"): ptxas $PTXAS_ARCHS ok ($(grep -c '^\.visible \.entry' "$f") kernels)"
  done
}

case $mode in
write|check)
  out=$SRC/ptx
  [ "$mode" = write ] || out=$ROOT/build/ptx
  mkdir -p "$out"
  [ "$mode" = write ] && rm -f "$out"/*.ptx
  for cu in "$SRC"/*.cu; do
    clang_ptx "$cu" "$out/$(basename "$cu" .cu).ptx"
  done
  if [ "$mode" = check ]; then
    # the committed set must be exactly what the sources produce
    if ! diff -r "$SRC/ptx" "$out" >"$ROOT/build/ptx.diff" 2>&1; then
      head -n 40 "$ROOT/build/ptx.diff" >&2
      die "kernels/ptx differs from what kernels/*.cu produce: run 'make kernels' and commit"
    fi
    echo "build-ptx: kernels/ptx matches the sources ($(ls "$out" | wc -l) files)"
  fi
  assemble "$SRC"/ptx/*.ptx ;;
nvcc)
  NVCC=${NVCC:-nvcc}
  command -v "$NVCC" >/dev/null || die "$NVCC not found"
  out=$ROOT/build/ptx-nvcc; mkdir -p "$out"
  for cu in "$SRC"/*.cu; do
    "$NVCC" --ptx -arch=compute_80 -O3 -I"$SRC" -o "$out/$(basename "$cu" .cu).ptx" "$cu"
  done
  assemble "$out"/*.ptx ;;
*) die "usage: $0 write|check|nvcc" ;;
esac
