"""The command line shared by gpt_torch.py and rnn_torch.py: load a gputrain checkpoint
into a PyTorch model and print the batch's loss, or write a freshly initialised model's
weights and gradients for gputrain to load (see either script's usage).
"""

import json
import sys

import torch
from safetensors.torch import load_file, save_file


def main(doc, model_of, loss_of, check_write=None):
    """Runs "load CONFIG BATCH CHECKPOINT" or "write CONFIG BATCH WEIGHTS GRADS".

    model_of(cfg) builds the model after torch.manual_seed(cfg's seed); loss_of(model,
    batch) is the batch's mean loss; check_write(cfg), when given, refuses a write
    configuration by returning the reason. Gradients are written under every name of
    the state_dict, a tied tensor under each of its names.
    """
    if len(sys.argv) < 5 or sys.argv[1] not in ("load", "write") or (sys.argv[1] == "write" and len(sys.argv) < 6):
        sys.exit(doc)
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
    if check_write is not None and (why := check_write(cfg)):
        sys.exit(why)
    weights, grads = sys.argv[4], sys.argv[5]
    save_file({k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}, weights)
    model.train()
    loss = loss_of(model, batch)
    loss.backward()
    save_file({k: p.grad.detach().clone().contiguous() for k, p in model.named_parameters(remove_duplicate=False)}, grads)
    print(json.dumps({"loss": loss.item()}))
