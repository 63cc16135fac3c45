"""Checks gputrain's ONNX models: onnx.checker, onnxruntime, and a PyTorch reference.

Usage: python check_onnx.py MANIFEST.json...

Each manifest (written by nn/onnx's interop test) names a model file, its inputs (raw
little-endian files), its outputs and the weights the Go test built it from, in
PyTorch's layout (raw float32 files). The script
  1. runs onnx.checker.check_model with full_check (strict shape inference),
  2. runs the model in onnxruntime (CPU) on all the inputs, and on the first 3 rows
     alone (the batch dimension is dynamic),
  3. computes the same model in PyTorch, in float64, from the weights (REFERENCES below,
     written independently of the Go builder, with torch.nn.functional and torch.nn
     modules),
and prints one JSON line per model: the output shapes and, per output, the largest
error as a fraction of the tolerance, |ort - ref| / (tol * (|ref| + 0.1 * max|ref|)),
which must be <= 1. (The floor, a tenth of the output's largest magnitude, holds the
elements near zero, where float32 sums cancel, to the same absolute accuracy as the
rest: there a relative error of 1e-4 is float32 rounding, not a wrong model.)
"""
import json
import math
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn.functional as F


def load(d, spec):
    dt = {"float32": "<f4", "int64": "<i8"}[spec["dtype"]]
    return np.fromfile(os.path.join(d, spec["file"]), dtype=dt).reshape(spec["shape"])


def t(a):
    a = torch.from_numpy(np.ascontiguousarray(a))
    return a.double() if a.is_floating_point() else a


def ref_mlp(w, x):
    h = F.relu(F.linear(t(x), w["0.weight"], w["0.bias"]))
    return [F.softmax(F.linear(h, w["2.weight"], w["2.bias"]), dim=1)]


def ref_mlp_gelu(w, x):
    h = F.gelu(F.linear(t(x), w["0.weight"], w["0.bias"]))  # exact (erf) GELU
    return [F.linear(h, w["2.weight"], w["2.bias"])]


def ref_cnn(w, x):
    h = F.relu(F.conv2d(t(x), w["0.weight"], w["0.bias"], padding=1))
    h = F.batch_norm(h, w["2.running_mean"], w["2.running_var"], w["2.weight"], w["2.bias"], training=False, eps=1e-5)
    h = F.max_pool2d(h, 2)
    h = F.gelu(F.conv2d(h, w["4.weight"], w["4.bias"]))
    h = F.avg_pool2d(h, 2)
    h = torch.flatten(h, 1)
    return [F.softmax(F.linear(h, w["8.weight"], w["8.bias"]), dim=1)]


def ref_residual_cnn(w, x):
    x = t(x)
    h = F.relu(F.conv2d(x, w["0.weight"], w["0.bias"], padding=1))
    h = F.conv2d(h, w["2.weight"], w["2.bias"], padding=1)
    h = F.relu(h + x)
    h = F.adaptive_avg_pool2d(h, 1).reshape(h.shape[0], -1)
    return [F.linear(h, w["5.weight"], w["5.bias"])]


def ref_transformer(w, ids):
    ids = t(ids)
    n, T = ids.shape
    C, H = w["wte.weight"].shape[1], 2
    D = C // H
    h = F.embedding(ids, w["wte.weight"])
    a = F.layer_norm(h, (C,), w["ln.weight"], w["ln.bias"], eps=1e-5)
    q, k, v = (F.linear(a, w[f"attn.{p}.weight"], w[f"attn.{p}.bias"]).reshape(n, T, H, D).transpose(1, 2) for p in "qkv")
    y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    y = y.transpose(1, 2).reshape(n, T, C)
    h = h + F.linear(y, w["attn.proj.weight"], w["attn.proj.bias"])
    return [F.linear(h, w["head.weight"])]


def ref_lstm(w, x):
    I, Hd = x.shape[2], w["lstm.weight_hh_l0"].shape[1]
    m = torch.nn.LSTM(I, Hd, batch_first=True).double()
    m.load_state_dict({k[len("lstm."):]: v for k, v in w.items()})
    with torch.no_grad():
        y, (h, c) = m(t(x))
    return [y, h[0], c[0]]


def ref_gru(w, x):
    I, Hd = x.shape[2], w["gru.weight_hh_l0"].shape[1]
    m = torch.nn.GRU(I, Hd, batch_first=True).double()
    m.load_state_dict({k[len("gru."):]: v for k, v in w.items()})
    with torch.no_grad():
        y, h = m(t(x))
    return [y, h[0]]


REFERENCES = {
    "mlp": ref_mlp, "mlp-gelu": ref_mlp_gelu, "mlp-gelu-opset20": ref_mlp_gelu, "cnn": ref_cnn,
    "residual-cnn": ref_residual_cnn, "transformer": ref_transformer, "transformer-short": ref_transformer,
    "lstm": ref_lstm, "gru": ref_gru,
}


def worst(got, ref, tol):
    ref = ref.detach().numpy()
    got = got.astype(np.float64)
    scale = tol * (np.abs(ref) + 0.1 * np.abs(ref).max())
    return float(np.max(np.abs(got - ref) / scale)), float(np.max(np.abs(got - ref)))


def check(path):
    d = os.path.dirname(path)
    with open(path) as f:
        m = json.load(f)
    model = os.path.join(d, m["model"])
    onnx.checker.check_model(model, full_check=True)
    proto = onnx.load(model)
    x = load(d, m["input"])
    w = {name: t(load(d, spec)) for name, spec in m["weights"].items()}
    sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    in_name = sess.get_inputs()[0].name
    out_names = [o.name for o in sess.get_outputs()]
    got = sess.run(None, {in_name: x})
    few = sess.run(None, {in_name: x[:3]})
    with torch.no_grad():
        refs = REFERENCES[m["name"]](w, x)
    res = {"name": m["name"], "opset": proto.opset_import[0].version, "ir_version": proto.ir_version,
           "outputs": out_names, "shapes": [list(g.shape) for g in got], "few_shapes": [list(g.shape) for g in few],
           "worst": [], "max_abs": [], "few_equal": []}
    for g, fw, r in zip(got, few, refs):
        ratio, abs_err = worst(g, r, m["tol"])
        res["worst"].append(ratio)
        res["max_abs"].append(abs_err)
        # The first rows alone give what they gave in the full batch, up to rounding.
        res["few_equal"].append(bool(np.allclose(fw, g[:3], rtol=1e-6, atol=1e-7)))
    return res


for p in sys.argv[1:]:
    print(json.dumps(check(p)), flush=True)
