#!/bin/sh
# run-gpu.sh: the launcher of the GPU bundle (make gpu-bundle). POSIX sh; needs the
# NVIDIA driver (libcuda.so.1) and the CUDA runtime libraries (libcublas.so.N and
# libcublasLt.so.N, from a toolkit, a distribution package or NVIDIA's pip wheels), no
# Go toolchain and no network. python3, nvidia-smi and timeout are used when present.
#
#   sh gpu-bundle/run-gpu.sh [extra go-test flags, e.g. -test.run Parity]
#
# It prints the host, driver and GPU, finds the libraries, then for each binary under
# bin/: a loader check, a symbol check against the host's libraries, and the run (test
# binaries with -test.v); then the reference job (gputrain -device cuda -json on the
# bundled MNIST) with CUDA graphs on and off. Everything goes to $LOG_DIR; summary.txt
# sums it up; the exit status is 0 only if everything passed.
#
# env: CUBLAS_MAJOR   soname major of libcublas to look for (default: the bundle's)
#      LOG_DIR        where logs go (default ./gpu-logs-<date>-<pid>)
#      TEST_TIMEOUT   per test binary (default 15m)
#      JOB_ARGS       extra flags for the reference job (e.g. "-epochs 2")
#      BENCH          1 (default): also run each test binary's benchmarks, 3 times; 0: not
#      CUDA_LIB_DIRS  ':'-separated directories to search first
#      NO_FIND=1      skip the last-resort 'find' for the libraries
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
N=${CUBLAS_MAJOR:-$(cat "$HERE/CUBLAS_MAJOR" 2>/dev/null || echo 13)}
LOG_DIR=${LOG_DIR:-$PWD/gpu-logs-$(date +%Y%m%d-%H%M%S)-$$}
TEST_TIMEOUT=${TEST_TIMEOUT:-15m}
mkdir -p "$LOG_DIR" || exit 2
SUMMARY=$LOG_DIR/summary.txt
: > "$SUMMARY"

say() { printf '%s\n' "$*" | tee -a "$SUMMARY"; }
hr()  { say "------------------------------------------------------------------"; }
have() { command -v "$1" >/dev/null 2>&1; }
with_timeout() { # SECONDS CMD...
  if have timeout; then timeout -k 30 "$@"; else shift; "$@"; fi
}

hr; say "run-gpu: $(date -u '+%Y-%m-%dT%H:%M:%SZ') host=$(uname -n) kernel=$(uname -r) arch=$(uname -m)"
say "bundle: $HERE"
[ -r "$HERE/MANIFEST" ] && say "$(sed -n '1,4p' "$HERE/MANIFEST")"
say "logs: $LOG_DIR   libcublas major: $N"
if [ -r /etc/os-release ]; then say "os: $(. /etc/os-release; echo "${PRETTY_NAME:-?}")"; fi
if have ldd; then say "libc: $(ldd --version 2>&1 | head -n1)"; fi

# ---- driver and GPU ------------------------------------------------------------
hr
if have nvidia-smi; then
  say "nvidia-smi -L:"; nvidia-smi -L 2>&1 | sed 's/^/  /' | tee -a "$SUMMARY"
  say "driver, gpu, compute capability, memory: $(nvidia-smi --query-gpu=driver_version,name,compute_cap,memory.total --format=csv,noheader 2>&1 | head -n1)"
  nvidia-smi > "$LOG_DIR/nvidia-smi.txt" 2>&1
else
  say "nvidia-smi: not found in PATH"
