#!/bin/sh
# gpu-proof.sh [--dry-run]: prepare the one command that proves the CUDA backend on a GPU
# host (make gpu-proof; docs/gpu/README.md).
#
#  1. build the bundle (gpu-bundle.sh: binaries, ELF needs, loader check against
#     look-alike versioned libcublas, MNIST, bench/*.py, tools/gpureport)
#  2. with --dry-run, run the launcher here, where there is no GPU, against this host's
#     libcuda.so.1 (Debian's libcuda1) and DRY_CUDA_LIB_DIRS (a real libcublas.so.13, or
#     by default the look-alikes), and check that every binary got as far as cuInit and
#     stopped there with no device: then the GPU itself is the run's only unknown
#  3. print the device-tool call for a GPU session: what to carry, the command, its
#     time limit, and how to turn the logs it brings back into docs/gpu/<date>-<commit>.md
#
# The bundle must be built from a commit: the report is named after it. With tracked
# changes not committed it stops, unless ALLOW_DIRTY=1 (for trying the scripts out).
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
DRY=0
case ${1:-} in
  --dry-run) DRY=1 ;;
  "") ;;
  *) echo "gpu-proof: unknown argument $1 (want --dry-run or nothing)" >&2; exit 2 ;;
esac

if git status --porcelain 2>/dev/null | grep -qv '^??'; then
  if [ "${ALLOW_DIRTY:-0}" != 1 ]; then
    echo "gpu-proof: the tree has uncommitted changes; commit first (the report is named after the commit), or ALLOW_DIRTY=1 to try" >&2
    exit 1
  fi
  echo "gpu-proof: WARNING: uncommitted changes: the bundle's MANIFEST says so"
fi

sh internal/cudabuild/gpu-bundle.sh
[ -r dist/gpu-bundle/bench/torch_mlp.py ] ||
  echo "gpu-proof: WARNING: no bench/torch_mlp.py in the bundle: the GPU run will skip PyTorch (merge the bench branch or set BENCH_PY_DIR)"

