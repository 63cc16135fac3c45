"""torch_conv times PyTorch's convolutions of gputrain's cnn preset, layer by layer.

The layers are those of nn.CNNSpec (docs/cnn.md) on a batch of 32 MNIST-sized images,
the shapes cpu.BenchmarkConv times for gputrain:

    conv1: (32, 1, 28, 28) by 16 filters 5x5, padding 2
    conv2: (32, 16, 14, 14) by 32 filters 5x5

forward is torch.nn.functional.conv2d with the bias; backward is the op autograd runs
for it, aten.convolution_backward, computing the filter and bias gradients, and the
input gradient for conv2 only (a model's first layer needs none: PyTorch skips it too
when the input does not require a gradient). With --threads T, OMP/MKL thread counts
are set before torch loads and torch.set_num_threads(T) is called.

Each (layer, pass) is warmed up, then timed in --repeats runs of at least --min-time
seconds; one JSON object per line: {"engine": "pytorch", "version", "layer", "pass",
"threads", "us": median microseconds per call, "us_best", "cpu_us": median process
CPU microseconds per call (all threads), "loadavg"}.

Usage: .venv/bin/python bench/torch_conv.py [--threads 1] [--repeats 5] [--min-time 0.2]
"""

import argparse
import json
import os
import statistics
import sys
import time

import common

# (name, C, H=W, filters, kernel, padding, input gradient), as cpu/conv_bench_test.go.
LAYERS = [
    ("conv1", 1, 28, 16, 5, 2, False),
    ("conv2", 16, 14, 32, 5, 0, True),
]
BATCH = 32


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=1, help="torch threads (and OMP/MKL_NUM_THREADS)")
    p.add_argument("--repeats", type=int, default=5, help="timed runs per layer and pass (median printed)")
    p.add_argument("--min-time", type=float, default=0.2, help="seconds per timed run")
    args = p.parse_args()
    if args.threads < 1:
        p.error(f"--threads {args.threads}: must be at least 1")
    if args.repeats < 1 or args.min_time <= 0:
        p.error(f"--repeats {args.repeats} and --min-time {args.min_time}: must be positive")
    common.set_thread_env(args.threads)

    import torch  # after the thread environment is set
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    for name, c, hw, filters, k, pad, need_dx in LAYERS:
        x = torch.randn(BATCH, c, hw, hw)
        w = torch.randn(filters, c, k, k) * 0.1
        b = torch.zeros(filters)
        y = F.conv2d(x, w, b, padding=pad)
        dy = torch.randn_like(y)
        passes = {
            "forward": lambda: F.conv2d(x, w, b, padding=pad),
            "backward": lambda: torch.ops.aten.convolution_backward(
                dy, x, w, [filters], [1, 1], [pad, pad], [1, 1], False, [0, 0], 1, [need_dx, True, True]),
        }
        for pass_name, fn in passes.items():
            for _ in range(10):
                fn()
            calls = 10
            while True:  # calls per run: at least min_time seconds
                t0 = time.perf_counter()
                for _ in range(calls):
                    fn()
                if time.perf_counter() - t0 >= args.min_time / 4:
                    break
                calls *= 2
            calls = max(1, int(calls * args.min_time / max(time.perf_counter() - t0, 1e-9)))
            wall, cpu = [], []
            for _ in range(args.repeats):
                t0, c0 = time.perf_counter(), time.process_time()
                for _ in range(calls):
                    fn()
                wall.append((time.perf_counter() - t0) / calls * 1e6)
                cpu.append((time.process_time() - c0) / calls * 1e6)
            print(json.dumps({"engine": "pytorch", "version": torch.__version__, "layer": name, "pass": pass_name,
                              "threads": args.threads, "us": round(statistics.median(wall), 2),
                              "us_best": round(min(wall), 2), "cpu_us": round(statistics.median(cpu), 2),
                              "loadavg": os.getloadavg()[0]}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
