"""TF behaviours found by the differential suite (tests/diff), pinned without TensorFlow.

Each expected value / exception class here was checked against TF 2.21 (CPU, graph mode).
"""

from __future__ import annotations

import numpy as np
import pytest

import graphjit.compat.v1 as tf
from graphjit.errors import InvalidArgumentError, UnimplementedError

NAN, INF = np.nan, np.inf
F32_LOW = np.finfo(np.float32).min


def test_argmax_and_argmin_skip_nan(sess):
    x = tf.constant([[1.0, NAN, 3.0], [NAN, NAN, NAN], [NAN, -INF, 2.0]])
    amax, amin = sess.run([tf.argmax(x, 1), tf.argmin(x, 1)])
    assert amax.tolist() == [2, 0, 2]
    assert amin.tolist() == [0, 0, 1]


def test_softmax_float32_nan_rows_follow_onednn(sess):
    x = tf.constant([[INF, 0.0, -INF], [NAN, 0.0, 1.0], [1.0, 2.0, 3.0]])
    out = sess.run(tf.nn.softmax(x))
    np.testing.assert_array_equal(out[0], [NAN, 0.0, 0.0])
    np.testing.assert_array_equal(out[1], [NAN, 0.0, 0.0])
    np.testing.assert_allclose(out[2], [0.09003057, 0.24472848, 0.6652409], rtol=1e-6)
    assert np.isnan(sess.run(tf.nn.softmax(tf.constant([INF, 0.0], tf.float64)))).all()


def test_max_pool_ignores_nan_and_starts_at_lowest(sess):
    x = tf.constant(np.array([NAN, 1, 2, 3, NAN, NAN, -INF, NAN], np.float32).reshape(2, 2, 2, 1))
    out = sess.run(tf.nn.max_pool(x, [1, 2, 2, 1], [1, 1, 1, 1], "VALID"))
    np.testing.assert_array_equal(out.ravel(), [3.0, F32_LOW])


def test_leaky_relu_alpha_is_float32_and_ints_become_float32(sess):
    d = sess.run(tf.nn.leaky_relu(tf.constant([-1.0], tf.float64)))
    assert d[0] == -float(np.float32(0.2))
    i = tf.nn.leaky_relu(tf.constant([-5, 5]))
    assert i.dtype == tf.float32
    np.testing.assert_array_equal(sess.run(i), np.array([-1.0, 5.0], np.float32))


def test_erf_float64_is_nan_where_x_squared_overflows(sess):
    out = sess.run(tf.math.erf(tf.constant([-INF, INF, 1e300, 1e150, 0.0], tf.float64)))
    np.testing.assert_array_equal(out, [NAN, NAN, NAN, 1.0, 0.0])


def test_top_k_returns_the_topkv2_namedtuple(sess):
    r = tf.nn.top_k(tf.constant([1.0, 3.0, 2.0]), k=2)
    assert type(r).__name__ == "TopKV2" and r._fields == ("values", "indices")
    v = sess.run(r)
    assert type(v).__name__ == "TopKV2"
    assert v.values.tolist() == [3.0, 2.0] and v.indices.tolist() == [1, 2]


def test_unsorted_segment_max_fills_empty_segments_with_lowest(sess):
    out = sess.run(tf.unsorted_segment_max(tf.constant([1.0, 2.0]), [0, 0], 2))
    np.testing.assert_array_equal(out, np.array([2.0, F32_LOW], np.float32))


def test_boolean_mask_with_a_matrix_mask(sess):
    x = tf.constant(np.arange(8.0, dtype=np.float32).reshape(2, 4))
    m = [[True, False, True, False], [False, False, True, True]]
    y = tf.boolean_mask(x, m)
    assert y.shape.as_list() == [None]
    assert sess.run(y).tolist() == [0.0, 2.0, 6.0, 7.0]
    with pytest.raises(ValueError):
        tf.boolean_mask(x, True)


@pytest.mark.parametrize(
    "build",
    [
        lambda: tf.add_n([tf.zeros([2, 4]), tf.zeros([4])]),
        lambda: tf.fill([-1, 2], 1.0),
        lambda: tf.range(0, 3, -1),
        lambda: tf.reverse(tf.zeros([2, 3, 4]), [3]),
        lambda: tf.reverse(tf.zeros([2, 3]), [0, 0]),
        lambda: tf.unstack(tf.constant(1.0)),
        lambda: tf.where(
            tf.constant([True, False, True, True]), tf.zeros([2, 4]), tf.ones([2, 4])
        ),
        lambda: tf.transpose(tf.zeros([2, 3, 4]), [0, 1, 5]),
        lambda: tf.slice(tf.zeros([2, 3]), [3, 0], [-1, 1]),
    ],
    ids=["add_n", "fill", "range", "reverse", "reverse-dup", "unstack", "select", "perm", "slice"],
)
def test_shape_function_errors_are_raised_at_build(graph, build):
    with pytest.raises(ValueError):
        build()


@pytest.mark.parametrize(
    "build",
    [
        lambda: tf.cumsum(tf.zeros([2, 3]), axis=2),
        lambda: tf.cumprod(tf.constant(1.0), axis=0),
        lambda: tf.invert_permutation([2, 2, 0]),
        lambda: tf.pad(tf.zeros([2, 3]), [[0, 0], [3, 0]], "REFLECT"),
        lambda: tf.pad(tf.zeros([2, 3]), [[0, 0], [4, 0]], "SYMMETRIC"),
        lambda: tf.realdiv(tf.constant([1, 2]), tf.constant([2, 2])),
        lambda: tf.reshape(tf.zeros([2, 3, 4]), [-1, -1]),
        lambda: tf.slice(tf.zeros([2, 3, 4]), [1, 0, 1], [2, 1, 1]),
        lambda: tf.transpose(tf.zeros([2, 3, 4]), [0, 0, 1]),
        lambda: tf.where(tf.constant(True)),
    ],
    ids="cumsum cumprod invperm reflect symmetric realdiv reshape slice perm where".split(),
)
def test_kernel_errors_are_raised_at_run(sess, build):
    t = build()  # TF's shape functions accept these; its kernels reject them
    with pytest.raises(InvalidArgumentError):
        sess.run(t)


def test_mirror_pad_edge_sizes_are_accepted(sess):
    x = tf.zeros([2, 3])
    assert sess.run(tf.pad(x, [[0, 0], [2, 0]], "REFLECT")).shape == (2, 5)
    assert sess.run(tf.pad(x, [[0, 0], [3, 0]], "SYMMETRIC")).shape == (2, 6)


def test_cast_string_to_number_is_unimplemented(sess):
    with pytest.raises(UnimplementedError):
        sess.run(tf.cast(tf.constant(["1"]), tf.float32))


def test_slice_gradient_keeps_the_static_shape(graph):
    x = tf.placeholder(tf.float32, [2, 3, 4])
    (g,) = tf.gradients(tf.reduce_sum(tf.slice(x, [0, 1, 1], [2, -1, 2])), [x])
    assert g.shape.as_list() == [2, 3, 4]
