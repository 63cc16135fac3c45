#!/usr/bin/env bash
# precision.sh: the CPU emulation's cost per -precision (docs/precision.md). The
# reference job (gputrain -device cpu defaults) in fp32, tf32, bf16 and fp16, EPOCHS
# epochs, THREADS threads, ROUNDS interleaved rounds (fp32, tf32, bf16, fp16, fp32, ...);
# prints each precision's median epoch time, its ratio to fp32's and the load average.
# Accuracies need the full 10 epochs (make bench runs 3): see docs/results/.
#
#   [ROUNDS=3] [EPOCHS=3] [THREADS=2] bash bench/precision.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
rounds=${ROUNDS:-3} epochs=${EPOCHS:-3} threads=${THREADS:-2}
out=build/bench; mkdir -p "$out"
go build -o build/gputrain ./cmd/gputrain
log=$out/precision.jsonl; : > "$log"
for r in $(seq "$rounds"); do
  for p in fp32 tf32 bf16 fp16; do
    load=$(cut -d' ' -f1 /proc/loadavg)
    line=$(build/gputrain -device cpu -precision "$p" -epochs "$epochs" -threads "$threads" -progress off -json | tail -n 1)
    printf '{"round":%d,"precision":"%s","load":%s,"run":%s}\n' "$r" "$p" "$load" "$line" >> "$log"
  done
done
python3 - "$log" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
med = {}
for p in ("fp32", "tf32", "bf16", "fp16"):
    rs = [r for r in rows if r["precision"] == p]
    med[p] = statistics.median(r["run"]["median_epoch_seconds"] for r in rs)
loads = [r["load"] for r in rows]
print("| precision | median epoch (s) | vs fp32 | test accuracy (last round) |")
print("| --- | --- | --- | --- |")
for p, m in med.items():
    acc = [r for r in rows if r["precision"] == p][-1]["run"]["test_accuracy"]
    print(f"| {p} | {m:.3f} | {m / med['fp32']:.2f}x | {acc:.4f} |")
print(f"\n{len(rows) // 4} interleaved rounds; load average {min(loads)}-{max(loads)}")
PY
