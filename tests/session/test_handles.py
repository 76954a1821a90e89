"""Session tensor handles: get_session_handle / get_session_tensor / delete_session_tensor."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit.compat.v1 as tf
from graphjit.ops.session_ops import TensorHandle


def test_fetching_handle_gives_tensor_handle(graph, sess):
    a = tf.constant([1.0, 2.0])
    h = sess.run(tf.get_session_handle(a * 2.0))
    assert isinstance(h, TensorHandle)
    assert isinstance(h.handle, str)
    np.testing.assert_array_equal(h.eval(), [2.0, 4.0])


def test_feeding_handle_to_session_tensor_holder(graph, sess):
    h = sess.run(tf.get_session_handle(tf.constant([1.0, 2.0])))
    holder, t = tf.get_session_tensor(h.handle, tf.float32)
    np.testing.assert_array_equal(sess.run(t + 1.0, {holder: h.handle}), [2.0, 3.0])
    np.testing.assert_array_equal(sess.run(t * 2.0, {holder: h}), [2.0, 4.0])  # handle object


def test_handle_value_persists_across_runs_and_feeds_numeric_keys(graph, sess):
    x = tf.placeholder(tf.float32, [2])
    h = sess.run(tf.get_session_handle(x * 3.0), {x: [1.0, 1.0]})
    y = tf.placeholder(tf.float32, [2])
    np.testing.assert_array_equal(sess.run(y + 1.0, {y: h}), [4.0, 4.0])


def test_scalar_handle_eval_is_numpy_scalar(graph, sess):
    h = sess.run(tf.get_session_handle(tf.constant(5)))
    assert h.eval() == 5
    assert not isinstance(h.eval(), np.ndarray)


def test_delete_handle(graph, sess):
    h = sess.run(tf.get_session_handle(tf.constant(1.0)))
    h.delete()
    h.delete()  # idempotent
    with pytest.raises(tf.errors.InvalidArgumentError, match="does not exist"):
        h.eval()


def test_delete_session_tensor_op(graph, sess):
    h = sess.run(tf.get_session_handle(tf.constant(1.0)))
    holder, deleter = tf.delete_session_tensor(h.handle)
    sess.run(deleter, {holder: h.handle})
    holder2, t = tf.get_session_tensor(h.handle, tf.float32)
    with pytest.raises(tf.errors.InvalidArgumentError):
        sess.run(t, {holder2: h.handle})


def test_handles_die_with_session(graph):
    s = tf.Session()
    h = s.run(tf.get_session_handle(tf.constant(1.0)))
    s.close()
    with pytest.raises(RuntimeError, match="closed Session"):
        h.eval()


def test_failed_run_stores_no_handle(graph, sess):
    x = tf.placeholder(tf.float32, [None])
    handle = tf.get_session_handle(tf.constant(1.0))
    with tf.control_dependencies([handle]):
        bad = tf.reshape(x, [2])
    with pytest.raises(tf.errors.InvalidArgumentError):
        sess.run([handle, bad], {x: [1.0]})
    assert sess._handles == {}
