"""torch_large_mlp trains the large MLP of gputrain's BenchmarkLargeMLPStep in PyTorch on a GPU.

The model (device/cuda/largemlp_test.go): 4096 inputs, Linear(4096, 4096) + ReLU three
times, Linear(4096, 4096) and cross-entropy over 4096 classes; Adam (lr 1e-3, betas
(0.9, 0.999), eps 1e-7), batch 4096, random inputs in [0, 1) and random labels (8
batches, as the Go benchmark's data set), no shuffling.

--precision picks PyTorch's recipe for the same arithmetic as gputrain's -precision:
  fp32  float32 matmuls, TF32 off (cuBLAS default math)
  tf32  float32 tensors, torch.backends.cuda.matmul.allow_tf32 = True
  bf16  torch.autocast(dtype=torch.bfloat16): float32 master weights and optimizer,
        bf16 matmul operands, float32 accumulation (PyTorch users' usual setting)
  fp16  torch.autocast(dtype=torch.float16) with torch.amp.GradScaler
--adam fused is torch's fused Adam kernel; --compile wraps the model (forward and
backward) in torch.compile (--compile-mode: default, the quickest to compile;
max-autotune-no-cudagraphs tunes the GEMMs, for minutes; reduce-overhead adds CUDA graphs).

It runs --warmup steps, then --repeats timings of --steps steps between CUDA events, and
reports the median step time and TFLOP/s = 6·batch·Σ in·out per step (the customary
count that BenchmarkLargeMLPStep's TFLOP/s uses). The last stdout line is one JSON
object with --json.

Usage: python3 bench/torch_large_mlp.py [--precision bf16] [--adam fused] [--compile] [--json]
"""

import argparse
import json
import statistics
import sys

IN, WIDTHS, BATCH, BATCHES = 4096, (4096, 4096, 4096, 4096), 4096, 8


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--precision", default="bf16", choices=["fp32", "tf32", "bf16", "fp16"],
                   help="arithmetic (default bf16, PyTorch's best setting)")
    p.add_argument("--adam", default="fused", choices=["default", "foreach", "fused"],
                   help="torch.optim.Adam implementation (default fused)")
    p.add_argument("--compile", action="store_true", help="torch.compile the model")
    p.add_argument("--compile-mode", default="default",
                   help="torch.compile mode (default: default; max-autotune-no-cudagraphs, reduce-overhead)")
    p.add_argument("--steps", type=int, default=16, help="steps per timing (default 16)")
    p.add_argument("--repeats", type=int, default=5, help="timings; the median is reported (default 5)")
    p.add_argument("--warmup", type=int, default=8, help="untimed steps first (default 8)")
    p.add_argument("--label", default="", help="free text copied into the JSON result")
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = p.parse_args()
    for name in ("steps", "repeats"):
        if getattr(args, name) < 1:
            p.error(f"--{name} {getattr(args, name)}: must be at least 1")
    if args.warmup < 0:
        p.error(f"--warmup {args.warmup}: must not be negative")

    import torch
    from torch import nn

    if not torch.cuda.is_available():
        sys.exit("torch_large_mlp: torch.cuda.is_available() is False (torch %s, built for CUDA %s)"
                 % (torch.__version__, torch.version.cuda))
    tf32 = args.precision == "tf32"
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    torch.set_float32_matmul_precision("high" if tf32 else "highest")
    dev = torch.device("cuda")
    torch.manual_seed(1)

    layers, prev = [], IN
    for i, w in enumerate(WIDTHS):
        lin = nn.Linear(prev, w)
        nn.init.xavier_uniform_(lin.weight)
        nn.init.zeros_(lin.bias)
        layers.append(lin)
        if i < len(WIDTHS) - 1:
            layers.append(nn.ReLU())
        prev = w
    model = nn.Sequential(*layers).to(dev)
    opt_kw = {"fused": True} if args.adam == "fused" else ({"foreach": True} if args.adam == "foreach" else {})
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7, **opt_kw)
    fwd = torch.compile(model, mode=args.compile_mode) if args.compile else model
    loss_fn = nn.CrossEntropyLoss()
    half = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(args.precision)
    scaler = torch.amp.GradScaler("cuda") if args.precision == "fp16" else None

    gen = torch.Generator(device=dev).manual_seed(5)
    xs = torch.rand((BATCHES, BATCH, IN), device=dev, generator=gen)
    ys = torch.randint(0, WIDTHS[-1], (BATCHES, BATCH), device=dev, generator=gen)

    def step(i):
        x, y = xs[i % BATCHES], ys[i % BATCHES]
        opt.zero_grad(set_to_none=True)
        if half is not None:
            with torch.autocast("cuda", dtype=half):
                loss = loss_fn(fwd(x), y)
        else:
            loss = loss_fn(fwd(x), y)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        else:
            loss.backward()
            opt.step()
        return loss

    for i in range(args.warmup):
        step(i)
    torch.cuda.synchronize()
    flop = 6.0 * BATCH * sum(a * b for a, b in zip((IN,) + WIDTHS[:-1], WIDTHS))
    times = []
    for _ in range(args.repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for i in range(args.steps):
            loss = step(i)
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / 1e3 / args.steps)
    med = statistics.median(times)
    setting = f"{args.precision} adam={args.adam}" + (f" compile={args.compile_mode}" if args.compile else " eager")
    print(f"torch large-mlp {setting}: {med * 1e3:.2f} ms/step, {flop / med / 1e12:.1f} TFLOP/s "
          f"(median of {args.repeats}; loss {loss.item():.4f})", flush=True)
    if args.json:
        print(json.dumps({
            "engine": "pytorch", "version": torch.__version__, "cuda": torch.version.cuda,
            "device": torch.cuda.get_device_name(dev), "job": "large-mlp", "precision": args.precision,
            "adam": args.adam, "compile": args.compile_mode if args.compile else "", "label": args.label,
            "batch": BATCH, "widths": list(WIDTHS), "in": IN,
            "ms_per_step_runs": [round(t * 1e3, 4) for t in times], "ms_per_step": round(med * 1e3, 4),
            "tflops": round(flop / med / 1e12, 3),
        }, separators=(",", ":")), flush=True)


if __name__ == "__main__":
    main()
