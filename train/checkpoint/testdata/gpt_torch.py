"""The char-GPT in PyTorch against gputrain's, both ways (gpt_interop_test.go).

Usage:
  python gpt_torch.py load CONFIG BATCH CHECKPOINT
      builds nanoGPT's GPT of CONFIG (bench/torch_gpt.py's build_model), loads the
      gputrain CHECKPOINT into it with load_state_dict(strict=True) (the "optimizer."
      tensors dropped), and prints {"loss": L}: the mean cross-entropy of the batch's
      next-token targets y given its ids x (BATCH: I64 tensors "x" and "y" of shape
      (B, T)), in eval mode.
  python gpt_torch.py write CONFIG BATCH WEIGHTS GRADS
      builds the GPT with torch.manual_seed(CONFIG's seed) (nanoGPT's initialisation),
      writes its state_dict to WEIGHTS (safetensors; the tied table under both names),
      the gradients of the batch's mean loss (train mode; dropout must be 0) to GRADS
      under the same names, and prints {"loss": L}.

CONFIG is JSON: {"vocab", "context", "layers", "heads", "dim", "dropout", "bias", "seed"}.
"""

import importlib.util
import json
import os
import sys

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def torch_gpt():
    spec = importlib.util.spec_from_file_location("torch_gpt", os.path.join(ROOT, "bench", "torch_gpt.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def model_of(cfg):
    return torch_gpt().build_model(torch, cfg["vocab"], cfg["context"], cfg["layers"], cfg["heads"], cfg["dim"],
                                   cfg["dropout"], cfg["bias"])


def loss_of(model, batch):
    x, y = batch["x"].long(), batch["y"].long()
    logits = model(x)
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1))


def main():
    if len(sys.argv) < 5 or sys.argv[1] not in ("load", "write"):
        sys.exit(__doc__)
    cfg = json.loads(sys.argv[2])
    batch = load_file(sys.argv[3])
    torch.manual_seed(cfg.get("seed", 0))
    model = model_of(cfg)
    if sys.argv[1] == "load":
        state = {k: v for k, v in load_file(sys.argv[4]).items() if not k.startswith("optimizer.")}
        model.load_state_dict(state, strict=True)
        model.eval()
        with torch.no_grad():
            loss = loss_of(model, batch)
        print(json.dumps({"loss": loss.item()}))
        return
    weights, grads = sys.argv[4], sys.argv[5]
    if cfg["dropout"] != 0:
        sys.exit("gpt_torch.py write: dropout must be 0 (the gradients are compared)")
    save_file({k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}, weights)
    model.train()
    loss = loss_of(model, batch)
    loss.backward()
    save_file({k: p.grad.detach().clone().contiguous() for k, p in model.named_parameters(remove_duplicate=False)}, grads)
    print(json.dumps({"loss": loss.item()}))


if __name__ == "__main__":
    main()