fi
[ -r /proc/driver/nvidia/version ] && say "kernel module: $(head -n1 /proc/driver/nvidia/version)"
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
  if have python3; then
    for p in $(python3 -c 'import nvidia, os; print("\n".join(os.path.dirname(p) for p in nvidia.__path__))' 2>/dev/null) \
             $(python3 -c 'import site; print("\n".join(site.getsitepackages() + [site.getusersitepackages()]))' 2>/dev/null); do
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
    f=$(with_timeout 120 find /usr /opt /home /root /workspace /data -maxdepth 10 -name "$1" \
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
  else
    say "MISSING $so (searched CUDA_LIB_DIRS, LD_LIBRARY_PATH, ldconfig, /usr/local/cuda*, python nvidia/*/lib, find)"
  fi
done
d=$(find_lib libcuda.so.1)
if [ -n "$d" ]; then
  say "found libcuda.so.1 in $d -> $(readlink -f "$d/libcuda.so.1" 2>/dev/null)"
  "$LDCONFIG" -p 2>/dev/null | grep -q 'libcuda\.so\.1 ' || add_dir "$d"
else
  say "MISSING libcuda.so.1 (the NVIDIA driver's library): nothing can start"
fi
export LD_LIBRARY_PATH="$NEWPATH${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
say "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"

# ---- checks and runs -----------------------------------------------------------
loadcheck() { # how ld.so resolves the binary's NEEDED entries (ldd without ldd)
  LD_TRACE_LOADED_OBJECTS=1 "$1" 2>&1 | grep -E 'libcuda|libcublas|not found|version' | sed 's/^[[:space:]]*/  /'
}
symcheck() { # CUDA symbols the binary references that the host's libraries lack
  [ -r "$1.syms" ] && have python3 || return 0
  python3 - "$1.syms" "$N" <<'PYEOF'
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
  elif grep -qE 'NoDevice|no GPU' "$1"; then h="the driver sees no GPU: check nvidia-smi, CUDA_VISIBLE_DEVICES, container GPU passthrough"
  elif grep -qE 'UnknownErrorCode:34$|StubLibrary' "$1"; then h="libcuda.so.1 is a toolkit stub (a .../stubs dir on LD_LIBRARY_PATH)"
  elif grep -qE 'UnknownErrorCode:35$|InsufficientDriver' "$1"; then h="the driver is older than the CUDA runtime libraries"
  elif grep -qE 'InvalidPtx|UnsupportedPtxVersion|CUDA_ERROR_UNSUPPORTED_PTX_VERSION|JIT log' "$1"; then h="PTX JIT failed: the driver's log is in the error"
  elif grep -qE 'NotInitialized|InvalidContext' "$1"; then h="context not current on this OS thread"
  elif grep -qE 'graph|Graph|capture' "$1"; then h="a CUDA-graph failure: rerun with GPUTRAIN_CUDA_GRAPHS=0 to compare"
  fi
  [ -z "$h" ] || say "  hint: $h"
}

FAIL=0; RAN=0
runone() { # NAME LOG CMD...
  name=$1; log=$2; shift 2
  start=$(date +%s)
  with_timeout 3600 "$@" > "$log" 2>&1
  rc=$?
  RAN=$((RAN+1))
  dur=$(( $(date +%s) - start ))
  grep -E -e '--- (PASS|FAIL|SKIP)|^(PASS|FAIL|ok)|_test\.go:[0-9]+: |^cuda: |^epoch |^test |^gputrain: ' \
       -e 'Error in initialization|panic:|SIGSEGV|error while loading|symbol lookup error|version .* not found' "$log" |
    head -n 120 | sed 's/^/  /' | tee -a "$SUMMARY"
  case $rc in
    0)   say "  -> $name: PASS (${dur}s)" ;;
    127) say "  -> $name: FAIL rc=127 (the loader could not start it)"; FAIL=1 ;;
    124|137) say "  -> $name: TIMEOUT after ${dur}s"; FAIL=1 ;;
    *)   say "  -> $name: FAIL rc=$rc (${dur}s); full log: $log"; FAIL=1 ;;
  esac
  [ $rc -eq 0 ] || hint "$log"
}

for b in "$HERE"/bin/*.test; do
  [ -f "$b" ] || continue
  name=$(basename "$b")
  hr; say "== $name"
  loadcheck "$b" | tee -a "$SUMMARY"
  symcheck "$b" | tee -a "$SUMMARY"
  runone "$name" "$LOG_DIR/$name.log" "$b" -test.v -test.timeout "$TEST_TIMEOUT" "$@"
  if [ "${BENCH:-1}" = 1 ] && "$b" -test.list 'Benchmark.*' 2>/dev/null | grep -q '^Benchmark'; then
    say "== $name benchmarks"
    runone "$name benchmarks" "$LOG_DIR/$name.bench.log" "$b" -test.run '^$' -test.bench . -test.count 3 -test.timeout "$TEST_TIMEOUT"
    grep -E '^Benchmark' "$LOG_DIR/$name.bench.log" | sed 's/^/  /' | tee -a "$SUMMARY"
  fi
done

if [ -x "$HERE/bin/gputrain" ]; then
  for graphs in 1 0; do
    hr; say "== reference job: gputrain -device cuda -json -data data/mnist ${JOB_ARGS:-} (GPUTRAIN_CUDA_GRAPHS=$graphs)"
    [ $graphs = 1 ] && { loadcheck "$HERE/bin/gputrain" | tee -a "$SUMMARY"; symcheck "$HERE/bin/gputrain" | tee -a "$SUMMARY"; }
    # shellcheck disable=SC2086
    export GPUTRAIN_CUDA_GRAPHS=$graphs
    runone "gputrain (graphs=$graphs)" "$LOG_DIR/gputrain-graphs$graphs.log" \
      "$HERE/bin/gputrain" -device cuda -json -data "$HERE/data/mnist" ${JOB_ARGS:-}
    tail -n 1 "$LOG_DIR/gputrain-graphs$graphs.log" > "$LOG_DIR/gputrain-graphs$graphs.json"
  done
fi

hr
[ $RAN -gt 0 ] || { say "no binaries found under $HERE/bin"; FAIL=1; }
if [ $FAIL -eq 0 ]; then say "RESULT: ALL PASSED ($RAN runs)"; else say "RESULT: FAILURES (see $LOG_DIR)"; fi
exit $FAIL
