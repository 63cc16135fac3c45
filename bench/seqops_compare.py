"""seqops_compare.py: the CPU sequence-model ops against PyTorch eager, one thread, in
interleaved rounds (each round runs the Go benchmarks, then PyTorch's equivalents), and
the medians of the rounds.

    /work/main/.venv/bin/python bench/seqops_compare.py [rounds]

Go: BenchmarkOps in ./cpu (tuned kernels on one thread). PyTorch: the same shapes, the
forms a model would run (nanoGPT's scale + masked_fill + softmax for the causal softmax;
LayerNorm's forward and backward through autograd). Times are per call.
"""
import re
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(1)
ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 5
GO_OPS = {
    "layernorm-768x128": "layernorm forward (768, 128)",
    "layernorm-backward-768x128": "layernorm backward (768, 128)",
    "causal-softmax-48x64x64": "causal softmax (12·4, 64, 64)",
    "gelu_tanh-768x512": "gelu tanh (768, 512)",
    "gelu_tanh-backward-768x512": "gelu tanh backward (768, 512)",
    "lstm-cell-64x128": "lstm cell (64, 128)",
    "lstm-cell-backward-64x128": "lstm cell backward (64, 128)",
}


def go_round():
    pattern = "Ops/(" + "|".join(re.escape(k) for k in GO_OPS) + ")/tuned-1-thread"
    out = subprocess.run(["go", "test", "./cpu", "-run", "^$", "-bench", pattern, "-benchtime", "200ms"],
                         capture_output=True, text=True, check=True).stdout
    res = {}
    for line in out.splitlines():
        m = re.match(r"BenchmarkOps/(\S+)/tuned-1-thread-\d+\s+\d+\s+([\d.]+) ns/op", line)
        if m:
            res[GO_OPS[m.group(1)]] = float(m.group(2)) / 1e3
    return res


def med(f, n=200):
    for _ in range(10):
        f()
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts) * 1e6


def torch_round():
    res = {}
    x = torch.randn(768, 128, requires_grad=True)
    ln = torch.nn.LayerNorm(128)
    dy = torch.randn(768, 128)
    with torch.no_grad():
        res["layernorm forward (768, 128)"] = med(lambda: ln(x))
    fwd = res["layernorm forward (768, 128)"]

    def fb():
        ln(x).backward(dy)
    res["layernorm backward (768, 128)"] = med(fb) - fwd  # autograd's backward part

    att = torch.randn(12, 4, 64, 64)
    mask = torch.tril(torch.ones(64, 64)).view(1, 1, 64, 64)
    with torch.no_grad():
        res["causal softmax (12·4, 64, 64)"] = med(
            lambda: F.softmax((att * 0.17677669).masked_fill(mask == 0, float("-inf")), dim=-1))
    g = torch.randn(768, 512, requires_grad=True)
    with torch.no_grad():
        res["gelu tanh (768, 512)"] = med(lambda: F.gelu(g, approximate="tanh"))
    dg = torch.randn(768, 512)
    res["gelu tanh backward (768, 512)"] = med(lambda: F.gelu(g, approximate="tanh").backward(dg)) - res["gelu tanh (768, 512)"]
    # The LSTM cell's elementwise part as PyTorch's LSTMCell computes it (gates chunked,
    # activations, state update), forward; backward through autograd.
    pre = torch.randn(64, 512, requires_grad=True)
    c0 = torch.randn(64, 128)

    def cell():
        i, f, gg, o = pre.chunk(4, 1)
        i, f, gg, o = i.sigmoid(), f.sigmoid(), gg.tanh(), o.sigmoid()
        c = f * c0 + i * gg
        return o * c.tanh(), c
    with torch.no_grad():
        res["lstm cell (64, 128)"] = med(cell)
    dh = torch.randn(64, 128)

    def cellfb():
        h, c = cell()
        (h * dh + c * dh).sum().backward()
    res["lstm cell backward (64, 128)"] = med(cellfb) - res["lstm cell (64, 128)"]
    return res


def main():
    rounds = []
    for _ in range(ROUNDS):
        rounds.append((go_round(), torch_round()))
    print(f"| op | gputrain, 1 thread | PyTorch {torch.__version__}, 1 thread | PyTorch / gputrain |")
    print("|---|---|---|---|")
    for name in GO_OPS.values():
        g = statistics.median(r[0][name] for r in rounds)
        t = statistics.median(r[1][name] for r in rounds)
        print(f"| {name} | {g:.1f} µs | {t:.1f} µs | {t / g:.2f}× |")


if __name__ == "__main__":
    main()
