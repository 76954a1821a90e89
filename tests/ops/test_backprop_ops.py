"""TensorFlow's gradient kernels as ops (``ops/backprop_ops.py``), which GraphDefs TF wrote
hold: their formulas at edge points, and ``ApplyGradientDescent``. (Compiled == interpreted
for the elementwise ones: ``tests/jit/test_ops_compiled.py``; against TF:
``tests/diff/test_diff_meta_graph.py``.)"""

from __future__ import annotations

import numpy as np
import pytest

import graphjit.compat.v1 as tf
from graphjit.ops import registry


def _k(op_type, *args, **attrs):
    return registry.get(op_type).numpy(*args, **attrs)


F = np.float32


def test_activation_gradients_at_their_edges():
    g = np.array([2.0, -3.0, 5.0, np.nan], F)
    f = np.array([0.0, -1.0, 6.0, 1.0], F)
    np.testing.assert_array_equal(_k("ReluGrad", g, f), [0.0, -0.0, 5.0, np.nan])
    assert np.signbit(_k("ReluGrad", g, f)[1])  # g * 0, as TF multiplies by the mask
    np.testing.assert_array_equal(_k("Relu6Grad", g, f), [0.0, -0.0, 0.0, np.nan])
    np.testing.assert_array_equal(_k("LeakyReluGrad", g, f, alpha=0.5), [1.0, -1.5, 5.0, np.nan])
    out = np.array([-0.5, 0.0, 2.0, 1.0], F)
    np.testing.assert_allclose(_k("EluGrad", g, out), [1.0, -3.0, 5.0, np.nan])
    np.testing.assert_allclose(
        _k("SeluGrad", g, out), [2 * (-0.5 + 1.7580993), -3 * 1.0507010, 5 * 1.0507010, np.nan],
        rtol=1e-6,
    )  # fmt: skip
    np.testing.assert_allclose(_k("SoftsignGrad", g, f), [2.0, -0.75, 5 / 49, np.nan])


def test_output_based_gradients_follow_tf_formulas():
    y = np.array([0.5, -0.25, 2.0], F)
    dy = np.array([1.0, 2.0, -1.0], F)
    cases = {
        "TanhGrad": dy * (1 - y * y),
        "SigmoidGrad": dy * y * (1 - y),
        "SqrtGrad": F(0.5) * dy / y,
        "RsqrtGrad": F(-0.5) * (dy * y) * (y * y),
        "ReciprocalGrad": -dy * y * y,
    }
    for op_type, want in cases.items():
        got = _k(op_type, y, dy)
        assert got.dtype == F
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(("fmt", "shape", "want"), [
    ("NHWC", (2, 3, 4), (4,)), ("NCHW", (2, 3, 4, 5), (3,)), ("NHWC", (5, 7), (7,)),
])  # fmt: skip
def test_bias_add_grad_sums_all_but_the_channel_axis(fmt, shape, want):
    g = np.arange(np.prod(shape), dtype=F).reshape(shape)
    axis = 1 if fmt == "NCHW" else len(shape) - 1
    got = _k("BiasAddGrad", g, data_format=fmt)
    assert got.shape == want
    np.testing.assert_array_equal(got, g.sum(axis=tuple(a for a in range(g.ndim) if a != axis)))


def test_apply_gradient_descent_updates_the_variable():
    g = tf.Graph()
    with g.as_default():
        v = tf.Variable(np.array([1.0, 2.0], F))
        d = tf.placeholder(tf.float32, [None])
        step = g.create_op("ApplyGradientDescent", [v._ref(), tf.constant(F(0.5)), d],
                           {"T": tf.float32}).outputs[0]  # fmt: skip
    with tf.Session(graph=g) as sess:
        sess.run(v.initializer)
        np.testing.assert_array_equal(sess.run(step, {d: [2.0, -2.0]}), [0.0, 3.0])
        np.testing.assert_array_equal(sess.run(v), [0.0, 3.0])
        with pytest.raises(tf.errors.InvalidArgumentError, match="same shape"):
            sess.run(step, {d: [1.0, 1.0, 1.0]})
        np.testing.assert_array_equal(sess.run(v), [0.0, 3.0])  # unchanged


def test_apply_adam_writes_var_and_slots_or_nothing():
    g = tf.Graph()
    with g.as_default():
        var = tf.Variable(np.array([1.0, 2.0], F))
        m = tf.Variable(np.zeros(2, F))
        v = tf.Variable(np.zeros(2, F))
        grad = tf.placeholder(tf.float32, [None])
        c = [
            tf.constant(F(x)) for x in (0.9, 0.999, 0.1, 0.9, 0.999, 1e-8)
        ]  # b1p b2p lr b1 b2 eps
        step = g.create_op("ApplyAdam", [var._ref(), m._ref(), v._ref(), *c, grad],
                           {"T": tf.float32}).outputs[0]  # fmt: skip
    with tf.Session(graph=g) as sess:
        sess.run([var.initializer, m.initializer, v.initializer])
        got = sess.run(step, {grad: [1.0, -1.0]})
        mv, vv = sess.run([m, v])
        np.testing.assert_allclose(mv, [0.1, -0.1], rtol=1e-6)
        np.testing.assert_allclose(vv, [0.001, 0.001], rtol=1e-4)  # (1 - 0.999) in float32
        alpha = 0.1 * np.sqrt(1 - 0.999) / (1 - 0.9)
        np.testing.assert_allclose(got, [1 - alpha * 0.1 / np.sqrt(0.001),
                                         2 + alpha * 0.1 / np.sqrt(0.001)], rtol=1e-4)  # fmt: skip
        before = sess.run([var, m, v])
        with pytest.raises(tf.errors.InvalidArgumentError, match="same shape"):
            sess.run(step, {grad: [1.0, 1.0, 1.0]})
        for a, b in zip(before, sess.run([var, m, v])):
            np.testing.assert_array_equal(a, b)
