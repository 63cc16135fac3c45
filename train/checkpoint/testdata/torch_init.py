"""Write a PyTorch model's weights with safetensors, and its outputs on a batch.

Usage: python torch_init.py SPEC INPUTS WEIGHTS OUTPUTS

SPEC is the JSON list load_torch.py takes (the torch.nn.Sequential, one module per
entry). The script builds it with torch.manual_seed(0) (PyTorch's own initialization),
writes its state_dict with safetensors.torch.save_file to WEIGHTS, runs the F32 tensor
"x" of INPUTS through it in eval mode and writes the result as "y" to OUTPUTS. The Go
test then loads WEIGHTS into the equivalent gputrain model and compares its
predictions with "y".
"""

import json
import os
import sys

import torch
from safetensors.torch import load_file, save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from load_torch import build  # noqa: E402


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    spec, inputs, weights, outputs = sys.argv[1:]
    torch.manual_seed(0)
    model = build(json.loads(spec))
    model.eval()
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, weights)
    x = load_file(inputs)["x"]
    with torch.no_grad():
        y = model(x)
    save_file({"y": y.contiguous()}, outputs)


if __name__ == "__main__":
    main()
