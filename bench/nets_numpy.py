"""numpy training steps for W4 (MLP) and W6 (conv net).

The same code runs in float32 (the numpy eager peer) and float64 (the
reference every peer is checked against).  Optimizers follow TensorFlow 1.x
exactly: ``GradientDescentOptimizer`` and ``AdamOptimizer`` with
``lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t)`` and ``epsilon`` added to
``sqrt(v)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

Params = list[np.ndarray]


class SGD:
    """Plain gradient descent, in place."""

    def __init__(self, params: Params, lr: float) -> None:
        self.lr = lr

    def apply(self, params: Params, grads: Params) -> None:
        """Update ``params`` in place."""
        for p, g in zip(params, grads):
            p -= p.dtype.type(self.lr) * g


class Adam:
    """TensorFlow 1.x Adam, in place."""

    def __init__(
        self,
        params: Params,
        lr: float,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
    ) -> None:
        self.lr, self.b1, self.b2, self.eps = lr, beta1, beta2, eps
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.t = 0

    def apply(self, params: Params, grads: Params) -> None:
        """Update ``params`` (and the moments) in place."""
        self.t += 1
        lr_t = self.lr * np.sqrt(1 - self.b2**self.t) / (1 - self.b1**self.t)
        for p, g, m, v in zip(params, grads, self.m, self.v):
            t = p.dtype.type
            m *= t(self.b1)
            m += t(1 - self.b1) * g
            v *= t(self.b2)
            v += t(1 - self.b2) * (g * g)
            p -= t(lr_t) * m / (np.sqrt(v) + t(self.eps))


def softmax_xent(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean softmax cross-entropy and its gradient with respect to ``logits``."""
    m = logits.max(axis=1, keepdims=True)
    e = np.exp(logits - m)
    s = e.sum(axis=1, keepdims=True)
    logp = logits - m - np.log(s)
    n = logits.shape[0]
    loss = -(y * logp).sum() / n
    return float(loss), (e / s - y) / logits.dtype.type(n)


# ----------------------------------------------------------------------------- MLP


def mlp_init(seed: int = 0) -> Params:
    """Initial float32 parameters ``[W1, b1, W2, b2]`` of the 784-256-10 MLP."""
    rng = np.random.default_rng(seed)
    return [
        (rng.standard_normal((784, 256)) * 0.05).astype(np.float32),
        (rng.standard_normal(256) * 0.01).astype(np.float32),
        (rng.standard_normal((256, 10)) * 0.1).astype(np.float32),
        (rng.standard_normal(10) * 0.01).astype(np.float32),
    ]


