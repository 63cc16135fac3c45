#!/usr/bin/env python3
"""make_golden.py writes the conformance suite's golden files: PyTorch's answers for every
op family of device.Backend, forward and backward, on seeded inputs of awkward shapes
(1x1, odd sizes) and values (large magnitudes, denormals, -0, ties), computed
independently of our own reference loops.

    .venv/bin/python device/devicetest/golden/make_golden.py          # or: make golden
    .venv/bin/python device/devicetest/golden/make_golden.py --out DIR [FAMILY ...]

It writes one safetensors file per family into device/devicetest/testdata/golden (or
DIR). Each file holds, in its "__metadata__", "cases": a JSON list of the cases, each with
a "key", a "name" and the op's parameters, and, as tensors named "<key>.<role>", each
case's inputs and expected outputs: float32 values as F32, integers (labels, indices,
uint8 pixels, argmax results) as I64. device/devicetest/golden.go reads them and runs
every backend on them.

How the answers are computed:
  - in float64 from the float32 inputs, then rounded once to float32, so that the golden
    value is the float32 nearest to the exact answer (as nearly as float64 allows);
  - with torch where torch has the op: torch.matmul, torch.nn.functional (relu,
    leaky_relu, sigmoid, tanh, gelu, softmax, cross_entropy, unfold, fold, max_pool2d,
    avg_pool2d, batch_norm), torch.optim (SGD, Adam, AdamW) and autograd for every
    backward op and gradient;
  - where our op is defined differently from torch's, from the documented formula
    (device/ops.go), in float64 torch arithmetic: the clamped cross-entropy on
    probabilities (Keras' epsilon, in float32), and the optimizer formulas, which follow
    Keras. Keras' momentum, m = mu*m - lr*g, p += m, is torch's SGD momentum with
    m = -lr*buf, so torch.optim.SGD runs it and m is read as -lr*momentum_buffer. Keras'
    Adam adds eps to sqrt(v) where torch adds it to sqrt(v)/sqrt(1-b2^t): torch.optim.Adam
    and AdamW run it with eps/sqrt(1-b2^t) set for step t, which is the same formula;
  - DropoutMask and Augment draw Philox4x32-10 numbers, which torch does not have: they
    come from this file's own Philox (written from Salmon et al. 2011 and checked against
    Random123's known-answer vectors below) and the documented rules, in Python/numpy.

The run is deterministic: fixed seeds (numpy PCG64 seeded with the CRC-32 of the family's
name), one thread, torch.use_deterministic_algorithms(True), denormals kept. The drift
test (TestGoldenFilesAreCurrent) runs this script into a temporary directory and compares.

Adding an op family (the sequence-model ops, ...) is one function decorated with
@family("name") that calls g.case(...) for each case, and one runner in golden.go.
"""

import argparse
import json
import os
import struct
import sys
import warnings
import zlib

import numpy as np
import safetensors
import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.numpy import load_file

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.normpath(os.path.join(HERE, "..", "testdata", "golden"))

FAMILIES = {}


def family(name):
    """family registers fn(g) as the generator of the golden file <name>.safetensors."""

    def register(fn):
        FAMILIES[name] = fn
        return fn

    return register


class Golden:
    """The cases of one family, with the family's random generator."""

    def __init__(self, name):
        self.name = name
        self.rng = np.random.Generator(np.random.PCG64(zlib.crc32(name.encode())))
        self.cases = []
        self.tensors = {}

    def case(self, name, params, **tensors):
        """case adds a case: params (JSON: the op's arguments) and its tensors by role.
        float32 arrays are stored as F32; integer and bool arrays as I64; None is skipped."""
        key = "%03d" % len(self.cases)
        for p in params:
            if p in ("key", "name"):
                raise ValueError("%s: parameter name %r is reserved" % (self.name, p))
        self.cases.append(dict(key=key, name=name, **params))
        for role, v in tensors.items():
            if v is None:
                continue
            a = np.ascontiguousarray(v)
            if a.dtype == np.float32:
                pass
            elif a.dtype.kind in "iub":
                a = a.astype(np.int64)
            else:
                raise TypeError("%s case %r: tensor %s is %s, want float32 or integers" % (self.name, name, role, a.dtype))
            self.tensors["%s.%s" % (key, role)] = a

    def uniform(self, shape, lo, hi):
        """uniform returns float32 values drawn uniformly from [lo, hi)."""
        return self.rng.uniform(lo, hi, shape).astype(np.float32)

    def ints(self, shape, lo, hi):
        """ints returns integers drawn uniformly from [lo, hi)."""
        return self.rng.integers(lo, hi, shape).astype(np.int64)


# Values that every elementwise family sees somewhere: zeros of both signs, denormals
# (the smallest is 2^-149), numbers near float32's limits, and ordinary ones.
DENORMALS = [1e-40, -1e-40, 1.4e-45, -3e-39]
SPECIALS = [0.0, -0.0] + DENORMALS + [1e-8, -1e-8, 0.5, -0.5, 1.0, -1.0, 3.0, -3.0, 10.0, -10.0, 20.0, -20.0,
                                      88.0, -88.0, 100.0, -100.0, 1e30, -1e30, 3e38, -3e38]


def f32(x):
    return np.asarray(x, dtype=np.float32)


def fl(x):
    """fl is x rounded to float32, as a Python float (hyper-parameters, scales)."""
    return float(np.float32(x))


def T(a, grad=False):
    """T is a float64 torch tensor holding the float32 values of a exactly."""
    t = torch.from_numpy(np.asarray(a, dtype=np.float32).astype(np.float64))
    return t.requires_grad_(grad)


