"""Errors from run() and friends; failed runs leave session state unchanged (sections 5, 10)."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit.compat.v1 as tf


@pytest.fixture
def state(graph, sess):
    """An initialised float variable ``v`` = [1, 2] and an op that would change it."""
    v = tf.Variable([1.0, 2.0], name="v")
    sess.run(v.initializer)
    return v, tf.assign_add(v, [10.0, 10.0])


def _unchanged(sess, v):
    np.testing.assert_array_equal(sess.run(v), [1.0, 2.0])


def test_bad_feed_shape_leaves_state(sess, state):
    v, inc = state
    x = tf.placeholder(tf.float32, [2])
    with pytest.raises(ValueError):
        sess.run([inc, x * 1.0], {x: [1.0]})
    _unchanged(sess, v)


def test_bad_feed_key_leaves_state(sess, state):
    v, inc = state
    with pytest.raises(TypeError):
        sess.run(inc, {"nope:0": 1.0})
    _unchanged(sess, v)


def test_missing_placeholder_with_assign_in_same_run_leaves_state(sess, state):
    v, inc = state
    x = tf.placeholder(tf.float32, [2])
    with pytest.raises(tf.errors.InvalidArgumentError):
        sess.run([inc, x * 2.0])
    _unchanged(sess, v)


def test_integer_division_by_zero_leaves_state(sess, state):
    v, inc = state
    a = tf.placeholder(tf.int32, [])
    q = tf.floordiv(tf.constant(7), a)
    with tf.control_dependencies([inc]):
        out = q + 0
    with pytest.raises(tf.errors.InvalidArgumentError, match="Integer division by zero"):
        sess.run(out, {a: 0})
    _unchanged(sess, v)
    assert sess.run(out, {a: 2}) == 3


def test_reshape_mismatch_at_run_time_leaves_state(sess, state):
    v, inc = state
    x = tf.placeholder(tf.float32, [None])
    r = tf.reshape(x, [2, 2])
    with pytest.raises(tf.errors.InvalidArgumentError):
        sess.run([inc, r], {x: [1.0, 2.0, 3.0]})
    _unchanged(sess, v)


def test_assign_then_failing_op_leaves_earlier_assign_unapplied(sess, state):
    v, _ = state
    a = tf.assign(v, [5.0, 5.0])
    x = tf.placeholder(tf.float32, [None])
    with tf.control_dependencies([a]):
        r = tf.reshape(x, [3])
    with pytest.raises(tf.errors.InvalidArgumentError):
        sess.run(r, {x: [1.0]})
    _unchanged(sess, v)


def test_uninitialized_variable_raises_failed_precondition(graph, sess):
    v = tf.Variable(1.0, name="w")
    with pytest.raises(tf.errors.FailedPreconditionError, match="uninitialized") as info:
        sess.run(v + 1.0)
    assert info.value.error_code == 9


def test_runtime_error_is_wrapped_with_node_and_op(graph, sess):
    x = tf.placeholder(tf.float32, [None])
    r = tf.reshape(x, [2], name="resh")
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        sess.run(r, {x: [1.0]})
    e = info.value
    assert e.message.startswith("Graph execution error")
    assert "resh" in e.message
    assert e.op is r.op
    assert e.node_def is not None


def test_run_time_broadcast_error_reads_as_tensorflow_words_it(graph, sess):
    x = tf.placeholder(tf.float32)
    b = tf.placeholder(tf.float32)
    for y, (xs, bs) in ((x + b, ((2, 3), (4,))), (x * b, ((3, 1), (2, 4)))):
        want = f"Incompatible shapes: [{','.join(map(str, xs))}] vs. [{','.join(map(str, bs))}]"
        with pytest.raises(tf.errors.InvalidArgumentError) as info:
            sess.run(y, {x: np.ones(xs), b: np.ones(bs)})
        assert want in info.value.message


def test_static_shape_errors_happen_at_construction(graph):
    with pytest.raises(ValueError):
        tf.reshape(tf.constant([1.0, 2.0, 3.0]), [2])


def test_mixed_dtypes_raise_type_error_at_construction(graph):
    with pytest.raises(TypeError):
        tf.constant(1) + tf.constant(1.0)


def test_op_error_is_not_a_builtin_error_subclass():
    for base in (ValueError, TypeError, RuntimeError):
        assert not issubclass(tf.errors.OpError, base)


@pytest.mark.parametrize(
    ("cls", "code"),
    [
        ("CancelledError", 1),
        ("UnknownError", 2),
        ("InvalidArgumentError", 3),
        ("DeadlineExceededError", 4),
        ("NotFoundError", 5),
        ("AlreadyExistsError", 6),
        ("PermissionDeniedError", 7),
        ("ResourceExhaustedError", 8),
        ("FailedPreconditionError", 9),
        ("AbortedError", 10),
        ("OutOfRangeError", 11),
        ("UnimplementedError", 12),
        ("InternalError", 13),
        ("UnavailableError", 14),
        ("DataLossError", 15),
        ("UnauthenticatedError", 16),
    ],
)
def test_error_classes_and_codes(cls, code):
    klass = getattr(tf.errors, cls)
    e = klass(None, None, "msg")
    assert e.error_code == code
    assert e.message == "msg"
    assert e.op is None and e.node_def is None
    assert isinstance(e, tf.errors.OpError)
    assert tf.errors.exception_type_from_error_code(code) is klass
    assert tf.errors.error_code_from_exception_type(klass) == code
