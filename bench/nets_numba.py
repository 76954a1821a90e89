"""Hand-written numba training steps for W4 (MLP) and W6 (conv net): the limit rows.

Matrix products go to BLAS through numba's ``np.dot``; everything between
them (bias, relu, softmax cross-entropy, pooling, im2col/col2im, optimizer
updates) is fused into single loops.  The parameters are updated in place.
"""

from __future__ import annotations

import os

import numba
import numpy as np

_F = np.float32
# BENCH_NUMBA_CACHE=1: numba's disk cache (W5's start-up children set it)
_JIT = {
    "fastmath": True,
    "error_model": "numpy",
    "cache": os.environ.get("BENCH_NUMBA_CACHE") == "1",
}


@numba.njit(**_JIT)
def _xent(logits, b, y, d):
    """Add bias ``b`` to ``logits`` rows; write dloss/dlogits to ``d``; return mean loss."""
    n, k = logits.shape
    loss = 0.0
    for i in range(n):
        m = _F(-np.inf)
        for j in range(k):
            v = logits[i, j] + b[j]
            logits[i, j] = v
            m = max(m, v)
        s = _F(0.0)
        for j in range(k):
            e = np.exp(logits[i, j] - m)
            d[i, j] = e
            s += e
        ls = np.log(s)
        for j in range(k):
            loss -= y[i, j] * (logits[i, j] - m - ls)
            d[i, j] = (d[i, j] / s - y[i, j]) / _F(n)
    return loss / n


@numba.njit(**_JIT)
def _bias_relu(z, b):
    """``z = z + b`` (pre-activation kept in ``z``); return ``relu(z)``."""
    h = np.empty_like(z)
    n, k = z.shape
    for i in range(n):
        for j in range(k):
            v = z[i, j] + b[j]
            z[i, j] = v
            h[i, j] = v if v > 0 else _F(0.0)
    return h


@numba.njit(**_JIT)
def _relu_grad_colsum(dh, z, db):
    """Zero ``dh`` where ``z <= 0`` and write the column sums of the result to ``db``."""
    n, k = dh.shape
    db[:] = 0
    for i in range(n):
        for j in range(k):
            v = dh[i, j] if z[i, j] > 0 else _F(0.0)
            dh[i, j] = v
            db[j] += v


@numba.njit(**_JIT)
def _colsum(d, out):
    out[:] = 0
    for i in range(d.shape[0]):
        for j in range(d.shape[1]):
            out[j] += d[i, j]


@numba.njit(**_JIT)
def _sgd(p, g, lr):
    pf = p.reshape(-1)
    gf = g.reshape(-1)
    for i in range(pf.size):
        pf[i] -= lr * gf[i]


@numba.njit(**_JIT)
def _adam(p, g, m, v, lr_t, b1, b2, eps):
    pf, gf, mf, vf = p.reshape(-1), g.reshape(-1), m.reshape(-1), v.reshape(-1)
    for i in range(pf.size):
        gi = gf[i]
        mi = b1 * mf[i] + (_F(1.0) - b1) * gi
        vi = b2 * vf[i] + (_F(1.0) - b2) * gi * gi
        mf[i] = mi
        vf[i] = vi
        pf[i] -= lr_t * mi / (np.sqrt(vi) + eps)


# ----------------------------------------------------------------------------- MLP


@numba.njit(**_JIT)
def mlp_grads(x, y, w1, b1, w2, b2):
    """Loss and gradients ``(loss, gw1, gb1, gw2, gb2)`` of the 784-256-10 MLP."""
    z1 = x @ w1
    h = _bias_relu(z1, b1)
    logits = h @ w2
    d = np.empty_like(logits)
    loss = _xent(logits, b2, y, d)
    gw2 = h.T @ d
    gb2 = np.empty_like(b2)
    _colsum(d, gb2)
    dh = d @ w2.T
    gb1 = np.empty_like(b1)
    _relu_grad_colsum(dh, z1, gb1)
    gw1 = x.T @ dh
    return loss, gw1, gb1, gw2, gb2


@numba.njit(**_JIT)
def mlp_sgd_step(x, y, w1, b1, w2, b2, lr):
    """One fused SGD step of the MLP; returns the loss."""
    loss, gw1, gb1, gw2, gb2 = mlp_grads(x, y, w1, b1, w2, b2)
    _sgd(w1, gw1, lr)
    _sgd(b1, gb1, lr)
    _sgd(w2, gw2, lr)
    _sgd(b2, gb2, lr)
    return loss


@numba.njit(**_JIT)
def mlp_adam_step(x, y, w1, b1, w2, b2, ms, vs, t, lr, beta1, beta2, eps):
    """One fused Adam step of the MLP (``t`` is a one-element int64 counter)."""
    loss, gw1, gb1, gw2, gb2 = mlp_grads(x, y, w1, b1, w2, b2)
    t[0] += 1
    lr_t = _F(lr * np.sqrt(1.0 - beta2 ** t[0]) / (1.0 - beta1 ** t[0]))
    b1f, b2f, ef = _F(beta1), _F(beta2), _F(eps)
    _adam(w1, gw1, ms[0], vs[0], lr_t, b1f, b2f, ef)
    _adam(b1, gb1, ms[1], vs[1], lr_t, b1f, b2f, ef)
    _adam(w2, gw2, ms[2], vs[2], lr_t, b1f, b2f, ef)
    _adam(b2, gb2, ms[3], vs[3], lr_t, b1f, b2f, ef)
    return loss


# ------------------------------------------------------------------------- conv net