def out(t):
    """out rounds a float64 result to float32 (round to nearest even)."""
    return t.detach().numpy().astype(np.float32)


def backward(y, dy, *xs):
    """backward returns the gradients of sum(y*dy) with respect to xs, by autograd."""
    gs = torch.autograd.grad(y, xs, grad_outputs=T(dy))
    return [out(g) for g in gs]


ACTS = {
    "relu": lambda x, p: torch.relu(x),
    "leaky_relu": lambda x, p: F.leaky_relu(x, p),
    "sigmoid": lambda x, p: torch.sigmoid(x),
    "tanh": lambda x, p: torch.tanh(x),
    "gelu": lambda x, p: F.gelu(x, approximate="none"),
}


# ---------------------------------------------------------------------------- gemm


def gemm_want(p, a, b, c0, bias):
    """gemm_want is C after Gemm: C = alpha*op(A)*op(B) + beta*C (C not read when beta is
    0), then + bias and the activation, for each product of the batch."""
    m, n, k = p["m"], p["n"], p["k"]
    c = T(c0).clone()
    for i in range(max(p["batch"], 1)):
        A = T(a)[i * p["stride_a"]:][: m * k]
        B = T(b)[i * p["stride_b"]:][: k * n]
        A = A.reshape(k, m).T if p["trans_a"] else A.reshape(m, k)
        B = B.reshape(n, k).T if p["trans_b"] else B.reshape(k, n)
        r = p["alpha"] * (A @ B)
        at = i * p["stride_c"]
        if p["beta"] != 0:
            r = r + p["beta"] * c[at:at + m * n].reshape(m, n)
        if bias is not None:
            r = r + T(bias)
        if p["act"]:
            r = ACTS[p["act"]](r, p["act_param"])
        c[at:at + m * n] = r.reshape(-1)
    return out(c)


def gemm_params(m, n, k, ta=False, tb=False, alpha=1.0, beta=0.0, batch=0, sa=0, sb=0, sc=0, act="", act_param=0.0):
    return dict(m=m, n=n, k=k, trans_a=ta, trans_b=tb, alpha=fl(alpha), beta=fl(beta), batch=batch,
                stride_a=sa, stride_b=sb, stride_c=sc, act=act, act_param=fl(act_param))


@family("gemm")
def gemm(g):
    def add(name, p, a, b, c0, bias=None, want=None):
        if want is None:
            want = gemm_want(p, a, b, c0, bias)
        g.case(name, p, a=a, b=b, c=c0, bias=bias, want=want)

    def operands(p, lo=-1.0, hi=1.0):
        nb = max(p["batch"], 1)
        a = g.uniform((nb - 1) * p["stride_a"] + p["m"] * p["k"], lo, hi)
        b = g.uniform((nb - 1) * p["stride_b"] + p["k"] * p["n"], lo, hi)
        nc = (nb - 1) * p["stride_c"] + p["m"] * p["n"]
        # With beta 0, C is not read: its NaNs must not reach the result.
        c0 = g.uniform(nc, -1, 1) if p["beta"] != 0 else f32([np.nan] * nc)
        return a, b, c0

    # Every transpose on 1x1 and odd shapes, alpha and beta varied.
    ab = [(1, 0), (0.5, -1.5), (-2, 1), (1, 0.25)]
    for m, n, k in [(1, 1, 1), (3, 5, 7), (13, 1, 9), (1, 17, 4), (8, 6, 33)]:
        for i, (ta, tb) in enumerate([(False, False), (True, False), (False, True), (True, True)]):
            p = gemm_params(m, n, k, ta, tb, *ab[i])
            add("%dx%dx%d transA=%s transB=%s alpha=%g beta=%g" % (m, n, k, ta, tb, p["alpha"], p["beta"]), p, *operands(p))

    # Large magnitudes (no cancellation: all positive), products that are denormal, and
    # operands with -0 and denormals.
    p = gemm_params(4, 3, 5)
    a, b, c0 = operands(p, 1e17, 2e18)
    add("large magnitudes", p, a, b, c0)
    p = gemm_params(3, 4, 6, tb=True)
    a, b, c0 = operands(p, 1e-21, 1e-19)
    add("denormal products", p, a, b, c0)
    p = gemm_params(3, 3, 4, ta=True, beta=1)
    a, b, c0 = operands(p)
    a[::3], b[1::4], c0[::2] = -0.0, f32(DENORMALS * 3)[: len(b[1::4])], -0.0
    add("-0 and denormal operands", p, a, b, c0)

    # Strided batches: one operand shared (stride 0), gaps between products that keep
    # their values.
    for batch, m, n, k, sa, sb, sc, ta, tb in [(3, 2, 3, 4, 0, 12, 6, False, False), (2, 3, 2, 5, 17, 0, 9, True, False),
                                               (4, 1, 1, 3, 3, 3, 2, False, True), (2, 1, 1, 1, 1, 1, 1, True, True)]:
        p = gemm_params(m, n, k, ta, tb, 0.75, 0.25, batch, sa, sb, sc)
        add("batch %d strides %d %d %d transA=%s transB=%s" % (batch, sa, sb, sc, ta, tb), p, *operands(p))

    # The epilogue: bias then each activation, beta 0 and 1, every transpose in turn.
    acts = [("", 0.0), ("relu", 0.0), ("leaky_relu", 0.1), ("sigmoid", 0.0), ("tanh", 0.0), ("gelu", 0.0)]
    trs = [(False, False), (True, False), (False, True), (True, True)]
    for i, (act, ap) in enumerate(acts):
        for j, beta in enumerate([0.0, 1.0]):
            ta, tb = trs[(i + j) % 4]
            p = gemm_params(5, 7, 3, ta, tb, 1.0, beta, act=act, act_param=ap)
            a, b, c0 = operands(p, -2, 2)
            add("epilogue bias act=%s beta=%g transA=%s transB=%s" % (act or "none", beta, ta, tb), p, a, b, c0,
                bias=g.uniform(7, -1, 1))
    p = gemm_params(1, 1, 1, act="gelu")
    add("epilogue gelu without bias 1x1x1", p, *operands(p))
    p = gemm_params(2, 3, 4, alpha=-1, act="relu")
    add("epilogue relu without bias alpha=-1", p, *operands(p))

    # A dense layer's backward pass, y = x*W^T (x: 6x5, W: 4x5), by autograd: dx = dy*W and
    # dW = dy^T*x, the latter also added to an existing gradient (beta 1).
    x, w, dy = g.uniform(30, -1, 1), g.uniform(20, -1, 1), g.uniform(24, -1, 1)
    X, W = T(x, True).reshape(6, 5), T(w, True).reshape(4, 5)
    dX, dW = torch.autograd.grad(X @ W.T, (X, W), grad_outputs=T(dy).reshape(6, 4))
    add("dense backward dx = dy*W", gemm_params(6, 5, 4), dy, w, f32([np.nan] * 30), want=out(dX).reshape(-1))
    add("dense backward dW = dy^T*x", gemm_params(4, 5, 6, ta=True), dy, x, f32([np.nan] * 20), want=out(dW).reshape(-1))
    prev = g.uniform(20, -1, 1)
    add("dense backward dW += dy^T*x", gemm_params(4, 5, 6, ta=True, beta=1), dy, x, prev, want=out(T(prev) + dW.reshape(-1)))


