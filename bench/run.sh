#!/usr/bin/env bash
# run.sh is `make bench`: our SGEMM against OpenBLAS, the reference job's epoch time
# against PyTorch and Keras-on-TensorFlow, the cnn preset's epoch and its convolutions
# against PyTorch, side by side in one run, then tables of ratios. It installs what it
# needs itself (Python packages from PyPI into .venv, MNIST from the Go module proxy).
# Not part of CI's test path.
#
#   [ROUNDS=3] [EPOCHS=3] [THREADS="1 2"] [SGEMM=1] [JOB=1] [CNN=1] [CONV=1] [COMM=1] [DIST=1]
#   [GPT=1] [GPT_ROUNDS=2] [GPT_STEPS=2000] [GPT_THREADS=2] [GPT_STEP_ROUNDS=5] [GPT_STEP_STEPS=100]
#   [RNN=1] [RNN_EPOCHS=1] [RNN_LIMIT=0] [RECSYS=1] [SOAK=0] [PRECISION=1]
#   [CNN_EPOCHS=1] [CNN_LIMIT=10000] [PY=.venv/bin/python] bash bench/run.sh
#
# SGEMM: bench/sgemm_compare.py runs BenchmarkSgemm (./cpu) and OpenBLAS through numpy,
# once with this machine's OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE presets and once with them
# unset (only inside that benchmark command), at each thread count, interleaved in rounds.
# JOB: each round runs gputrain, PyTorch (1 thread: fused Adam) and Keras (jit_compile +
# steps_per_execution=32: their fastest honest settings here, see docs/perf.md) at each
# thread count; results go to build/bench/job-<threads>t.jsonl and the ratio table is per
# thread count. COMM: device/comm's MPI all-reduce (2 ranks x 1 thread under mpirun, cpu
# buffers, zero-copy and staged) at the gradient sizes of the reference MLP and the
# char-GPT, ROUNDS mpirun runs (needs Open MPI: openmpi-bin, libopenmpi-dev). DIST:
# bench/dist.sh, the reference job trained by 2 ranks x 1 thread against 1 rank x 1 thread
# at the same per-rank batch, and two separate 1-rank runs at once (the machine's ceiling).
# Medians; the machine may be shared, so the load average is recorded.
# CNN: each round runs gputrain -model cnn and PyTorch's same network (bench/torch_mlp.py
# --model cnn, fused Adam) for CNN_EPOCHS epochs on the first CNN_LIMIT training images
# at each thread count; results in build/bench/cnn-<threads>t.jsonl, a ratio table per
# thread count. CONV: bench/conv_compare.py times each convolution of the cnn preset,
# forward and backward, in gputrain (cpu.BenchmarkConv) and PyTorch, interleaved in
# rounds; the table goes to build/bench/conv.md.
# RNN: each round runs gputrain -model lstm:hidden=128 (row-sequential MNIST, batch 64,
# Adam) and PyTorch's nn.LSTM twin (bench/torch_rnn.py) for RNN_EPOCHS epochs on the
# first RNN_LIMIT training images (0: all) at each thread count, interleaved; results
# in build/bench/rnn-<threads>t.jsonl, a ratio table per thread count.
# RECSYS: the mf preset on InstEval (make data-insteval) against its PyTorch twin
# (bench/recsys_twin.py: the same split and ranking lists, written by bench/recsplit;
# the same model, init, penalty and lazy Adam as SparseAdam), RECSYS_EPOCHS (8) epochs,
# ROUNDS interleaved rounds at 2 threads; build/bench/recsys.jsonl and the table of
# bench/recsys_compare.py (epoch ratio, test RMSE of both, the baselines) in
# build/bench/recsys.md.
# GPT: the char-GPT (nanoGPT's CPU recipe) on the Shakespeare file (make data-text)
# against its PyTorch twin bench/torch_gpt.py at GPT_THREADS (2) threads: GPT_ROUNDS (2)
# full runs of GPT_STEPS (2000) steps back to back (val_loss, median ms/step;
# build/bench/gpt.jsonl and gpt.md), then GPT_STEP_ROUNDS (5) interleaved runs of
# GPT_STEP_STEPS (100) steps for the step-time ratio (gpt-steps.jsonl, gpt-steps.md).
# PRECISION: bench/precision.sh, the reference job's epoch in fp32, tf32, bf16 and fp16 on
# the CPU emulation, ROUNDS interleaved rounds of EPOCHS epochs (docs/precision.md).
# PY: a Python with the reference systems already installed (then .venv is not set up;
# CNN and CONV need only torch and numpy, JOB needs tensorflow too).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
rounds="${ROUNDS:-3}"
epochs="${EPOCHS:-3}"
threads="${THREADS:-1 2}"
out=build/bench
mkdir -p "$out"
py="${PY:-.venv/bin/python}"

