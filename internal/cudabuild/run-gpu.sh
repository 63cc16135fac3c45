#!/bin/sh
# run-gpu.sh: the launcher of the GPU bundle (make gpu-bundle). POSIX sh; needs the
# NVIDIA driver (libcuda.so.1) and the CUDA runtime libraries (libcublas.so.N and
# libcublasLt.so.N, from a toolkit, a distribution package or NVIDIA's pip wheels), no
# Go toolchain and no network. python3 (with torch and numpy for the PyTorch runs),
# nvidia-smi and timeout are used when present.
#
#   sh gpu-bundle/run-gpu.sh [extra go-test flags for the test binaries, e.g. -test.run Parity]
#
# In order, each step bounded by its own time limit and all of them by TOTAL_BUDGET:
#   1. the host, driver and GPU (host.txt); the libraries (found/MISSING)
#   2. each test binary under bin/: loader check, symbol check against the host's
#      libraries, then the run (-test.v)
#   3. the reference job, gputrain -device cuda -epochs 10 -json on the bundled MNIST,
#      with CUDA graphs on, then off
#   3b. the reference job as a one-rank NCCL job (-dist nccl: the gradients summed by
#      NCCL between the backward step and the update step), when libnccl.so.2 is found,
#      and the all-reduce's cost per step against step 3's job
#   3c. the reference job in each of PRECISIONS (-precision tf32, bf16, fp16; graphs on)
#   4. the same job in PyTorch eager on the same GPU (bench/torch_mlp.py --device cuda)
#   4b. the same job in PyTorch with the step compiled into CUDA graphs
#      (torch_mlp.py --compile reduce-overhead --adam fused; TORCH_COMPILE=0 skips it)
#   5. each benchmark of each test binary (BenchmarkCublasSgemm, BenchmarkLargeMLPStep,
#      BenchmarkTrainEpoch, ...), BENCH_COUNT times, in a process of its own
#   6. PyTorch's FP32 4096³ matrix product (torch-sgemm.py), a second opinion on SGEMM
#   6b. for each of PRECISIONS: PyTorch's 4096³ product in it (torch-sgemm.py
#      --precision), and the large MLP in PyTorch (bench/torch_large_mlp.py) in it,
#      eager, and torch.compile for TORCH_COMPILE_PRECISIONS (default "bf16": PyTorch's
#      best setting; each compile takes its own minute), fused Adam: the references of
#      BenchmarkCublasGemmPrecision and BenchmarkLargeMLPStepPrecision
#   7. the table (tools/gpureport): tests, epoch times, accuracies, ratios, TFLOP/s
# Everything goes to $LOG_DIR (results.tsv has one line per step); summary.txt sums it
# up; the exit status is 0 only if every step that ran passed.
#
# JOB_ONLY=1 (make run on a GPU host): steps 1 and 3 with graphs on only, the job's
# output shown in full, with JOB_ARGS as its only flags besides -device and -data.
#
# GPT_ONLY=1: steps 1 and 3b only: the char-GPT on nanoGPT's GPU recipe (6 layers, 6
# heads, width 384, context 256, batch 64, dropout 0.2, GPT_STEPS steps) on the bundled
# Shakespeare text, in gputrain (CUDA graphs), PyTorch eager and torch.compile on the
# same GPU (bench/torch_gpt.py); val_loss and ms/step of each in gpt-*.json. GPT=1 adds
# step 3b to a full run (off by default: it needs several minutes of its own).
#
# env: CUBLAS_MAJOR   soname major of libcublas to look for (default: the bundle's)
#      LOG_DIR        where logs go (default ./gpu-logs-<date>-<pid>)
#      TOTAL_BUDGET   seconds for the whole run (default 450); a step that would end
#                     later is cut to fit, one with under 15 s left is skipped
#      TEST_TIMEOUT   seconds per test binary (default 180)
#      JOB_TIMEOUT    seconds per reference job (default 90)
#      TORCH_TIMEOUT  seconds for the PyTorch job (default 150)
#      BENCH_TIMEOUT  seconds per benchmark (default 120)
#      BENCH_COUNT    runs of each benchmark (default 3); BENCHTIME (default 1s)
#      BENCH=0        skip the benchmarks;  TORCH=0  skip the PyTorch steps
#      BENCH_FILTER   an extended regexp: run only the benchmarks whose names match it
#      PRECISIONS     the -precision values of steps 3c and 6b (default "tf32 bf16 fp16";
#                     empty: skip them);  GRAPHS0=0  skip the graphs-off reference job
#      NCCL=0         skip the NCCL job;  GPUTRAIN_NCCL_LIB  libnccl.so.2 (default: searched
#                     as the CUDA libraries are, python's nvidia/nccl/lib included)
#      NCCL_TIMEOUT   seconds for the NCCL job (default 90)
#      JOB_ARGS       extra flags for the reference job (e.g. "-epochs 2")
#      GPT_STEPS      steps of the char-GPT job (default 5000); GPT_TIMEOUT seconds per
#                     engine (default 420); GPT_EVAL its -eval-every (default 1000)
#      TORCH_ARGS     extra flags for torch_mlp.py (e.g. "--adam fused")
#      PYTHON         the Python with torch (default python3)
#      CUDA_LIB_DIRS  ':'-separated directories to search first
#      NO_FIND=1      skip the last-resort 'find' for the libraries
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
N=${CUBLAS_MAJOR:-$(cat "$HERE/CUBLAS_MAJOR" 2>/dev/null || echo 13)}
LOG_DIR=${LOG_DIR:-$PWD/gpu-logs-$(date +%Y%m%d-%H%M%S)-$$}
JOB_ONLY=${JOB_ONLY:-0}
GPT_ONLY=${GPT_ONLY:-0}
[ "$GPT_ONLY" = 1 ] && JOB_ONLY=1 # the steps JOB_ONLY skips, and the reference job too
PY=${PYTHON:-python3}
mkdir -p "$LOG_DIR" || exit 2
LOG_DIR=$(cd "$LOG_DIR" && pwd)
SUMMARY=$LOG_DIR/summary.txt
RESULTS=$LOG_DIR/results.tsv
HOST=$LOG_DIR/host.txt
: > "$SUMMARY"; : > "$RESULTS"; : > "$HOST"