# ---------------------------------------------------------------------------- unary


@family("unary")
def unary(g):
    mixed = f32(SPECIALS + list(g.uniform(11, -6, 6)))
    for op, p in [("relu", 0.0), ("leaky_relu", 0.05), ("leaky_relu", 0.0), ("sigmoid", 0.0), ("tanh", 0.0), ("gelu", 0.0)]:
        for name, xs in [("1 element", f32([-2.5])), ("%d specials and uniform" % len(mixed), mixed)]:
            dy = g.uniform(len(xs), -1, 1)
            dy[::5] = -0.0
            X = T(xs, True)
            y = ACTS[op](X, fl(p))
            (dx,) = backward(y, dy, X)
            g.case("%s p=%g %s" % (op, p, name), dict(op=op, p=fl(p)), x=xs, y=out(y), dy=dy, dx=dx)


# ---------------------------------------------------------------------------- softmax


@family("softmax")
def softmax(g):
    cases = [
        ("1x1", g.uniform((1, 1), -1, 1)),
        ("1x7", g.uniform((1, 7), -5, 5)),
        ("5x3", g.uniform((5, 3), -20, 20)),
        ("3x33", g.uniform((3, 33), -3, 3)),
        # ±1e30 with ties at the maximum; denormals only (uniform); -inf entries next to
        # finite ones; logits near float32's limits.
        ("large magnitudes and ties", f32([[1e30, -1e30, 1e30, 0, -0.0], [3e38, -3e38, 0, 1, 2]])),
        ("denormals and -0", f32([[1e-40, -1e-40, 1.4e-45, -0.0, 0.0]])),
        ("-inf entries", f32([[-np.inf, 0, 1, -np.inf, 2], [5, -np.inf, 5, 4, -np.inf]])),
    ]
    for name, x in cases:
        rows, cols = x.shape
        dy = g.uniform((rows, cols), -1, 1)
        X = T(x, True)
        y = torch.softmax(X, dim=1)
        (dx,) = backward(y, dy, X)
        g.case(name, dict(rows=rows, cols=cols), x=x.reshape(-1), y=out(y).reshape(-1), dy=dy.reshape(-1),
               dx=dx.reshape(-1))


# ---------------------------------------------------------------------------- binary

BINARY = {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div}


@family("binary")
def binary(g):
    # Pairs that overflow, underflow, give denormals, signed zeros, infinities and NaN.
    sa = [1e30, 1e-30, 1e-40, -0.0, 1.0, 0.0, 3e38, -3e38, 1.4e-45, 2.0, -0.0, 1e20]
    sb = [1e30, 1e-30, 2.0, 0.0, -0.0, 0.0, 3e38, 1e-5, 0.5, 1e-40, -0.0, -1e20]
    n = 29
    a = f32(sa + list(g.uniform(n - len(sa), -1, 1)))
    b = f32(sb + list(g.uniform(n - len(sb), 0.5, 2) * np.where(g.uniform(n - len(sb), 0, 1) < 0.5, -1, 1).astype(np.float32)))
    for op in BINARY:
        with np.errstate(all="ignore"):
            g.case("binary %s 1 element" % op, dict(kind="binary", op=op), a=f32([0.75]), b=f32([-3.0]),
                   want=out(BINARY[op](T([0.75]), T([-3.0]))))
            g.case("binary %s %d specials and uniform" % (op, n), dict(kind="binary", op=op), a=a, b=b,
                   want=out(BINARY[op](T(a), T(b))))
    for outer, mid, inner in [(1, 1, 1), (3, 5, 1), (2, 3, 7), (1, 4, 9)]:
        for op in BINARY:
            x = g.uniform(outer * mid * inner, -1, 1)
            x[::4] = -0.0
            v = g.uniform(mid, 0.5, 2)
            if mid > 1:
                v[1] = -0.0  # division by -0: -inf, +inf and NaN
            want = BINARY[op](T(x).reshape(outer, mid, inner), T(v).reshape(1, mid, 1))
            g.case("broadcast %s (%d,%d,%d)" % (op, outer, mid, inner), dict(kind="broadcast", op=op, outer=outer, mid=mid, inner=inner),
                   a=x, b=v, want=out(want).reshape(-1))
    for n, alpha, beta in [(1, 0.5, 0.0), (31, 0.5, 0.0), (31, -1.0, 1.0), (31, 2.0, -0.25), (7, 1e20, 1e-20)]:
        x, y = g.uniform(n, -1, 1), g.uniform(n, -1, 1)
        if beta == 0:
            y = f32([np.nan] * n)  # not read
        want = fl(alpha) * T(x) + (fl(beta) * T(y) if beta != 0 else 0)
        g.case("axpby %g %g [%d]" % (alpha, beta, n), dict(kind="axpby", alpha=fl(alpha), beta=fl(beta)), a=x, b=y, want=out(want))


