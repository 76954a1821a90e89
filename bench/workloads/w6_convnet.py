"""W6: conv net training step (the TF1 "deep MNIST" model), batch 64, SGD.

28x28x1 input, conv 5x5x32 + relu + 2x2 max pool, conv 5x5x64 + relu + 2x2
max pool, dense 1024 + relu, dense 10, softmax cross-entropy, SAME padding,
``tf.train.GradientDescentOptimizer(0.01).minimize(loss)``.  The time is
dominated by the second convolution and its gradients, i.e. by how well
conv2d and its backward ops map onto BLAS.  GFLOP/s counts conv and matmul
FLOPs only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bench import nets_numba, nets_numpy
from bench.harness import Built, Case, Context, run_case
from bench.workloads.common import (
    graph_impls,
    graph_spec,
    simple_impl,
    training_check,
    training_probe,
)
from bench.workloads.w4_mlp import (
    jax_trainer,
    make_optimizer,
    pytensor_log_softmax,
    pytensor_trainer,
    softmax_xent,
)

ID = "W6"
TITLE = "conv net training step"
BATCH = 64
LR = 0.01
PROBE_STEPS = 3


def build_convnet(tf: Any, params: list[np.ndarray]) -> dict[str, Any]:
    """TF1-style conv net training graph; fetch is ``[loss, train_op]``."""
    x = tf.placeholder(tf.float32, [None, 28, 28, 1], name="x")
    y = tf.placeholder(tf.float32, [None, 10], name="y")
    w1, b1, w2, b2, w3, b3, w4, b4 = (tf.Variable(p) for p in params)
    one, two = [1, 1, 1, 1], [1, 2, 2, 1]
    h1 = tf.nn.relu(tf.nn.conv2d(x, w1, strides=one, padding="SAME") + b1)
    p1 = tf.nn.max_pool(h1, ksize=two, strides=two, padding="SAME")
    h2 = tf.nn.relu(tf.nn.conv2d(p1, w2, strides=one, padding="SAME") + b2)
    p2 = tf.nn.max_pool(h2, ksize=two, strides=two, padding="SAME")
    flat = tf.reshape(p2, [-1, 7 * 7 * 64])
    h3 = tf.nn.relu(tf.matmul(flat, w3) + b3)
    logits = tf.matmul(h3, w4) + b4
    loss = tf.reduce_mean(softmax_xent(tf, y, logits))
    train_op = make_optimizer(tf, "sgd", LR).minimize(loss)
    return graph_spec(
        [x, y],
        [loss, train_op],
        tf.global_variables_initializer(),
        [w1, b1, w2, b2, w3, b3, w4, b4],
    )


def _numpy_built(params: list[np.ndarray], x: Any, y: Any) -> Built:
    tr = nets_numpy.Trainer(nets_numpy.conv_loss_grads, params, "sgd", LR)

    def fn() -> float:
        return tr.step(x, y)

    return Built(fn=fn, probe=training_probe(fn, lambda: tr.params, PROBE_STEPS))


def _numba_built(params: list[np.ndarray], x: Any, y: Any) -> Built:
    p = [q.copy() for q in params]
    lr = np.float32(LR)

    def fn() -> float:
        return nets_numba.conv_sgd_step(x, y, *p, lr)

    return Built(fn=fn, probe=training_probe(fn, lambda: p, PROBE_STEPS))


def _jax_built(ctx: Context, params: list[np.ndarray], x: Any, y: Any) -> Built:
    jax = ctx.peers.module("jax")
    jnp, lax = jax.numpy, jax.lax
    dn = ("NHWC", "HWIO", "NHWC")

    def block(h: Any, w: Any, b: Any) -> Any:
        h = jax.nn.relu(lax.conv_general_dilated(h, w, (1, 1), "SAME", dimension_numbers=dn) + b)
        return lax.reduce_window(h, -jnp.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")

    def loss_fn(p: Any, x: Any, y: Any) -> Any:
        w1, b1, w2, b2, w3, b3, w4, b4 = p
        h = block(block(x, w1, b1), w2, b2).reshape(x.shape[0], -1)
        logits = jax.nn.relu(h @ w3 + b3) @ w4 + b4
        return -jnp.mean(jnp.sum(y * jax.nn.log_softmax(logits), axis=1))

    return jax_trainer(jax, loss_fn, params, "sgd", LR, x, y, PROBE_STEPS)


def _pytensor_built(ctx: Context, params: list[np.ndarray], x: Any, y: Any) -> Built:
    pytensor = ctx.peers.module("pytensor")
    pt = pytensor.tensor
    from pytensor.tensor.conv import conv2d

    xv = pt.tensor4("x", dtype="float32")
    yv = pt.matrix("y", dtype="float32")
    sh = [pytensor.shared(q.copy()) for q in params]
    w1, b1, w2, b2, w3, b3, w4, b4 = sh

    def block(h: Any, w: Any, b: Any, size: int) -> Any:  # NCHW in, NCHW out
        c = conv2d(h, w.dimshuffle(3, 2, 0, 1), border_mode="half", filter_flip=False)
        r = pt.maximum(c + b.dimshuffle("x", 0, "x", "x"), 0)
        return r.reshape((r.shape[0], r.shape[1], size // 2, 2, size // 2, 2)).max(axis=(3, 5))

    h = block(block(xv.dimshuffle(0, 3, 1, 2), w1, b1, 28), w2, b2, 14)
    flat = h.dimshuffle(0, 2, 3, 1).reshape((h.shape[0], 7 * 7 * 64))
    logits = pt.dot(pt.maximum(pt.dot(flat, w3) + b3, 0), w4) + b4
    loss = -pt.mean(pt.sum(yv * pytensor_log_softmax(pt, logits), axis=1))
    return pytensor_trainer(pytensor, loss, sh, [xv, yv], "sgd", LR, x, y, PROBE_STEPS)


def _case(ctx: Context) -> Case:
    params = nets_numpy.conv_init(0)
    x, y = nets_numpy.batch(5, (BATCH, 28, 28, 1))
    losses, ref_params = nets_numpy.reference(
        nets_numpy.conv_loss_grads, params, "sgd", LR, x, y, PROBE_STEPS
    )
    impls = graph_impls(ctx, lambda tf: build_convnet(tf, params), [x, y], probe_steps=PROBE_STEPS)
    impls += simple_impl(ctx, "numpy", "eager (im2col)", lambda: _numpy_built(params, x, y))
    impls += simple_impl(ctx, "numba", "fused step", lambda: _numba_built(params, x, y))
    impls += simple_impl(ctx, "jax", "jit", lambda: _jax_built(ctx, params, x, y))
    impls += simple_impl(
        ctx, "pytensor", "function(NUMBA)", lambda: _pytensor_built(ctx, params, x, y)
    )
    return Case(
        ID,
        f"SGD step, batch {BATCH}",
        impls,
        training_check(losses, ref_params),
        work=nets_numpy.conv_flops(BATCH),
        unit="GFLOP/s",
    )


def run(ctx: Context) -> list[dict[str, Any]]:
    """Run the conv net case and return its rows."""
    return run_case(_case(ctx), ctx)
