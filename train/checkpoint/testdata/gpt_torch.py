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
import os
import sys

import torch
import torch.nn.functional as F

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


def check_write(cfg):
    if cfg["dropout"] != 0:
        return "gpt_torch.py write: dropout must be 0 (the gradients are compared)"
    return None


def main():
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import loss_cli
    loss_cli.main(__doc__, model_of, loss_of, check_write)


if __name__ == "__main__":
    main()
