"""torch_gpt trains gputrain's char-GPT job in PyTorch: nanoGPT's model and recipe.

The model is nanoGPT's GPT (github.com/karpathy/nanoGPT, model.py), written out below
with the same module names, so that its state_dict has the names of gputrain's
checkpoints: token and learned position embeddings, pre-LayerNorm blocks of causal
self-attention (F.scaled_dot_product_attention with is_causal, nanoGPT's fast path)
and an exact-GELU MLP of 4x the width, a final LayerNorm, and an output head tied to
the token embedding; without bias (the default, nanoGPT's bias=False) the layer norms
and the linear layers have no biases. Weights start as nanoGPT's: N(0, 0.02), the
residual projections (c_proj) N(0, 0.02/sqrt(2*layers)).

The recipe is nanoGPT's (train.py): AdamW (lr 1e-3, betas 0.9/0.99, eps 1e-8, weight
decay 0.1 on the tensors of 2 or more dimensions only), get_lr's schedule (a linear
warm-up over --warmup steps, then a cosine down to --min-lr at the last step:
gputrain's train.WarmupCosine), gradient clipping at 1.0.

The data is gputrain's text:FILE: the vocabulary is the sorted set of the file's
distinct bytes, the first floor(0.9 N) bytes train and the rest validate; each step
draws --batch windows of --context bytes at uniformly random starts (torch's generator,
seeded by --seed: the windows differ from gputrain's, the distribution does not).
val_loss is the mean per-character cross-entropy in nats over the whole validation
split cut into non-overlapping windows of --context (each window predicts its next
characters), as gputrain computes it; bits_per_char is val_loss / ln 2.

step_ms is the median, over stretches of 25 steps between reads of the running loss
(the device synchronized there), of the milliseconds per step: gputrain's measure.

Usage: .venv/bin/python bench/torch_gpt.py --data data/shakespeare/input.txt
       [--layers 4 --heads 4 --dim 128 --context 64 --dropout 0 --batch 12 --steps 2000]
       [--threads N] [--device cpu|cuda] [--compile] [--adam fused|foreach|default]
       [--eval-every N] [--json]
"""

import argparse
import json
import math
import os
import statistics
import sys
import time


def build_model(torch, vocab, context, layers, heads, dim, dropout, bias=False):
    """build_model returns nanoGPT's GPT as an nn.Module (see the module doc)."""
    nn = torch.nn
    F = torch.nn.functional

    class LayerNorm(nn.Module):
        def __init__(self, n, bias):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(n))
            self.bias = nn.Parameter(torch.zeros(n)) if bias else None

        def forward(self, x):
            return F.layer_norm(x, self.weight.shape, self.weight, self.bias, 1e-5)

    class CausalSelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.c_attn = nn.Linear(dim, 3 * dim, bias=bias)
            self.c_proj = nn.Linear(dim, dim, bias=bias)
            self.attn_dropout = nn.Dropout(dropout)
            self.resid_dropout = nn.Dropout(dropout)

        def forward(self, x):
            b, t, c = x.size()
            q, k, v = self.c_attn(x).split(dim, dim=2)
            q, k, v = (z.view(b, t, heads, c // heads).transpose(1, 2) for z in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout if self.training else 0, is_causal=True)
            y = y.transpose(1, 2).contiguous().view(b, t, c)
            return self.resid_dropout(self.c_proj(y))

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.c_fc = nn.Linear(dim, 4 * dim, bias=bias)
            self.gelu = nn.GELU()
            self.c_proj = nn.Linear(4 * dim, dim, bias=bias)
            self.dropout = nn.Dropout(dropout)

        def forward(self, x):
            return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1 = LayerNorm(dim, bias)
            self.attn = CausalSelfAttention()
            self.ln_2 = LayerNorm(dim, bias)
            self.mlp = MLP()

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            return x + self.mlp(self.ln_2(x))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.transformer = nn.ModuleDict(dict(
                wte=nn.Embedding(vocab, dim), wpe=nn.Embedding(context, dim), drop=nn.Dropout(dropout),
                h=nn.ModuleList([Block() for _ in range(layers)]), ln_f=LayerNorm(dim, bias)))
            self.lm_head = nn.Linear(dim, vocab, bias=False)
            self.transformer.wte.weight = self.lm_head.weight  # tied
            self.apply(self._init_weights)
            for name, p in self.named_parameters():
                if name.endswith("c_proj.weight"):
                    nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * layers))

        def _init_weights(self, m):
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, mean=0.0, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Embedding):
                nn.init.normal_(m.weight, mean=0.0, std=0.02)

        def forward(self, idx):
            t = idx.size(1)
            pos = torch.arange(0, t, dtype=torch.long, device=idx.device)
            x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))
            for block in self.transformer.h:
                x = block(x)
            return self.lm_head(self.transformer.ln_f(x))

    return GPT()


def get_lr(step, peak, floor, warmup, steps):
    """get_lr is nanoGPT's schedule with lr_decay_iters = the last step (train.WarmupCosine)."""
    if step < warmup:
        return peak * (step + 1) / (warmup + 1)
    if step >= steps - 1:
        return floor
    ratio = (step - warmup) / (steps - 1 - warmup)
    return floor + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (peak - floor)


