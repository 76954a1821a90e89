"""TensorFlow's error classes (``tf.errors``) with their canonical codes.

``OpError`` subclasses carry the failing ``op`` (an :class:`~graphjit.graph.Operation` or
``None``), its ``node_def`` and a numeric ``error_code``; like TensorFlow they are *not*
subclasses of ``ValueError``/``TypeError``, so user ``except`` clauses behave identically.
"""

from __future__ import annotations

OK = 0
CANCELLED = 1
UNKNOWN = 2
INVALID_ARGUMENT = 3
DEADLINE_EXCEEDED = 4
NOT_FOUND = 5
ALREADY_EXISTS = 6
PERMISSION_DENIED = 7
RESOURCE_EXHAUSTED = 8
FAILED_PRECONDITION = 9
ABORTED = 10
OUT_OF_RANGE = 11
UNIMPLEMENTED = 12
INTERNAL = 13
UNAVAILABLE = 14
DATA_LOSS = 15
UNAUTHENTICATED = 16


class OpError(Exception):
    """A runtime failure of an operation (TF's ``tf.errors.OpError``).

    Parameters
    ----------
    node_def : NodeDef or None
        The node that failed, when known.
    op : Operation or None
        The failing operation, when known.
    message : str
        What went wrong and, where possible, what to do about it.
    error_code : int
        One of the canonical codes (``INVALID_ARGUMENT`` ...).
    """

    def __init__(self, node_def, op, message, error_code, *args):
        super().__init__(message, *args)
        self._node_def = node_def
        self._op = op
        self._message = message
        self._error_code = error_code
        self._payloads = {}

    def __reduce__(self):
        init_args = (self._node_def, self._op, self._message, self._error_code)
        return (OpError, init_args)

    @property
    def message(self) -> str:
        """The error message."""
        return self._message

    @property
    def op(self):
        """The :class:`Operation` that failed, or ``None``."""
        return self._op

    @property
    def node_def(self):
        """The ``NodeDef`` of the failing op, or ``None``."""
        return self._node_def

    @property
    def error_code(self) -> int:
        """The canonical error code."""
        return self._error_code

    @property
    def experimental_payloads(self) -> dict:
        """Extra payloads attached to the error (always empty here)."""
        return self._payloads

    def __str__(self) -> str:
        return self._message


def _make(name: str, code: int, doc: str) -> type[OpError]:
    def __init__(self, node_def, op, message, *args):
        OpError.__init__(self, node_def, op, message, code, *args)

    def __reduce__(self):
        return (type(self), (self._node_def, self._op, self._message))

    cls = type(name, (OpError,), {"__init__": __init__, "__reduce__": __reduce__, "__doc__": doc})
    cls.__module__ = __name__
    return cls


CancelledError = _make("CancelledError", CANCELLED, "An operation or step was cancelled.")
UnknownError = _make("UnknownError", UNKNOWN, "Unknown error.")
InvalidArgumentError = _make(
    "InvalidArgumentError", INVALID_ARGUMENT, "An operation received an invalid argument."
)
DeadlineExceededError = _make(
    "DeadlineExceededError", DEADLINE_EXCEEDED, "A deadline expired before the step completed."
)
NotFoundError = _make("NotFoundError", NOT_FOUND, "A requested entity was not found.")
AlreadyExistsError = _make("AlreadyExistsError", ALREADY_EXISTS, "An entity already exists.")
PermissionDeniedError = _make(
    "PermissionDeniedError", PERMISSION_DENIED, "The caller lacks permission."
)
ResourceExhaustedError = _make(
    "ResourceExhaustedError", RESOURCE_EXHAUSTED, "Some resource has been exhausted."
)
FailedPreconditionError = _make(
    "FailedPreconditionError",
    FAILED_PRECONDITION,
    "The system is not in a state to execute an operation (e.g. uninitialized variable).",
)
AbortedError = _make("AbortedError", ABORTED, "The operation was aborted.")
OutOfRangeError = _make("OutOfRangeError", OUT_OF_RANGE, "An operation ran past a valid range.")
UnimplementedError = _make(
    "UnimplementedError", UNIMPLEMENTED, "The operation is not implemented."
)
InternalError = _make("InternalError", INTERNAL, "An internal invariant was broken.")
UnavailableError = _make("UnavailableError", UNAVAILABLE, "The runtime is unavailable.")
DataLossError = _make("DataLossError", DATA_LOSS, "Unrecoverable data loss or corruption.")
UnauthenticatedError = _make(
    "UnauthenticatedError", UNAUTHENTICATED, "The request lacks valid credentials."
)

_CODE_TO_EXCEPTION = {
    CANCELLED: CancelledError,
    UNKNOWN: UnknownError,
    INVALID_ARGUMENT: InvalidArgumentError,
    DEADLINE_EXCEEDED: DeadlineExceededError,
    NOT_FOUND: NotFoundError,
    ALREADY_EXISTS: AlreadyExistsError,
    PERMISSION_DENIED: PermissionDeniedError,
    RESOURCE_EXHAUSTED: ResourceExhaustedError,
    FAILED_PRECONDITION: FailedPreconditionError,
    ABORTED: AbortedError,
    OUT_OF_RANGE: OutOfRangeError,
    UNIMPLEMENTED: UnimplementedError,
    INTERNAL: InternalError,
    UNAVAILABLE: UnavailableError,
    DATA_LOSS: DataLossError,
    UNAUTHENTICATED: UnauthenticatedError,
}
_EXCEPTION_TO_CODE = {cls: code for code, cls in _CODE_TO_EXCEPTION.items()}


def exception_type_from_error_code(error_code: int) -> type[OpError]:
    """Return the ``OpError`` subclass for a canonical code (``KeyError`` if unknown)."""
    return _CODE_TO_EXCEPTION[error_code]


def error_code_from_exception_type(cls: type) -> int:
    """Return the canonical code of an ``OpError`` subclass (``UNKNOWN`` if unknown)."""
    return _EXCEPTION_TO_CODE.get(cls, UNKNOWN)


# TF exports this spelling too.
error_code_to_exception_type = exception_type_from_error_code


class raise_exception_on_not_ok_status:
    """Context manager kept for API compatibility; it raises nothing by itself."""

    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


class OperatorNotAllowedInGraphError(TypeError):
    """A Python operation (``bool(t)``, ``iter(t)``) that needs a tensor's value in graph mode."""


class InaccessibleTensorError(ValueError):
    """A tensor marked with ``Graph.prevent_fetching`` was fetched."""