# ---------------------------------------------------------------------------- reduce


@family("reduce")
def reduce(g):
    def red(op, x):
        if op == "sum":
            return x.sum(1)
        if op == "mean":
            return x.mean(1)
        if op == "max":
            return x.amax(1)
        if op == "sum_squares":
            return (x * x).sum(1)
        if op == "norm":
            return (x * x).sum(1).sqrt()
        raise ValueError(op)

    quant = lambda s: f32(g.ints(s, -2, 3))  # few levels: ties for max and argmax
    cases = [
        ("1x1x1", (1, 1, 1), g.uniform(1, -1, 1)),
        ("3x7x5", (3, 7, 5), g.uniform(105, -1, 1)),
        ("1x33x1", (1, 33, 1), g.uniform(33, -1, 1)),
        ("2x1x9", (2, 1, 9), g.uniform(18, -1, 1)),
        ("ties 4x6x3", (4, 6, 3), quant(72)),
        ("ties -0 and 0", (1, 4, 2), f32([-0.0, 0.0, 0.0, -0.0, -1, -0.0, -0.0, -2])),
        ("large magnitudes", (2, 5, 1), g.uniform(10, 1e30, 3e30)),
        ("denormals", (1, 5, 2), f32([1e-40, -1e-40, 1.4e-45, 3e-39, -1e-45, 0, 2e-39, -2e-39, 1e-41, -0.0])),
        ("all -1e30 and one -inf", (1, 3, 2), f32([-1e30, -np.inf, -1e30, -1e30, -np.inf, -1e30])),
    ]
    # torch.argmax returns the first maximum (documented), as device.ArgMax does.
    assert torch.argmax(T([1, 3, 3, 2])).item() == 1
    for name, (o, m, i), x in cases:
        X = T(x).reshape(o, m, i)
        with np.errstate(all="ignore"):
            for op in ["sum", "mean", "max", "sum_squares", "norm"]:
                if op == "norm" and name == "large magnitudes":
                    continue  # the float32 squares overflow (documented); the exact norm does not
                g.case("%s %s" % (op, name), dict(op=op, outer=o, mid=m, inner=i), x=x, want=out(red(op, X)).reshape(-1))
        g.case("argmax %s" % name, dict(op="argmax", outer=o, mid=m, inner=i), x=x, want=torch.argmax(X, 1).numpy().reshape(-1))


# ---------------------------------------------------------------------------- loss

# Keras' clamp for the cross-entropy on probabilities: epsilon and 1-epsilon, in float32.
CE_EPS = np.float32(1e-7)
CE_HI = np.float32(1) - CE_EPS