say() { printf '%s\n' "$*" | tee -a "$SUMMARY"; }
hr()  { say "------------------------------------------------------------------"; }
have() { command -v "$1" >/dev/null 2>&1; }
fact() { printf '%s: %s\n' "$1" "$2" >> "$HOST"; } # KEY VALUE for the report
secs() { # 90, 90s, 2m -> seconds
  case $1 in *m) echo $(( ${1%m} * 60 )) ;; *s) echo "${1%s}" ;; *) echo "$1" ;; esac
}
with_timeout() { # SECONDS CMD...
  if have timeout; then timeout -k 10 "$@"; else shift; "$@"; fi
}

START=$(date +%s)
END=$(( START + $(secs "${TOTAL_BUDGET:-450}") ))
budget() { # WANTED_SECONDS -> the seconds this step may take (0: skip it)
  left=$(( END - $(date +%s) - 5 ))
  if [ "$left" -lt 15 ]; then echo 0; elif [ "$1" -lt "$left" ]; then echo "$1"; else echo "$left"; fi
}

hr; say "run-gpu: $(date -u '+%Y-%m-%dT%H:%M:%SZ') host=$(uname -n) kernel=$(uname -r) arch=$(uname -m)"
fact date "$(date -u '+%Y-%m-%dT%H:%M:%SZ')"
fact host "$(uname -n) ($(uname -m), Linux $(uname -r))"
fact mode "$([ "$GPT_ONLY" = 1 ] && echo gpt-only || { [ "$JOB_ONLY" = 1 ] && echo job-only; } || echo full)"
fact settings "TOTAL_BUDGET=${TOTAL_BUDGET:-450} TEST_TIMEOUT=${TEST_TIMEOUT:-180} JOB_TIMEOUT=${JOB_TIMEOUT:-90} TORCH_TIMEOUT=${TORCH_TIMEOUT:-150} BENCH_TIMEOUT=${BENCH_TIMEOUT:-120} BENCH_COUNT=${BENCH_COUNT:-3} BENCHTIME=${BENCHTIME:-1s} BENCH=${BENCH:-1} TORCH=${TORCH:-1} JOB_ARGS=${JOB_ARGS:-} TORCH_ARGS=${TORCH_ARGS:-} test flags: $*"
say "bundle: $HERE"
if [ -r "$HERE/MANIFEST" ]; then
  say "$(sed -n '1,4p' "$HERE/MANIFEST")"
  fact bundle_commit "$(sed -n 's/^commit: //p' "$HERE/MANIFEST")"
  fact bundle_built "$(sed -n 's/^built: //p' "$HERE/MANIFEST")"
  fact bundle_headers "$(sed -n 's/^headers: //p' "$HERE/MANIFEST")"
fi
say "logs: $LOG_DIR   libcublas major: $N   budget: $(( END - START ))s"
if [ -r /etc/os-release ]; then say "os: $(. /etc/os-release; echo "${PRETTY_NAME:-?}")"; fact os "$(. /etc/os-release; echo "${PRETTY_NAME:-?}")"; fi
if have ldd; then say "libc: $(ldd --version 2>&1 | head -n1)"; fi
have nproc && fact cpus "$(nproc)"

