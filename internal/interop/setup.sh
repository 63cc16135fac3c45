#!/usr/bin/env bash
# setup.sh makes the Python environment of the interop tests (train/checkpoint
# TestPyTorchLoadsCheckpoint, train/tensorboard TestTensorBoardReads*, nn/onnx
# TestONNXRuntimeRunsModels; device/devicetest TestGoldenFilesAreCurrent and `make
# golden`, which run device/devicetest/golden/make_golden.py): torch, safetensors, numpy,
# tensorboard, onnx and onnxruntime from PyPI, in the repository's git-ignored .venv (the one bench/setup.sh uses too; the
# pinned versions agree), or in $VENV. It is idempotent: with unchanged requirements a
# second run only checks the imports.
#
# Usage: bash internal/interop/setup.sh          (PYTHON=python3.11 by default)
#        VENV=/some/dir bash internal/interop/setup.sh
#        FORCE=1 bash internal/interop/setup.sh (reinstall even if the stamp matches)
# Then:  go test ./train/checkpoint -run PyTorch, go test ./train/tensorboard,
#        go test ./nn/onnx (they find .venv/bin/python, or set
#        GPUTRAIN_PYTHON=$VENV/bin/python; GPUTRAIN_REQUIRE_INTEROP=1 turns the
#        tests' skips into failures, for CI).
#
# The install is a full lock taken with --no-deps (see requirements.txt for why):
# about 2.75 GB downloaded and 4.2 GB on disk (torch 1.2 GB, the nvidia-* libraries it
# loads 2.8 GB; tensorboard, onnx and onnxruntime 42 MB of wheels), about 8.5 minutes
# on a 2-core machine with a fast link.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="${VENV:-$root/.venv}"
req="$root/internal/interop/requirements.txt"
python="${PYTHON:-python3.11}"

if [ ! -x "$venv/bin/python" ]; then
	if ! command -v "$python" >/dev/null 2>&1; then
		echo "internal/interop/setup.sh: $python not found (set PYTHON to a Python 3.11 interpreter)" >&2
		exit 1
	fi
	echo "internal/interop/setup.sh: creating $venv with $("$python" --version 2>&1)"
	"$python" -m venv "$venv"
fi

stamp="$venv/.interop-requirements.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [ "${FORCE:-0}" != 1 ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
	echo "internal/interop/setup.sh: $venv is up to date with internal/interop/requirements.txt"
else
	start=$(date +%s)
	"$venv/bin/python" -m pip install --no-deps -r "$req"
	echo "$want" >"$stamp"
	echo "internal/interop/setup.sh: installed in $(($(date +%s) - start)) s; $(du -sh "$venv" | cut -f1) on disk"
fi

"$venv/bin/python" - <<'PY'
import platform
import numpy
import safetensors
import torch
import onnx
import onnx.checker
import onnxruntime
from tensorboard.backend.event_processing import event_accumulator
import tensorboard
print(f"python      {platform.python_version()}")
print(f"numpy       {numpy.__version__}")
print(f"safetensors {safetensors.__version__}")
print(f"torch       {torch.__version__} (cuda available: {torch.cuda.is_available()})")
print(f"tensorboard {tensorboard.__version__}")
print(f"onnx        {onnx.__version__}")
print(f"onnxruntime {onnxruntime.__version__}")
PY