@family("loss")
def loss(g):
    def labels_for(rows, cols):
        return g.ints(rows, 0, cols)

    def correct(x, labels):
        return (torch.argmax(T(x), 1).numpy() == labels).astype(np.float32)

    def sce(name, x, labels, scale):
        rows, cols = x.shape
        X = T(x, True)
        losses = F.cross_entropy(X, torch.from_numpy(labels), reduction="none")
        (grad,) = backward(losses.sum() * scale, f32(1.0), X)
        g.case("softmax_cross_entropy " + name, dict(op="softmax_cross_entropy", rows=rows, cols=cols, scale=fl(scale)),
               input=x.reshape(-1), labels=labels, probs=out(torch.softmax(X, 1)).reshape(-1), loss=out(losses),
               correct=correct(x, labels), grad=grad.reshape(-1))

    def ce(name, x, labels, scale):
        rows, cols = x.shape
        X = T(x, True)
        p = X[torch.arange(rows), torch.from_numpy(labels)]
        # The clamp's gradient passes where lo <= p <= hi, bounds included, as Keras' clip
        # (TensorFlow's clip_by_value) has it and device.CrossEntropy documents; torch's
        # clamp with scalar bounds gives 0 at the bounds, so the bounds are kept by where.
        inside = (p >= float(CE_EPS)) & (p <= float(CE_HI))
        losses = -torch.log(torch.where(inside, p, p.detach().clamp(float(CE_EPS), float(CE_HI))))
        (grad,) = backward(losses.sum() * scale, f32(1.0), X)
        g.case("cross_entropy " + name, dict(op="cross_entropy", rows=rows, cols=cols, scale=fl(scale)),
               input=x.reshape(-1), labels=labels, loss=out(losses), correct=correct(x, labels), grad=grad.reshape(-1))

    def mse(name, x, t, scale):
        rows, cols = x.shape
        X = T(x, True)
        losses = ((X - T(t)) ** 2).mean(1)
        (grad,) = backward(losses.sum() * scale, f32(1.0), X)
        g.case("mse " + name, dict(op="mse", rows=rows, cols=cols, scale=fl(scale)),
               input=x.reshape(-1), target=t.reshape(-1), loss=out(losses), grad=grad.reshape(-1))

    for rows, cols in [(1, 1), (1, 10), (5, 7), (3, 33)]:
        sce("%dx%d" % (rows, cols), g.uniform((rows, cols), -8, 8), labels_for(rows, cols), 1.0 / rows)
    # Large logits (the loss of a confident right answer is tiny), ties at the maximum
    # (Correct takes the first), -0 and denormals.
    sce("large logits", f32([[1e4, -1e4, 9990, 0], [-1e4, 1e4, 1e4, 0], [50, 60, 70, 80]]), np.array([0, 2, 3]), 0.37)
    sce("ties", f32([[1, 3, 3, 0], [2, 2, 2, 2]]), np.array([1, 2]), 0.5)
    sce("-0 and denormals", f32([[-0.0, 0.0, 1e-40, -1e-40]]), np.array([3]), 1.0)

    for rows, cols in [(1, 1), (5, 7), (3, 33)]:
        x = g.uniform((rows, cols), 0, 1)
        ce("%dx%d" % (rows, cols), x, labels_for(rows, cols), 1.0 / rows)
    # Probabilities where the clamp acts (0, 1, below eps, above 1-eps), exactly at its
    # bounds (the gradient passes), denormal and -0, ties.
    x = f32([[0, 1, 0.5], [1, 0, 0], [1e-8, 0.3, 0.7], [float(CE_EPS), 0.5, 0.5], [float(CE_HI), 1e-7, 0],
             [1e-40, 0.9, 0.1], [-0.0, 0.5, 0.5], [0.999999, 0.2, 0.2], [0.4, 0.4, 0.2]])
    ce("clamped and boundary probabilities", x, np.array([0, 0, 0, 0, 0, 0, 0, 0, 1]), 0.25)

    for rows, cols in [(1, 1), (5, 7), (3, 33)]:
        mse("%dx%d" % (rows, cols), g.uniform((rows, cols), -2, 2), g.uniform((rows, cols), -2, 2), 1.0 / rows)
    mse("large, -0 and denormals", f32([[1e18, -0.0, 1e-40, 3.0]]), f32([[-1e18, 0.0, -1e-40, 3.0]]), 1.0)


# ---------------------------------------------------------------------------- update


@family("update")
def update(g):
    steps = 3

    def run(name, op, h, p0, grads):
        P = T(p0).clone().requires_grad_(True)
        lr = h["lr"]
        if op == "sgd":
            opt = torch.optim.SGD([P], lr=lr)
        elif op == "momentum":
            opt = torch.optim.SGD([P], lr=lr, momentum=h["momentum"], nesterov=h["nesterov"])
        elif op == "adam":
            opt = torch.optim.Adam([P], lr=lr, betas=(h["beta1"], h["beta2"]), eps=h["eps"], foreach=False)
        elif op == "adamw":
            opt = torch.optim.AdamW([P], lr=lr, betas=(h["beta1"], h["beta2"]), eps=h["eps"],
                                    weight_decay=h["weight_decay"], foreach=False)
        for t in range(1, steps + 1):
            if op in ("adam", "adamw"):
                # Keras: p -= lr*sqrt(1-b2^t)/(1-b1^t) * m/(sqrt(v)+eps); torch's Adam is
                # that formula with eps/sqrt(1-b2^t) in place of eps.
                opt.param_groups[0]["eps"] = h["eps"] / np.sqrt(1 - h["beta2"] ** t)
            P.grad = T(grads[t - 1])
            opt.step()
        st = opt.state[P]
        m = v = None
        if op == "momentum":
            m = out(-lr * st["momentum_buffer"])  # Keras' m = -lr * torch's buffer
        elif op in ("adam", "adamw"):
            m, v = out(st["exp_avg"]), out(st["exp_avg_sq"])
        g.case(name, dict(op=op, steps=steps, **h), param=p0, grads=np.stack(grads).reshape(-1), want_param=out(P), want_m=m,
               want_v=v)

    def hyper(lr, momentum=0.0, nesterov=False, beta1=0.0, beta2=0.0, eps=0.0, weight_decay=0.0):
        return dict(lr=fl(lr), momentum=fl(momentum), nesterov=nesterov, beta1=fl(beta1), beta2=fl(beta2), eps=fl(eps),
                    weight_decay=fl(weight_decay))

    opts = [
        ("sgd", hyper(0.05)),
        ("momentum", hyper(0.05, momentum=0.9)),
        ("momentum", hyper(0.05, momentum=0.9, nesterov=True)),
        ("adam", hyper(1e-3, beta1=0.9, beta2=0.999, eps=1e-7)),
        ("adamw", hyper(1e-3, beta1=0.9, beta2=0.999, eps=1e-7, weight_decay=0.01)),
        ("adam", hyper(0.1, beta1=0.5, beta2=0.75, eps=1e-3)),
    ]
    for op, h in opts:
        nest = " nesterov" if h["nesterov"] else ""
        for n in [1, 13]:
            p0 = g.uniform(n, -1, 1)
            run("%s%s lr=%g [%d]" % (op, nest, h["lr"], n), op, h, p0, [g.uniform(n, -1, 1) for _ in range(steps)])
        # Large gradients (g^2 stays finite in float32), denormal and -0 gradients and
        # parameters, a gradient that changes sign.
        p0 = f32([1.0, -0.0, 1e-40, 1e12, -3.0])
        grads = [f32([1e15, -0.0, 1e-40, 1.0, 2.0]), f32([1e15, 0.0, -1e-40, -1.0, 1e-40]), f32([-1e15, 1e-40, 0.0, 1.0, -0.0])]
        run("%s%s lr=%g awkward values" % (op, nest, h["lr"]), op, h, p0, grads)


