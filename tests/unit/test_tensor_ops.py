"""Tensor: properties, Python operators (names, dtypes, values), indexing against numpy."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit.compat.v1 as tf
from graphjit.errors import OperatorNotAllowedInGraphError


@pytest.fixture
def g():
    graph = tf.Graph()
    with graph.as_default():
        yield graph


@pytest.fixture
def sess(g):
    with tf.Session(graph=g) as s:
        yield s


def test_tensor_properties(g):
    x = tf.placeholder(tf.float32, [2, 3], name="x")
    assert (x.name, x.dtype, x.value_index) == ("x:0", tf.float32, 0)
    assert x.op.type == "Placeholder" and x.graph is g
    assert x.shape.as_list() == [2, 3] and x.get_shape().ndims == 2
    assert repr(x) == "<tf.Tensor 'x:0' shape=(2, 3) dtype=float32>"
    assert str(x) == 'Tensor("x:0", shape=(2, 3), dtype=float32)'


def test_unknown_shape_and_set_shape(g):
    p = tf.placeholder(tf.float32)
    assert p.shape.ndims is None
    with pytest.raises(ValueError):
        p.shape.as_list()
    p.set_shape([None, 4])
    assert p.shape.as_list() == [None, 4]
    p.set_shape([3, None])
    assert p.shape.as_list() == [3, 4]


def test_set_shape_incompatible_raises_value_error(g):
    x = tf.placeholder(tf.float32, [2, 3])
    with pytest.raises(ValueError, match="Dimension 0 in both shapes must be equal"):
        x.set_shape([3, 3])
    with pytest.raises(ValueError, match="Shapes must be equal rank, but are 2 and 1"):
        x.set_shape([2])


def test_consumers_lists_ops_reading_the_tensor(g):
    x = tf.placeholder(tf.float32, name="x")
    a = tf.identity(x)
    b = x + 1.0
    assert x.consumers() == [a.op, b.op]


@pytest.mark.parametrize(
    ("fn", "name", "op_type", "const_name"),
    [
        (lambda x: x + 1, "add", "AddV2", "add/y"),
        (lambda x: 1 + x, "add", "AddV2", "add/x"),
        (lambda x: x - 1, "sub", "Sub", "sub/y"),
        (lambda x: 2 - x, "sub", "Sub", "sub/x"),
        (lambda x: x * 2, "mul", "Mul", "mul/y"),
        (lambda x: x / 2, "truediv", "RealDiv", "truediv/y"),
        (lambda x: x // 2, "floordiv", "FloorDiv", "floordiv/y"),
        (lambda x: x % 2, "mod", "FloorMod", "mod/y"),
        (lambda x: x**2, "pow", "Pow", "pow/y"),
        (lambda x: 2**x, "pow", "Pow", "pow/x"),
        (lambda x: x < 1, "Less", "Less", "Less/y"),
        (lambda x: x >= 1, "GreaterEqual", "GreaterEqual", "GreaterEqual/y"),
    ],
)
def test_binary_operators_are_named_like_tensorflow(g, fn, name, op_type, const_name):
    x = tf.placeholder(tf.float32, [2, 3], name="x")
    y = fn(x)
    assert y.op.name == name and y.op.type == op_type
    assert const_name in [t.op.name for t in y.op.inputs]
    assert y.shape.as_list() == [2, 3]


def test_logical_operators(g, sess):
    a = tf.constant([True, True, False, False])
    b = tf.constant([True, False, True, False])
    assert (a & b).op.name == "and" and (a | b).op.name == "or" and (a ^ b).op.name == "xor"
    r = sess.run([a & b, a | b, a ^ b, ~a])
    np.testing.assert_array_equal(r[0], [True, False, False, False])
    np.testing.assert_array_equal(r[1], [True, True, True, False])
    np.testing.assert_array_equal(r[2], [False, True, True, False])
    np.testing.assert_array_equal(r[3], [False, False, True, True])


def test_matmul_operator(g, sess):
    a = tf.constant([[1.0, 2.0], [3.0, 4.0]])
    y = a @ a
    assert y.op.type == "MatMul" and y.op.name == "matmul"
    np.testing.assert_allclose(sess.run(y), [[7.0, 10.0], [15.0, 22.0]])


def test_unary_operators(g, sess):
    x = tf.constant([-1.5, 2.0])
    assert (-x).op.type == "Neg" and abs(x).op.type == "Abs"
    np.testing.assert_array_equal(sess.run(-x), [1.5, -2.0])
    np.testing.assert_array_equal(sess.run(abs(x)), [1.5, 2.0])


def test_python_scalar_takes_the_tensor_dtype(g):
    f = tf.constant([1.0], dtype=tf.float32)
    assert (f * 2).dtype == tf.float32 and (2 * f).dtype == tf.float32
    assert (f + np.float64(1.0)).dtype == tf.float32
    assert (f + True).dtype == tf.float32
    i = tf.constant([1])
    assert (i * 2).dtype == tf.int32


def test_int_tensor_plus_float_scalar_raises_type_error(g):
    i = tf.constant([1, 2])
    with pytest.raises(TypeError, match="Input 'y' of 'AddV2' Op has type float32"):
        i + 1.5
    with pytest.raises(TypeError, match=r"Expected int32, but got 1\.5 of type 'float'"):
        1.5 + i


def test_mixed_dtype_tensors_raise_type_error_at_construction(g):
    with pytest.raises(TypeError, match="does not match type int32"):
        tf.constant([1]) + tf.constant([1.0])


def test_int_true_division_gives_float64(g, sess):
    q = tf.constant([7, -7]) / tf.constant(2)
    assert q.dtype == tf.float64
    np.testing.assert_array_equal(sess.run(q), [3.5, -3.5])


def test_floordiv_and_mod_floor_like_python(g, sess):
    ints = tf.constant([7, -7])
    floats = tf.constant([7.5, -7.5])
    np.testing.assert_array_equal(sess.run(ints // 2), [3, -4])
    np.testing.assert_array_equal(sess.run(floats // 2.0), [3.0, -4.0])
    np.testing.assert_array_equal(sess.run(ints % 3), [1, 2])
    np.testing.assert_array_equal(sess.run(floats % 2.0), [1.5, 0.5])


def test_int32_arithmetic_wraps(g, sess):
    assert sess.run(tf.constant(2**31 - 1) + 1) == -(2**31)


def test_bool_and_iteration_are_not_allowed(g):
    x = tf.placeholder(tf.float32, [2], name="x")
    with pytest.raises(OperatorNotAllowedInGraphError, match="as a Python `bool`"):
        bool(x)
    with pytest.raises(TypeError):
        iter(x)
    with pytest.raises(TypeError, match="len is not well defined"):
        len(x)
    assert issubclass(OperatorNotAllowedInGraphError, TypeError)


def test_tensors_hash_and_compare_by_identity(g):
    a, b = tf.constant(1.0), tf.constant(1.0)
    assert {a: 1, b: 2}[a] == 1
    assert a == a and a != b


_ARR = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
_KEYS = [
    0,
    -1,
    (1, 2),
    (-1, -2, -3),
    slice(None),
    slice(1, None),
    slice(None, None, -1),
    (slice(None), slice(None, None, -2)),
    (slice(None), slice(2, 0, -1), slice(None, None, 3)),
    (Ellipsis, 1),
    (0, Ellipsis),
    (Ellipsis, None),
    (None, 1),
    (slice(None), None, slice(1, 3)),
    (1, slice(None), -1),
    (Ellipsis, slice(None, None, -1)),
    (slice(-2, None), 0, slice(1, -1)),
    (slice(5, 10),),
]


@pytest.mark.parametrize("key", _KEYS, ids=[repr(k) for k in _KEYS])
def test_getitem_matches_numpy(g, sess, key):
    x = tf.placeholder(tf.float32, _ARR.shape)
    y = x[key]
    want = _ARR[key]
    assert y.shape.as_list() == list(want.shape)
    np.testing.assert_array_equal(sess.run(y, {x: _ARR}), want)


def test_getitem_rejects_float_and_vector_indices(g):
    x = tf.placeholder(tf.float32, [2, 3])
    with pytest.raises(TypeError, match="Only integers, slices"):
        x[1.0]
    with pytest.raises(TypeError, match="Only integers, slices"):
        x[tf.constant([0, 1])]