# ---- driver and GPU ------------------------------------------------------------
hr
if have nvidia-smi; then
  say "nvidia-smi -L:"; nvidia-smi -L 2>&1 | sed 's/^/  /' | tee -a "$SUMMARY"
  q=$(nvidia-smi --query-gpu=driver_version,name,compute_cap,memory.total --format=csv,noheader 2>&1 | head -n1)
  say "driver, gpu, compute capability, memory: $q"
  nvidia-smi > "$LOG_DIR/nvidia-smi.txt" 2>&1
  case $q in
    *,*,*,*)
      fact driver "$(echo "$q" | cut -d, -f1 | sed 's/^ *//')"
      fact gpu "$(echo "$q" | cut -d, -f2 | sed 's/^ *//')"
      fact compute_capability "$(echo "$q" | cut -d, -f3 | sed 's/^ *//')"
      fact gpu_memory "$(echo "$q" | cut -d, -f4 | sed 's/^ *//')" ;;
    *) fact gpu "none: nvidia-smi says: $q" ;;
  esac
  cv=$(sed -n 's/.*CUDA Version: *\([0-9.]*\).*/\1/p' "$LOG_DIR/nvidia-smi.txt" | head -n1)
  [ -z "$cv" ] || fact driver_cuda "$cv"
else
  say "nvidia-smi: not found in PATH"
  fact gpu "unknown: no nvidia-smi"
fi
if [ -r /proc/driver/nvidia/version ]; then
  say "kernel module: $(head -n1 /proc/driver/nvidia/version)"
  fact kernel_module "$(head -n1 /proc/driver/nvidia/version)"
fi
say "CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES-<unset>}  LD_LIBRARY_PATH(before)=${LD_LIBRARY_PATH-<unset>}"

# ---- libraries ------------------------------------------------------------------
LDCONFIG=$(command -v ldconfig 2>/dev/null || echo /sbin/ldconfig)
cand_dirs() { # $1 = soname
  printf '%s\n' "${CUDA_LIB_DIRS:-}" | tr ':' '\n'
  printf '%s\n' "${LD_LIBRARY_PATH:-}" | tr ':' '\n'
  "$LDCONFIG" -p 2>/dev/null | awk -v n="$1" '$1 == n { sub(/.*=> /, ""); sub(/\/[^\/]*$/, ""); print }'
  for d in /usr/local/cuda /usr/local/cuda-* /opt/cuda; do
    echo "$d/lib64"; echo "$d/targets/x86_64-linux/lib"; echo "$d/lib"
  done
  if have "$PY"; then
    for p in $("$PY" -c 'import nvidia, os; print("\n".join(os.path.dirname(p) for p in nvidia.__path__))' 2>/dev/null) \
             $("$PY" -c 'import site; print("\n".join(site.getsitepackages() + [site.getusersitepackages()]))' 2>/dev/null); do
      echo "$p/nvidia/cu$N/lib"
      for d in "$p"/nvidia/*/lib; do echo "$d"; done
      echo "$p/torch/lib"
    done
  fi
}
find_lib() { # $1 = soname; prints the first directory holding it (never a stubs dir)
  r=$(cand_dirs "$1" | while IFS= read -r d; do
    [ -n "$d" ] || continue
    case $d in */stubs|*/stubs/*) continue ;; esac
    if [ -e "$d/$1" ]; then echo "$d"; break; fi
  done)
  if [ -z "$r" ] && [ "${NO_FIND:-0}" != 1 ]; then
    f=$(with_timeout 60 find /usr /opt /home /root /workspace /data -maxdepth 10 -name "$1" \
          ! -path '*/stubs/*' 2>/dev/null | head -n1)
    [ -z "$f" ] || r=$(dirname "$f")
  fi
  echo "$r"
}
add_dir() { case ":${NEWPATH:-}:" in *":$1:"*) ;; *) NEWPATH=${NEWPATH:+$NEWPATH:}$1 ;; esac; }

hr
NEWPATH=
for so in "libcublas.so.$N" "libcublasLt.so.$N"; do
  d=$(find_lib "$so")
  if [ -n "$d" ]; then
    say "found $so in $d -> $(readlink -f "$d/$so" 2>/dev/null || echo "$d/$so")"
    add_dir "$d"
    [ "$so" = "libcublas.so.$N" ] && fact libcublas "$(readlink -f "$d/$so" 2>/dev/null || echo "$d/$so")"
  else
    say "MISSING $so (searched CUDA_LIB_DIRS, LD_LIBRARY_PATH, ldconfig, /usr/local/cuda*, python nvidia/*/lib, find)"
    [ "$so" = "libcublas.so.$N" ] && fact libcublas "MISSING"
  fi
done
d=$(find_lib libcuda.so.1)
if [ -n "$d" ]; then
  say "found libcuda.so.1 in $d -> $(readlink -f "$d/libcuda.so.1" 2>/dev/null)"
  fact libcuda "$(readlink -f "$d/libcuda.so.1" 2>/dev/null)"
  "$LDCONFIG" -p 2>/dev/null | grep -q 'libcuda\.so\.1 ' || add_dir "$d"
else
  say "MISSING libcuda.so.1 (the NVIDIA driver's library): nothing can start"
  fact libcuda "MISSING"