@numba.njit(**_JIT)
def _im2col(x, kh, kw):
    """SAME-padded windows of NHWC ``x`` as rows ``(b*h*w, kh*kw*c)`` in (i, j, c) order."""
    b, h, w, c = x.shape
    cols = np.zeros((b * h * w, kh * kw * c), x.dtype)
    ph, pw = kh // 2, kw // 2
    for n in range(b):
        for r in range(h):
            for s in range(w):
                row = (n * h + r) * w + s
                for i in range(kh):
                    rr = r + i - ph
                    if rr < 0 or rr >= h:
                        continue
                    for j in range(kw):
                        ss = s + j - pw
                        if ss < 0 or ss >= w:
                            continue
                        base = (i * kw + j) * c
                        for k in range(c):
                            cols[row, base + k] = x[n, rr, ss, k]
    return cols


@numba.njit(**_JIT)
def _col2im(dcols, b, h, w, c, kh, kw):
    """Adjoint of :func:`_im2col`: accumulate window gradients into an NHWC array."""
    dx = np.zeros((b, h, w, c), dcols.dtype)
    ph, pw = kh // 2, kw // 2
    for n in range(b):
        for r in range(h):
            for s in range(w):
                row = (n * h + r) * w + s
                for i in range(kh):
                    rr = r + i - ph
                    if rr < 0 or rr >= h:
                        continue
                    for j in range(kw):
                        ss = s + j - pw
                        if ss < 0 or ss >= w:
                            continue
                        base = (i * kw + j) * c
                        for k in range(c):
                            dx[n, rr, ss, k] += dcols[row, base + k]
    return dx


@numba.njit(**_JIT)
def _bias_relu_pool(z, bias, b, h, w, c):
    """relu(z + bias) of a conv output (rows b*h*w, cols c), then 2x2 max pool.

    Returns the pooled NHWC array and the argmax (0..3) of every window; a
    window whose maximum is not positive gets -1 (its gradient is zero).
    """
    h2, w2 = h // 2, w // 2
    out = np.empty((b, h2, w2, c), z.dtype)
    arg = np.empty((b, h2, w2, c), np.int8)
    for n in range(b):
        for r in range(h2):
            for s in range(w2):
                for k in range(c):
                    best = _F(0.0)
                    bi = -1
                    for q in range(4):
                        rr, ss = 2 * r + q // 2, 2 * s + q % 2
                        v = z[(n * h + rr) * w + ss, k] + bias[k]
                        if v > best:
                            best = v
                            bi = q
                    out[n, r, s, k] = best
                    arg[n, r, s, k] = bi
    return out, arg


@numba.njit(**_JIT)
def _unpool(dout, arg, h, w):
    """Gradient of relu + max pool: rows (b*h*w, c) with ``dout`` at each argmax."""
    b, h2, w2, c = dout.shape
    dz = np.zeros((b * h * w, c), dout.dtype)
    for n in range(b):
        for r in range(h2):
            for s in range(w2):
                for k in range(c):
                    q = arg[n, r, s, k]
                    if q >= 0:
                        dz[(n * h + 2 * r + q // 2) * w + 2 * s + q % 2, k] = dout[n, r, s, k]
    return dz


@numba.njit(**_JIT)
def conv_grads(x, y, w1, b1, w2, b2, w3, b3, w4, b4):
    """Loss and the eight gradients of the conv net."""
    bsz = x.shape[0]
    cols1 = _im2col(x, 5, 5)
    z1 = cols1 @ w1.reshape(-1, 32)
    p1, a1 = _bias_relu_pool(z1, b1, bsz, 28, 28, 32)
    cols2 = _im2col(p1, 5, 5)
    z2 = cols2 @ w2.reshape(-1, 64)
    p2, a2 = _bias_relu_pool(z2, b2, bsz, 14, 14, 64)
    f = p2.reshape(bsz, -1)
    z3 = f @ w3
    h3 = _bias_relu(z3, b3)
    logits = h3 @ w4
    d4 = np.empty_like(logits)
    loss = _xent(logits, b4, y, d4)
    gw4 = h3.T @ d4
    gb4 = np.empty_like(b4)
    _colsum(d4, gb4)
    dh3 = d4 @ w4.T
    gb3 = np.empty_like(b3)
    _relu_grad_colsum(dh3, z3, gb3)
    gw3 = f.T @ dh3
    dp2 = (dh3 @ w3.T).reshape(bsz, 7, 7, 64)
    dz2 = _unpool(dp2, a2, 14, 14)
    gw2 = (cols2.T @ dz2).reshape(5, 5, 32, 64)
    gb2 = np.empty_like(b2)
    _colsum(dz2, gb2)
    dcols2 = dz2 @ w2.reshape(-1, 64).T
    dp1 = _col2im(dcols2, bsz, 14, 14, 32, 5, 5)
    dz1 = _unpool(dp1, a1, 28, 28)
    gw1 = (cols1.T @ dz1).reshape(5, 5, 1, 32)
    gb1 = np.empty_like(b1)
    _colsum(dz1, gb1)
    return loss, (gw1, gb1, gw2, gb2, gw3, gb3, gw4, gb4)


@numba.njit(**_JIT)
def conv_sgd_step(x, y, w1, b1, w2, b2, w3, b3, w4, b4, lr):
    """One fused SGD step of the conv net; returns the loss."""
    loss, g = conv_grads(x, y, w1, b1, w2, b2, w3, b3, w4, b4)
    _sgd(w1, g[0], lr)
    _sgd(b1, g[1], lr)
    _sgd(w2, g[2], lr)
    _sgd(b2, g[3], lr)
    _sgd(w3, g[4], lr)
    _sgd(b3, g[5], lr)
    _sgd(w4, g[6], lr)
    _sgd(b4, g[7], lr)
    return loss
