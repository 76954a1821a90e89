"""The reference interpreter: values, aliasing rules and staged state."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit.compat.v1 as tf


def test_fetched_constant_is_a_copy_the_user_may_mutate():
    g = tf.Graph()
    with g.as_default():
        c = tf.constant([1.0, 2.0])
        ident = tf.identity(c)
    with tf.Session(graph=g) as sess:
        out = sess.run(ident)
        out[0] = 100.0
        assert sess.run(c)[0] == 1.0


def test_fetched_variable_value_does_not_alias_storage():
    g = tf.Graph()
    with g.as_default():
        v = tf.Variable([1.0, 2.0])
    with tf.Session(graph=g) as sess:
        sess.run(v.initializer)
        got = sess.run(v)
        got[:] = 7.0
        np.testing.assert_array_equal(sess.run(v), [1.0, 2.0])
        view = sess.run(v.value())
        view[:] = 9.0
        np.testing.assert_array_equal(sess.run(v), [1.0, 2.0])


def test_fed_array_is_never_written():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [3])
        v = tf.Variable([0.0, 0.0, 0.0])
        up = v.assign(x)
        up2 = v.assign_add([1.0, 1.0, 1.0])
    data = np.array([1.0, 2.0, 3.0], np.float32)
    with tf.Session(graph=g) as sess:
        sess.run(up, {x: data})
        sess.run(up2)
        np.testing.assert_array_equal(data, [1.0, 2.0, 3.0])


def test_failing_run_leaves_variables_unchanged():
    g = tf.Graph()
    with g.as_default():
        v = tf.Variable(5, name="v")
        d = tf.placeholder(tf.int32, [])
        inc = v.assign_add(1)
        with tf.control_dependencies([inc]):
            bad = tf.floordiv(v.read_value(), d)
    with tf.Session(graph=g) as sess:
        sess.run(v.initializer)
        with pytest.raises(tf.errors.InvalidArgumentError, match="Integer division by zero"):
            sess.run(bad, {d: 0})
        assert sess.run(v) == 5
        assert sess.run(bad, {d: 2}) == 3
        assert sess.run(v) == 6