fi
export LD_LIBRARY_PATH="$NEWPATH${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
say "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
# NCCL, loaded at run time by the nccl kind (device/cuda/nccl): for TestNCCLOneRank,
# BenchmarkNCCLAllReduce and step 3b
if [ -z "${GPUTRAIN_NCCL_LIB:-}" ]; then
  d=$(find_lib libnccl.so.2)
  [ -z "$d" ] || export GPUTRAIN_NCCL_LIB="$d/libnccl.so.2"
fi
if [ -n "${GPUTRAIN_NCCL_LIB:-}" ]; then
  say "NCCL: GPUTRAIN_NCCL_LIB=$GPUTRAIN_NCCL_LIB"
  fact nccl "$(readlink -f "$GPUTRAIN_NCCL_LIB" 2>/dev/null || echo "$GPUTRAIN_NCCL_LIB")"
else
  say "NCCL: libnccl.so.2 not found (pip install nvidia-nccl-cu12, or set GPUTRAIN_NCCL_LIB): the NCCL tests and job skip"
  fact nccl "MISSING"
fi

# ---- checks and runs -----------------------------------------------------------
loadcheck() { # how ld.so resolves the binary's NEEDED entries (ldd without ldd)
  LD_TRACE_LOADED_OBJECTS=1 "$1" 2>&1 | grep -E 'libcuda|libcublas|not found|version' | sed 's/^[[:space:]]*/  /'
}
symcheck() { # CUDA symbols the binary references that the host's libraries lack
  [ -r "$1.syms" ] && have "$PY" || return 0
  "$PY" - "$1.syms" "$N" <<'PYEOF'
import ctypes, sys
syms = [l.strip() for l in open(sys.argv[1]) if l.strip()]
libs = {}
for name in ("libcuda.so.1", "libcublas.so." + sys.argv[2]):
    try: libs[name] = ctypes.CDLL(name)
    except OSError as e: print("  symcheck: cannot dlopen %s: %s" % (name, e)); sys.exit(0)
missing = [s for s in syms if not any(hasattr(l, s) for l in libs.values())]
print("  symcheck: %d CUDA symbols referenced, %d missing in the host's libraries%s" % (len(syms), len(missing), ":" if missing else ""))
for s in missing: print("    missing:", s)
print("  symcheck: (a missing symbol only fails if it is called: binding is lazy)" if missing else "  symcheck: ok")
PYEOF
}
hint() { # a failure log -> the likely cause
  h=
  if grep -q 'error while loading shared libraries' "$1"; then h="a NEEDED library was not found: see the found/MISSING lines; set CUDA_LIB_DIRS=/dir/with/libcublas.so.$N"
  elif grep -q 'symbol lookup error' "$1"; then h="the host's library lacks a function the binary calls (see symcheck)"
  elif grep -q "version .* not found" "$1"; then h="symbol-version requirement: the bundle was not linked against the generated stubs"
  elif grep -qE 'NoDevice|no GPU|is_available\(\) is False' "$1"; then h="the driver sees no GPU: check nvidia-smi, CUDA_VISIBLE_DEVICES, container GPU passthrough"
  elif grep -qE 'UnknownErrorCode:34$|StubLibrary' "$1"; then h="libcuda.so.1 is a toolkit stub (a .../stubs dir on LD_LIBRARY_PATH)"
  elif grep -qE 'UnknownErrorCode:35$|InsufficientDriver' "$1"; then h="the driver is older than the CUDA runtime libraries"
  elif grep -qE 'InvalidPtx|UnsupportedPtxVersion|CUDA_ERROR_UNSUPPORTED_PTX_VERSION|JIT log' "$1"; then h="PTX JIT failed: the driver's log is in the error"
  elif grep -qE 'NotInitialized|InvalidContext' "$1"; then h="context not current on this OS thread"
  elif grep -qE 'out of memory|OutOfMemory' "$1"; then h="out of GPU memory: is another process using the GPU (nvidia-smi.txt)?"
  elif grep -qE 'graph|Graph|capture' "$1"; then h="a CUDA-graph failure: rerun with GPUTRAIN_CUDA_GRAPHS=0 to compare"
  fi
  [ -z "$h" ] || say "  hint: $h"
}

