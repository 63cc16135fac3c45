"""torch_mlp trains the reference MNIST MLP with PyTorch in eager mode.

The model is nn.Sequential(Linear(784, 128), ReLU, Linear(128, 64), ReLU,
Linear(64, 10)) with xavier_uniform_ (Glorot-uniform) weights and zero biases,
trained with Adam(lr 1e-3, betas (0.9, 0.999), eps 1e-7) on CrossEntropyLoss of the
logits (softmax + sparse categorical cross-entropy in one op), batch 32.

The loop is DataLoader-free: each epoch draws a seeded permutation of the 54000
training rows, gathers the shuffled copy once, and walks it in contiguous slices of
32 (the last batch has 16 rows, as in Keras). The last 6000 of the 60000 training
images are the validation set (Keras validation_split=0.1). An epoch's time covers
the shuffle, the 1688 training steps and the validation pass; on cuda the device is
synchronized at each timing boundary.

With --model cnn it trains gputrain's cnn preset instead (nn.CNNSpec, docs/cnn.md), as
PyTorch writes it: Conv2d(1, 16, 5, padding=2), BatchNorm2d, ReLU, MaxPool2d(2),
Conv2d(16, 32, 5), BatchNorm2d, ReLU, MaxPool2d(2), Flatten, Linear(800, 128), ReLU,
Dropout(0.3), Linear(128, 10); Glorot-uniform weights and zero biases for the
convolutions and the linear layers (Keras's and gputrain's defaults), BatchNorm2d's
defaults.

Usage: .venv/bin/python bench/torch_mlp.py --data data/mnist [--epochs 10]
       [--threads N] [--device cpu|cuda] [--adam default|foreach|fused]
       [--model mlp|cnn] [--limit N] [--precision fp32|bf16|fp16]
       [--compile reduce-overhead|default|max-autotune] [--json]

--precision bf16 or fp16 trains under torch.autocast in that dtype (float32 master
weights and optimizer, 16-bit matmul operands), fp16 with torch.amp.GradScaler
(initial scale 2^16): PyTorch's recipes for gputrain's -precision; evaluation runs
under the same autocast.

--compile MODE trains through torch.compile(model, mode=MODE) (reduce-overhead: the
forward and backward captured in CUDA graphs); the optimizer step stays torch's
(--adam fused for its one-kernel form). Evaluation uses the eager model (the same
weights).

--limit N trains on the first N training images only (the validation set is then
the last 10% of those N), as gputrain's -limit does.
"""

import time

import common


