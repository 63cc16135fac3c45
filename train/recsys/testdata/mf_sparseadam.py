"""mf_sparseadam.py trains PyTorch's twin of nn.MF from the weights, data and settings
that train/recsys's interop test writes (JSON on stdin), with nn.Embedding(sparse=True)
tables stepped by torch.optim.SparseAdam and the global bias by Adam's formula in
Keras' ε placement (gputrain's; SparseAdam's own formula already places ε so), the
batches in order, and prints the final weights as JSON.
"""

import json
import math
import sys

import torch

cfg = json.load(sys.stdin)
torch.set_num_threads(1)
w = {k: torch.tensor(v, dtype=torch.float32) for k, v in cfg["weights"].items()}
users, dim = w["user_embedding.weight"].shape
items = w["item_embedding.weight"].shape[0]


class MF(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.user_embedding = torch.nn.Embedding(users, dim, sparse=True)
        self.item_embedding = torch.nn.Embedding(items, dim, sparse=True)
        self.user_bias = torch.nn.Embedding(users, 1, sparse=True)
        self.item_bias = torch.nn.Embedding(items, 1, sparse=True)
        self.bias = torch.nn.Parameter(torch.zeros(1))

    def forward(self, u, i):
        pu, qi, bu, bi = self.user_embedding(u), self.item_embedding(i), self.user_bias(u), self.item_bias(i)
        return (pu * qi).sum(1) + bu[:, 0] + bi[:, 0] + self.bias, pu, qi, bu, bi


m = MF()
m.load_state_dict(w, strict=True)
lr, b1, b2, eps = cfg["lr"], cfg["beta1"], cfg["beta2"], cfg["eps"]
opt = torch.optim.SparseAdam([p for n, p in m.named_parameters() if n != "bias"], lr=lr, betas=(b1, b2), eps=eps)
mu_m, mu_v = torch.zeros(1), torch.zeros(1)
U = torch.tensor(cfg["users"], dtype=torch.int64)
I = torch.tensor(cfg["items"], dtype=torch.int64)
R = torch.tensor(cfg["ratings"], dtype=torch.float32)
step = 0
for epoch in range(cfg["epochs"]):
    for lo in range(0, len(R), cfg["batch"]):
        u, i, r = U[lo:lo + cfg["batch"]], I[lo:lo + cfg["batch"]], R[lo:lo + cfg["batch"]]
        pred, pu, qi, bu, bi = m(u, i)
        loss = ((pred - r) ** 2).mean() + cfg["l2"] * ((pu ** 2).sum(1) + (qi ** 2).sum(1)).mean() \
            + cfg["bias_l2"] * ((bu ** 2).sum(1) + (bi ** 2).sum(1)).mean()
        opt.zero_grad()
        m.bias.grad = None
        loss.backward()
        opt.step()
        step += 1
        with torch.no_grad():
            g = m.bias.grad
            mu_m = b1 * mu_m + (1 - b1) * g
            mu_v = b2 * mu_v + (1 - b2) * g * g
            alpha = lr * math.sqrt(1 - b2 ** step) / (1 - b1 ** step)
            m.bias -= alpha * mu_m / (mu_v.sqrt() + eps)
print(json.dumps({k: v.flatten().tolist() for k, v in m.state_dict().items()}))
