"""The lstm/gru preset in PyTorch against gputrain's, both ways (rnn_interop_test.go).

Usage:
  python rnn_torch.py load CONFIG BATCH CHECKPOINT
      builds the recurrent classifier of CONFIG (bench/torch_rnn.py's build_model:
      torch.nn.LSTM or GRU with batch_first, then Linear on the last step), loads the
      gputrain CHECKPOINT into it with load_state_dict(strict=True) (the "optimizer."
      tensors dropped) and prints {"loss": L}: the mean cross-entropy of the batch's
      labels y given its sequences x (BATCH: F32 "x" of shape (B, T, inputs) and I64
      "y" of shape (B)), in eval mode.
  python rnn_torch.py write CONFIG BATCH WEIGHTS GRADS
      builds the classifier with torch.manual_seed(CONFIG's seed) (PyTorch's
      initialisation), writes its state_dict to WEIGHTS (safetensors), the gradients
      of the batch's mean loss to GRADS under the same names, and prints {"loss": L}.

CONFIG is JSON: {"cell": "lstm"|"gru", "inputs", "hidden", "layers", "classes", "seed"}.
With "vocab" > 0 the model is instead the character-level language model of gputrain's
-model lstm on text: Embedding(vocab, hidden), the recurrent layers and a Linear(hidden,
vocab) on every step ("0.weight", "1.weight_ih_l0" …, "2.weight", "2.bias"); BATCH then
holds I64 ids "x" and next ids "y" of shape (B, T), and the loss is the mean
cross-entropy over every position.
"""

import importlib.util
import os
import sys

import torch
import torch.nn.functional as F

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def text_model(cfg):
    nn = torch.nn

    class RecurrentLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.add_module("0", nn.Embedding(cfg["vocab"], cfg["hidden"]))
            rnn = nn.LSTM if cfg["cell"] == "lstm" else nn.GRU
            self.add_module("1", rnn(cfg["hidden"], cfg["hidden"], cfg["layers"], batch_first=True))
            self.add_module("2", nn.Linear(cfg["hidden"], cfg["vocab"]))

        def forward(self, x):
            y, _ = self._modules["1"](self._modules["0"](x))
            return self._modules["2"](y)

    return RecurrentLM()


def model_of(cfg):
    if cfg.get("vocab", 0) > 0:
        return text_model(cfg)
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    spec = importlib.util.spec_from_file_location("torch_rnn", os.path.join(ROOT, "bench", "torch_rnn.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.build_model(torch, cfg["cell"], cfg["inputs"], cfg["hidden"], cfg["layers"], cfg["classes"])


def loss_of(model, batch):
    if batch["x"].dtype == torch.int64:  # a language model's ids
        logits = model(batch["x"])
        return F.cross_entropy(logits.reshape(-1, logits.size(-1)), batch["y"].reshape(-1))
    return F.cross_entropy(model(batch["x"].float()), batch["y"].long())


def main():
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import loss_cli
    loss_cli.main(__doc__, model_of, loss_of)


if __name__ == "__main__":
    main()