# ---------------------------------------------------------------------------- dropout

MASK32 = 0xFFFFFFFF
PHILOX_M = (0xD2511F53, 0xCD9E8D57)
PHILOX_W = (0x9E3779B9, 0xBB67AE85)


def philox4x32_10(ctr, key):
    """philox4x32_10 is Philox4x32-10 (Salmon et al., SC 2011): ten rounds of the S-box
    (two 32x32->64 multiplications, the halves crossed and xored with the key) over
    the 128-bit counter, the key bumped by the Weyl constants after each round."""
    x0, x1, x2, x3 = ctr
    k0, k1 = key
    for _ in range(10):
        p0, p1 = PHILOX_M[0] * x0, PHILOX_M[1] * x2
        x0, x1, x2, x3 = (p1 >> 32) ^ x1 ^ k0, p1 & MASK32, (p0 >> 32) ^ x3 ^ k1, p0 & MASK32
        k0, k1 = (k0 + PHILOX_W[0]) & MASK32, (k1 + PHILOX_W[1]) & MASK32
    return x0, x1, x2, x3


# Random123's known-answer vectors for philox4x32-10 (tests/kat_vectors): counter, key, result.
for ctr, key, want in [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((MASK32,) * 4, (MASK32,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0), (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]:
    assert philox4x32_10(ctr, key) == want, "philox4x32_10 fails Random123's known answer for %s" % (ctr,)


def philox_block(seed, counter):
    """philox_block is the block for a 64-bit counter under a 64-bit seed, as device.PhiloxBlock
    documents it: counter (lo, hi, 0, 0), key (lo, hi)."""
    return philox4x32_10((counter & MASK32, counter >> 32, 0, 0), (seed & MASK32, seed >> 32))


@family("dropout")
def dropout(g):
    for n, rate, seed, offset in [(1, 0.5, 0, 0), (7, 0.5, 42, 0), (4, 0.1, 42, 1), (33, 0.9, 7, 5), (17, 0.5, 1 << 40, 1 << 33),
                                  (101, 0.25, 123456789, 77), (64, 0.0, 1, 0), (30, 0.3, 0xDEADBEEFCAFE, (1 << 64) - 5)]:
        rate32 = np.float32(rate)
        threshold = int(float(rate32) * (1 << 24))  # the top 24 bits of a draw must reach it to keep
        scale = np.float32(1 / (1 - float(rate32)))
        mask = np.zeros(n, np.float32)
        for i in range(n):
            word = philox_block(seed, (offset + i // 4) & ((1 << 64) - 1))[i % 4]
            if word >> 8 >= threshold:
                mask[i] = scale
        g.case("rate %g seed %#x offset %d [%d]" % (rate, seed, offset, n), dict(rate=float(rate32), seed=str(seed), offset=str(offset), n=n),
               mask=mask)


# ---------------------------------------------------------------------------- gather


@family("gather")
def gather(g):
    for src_rows, rows, row_len in [(1, 1, 1), (5, 9, 3), (7, 4, 11)]:
        idx = g.ints(rows, 0, src_rows)
        shape = "%d of %d rows of %d" % (rows, src_rows, row_len)
        src = g.uniform((src_rows, row_len), -1, 1)
        src.reshape(-1)[:: 5] = -0.0
        src.reshape(-1)[1:: 7] = 1e-40
        sel = torch.index_select(T(src), 0, torch.from_numpy(idx))
        g.case("float32 " + shape, dict(kind="float32", row_len=row_len, scale=0.5), src=src.reshape(-1), idx=idx,
               want=out(0.5 * sel).reshape(-1))
        u8 = g.ints((src_rows, row_len), 0, 256)
        u8.reshape(-1)[0] = 255
        scale = fl(1 / 255)
        sel = torch.index_select(torch.from_numpy(u8).double(), 0, torch.from_numpy(idx))
        g.case("uint8 " + shape, dict(kind="uint8", row_len=row_len, scale=scale), src=u8.reshape(-1), idx=idx,
               want=out(scale * sel).reshape(-1))
        labels = g.ints((src_rows, row_len), -(1 << 31), 1 << 31)
        sel = torch.index_select(torch.from_numpy(labels), 0, torch.from_numpy(idx))
        g.case("int32 " + shape, dict(kind="int32", row_len=row_len, scale=1.0), src=labels.reshape(-1), idx=idx,
               want=sel.numpy().reshape(-1))


# ---------------------------------------------------------------------------- conv


def geom(n, c, h, w, kh, kw, sh=1, sw=1, ph=0, pw=0):
    return dict(n=n, c=c, h=h, w=w, kh=kh, kw=kw, stride_h=sh, stride_w=sw, pad_h=ph, pad_w=pw)


def geom_name(q):
    return "(%d,%d,%d,%d) window %dx%d stride %dx%d pad %dx%d" % (
        q["n"], q["c"], q["h"], q["w"], q["kh"], q["kw"], q["stride_h"], q["stride_w"], q["pad_h"], q["pad_w"])


def out_hw(q):
    return ((q["h"] + 2 * q["pad_h"] - q["kh"]) // q["stride_h"] + 1, (q["w"] + 2 * q["pad_w"] - q["kw"]) // q["stride_w"] + 1)


def window_args(q):
    return dict(kernel_size=(q["kh"], q["kw"]), stride=(q["stride_h"], q["stride_w"]), padding=(q["pad_h"], q["pad_w"]))


@family("conv")
def conv(g):
    for q in [geom(2, 3, 5, 4, 3, 2, 2, 1, 1, 1), geom(1, 2, 6, 7, 2, 2, 2, 2), geom(1, 1, 5, 6, 5, 6), geom(2, 1, 4, 4, 3, 3, 2, 2, 1, 1),
              geom(1, 1, 4, 3, 3, 3, 1, 1, 2, 2), geom(1, 2, 3, 3, 1, 1), geom(1, 1, 1, 1, 1, 1)]:
        oh, ow = out_hw(q)
        x = g.uniform((q["n"], q["c"], q["h"], q["w"]), -1, 1)
        x.reshape(-1)[::6] = -0.0
        x.reshape(-1)[1::9] = 1e-40
        X = T(x, True)
        col = F.unfold(X, **window_args(q))  # (N, C*KH*KW, OH*OW), C major then KH, KW: Im2Col's layout
        assert col.shape == (q["n"], q["c"] * q["kh"] * q["kw"], oh * ow)
        dcol = g.uniform(col.shape, -1, 1)
        # Col2Im is Im2Col's adjoint: fold, and im2col's gradient by autograd, agree.
        (dx,) = backward(col, dcol, X)
        folded = F.fold(T(dcol), output_size=(q["h"], q["w"]), **window_args(q))
        assert np.array_equal(out(folded), dx)
        g.case(geom_name(q), q, x=x.reshape(-1), col=out(col).reshape(-1), dcol=dcol.reshape(-1), dx=dx.reshape(-1))


# ---------------------------------------------------------------------------- pool


@family("pool")
def pool(g):
    # torch's max pooling routes the gradient to the first maximum of the window in
    # row-major order, as device.Backend.PoolBackward documents: check that first.
    X = T([[[[1.0, 1.0], [0.5, 1.0]]]], True)
    (dx,) = backward(F.max_pool2d(X, 2), f32([[[[1.0]]]]), X)
    assert dx.reshape(-1).tolist() == [1.0, 0, 0, 0], "torch's max pooling no longer takes the first maximum"

    geoms = [geom(2, 3, 5, 4, 3, 2, 2, 1, 1, 1), geom(1, 2, 6, 7, 2, 2, 2, 2), geom(1, 1, 5, 6, 5, 6), geom(2, 1, 4, 4, 3, 3, 2, 2, 1, 1),
             geom(1, 2, 5, 5, 2, 2, 1, 1), geom(1, 1, 1, 1, 1, 1)]
    for q in geoms:
        for values in ["ties", "uniform"]:
            shape = (q["n"], q["c"], q["h"], q["w"])
            if values == "ties":
                x = f32(g.ints(shape, -2, 3))  # few levels: many ties, -0 among the zeros
                x.reshape(-1)[::3] *= -1
            else:
                x = g.uniform(shape, -1, 1)
                x.reshape(-1)[::7] = 1e-40
                x.reshape(-1)[3::11] = -1e30  # large, but a window's sum stays finite in float32
            for op in ["max_pool", "avg_pool"]:
                X = T(x, True)
                if op == "max_pool":
                    y = F.max_pool2d(X, **window_args(q))
                else:
                    y = F.avg_pool2d(X, count_include_pad=True, **window_args(q))  # divided by KH*KW
                dy = g.uniform(y.shape, -1, 1)
                (dx,) = backward(y, dy, X)
                g.case("%s %s %s" % (op, values, geom_name(q)), dict(op=op, **q), x=x.reshape(-1), y=out(y).reshape(-1),
                       dy=dy.reshape(-1), dx=dx.reshape(-1))


# ---------------------------------------------------------------------------- batchnorm


@family("batchnorm")
def batchnorm(g):
    for (n, c, inner), loc, spread, eps in [((2, 1, 1), 0, 1, 1e-3), ((3, 4, 1), 0, 1, 1e-5), ((2, 3, 5), 3, 1, 1e-3),
                                            ((1, 2, 7), -1, 2, 1e-5), ((4, 2, 3), 1e3, 1, 1e-3), ((3, 2, 2), 5, 1e-3, 1e-5),
                                            ((2, 2, 1), 0, 1e10, 1e-3)]:
        momentum = fl(0.1)
        x = (loc + g.uniform((n, c, inner), -spread, spread)).astype(np.float32)
        x.reshape(-1)[::5] = f32(loc) if loc != 0 else -0.0
        gamma, beta = g.uniform(c, 0.5, 1.5), g.uniform(c, -1, 1)
        rm0, rv0 = g.uniform(c, -0.1, 0.1), g.uniform(c, 0.9, 1.1)
        dy = g.uniform((n, c, inner), -1, 1)
        X, W, B = T(x, True), T(gamma, True), T(beta, True)
        rm, rv = T(rm0), T(rv0)
        y = F.batch_norm(X, rm, rv, W, B, training=True, momentum=momentum, eps=fl(eps))  # updates rm, rv (unbiased var)
        _, save_mean, save_invstd = torch.native_batch_norm(T(x), T(gamma), T(beta), None, None, True, momentum, fl(eps))
        # BatchNormBackward reads the saved statistics, which are float32: its answer is
        # torch's batch-norm backward given those (with mean 1e3 and spread 1, the mean's
        # rounding alone moves dgamma by 1e-4). With the float64 statistics, that backward
        # is autograd's.
        dX, dW, dB = torch.autograd.grad(y, (X, W, B), grad_outputs=T(dy))
        mask = [True, True, True]
        exact = torch.ops.aten.native_batch_norm_backward(T(dy), T(x), T(gamma), None, None, save_mean, save_invstd, True,
                                                          fl(eps), mask)
        for a, b in zip(exact, (dX, dW, dB)):
            assert torch.allclose(a, b, rtol=1e-9, atol=1e-12), "native_batch_norm_backward disagrees with autograd"
        dx, dgamma, dbeta = [out(r) for r in torch.ops.aten.native_batch_norm_backward(
            T(dy), T(x), T(gamma), None, None, T(out(save_mean)), T(out(save_invstd)), True, fl(eps), mask)]
        y_inf = F.batch_norm(T(x), T(rm0), T(rv0), T(gamma), T(beta), training=False, eps=fl(eps))
        g.case("(%d,%d,%d) mean %g spread %g eps %g" % (n, c, inner, loc, spread, eps),
               dict(n=n, c=c, inner=inner, momentum=momentum, eps=fl(eps)),
               x=x.reshape(-1), gamma=gamma, beta=beta, run_mean=rm0, run_var=rv0, dy=dy.reshape(-1),
               y=out(y).reshape(-1), save_mean=out(save_mean), save_invstd=out(save_invstd), want_run_mean=out(rm),
               want_run_var=out(rv), dx=dx.reshape(-1), dgamma=dgamma, dbeta=dbeta, y_inference=out(y_inf).reshape(-1))


# ---------------------------------------------------------------------------- augment


@family("augment")
def augment(g):
    for n, c, h, w, shift, flip, seed, offset in [(3, 2, 5, 4, 2, True, 7, 0), (2, 1, 3, 3, 1, False, 1 << 40, 5),
                                                  (4, 1, 1, 1, 0, True, 3, 0), (6, 3, 4, 6, 3, True, 0xFEED, 1 << 33),
                                                  (5, 1, 7, 2, 1, True, 11, 2)]:
        x = g.uniform((n, c, h, w), -1, 1)
        x.reshape(-1)[::4] = -0.0
        y = np.zeros_like(x)
        span = 2 * shift + 1
        for i in range(n):
            # device.AugmentArgs: image i draws the block (seed, offset+i) = w; it moves by
            # dx = w0 mod span - shift columns and dy = w1 mod span - shift rows, and is
            # mirrored first when flip and w2 is odd: y[r, col] = x[r-dy, fx(col-dx)].
            wd = philox_block(seed, offset + i)
            ddx, ddy = wd[0] % span - shift, wd[1] % span - shift
            mirror = flip and wd[2] & 1 == 1
            src = x[i, :, :, ::-1] if mirror else x[i]
            for r in range(h):
                for col in range(w):
                    sr, sc = r - ddy, col - ddx
                    if 0 <= sr < h and 0 <= sc < w:
                        y[i, :, r, col] = src[:, sr, sc]
        g.case("(%d,%d,%d,%d) shift %d flip %s seed %d offset %d" % (n, c, h, w, shift, flip, seed, offset),
               dict(n=n, c=c, h=h, w=w, max_shift=shift, flip_h=flip, seed=str(seed), offset=str(offset)),
               x=x.reshape(-1), y=y.reshape(-1))


# ---------------------------------------------------------------------------- main


def write_safetensors(path, tensors, metadata):
    """write_safetensors writes tensors (name -> float32 or int64 array) and the metadata in
    the safetensors format with a byte-stable layout: the library's save_file keeps the
    metadata in a hash map, whose order changes from run to run, so the header is written
    here with sorted keys (tensors in name order, padded to 8 bytes with spaces) and the
    file is then read back with the library, which must return every tensor unchanged."""
    header, blobs, at = {}, [], 0
    for name in sorted(tensors):
        a = tensors[name]
        dtype = {np.dtype(np.float32): "F32", np.dtype(np.int64): "I64"}[a.dtype]
        blob = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [at, at + len(blob)]}
        blobs.append(blob)
        at += len(blob)
    header["__metadata__"] = metadata
    js = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    js += b" " * (-len(js) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(js)) + js + b"".join(blobs))
    back = load_file(path)
    assert sorted(back) == sorted(tensors)
    for name, a in tensors.items():
        assert back[name].dtype == a.dtype and back[name].tobytes() == a.tobytes(), name
    with safe_open(path, "np") as f:
        assert f.metadata() == metadata


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT, help="directory for the .safetensors files (default: %(default)s)")
    ap.add_argument("families", nargs="*", help="families to write (default: all of %s)" % ", ".join(FAMILIES))
    args = ap.parse_args()
    for name in args.families:
        if name not in FAMILIES:
            sys.exit("make_golden.py: unknown family %r (have %s)" % (name, ", ".join(FAMILIES)))

    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    torch.set_flush_denormal(False)
    warnings.simplefilter("ignore", RuntimeWarning)  # float32 overflow to inf is intended
    os.makedirs(args.out, exist_ok=True)
    for name in args.families or FAMILIES:
        g = Golden(name)
        FAMILIES[name](g)
        meta = {
            "family": name,
            "cases": json.dumps(g.cases, sort_keys=True, separators=(",", ":")),
            "generator": "device/devicetest/golden/make_golden.py",
            "versions": "torch %s, numpy %s, safetensors %s" % (torch.__version__, np.__version__, safetensors.__version__),
        }
        path = os.path.join(args.out, name + ".safetensors")
        write_safetensors(path, g.tensors, meta)
        print("make_golden.py: %s: %d cases, %d tensors, %d bytes" % (path, len(g.cases), len(g.tensors), os.path.getsize(path)))


if __name__ == "__main__":
    main()