def main():
    p = common.parser(__doc__.splitlines()[0], ["cpu", "cuda"])
    p.add_argument("--adam", default="default", choices=["default", "foreach", "fused"],
                   help="torch.optim.Adam implementation (default: torch's own choice, "
                        "the per-tensor loop on cpu and foreach on cuda)")
    p.add_argument("--model", default="mlp", choices=["mlp", "cnn"],
                   help="the reference MLP (default) or gputrain's cnn preset")
    p.add_argument("--limit", type=int, default=0,
                   help="train on the first N of the 60000 training images only (0: all), as gputrain -limit")
    p.add_argument("--eval-batch", type=int, default=common.BATCH,
                   help=f"batch size for validation and test (default {common.BATCH}, as Keras)")
    p.add_argument("--compile", default="", choices=["", "default", "reduce-overhead", "max-autotune"],
                   help="train through torch.compile in this mode (default: eager)")
    p.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "fp16"],
                   help="autocast dtype of the forward pass (default fp32: none)")
    args = p.parse_args()
    common.check_args(p, args)
    if args.limit < 0:
        p.error(f"--limit {args.limit}: must not be negative")
    if args.eval_batch < 1:
        p.error(f"--eval-batch {args.eval_batch}: must be at least 1")
    thread_env = common.set_thread_env(args.threads)

    import torch  # after the thread environment is set
    import torch.nn.functional as F
    from torch import nn

    device = common.torch_device(args, "torch_mlp")
    x_tr, y_tr, x_val, y_val, x_test, y_test = common.mnist_splits(args, "torch_mlp", common.VALIDATION_SPLIT)

    def to_device(x, y):
        # (N, 28, 28) float32 -> (N, 784), or (N, 1, 28, 28) for the cnn, on the device;
        # labels int64 (N,).
        shape = (len(x), -1) if args.model == "mlp" else (len(x), 1, 28, 28)
        return (torch.from_numpy(x.reshape(shape)).to(device),
                torch.from_numpy(y).to(device))

    x_tr, y_tr = to_device(x_tr, y_tr)
    x_val, y_val = to_device(x_val, y_val)
    x_test, y_test = to_device(x_test, y_test)
    n = len(x_tr)

    torch.manual_seed(args.seed)
    if args.model == "mlp":
        model = nn.Sequential(
            nn.Linear(784, 128), nn.ReLU(),
            nn.Linear(128, 64), nn.ReLU(),
            nn.Linear(64, 10),
        )
    else:
        model = nn.Sequential(
            nn.Conv2d(1, 16, 5, padding=2), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 5), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(800, 128), nn.ReLU(), nn.Dropout(0.3),
            nn.Linear(128, 10),
        )
    for layer in model:
        if isinstance(layer, (nn.Linear, nn.Conv2d)):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)
    model.to(device)
    fwd = torch.compile(model, mode=args.compile) if args.compile else model
    adam_kw = {} if args.adam == "default" else {args.adam: True}
    opt = torch.optim.Adam(model.parameters(), lr=common.LEARNING_RATE,
                           betas=(common.BETA1, common.BETA2), eps=common.EPSILON, **adam_kw)
    shuffle = torch.Generator().manual_seed(args.seed)
    half = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(args.precision)

    def autocast():
        return torch.autocast(device.type, dtype=half, enabled=half is not None)

    scaler = torch.amp.GradScaler(device.type) if args.precision == "fp16" else None

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    @torch.inference_mode()
    def evaluate(x, y):
        """evaluate returns (mean cross-entropy, accuracy) of the model on (x, y)."""
        model.eval()
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), dtype=torch.int64, device=device)
        for i in range(0, len(x), args.eval_batch):
            with autocast():
                logits = model(x[i:i + args.eval_batch])
            yb = y[i:i + args.eval_batch]
            loss_sum += F.cross_entropy(logits.float(), yb, reduction="sum")
            correct += (logits.argmax(1) == yb).sum()
        return loss_sum.item() / len(x), correct.item() / len(x)

    epoch_seconds, train_seconds, cpu_seconds = [], [], []
    for epoch in range(1, args.epochs + 1):
        sync()
        t0, c0 = time.perf_counter(), time.process_time()
        perm = torch.randperm(n, generator=shuffle).to(device)
        xs, ys = x_tr[perm], y_tr[perm]
        model.train()
        # Running, sample-weighted training loss and accuracy, as Keras reports them.
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), dtype=torch.int64, device=device)
        for i in range(0, n, common.BATCH):
            xb, yb = xs[i:i + common.BATCH], ys[i:i + common.BATCH]
            with autocast():
                logits = fwd(xb)
                loss = F.cross_entropy(logits, yb)
            opt.zero_grad(set_to_none=True)
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
            else:
                loss.backward()
                opt.step()
            with torch.no_grad():
                loss_sum += loss.detach() * len(yb)
                correct += (logits.argmax(1) == yb).sum()
        sync()
        t1 = time.perf_counter()
        val_loss, val_acc = evaluate(x_val, y_val)
        sync()
        t2 = time.perf_counter()
        cpu_seconds.append(time.process_time() - c0)
        epoch_seconds.append(t2 - t0)
        train_seconds.append(t1 - t0)
        common.epoch_line(epoch, args.epochs, loss_sum.item() / n, correct.item() / n,
                          val_loss, val_acc, t2 - t0)

    test_loss, test_acc = evaluate(x_test, y_test)
    print(f"test loss {test_loss:.4f} acc {test_acc:.4f}", flush=True)
    if args.json:
        device_name = "cpu"
        if device.type == "cuda":
            device_name = "cuda:" + torch.cuda.get_device_name(device)
        common.print_result(common.add_label(common.result(
            "pytorch", torch.__version__, device_name, args.threads, args.epochs, n,
            epoch_seconds, test_loss, test_acc,
            train_seconds=[round(s, 4) for s in train_seconds],
            epoch_cpu_seconds=[round(s, 4) for s in cpu_seconds],
            adam=args.adam, eval_batch=args.eval_batch, seed=args.seed, env=thread_env,
            model=args.model, limit=args.limit, precision=args.precision, compile=args.compile,
        ), args.label))


if __name__ == "__main__":
    main()