FAIL=0; RAN=0
record() { # KIND NAME STATUS SECONDS LOG NOTE -> results.tsv
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$(basename "$5")" "$6" >> "$RESULTS"
}
SKIPPED=0
skip() { # KIND NAME WHY
  say "  -> $2: SKIPPED ($3)"; record "$1" "$2" SKIP 0 - "$3"; SKIPPED=$((SKIPPED+1))
}
# runone KIND NAME LOG SECONDS CMD...: run CMD under a time limit, its output to LOG;
# KIND is test, job, torch, bench or sgemm. FILTER=full shows the whole output.
runone() {
  kind=$1; name=$2; log=$3; limit=$4; shift 4
  start=$(date +%s)
  if [ "${FILTER:-}" = full ]; then
    { with_timeout "$limit" "$@" 2>&1; echo $? > "$log.rc"; } | tee "$log"
    rc=$(cat "$log.rc"); rm -f "$log.rc"
    cat "$log" >> "$SUMMARY"
  else
    with_timeout "$limit" "$@" > "$log" 2>&1
    rc=$?
    grep -E -e '--- (PASS|FAIL|SKIP)|^(PASS|FAIL|ok)|_test\.go:[0-9]+: |^cuda: |^epoch |^test |^gputrain: |^torch|^Benchmark' \
         -e 'Error in initialization|panic:|SIGSEGV|error while loading|symbol lookup error|version .* not found|Error|error:' "$log" |
      head -n 150 | sed 's/^/  /' | tee -a "$SUMMARY"
  fi
  RAN=$((RAN+1))
  dur=$(( $(date +%s) - start ))
  case $rc in
    0)   say "  -> $name: PASS (${dur}s)"; record "$kind" "$name" PASS "$dur" "$log" "" ;;
    127) say "  -> $name: FAIL rc=127 (the loader could not start it)"; FAIL=1; record "$kind" "$name" FAIL "$dur" "$log" "rc=127" ;;
    124|137) say "  -> $name: TIMEOUT after ${dur}s (limit ${limit}s)"; FAIL=1; record "$kind" "$name" TIMEOUT "$dur" "$log" "limit ${limit}s" ;;
    *)   say "  -> $name: FAIL rc=$rc (${dur}s); full log: $log"; FAIL=1; record "$kind" "$name" FAIL "$dur" "$log" "rc=$rc" ;;
  esac
  [ "$rc" -eq 0 ] || hint "$log"
}
lastline_json() { # LOG OUT: the log's last line that is a JSON object (the -json result)
  l=$(grep '^{.*}$' "$1" 2>/dev/null | tail -n 1)
  if [ -n "$l" ]; then printf '%s\n' "$l" > "$2"; else rm -f "$2"; fi
}

# 2. test binaries
if [ "$JOB_ONLY" != 1 ]; then
  for b in "$HERE"/bin/*.test; do
    [ -f "$b" ] || continue
    name=$(basename "$b")
    hr; say "== $name"
    loadcheck "$b" | tee -a "$SUMMARY"
    symcheck "$b" | tee -a "$SUMMARY"
    t=$(budget "$(secs "${TEST_TIMEOUT:-180}")")
    if [ "$t" -eq 0 ]; then skip test "$name" "time budget spent"; continue; fi
    runone test "$name" "$LOG_DIR/$name.log" "$t" "$b" -test.v -test.timeout "$((t - 5))s" "$@"
  done
fi

# 3. the reference job
if [ "$GPT_ONLY" = 1 ]; then
  :
elif [ -x "$HERE/bin/gputrain" ]; then
  graphs_list="1 0"; { [ "$JOB_ONLY" = 1 ] || [ "${GRAPHS0:-1}" = 0 ]; } && graphs_list=1
  for graphs in $graphs_list; do
    if [ "$JOB_ONLY" = 1 ]; then
      # shellcheck disable=SC2086
      set -- "$HERE/bin/gputrain" -device cuda -data "$HERE/data/mnist" ${JOB_ARGS:-}
    else
      # shellcheck disable=SC2086
      set -- "$HERE/bin/gputrain" -device cuda -epochs 10 -json -data "$HERE/data/mnist" ${JOB_ARGS:-}
    fi
    hr; say "== reference job (GPUTRAIN_CUDA_GRAPHS=$graphs): $*"
    [ "$graphs" = 1 ] && { loadcheck "$HERE/bin/gputrain" | tee -a "$SUMMARY"; symcheck "$HERE/bin/gputrain" | tee -a "$SUMMARY"; }
    t=$(budget "$(secs "${JOB_TIMEOUT:-90}")")
    if [ "$t" -eq 0 ]; then skip job "gputrain-graphs$graphs" "time budget spent"; continue; fi
    log=$LOG_DIR/gputrain-graphs$graphs.log
    if [ "$JOB_ONLY" = 1 ]; then
      FILTER=full runone job "gputrain-graphs$graphs" "$log" "$t" env GPUTRAIN_CUDA_GRAPHS=$graphs "$@"
    else
      runone job "gputrain-graphs$graphs" "$log" "$t" env GPUTRAIN_CUDA_GRAPHS=$graphs "$@"
    fi
    lastline_json "$log" "$LOG_DIR/gputrain-graphs$graphs.json"
  done
else
  hr; say "no bin/gputrain in the bundle"; FAIL=1
fi

# 3c. the reference job in each precision (graphs on)
PRECISIONS=${PRECISIONS-tf32 bf16 fp16}
if [ "$JOB_ONLY" != 1 ] && [ -x "$HERE/bin/gputrain" ]; then
  for prec in $PRECISIONS; do
    # shellcheck disable=SC2086
    set -- "$HERE/bin/gputrain" -device cuda -precision "$prec" -epochs 10 -json -data "$HERE/data/mnist" ${JOB_ARGS:-}
    hr; say "== reference job in $prec: $*"
    t=$(budget "$(secs "${JOB_TIMEOUT:-90}")")
    if [ "$t" -eq 0 ]; then skip job "gputrain-$prec" "time budget spent"; continue; fi
    runone job "gputrain-$prec" "$LOG_DIR/gputrain-$prec.log" "$t" env GPUTRAIN_CUDA_GRAPHS=1 "$@"
    lastline_json "$LOG_DIR/gputrain-$prec.log" "$LOG_DIR/gputrain-$prec.json"
  done
fi

# 3b. the reference job as one NCCL rank
json_num() { # FILE KEY: a number of the -json line
  sed -n "s/.*\"$2\":\([-0-9.e+]*\).*/\1/p" "$1" 2>/dev/null | head -n1
}
if [ "$JOB_ONLY" != 1 ] && [ "${NCCL:-1}" = 1 ] && [ -x "$HERE/bin/gputrain" ]; then
  # shellcheck disable=SC2086
  set -- "$HERE/bin/gputrain" -device cuda -dist nccl -epochs 10 -json -data "$HERE/data/mnist" ${JOB_ARGS:-}
  hr; say "== the reference job as one NCCL rank: $*"
  t=$(budget "$(secs "${NCCL_TIMEOUT:-90}")")
  if [ -z "${GPUTRAIN_NCCL_LIB:-}" ]; then skip job gputrain-nccl "libnccl.so.2 not found"
  elif [ "$t" -eq 0 ]; then skip job gputrain-nccl "time budget spent"
  else
    runone job gputrain-nccl "$LOG_DIR/gputrain-nccl.log" "$t" "$@"
    lastline_json "$LOG_DIR/gputrain-nccl.log" "$LOG_DIR/gputrain-nccl.json"
    plain=$LOG_DIR/gputrain-graphs1.json nccl=$LOG_DIR/gputrain-nccl.json
    if [ -r "$plain" ] && [ -r "$nccl" ]; then
      en=$(json_num "$nccl" median_epoch_seconds) ep=$(json_num "$plain" median_epoch_seconds)
      n=$(json_num "$nccl" train_examples) b=$(json_num "$nccl" batch)
      line=$(awk -v en="$en" -v ep="$ep" -v n="$n" -v b="$b" 'BEGIN {
        steps = int((n + b - 1) / b)
        printf "NCCL one rank: median epoch %.3f s against %.3f s without (%d steps): %+.1f us per step for the all-reduce and the update step of its own", en, ep, steps, (en - ep) / steps * 1e6 }')
      say "  $line"
      fact nccl_step "$line"
    fi
  fi
