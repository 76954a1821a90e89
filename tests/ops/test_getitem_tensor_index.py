"""``tensor[i]`` with scalar int32/int64 tensor indices (TF's ``_slice_helper`` packs them)."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit.compat.v1 as tf
from graphjit.errors import InvalidArgumentError

X = np.arange(12, dtype=np.float32).reshape(3, 4)


@pytest.mark.parametrize(
    ("index", "value", "expect"),
    [
        (lambda x, i: x[i], 1, X[1]),
        (lambda x, i: x[i], -1, X[-1]),
        (lambda x, i: x[i, 2], 2, X[2, 2]),
        (lambda x, i: x[:, i], 3, X[:, 3]),
        (lambda x, i: x[i:], 1, X[1:]),
        (lambda x, i: x[:, :i], 2, X[:, :2]),
        (lambda x, i: x[::2, i], 0, X[::2, 0]),
    ],
)
@pytest.mark.parametrize("dtype", [tf.int32, tf.int64])
def test_scalar_tensor_index_selects_like_numpy(index, value, expect, dtype):
    g = tf.Graph()
    with g.as_default():
        x = tf.constant(X)
        i = tf.placeholder(dtype, [])
        y = index(x, i)
    with tf.Session(graph=g) as sess:
        np.testing.assert_array_equal(sess.run(y, {i: value}), expect)


def test_tensor_index_out_of_range_raises_invalid_argument():
    g = tf.Graph()
    with g.as_default():
        i = tf.placeholder(tf.int32, [])
        y = tf.constant(X)[i]
    with tf.Session(graph=g) as sess, pytest.raises(InvalidArgumentError):
        sess.run(y, {i: 5})


def test_gradient_flows_through_a_tensor_index():
    g = tf.Graph()
    with g.as_default():
        x = tf.constant(X)
        i = tf.placeholder(tf.int32, [])
        (grad,) = tf.gradients(tf.reduce_sum(x[i] * 2.0), [x])
    with tf.Session(graph=g) as sess:
        want = np.zeros_like(X)
        want[2] = 2.0
        np.testing.assert_array_equal(sess.run(grad, {i: 2}), want)


def test_non_scalar_or_float_tensor_index_is_a_type_error():
    x = tf.constant(X)
    with pytest.raises(TypeError, match="scalar int32/int64 tensors"):
        x[tf.constant([0, 1])]
    with pytest.raises(TypeError, match="scalar int32/int64 tensors"):
        x[tf.constant(1.0)]
