"""SparseTensor fetch and feed, sparse_placeholder (section 8)."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit.compat.v1 as tf


def _value():
    return tf.SparseTensorValue(
        np.array([[0, 0], [1, 2]], dtype=np.int64),
        np.array([1.0, 2.0], dtype=np.float32),
        np.array([2, 3], dtype=np.int64),
    )


def test_sparse_tensor_value_is_namedtuple():
    v = _value()
    assert isinstance(v, tuple)
    assert v._fields == ("indices", "values", "dense_shape")


def test_fetch_sparse_tensor(graph, sess):
    st = tf.SparseTensor([[0, 1]], [5.0], [2, 2])
    out = sess.run(st)
    assert type(out) is tf.SparseTensorValue
    indices, values, shape = out
    assert indices.dtype == np.int64 and shape.dtype == np.int64
    np.testing.assert_array_equal(indices, [[0, 1]])
    np.testing.assert_array_equal(values, [5.0])
    np.testing.assert_array_equal(shape, [2, 2])


def test_fetch_sparse_nested(graph, sess):
    st = tf.SparseTensor([[0]], [1], [3])
    out = sess.run({"s": [st]})
    assert type(out["s"][0]) is tf.SparseTensorValue


def test_feed_sparse_placeholder_and_fetch_back(graph, sess):
    sp = tf.sparse_placeholder(tf.float32)
    total = tf.reduce_sum(sp.values)
    assert sess.run(total, {sp: _value()}) == 3.0
    back = sess.run(sp, {sp: _value()})
    assert type(back) is tf.SparseTensorValue
    np.testing.assert_array_equal(back.values, [1.0, 2.0])


def test_feed_sparse_as_plain_tuple(graph, sess):
    sp = tf.sparse_placeholder(tf.float32)
    assert sess.run(tf.reduce_sum(sp.values), {sp: tuple(_value())}) == 3.0


def test_feed_sparse_components_are_shape_checked(graph, sess):
    sp = tf.sparse_placeholder(tf.float32, shape=[2, 3])
    bad = tf.SparseTensorValue(np.array([0, 1]), np.array([1.0]), np.array([2, 3]))
    with pytest.raises(ValueError, match="Cannot feed value of shape"):
        sess.run(tf.reduce_sum(sp.values), {sp: bad})


def test_unfed_sparse_placeholder_names_values(graph, sess):
    sp = tf.sparse_placeholder(tf.float32, name="sp")
    with pytest.raises(tf.errors.InvalidArgumentError, match="sp/values"):
        sess.run(tf.reduce_sum(sp.values))


def test_fetch_and_feed_indexed_slices(graph, sess):
    vals = tf.placeholder(tf.float32, [None])
    idx = tf.placeholder(tf.int32, [None])
    isl = tf.IndexedSlices(vals, idx, tf.constant([4]))
    fed = (np.array([1.0, 2.0], dtype=np.float32), np.array([0, 3]), np.array([4]))
    out = sess.run(isl, {isl: fed})
    assert type(out) is tf.IndexedSlicesValue
    np.testing.assert_array_equal(out.indices, [0, 3])
    out = sess.run(isl, {vals: [1.0, 2.0], idx: [0, 3]})
    np.testing.assert_array_equal(out.dense_shape, [4])