if [ -z "${PY:-}" ]; then
  bash bench/setup.sh
fi
make -s data
echo "bench: load average $(cut -d' ' -f1-3 /proc/loadavg)"

if [ "${SGEMM:-1}" = 1 ]; then
  echo "== SGEMM: Go vs OpenBLAS (numpy), GFLOP/s"
  "$py" bench/sgemm_compare.py --python "$py" --rounds "$rounds" --threads "$(echo $threads | tr ' ' ,)" \
    2>"$out/sgemm.log" | tee "$out/sgemm.md"
fi

if [ "${JOB:-1}" = 1 ]; then
  go build -o build/gputrain ./cmd/gputrain
  for t in $threads; do : > "$out/job-${t}t.jsonl"; done
  for r in $(seq "$rounds"); do
    for t in $threads; do
      echo "== round $r, $t thread(s): gputrain, pytorch, keras ($epochs epochs each; load $(cut -d' ' -f1 /proc/loadavg))"
      ./build/gputrain -device cpu -threads "$t" -epochs "$epochs" -json | tail -n 1 >> "$out/job-${t}t.jsonl"
      "$py" bench/torch_mlp.py --data data/mnist --epochs "$epochs" --threads "$t" --adam fused --json | tail -n 1 >> "$out/job-${t}t.jsonl"
      "$py" bench/keras_mlp.py --data data/mnist --epochs "$epochs" --threads "$t" --jit true --steps-per-execution 32 --json 2>/dev/null |
        tail -n 1 >> "$out/job-${t}t.jsonl"
    done
  done
  for t in $threads; do
    echo "== reference job, $t thread(s): median epoch seconds over $rounds rounds, ratio to the faster reference"
    "$py" bench/compare.py --group "$out/job-${t}t.jsonl"
  done
fi