def batch(seed: int, shape: Sequence[int], classes: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """A float32 input batch in [0, 1) and one-hot float32 labels."""
    rng = np.random.default_rng(seed)
    x = rng.random(tuple(shape)).astype(np.float32)
    y = np.eye(classes, dtype=np.float32)[rng.integers(0, classes, shape[0])]
    return x, y


def mlp_loss_grads(p: Params, x: np.ndarray, y: np.ndarray) -> tuple[float, Params]:
    """Loss and gradients of the MLP (relu hidden layer, softmax cross-entropy)."""
    w1, b1, w2, b2 = p
    hp = x @ w1 + b1
    h = np.maximum(hp, 0)
    loss, d = softmax_xent(h @ w2 + b2, y)
    dh = (d @ w2.T) * (hp > 0)
    return loss, [x.T @ dh, dh.sum(axis=0), h.T @ d, d.sum(axis=0)]


def mlp_flops(b: int) -> float:
    """Matmul FLOPs of one MLP training step (forward, backward; no input gradient)."""
    f1, f2 = 2.0 * b * 784 * 256, 2.0 * b * 256 * 10
    return 2 * f1 + 3 * f2


# ------------------------------------------------------------------------- conv net


def conv_init(seed: int = 0) -> Params:
    """Initial float32 parameters of the conv net (HWIO filters, like TF)."""
    rng = np.random.default_rng(seed)

    def n(shape: tuple[int, ...], std: float) -> np.ndarray:
        return (rng.standard_normal(shape) * std).astype(np.float32)

    return [
        n((5, 5, 1, 32), 0.1),
        np.full(32, 0.1, np.float32),
        n((5, 5, 32, 64), 0.05),
        np.full(64, 0.1, np.float32),
        n((7 * 7 * 64, 1024), 0.02),
        np.full(1024, 0.1, np.float32),
        n((1024, 10), 0.05),
        np.full(10, 0.1, np.float32),
    ]


def conv2d_same(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """5x5 SAME convolution (NHWC, HWIO); also returns the im2col windows."""
    kh, kw = w.shape[:2]
    xp = np.pad(x, ((0, 0), (kh // 2, kh // 2), (kw // 2, kw // 2), (0, 0)))
    win = sliding_window_view(xp, (kh, kw), axis=(1, 2))  # B, H, W, C, kh, kw
    cols = win.transpose(0, 1, 2, 4, 5, 3).reshape(-1, kh * kw * x.shape[3])
    out = cols @ w.reshape(-1, w.shape[3])
    return out.reshape(*x.shape[:3], w.shape[3]), cols


def conv2d_same_backward(
    dout: np.ndarray, cols: np.ndarray, w: np.ndarray, need_dx: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """Gradients of :func:`conv2d_same` with respect to the filter and (optionally) input."""
    kh, kw, cin, cout = w.shape
    d2 = dout.reshape(-1, cout)
    dw = (cols.T @ d2).reshape(w.shape)
    if not need_dx:
        return dw, None
    b, h, wd, _ = dout.shape
    dcols = (d2 @ w.reshape(-1, cout).T).reshape(b, h, wd, kh, kw, cin)
    dxp = np.zeros((b, h + kh - 1, wd + kw - 1, cin), dout.dtype)
    for i in range(kh):
        for j in range(kw):
            dxp[:, i : i + h, j : j + wd, :] += dcols[:, :, :, i, j, :]
    return dw, dxp[:, kh // 2 : kh // 2 + h, kw // 2 : kw // 2 + wd, :]


def maxpool2(x: np.ndarray) -> np.ndarray:
    """2x2 max pooling with stride 2 (NHWC)."""
    b, h, w, c = x.shape
    return x.reshape(b, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


def maxpool2_backward(x: np.ndarray, out: np.ndarray, dout: np.ndarray) -> np.ndarray:
    """Route the gradient to the (first) maximum of every window."""
    b, h, w, c = x.shape
    xr = (
        x.reshape(b, h // 2, 2, w // 2, 2, c)
        .transpose(0, 1, 3, 5, 2, 4)
        .reshape(b, h // 2, w // 2, c, 4)
    )
    first = xr.argmax(axis=-1)
    dx = np.zeros_like(xr)
    np.put_along_axis(dx, first[..., None], dout[..., None], axis=-1)
    return dx.reshape(b, h // 2, w // 2, c, 2, 2).transpose(0, 1, 4, 2, 5, 3).reshape(x.shape)


def conv_loss_grads(p: Params, x: np.ndarray, y: np.ndarray) -> tuple[float, Params]:
    """Loss and gradients of the conv net (two conv+relu+pool, dense 1024, dense 10)."""
    w1, b1, w2, b2, w3, b3, w4, b4 = p
    c1, cols1 = conv2d_same(x, w1)
    r1 = np.maximum(c1 + b1, 0)
    p1 = maxpool2(r1)
    c2, cols2 = conv2d_same(p1, w2)
    r2 = np.maximum(c2 + b2, 0)
    p2 = maxpool2(r2)
    f = p2.reshape(p2.shape[0], -1)
    h3p = f @ w3 + b3
    h3 = np.maximum(h3p, 0)
    loss, d4 = softmax_xent(h3 @ w4 + b4, y)
    dw4, db4 = h3.T @ d4, d4.sum(axis=0)
    dh3 = (d4 @ w4.T) * (h3p > 0)
    dw3, db3 = f.T @ dh3, dh3.sum(axis=0)
    dp2 = (dh3 @ w3.T).reshape(p2.shape)
    dr2 = maxpool2_backward(r2, p2, dp2) * (r2 > 0)
    dw2, dp1 = conv2d_same_backward(dr2, cols2, w2, need_dx=True)
    db2 = dr2.sum(axis=(0, 1, 2))
    dr1 = maxpool2_backward(r1, p1, dp1) * (r1 > 0)
    dw1, _ = conv2d_same_backward(dr1, cols1, w1, need_dx=False)
    db1 = dr1.sum(axis=(0, 1, 2))
    return loss, [dw1, db1, dw2, db2, dw3, db3, dw4, db4]


def conv_flops(b: int) -> float:
    """Matmul/conv FLOPs of one conv-net training step (no input gradient of conv1)."""
    c1 = 2.0 * b * 28 * 28 * 32 * 25 * 1
    c2 = 2.0 * b * 14 * 14 * 64 * 25 * 32
    d3 = 2.0 * b * 3136 * 1024
    d4 = 2.0 * b * 1024 * 10
    return 2 * c1 + 3 * (c2 + d3 + d4)


# ---------------------------------------------------------------------- trainers


class Trainer:
    """A numpy training loop: ``step(x, y) -> loss`` updating its own parameters.

    Parameters
    ----------
    loss_grads : callable
        ``loss_grads(params, x, y) -> (loss, grads)``.
    params : list of ndarray
        Initial parameters (copied, cast to ``dtype``).
    optimizer : str
        ``"sgd"`` or ``"adam"``.
    lr : float
        Learning rate.
    dtype : numpy dtype
        float32 for the eager peer, float64 for the reference.
    """

    def __init__(
        self,
        loss_grads: Callable[..., tuple[float, Params]],
        params: Params,
        optimizer: str,
        lr: float,
        dtype: type = np.float32,
    ) -> None:
        self.loss_grads = loss_grads
        self.params = [p.astype(dtype, copy=True) for p in params]
        self.dtype = dtype
        self.opt = SGD(self.params, lr) if optimizer == "sgd" else Adam(self.params, lr)

    def step(self, x: np.ndarray, y: np.ndarray) -> float:
        """Run one training step on ``(x, y)`` and return the loss before the update."""
        loss, grads = self.loss_grads(
            self.params, x.astype(self.dtype, copy=False), y.astype(self.dtype, copy=False)
        )
        self.opt.apply(self.params, grads)
        return loss


def reference(
    loss_grads: Callable[..., tuple[float, Params]],
    params: Params,
    optimizer: str,
    lr: float,
    x: np.ndarray,
    y: np.ndarray,
    steps: int,
) -> tuple[list[float], Params]:
    """Float64 losses of ``steps`` steps on one batch and the parameters after the first."""
    tr = Trainer(loss_grads, params, optimizer, lr, dtype=np.float64)
    losses = [tr.step(x, y)]
    after_first = [p.copy() for p in tr.params]
    losses += [tr.step(x, y) for _ in range(steps - 1)]
    return losses, after_first
