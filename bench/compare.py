"""compare prints a table of MNIST MLP benchmark results and their ratio to the fastest reference.

Input: files (or stdin with -) of lines; every line that is a JSON object with
test_accuracy and epoch_seconds is a result, other lines are skipped, so a whole
run's stdout can be passed as is. Results come from bench/torch_mlp.py --json and
bench/keras_mlp.py --json (engine "pytorch" / "keras", the references) and from
`gputrain -json`, whose last stdout line holds at least device, epochs, batch,
test_accuracy, test_loss, epoch_seconds and samples_per_second (engine "gputrain"
when it names none).

ratio = median epoch seconds / median epoch seconds of the fastest reference run;
above 1 is slower than that reference, below 1 faster. "median cpu s" is the median
of epoch_cpu_seconds (process CPU time per epoch) where a result has it.

Usage: .venv/bin/python bench/compare.py [--group] [--best] FILE... (or - for stdin)
"""

import argparse
import json
import statistics
import sys

REFERENCES = ("pytorch", "keras")
REQUIRED = ("test_accuracy", "epoch_seconds")


class CompareError(Exception):
    """CompareError names the input and line at fault."""


def read_results(name, lines):
    """read_results returns the result objects found in lines (from input name).

    A JSON object line counts as a result when it has any of REQUIRED; it must then
    have all of them, a non-empty epoch_seconds list of numbers, and a numeric
    test_accuracy, or CompareError names the line and the problem.
    """
    out = []
    for no, line in enumerate(lines, 1):
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(obj, dict) or not any(k in obj for k in REQUIRED):
            continue
        where = f"compare: {name}:{no}"
        for k in REQUIRED:
            if k not in obj:
                raise CompareError(f"{where}: result has no {k!r}")
        secs = obj["epoch_seconds"]
        if (not isinstance(secs, list) or not secs
                or not all(isinstance(s, (int, float)) and s > 0 for s in secs)):
            raise CompareError(f"{where}: epoch_seconds {secs!r}: want a non-empty list of positive numbers")
        if not isinstance(obj["test_accuracy"], (int, float)):
            raise CompareError(f"{where}: test_accuracy {obj['test_accuracy']!r}: want a number")
        obj.setdefault("engine", "gputrain")
        obj["_median"] = statistics.median(secs)
        obj["_source"] = name
        out.append(obj)
    return out


def best_per_engine(results):
    """best_per_engine keeps the fastest result of each (engine, device)."""
    best = {}
    for r in results:
        key = (r["engine"], r.get("device", ""))
        if key not in best or r["_median"] < best[key]["_median"]:
            best[key] = r
    return list(best.values())


def group_runs(results):
    """group_runs merges repeated runs of one setting into one row.

    Runs with the same engine, label, device, threads and epochs are one setting. The
    merged row pools the epochs of all its runs (epoch_seconds, epoch_cpu_seconds), so
    its median is over every epoch measured; test accuracy and loss are the medians over
    the runs; samples/s is rescaled to the pooled median.
    """
    groups = {}
    for r in results:
        key = (r["engine"], r.get("label", ""), str(r.get("device", "")),
               str(r.get("threads", "")), str(r.get("epochs", "")))
        groups.setdefault(key, []).append(r)
    out = []
    for runs in groups.values():
        m = dict(runs[0])
        m["epoch_seconds"] = [s for r in runs for s in r["epoch_seconds"]]
        if all(isinstance(r.get("epoch_cpu_seconds"), list) for r in runs):
            m["epoch_cpu_seconds"] = [s for r in runs for s in r["epoch_cpu_seconds"]]
        else:
            m.pop("epoch_cpu_seconds", None)
        m["_median"] = statistics.median(m["epoch_seconds"])
        m["test_accuracy"] = statistics.median(r["test_accuracy"] for r in runs)
        losses = [r["test_loss"] for r in runs if isinstance(r.get("test_loss"), (int, float))]
        m["test_loss"] = statistics.median(losses) if len(losses) == len(runs) else None
        sps = runs[0].get("samples_per_second")
        if isinstance(sps, (int, float)):
            m["samples_per_second"] = sps * runs[0]["_median"] / m["_median"]
        m["_runs"] = len(runs)
        out.append(m)
    return out


def table(results):
    """table returns the rows, fastest first, with the ratio to the fastest reference."""
    refs = [r["_median"] for r in results if r["engine"] in REFERENCES]
    fastest = min(refs) if refs else None
    header = ["engine", "setting", "device", "threads", "runs x epochs", "median epoch s",
              "median cpu s", "samples/s", "test acc", "test loss", "ratio vs fastest ref"]
    rows = [header]
    for r in sorted(results, key=lambda r: r["_median"]):
        sps = r.get("samples_per_second")
        cpu = r.get("epoch_cpu_seconds")
        cpu = f"{statistics.median(cpu):.3f}" if isinstance(cpu, list) and cpu else "-"
        loss = r.get("test_loss")
        rows.append([
            r["engine"],
            r.get("label", ""),
            str(r.get("device", "")),
            str(r.get("threads", "-")),
            f"{r.get('_runs', 1)} x {r.get('epochs', len(r['epoch_seconds']))}",
            f"{r['_median']:.3f}",
            cpu,
            f"{sps:.0f}" if isinstance(sps, (int, float)) else "-",
            f"{r['test_accuracy']:.4f}",
            f"{loss:.4f}" if isinstance(loss, (int, float)) else "-",
            f"{r['_median'] / fastest:.2f}" if fastest else "-",
        ])
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("files", nargs="+", help="JSON-lines files, or - for stdin")
    p.add_argument("--group", action="store_true",
                   help="merge repeated runs of a setting (same engine, label, device, threads, epochs), pooling their epochs")
    p.add_argument("--best", action="store_true", help="show only the fastest row of each engine and device")
    args = p.parse_args()
    results = []
    try:
        for name in args.files:
            if name == "-":
                results += read_results("stdin", sys.stdin)
                continue
            try:
                with open(name) as f:
                    results += read_results(name, f)
            except OSError as e:
                raise CompareError(f"compare: {name}: {e.strerror}") from e
    except CompareError as e:
        sys.exit(str(e))
    if not results:
        sys.exit(f"compare: no results (JSON lines with {', '.join(REQUIRED)}) in {' '.join(args.files)}")
    if args.group:
        results = group_runs(results)
    if args.best:
        results = best_per_engine(results)
    rows = table(results)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for i, row in enumerate(rows):
        print("  ".join(c.ljust(w) if j < 3 else c.rjust(w) for j, (c, w) in enumerate(zip(row, widths))).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    if not any(r["engine"] in REFERENCES for r in results):
        print("compare: no reference (pytorch/keras) result: ratio left blank", file=sys.stderr)


if __name__ == "__main__":
    main()
