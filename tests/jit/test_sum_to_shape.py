"""``prepass.sum_to_shape``: a run-time unbroadcast runs as one ``SumToShape`` link.

The gradient of ``y - pred`` with both ``[None, 1]`` cannot prove at build time that the
shapes match, so TF (and graphjit's graph) sums it back with ``Shape``,
``BroadcastGradientArgs``, ``Sum`` and ``Reshape``. In a compiled chain those four ops
become one link that returns the gradient itself when the run-time shapes match.
"""

from __future__ import annotations

import numpy as np
import pytest

import graphjit
import graphjit.compat.v1 as tf
from graphjit import config
from graphjit.ops.indexing import _sum_to_kernel

MODES = {
    "interpreted": {"disable_jit": True},
    "compiled": {"compile_after": 1, "compile_mode": "sync"},
}


def _regression(seed=0):
    """A one-hidden-layer regression step: MSE of ``[None, 1]`` targets, plain SGD."""
    g = tf.Graph()
    with g.as_default():
        tf.set_random_seed(seed)
        x = tf.placeholder(tf.float32, [None, 3])
        y = tf.placeholder(tf.float32, [None, 1])
        w = tf.Variable(tf.random_normal([3, 4], seed=1))
        w2 = tf.Variable(tf.random_normal([4, 1], seed=2))
        pred = tf.matmul(tf.nn.relu(tf.matmul(x, w)), w2)
        loss = tf.reduce_mean(tf.square(y - pred))
        train = tf.train.GradientDescentOptimizer(0.05).minimize(loss)
        init = tf.global_variables_initializer()
    return g, x, y, loss, train, init, [w, w2]


def _train(mode, xs, ys):
    g, x, y, loss, train, init, params = _regression()
    with config.override(**MODES[mode]), tf.Session(graph=g) as sess:
        sess.run(init)
        step = sess.make_callable([loss, train], [x, y])
        losses = [step(xv, yv)[0] for xv, yv in zip(xs, ys)]
        return losses, sess.run(params)


def test_unbroadcast_of_unknown_batch_dims_is_one_link():
    g, x, y, loss, train, init, _ = _regression()
    with config.override(**MODES["compiled"]), tf.Session(graph=g) as sess:
        sess.run(init)
        info = graphjit.inspect_chain(sess, [loss, train], [x, y])
    types = [t for _, t, _ in info["links"]]
    assert "SumToShape" in types
    assert not {"BroadcastGradientArgs", "Sum"} & set(types), types
    # named by the op whose value it computes (the Reshape at the end of the pattern)
    name = next(n for n, t, _ in info["links"] if t == "SumToShape")
    assert name.endswith("Reshape_1") and name in info["fallback"]


def test_compiled_training_equals_interpreted_with_varying_batches():
    rng = np.random.default_rng(3)
    batches = [5, 5, 2, 7]
    xs = [rng.standard_normal((n, 3)).astype(np.float32) for n in batches]
    ys = [rng.standard_normal((n, 1)).astype(np.float32) for n in batches]
    want_losses, want_params = _train("interpreted", xs, ys)
    got_losses, got_params = _train("compiled", xs, ys)
    np.testing.assert_allclose(got_losses, want_losses, rtol=1e-5)
    for got, want in zip(got_params, want_params):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mode", sorted(MODES))
def test_sums_over_the_axes_the_operand_was_stretched_along(mode):
    # x [None, 1] against y [None, 3]: x's gradient must be summed over axis 1 at run time
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [None, 1])
        y = tf.placeholder(tf.float32, [None, None])
        (gx,) = tf.gradients(tf.reduce_sum((x * y) * y), [x])
    xv = np.arange(2, dtype=np.float32).reshape(2, 1) + 1
    yv = np.arange(6, dtype=np.float32).reshape(2, 3)
    with config.override(**MODES[mode]), tf.Session(graph=g) as sess:
        for _ in range(2):
            got = sess.run(gx, {x: xv, y: yv})
    np.testing.assert_allclose(got, (yv * yv).sum(1, keepdims=True))


def test_kernel_returns_the_gradient_itself_when_shapes_match():
    g = np.ones((4, 1), np.float32)
    assert _sum_to_kernel(g, np.zeros((4, 1), np.float32)) is g
    out = _sum_to_kernel(np.ones((2, 4, 3), np.float32), np.zeros((4, 1), np.float32))
    np.testing.assert_array_equal(out, np.full((4, 1), 6, np.float32))


def test_kernel_raises_tf_error_for_incompatible_shapes():
    with pytest.raises(tf.errors.InvalidArgumentError, match="Incompatible shapes"):
        _sum_to_kernel(np.ones((2, 4), np.float32), np.zeros((3,), np.float32))
