"""DTypes and TF's rules for turning Python values into constants."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import graphjit.compat.v1 as tf
from graphjit import dtypes

_ALL = [
    ("float16", 19, np.float16),
    ("float32", 1, np.float32),
    ("float64", 2, np.float64),
    ("int8", 6, np.int8),
    ("int16", 5, np.int16),
    ("int32", 3, np.int32),
    ("int64", 9, np.int64),
    ("uint8", 4, np.uint8),
    ("uint16", 17, np.uint16),
    ("uint32", 22, np.uint32),
    ("uint64", 23, np.uint64),
    ("bool", 10, np.bool_),
    ("complex64", 8, np.complex64),
    ("complex128", 18, np.complex128),
]


@pytest.mark.parametrize(("name", "enum", "np_type"), _ALL)
def test_as_dtype_from_name_enum_and_numpy_agree(name, enum, np_type):
    d = tf.as_dtype(name)
    assert d is tf.as_dtype(enum) is tf.as_dtype(np_type) is tf.as_dtype(np.dtype(np_type))
    assert d.name == name and d.as_datatype_enum == enum and d.as_numpy_dtype is np_type
    assert d == name and str(d) == f"<dtype: '{name}'>" and repr(d) == f"tf.{name}"
    assert pickle.loads(pickle.dumps(d)) is d


def test_string_dtype():
    s = tf.as_dtype("string")
    assert s is tf.string is tf.as_dtype(7) is tf.as_dtype(np.str_) is tf.as_dtype(np.dtype("S2"))
    assert s.as_numpy_dtype is object and s.size == 0


def test_aliases_and_python_types():
    assert tf.as_dtype("float") is tf.float32 and tf.as_dtype("double") is tf.float64
    assert tf.as_dtype("half") is tf.float16
    assert tf.as_dtype(float) is tf.float32 and tf.as_dtype(bool) is tf.bool


@pytest.mark.parametrize("bad", ["bogus", 99, None, int, str])
def test_as_dtype_rejects_unknown_values(bad):
    with pytest.raises(TypeError, match="Cannot convert the argument `type_value`"):
        tf.as_dtype(bad)


def test_reference_dtypes():
    r = tf.as_dtype("float32_ref")
    assert r is tf.as_dtype(101) and r.base_dtype is tf.float32 and r != tf.float32
    assert tf.float32.is_compatible_with(r) and not tf.float32.is_compatible_with(tf.int32)


def test_dtype_predicates_and_limits():
    assert tf.float16.is_floating and not tf.float16.is_integer
    assert tf.uint8.is_integer and tf.uint8.is_unsigned and not tf.int8.is_unsigned
    assert tf.bool.is_bool and tf.complex64.is_complex and not tf.float32.is_complex
    assert tf.complex64.real_dtype is tf.float32
    assert (tf.int8.min, tf.int8.max) == (-128, 127) and tf.int8.limits == (0, 127)
    with pytest.raises(TypeError):
        _ = tf.bool.min
    assert tf.float32 != None  # noqa: E711
    assert tf.float32 != "junk"


@pytest.fixture
def g():
    with tf.Graph().as_default() as graph:
        yield graph


@pytest.mark.parametrize(
    ("value", "want"),
    [
        (1, tf.int32),
        (2**40, tf.int64),
        ([1, 2**40], tf.int64),
        (1.5, tf.float32),
        ([1, 2.5], tf.float32),
        (True, tf.bool),
        ([True, False], tf.bool),
        ("hi", tf.string),
        ([b"a", "b"], tf.string),
        (np.float64(1.0), tf.float64),
        (np.arange(3, dtype=np.int16), tf.int16),
        (((1, 2), (3, 4)), tf.int32),
        ([], tf.float32),
    ],
)
def test_python_value_dtype_inference(g, value, want):
    assert tf.constant(value).dtype is want


def test_constant_with_dtype_and_values(g):
    with tf.Session() as s:
        assert s.run(tf.constant(1, dtype=tf.float16)).dtype == np.float16
        assert s.run(tf.constant("hi")) == b"hi"
        np.testing.assert_array_equal(s.run(tf.constant([[1, 2], [3, 4]])), [[1, 2], [3, 4]])


def test_constant_shape_broadcasts_scalar_and_reshapes(g):
    with tf.Session() as s:
        np.testing.assert_array_equal(s.run(tf.constant(7, shape=[2, 2])), np.full((2, 2), 7))
        np.testing.assert_array_equal(
            s.run(tf.constant([1, 2, 3, 4], shape=[2, 2])), [[1, 2], [3, 4]]
        )
        # TF1 pads a short value with its last element.
        np.testing.assert_array_equal(
            s.run(tf.constant([1, 2, 3], shape=[2, 2])), [[1, 2], [3, 3]]
        )


def test_constant_too_many_elements_for_shape_raises_value_error(g):
    with pytest.raises(ValueError, match="Too many elements provided"):
        tf.constant([1, 2, 3], shape=[2])


@pytest.mark.parametrize(
    ("value", "dtype", "msg"),
    [
        (1.5, tf.int32, "Expected int32, but got 1.5 of type 'float'"),
        ([1.0, 2.0], tf.int32, "Expected int32, but got 1.0 of type 'float'"),
        (1, tf.bool, "Expected bool, but got 1 of type 'int'"),
        ("a", tf.float32, "Expected float32, but got a of type 'str'"),
    ],
)
def test_constant_incompatible_python_value_raises_type_error(g, value, dtype, msg):
    with pytest.raises(TypeError, match=msg):
        tf.constant(value, dtype=dtype)


def test_constant_python_complex_for_complex_dtype(g):
    with tf.Session() as sess:
        value = sess.run(tf.constant([1.5 - 2j, 3], dtype=tf.complex64))
    assert value.dtype == np.complex64
    np.testing.assert_array_equal(value, [1.5 - 2j, 3])
    with pytest.raises(TypeError, match="Expected float32, but got"):
        tf.constant([1.5 - 2j], dtype=tf.float32)


def test_constant_numpy_array_is_cast_to_dtype(g):
    assert tf.constant(np.array([1.5]), dtype=tf.int32).dtype is tf.int32


def test_constant_unconvertible_values(g):
    with pytest.raises(TypeError, match="Failed to convert elements"):
        tf.constant([1, "a"])
    with pytest.raises(ValueError):
        tf.constant([[1, 2], [3]])
    with pytest.raises(ValueError, match="None values not supported"):
        tf.constant(None)


def test_to_numpy_infers_like_tensorflow():
    assert dtypes.to_numpy(3).dtype == np.int32
    assert dtypes.to_numpy([1.0, 2]).dtype == np.float32
    assert dtypes.infer_dtype(1 + 2j) is dtypes.complex128
