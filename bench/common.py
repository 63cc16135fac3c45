"""common holds what the benchmark twins (torch_mlp.py, torch_rnn.py, keras_mlp.py)
share: the flags, the thread environment, torch's device and MNIST's splits, the
per-epoch line and the final JSON object.

The reference job (the founding tutorial's Keras MLP): MNIST, 784 -> Dense 128 relu
-> Dense 64 relu -> Dense 10 softmax, Glorot-uniform weights and zero biases, Adam
(lr 1e-3, beta1 0.9, beta2 0.999, eps 1e-7), sparse categorical cross-entropy,
batch 32, 10 epochs, the last 10% of the 60000 training images held out for
validation, shuffled every epoch, evaluated on the 10000 test images.
"""

import argparse
import json
import os
import statistics
import sys

BATCH = 32
LEARNING_RATE = 1e-3
BETA1 = 0.9
BETA2 = 0.999
EPSILON = 1e-7
VALIDATION_SPLIT = 0.1

# THREAD_ENV are the variables that size the BLAS / OpenMP thread pools. They are
# read once, when the library loads, so they are set before torch or tensorflow is
# imported. A value already in the environment wins (that is how a sweep varies them
# independently of --threads); the effective values go into the JSON result.
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def parser(description, devices):
    """parser returns the argument parser with the flags both scripts take."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--data", default="data/mnist",
                   help="folder with the four MNIST .gz files (default data/mnist)")
    p.add_argument("--epochs", type=int, default=10, help="epochs to train (default 10)")
    p.add_argument("--threads", type=int, default=os.cpu_count(),
                   help="CPU threads for the framework and, unless already set, "
                        f"{'/'.join(THREAD_ENV)} (default: all cores, {os.cpu_count()})")
    p.add_argument("--device", default="cpu", choices=devices, help="device (default cpu)")
    p.add_argument("--seed", type=int, default=0, help="seed for init and shuffling (default 0)")
    p.add_argument("--label", default="",
                   help="free text copied into the JSON result (names a benchmark setting)")
    p.add_argument("--json", action="store_true",
                   help="print a final JSON object with the results as the last stdout line")
    return p


def check_args(p, args):
    """check_args rejects flag values that make no sense, naming the flag and value."""
    if args.epochs < 1:
        p.error(f"--epochs {args.epochs}: must be at least 1")
    if args.threads < 1:
        p.error(f"--threads {args.threads}: must be at least 1")


# PRESET_ENV are OpenBLAS tuning variables some machines of this project preset. The
# scripts never change them; their values at run time (None when unset) are recorded.
PRESET_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def set_thread_env(threads):
    """set_thread_env fills THREAD_ENV with threads where not already set.

    It returns the effective THREAD_ENV and PRESET_ENV values, for the JSON result.
    """
    for name in THREAD_ENV:
        os.environ.setdefault(name, str(threads))
    return {name: os.environ.get(name) for name in THREAD_ENV + PRESET_ENV}


def torch_device(args, prog):
    """Sizes torch's thread pool to --threads and returns --device's torch.device (call it
    after set_thread_env); exits naming prog when CUDA is asked for and absent."""
    import torch

    torch.set_num_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit(f"{prog}: --device cuda: torch.cuda.is_available() is False")
    return torch.device(args.device)


def mnist_splits(args, prog, val_split):
    """MNIST from --data, its training images cut to --limit when set, the last val_split
    of them held out: (x_train, y_train, x_val, y_val, x_test, y_test); a reading error
    exits naming prog."""
    import mnist

    try:
        x_all, y_all, x_test, y_test = mnist.load(args.data)
    except mnist.MnistError as e:
        sys.exit(f"{prog}: {e}")
    if args.limit:
        x_all, y_all = x_all[:args.limit], y_all[:args.limit]
    return (*mnist.split_validation(x_all, y_all, val_split), x_test, y_test)


def epoch_line(epoch, epochs, loss, acc, val_loss, val_acc, seconds):
    """epoch_line prints one epoch's training and validation metrics and its wall time."""
    print(f"epoch {epoch}/{epochs} loss {loss:.4f} acc {acc:.4f} "
          f"val_loss {val_loss:.4f} val_acc {val_acc:.4f} time {seconds:.3f}s", flush=True)


def result(engine, version, device, threads, epochs, n_train, epoch_seconds,
           test_loss, test_accuracy, **extra):
    """result builds the final JSON object.

    epoch_seconds[i] is the wall time of epoch i: shuffling, the training steps and the
    validation pass, as Keras's fit measures an epoch. median_epoch_seconds is their
    median; samples_per_second = n_train / median_epoch_seconds (training images per
    second of an epoch). Scripts add epoch_cpu_seconds (the process's CPU time per
    epoch, all threads): less sensitive than wall time to other jobs on a shared
    machine, though it counts OpenMP spin-waiting.
    """
    med = statistics.median(epoch_seconds)
    out = {
        "engine": engine,
        "version": version,
        "device": device,
        "threads": threads,
        "epochs": epochs,
        "batch": BATCH,
        "epoch_seconds": [round(s, 4) for s in epoch_seconds],
        "median_epoch_seconds": round(med, 4),
        "samples_per_second": round(n_train / med, 1),
        "test_accuracy": round(float(test_accuracy), 6),
        "test_loss": round(float(test_loss), 6),
        # The machine is shared: the 1, 5 and 15 minute load averages at the end.
        "loadavg": [round(v, 2) for v in os.getloadavg()],
    }
    out.update(extra)
    return out


def add_label(obj, label):
    """add_label sets obj["label"] when label is not empty and returns obj."""
    if label:
        obj["label"] = label
    return obj


def print_result(obj):
    """print_result writes obj as one JSON line on stdout (the last line of the run)."""
    print(json.dumps(obj, separators=(",", ":")), flush=True)
