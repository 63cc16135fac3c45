"""gpt_compare prints the char-GPT benchmark's table: gputrain against PyTorch.

Input: files of lines; every JSON object line with val_loss and step_ms is a result
(gputrain -json, engine "gputrain" when it names none; bench/torch_gpt.py --json,
engine "pytorch", with "+compile" when it was compiled). For each engine: its runs'
val_loss (nats per character over the whole validation split) and median step time,
then the medians over the runs, the difference of val_loss to PyTorch eager's and
the ratio of PyTorch eager's step time to each engine's (above 1: faster than
PyTorch eager).

With --rounds, the results are interleaved short runs (gputrain, PyTorch, gputrain,
PyTorch, ...): the k-th gputrain run is paired with the k-th PyTorch eager run, and
the table gives each round's median step times and their ratio, then the medians.

Usage: .venv/bin/python bench/gpt_compare.py [--rounds] FILE...
"""

import json
import statistics
import sys


def main():
    args = sys.argv[1:]
    rounds = "--rounds" in args
    args = [a for a in args if a != "--rounds"]
    runs = {}
    for path in args:
        for line in open(path):
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                continue
            if not isinstance(r, dict) or "val_loss" not in r or "step_ms" not in r:
                continue
            name = r.get("engine", "gputrain") + ("+compile" if r.get("compile") else "")
            runs.setdefault(name, []).append(r)
    if "pytorch" not in runs:
        sys.exit("gpt_compare: no PyTorch eager result (bench/torch_gpt.py --json)")
    if rounds:
        print_rounds(runs)
        return
    ref_ms = statistics.median(r["step_ms"] for r in runs["pytorch"])
    ref_loss = statistics.median(r["val_loss"] for r in runs["pytorch"])
    print("| engine | runs | val_loss (each) | step ms (each) | median val_loss | − PyTorch's | median step ms | PyTorch eager ms / this |")
    print("|---|---|---|---|---|---|---|---|")
    for name, rs in runs.items():
        loss = statistics.median(r["val_loss"] for r in rs)
        ms = statistics.median(r["step_ms"] for r in rs)
        print(f"| {name} | {len(rs)} | {', '.join('%.4f' % r['val_loss'] for r in rs)} | "
              f"{', '.join('%.1f' % r['step_ms'] for r in rs)} | {loss:.4f} | {loss - ref_loss:+.4f} | {ms:.1f} | {ref_ms / ms:.2f} |")


def print_rounds(runs):
    """print_rounds prints the step times of paired rounds and their ratios."""
    ours, ref = runs.get("gputrain", []), runs["pytorch"]
    n = min(len(ours), len(ref))
    if n == 0:
        sys.exit("gpt_compare: --rounds needs gputrain and PyTorch results")
    print("| round | gputrain ms/step | PyTorch eager ms/step | PyTorch / gputrain |")
    print("|---|---|---|---|")
    ratios = []
    for k in range(n):
        a, b = ours[k]["step_ms"], ref[k]["step_ms"]
        ratios.append(b / a)
        print(f"| {k + 1} | {a:.1f} | {b:.1f} | {b / a:.2f} |")
    print(f"| median | {statistics.median(r['step_ms'] for r in ours[:n]):.1f} | "
          f"{statistics.median(r['step_ms'] for r in ref[:n]):.1f} | {statistics.median(ratios):.2f} |")


if __name__ == "__main__":
    main()
