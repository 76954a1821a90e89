"""Variable ops: VariableV2 (a reference to session-owned storage), Assign*, initialisation.

Variable values live in the session, never in the graph. ``VariableV2`` produces a *reference*;
its value is read by the consumer when the consumer runs (TF1 ref-variable semantics), so
``control_dependencies`` order reads after writes. Ops that write a variable name it through
their ``ref_input`` and receive the run context.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..errors import InvalidArgumentError
from ..shapes import TensorShape, as_shape
from .common import NUMERIC, check_dtype
from .registry import STATEFUL, defop

VARIABLE_OPS = frozenset({"VariableV2"})


def _variable_infer(inputs, attrs):
    return [(_dt.as_dtype(attrs["dtype"]), as_shape(attrs["shape"]))]


def _variable_kernel(**attrs):
    raise AssertionError("VariableV2 outputs are references resolved by the program")


defop(
    "VariableV2",
    STATEFUL,
    _variable_infer,
    _variable_kernel,
    stateful=True,
    fallback="a reference to session storage, not computed",
    attr_defaults={"container": "", "shared_name": ""},
)


def _assign_infer(inputs, attrs):
    ref, value = inputs
    if ref.dtype is not value.dtype:
        raise TypeError(
            f"Assign: value dtype {value.dtype.name} does not match variable "
            f"dtype {ref.dtype.name}"
        )
    if attrs.get("validate_shape", True):
        if not ref.shape.is_compatible_with(value.shape):
            raise ValueError(
                f"Shapes {ref.shape.tf_str()} and {value.shape.tf_str()} are incompatible"
            )
        return [(ref.dtype, ref.shape.merge_with(value.shape))]
    return [(ref.dtype, value.shape)]


def _assign_kernel(ctx, node, value, *, validate_shape=True, **attrs):
    if validate_shape and ctx.is_initialized(node.var):
        old = ctx.read_var(node.var, node, check=False)
        if old.shape != value.shape:
            raise InvalidArgumentError(
                None,
                None,
                f"Assign requires shapes of both tensors to match. lhs shape= "
                f"{list(old.shape)} rhs shape= {list(value.shape)}",
            )
    spec = ctx.var_shape(node.var)
    if validate_shape and spec is not None and not spec.is_compatible_with(value.shape):
        raise InvalidArgumentError(
            None,
            None,
            f"Assign requires shapes of both tensors to match. lhs shape= "
            f"{spec.tf_str()} rhs shape= {list(value.shape)}",
        )
    new = np.array(value, copy=True)
    ctx.write_var(node.var, new)
    return new


def _update_kernel(fn, what):
    def kernel(ctx, node, value, **attrs):
        old = ctx.read_var(node.var, node)
        if np.broadcast_shapes(old.shape, value.shape) != old.shape:
            raise InvalidArgumentError(
                None,
                None,
                f"{what} requires shapes of both tensors to match. lhs shape= "
                f"{list(old.shape)} rhs shape= {list(value.shape)}",
            )
        with np.errstate(all="ignore"):
            new = fn(old, value).astype(old.dtype, copy=False)
        ctx.write_var(node.var, new)
        return new

    return kernel


def _update_infer(inputs, attrs):
    ref, value = inputs
    check_dtype(ref.dtype, NUMERIC)
    if ref.dtype is not value.dtype:
        raise TypeError(
            f"value dtype {value.dtype.name} does not match variable dtype {ref.dtype.name}"
        )
    if not ref.shape.is_compatible_with(value.shape) and value.shape.ndims != 0:
        raise ValueError(
            f"Shapes {ref.shape.tf_str()} and {value.shape.tf_str()} are incompatible"
        )
    return [(ref.dtype, ref.shape)]


_STATE = {"ref_input": 0, "uses_ctx": True, "stateful": True}
defop(
    "Assign",
    STATEFUL,
    _assign_infer,
    _assign_kernel,
    attr_defaults={"validate_shape": True, "use_locking": True},
    **_STATE,
)
defop(
    "AssignAdd",
    STATEFUL,
    _update_infer,
    _update_kernel(np.add, "AssignAdd"),
    attr_defaults={"use_locking": False},
    **_STATE,
)
defop(
    "AssignSub",
    STATEFUL,
    _update_infer,
    _update_kernel(np.subtract, "AssignSub"),
    attr_defaults={"use_locking": False},
    **_STATE,
)


def _is_init_kernel(ctx, node, **attrs):
    return np.array(ctx.is_initialized(node.var))


defop(
    "IsVariableInitialized",
    STATEFUL,
    lambda i, a: [(_dt.bool, TensorShape([]))],
    _is_init_kernel,
    **_STATE,
)
