"""Gradients of broadcasting ops whose operands have unknown (``None``) dimensions.

Equal static shapes such as ``[None, 3]`` and ``[None, 3]`` do not prove equal run-time
shapes: fed ``(1, 3)`` and ``(4, 3)``, the first operand's gradient must be summed back to
``(1, 3)``. A dimension that no other operand can stretch (a bias row against a batch) needs
no run-time reduction, so training graphs keep their compact gradients.
"""

from __future__ import annotations

import numpy as np
import pytest

import graphjit.compat.v1 as tf
from graphjit import config

MODES = [
    pytest.param({"disable_jit": True}, id="interpreted"),
    pytest.param({"compile_after": 1, "compile_mode": "sync"}, id="compiled"),
]

CASES = {
    "add": (lambda x, y: x + y, lambda gx, x, y: (gx, gx)),
    "mul": (lambda x, y: x * y, lambda g, x, y: (g * y, g * x)),
    "sub": (lambda x, y: x - y, lambda g, x, y: (g, -g)),
    "maximum": (tf.maximum, lambda g, x, y: (g * (x >= y), g * (x < y))),
}


def _sum_to(g, shape):
    while g.ndim > len(shape):
        g = g.sum(0)
    axes = tuple(k for k, d in enumerate(shape) if d == 1 and g.shape[k] != 1)
    return g.sum(axes, keepdims=True) if axes else g


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize(("xs", "ys"), [((1, 3), (4, 3)), ((4, 3), (4, 1)), ((4, 3), (4, 3))])
def test_binary_gradient_sums_back_to_the_fed_shape(mode, name, xs, ys):
    fn, ref = CASES[name]
    rng = np.random.default_rng(len(xs) + ys[1])
    xv = rng.standard_normal(xs).astype(np.float32)
    yv = rng.standard_normal(ys).astype(np.float32)
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [None, None])
        y = tf.placeholder(tf.float32, [None, None])
        z = fn(x, y)
        w = tf.placeholder(tf.float32, [None, None])
        grads = tf.gradients(tf.reduce_sum(z * w), [x, y])
    wv = rng.standard_normal(np.broadcast_shapes(xs, ys)).astype(np.float32)
    with config.override(**mode), tf.Session(graph=g) as sess:
        for _ in range(2):
            gx, gy = sess.run(grads, {x: xv, y: yv, w: wv})
    bx, by = np.broadcast_arrays(xv, yv)
    want_x, want_y = ref(wv, bx, by)
    np.testing.assert_allclose(gx, _sum_to(np.asarray(want_x, np.float32), xs), rtol=1e-5)
    np.testing.assert_allclose(gy, _sum_to(np.asarray(want_y, np.float32), ys), rtol=1e-5)


def test_batched_matmul_gradient_sums_broadcast_batch_dims():
    rng = np.random.default_rng(3)
    av = rng.standard_normal((1, 2, 3)).astype(np.float32)
    bv = rng.standard_normal((4, 3, 2)).astype(np.float32)
    g = tf.Graph()
    with g.as_default():
        a = tf.placeholder(tf.float32, [None, 2, 3])
        b = tf.placeholder(tf.float32, [None, 3, 2])
        ga, gb = tf.gradients(tf.reduce_sum(tf.matmul(a, b)), [a, b])
    with tf.Session(graph=g) as sess:
        got_a, got_b = sess.run([ga, gb], {a: av, b: bv})
    ones = np.ones((4, 2, 2), np.float32)
    np.testing.assert_allclose(got_a, (ones @ bv.transpose(0, 2, 1)).sum(0, keepdims=True), 1e-5)
    np.testing.assert_allclose(got_b, np.broadcast_to(av, (4, 2, 3)).transpose(0, 2, 1) @ ones)


def test_bias_gradient_against_an_unknown_batch_needs_no_shape_ops():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [None, 4])
        b = tf.Variable(np.zeros(4, np.float32))
        gx, gb = tf.gradients(tf.reduce_sum(tf.nn.relu(x + b)), [x, b])
    types = {op.type for op in g.get_operations() if op.name.startswith("gradients/add")}
    assert not types & {"Shape", "BroadcastGradientArgs", "Reshape"}, types
