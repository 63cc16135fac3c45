"""torch_rnn trains gputrain's lstm/gru preset on row-sequential MNIST with PyTorch in eager mode.

The model is gputrain's -model lstm:hidden=H,layers=L (nn.RecurrentSpec) as PyTorch
writes it: nn.LSTM(28, H, L, batch_first=True) (or nn.GRU) over the 28 rows of 28
pixels of each image, then nn.Linear(H, 10) on the last step's output; the recurrent
weights keep PyTorch's initialisation (U(±1/√H), gputrain's too) and the Linear has
Glorot-uniform weights and zero biases (gputrain's Dense). Its state_dict names are
gputrain's checkpoint names ("0.weight_ih_l0", …, "1.weight", "1.bias"): build_model
is also what train/checkpoint/testdata/rnn_torch.py checks checkpoints against.

Training: Adam(lr 1e-3, betas (0.9, 0.999), eps 1e-7: gputrain's defaults) on the
cross-entropy of the logits, batch 64, the last 10% of the 60000 training images held
out for validation (--val-split), a seeded permutation each epoch walked in
contiguous slices, as bench/torch_mlp.py does. An epoch's time covers the shuffle, the
training steps and the validation pass.

Usage: .venv/bin/python bench/torch_rnn.py --data data/mnist [--epochs 10]
       [--threads N] [--cell lstm|gru] [--hidden 128] [--layers 1] [--batch 64]
       [--val-split 0.1] [--limit N] [--json]

--limit N trains on the first N training images only (the validation set is then
the last 10% of those N), as gputrain's -limit does.
"""

import time

import common

BATCH = 64


def build_model(torch, cell, inputs, hidden, layers, classes):
    """build_model returns the recurrent classifier, named as gputrain names it."""
    nn = torch.nn

    class RecurrentClassifier(nn.Module):
        def __init__(self):
            super().__init__()
            rnn = (nn.LSTM if cell == "lstm" else nn.GRU)(inputs, hidden, layers, batch_first=True)
            self.add_module("0", rnn)
            self.add_module("1", nn.Linear(hidden, classes))

        def forward(self, x):
            y, _ = self._modules["0"](x)
            return self._modules["1"](y[:, -1])

    return RecurrentClassifier()


def main():
    p = common.parser(__doc__.splitlines()[0], ["cpu", "cuda"])
    p.add_argument("--cell", default="lstm", choices=["lstm", "gru"])
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--batch", type=int, default=BATCH)
    p.add_argument("--val-split", type=float, default=common.VALIDATION_SPLIT,
                   help="fraction of the training images held out (the last ones), as gputrain -val-split")
    p.add_argument("--limit", type=int, default=0,
                   help="train on the first N of the 60000 training images only (0: all), as gputrain -limit")
    args = p.parse_args()
    common.check_args(p, args)
    if args.limit < 0:
        p.error(f"--limit {args.limit}: must not be negative")
    if args.hidden < 1 or args.layers < 1 or args.batch < 1:
        p.error("--hidden, --layers and --batch must be at least 1")
    if not 0 <= args.val_split < 1:
        p.error(f"--val-split {args.val_split}: must be in [0, 1)")
    thread_env = common.set_thread_env(args.threads)

    import torch  # after the thread environment is set
    import torch.nn.functional as F

    device = common.torch_device(args, "torch_rnn")
    x_tr, y_tr, x_val, y_val, x_test, y_test = common.mnist_splits(args, "torch_rnn", args.val_split)

    def to_device(x, y):
        return torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)  # (N, 28, 28): 28 steps of 28

    x_tr, y_tr = to_device(x_tr, y_tr)
    x_val, y_val = to_device(x_val, y_val)
    x_test, y_test = to_device(x_test, y_test)
    n = len(x_tr)

    torch.manual_seed(args.seed)
    model = build_model(torch, args.cell, 28, args.hidden, args.layers, 10)
    head = model._modules["1"]
    torch.nn.init.xavier_uniform_(head.weight)
    torch.nn.init.zeros_(head.bias)
    model.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=common.LEARNING_RATE,
                           betas=(common.BETA1, common.BETA2), eps=common.EPSILON)
    shuffle = torch.Generator().manual_seed(args.seed)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    @torch.inference_mode()
    def evaluate(x, y):
        model.eval()
        loss_sum, correct = 0.0, 0
        for i in range(0, len(x), 256):
            logits = model(x[i:i + 256])
            yb = y[i:i + 256]
            loss_sum += F.cross_entropy(logits, yb, reduction="sum").item()
            correct += (logits.argmax(1) == yb).sum().item()
        return loss_sum / max(len(x), 1), correct / max(len(x), 1)

    epoch_seconds, cpu_seconds = [], []
    for epoch in range(1, args.epochs + 1):
        sync()
        t0, c0 = time.perf_counter(), time.process_time()
        perm = torch.randperm(n, generator=shuffle).to(device)
        xs, ys = x_tr[perm], y_tr[perm]
        model.train()
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), dtype=torch.int64, device=device)
        for i in range(0, n, args.batch):
            xb, yb = xs[i:i + args.batch], ys[i:i + args.batch]
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            with torch.no_grad():
                loss_sum += loss.detach() * len(yb)
                correct += (logits.argmax(1) == yb).sum()
        val_loss, val_acc = evaluate(x_val, y_val) if len(x_val) else (float("nan"), float("nan"))
        sync()
        t2 = time.perf_counter()
        cpu_seconds.append(time.process_time() - c0)
        epoch_seconds.append(t2 - t0)
        common.epoch_line(epoch, args.epochs, loss_sum.item() / n, correct.item() / n, val_loss, val_acc, t2 - t0)

    test_loss, test_acc = evaluate(x_test, y_test)
    print(f"test loss {test_loss:.4f} acc {test_acc:.4f}", flush=True)
    if args.json:
        common.print_result(common.add_label(common.result(
            "pytorch", torch.__version__, args.device, args.threads, args.epochs, n,
            epoch_seconds, test_loss, test_acc, batch=args.batch,
            epoch_cpu_seconds=[round(s, 4) for s in cpu_seconds], seed=args.seed, env=thread_env,
            model=f"{args.cell}:hidden={args.hidden},layers={args.layers}", limit=args.limit,
        ), args.label))


if __name__ == "__main__":
    main()
