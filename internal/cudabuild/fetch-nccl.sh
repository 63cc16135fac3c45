#!/bin/sh
# fetch-nccl.sh: get libnccl.so.2 from NVIDIA's PyPI wheel ($NCCL_WHEEL, see env.sh) and
# cache it as $NCCL_DIR/lib/libnccl.so.2; a second run finds the cache. The last line of
# the output is the library's path, for GPUTRAIN_NCCL_LIB:
#
#   GPUTRAIN_NCCL_LIB=$(sh internal/cudabuild/fetch-nccl.sh | tail -n 1)
#
# About 200 MB downloaded and 190 MB on disk. The library is NVIDIA's: fetched, never
# committed, never linked (device/cuda/nccl loads it with dlopen).
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/internal/cudabuild/env.sh"
say() { echo "fetch-nccl: $*" >&2; }

if [ "$(cat "$NCCL_DIR/.complete" 2>/dev/null)" != "$NCCL_WHEEL" ]; then
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  say "downloading $NCCL_WHEEL"
  python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$tmp" "$NCCL_WHEEL" >&2
  rm -rf "$NCCL_DIR"; mkdir -p "$NCCL_DIR/lib"
  python3 - "$tmp" "$NCCL_DIR/lib" <<'PY'
import glob, os, shutil, sys, zipfile
whl = glob.glob(sys.argv[1] + "/*.whl")[0]
with zipfile.ZipFile(whl) as z, z.open("nvidia/nccl/lib/libnccl.so.2") as src, open(sys.argv[2] + "/libnccl.so.2", "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
  printf '%s\n' "$NCCL_WHEEL" > "$NCCL_DIR/.complete"
  say "cached in $NCCL_DIR ($(du -sh "$NCCL_DIR" | cut -f1))"
fi
echo "$NCCL_DIR/lib/libnccl.so.2"
