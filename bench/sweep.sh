#!/usr/bin/env bash
# sweep.sh runs the reference scripts once per setting (ROUNDS times over) and appends
# each run's final JSON line (with a "label" naming the setting) to OUT, the
# per-epoch lines to OUT.log. Torch and Keras settings alternate, and rounds repeat
# the whole list, so that a change in the shared machine's load falls on all settings.
# Read the results with: .venv/bin/python bench/compare.py OUT
#
# Usage: [ROUNDS=1] [ONLY=regex] [DATA=data/mnist] bash bench/sweep.sh [OUT] [EPOCHS]
#        (defaults: build/bench/sweep.jsonl, 3 epochs; ONLY keeps the labels it matches)
#
# Only variables named in a setting are changed, and only for that one command.
# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are never touched.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
out="${1:-build/bench/sweep.jsonl}"
epochs="${2:-3}"
data="${DATA:-data/mnist}"
rounds="${ROUNDS:-1}"
only="${ONLY:-.}"
py="$root/.venv/bin/python"
[ -x "$py" ] || { echo "bench/sweep.sh: $py missing: run bash bench/setup.sh" >&2; exit 1; }
mkdir -p "$(dirname "$out")"

# Each setting: label|script|environment (space-separated NAME=VALUE, or -)|flags
settings=(
	"torch t1|torch_mlp.py|-|--threads 1"
	"keras t1|keras_mlp.py|-|--threads 1"
	"torch t2|torch_mlp.py|-|--threads 2"
	"keras t2|keras_mlp.py|-|--threads 2"
	"torch t2 OMP_WAIT_POLICY=PASSIVE|torch_mlp.py|OMP_WAIT_POLICY=PASSIVE|--threads 2"
	"keras t1 jit_compile=True|keras_mlp.py|-|--threads 1 --jit true"
	"torch t1 env-threads=2|torch_mlp.py|OMP_NUM_THREADS=2 MKL_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2|--threads 1"
	"keras t1 steps_per_execution=32|keras_mlp.py|-|--threads 1 --steps-per-execution 32"
	"torch t1 adam=foreach|torch_mlp.py|-|--threads 1 --adam foreach"
	"keras t1 jit_compile=True steps_per_execution=32|keras_mlp.py|-|--threads 1 --jit true --steps-per-execution 32"
	"torch t1 adam=fused|torch_mlp.py|-|--threads 1 --adam fused"
	"keras t2 steps_per_execution=32|keras_mlp.py|-|--threads 2 --steps-per-execution 32"
	"keras t1 run_eagerly=True|keras_mlp.py|-|--threads 1 --eager"
)

for ((round = 1; round <= rounds; round++)); do
	for s in "${settings[@]}"; do
		IFS='|' read -r label script envs flags <<<"$s"
		[[ "$label" =~ $only ]] || continue
		[ "$envs" = - ] && envs=""
		echo "== round $round: $label: ${envs:+env $envs }$py bench/$script --data $data --epochs $epochs $flags --json" | tee -a "$out.log"
		# shellcheck disable=SC2086 # envs and flags are word lists on purpose
		env $envs "$py" "bench/$script" --data "$data" --epochs "$epochs" $flags \
			--label "$label" --json 2>>"$out.log.stderr" | tee -a "$out.log" | tail -n 1 >>"$out"
	done
done
echo "bench/sweep.sh: results in $out"
