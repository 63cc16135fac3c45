"""Load a gputrain checkpoint with safetensors and PyTorch, run it, print the result.

Usage: python load_torch.py CHECKPOINT INPUTS SPEC [CHECKPOINT INPUTS SPEC ...]

Each triple is one model (torch is imported once for all of them). CHECKPOINT is a gputrain .safetensors checkpoint. INPUTS is a safetensors file with one
F32 tensor "x" (the batch to run). SPEC is a JSON list describing the equivalent
torch.nn.Sequential, one module per entry, e.g.
    [{"type": "linear", "in": 4, "out": 8}, {"type": "relu"}, ...]
Entries nest: {"type": "residual", "body": [...], "shortcut": [...] or null} is a module
with attributes body and shortcut computing shortcut(x) + body(x) (x + body(x) without a
shortcut); {"type": "linear", ..., "bias": false, "tie": [i, ...]} shares the weight of
the module at that index path of the outer Sequential.

The script
  1. loads the checkpoint with safetensors.numpy and with safetensors.torch and checks
     that both give the same tensors;
  2. keeps the model part (every key starting with neither "optimizer." nor "train.") and loads it into
     the Sequential with load_state_dict(strict=True): every name and shape must match;
  3. runs the batch through the model in eval mode (running batch-norm statistics, no
     dropout) and prints one JSON object per triple, one per line, on stdout:
        {"numpy_names": [...], "torch_names": [...], "dtypes": {name: dtype},
         "format": metadata["format"], "shape": [...], "output": [flattened floats]}
It exits non-zero with a message on stderr when anything fails.
"""

import json
import sys

import numpy as np
import torch
from safetensors import safe_open
from safetensors.numpy import load_file as load_numpy
from safetensors.torch import load_file as load_torch


class Residual(torch.nn.Module):
    """y = shortcut(x) + body(x), or x + body(x): gputrain's nn.Residual."""

    def __init__(self, body, shortcut):
        super().__init__()
        self.body = body
        self.shortcut = shortcut

    def forward(self, x):
        s = x if self.shortcut is None else self.shortcut(x)
        return s + self.body(x)


def build(spec, root=None):
    mods = []
    seq = torch.nn.Sequential()
    if root is None:
        root = seq
    for m in spec:
        t = m["type"]
        if t == "linear":
            mod = torch.nn.Linear(m["in"], m["out"], bias=m.get("bias", True))
            if "tie" in m:
                owner = root
                for i in m["tie"]:
                    owner = owner[i]
                mod.weight = owner.weight
            mods.append(mod)
        elif t == "conv2d":
            mods.append(torch.nn.Conv2d(m["in"], m["out"], m["kernel"], stride=m.get("stride", 1), padding=m.get("padding", 0)))
        elif t == "batchnorm1d":
            mods.append(torch.nn.BatchNorm1d(m["features"], eps=m.get("eps", 1e-5), momentum=m.get("momentum", 0.1)))
        elif t == "batchnorm2d":
            mods.append(torch.nn.BatchNorm2d(m["features"], eps=m.get("eps", 1e-5), momentum=m.get("momentum", 0.1)))
        elif t == "maxpool2d":
            mods.append(torch.nn.MaxPool2d(m["kernel"], stride=m.get("stride"), padding=m.get("padding", 0)))
        elif t == "avgpool2d":
            mods.append(torch.nn.AvgPool2d(m["kernel"], stride=m.get("stride"), padding=m.get("padding", 0)))
        elif t == "adaptiveavgpool2d":
            mods.append(torch.nn.AdaptiveAvgPool2d(1))
        elif t == "flatten":
            mods.append(torch.nn.Flatten())
        elif t == "dropout":
            mods.append(torch.nn.Dropout(m["p"]))
        elif t == "relu":
            mods.append(torch.nn.ReLU())
        elif t == "tanh":
            mods.append(torch.nn.Tanh())
        elif t == "sigmoid":
            mods.append(torch.nn.Sigmoid())
        elif t == "softmax":
            mods.append(torch.nn.Softmax(dim=1))
        elif t == "residual":
            shortcut = None if m.get("shortcut") is None else build(m["shortcut"], root)
            mods.append(Residual(build(m["body"], root), shortcut))
        else:
            raise ValueError(f"unknown module type {t!r}")
        seq.append(mods[-1])
    return seq


def main():
    args = sys.argv[1:]
    if not args or len(args) % 3 != 0:
        sys.exit(__doc__)
    for i in range(0, len(args), 3):
        run(*args[i:i + 3])


def run(ckpt_path, inputs_path, spec_path):
    with open(spec_path) as f:
        spec = json.load(f)

    as_numpy = load_numpy(ckpt_path)
    as_torch = load_torch(ckpt_path)
    if sorted(as_numpy) != sorted(as_torch):
        sys.exit(f"numpy and torch loaders disagree on the names: {sorted(as_numpy)} vs {sorted(as_torch)}")
    for name, arr in as_numpy.items():
        if not np.array_equal(arr, as_torch[name].numpy(), equal_nan=arr.dtype.kind == "f"):
            sys.exit(f"numpy and torch loaders disagree on tensor {name}")
    with safe_open(ckpt_path, framework="pt") as f:
        metadata = f.metadata() or {}

    state = {k: v for k, v in as_torch.items() if not k.startswith(("optimizer.", "train."))}
    model = build(spec)
    model.load_state_dict(state, strict=True)  # raises on any missing/unexpected/shape mismatch
    model.eval()

    x = load_torch(inputs_path)["x"]
    with torch.no_grad():
        y = model(x)
    json.dump({
        "numpy_names": sorted(as_numpy),
        "torch_names": sorted(as_torch),
        "dtypes": {k: str(v.dtype) for k, v in as_torch.items()},
        "format": metadata.get("format", ""),
        "shape": list(y.shape),
        "output": [float(v) for v in y.flatten().tolist()],
    }, sys.stdout)
    print()


if __name__ == "__main__":
    main()