if [ $DRY = 1 ]; then
  . internal/cudabuild/env.sh
  fake=$ROOT/build/fake$CUBLAS_MAJOR # made by gpu-bundle.sh
  libs=${DRY_CUDA_LIB_DIRS:-$fake}
  log=$ROOT/build/gpu-dryrun
  rm -rf "$log"
  echo "gpu-proof: dry run of the launcher here: CUDA_LIB_DIRS=$libs LOG_DIR=$log"
  # shellcheck disable=SC2086
  CUDA_LIB_DIRS=$libs LOG_DIR=$log TOTAL_BUDGET=120 NO_FIND=1 sh dist/gpu-bundle/run-gpu.sh && rc=0 || rc=$?
  echo "gpu-proof: the launcher exited $rc (non-zero is expected without a GPU)"
  bad=0
  if grep -lE 'error while loading shared libraries|symbol lookup error|version .* not found' "$log"/*.log 2>/dev/null; then
    echo "gpu-proof: dry run: a binary did not load (files above)"; bad=1
  fi
  for b in dist/gpu-bundle/bin/gputrain dist/gpu-bundle/bin/*.test; do
    n=$(basename "$b")
    case $n in gputrain) f=$log/gputrain-graphs1.log ;; *) f=$log/$n.log ;; esac
    if [ -r "$f" ] && grep -q 'NoDevice' "$f"; then
      echo "gpu-proof: dry run: $n loaded its libraries and stopped at cuInit: $(grep -m1 'NoDevice' "$f")"
    else
      echo "gpu-proof: dry run: $n did not reach cuInit -> NoDevice (see $f)"; bad=1
    fi
  done
  [ $bad = 0 ] || exit 1
  echo "gpu-proof: dry run ok: the only unknown left is the GPU"
fi

size=$(wc -c < dist/gpu-bundle.tar.gz)
commit=$(sed -n 's/^commit: //p' dist/gpu-bundle/MANIFEST)
cat <<EOF

gpu-proof: ready (bundle of commit $commit, $size bytes). For a session with the GPU device tool:

  1. Call the device tool once with
       carry:     ["dist/gpu-bundle.tar.gz"]
       timeout_s: 540
       command:   tar xzf dist/gpu-bundle.tar.gz -C dist && LOG_DIR=/tmp/gpu-logs TOTAL_BUDGET=450 sh dist/gpu-bundle/run-gpu.sh; rc=\$?; tar czf \$OUT/gpu-logs.tar.gz -C /tmp gpu-logs; echo "run-gpu exit \$rc"
     It runs every test binary, the reference job (graphs on and off), the same job as one
     NCCL rank (-dist nccl, when the host has libnccl.so.2: its summary line gives the
     all-reduce's cost per step), PyTorch eager on the same job, the benchmarks (cuBLAS
     SGEMM, the large MLP's step, the epoch, NCCL's sum) and torch.mm, and ends with the
     table; expected 2-5 minutes, at most TOTAL_BUDGET=450 s plus ~20 s.
     The logs come back as one archive: the tool returns at most 8 files, the run writes
     about 17.
     Then give the machine back unless a targeted rerun follows at once, e.g. (<= 3 min,
     the same carry; timeout_s 200):
       command:   tar xzf dist/gpu-bundle.tar.gz -C dist && LOG_DIR=/tmp/rerun TOTAL_BUDGET=150 BENCH=0 TORCH=0 sh dist/gpu-bundle/run-gpu.sh -test.run 'NAME'; tar czf \$OUT/rerun.tar.gz -C /tmp rerun
     The precisions (docs/precision.md) in a call of their own (<= 9 min; the same carry;
     timeout_s 540): the reference job in tf32, bf16 and fp16, the test binary's precision
     tests, BenchmarkCublasGemmPrecision and BenchmarkLargeMLPStepPrecision against
     cuBLAS's FP32 rates, and PyTorch's GEMM and large MLP per precision (eager and
     torch.compile, fused Adam):
       command:   tar xzf dist/gpu-bundle.tar.gz -C dist && LOG_DIR=/tmp/prec-logs TOTAL_BUDGET=480 GRAPHS0=0 NCCL=0 BENCH_COUNT=1 BENCH_FILTER='Gemm|LargeMLP' TEST_TIMEOUT=120 sh dist/gpu-bundle/run-gpu.sh -test.run 'Conformance|Parity|MixedPrecision|Gemm|BLAS|StepGraph'; tar czf \$OUT/prec-logs.tar.gz -C /tmp prec-logs
  2. Here, with the files it brought back:
       mkdir -p build/gpu-run && tar xzf <files_at>/gpu-logs.tar.gz -C build/gpu-run &&
         sh internal/cudabuild/gpu-report.sh build/gpu-run/gpu-logs
     writes docs/gpu/<date>-<short commit>.md (and the raw logs next to it); commit them and
     update README.md's "Verified on a GPU" line as it prints.
  3. The char-GPT on nanoGPT's GPU recipe (6 layers, width 384, context 256, batch 64,
     dropout 0.2) against PyTorch eager and torch.compile on the same GPU is a call of its
     own (torch.compile needs triton in the host's Python); with a fresh budget:
       carry:     ["dist/gpu-bundle.tar.gz"]
       timeout_s: 590
       command:   tar xzf dist/gpu-bundle.tar.gz -C dist && LOG_DIR=/tmp/gpt-logs GPT_ONLY=1 GPT_STEPS=2000 GPT_TIMEOUT=180 TOTAL_BUDGET=570 sh dist/gpu-bundle/run-gpu.sh; tar czf \$OUT/gpt-logs.tar.gz -C /tmp gpt-logs
     (GPT_STEPS=5000 is the recipe's whole run: about three times as long per engine; give
     it a session of its own.) gpt-*.json hold each engine's val_loss and median ms/step;
     record them in docs/gpu/ and docs/text.md.
EOF
