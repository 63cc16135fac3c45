"""recsys_compare prints the mf preset's benchmark table: gputrain against its PyTorch
twin (bench/recsys_twin.py) on the same InstEval split, run in interleaved rounds.

Input: a file of JSON lines, `gputrain -json` results (they have "device") and
recsys_twin.py --json results ("system": "pytorch"), other lines skipped. For each
system: the median over rounds of each run's median training-step seconds per epoch
(train_epoch_seconds: validation and ranking excluded on both sides), the ratio
PyTorch / gputrain (the goal is 2 or more), and the test figures of each round's run
(RMSE within 0.01 of each other is the target), with the global-mean and user+item
bias baselines.

Usage: python bench/recsys_compare.py FILE
"""

import json
import statistics
import sys


def main(path):
    runs = {"gputrain": [], "pytorch": []}
    for line in open(path):
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            r = json.loads(line)
        except json.JSONDecodeError:
            continue
        if "recsys" not in r or "train_epoch_seconds" not in r:
            continue
        runs[r.get("system", "gputrain")].append(r)
    if not runs["gputrain"] or not runs["pytorch"]:
        sys.exit(f"recsys_compare: {path}: need results of both gputrain and pytorch, have {[(k, len(v)) for k, v in runs.items()]}")
    med = {k: statistics.median(statistics.median(r["train_epoch_seconds"]) for r in v) for k, v in runs.items()}
    # the fastest epoch of all rounds: what each system does when the machine lets it
    # (a busy machine slows PyTorch's two OpenMP threads by up to 15x, see docs/recommenders.md)
    best = {k: min(min(r["train_epoch_seconds"]) for r in v) for k, v in runs.items()}
    rmse = {k: [r["recsys"]["test"]["rmse"] for r in v] for k, v in runs.items()}
    print("| system | rounds | median epoch (training steps) s | PyTorch / system | fastest epoch s | PyTorch / system | test RMSE (each round) | test HR@10 | test NDCG@10 |")
    print("|---|---|---|---|---|---|---|---|---|")
    for k, v in runs.items():
        t = v[-1]["recsys"]["test"]
        print(f"| {k} | {len(v)} | {med[k]:.4f} | {med['pytorch'] / med[k]:.1f} | {best[k]:.4f} | {best['pytorch'] / best[k]:.1f} | {', '.join(f'{x:.4f}' for x in rmse[k])} | "
              f"{t['hr@10']:.4f} | {t['ndcg@10']:.4f} |")
    b = runs["gputrain"][-1]["recsys"]
    for name, key in (("user+item biases", "baseline_biases"), ("global mean", "baseline_global_mean")):
        s = b[key]
        print(f"| baseline: {name} | | | | | | {s['rmse']:.4f} | {s['hr@10']:.4f} | {s['ndcg@10']:.4f} |")
    diff = abs(statistics.median(rmse["gputrain"]) - statistics.median(rmse["pytorch"]))
    ok = diff <= 0.01
    print(f"\nmedian test RMSE: gputrain {statistics.median(rmse['gputrain']):.4f}, PyTorch {statistics.median(rmse['pytorch']):.4f}: "
          f"difference {diff:.4f} ({'within' if ok else 'NOT within'} 0.01); "
          f"gputrain's epoch is {med['pytorch'] / med['gputrain']:.1f}x faster than PyTorch's in the median, {best['pytorch'] / best['gputrain']:.1f}x at the fastest "
          f"({'meets' if min(med['pytorch'] / med['gputrain'], best['pytorch'] / best['gputrain']) >= 2 else 'misses'} the 2x goal)")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: recsys_compare.py FILE")
    main(sys.argv[1])
