"""get_variable / variable_scope sharing rules, initializers and schedules."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit.compat.v1 as tf


def test_get_variable_names_ignore_name_scopes_and_reuse_shares():
    with tf.Graph().as_default():
        with tf.name_scope("outer"), tf.variable_scope("layer"):
            w = tf.get_variable("w", [2, 3])
        with tf.variable_scope("layer", reuse=True):
            assert tf.get_variable("w") is w
            assert tf.get_variable_scope().reuse is True
        with tf.variable_scope("layer", reuse=tf.AUTO_REUSE):
            assert tf.get_variable("w", [2, 3]) is w
            assert tf.get_variable("new", [1]).name == "layer/new:0"
        assert w.name == "layer/w:0"
        assert w in tf.trainable_variables()


def test_sharing_errors_match_tf_messages():
    with tf.Graph().as_default():
        with tf.variable_scope("s"):
            tf.get_variable("w", [2])
            with pytest.raises(ValueError, match="Variable s/w already exists, disallowed"):
                tf.get_variable("w", [2])
        with tf.variable_scope("s", reuse=True):
            with pytest.raises(ValueError, match="Variable s/v does not exist"):
                tf.get_variable("v", [2])
            with pytest.raises(ValueError, match="Trying to share variable s/w"):
                tf.get_variable("w", [3])
        with pytest.raises(ValueError, match="must be fully defined"):
            tf.get_variable("nos")


def test_default_name_scopes_are_uniquified_and_reuse_is_inherited():
    with tf.Graph().as_default():
        with tf.variable_scope(None, default_name="dense"):
            a = tf.get_variable("k", [1])
        with tf.variable_scope(None, default_name="dense"):
            b = tf.get_variable("k", [1])
        assert (a.name, b.name) == ("dense/k:0", "dense_1/k:0")
        with tf.variable_scope("dense", reuse=True):
            with tf.variable_scope("inner", reuse=False):
                assert tf.get_variable_scope().reuse is True


def test_scope_initializer_regularizer_and_dtype_defaults():
    with tf.Graph().as_default():
        reg = lambda v: tf.reduce_sum(tf.square(v))  # noqa: E731
        with tf.variable_scope("s", initializer=tf.constant_initializer(2.0), regularizer=reg):
            w = tf.get_variable("w", [2])
            i = tf.get_variable("i", [2], dtype=tf.int32, initializer=tf.zeros_initializer())
        loss, _ = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)  # both variables
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            np.testing.assert_array_equal(sess.run(w), [2.0, 2.0])
            assert sess.run(i).dtype == np.int32
            assert sess.run(loss) == 8.0


def test_random_initializers_have_tf_statistics():
    with tf.Graph().as_default():
        tf.set_random_seed(1)
        g = tf.get_variable("g", [100, 200], initializer=tf.glorot_uniform_initializer())
        n = tf.get_variable("n", [20000], initializer=tf.random_normal_initializer(1.0, 2.0))
        t = tf.get_variable("t", [20000], initializer=tf.truncated_normal_initializer(0.0, 1.0))
        v = tf.get_variable(
            "v", [400, 100], initializer=tf.variance_scaling_initializer(2.0, "fan_in", "uniform")
        )
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            gv, nv, tv, vv = sess.run([g, n, t, v])
    limit = np.sqrt(6.0 / 300)
    assert np.abs(gv).max() <= limit and np.abs(gv).max() > 0.95 * limit
    assert abs(nv.mean() - 1.0) < 0.1 and abs(nv.std() - 2.0) < 0.1
    assert np.abs(tv).max() <= 2.0
    assert np.abs(vv).max() <= np.sqrt(3 * 2.0 / 400)


def test_schedules_follow_tf_formulas():
    with tf.Graph().as_default():
        step = tf.placeholder(tf.int64, [])
        exp = tf.train.exponential_decay(0.1, step, 10, 0.5)
        stair = tf.train.exponential_decay(0.1, step, 10, 0.5, staircase=True)
        pw = tf.train.piecewise_constant(step, [10, 20], [1.0, 0.5, 0.1])
        poly = tf.train.polynomial_decay(1.0, step, 10, end_learning_rate=0.1, power=2.0)
        cyc = tf.train.polynomial_decay(1.0, step, 10, end_learning_rate=0.0, cycle=True)
        with tf.Session() as sess:
            f = sess.make_callable([exp, stair, pw, poly, cyc], [step])
            for s in (0, 5, 10, 15, 20, 25):
                e, st, p, po, c = f(s)
                np.testing.assert_allclose(e, 0.1 * 0.5 ** (s / 10), rtol=1e-6)
                np.testing.assert_allclose(st, 0.1 * 0.5 ** (s // 10), rtol=1e-6)
                assert p == np.float32(1.0 if s <= 10 else 0.5 if s <= 20 else 0.1)
                sc = min(s, 10)
                np.testing.assert_allclose(po, 0.9 * (1 - sc / 10) ** 2 + 0.1, rtol=1e-6)
                steps = 10 * max(1, int(np.ceil(s / 10)))
                np.testing.assert_allclose(c, 1 - s / steps, rtol=1e-6, atol=1e-7)
