"""Reads gputrain's event files with TensorBoard's own EventAccumulator.

Usage: python read_events.py RUN_DIR [VALUES.f32 TAG]...

Prints one JSON object: for each run folder, its scalars (tag -> [[step, value]]),
histograms (tag -> [{step, min, max, num, sum, sum_squares, bucket_limit, bucket}]) and
text tensors (tag -> [[step, text]]). Each (VALUES.f32, TAG) pair names raw little-endian
float32 values whose histogram TAG must hold: the script computes TensorFlow's default
buckets itself (numpy) and prints the expected histogram under "expected".
"""
import json
import sys

import numpy as np
from tensorboard.backend.event_processing import event_accumulator as ea


def tf_histogram(values):
    """TensorFlow's Histogram::EncodeToProto over its default buckets, in numpy."""
    pos = []
    v = 1e-12
    while v < 1e20:
        pos.append(v)
        v *= 1.1
    pos.append(sys.float_info.max)
    limits = np.array([-x for x in reversed(pos)] + [0.0] + pos)
    idx = np.searchsorted(limits, values.astype(np.float64), side="right")
    counts = np.bincount(idx, minlength=len(limits)).astype(np.float64)
    out_l, out_c = [], []
    i = 0
    while i < len(counts):
        end, c = limits[i], counts[i]
        i += 1
        if c == 0:
            while i < len(counts) and counts[i] == 0:
                end = limits[i]
                i += 1
        out_l.append(float(end))
        out_c.append(float(c))
    v64 = values.astype(np.float64).tolist()
    return {  # sums in order, as TensorFlow's Histogram::Add adds (numpy's are pairwise)
        "min": min(v64), "max": max(v64), "num": float(len(v64)),
        "sum": sum(v64), "sum_squares": sum(v * v for v in v64),
        "bucket_limit": out_l, "bucket": out_c,
    }


def read_run(path):
    acc = ea.EventAccumulator(path, size_guidance={ea.SCALARS: 0, ea.HISTOGRAMS: 0, ea.TENSORS: 0, ea.COMPRESSED_HISTOGRAMS: 0})
    acc.Reload()
    tags = acc.Tags()
    out = {"scalars": {}, "histograms": {}, "texts": {}, "file_version": acc.file_version}
    for tag in tags[ea.SCALARS]:
        out["scalars"][tag] = [[e.step, e.value] for e in acc.Scalars(tag)]
    for tag in tags[ea.HISTOGRAMS]:
        out["histograms"][tag] = [
            {"step": e.step, "min": h.min, "max": h.max, "num": h.num, "sum": h.sum,
             "sum_squares": h.sum_squares, "bucket_limit": list(h.bucket_limit), "bucket": list(h.bucket)}
            for e in acc.Histograms(tag) for h in [e.histogram_value]
        ]
    for tag in tags[ea.TENSORS]:
        plugin = acc.SummaryMetadata(tag).plugin_data.plugin_name
        out["texts"][tag] = [[e.step, plugin, [s.decode() for s in e.tensor_proto.string_val]] for e in acc.Tensors(tag)]
    return out


def main():
    args = sys.argv[1:]
    result = {"runs": {}, "expected": {}}
    run = args.pop(0)
    result["runs"] = read_run(run)
    while args:
        values, tag = args.pop(0), args.pop(0)
        result["expected"][tag] = tf_histogram(np.fromfile(values, dtype="<f4"))
    print(json.dumps(result))


main()
