"""W4: MLP 784-256-10 training step, batch 64, relu + softmax cross-entropy.

Graph peers build the model once with ``tf.Variable``, ``tf.nn.relu``,
``tf.nn.softmax_cross_entropy_with_logits_v2`` and
``tf.train.GradientDescentOptimizer(0.1)`` / ``tf.train.AdamOptimizer(1e-3)``
``.minimize(loss)`` and time ``make_callable([loss, train_op], [x, y])``.
Every peer must reproduce three steps of a float64 numpy reference (losses
and updated weights) before it is timed.  GFLOP/s counts the matmuls only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.harness import Built, Case, Context, run_case
from bench.workloads.common import (
    graph_impls,
    graph_spec,
    simple_impl,
    training_check,
    training_probe,
)

ID = "W4"
TITLE = "MLP 784-256-10 training step"
BATCH = 64
LR = {"sgd": 0.1, "adam": 1e-3}
PROBE_STEPS = 3


def softmax_xent(tf: Any, labels: Any, logits: Any) -> Any:
    """Per-example softmax cross-entropy, using the ``_v2`` op when available."""
    fn = getattr(tf.nn, "softmax_cross_entropy_with_logits_v2", None)
    if fn is None:
        fn = tf.nn.softmax_cross_entropy_with_logits
    return fn(labels=labels, logits=logits)


def make_optimizer(tf: Any, optimizer: str, lr: float) -> Any:
    """``GradientDescentOptimizer`` or ``AdamOptimizer`` of a TF1-style module."""
    if optimizer == "sgd":
        return tf.train.GradientDescentOptimizer(lr)
    return tf.train.AdamOptimizer(lr)


def build_mlp(tf: Any, params: list[np.ndarray], optimizer: str) -> dict[str, Any]:
    """TF1-style MLP training graph; fetch is ``[loss, train_op]``."""
    x = tf.placeholder(tf.float32, [None, 784], name="x")
    y = tf.placeholder(tf.float32, [None, 10], name="y")
    w1, b1, w2, b2 = (tf.Variable(p) for p in params)
    h = tf.nn.relu(tf.matmul(x, w1) + b1)
    logits = tf.matmul(h, w2) + b2
    loss = tf.reduce_mean(softmax_xent(tf, y, logits))
    train_op = make_optimizer(tf, optimizer, LR[optimizer]).minimize(loss)
    return graph_spec(
        [x, y], [loss, train_op], tf.global_variables_initializer(), [w1, b1, w2, b2]
    )


def _numpy_built(params: list[np.ndarray], optimizer: str, x: Any, y: Any) -> Built:
    from bench import nets_numpy

    tr = nets_numpy.Trainer(nets_numpy.mlp_loss_grads, params, optimizer, LR[optimizer])

    def fn() -> float:
        return tr.step(x, y)

    return Built(fn=fn, probe=training_probe(fn, lambda: tr.params, PROBE_STEPS))


def _numba_built(params: list[np.ndarray], optimizer: str, x: Any, y: Any) -> Built:
    from bench import nets_numba  # (imported here: W5's start-up child imports this module)

    p = [q.copy() for q in params]
    lr = np.float32(LR[optimizer])
    if optimizer == "sgd":

        def fn() -> float:
            return nets_numba.mlp_sgd_step(x, y, *p, lr)
    else:
        ms = tuple(np.zeros_like(q) for q in p)
        vs = tuple(np.zeros_like(q) for q in p)
        t = np.zeros(1, np.int64)

        def fn() -> float:
            return nets_numba.mlp_adam_step(x, y, *p, ms, vs, t, LR["adam"], 0.9, 0.999, 1e-8)

    return Built(fn=fn, probe=training_probe(fn, lambda: p, PROBE_STEPS))


def _jax_built(ctx: Context, params: list[np.ndarray], optimizer: str, x: Any, y: Any) -> Built:
    jax = ctx.peers.module("jax")
    jnp = jax.numpy

    def loss_fn(p: Any, x: Any, y: Any) -> Any:
        w1, b1, w2, b2 = p
        h = jax.nn.relu(x @ w1 + b1)
        logits = h @ w2 + b2
        return -jnp.mean(jnp.sum(y * jax.nn.log_softmax(logits), axis=1))

    return jax_trainer(jax, loss_fn, params, optimizer, LR[optimizer], x, y, PROBE_STEPS)


def jax_trainer(
    jax: Any,
    loss_fn: Any,
    params: list[np.ndarray],
    optimizer: str,
    lr: float,
    x: Any,
    y: Any,
    probe_steps: int,
) -> Built:
    """A jitted JAX SGD/Adam (TF1 formulas) training step as a :class:`Built`."""
    jnp = jax.numpy
    grad = jax.value_and_grad(loss_fn)

    @jax.jit
    def sgd(p: Any, x: Any, y: Any) -> Any:
        loss, g = grad(p, x, y)
        return loss, [pi - lr * gi for pi, gi in zip(p, g)]

    @jax.jit
    def adam(p: Any, m: Any, v: Any, t: Any, x: Any, y: Any) -> Any:
        loss, g = grad(p, x, y)
        t = t + 1
        lr_t = lr * jnp.sqrt(1 - 0.999**t) / (1 - 0.9**t)
        m = [0.9 * mi + 0.1 * gi for mi, gi in zip(m, g)]
        v = [0.999 * vi + 0.001 * gi * gi for vi, gi in zip(v, g)]
        p = [pi - lr_t * mi / (jnp.sqrt(vi) + 1e-8) for pi, mi, vi in zip(p, m, v)]
        return loss, p, m, v, t

    state: dict[str, Any] = {"p": [jnp.asarray(q) for q in params]}
    state["m"] = [jnp.zeros_like(q) for q in state["p"]]
    state["v"] = [jnp.zeros_like(q) for q in state["p"]]
    state["t"] = jnp.asarray(0.0, jnp.float32)

    def fn() -> Any:
        if optimizer == "sgd":
            loss, state["p"] = sgd(state["p"], x, y)
        else:
            loss, state["p"], state["m"], state["v"], state["t"] = adam(
                state["p"], state["m"], state["v"], state["t"], x, y
            )
        return loss.block_until_ready()

    return Built(fn=fn, probe=training_probe(fn, lambda: state["p"], probe_steps))


def _pytensor_built(
    ctx: Context, params: list[np.ndarray], optimizer: str, x: Any, y: Any
) -> Built:
    pytensor = ctx.peers.module("pytensor")
    pt = pytensor.tensor
    xv, yv = pt.matrix("x", dtype="float32"), pt.matrix("y", dtype="float32")
    sh = [pytensor.shared(q.copy()) for q in params]
    w1, b1, w2, b2 = sh
    h = pt.maximum(pt.dot(xv, w1) + b1, 0)
    logits = pt.dot(h, w2) + b2
    logp = pytensor_log_softmax(pt, logits)
    loss = -pt.mean(pt.sum(yv * logp, axis=1))
    return pytensor_trainer(
        pytensor, loss, sh, [xv, yv], optimizer, LR[optimizer], x, y, PROBE_STEPS
    )


def pytensor_log_softmax(pt: Any, logits: Any) -> Any:
    """Row log-softmax built from PyTensor primitives."""
    m = pt.max(logits, axis=1, keepdims=True)
    return logits - m - pt.log(pt.sum(pt.exp(logits - m), axis=1, keepdims=True))


def pytensor_trainer(
    pytensor: Any,
    loss: Any,
    shared: list[Any],
    inputs: list[Any],
    optimizer: str,
    lr: float,
    x: Any,
    y: Any,
    probe_steps: int,
) -> Built:
    """A PyTensor (NUMBA mode) SGD/Adam training function as a :class:`Built`."""
    pt = pytensor.tensor
    grads = pytensor.grad(loss, shared)
    f32 = np.float32
    if optimizer == "sgd":
        updates = [(p, p - f32(lr) * g) for p, g in zip(shared, grads)]
    else:
        t = pytensor.shared(f32(0.0))
        t1 = t + f32(1.0)
        lr_t = f32(lr) * pt.sqrt(f32(1) - f32(0.999) ** t1) / (f32(1) - f32(0.9) ** t1)
        updates = [(t, t1)]
        for p, g in zip(shared, grads):
            m = pytensor.shared(np.zeros_like(p.get_value()))
            v = pytensor.shared(np.zeros_like(p.get_value()))
            m1 = f32(0.9) * m + f32(0.1) * g
            v1 = f32(0.999) * v + f32(0.001) * g * g
            updates += [(m, m1), (v, v1), (p, p - lr_t * m1 / (pt.sqrt(v1) + f32(1e-8)))]
    f = pytensor.function(inputs, loss, updates=updates, mode="NUMBA")

    def fn() -> Any:
        return f(x, y)

    return Built(
        fn=fn, probe=training_probe(fn, lambda: [p.get_value() for p in shared], probe_steps)
    )


def _case(ctx: Context, optimizer: str) -> Case:
    from bench import nets_numpy

    params = nets_numpy.mlp_init(0)
    x, y = nets_numpy.batch(1, (BATCH, 784))
    losses, ref_params = nets_numpy.reference(
        nets_numpy.mlp_loss_grads, params, optimizer, LR[optimizer], x, y, PROBE_STEPS
    )
    impls = graph_impls(
        ctx, lambda tf: build_mlp(tf, params, optimizer), [x, y], probe_steps=PROBE_STEPS
    )
    impls += simple_impl(ctx, "numpy", "eager", lambda: _numpy_built(params, optimizer, x, y))
    impls += simple_impl(ctx, "numba", "fused step", lambda: _numba_built(params, optimizer, x, y))
    impls += simple_impl(ctx, "jax", "jit", lambda: _jax_built(ctx, params, optimizer, x, y))
    impls += simple_impl(
        ctx, "pytensor", "function(NUMBA)", lambda: _pytensor_built(ctx, params, optimizer, x, y)
    )
    label = f"{optimizer.upper() if optimizer == 'sgd' else 'Adam'} step, batch {BATCH}"
    return Case(
        ID,
        label,
        impls,
        training_check(losses, ref_params),
        work=nets_numpy.mlp_flops(BATCH),
        unit="GFLOP/s",
    )


def run(ctx: Context) -> list[dict[str, Any]]:
    """Run the SGD and Adam cases and return their rows."""
    return run_case(_case(ctx, "sgd"), ctx) + run_case(_case(ctx, "adam"), ctx)
