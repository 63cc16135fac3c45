#!/bin/sh
# fetch-toolchain.sh: get what the CUDA build needs and cache it under $CUDA_CACHE (see
# env.sh); a second run finds the cache and does nothing. Needs pip (PyPI) and, for the
# PTX, clang-16 (Debian); nothing is installed system-wide but clang-16, and only when it
# is missing and we are root.
#
#   $CUDA_TOOLCHAIN/bin/ptxas                       PTX validation (CUDA 12.9)
#   $CUDA_TOOLCHAIN/libdevice/libdevice.10.bc       math functions for clang's kernels
#   $CUDA_TOOLCHAIN/include/                        cuda.h, cublas_v2.h and what they include
#   $CUDA_CACHE/debian-11.8/include/                with CUDA_HEADERS=debian
#
# The headers are NVIDIA's (licensed, not redistributable by us): they are fetched, never
# committed.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/internal/cudabuild/env.sh"
say() { echo "fetch-toolchain: $*"; }

if ! command -v clang-16 >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing clang-16 (Debian)"
    apt-get install -y --no-install-recommends clang-16 >/dev/null 2>&1 ||
      { apt-get update >/dev/null && apt-get install -y --no-install-recommends clang-16 >/dev/null; }
  else
    say "clang-16 is missing: install it (Debian/Ubuntu: apt-get install clang-16)"; exit 1
  fi
fi

if [ "$(cat "$CUDA_TOOLCHAIN/.complete" 2>/dev/null)" != "$CU12_WHEELS" ]; then
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  say "downloading $CU12_WHEELS"
  python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$tmp" $CU12_WHEELS
  rm -rf "$CUDA_TOOLCHAIN"; mkdir -p "$CUDA_TOOLCHAIN/bin" "$CUDA_TOOLCHAIN/libdevice" "$CUDA_TOOLCHAIN/include"
  x="$tmp/x"; mkdir -p "$x"
  # a wheel is a zip: take only the members we need
  (cd "$x" && python3 - "$tmp" <<'PY'
import glob, sys, zipfile
want = ("nvidia/cuda_nvcc/bin/ptxas", "nvidia/cuda_nvcc/nvvm/libdevice/", "nvidia/cuda_nvcc/include/",
        "nvidia/cuda_runtime/include/", "nvidia/cublas/include/", "nvidia/cuda_cccl/include/nv/")
for whl in glob.glob(sys.argv[1] + "/*.whl"):
    with zipfile.ZipFile(whl) as z:
        z.extractall(members=[m for m in z.namelist() if m.startswith(want)])
PY
  )
  cp "$x/nvidia/cuda_nvcc/bin/ptxas" "$CUDA_TOOLCHAIN/bin/ptxas"; chmod +x "$CUDA_TOOLCHAIN/bin/ptxas"
  cp "$x/nvidia/cuda_nvcc/nvvm/libdevice/libdevice.10.bc" "$CUDA_TOOLCHAIN/libdevice/"
  for d in cuda_runtime cublas cuda_nvcc cuda_cccl; do cp -R "$x/nvidia/$d/include/." "$CUDA_TOOLCHAIN/include/"; done
  printf '%s\n' "$CU12_WHEELS" > "$CUDA_TOOLCHAIN/.complete"
  say "cached in $CUDA_TOOLCHAIN ($(du -sh "$CUDA_TOOLCHAIN" | cut -f1))"
fi

# CUDA 13.0 headers: always for cuda-check's second compile (FETCH_CU13=0 skips them)
if [ "${FETCH_CU13:-1}" = 1 ] || [ "$CUDA_HEADERS" = cu13 ]; then
  if [ "$(cat "$CUDA_CACHE/cu13.0/.complete" 2>/dev/null)" != "$CU13_WHEELS" ]; then
    tmp13=$(mktemp -d)
    say "downloading $CU13_WHEELS"
    python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$tmp13" $CU13_WHEELS
    rm -rf "$CUDA_CACHE/cu13.0"; mkdir -p "$CUDA13_INC"
    (cd "$tmp13" && python3 - "$tmp13" <<'PY'
import glob, sys, zipfile
for whl in glob.glob(sys.argv[1] + "/*.whl"):
    with zipfile.ZipFile(whl) as z:
        z.extractall(members=[m for m in z.namelist() if m.startswith("nvidia/cu13/include/")])
PY
    )
    cp -R "$tmp13/nvidia/cu13/include/." "$CUDA13_INC/"
    rm -rf "$tmp13"
    printf '%s\n' "$CU13_WHEELS" > "$CUDA_CACHE/cu13.0/.complete"
    say "cached CUDA 13.0 headers in $CUDA13_INC ($(du -sh "$CUDA13_INC" | cut -f1))"
  fi
fi

if [ "$CUDA_HEADERS" = debian ] && [ ! -f "$CUDA_CACHE/debian-11.8/.complete" ]; then
  # Needs contrib/non-free in the apt sources. 774 MB download, ~35 s to decompress.
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && apt-get download nvidia-cuda-dev >/dev/null)
  hdrs="cuda.h cublas_v2.h cublas_api.h cuComplex.h vector_types.h driver_types.h library_types.h
        cuda_fp16.h cuda_fp16.hpp cuda_bf16.h cuda_bf16.hpp crt/host_defines.h"
  dpkg-deb --fsys-tarfile "$tmp"/nvidia-cuda-dev_*.deb |
    tar -x -C "$tmp" $(for h in $hdrs; do printf './usr/include/%s ' "$h"; done)
  mkdir -p "$CUDA_CACHE/debian-11.8/include"
  cp -R "$tmp/usr/include/." "$CUDA_CACHE/debian-11.8/include/"
  touch "$CUDA_CACHE/debian-11.8/.complete"
  say "cached CUDA 11.8 headers in $CUDA_CACHE/debian-11.8"
fi
[ -f "$CUDA_INC/cuda.h" ] && [ -f "$CUDA_INC/cublas_v2.h" ] || { say "no cuda.h/cublas_v2.h in $CUDA_INC"; exit 1; }
say "headers: $CUDA_INC (CUDA $(sed -n 's/^#define CUDA_VERSION \([0-9]*\).*/\1/p' "$CUDA_INC/cuda.h")); ptxas: $("$CUDA_TOOLCHAIN/bin/ptxas" --version | tail -n1)"
