"""recsys_twin.py is the PyTorch twin of gputrain's mf preset (nn.MF, docs/recommenders.md),
trained on the split gputrain makes (bench/recsplit writes it) and measured the same way:

  r̂ = p_u·q_i + b_u + b_i + μ,  P, Q ~ N(0, std²), biases 0, μ = the training mean;
  loss = mean((r̂ - r)²) + l2·mean(‖p_u‖² + ‖q_i‖²) + bias_l2·mean(b_u² + b_i²) per batch;
  nn.Embedding(sparse=True) tables stepped by torch.optim.SparseAdam (lazy: the rows of
  the batch only, the bias correction of the parameter's step count), μ by Adam;
  lr 0.002, betas (0.9, 0.999), eps 1e-7, batch 256, shuffled every epoch.

It reports each epoch's training seconds (the steps alone), the validation and test
RMSE and MAE, HitRate@10 and NDCG@10 on gputrain's ranking lists (the user's best item
of the part against the same 100 sampled unrated items; ties count against the model),
and the global-mean and user+item bias baselines (alternating regularised means, the
shrinkage chosen on validation from the same grid as train/recsys). The last stdout
line is a JSON object with --json.

  go run ./bench/recsplit -out build/bench/insteval-split
  python bench/recsys_twin.py --split build/bench/insteval-split --threads 2 --json
"""

import argparse
import json
import math
import os
import sys
import time


def parse():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--split", required=True, help="folder written by bench/recsplit")
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--dim", type=int, default=32)
    p.add_argument("--l2", type=float, default=0.2)
    p.add_argument("--bias-l2", type=float, default=0.02)
    p.add_argument("--std", type=float, default=0.01)
    p.add_argument("--lr", type=float, default=0.002)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    for name in ("epochs", "threads", "dim", "batch"):
        if getattr(a, name) < 1:
            p.error(f"--{name} {getattr(a, name)}: must be at least 1")
    if not os.path.isfile(os.path.join(a.split, "meta.json")):
        p.error(f"--split {a.split}: no meta.json (run: go run ./bench/recsplit -out {a.split})")
    return a


args = parse()
for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(v, str(args.threads))
import numpy as np  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(args.threads)
torch.manual_seed(args.seed)


def load(name):
    a = np.loadtxt(os.path.join(args.split, name), delimiter=",", skiprows=1, dtype=np.float64, ndmin=2)
    return a


meta = json.load(open(os.path.join(args.split, "meta.json")))
parts = {n: load(n + ".csv") for n in ("train", "val", "test")}
lists = {n: load(n + "_lists.csv").astype(np.int64) for n in ("val", "test")}
users, items, mean = meta["users"], meta["items"], meta["train_mean"]


