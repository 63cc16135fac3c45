#!/usr/bin/env bash
# setup.sh creates the reference-systems virtual environment .venv at the repository
# root (git-ignored) and installs bench/requirements.txt into it, then prints the
# versions. It is idempotent: a second run with unchanged requirements only prints.
#
# Usage: bash bench/setup.sh            (PYTHON=python3.11 by default)
#        FORCE=1 bash bench/setup.sh    (reinstall even if the stamp matches)
#
# Everything comes from PyPI through pip. The install is a full lock installed with
# --no-deps (see the header of requirements.txt for why): about 5.8 GB on disk
# (torch 1.2 GB, the nvidia-* libraries it needs 3.0 GB, tensorflow-cpu 1.3 GB).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
req="$root/bench/requirements.txt"
python="${PYTHON:-python3.11}"

if ! command -v "$python" >/dev/null 2>&1; then
	echo "bench/setup.sh: $python not found (set PYTHON to a Python 3.11 interpreter)" >&2
	exit 1
fi

if [ ! -x "$venv/bin/python" ]; then
	echo "bench/setup.sh: creating $venv with $("$python" --version 2>&1)"
	"$python" -m venv "$venv"
fi

stamp="$venv/.bench-requirements.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [ "${FORCE:-0}" != 1 ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
	echo "bench/setup.sh: $venv is up to date with bench/requirements.txt"
else
	start=$(date +%s)
	"$venv/bin/python" -m pip install --no-deps -r "$req"
	echo "$want" >"$stamp"
	echo "bench/setup.sh: installed in $(($(date +%s) - start)) s; $(du -sh "$venv" | cut -f1) on disk"
fi

# Print the versions, importing each framework for real (quietly: TF logs at import).
TF_CPP_MIN_LOG_LEVEL=3 "$venv/bin/python" - <<'EOF'
import platform
import numpy
import torch
import tensorflow as tf
import keras
print(f"python      {platform.python_version()}")
print(f"numpy       {numpy.__version__}")
print(f"torch       {torch.__version__} (cuda available: {torch.cuda.is_available()}, "
      f"threads: {torch.get_num_threads()})")
print(f"tensorflow  {tf.__version__}")
print(f"keras       {keras.__version__} (backend: {keras.backend.backend()})")
EOF
