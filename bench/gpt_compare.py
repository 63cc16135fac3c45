"""gpt_compare prints the char-GPT benchmark's table: gputrain against PyTorch.

Input: files of lines; every JSON object line with val_loss and step_ms is a result
(gputrain -json, engine "gputrain" when it names none; bench/torch_gpt.py --json,
engine "pytorch", with "+compile" when it was compiled). For each engine: its runs'
val_loss (nats per character over the whole validation split) and median step time,
then the medians over the runs, the difference of val_loss to PyTorch eager's and
the ratio of PyTorch eager's step time to each engine's (above 1: faster than
PyTorch eager).

Usage: .venv/bin/python bench/gpt_compare.py FILE...
"""

import json
import statistics
import sys


def main():
    runs = {}
    for path in sys.argv[1:]:
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
    ref_ms = statistics.median(r["step_ms"] for r in runs["pytorch"])
    ref_loss = statistics.median(r["val_loss"] for r in runs["pytorch"])
    print("| engine | runs | val_loss (each) | step ms (each) | median val_loss | − PyTorch's | median step ms | PyTorch eager ms / this |")
    print("|---|---|---|---|---|---|---|---|")
    for name, rs in runs.items():
        loss = statistics.median(r["val_loss"] for r in rs)
        ms = statistics.median(r["step_ms"] for r in rs)
        print(f"| {name} | {len(rs)} | {', '.join('%.4f' % r['val_loss'] for r in rs)} | "
              f"{', '.join('%.1f' % r['step_ms'] for r in rs)} | {loss:.4f} | {loss - ref_loss:+.4f} | {ms:.1f} | {ref_ms / ms:.2f} |")


if __name__ == "__main__":
    main()
