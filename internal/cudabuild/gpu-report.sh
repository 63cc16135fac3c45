#!/bin/sh
# gpu-report.sh LOGDIR [OUTDIR]: turn the logs of a GPU run (run-gpu.sh's LOG_DIR, as the
# device tool brought them back) into OUTDIR/<date>-<short commit>.md (OUTDIR defaults to
# docs/gpu) with the figures of internal/cudabuild/gpureport, and copy the run's small
# logs (summary, host facts, results, JSON, benchmark output; no file over 512 KiB) to
# OUTDIR/<date>-<short commit>/. Only ever run it on logs of a real run.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: gpu-report.sh LOGDIR [OUTDIR]" >&2; exit 2; }
logs=$1; outdir=${2:-$ROOT/docs/gpu}
[ -r "$logs/results.tsv" ] || { echo "gpu-report: $logs/results.tsv: not the logs of run-gpu.sh" >&2; exit 2; }
if [ -z "${2:-}" ]; then # into docs/gpu: only the logs of a run on a GPU
  if grep -qs FABRICATED "$logs/README" "$logs/host.txt"; then
    echo "gpu-report: $logs holds fabricated test input, not a GPU run: not writing to docs/gpu" >&2; exit 2
  fi
  if ! grep -q '^compute_capability: ' "$logs/host.txt"; then
    echo "gpu-report: $logs/host.txt names no GPU (nvidia-smi saw none): not a GPU run, not writing to docs/gpu" >&2; exit 2
  fi
fi
tool=$ROOT/build/gpureport
(cd "$ROOT" && go build -o "$tool" ./internal/cudabuild/gpureport)
name=$("$tool" -name "$logs")
base=${name%.md}
mkdir -p "$outdir/${name%.md}"
"$tool" -format markdown "$logs" > "$outdir/$name"
for f in "$logs"/*; do
  [ -f "$f" ] || continue
  if [ "$(wc -c < "$f")" -le 524288 ]; then cp "$f" "$outdir/${name%.md}/"; else echo "gpu-report: not copied (over 512 KiB): $f"; fi
done
echo "gpu-report: wrote $outdir/$name and $outdir/${name%.md}/"
gpu=$(sed -n 's/^gpu: //p' "$logs/host.txt"); date=$(sed -n 's/^date: //p' "$logs/host.txt" | cut -c1-10)
targets=$("$tool" -format table "$logs" | sed -n 's/^TARGETS *//p' | sed 's/  */ /g')
echo "gpu-report: for README.md: **Verified on a GPU: commit ${base#????-??-??-} on ${gpu:-?}, $date** ([report](docs/gpu/$name): ${targets:-?})."
