"""run(): feed_dict keys, value conversion, shape checks, fed-value return (section 4)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import graphjit.compat.v1 as tf


def test_feed_dict_none_or_empty(graph, sess):
    c = tf.constant(1.0)
    assert sess.run(c, None) == 1.0
    assert sess.run(c, {}) == 1.0
    assert sess.run(c, []) == 1.0  # falsy non-mappings are treated as "no feeds"


def test_feed_dict_list_of_pairs_raises_type_error(graph, sess):
    x = tf.placeholder(tf.float32)
    with pytest.raises(TypeError, match="FlattenDictItems: 'dict' must be a dictionary"):
        sess.run(x, [(x, 1.0)])


# ----------------------------------------------------------------------- keys
def test_key_by_tensor_name_str_and_bytes(graph, sess):
    x = tf.placeholder(tf.float32, [], name="x")
    y = x * 2.0
    assert sess.run(y, {"x:0": 2.0}) == 4.0
    assert sess.run(y, {b"x:0": 3.0}) == 6.0


def test_nested_tuple_key(graph, sess):
    a = tf.placeholder(tf.float32, [], name="a")
    b = tf.placeholder(tf.float32, [2], name="b")
    c = tf.placeholder(tf.float32, [], name="c")
    out = sess.run(a + tf.reduce_sum(b) + c, {(a, (b, c)): (1.0, (np.array([2.0, 3.0]), 4.0))})
    assert out == 10.0


@pytest.mark.parametrize(
    "key",
    [
        lambda x: x.op.name,
        lambda x: x.op,
        lambda x: 3,
        lambda x: "nope:0",
    ],
)
def test_bad_feed_key_raises_type_error(graph, sess, key):
    x = tf.placeholder(tf.float32, [], name="x")
    with pytest.raises(TypeError, match="Cannot interpret feed_dict key as Tensor"):
        sess.run(x * 1.0, {key(x): 1.0})


def test_feed_key_of_other_graph_raises_type_error(graph, sess):
    tf.constant(1.0)
    with tf.Graph().as_default():
        other = tf.placeholder(tf.float32)
    with pytest.raises(TypeError, match="Cannot interpret feed_dict key as Tensor"):
        sess.run(tf.constant(1.0), {other: 1.0})


# ----------------------------------------------------------------------- value conversion
def test_int_list_into_float_key(graph, sess):
    x = tf.placeholder(tf.float32, [2])
    np.testing.assert_array_equal(sess.run(x * 1.0, {x: [1, 2]}), [1.0, 2.0])


def test_float64_array_into_float32_key(graph, sess):
    x = tf.placeholder(tf.float32, [2])
    out = sess.run(x * 1.0, {x: np.array([1.5, 2.5])})
    assert out.dtype == np.float32


def test_float_into_int_key_truncates_toward_zero(graph, sess):
    x = tf.placeholder(tf.int32, [3])
    np.testing.assert_array_equal(sess.run(x + 0, {x: [1.7, -1.7, 2.2]}), [1, -1, 2])


def test_true_into_int32_is_one(graph, sess):
    x = tf.placeholder(tf.int32, [])
    assert sess.run(x + 0, {x: True}) == 1


@pytest.mark.parametrize(
    ("dtype", "value"),
    [
        (tf.int32, 2**40),
        (tf.uint8, -1),
        (tf.uint8, 300),
        (tf.int64, 2**70),
    ],
)
def test_python_int_overflow_raises_type_error(graph, sess, dtype, value):
    x = tf.placeholder(dtype, [])
    with pytest.raises(TypeError, match="is not compatible with Tensor type"):
        sess.run(x, {x: value})


def test_numpy_int_and_list_elements_wrap_silently(graph, sess):
    x = tf.placeholder(tf.uint8, [])
    assert int(sess.run(x + 0, {x: np.int64(300)})) == 44
    y = tf.placeholder(tf.int32, [1])
    out = sess.run(y + 0, {y: np.array([2**32 + 5], dtype=np.int64)})
    assert out.tolist() == [5]


def test_ragged_list_raises_value_error(graph, sess):
    x = tf.placeholder(tf.float32)
    with pytest.raises(ValueError):
        sess.run(x, {x: [[1.0], [1.0, 2.0]]})


def test_non_numeric_string_into_float_key_raises_value_error(graph, sess):
    x = tf.placeholder(tf.float32, [])
    with pytest.raises(ValueError):
        sess.run(x, {x: "abc"})


def test_tensor_as_feed_value_raises_type_error(graph, sess):
    x = tf.placeholder(tf.float32, [])
    with pytest.raises(TypeError, match=r"The value of a feed cannot be a tf\.Tensor object"):
        sess.run(x * 1.0, {x: tf.constant(1.0)})


def test_none_feed_is_nan_for_scalar_float_key(graph, sess):
    x = tf.placeholder(tf.float32, [])
    assert math.isnan(sess.run(x * 1.0, {x: None}))


def test_none_feed_fails_shape_check_for_non_scalar_key(graph, sess):
    x = tf.placeholder(tf.float32, [2])
    with pytest.raises(ValueError, match="Cannot feed value of shape"):
        sess.run(x, {x: None})


def test_string_key_accepts_str_and_bytes_with_nul(graph, sess):
    s = tf.placeholder(tf.string, [2])
    out = sess.run(tf.identity(s), {s: ["héllo", b"a\x00b"]})
    assert out.dtype == object
    assert out.tolist() == ["héllo".encode(), b"a\x00b"]


def test_fed_string_list_fetched_back_is_object_array_of_str(graph, sess):
    s = tf.placeholder(tf.string, [2])
    out = sess.run(s, {s: ["a", "b"]})
    assert out.dtype == object
    assert out.tolist() == ["a", "b"]
    assert all(type(x) is str for x in out)


# ----------------------------------------------------------------------- shape checks
def test_shape_mismatch_raises_value_error(graph, sess):
    x = tf.placeholder(tf.float32, [2], name="x")
    with pytest.raises(ValueError, match=r"Cannot feed value of shape \(3,\) for Tensor x:0"):
        sess.run(x, {x: [1.0, 2.0, 3.0]})


def test_scalar_for_vector_key_fails(graph, sess):
    x = tf.placeholder(tf.float32, [2])
    with pytest.raises(ValueError, match="Cannot feed value of shape"):
        sess.run(x, {x: 1.0})


def test_none_dims_and_unknown_rank_match_anything(graph, sess):
    x = tf.placeholder(tf.float32, [None, 2])
    y = tf.placeholder(tf.float32)
    assert sess.run(x, {x: np.zeros((5, 2))}).shape == (5, 2)
    assert sess.run(y, {y: np.zeros((1, 2, 3))}).shape == (1, 2, 3)


def test_zero_sized_dims_are_fine(graph, sess):
    x = tf.placeholder(tf.float32, [None, 3])
    assert sess.run(x * 2.0, {x: np.zeros((0, 3))}).shape == (0, 3)


def test_shape_check_applies_to_non_placeholders(graph, sess):
    c = tf.constant([1.0, 2.0])
    with pytest.raises(ValueError, match="Cannot feed value of shape"):
        sess.run(c * 2.0, {c: [1.0, 2.0, 3.0]})


def test_prevent_feeding(graph, sess):
    c = tf.constant(1.0)
    graph.prevent_feeding(c)
    assert not graph.is_feedable(c)
    with pytest.raises(ValueError, match="may not be fed"):
        sess.run(c * 1.0, {c: 2.0})


# ----------------------------------------------------------------------- fed values
def test_feeding_an_intermediate_cuts_upstream_placeholders(graph, sess):
    x = tf.placeholder(tf.float32, [], name="x")
    mid = x * 2.0
    out = mid + 1.0
    assert sess.run(out, {mid: 10.0}) == 11.0


def test_feeding_a_constant_replaces_it_for_one_step(graph, sess):
    c = tf.constant(1.0)
    d = c * 3.0
    assert sess.run(d, {c: 2.0}) == 6.0
    assert sess.run(d) == 3.0


def test_fetching_fed_scalar_returns_0d_array(graph, sess):
    x = tf.placeholder(tf.float32, [])
    out = sess.run(x, {x: 2.0})
    assert type(out) is np.ndarray
    assert out.shape == () and out.dtype == np.float32
    computed = sess.run(x * 1.0, {x: 2.0})
    assert type(computed) is np.float32


def test_fetching_fed_array_of_right_dtype_returns_same_object(graph, sess):
    x = tf.placeholder(tf.float32, [2])
    arr = np.array([1.0, 2.0], dtype=np.float32)
    assert sess.run(x, {x: arr}) is arr


def test_fed_arrays_are_never_written(graph, sess):
    x = tf.placeholder(tf.float32, [2])
    v = tf.Variable([0.0, 0.0])
    sess.run(v.initializer)
    arr = np.array([1.0, 2.0], dtype=np.float32)
    sess.run([tf.assign(v, x), tf.assign_add(v, x)], {x: arr})
    np.testing.assert_array_equal(arr, [1.0, 2.0])


def test_extra_feeds_are_ignored(graph, sess):
    x = tf.placeholder(tf.float32, [])
    y = tf.placeholder(tf.float32, [])
    assert sess.run(x * 2.0, {x: 1.0, y: 5.0}) == 2.0


def test_missing_placeholder_raises_invalid_argument_with_op(graph, sess):
    x = tf.placeholder(tf.float32, [2], name="x")
    y = x * 2.0
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        sess.run(y)
    e = info.value
    assert "You must feed a value for placeholder tensor 'x' with dtype float and shape [2]" in (
        e.message
    )
    assert e.op is x.op
    assert e.node_def is not None
    assert e.error_code == 3
    np.testing.assert_array_equal(sess.run(y, {x: [1.0, 2.0]}), [2.0, 4.0])  # still usable


def test_placeholder_with_default(graph, sess):
    p = tf.placeholder_with_default(tf.constant([1.0, 2.0]), [2])
    y = p * 2.0
    np.testing.assert_array_equal(sess.run(y), [2.0, 4.0])
    np.testing.assert_array_equal(sess.run(y, {p: [0.0, 1.0]}), [0.0, 2.0])