fi

# 3b. the char-GPT on nanoGPT's GPU recipe: gputrain, PyTorch eager, torch.compile
if [ "$GPT_ONLY" = 1 ] || [ "${GPT:-0}" = 1 ]; then
  gs=${GPT_STEPS:-5000}; ge=${GPT_EVAL:-1000}
  text=$HERE/data/shakespeare/input.txt
  hr; say "== char-GPT, nanoGPT's GPU recipe, $gs steps: gputrain, PyTorch eager, torch.compile"
  if [ ! -r "$text" ]; then
    skip gpt gpt "the bundle has no data/shakespeare/input.txt"
  else
    t=$(budget "$(secs "${GPT_TIMEOUT:-420}")")
    if [ "$t" -eq 0 ]; then skip gpt gpt-gputrain "time budget spent"
    else
      runone gpt gpt-gputrain "$LOG_DIR/gpt-gputrain.log" "$t" "$HERE/bin/gputrain" -device cuda -dataset "text:$text" \
        -model gpt:layers=6,heads=6,dim=384,context=256,dropout=0.2 -batch 64 -steps "$gs" -eval-every "$ge" -json
      lastline_json "$LOG_DIR/gpt-gputrain.log" "$LOG_DIR/gpt-gputrain.json"
    fi
    if [ ! -r "$HERE/bench/torch_gpt.py" ] || ! have "$PY" || ! "$PY" -c 'import torch' >/dev/null 2>&1; then
      skip gpt gpt-torch "no bench/torch_gpt.py or no $PY with torch"
    else
      for mode in eager compile; do
        flag=; [ "$mode" = compile ] && flag=--compile
        t=$(budget "$(secs "${GPT_TIMEOUT:-420}")")
        if [ "$t" -eq 0 ]; then skip gpt "gpt-torch-$mode" "time budget spent"; continue; fi
        # shellcheck disable=SC2086
        runone gpt "gpt-torch-$mode" "$LOG_DIR/gpt-torch-$mode.log" "$t" env PYTHONDONTWRITEBYTECODE=1 "$PY" "$HERE/bench/torch_gpt.py" \
          --device cuda --data "$text" --layers 6 --heads 6 --dim 384 --context 256 --dropout 0.2 --batch 64 \
          --steps "$gs" --eval-every "$ge" --json $flag
        lastline_json "$LOG_DIR/gpt-torch-$mode.log" "$LOG_DIR/gpt-torch-$mode.json"
      done
    fi
    for f in gpt-gputrain gpt-torch-eager gpt-torch-compile; do
      [ -r "$LOG_DIR/$f.json" ] && say "  $f: $("$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); print("val_loss %.4f  %.2f ms/step" % (r["val_loss"], r["step_ms"]))' "$LOG_DIR/$f.json" 2>/dev/null)"
    done
  fi
