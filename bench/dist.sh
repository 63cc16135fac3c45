#!/usr/bin/env bash
# dist.sh is make bench's DIST section (bench/run.sh calls it; it runs alone too): the
# reference job (MNIST MLP, Adam, batch 32 per rank, 1 thread per rank, no validation
# split) trained by 2 ranks under mpirun against 1 rank, at the same per-rank batch, in
# interleaved rounds. Each round runs, in turn:
#
#   one   gputrain alone (1 rank x 1 thread)
#   two   mpirun -np 2 gputrain (2 ranks x 1 thread, global batch 64; Open MPI binds each
#         rank to a core, and Go then runs with GOMAXPROCS=1)
#   free  the same with --bind-to none (the ranks float over the cores; GOMAXPROCS is the
#         machine's)
#   pair  two independent single-rank runs at the same time: what this machine gives two
#         processes with no communication at all (2.0x one on two free cores), the
#         ceiling the 2-rank job is measured against
#
# Throughput is examples / the epoch's training seconds (rank 0's clock for the job),
# the median over the run's epochs; the table gives medians over the rounds, the ratios
# two/one and pair/one, and two/pair (the job's efficiency against the machine's own
# ceiling). Output: build/bench/dist.jsonl (raw) and build/bench/dist.md.
#
#   [ROUNDS=3] [EPOCHS=3] [BATCH=32] bash bench/dist.sh
#
# Needs Open MPI (openmpi-bin, libopenmpi-dev) and MNIST (make data). The machine may be
# shared: the load average is recorded with each round.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
rounds="${ROUNDS:-3}"
epochs="${EPOCHS:-3}"
out=build/bench
mkdir -p "$out"
if ! command -v mpirun >/dev/null 2>&1 || ! pkg-config --exists ompi-c 2>/dev/null; then
  echo "== data-parallel job: skipped (no Open MPI; Debian: apt-get install openmpi-bin libopenmpi-dev)"
  exit 0
fi
make -s data
CGO_ENABLED=1 go build -tags mpi -o build/gputrain-mpi ./cmd/gputrain
if [ "$(id -u)" = 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
# containers without CAP_SYS_PTRACE cannot use the shared-memory transport's single-copy
# mode (CMA); copy-in/copy-out works everywhere (docs/perf.md: about the same for the MLP)
export OMPI_MCA_btl_vader_single_copy_mechanism="${OMPI_MCA_btl_vader_single_copy_mechanism:-none}"
args=(-device cpu -threads 1 -batch "${BATCH:-32}" -val-split 0 -epochs "$epochs" -progress off -json)
rate() { # the -json line on stdin -> "<label> <median examples/s> <load>"
  python3 -c '
import json, statistics, sys
r = json.loads(sys.stdin.read().strip().splitlines()[-1])
print(sys.argv[1], round(statistics.median(e["examples"] / e["train_seconds"] for e in r["history"])), sys.argv[2])' "$1" "$2"
}
: > "$out/dist.jsonl"
for r in $(seq "$rounds"); do
  load=$(cut -d' ' -f1 /proc/loadavg)
  echo "== data-parallel round $r (load $load): one, two, free, pair"
  build/gputrain-mpi "${args[@]}" | rate one "$load" >> "$out/dist.jsonl"
  mpirun -np 2 --bind-to core build/gputrain-mpi "${args[@]}" | rate two "$load" >> "$out/dist.jsonl"
  mpirun -np 2 --bind-to none build/gputrain-mpi "${args[@]}" | rate free "$load" >> "$out/dist.jsonl"
  build/gputrain-mpi "${args[@]}" > "$out/pair-a.txt" & a=$!
  build/gputrain-mpi "${args[@]}" > "$out/pair-b.txt"
  wait "$a"
  pa=$(rate x "$load" < "$out/pair-a.txt" | cut -d' ' -f2)
  pb=$(rate x "$load" < "$out/pair-b.txt" | cut -d' ' -f2)
  echo "pair $((pa + pb)) $load" >> "$out/dist.jsonl"
done
python3 - "$out/dist.jsonl" "${BATCH:-32}" <<'PY' | tee "$out/dist.md"
import collections, statistics, sys
v, loads = collections.defaultdict(list), []
for line in open(sys.argv[1]):
    k, x, load = line.split()
    v[k].append(float(x))
    loads.append(float(load))
one, two, free, pair = (statistics.median(v[k]) for k in ("one", "two", "free", "pair"))
print(f"reference job, 1 thread per rank, batch {sys.argv[2]} per rank; median examples/s over {len(v['one'])} rounds (load {min(loads):.1f}-{max(loads):.1f})")
print()
print("| run | examples/s | / one rank |")
print("|---|---|---|")
print(f"| one rank | {one:.0f} | 1.00 |")
print(f"| two ranks (mpirun -np 2, each bound to a core) | {two:.0f} | {two / one:.2f} |")
print(f"| two ranks (mpirun -np 2 --bind-to none) | {free:.0f} | {free / one:.2f} |")
print(f"| two separate single-rank runs at once (this machine's ceiling) | {pair:.0f} | {pair / one:.2f} |")
print()
print(f"two ranks reach {two / pair:.0%} (bound) and {free / pair:.0%} (unbound) of what two processes get here without communicating")
PY
