#!/usr/bin/env bash
# session.sh measures gputrain on the CPU next to the fastest PyTorch and Keras settings
# (docs/perf.md), interleaved so that the shared machine's load falls on all of them:
# ROUNDS rounds of [gputrain t1, torch t1, keras t1, gputrain t2, torch t2, keras t2],
# 3 epochs each, then gputrain 10 epochs at 1 and 2 threads (accuracy), then the peak
# RSS of a 1-epoch run. Every result's JSON line goes to OUT (gputrain lines get a
# "label" and "loadavg"), logs to OUT.log. Read with:
#   $PY bench/compare.py --group OUT
#
# Usage: [ROUNDS=3] [PY=.venv/bin/python] [DATA=data/mnist] bash bench/session.sh [OUT]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
out="${1:-build/session/session.jsonl}"
rounds="${ROUNDS:-3}"
py="${PY:-$root/.venv/bin/python}"
data="${DATA:-data/mnist}"
mkdir -p "$(dirname "$out")"
go build -o build/gputrain ./cmd/gputrain

# gputrain LABEL EPOCHS THREADS: one run, its JSON line labelled, with its load average
# and the process CPU seconds per epoch (user+sys of the whole run, loading and test
# included, over the epochs).
gputrain() {
	local label=$1 epochs=$2 threads=$3 load cpu line
	load=$(cut -d' ' -f1 /proc/loadavg)
	echo "== $label: build/gputrain -device cpu -threads $threads -epochs $epochs -data $data -json" | tee -a "$out.log"
	line=$( { /usr/bin/time -f 'cpu %U %S' build/gputrain -device cpu -threads "$threads" -epochs "$epochs" -data "$data" -json \
		2>"$out.time" | tee -a "$out.log" | tail -n 1; } )
	cpu=$(awk '/^cpu/ {print ($2+$3)}' "$out.time")
	"$py" - "$label" "$load" "$cpu" "$epochs" "$line" >>"$out" <<'PYEOF'
import json, sys
label, load, cpu, epochs, line = sys.argv[1:]
r = json.loads(line)
r["label"], r["loadavg"] = label, float(load)
r["process_cpu_seconds_per_epoch"] = float(cpu) / int(epochs)
print(json.dumps(r))
PYEOF
}

ref() {
	local label=$1 script=$2; shift 2
	echo "== $label: $py bench/$script --data $data --epochs 3 $* --json" | tee -a "$out.log"
	"$py" "bench/$script" --data "$data" --epochs 3 "$@" --label "$label" --json 2>>"$out.log.stderr" |
		tee -a "$out.log" | tail -n 1 >>"$out"
}

for ((round = 1; round <= rounds; round++)); do
	echo "== round $round" | tee -a "$out.log"
	gputrain "gputrain t1" 3 1
	ref "torch t1 adam=fused" torch_mlp.py --threads 1 --adam fused
	ref "keras t1 jit steps_per_execution=32" keras_mlp.py --threads 1 --jit true --steps-per-execution 32
	gputrain "gputrain t2" 3 2
	ref "torch t2 adam=fused" torch_mlp.py --threads 2 --adam fused
	ref "keras t2 jit steps_per_execution=32" keras_mlp.py --threads 2 --jit true --steps-per-execution 32
done
gputrain "gputrain t1 10 epochs" 10 1
gputrain "gputrain t2 10 epochs" 10 2
/usr/bin/time -v build/gputrain -device cpu -epochs 1 -data "$data" 2>&1 >/dev/null |
	grep -E 'Maximum resident|Elapsed' | tee -a "$out.log"
echo "bench/session.sh: results in $out"