if [ "${COMM:-1}" = 1 ]; then
  if command -v mpirun >/dev/null 2>&1 && pkg-config --exists ompi-c 2>/dev/null; then
    echo "== MPI all-reduce (device/comm): 2 ranks x 1 thread, cpu buffers, median over $rounds mpirun runs"
    CGO_ENABLED=1 go test -tags mpi -c -o build/comm.test ./device/comm
    if [ "$(id -u)" = 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
    : > "$out/allreduce.txt"
    for r in $(seq "$rounds"); do
      echo "round $r, load $(cut -d' ' -f1 /proc/loadavg)" >> "$out/allreduce.txt"
      mpirun -np 2 build/comm.test -test.run '^$' -test.bench RankAllReduce -test.benchtime 200x >> "$out/allreduce.txt"
    done
    python3 - "$out/allreduce.txt" <<'PY' | tee "$out/allreduce.md"
import collections, re, statistics, sys
us, bus = collections.defaultdict(list), collections.defaultdict(list)
for line in open(sys.argv[1]):
    m = re.match(r"BenchmarkRankAllReduce/(\S+?)/(\S+?)(-\d+)?\s+\d+\s+.*?([\d.]+) busGB/s\s+([\d.]+) µs/op", line)
    if m:
        us[m[1], m[2]].append(float(m[5]))
        bus[m[1], m[2]].append(float(m[4]))
print("| floats | zero-copy µs | staged µs | staged / zero-copy | zero-copy bus GB/s | staged bus GB/s |")
print("|---|---|---|---|---|---|")
for size in dict.fromkeys(k[0] for k in us):
    z, s = statistics.median(us[size, "zero-copy"]), statistics.median(us[size, "staged"])
    print(f"| {size} | {z:.0f} | {s:.0f} | {s / z:.2f} | {statistics.median(bus[size, 'zero-copy']):.2f} | {statistics.median(bus[size, 'staged']):.2f} |")
PY
  else
    echo "== MPI all-reduce: skipped (no Open MPI; Debian: apt-get install openmpi-bin libopenmpi-dev)"
  fi
fi

if [ "${CNN:-1}" = 1 ]; then
  go build -o build/gputrain ./cmd/gputrain
  cnn_epochs="${CNN_EPOCHS:-1}"
  cnn_limit="${CNN_LIMIT:-10000}"
  for t in $threads; do : > "$out/cnn-${t}t.jsonl"; done
  for r in $(seq "$rounds"); do
    for t in $threads; do
      echo "== cnn round $r, $t thread(s): gputrain, pytorch ($cnn_epochs epoch(s) on $cnn_limit images; load $(cut -d' ' -f1 /proc/loadavg))"
      ./build/gputrain -device cpu -threads "$t" -model cnn -epochs "$cnn_epochs" -limit "$cnn_limit" -json | tail -n 1 >> "$out/cnn-${t}t.jsonl"
      "$py" bench/torch_mlp.py --data data/mnist --model cnn --epochs "$cnn_epochs" --limit "$cnn_limit" --threads "$t" --adam fused --json |
        tail -n 1 >> "$out/cnn-${t}t.jsonl"
    done
  done
  for t in $threads; do
    echo "== cnn preset, $t thread(s): median epoch seconds over $rounds rounds, ratio to PyTorch"
    "$py" bench/compare.py --group "$out/cnn-${t}t.jsonl"
  done
fi

if [ "${CONV:-1}" = 1 ]; then
  echo "== the cnn preset's convolutions: gputrain vs PyTorch, microseconds per call (load $(cut -d' ' -f1 /proc/loadavg))"
  "$py" bench/conv_compare.py --python "$py" --rounds "$rounds" --threads "$(echo $threads | tr ' ' ,)" \
    2>"$out/conv.log" | tee "$out/conv.md"
fi

if [ "${DIST:-1}" = 1 ]; then
  echo "== data-parallel training: 2 ranks x 1 thread vs 1 rank x 1 thread (bench/dist.sh)"
  ROUNDS="$rounds" EPOCHS="$epochs" bash bench/dist.sh
fi

if [ "${PRECISION:-1}" = 1 ]; then
  echo "== the CPU emulation of -precision: the reference job's epoch per precision (bench/precision.sh)"
  ROUNDS="$rounds" EPOCHS="$epochs" bash bench/precision.sh
fi

if [ "${GPT:-1}" = 1 ]; then
  # GPT: the char-GPT's CPU recipe (nanoGPT's: 4 layers, 4 heads, width 128, context 64,
  # batch 12, dropout 0, AdamW, warm-up and cosine, clipping) on the Shakespeare file,
  # gputrain and bench/torch_gpt.py (PyTorch eager, fused AdamW) back to back,
  # GPT_ROUNDS times (a 2,000-step run cannot be interleaved step by step); val_loss over
  # the whole validation split, median ms/step; results in build/bench/gpt.jsonl.
  go build -o build/gputrain ./cmd/gputrain
  make -s data-text
  gt=${GPT_THREADS:-2}
  gs=${GPT_STEPS:-2000}
  : > "$out/gpt.jsonl"
  for r in $(seq "${GPT_ROUNDS:-2}"); do
    echo "== char-GPT round $r: gputrain, pytorch ($gs steps, $gt threads; load $(cut -d' ' -f1 /proc/loadavg))"
    ./build/gputrain -device cpu -threads "$gt" -dataset text:data/shakespeare/input.txt -batch 12 -steps "$gs" \
      -eval-every 0 -json | tail -n 1 >> "$out/gpt.jsonl"
    "$py" bench/torch_gpt.py --data data/shakespeare/input.txt --threads "$gt" --steps "$gs" --json | tail -n 1 >> "$out/gpt.jsonl"
  done
  echo "== char-GPT, $gt threads (load $(cut -d' ' -f1 /proc/loadavg))"
  "$py" bench/gpt_compare.py "$out/gpt.jsonl" | tee "$out/gpt.md"
  # The step time, interleaved: GPT_STEP_ROUNDS rounds of a short run of each engine
  # (GPT_STEP_STEPS steps, the same recipe), gputrain then PyTorch; the ratio of each
  # round's median step times, and the median of those ratios.
  ss=${GPT_STEP_STEPS:-100}
  : > "$out/gpt-steps.jsonl"
  for r in $(seq "${GPT_STEP_ROUNDS:-5}"); do
    echo "== char-GPT step time, round $r ($ss steps, $gt threads; load $(cut -d' ' -f1 /proc/loadavg))"
    ./build/gputrain -device cpu -threads "$gt" -dataset text:data/shakespeare/input.txt -batch 12 -steps "$ss" \
      -eval-every 0 -json | tail -n 1 >> "$out/gpt-steps.jsonl"
    "$py" bench/torch_gpt.py --data data/shakespeare/input.txt --threads "$gt" --steps "$ss" --json | tail -n 1 >> "$out/gpt-steps.jsonl"
  done
  echo "== char-GPT step time, interleaved rounds, $gt threads (load $(cut -d' ' -f1 /proc/loadavg))"
  "$py" bench/gpt_compare.py --rounds "$out/gpt-steps.jsonl" | tee "$out/gpt-steps.md"
fi

if [ "${RNN:-1}" = 1 ]; then
  go build -o build/gputrain ./cmd/gputrain
  rnn_epochs="${RNN_EPOCHS:-1}"
  rnn_limit="${RNN_LIMIT:-0}"
  for t in $threads; do : > "$out/rnn-${t}t.jsonl"; done
  for r in $(seq "$rounds"); do
    for t in $threads; do
      echo "== lstm round $r, $t thread(s): gputrain, pytorch ($rnn_epochs epoch(s), limit $rnn_limit; load $(cut -d' ' -f1 /proc/loadavg))"
      ./build/gputrain -device cpu -threads "$t" -model lstm:hidden=128 -batch 64 -epochs "$rnn_epochs" -limit "$rnn_limit" -json |
        tail -n 1 >> "$out/rnn-${t}t.jsonl"
      "$py" bench/torch_rnn.py --data data/mnist --epochs "$rnn_epochs" --limit "$rnn_limit" --threads "$t" --json |
        tail -n 1 >> "$out/rnn-${t}t.jsonl"
    done
  done
  for t in $threads; do
    echo "== lstm preset (row-sequential MNIST), $t thread(s): median epoch seconds over $rounds rounds, ratio to PyTorch"
    "$py" bench/compare.py --group "$out/rnn-${t}t.jsonl"
  done
fi

if [ "${RECSYS:-1}" = 1 ]; then
  make -s data-insteval
  go build -o build/gputrain ./cmd/gputrain
  go run ./bench/recsplit -dataset insteval -seed 1 -out "$out/insteval-split"
  rs_epochs="${RECSYS_EPOCHS:-8}"
  : > "$out/recsys.jsonl"
  for r in $(seq "$rounds"); do
    echo "== recsys round $r: gputrain mf, pytorch twin ($rs_epochs epochs, 2 threads; load $(cut -d' ' -f1 /proc/loadavg))"
    ./build/gputrain -device cpu -threads 2 -dataset insteval -model mf -seed 1 -epochs "$rs_epochs" -json | tail -n 1 >> "$out/recsys.jsonl"
    "$py" bench/recsys_twin.py --split "$out/insteval-split" --threads 2 --epochs "$rs_epochs" --json | tail -n 1 >> "$out/recsys.jsonl"
  done
  echo "== recsys: the mf preset on InstEval, gputrain vs PyTorch (SparseAdam), 2 threads, $rounds rounds"
  "$py" bench/recsys_compare.py "$out/recsys.jsonl" | tee "$out/recsys.md"
fi

# SOAK=1 (off by default: it takes 300 epochs): cmd/gputrain's BenchmarkSoak, the
# reference job for 300 epochs with a checkpoint each; resident memory at epochs 10 and
# 300 (growth under 5 MB) and a checkpoint that stays alone and of one size.
# SOAK_DEVICE=cuda soaks the CUDA build on a GPU.
if [ "${SOAK:-0}" = 1 ]; then
  echo "== soak: 300 epochs with -save (load $(cut -d' ' -f1 /proc/loadavg))"
  GPUTRAIN_SOAK_DEVICE="${SOAK_DEVICE:-cpu}" go test -run '^$' -bench '^BenchmarkSoak$' -benchtime 1x -timeout 0 ./cmd/gputrain |
    tee "$out/soak.txt"
fi
