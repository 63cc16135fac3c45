"""torch-sgemm measures PyTorch's FP32 matrix product (cuBLAS SGEMM, TF32 off) on the GPU.

With --precision tf32, bf16 or fp16 it measures the same product in that precision
instead: float32 operands with allow_tf32 (tf32), or bfloat16 / float16 operands
(torch.mm of 16-bit tensors: cuBLAS GemmEx with float32 accumulation, a 16-bit C),
the second opinion on BenchmarkCublasGemmPrecision.

It is the GPU bundle's second opinion on the card's SGEMM rate: run-gpu.sh runs it
next to BenchmarkCublasSgemm, which calls cuBLAS through gputrain. For each shape
(default 4096x4096x4096, C = A @ B with row-major A (M, K) and B (K, N)) it runs
--warmup products, then --repeats timings of --iters products between CUDA events;
TFLOP/s = 2*M*N*K*iters / seconds. The last stdout line is one JSON object.

Usage: python3 torch-sgemm.py [--size 4096] [--iters 50] [--repeats 5] [--precision fp32] [--json]
"""

import argparse
import json
import statistics
import sys


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=4096, help="M = N = K (default 4096)")
    p.add_argument("--iters", type=int, default=50, help="products per timing (default 50)")
    p.add_argument("--repeats", type=int, default=5, help="timings; the median is reported (default 5)")
    p.add_argument("--warmup", type=int, default=5, help="untimed products first (default 5)")
    p.add_argument("--precision", default="fp32", choices=["fp32", "tf32", "bf16", "fp16"],
                   help="operands and math (default fp32: float32, TF32 off)")
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = p.parse_args()
    for name in ("size", "iters", "repeats"):
        if getattr(args, name) < 1:
            p.error(f"--{name} {getattr(args, name)}: must be at least 1")

    import torch

    if not torch.cuda.is_available():
        sys.exit("torch-sgemm: torch.cuda.is_available() is False (torch %s, built for CUDA %s)"
                 % (torch.__version__, torch.version.cuda))
    # FP32 as gputrain computes it: no TF32 in matmul (cuBLAS default math); TF32 only
    # with --precision tf32.
    tf32 = args.precision == "tf32"
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.set_float32_matmul_precision("high" if tf32 else "highest")
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(args.precision, torch.float32)
    dev = torch.device("cuda")
    n = args.size
    gen = torch.Generator(device=dev).manual_seed(0)
    a = (torch.rand((n, n), device=dev, generator=gen) * 2 - 1).to(dtype)
    b = (torch.rand((n, n), device=dev, generator=gen) * 2 - 1).to(dtype)
    c = torch.empty((n, n), device=dev, dtype=dtype)
    for _ in range(args.warmup):
        torch.mm(a, b, out=c)
    torch.cuda.synchronize()
    rates = []
    for _ in range(args.repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(args.iters):
            torch.mm(a, b, out=c)
        end.record()
        end.synchronize()
        seconds = start.elapsed_time(end) / 1e3
        rates.append(2.0 * n * n * n * args.iters / seconds / 1e12)
    med = statistics.median(rates)
    print(f"torch.mm {args.precision} {n}x{n}x{n}: {med:.2f} TFLOP/s (median of {args.repeats}: "
          + ", ".join(f"{r:.2f}" for r in rates) + ")", flush=True)
    if args.json:
        print(json.dumps({
            "engine": "pytorch", "version": torch.__version__, "cuda": torch.version.cuda,
            "device": torch.cuda.get_device_name(dev), "m": n, "n": n, "k": n,
            "allow_tf32": torch.backends.cuda.matmul.allow_tf32, "precision": args.precision,
            "tflops_runs": [round(r, 3) for r in rates], "tflops": round(med, 3),
        }, separators=(",", ":")), flush=True)


if __name__ == "__main__":
    main()
