"""tf.errors: every OpError subclass, its code, constructor, properties and pickling."""

from __future__ import annotations

import pickle

import pytest

from graphjit import errors

_CLASSES = [
    (errors.CancelledError, errors.CANCELLED, 1),
    (errors.UnknownError, errors.UNKNOWN, 2),
    (errors.InvalidArgumentError, errors.INVALID_ARGUMENT, 3),
    (errors.DeadlineExceededError, errors.DEADLINE_EXCEEDED, 4),
    (errors.NotFoundError, errors.NOT_FOUND, 5),
    (errors.AlreadyExistsError, errors.ALREADY_EXISTS, 6),
    (errors.PermissionDeniedError, errors.PERMISSION_DENIED, 7),
    (errors.ResourceExhaustedError, errors.RESOURCE_EXHAUSTED, 8),
    (errors.FailedPreconditionError, errors.FAILED_PRECONDITION, 9),
    (errors.AbortedError, errors.ABORTED, 10),
    (errors.OutOfRangeError, errors.OUT_OF_RANGE, 11),
    (errors.UnimplementedError, errors.UNIMPLEMENTED, 12),
    (errors.InternalError, errors.INTERNAL, 13),
    (errors.UnavailableError, errors.UNAVAILABLE, 14),
    (errors.DataLossError, errors.DATA_LOSS, 15),
    (errors.UnauthenticatedError, errors.UNAUTHENTICATED, 16),
]


@pytest.mark.parametrize(("cls", "code", "value"), _CLASSES, ids=[c[0].__name__ for c in _CLASSES])
def test_error_class_code_and_properties(cls, code, value):
    assert code == value
    e = cls(None, None, "boom")
    assert isinstance(e, errors.OpError) and not isinstance(e, (ValueError, TypeError))
    assert (e.message, e.error_code, e.op, e.node_def, str(e)) == (
        "boom",
        code,
        None,
        None,
        "boom",
    )
    assert errors.exception_type_from_error_code(code) is cls
    assert errors.error_code_to_exception_type(code) is cls
    assert errors.error_code_from_exception_type(cls) == code


@pytest.mark.parametrize("cls", [c[0] for c in _CLASSES])
def test_errors_survive_a_pickle_round_trip(cls):
    e = pickle.loads(pickle.dumps(cls(None, None, "lost")))
    assert (
        type(e) is cls and e.message == "lost" and e.error_code == cls(None, None, "").error_code
    )


def test_op_error_base_class_takes_the_code():
    e = errors.OpError(None, None, "m", errors.ABORTED)
    assert e.error_code == errors.ABORTED
    assert pickle.loads(pickle.dumps(e)).error_code == errors.ABORTED


def test_unknown_code_lookup():
    with pytest.raises(KeyError):
        errors.exception_type_from_error_code(99)
    assert errors.error_code_from_exception_type(ValueError) == errors.UNKNOWN


def test_runtime_error_carries_the_failing_op():
    import graphjit.compat.v1 as tf

    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, name="x")
        with tf.Session() as s, pytest.raises(errors.InvalidArgumentError) as info:
            s.run(x + 1.0)
    assert info.value.error_code == errors.INVALID_ARGUMENT
    assert "x" in info.value.message


def test_operator_not_allowed_in_graph_error_is_a_type_error():
    assert issubclass(errors.OperatorNotAllowedInGraphError, TypeError)
