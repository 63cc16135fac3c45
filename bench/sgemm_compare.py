#!/usr/bin/env python3
"""Compare the Go SGEMM (BenchmarkSgemm in ./cpu) with OpenBLAS in one session.

Each round runs, for every thread count: the Go benchmark, then sgemm_openblas.py with
the environment's OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE presets, then sgemm_openblas.py
with both unset (for that command only). Interleaving the three in rounds exposes them
to the same machine load; the table gives the median GFLOP/s of each over the rounds and
the ratio Go / the better OpenBLAS setting; a second table gives each one's best round
(the least disturbed by other load), a third the medians per second of CPU time (time
spent waiting for a core does not count; with 2 threads OpenBLAS's spinning threads do).

    python3 bench/sgemm_compare.py --python /tmp/blasvenv/bin/python --rounds 5

Run it from the repository root. It prints a Markdown table, then one JSON object per
line with every measurement.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
LINE = re.compile(r"^BenchmarkSgemm/(\S+?)(?:-\d+)?\s+\d+\s+[\d.]+ ns/op((?:\s+[\d.]+ \S+)*)")
METRIC = re.compile(r"([\d.]+) (\S+)")


def run_go(binary, threads, benchtime, ref, sizes):
    env = dict(os.environ, GPUTRAIN_THREADS=str(threads))
    names = [f"n={s}" for s in filter(None, sizes.split(","))]
    pattern = "^BenchmarkSgemm$/^(" + "|".join(names + ([".*_.*"] if ref else [])) + ")$"
    out = subprocess.run(
        [binary, "-test.run", "^$", "-test.bench", pattern, "-test.benchtime", benchtime],
        env=env, check=True, capture_output=True, text=True, cwd=os.path.join(HERE, "..", "cpu")).stdout
    res = {}
    for line in out.splitlines():
        m = LINE.match(line)
        if m:
            metrics = {unit: float(v) for v, unit in METRIC.findall(m.group(2))}
            res[m.group(1)] = (metrics["GFLOP/s"], metrics.get("GFLOP/cpu-s", float("nan")))
    return res


def run_blas(python, threads, sizes, min_time, unset, ref):
    cmd = [python, os.path.join(HERE, "sgemm_openblas.py"), "--threads", str(threads),
           "--sizes", sizes, "--repeats", "1", "--min-time", str(min_time)] + (["--ref"] if ref else [])
    if unset:
        cmd = ["env", "-u", "OPENBLAS_CORETYPE", "-u", "OPENBLAS_L2_SIZE"] + cmd
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return {d["shape"]: (d["gflops"], d["gflops_cpu"]) for d in map(json.loads, out.splitlines())}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--python", default=sys.executable, help="a python with numpy")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--threads", default="1,2")
    p.add_argument("--sizes", default="128,256,512,1024,2048")
    p.add_argument("--no-ref", action="store_true", help="square sizes only")
    p.add_argument("--benchtime", default="0.3s", help="go test -benchtime per shape")
    p.add_argument("--min-time", type=float, default=0.3, help="OpenBLAS seconds per shape")
    args = p.parse_args()

    binary = os.path.join(tempfile.mkdtemp(), "cpu.test")
    subprocess.run(["go", "test", "-c", "-o", binary, "./cpu"], check=True, cwd=os.path.join(HERE, ".."))
    preset = {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}

    runs = {}  # (impl, threads) -> shape -> [gflops]
    cpu_runs = {}  # the same per CPU-second
    threads_list = [int(t) for t in args.threads.split(",")]
    for r in range(args.rounds):
        for t in threads_list:
            for impl, fn in (
                ("go", lambda: run_go(binary, t, args.benchtime, not args.no_ref, args.sizes)),
                ("openblas-preset", lambda: run_blas(args.python, t, args.sizes, args.min_time, False, not args.no_ref)),
                ("openblas-unset", lambda: run_blas(args.python, t, args.sizes, args.min_time, True, not args.no_ref)),
            ):
                for shape, (g, gc) in fn().items():
                    runs.setdefault((impl, t), {}).setdefault(shape, []).append(g)
                    cpu_runs.setdefault((impl, t), {}).setdefault(shape, []).append(gc)
                    print(json.dumps({"round": r, "impl": impl, "threads": t, "shape": shape, "gflops": g,
                                      "gflops_cpu": gc}), file=sys.stderr, flush=True)

    shapes = list(runs[("go", threads_list[0])].keys())
    for title, stat, data in (("medians", statistics.median, runs), ("best rounds (max)", max, runs),
                              ("medians per CPU-second", statistics.median, cpu_runs)):
        print(f"OpenBLAS presets: {preset}; {args.rounds} rounds; {title} of GFLOP/s\n")
        head = "| shape |"
        rule = "|---|"
        for t in threads_list:
            head += f" Go {t}t | OB preset {t}t | OB unset {t}t | ratio {t}t |"
            rule += "---:|---:|---:|---:|"
        print(head)
        print(rule)
        for s in shapes:
            row = f"| {s} |"
            for t in threads_list:
                val = {impl: stat(data[(impl, t)].get(s, [float("nan")]))
                       for impl in ("go", "openblas-preset", "openblas-unset")}
                best = max(val["openblas-preset"], val["openblas-unset"])
                row += f" {val['go']:.1f} | {val['openblas-preset']:.1f} | {val['openblas-unset']:.1f} | {val['go'] / best:.2f} |"
            print(row)
        print()
    for (impl, t), by_shape in sorted(runs.items()):
        for s, gs in by_shape.items():
            print(json.dumps({"impl": impl, "threads": t, "shape": s, "gflops": gs,
                              "gflops_cpu": cpu_runs[(impl, t)][s]}))


if __name__ == "__main__":
    sys.exit(main())
