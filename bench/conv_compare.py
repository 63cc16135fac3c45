#!/usr/bin/env python3
"""Compare gputrain's convolutions (BenchmarkConv in ./cpu) with PyTorch's, per layer.

The layers are the cnn preset's two convolutions, forward and backward (see
bench/torch_conv.py and cpu/conv_bench_test.go for what each pass computes). Each
round runs, for every thread count, the Go benchmark and then bench/torch_conv.py, so
that the shared machine's load falls on both; the table gives, per layer, pass and
thread count, the median over the rounds of each one's microseconds per call and the
ratio PyTorch / gputrain (above 1: gputrain is faster), then the same per CPU
microsecond (time spent waiting for a core does not count). The 1-minute load average
is recorded with every measurement.

    .venv/bin/python bench/conv_compare.py --python .venv/bin/python --rounds 5

Run it from anywhere; it prints a Markdown table, then one JSON object per line with
every measurement.
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
ROOT = os.path.join(HERE, "..")
LINE = re.compile(r"^BenchmarkConv/(\w+)/(\w+)(?:-\d+)?\s+\d+\s+[\d.]+ ns/op((?:\s+[\d.]+ \S+)*)")
METRIC = re.compile(r"([\d.]+) (\S+)")


def run_go(binary, threads, benchtime):
    env = dict(os.environ, GPUTRAIN_THREADS=str(threads))
    out = subprocess.run([binary, "-test.run", "^$", "-test.bench", "^BenchmarkConv$", "-test.benchtime", benchtime],
                         env=env, check=True, capture_output=True, text=True, cwd=os.path.join(ROOT, "cpu")).stdout
    res = {}
    for line in out.splitlines():
        m = LINE.match(line)
        if m:
            metrics = {unit: float(v) for v, unit in METRIC.findall(m.group(3))}
            res[(m.group(1), m.group(2))] = (metrics["µs/op"], metrics.get("cpu-µs/op", float("nan")))
    if not res:
        raise SystemExit(f"conv_compare: no BenchmarkConv results in:\n{out}")
    return res


def run_torch(python, threads, repeats, min_time):
    out = subprocess.run([python, os.path.join(HERE, "torch_conv.py"), "--threads", str(threads),
                          "--repeats", str(repeats), "--min-time", str(min_time)],
                         check=True, capture_output=True, text=True).stdout
    return {(d["layer"], d["pass"]): (d["us"], d["cpu_us"]) for d in map(json.loads, out.splitlines())}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--python", default=sys.executable, help="a python with torch")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--threads", default="1,2")
    p.add_argument("--benchtime", default="200x", help="go test -benchtime per layer and pass")
    p.add_argument("--repeats", type=int, default=3, help="torch_conv.py timed runs per layer and pass")
    p.add_argument("--min-time", type=float, default=0.1, help="torch_conv.py seconds per timed run")
    args = p.parse_args()
    if args.rounds < 1:
        p.error(f"--rounds {args.rounds}: must be at least 1")

    binary = os.path.join(tempfile.mkdtemp(), "cpu.test")
    subprocess.run(["go", "test", "-c", "-o", binary, "./cpu"], check=True, cwd=ROOT)
    threads_list = [int(t) for t in args.threads.split(",")]
    runs = {}  # (impl, threads, layer, pass) -> [(us, cpu_us)]
    for r in range(args.rounds):
        for t in threads_list:
            for impl, fn in (("gputrain", lambda: run_go(binary, t, args.benchtime)),
                             ("pytorch", lambda: run_torch(args.python, t, args.repeats, args.min_time))):
                load = os.getloadavg()[0]
                for (layer, pas), (us, cpu) in fn().items():
                    runs.setdefault((impl, t, layer, pas), []).append((us, cpu))
                    print(json.dumps({"round": r, "impl": impl, "threads": t, "layer": layer, "pass": pas,
                                      "us": us, "cpu_us": cpu, "loadavg": load}), file=sys.stderr, flush=True)

    keys = sorted({(layer, pas) for (_, _, layer, pas) in runs}, key=lambda k: (k[0], k[1] != "forward"))
    for title, col in (("median µs per call", 0), ("median CPU µs per call", 1)):
        print(f"{args.rounds} rounds; {title}; ratio = PyTorch / gputrain (above 1: gputrain faster)\n")
        head, rule = "| layer | pass |", "|---|---|"
        for t in threads_list:
            head += f" gputrain {t}t | PyTorch {t}t | ratio {t}t |"
            rule += "---:|---:|---:|"
        print(head)
        print(rule)
        for layer, pas in keys:
            row = f"| {layer} | {pas} |"
            for t in threads_list:
                g = statistics.median(v[col] for v in runs.get(("gputrain", t, layer, pas), [(float("nan"),) * 2]))
                pt = statistics.median(v[col] for v in runs.get(("pytorch", t, layer, pas), [(float("nan"),) * 2]))
                row += f" {g:.0f} | {pt:.0f} | {pt / g:.2f} |"
            print(row)
        print()
    for (impl, t, layer, pas), vals in sorted(runs.items()):
        print(json.dumps({"impl": impl, "threads": t, "layer": layer, "pass": pas,
                          "us": [v[0] for v in vals], "cpu_us": [v[1] for v in vals]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