def load_text(path):
    """load_text returns the file's vocabulary (sorted distinct bytes) and its tokens."""
    with open(path, "rb") as f:
        raw = f.read()
    vocab = sorted(set(raw))
    table = bytes(range(256)).maketrans(bytes(vocab), bytes(range(len(vocab))))
    return vocab, raw.translate(table)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="data/shakespeare/input.txt", help="the text file (default %(default)s)")
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--dim", type=int, default=128)
    p.add_argument("--context", type=int, default=64)
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--bias", action="store_true", help="biases in the layer norms and linear layers (nanoGPT's bias=True)")
    p.add_argument("--batch", type=int, default=12)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--min-lr", type=float, default=1e-4)
    p.add_argument("--warmup", type=int, default=None,
                   help="warm-up steps (default: 100, a tenth of a run of 100 steps or fewer, as gputrain's text preset)")
    p.add_argument("--eval-every", type=int, default=0, help="validation loss every N steps and after the last (0: the last only)")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--compile", action="store_true", help="torch.compile the model (nanoGPT's compile=True)")
    p.add_argument("--adam", default="fused", choices=["fused", "foreach", "default"],
                   help="torch.optim.AdamW implementation (default fused: the fastest here)")
    p.add_argument("--tf32", action="store_true", help="allow TF32 matmuls on cuda (off: float32 as gputrain)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--label", default="")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    if args.dim % args.heads:
        p.error(f"--dim {args.dim} is not a multiple of --heads {args.heads}")
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, str(args.threads))

    import torch
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    dev = torch.device(args.device)
    if args.device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = args.tf32
        torch.backends.cudnn.allow_tf32 = args.tf32
    vocab, tokens = load_text(args.data)
    n = len(tokens)
    split = n // 10 * 9 + n % 10 * 9 // 10
    data = torch.frombuffer(bytearray(tokens), dtype=torch.uint8).to(torch.long)
    train, val = data[:split], data[split:]
    T, B = args.context, args.batch
    model = build_model(torch, len(vocab), T, args.layers, args.heads, args.dim, args.dropout, args.bias).to(dev)
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": 0.1},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    kw = {"fused": True} if args.adam == "fused" else {"foreach": True} if args.adam == "foreach" else {}
    opt = torch.optim.AdamW(groups, lr=args.lr, betas=(0.9, 0.99), eps=1e-8, **kw)
    fwd = torch.compile(model) if args.compile else model
    gen = torch.Generator().manual_seed(args.seed)
    train_dev, windows = train.to(dev), (len(val) - 1) // T
    offsets = torch.arange(T + 1)

    def batch():
        starts = torch.randint(len(train) - T, (B,), generator=gen)
        w = train_dev[(starts[:, None] + offsets).to(dev)]
        return w[:, :-1], w[:, 1:]

    def sync():
        if args.device == "cuda":
            torch.cuda.synchronize()

    @torch.no_grad()
    def evaluate():
        model.eval()
        total = torch.zeros((), dtype=torch.float64, device=dev)
        for k in range(0, windows, B):
            m = min(B, windows - k)
            idx = (torch.arange(k, k + m)[:, None] * T + offsets).to(dev)
            w = val.to(dev)[idx]
            logits = fwd(w[:, :-1])
            total += F.cross_entropy(logits.reshape(-1, logits.size(-1)), w[:, 1:].reshape(-1), reduction="sum").double()
        model.train()
        return total.item() / (windows * T)

    warmup = args.warmup if args.warmup is not None else (100 if args.steps > 100 else args.steps // 10)
    every = args.eval_every or args.steps
    history, chunks = [], []
    running = torch.zeros((), device=dev)
    seen, t_start = 0, time.perf_counter()
    sync()
    chunk_t, chunk_n = time.perf_counter(), 0
    for step in range(args.steps):
        lr = get_lr(step, args.lr, args.min_lr, warmup, args.steps)
        for g in opt.param_groups:
            g["lr"] = lr
        x, y = batch()
        logits = fwd(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        running += loss.detach()
        seen += 1
        chunk_n += 1
        last = step + 1 == args.steps or (step + 1) % every == 0
        if (step + 1) % 25 == 0 or last:
            tr_loss = running.item() / seen  # reads the device: a sync
            chunks.append((time.perf_counter() - chunk_t) * 1e3 / chunk_n)
            chunk_t, chunk_n = time.perf_counter(), 0
        if last:
            v = evaluate()
            history.append({"step": step + 1, "loss": tr_loss, "val_loss": v, "lr": lr,
                            "step_ms": statistics.median(chunks[-max(1, every // 25):])})
            print(f"step {step + 1}/{args.steps}  loss {tr_loss:.4f}  val_loss {v:.4f}  ({v / math.log(2):.3f} bits/char)  "
                  f"lr {lr:.3g}  {history[-1]['step_ms']:.1f} ms/step", flush=True)
            running.zero_()
            seen = 0
            sync()
            chunk_t = time.perf_counter()
    val_loss = history[-1]["val_loss"]
    res = {"engine": "pytorch", "torch": torch.__version__, "device": args.device, "compile": args.compile,
           "adam": args.adam, "threads": args.threads, "layers": args.layers, "heads": args.heads, "dim": args.dim,
           "context": T, "dropout": args.dropout, "batch": B, "steps": args.steps, "vocab": len(vocab),
           "parameters": sum(p.numel() for p in params), "loss": history[-1]["loss"], "val_loss": val_loss,
           "bits_per_char": val_loss / math.log(2), "step_ms": statistics.median(chunks), "val_windows": windows,
           "seconds": time.perf_counter() - t_start, "history": history, "label": args.label}
    if args.device == "cuda":
        res["gpu"] = torch.cuda.get_device_name()
    print(f"validation loss {val_loss:.4f} nats/char ({val_loss / math.log(2):.3f} bits/char) over {windows} windows; "
          f"median step {res['step_ms']:.2f} ms")
    if args.json:
        print(json.dumps(res))


if __name__ == "__main__":
    sys.exit(main())