fi

# 4. the same job in PyTorch eager
torch_ok() { # why PyTorch on CUDA cannot run here ("" when it can)
  have "$PY" || { echo "$PY not found"; return; }
  [ -r "$HERE/bench/torch_mlp.py" ] || { echo "the bundle has no bench/torch_mlp.py (built from a tree without bench/)"; return; }
  v=$("$PY" -c 'import numpy, torch; print(torch.__version__, "cuda", torch.version.cuda)' 2>&1) ||
    { echo "$PY cannot import torch and numpy: $(echo "$v" | tail -n1)"; return; }
  fact torch "$v"
}
if [ "$JOB_ONLY" != 1 ] && [ "${TORCH:-1}" = 1 ]; then
  hr; say "== PyTorch eager, the same job: $PY bench/torch_mlp.py --device cuda --epochs 10 --json ${TORCH_ARGS:-}"
  why=$(torch_ok)
  t=$(budget "$(secs "${TORCH_TIMEOUT:-150}")")
  if [ -n "$why" ]; then skip torch torch_mlp "$why"
  elif [ "$t" -eq 0 ]; then skip torch torch_mlp "time budget spent"
  else
    say "  $(sed -n 's/^torch: //p' "$HOST")"
    # shellcheck disable=SC2086
    runone torch torch_mlp "$LOG_DIR/torch.log" "$t" env PYTHONDONTWRITEBYTECODE=1 \
      "$PY" "$HERE/bench/torch_mlp.py" --device cuda --data "$HERE/data/mnist" --epochs 10 --json ${TORCH_ARGS:-}
    lastline_json "$LOG_DIR/torch.log" "$LOG_DIR/torch.json"
  fi
fi

# 4b. the same job in PyTorch, compiled into CUDA graphs
if [ "$JOB_ONLY" != 1 ] && [ "${TORCH:-1}" = 1 ] && [ "${TORCH_COMPILE:-1}" = 1 ]; then
  hr; say "== PyTorch compiled (CUDA graphs), the same job: $PY bench/torch_mlp.py --device cuda --compile reduce-overhead --adam fused --epochs 10 --json"
  why=$(torch_ok)
  t=$(budget "$(secs "${TORCH_TIMEOUT:-150}")")
  if [ -n "$why" ]; then skip torch torch_mlp_graphs "$why"
  elif [ "$t" -eq 0 ]; then skip torch torch_mlp_graphs "time budget spent"
  else
    runone torch torch_mlp_graphs "$LOG_DIR/torch-graphs.log" "$t" env PYTHONDONTWRITEBYTECODE=1 \
      "$PY" "$HERE/bench/torch_mlp.py" --device cuda --data "$HERE/data/mnist" --epochs 10 --json \
      --compile reduce-overhead --adam fused
    lastline_json "$LOG_DIR/torch-graphs.log" "$LOG_DIR/torch-graphs.json"
  fi
fi

