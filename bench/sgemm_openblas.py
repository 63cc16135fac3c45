#!/usr/bin/env python3
"""Time OpenBLAS SGEMM (through numpy float32 matmul) on the shapes of BenchmarkSgemm.

Prints one JSON object per line: {"shape", "m", "n", "k", "trans", "threads", "gflops",
"ns_per_op", "gflops_best", "gflops_cpu", "env"}: gflops and ns_per_op from the median
of --repeats timed runs, gflops_best from the fastest (on a shared machine, the least
disturbed), gflops_cpu per second of the process's CPU time (median; time spent waiting
for a core does not count, but OpenBLAS threads that spin do). Square sizes come from --sizes (C = A @ B, no transpose); --ref adds
the reference job's eight GEMMs with their transposes, named as in BenchmarkSgemm.

Run it in a throwaway virtual environment with numpy installed, e.g.

    python3 -m venv /tmp/blasvenv && /tmp/blasvenv/bin/pip install numpy
    /tmp/blasvenv/bin/python bench/sgemm_openblas.py --threads 1 --sizes 128,256,512 --ref

The thread count is set through OPENBLAS_NUM_THREADS before numpy loads. The machine's
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE presets are left as the caller's environment has
them and echoed in the output; to time OpenBLAS's own CPU detection, unset them for this
command only: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python ...
"""

import argparse
import json
import os
import statistics
import sys
import time

# (name, m, n, k, transA, transB) as in cpu/sgemm_test.go referenceShapes.
REFERENCE = [
    ("fwd1_32x128x784_NT", 32, 128, 784, False, True),
    ("fwd2_32x64x128_NT", 32, 64, 128, False, True),
    ("fwd3_32x10x64_NT", 32, 10, 64, False, True),
    ("dw1_128x784x32_TN", 128, 784, 32, True, False),
    ("dw2_64x128x32_TN", 64, 128, 32, True, False),
    ("dw3_10x64x32_TN", 10, 64, 32, True, False),
    ("dx2_32x128x64_NN", 32, 128, 64, False, False),
    ("dx3_32x64x10_NN", 32, 64, 10, False, False),
]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=1, help="OPENBLAS_NUM_THREADS")
    p.add_argument("--sizes", default="128,256,512,1024,2048", help="square sizes, comma-separated ('' for none)")
    p.add_argument("--ref", action="store_true", help="also time the reference job's shapes")
    p.add_argument("--repeats", type=int, default=5, help="timed runs per shape (the median is printed)")
    p.add_argument("--min-time", type=float, default=0.2, help="seconds per timed run")
    args = p.parse_args()

    os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)
    import numpy as np  # after OPENBLAS_NUM_THREADS, which OpenBLAS reads when it loads

    cases = []
    for s in filter(None, args.sizes.split(",")):
        n = int(s)
        cases.append((f"n={n}", n, n, n, False, False))
    if args.ref:
        cases.extend(REFERENCE)

    rng = np.random.default_rng(1)
    env = {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    for name, m, n, k, ta, tb in cases:
        # Stored layouts as the Go benchmark has them: A m×k (k×m when ta), B k×n (n×k when tb).
        a = rng.standard_normal((k, m) if ta else (m, k), dtype=np.float32)
        b = rng.standard_normal((n, k) if tb else (k, n), dtype=np.float32)
        c = np.empty((m, n), dtype=np.float32)
        opa = a.T if ta else a
        opb = b.T if tb else b
        np.matmul(opa, opb, out=c)
        # Calibrate the number of calls per timed run.
        reps = 1
        while True:
            t0 = time.perf_counter()
            for _ in range(reps):
                np.matmul(opa, opb, out=c)
            dt = time.perf_counter() - t0
            if dt >= args.min_time / 4:
                break
            reps *= 2
        reps = max(1, int(reps * args.min_time / dt))
        per_op, cpu_per_op = [], []
        for _ in range(args.repeats):
            c0 = time.process_time()
            t0 = time.perf_counter()
            for _ in range(reps):
                np.matmul(opa, opb, out=c)
            per_op.append((time.perf_counter() - t0) / reps)
            cpu_per_op.append((time.process_time() - c0) / reps)
        t = statistics.median(per_op)
        best = min(per_op)
        print(json.dumps({
            "shape": name, "m": m, "n": n, "k": k,
            "trans": ("T" if ta else "N") + ("T" if tb else "N"),
            "threads": args.threads,
            "gflops": round(2.0 * m * n * k / t / 1e9, 3),
            "ns_per_op": round(t * 1e9, 1),
            "gflops_best": round(2.0 * m * n * k / best / 1e9, 3),
            "gflops_cpu": round(2.0 * m * n * k / statistics.median(cpu_per_op) / 1e9, 3),
            "env": env,
        }), flush=True)


if __name__ == "__main__":
    sys.exit(main())