class MF(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.user_embedding = torch.nn.Embedding(users, args.dim, sparse=True)
        self.item_embedding = torch.nn.Embedding(items, args.dim, sparse=True)
        self.user_bias = torch.nn.Embedding(users, 1, sparse=True)
        self.item_bias = torch.nn.Embedding(items, 1, sparse=True)
        self.bias = torch.nn.Parameter(torch.tensor([mean], dtype=torch.float32))
        torch.nn.init.normal_(self.user_embedding.weight, 0, args.std)
        torch.nn.init.normal_(self.item_embedding.weight, 0, args.std)
        torch.nn.init.zeros_(self.user_bias.weight)
        torch.nn.init.zeros_(self.item_bias.weight)

    def forward(self, u, i):
        pu, qi = self.user_embedding(u), self.item_embedding(i)
        bu, bi = self.user_bias(u), self.item_bias(i)
        return (pu * qi).sum(1) + bu[:, 0] + bi[:, 0] + self.bias, pu, qi, bu, bi


model = MF()
sparse = [p for n, p in model.named_parameters() if n != "bias"]
opt_sparse = torch.optim.SparseAdam(sparse, lr=args.lr, betas=(0.9, 0.999), eps=1e-7)
opt_dense = torch.optim.Adam([model.bias], lr=args.lr, betas=(0.9, 0.999), eps=1e-7)
tr = parts["train"]
U, I, R = torch.from_numpy(tr[:, 0].astype(np.int64)), torch.from_numpy(tr[:, 1].astype(np.int64)), torch.from_numpy(tr[:, 2].astype(np.float32))


def predict(u, i):
    with torch.no_grad():
        out = []
        for lo in range(0, len(u), 65536):
            out.append(model(torch.from_numpy(u[lo:lo + 65536]), torch.from_numpy(i[lo:lo + 65536]))[0].numpy())
        return np.concatenate(out).astype(np.float64)


def evaluate(score, name):
    """RMSE and MAE of score on a part's ratings, HitRate@k and NDCG@k on its lists."""
    p = parts[name]
    err = score(p[:, 0].astype(np.int64), p[:, 1].astype(np.int64)) - p[:, 2]
    l = lists[name]
    s = score(l[:, 1], l[:, 2])
    starts = np.flatnonzero(np.r_[True, l[1:, 0] != l[:-1, 0]])
    ends = np.r_[starts[1:], len(l)]
    k = meta["k"]
    hr = ndcg = 0.0
    for lo, hi in zip(starts, ends):
        pos, neg = s[lo], s[lo + 1:hi]
        rank = 1 + int(np.sum((neg >= pos) | np.isnan(pos)))
        if rank <= k:
            hr += 1
            ndcg += 1 / math.log2(rank + 1)
    n = len(starts)
    return {"rmse": float(np.sqrt(np.mean(err ** 2))), "mae": float(np.mean(np.abs(err))),
            f"hr@{k}": hr / n, f"ndcg@{k}": ndcg / n}


epoch_seconds, history = [], []
gen = torch.Generator().manual_seed(args.seed)
n = len(R)
for epoch in range(1, args.epochs + 1):
    start = time.perf_counter()
    order = torch.randperm(n, generator=gen)
    total = 0.0
    for lo in range(0, n, args.batch):
        idx = order[lo:lo + args.batch]
        u, i, r = U[idx], I[idx], R[idx]
        pred, pu, qi, bu, bi = model(u, i)
        mse = ((pred - r) ** 2).mean()
        loss = mse + args.l2 * ((pu ** 2).sum(1) + (qi ** 2).sum(1)).mean() + args.bias_l2 * ((bu ** 2).sum(1) + (bi ** 2).sum(1)).mean()
        opt_sparse.zero_grad()
        opt_dense.zero_grad()
        loss.backward()
        opt_sparse.step()
        opt_dense.step()
        total += mse.item() * len(idx)
    sec = time.perf_counter() - start
    epoch_seconds.append(sec)
    val = evaluate(predict, "val")
    history.append({"epoch": epoch, "loss": total / n, "train_seconds": sec, "val": val})
    print(f"epoch {epoch}/{args.epochs}  loss {total / n:.4f}  val_rmse {val['rmse']:.4f}  val_hr@10 {val['hr@10']:.4f}  train {sec:.3f}s", flush=True)

test = evaluate(predict, "test")


def fit_biases(lam, iters=10):
    """The user+item bias baseline of train/recsys.FitBiases."""
    u, i, r = tr[:, 0].astype(np.int64), tr[:, 1].astype(np.int64), tr[:, 2]
    mu = float(np.mean(r))
    bu, bi = np.zeros(users), np.zeros(items)
    for _ in range(iters):
        cnt = np.bincount(i, minlength=items)
        bi = np.where(cnt > 0, np.bincount(i, r - mu - bu[u], items) / np.maximum(lam + cnt, 1e-300), 0)
        cnt = np.bincount(u, minlength=users)
        bu = np.where(cnt > 0, np.bincount(u, r - mu - bi[i], users) / np.maximum(lam + cnt, 1e-300), 0)
    return lambda uu, ii: mu + bu[uu] + bi[ii]


best = min(((evaluate(fit_biases(lam), "val")["rmse"], lam) for lam in (0, 1, 2, 5, 10, 25, 50)))
biases = evaluate(fit_biases(best[1]), "test")
global_mean = evaluate(lambda uu, ii: np.full(len(uu), float(np.mean(tr[:, 2]))), "test")
print(f"test  mf rmse {test['rmse']:.4f}  biases (λ {best[1]}) {biases['rmse']:.4f}  global mean {global_mean['rmse']:.4f}")
if args.json:
    print(json.dumps({"system": "pytorch", "torch": torch.__version__, "threads": args.threads, "epochs": args.epochs,
                      "train_epoch_seconds": epoch_seconds, "history": history,
                      "recsys": {"test": test, "baseline_biases": biases, "baseline_global_mean": global_mean,
                                 "baseline_biases_lambda": best[1]}}))