# 5. benchmarks, one process each
if [ "$JOB_ONLY" != 1 ] && [ "${BENCH:-1}" = 1 ]; then
  for b in "$HERE"/bin/*.test; do
    [ -f "$b" ] || continue
    hr; say "== $(basename "$b") benchmarks (count ${BENCH_COUNT:-3}, benchtime ${BENCHTIME:-1s})"
    t=$(budget 60)
    if [ "$t" -eq 0 ]; then skip bench "$(basename "$b") benchmarks" "time budget spent"; continue; fi
    llog=$LOG_DIR/$(basename "$b").list.log
    with_timeout "$t" "$b" -test.list 'Benchmark.*' > "$llog" 2>&1
    rc=$?
    if [ $rc -ne 0 ]; then
      say "  -test.list failed (rc=$rc): $(grep -m1 -iE 'error|panic' "$llog" || tail -n1 "$llog")"
      record bench "$(basename "$b") -test.list" FAIL 0 "$llog" "rc=$rc: the binary did not start"; FAIL=1
      continue
    fi
    list=$(grep '^Benchmark' "$llog" | grep -E "${BENCH_FILTER:-.}")
    [ -n "$list" ] || { say "  (none listed)"; continue; }
    # the throughput pair first: the issue's figures
    for bn in BenchmarkCublasSgemm BenchmarkLargeMLPStep $(echo "$list" | grep -vxE 'BenchmarkCublasSgemm|BenchmarkLargeMLPStep'); do
      echo "$list" | grep -qx "$bn" || continue
      t=$(budget "$(secs "${BENCH_TIMEOUT:-120}")")
      if [ "$t" -eq 0 ]; then skip bench "$bn" "time budget spent"; continue; fi
      runone bench "$bn" "$LOG_DIR/bench-$bn.log" "$t" "$b" -test.run '^$' -test.bench "^$bn\$" \
        -test.count "${BENCH_COUNT:-3}" -test.benchtime "${BENCHTIME:-1s}" -test.timeout "$((t - 5))s"
    done
  done
fi

# 6. PyTorch's SGEMM
if [ "$JOB_ONLY" != 1 ] && [ "${TORCH:-1}" = 1 ] && [ "${BENCH:-1}" = 1 ]; then
  hr; say "== PyTorch FP32 4096³ matmul (a second opinion on the SGEMM rate)"
  t=$(budget 60)
  if ! have "$PY" || ! "$PY" -c 'import torch' >/dev/null 2>&1; then skip sgemm torch-sgemm "$PY cannot import torch"
  elif [ "$t" -eq 0 ]; then skip sgemm torch-sgemm "time budget spent"
  else
    runone sgemm torch-sgemm "$LOG_DIR/torch-sgemm.log" "$t" env PYTHONDONTWRITEBYTECODE=1 "$PY" "$HERE/torch-sgemm.py" --json
    lastline_json "$LOG_DIR/torch-sgemm.log" "$LOG_DIR/torch-sgemm.json"
  fi
fi

# 6b. PyTorch per precision: the 4096³ product, the large MLP eager and compiled
if [ "$JOB_ONLY" != 1 ] && [ "${TORCH:-1}" = 1 ] && [ "${BENCH:-1}" = 1 ] && [ -n "$PRECISIONS" ]; then
  hr; say "== PyTorch per precision ($PRECISIONS): torch-sgemm.py --precision, bench/torch_large_mlp.py"
  if ! have "$PY" || ! "$PY" -c 'import torch' >/dev/null 2>&1; then skip sgemm torch-precision "$PY cannot import torch"
  else
    for prec in $PRECISIONS; do
      t=$(budget 60)
      if [ "$t" -eq 0 ]; then skip sgemm "torch-gemm-$prec" "time budget spent"; continue; fi
      runone sgemm "torch-gemm-$prec" "$LOG_DIR/torch-gemm-$prec.log" "$t" env PYTHONDONTWRITEBYTECODE=1 \
        "$PY" "$HERE/torch-sgemm.py" --precision "$prec" --json
      lastline_json "$LOG_DIR/torch-gemm-$prec.log" "$LOG_DIR/torch-gemm-$prec.json"
    done
    if [ -r "$HERE/bench/torch_large_mlp.py" ]; then
      for prec in fp32 $PRECISIONS; do
        hows=eager
        case " ${TORCH_COMPILE_PRECISIONS-bf16} " in *" $prec "*) hows="eager compile" ;; esac
        for how in $hows; do
          t=$(budget 120)
          if [ "$t" -eq 0 ]; then skip torch "torch-large-mlp-$prec-$how" "time budget spent"; continue; fi
          c=; [ $how = compile ] && c=--compile
          runone torch "torch-large-mlp-$prec-$how" "$LOG_DIR/torch-large-mlp-$prec-$how.log" "$t" env PYTHONDONTWRITEBYTECODE=1 \
            "$PY" "$HERE/bench/torch_large_mlp.py" --precision "$prec" --adam fused $c --json
          lastline_json "$LOG_DIR/torch-large-mlp-$prec-$how.log" "$LOG_DIR/torch-large-mlp-$prec-$how.json"
        done
      done
    else
      skip torch torch-large-mlp "the bundle has no bench/torch_large_mlp.py"
    fi
  fi
fi

# 7. the table
hr
fact elapsed_seconds "$(( $(date +%s) - START ))"
[ $RAN -gt 0 ] || { say "nothing ran ($SKIPPED steps skipped)"; FAIL=1; }
if [ "$JOB_ONLY" != 1 ]; then
  if [ -x "$HERE/tools/gpureport" ]; then
    "$HERE/tools/gpureport" -format table "$LOG_DIR" 2>&1 | tee -a "$SUMMARY"
  else
    say "(no tools/gpureport in the bundle: no table)"
  fi
  hr
fi
if [ $FAIL -eq 0 ]; then say "RESULT: ALL PASSED ($RAN runs, $SKIPPED skipped, $(( $(date +%s) - START ))s)"
else say "RESULT: FAILURES ($RAN runs, $SKIPPED skipped, $(( $(date +%s) - START ))s; see $LOG_DIR)"; fi
exit $FAIL
