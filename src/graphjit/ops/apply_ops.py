"""TensorFlow's optimizer kernels that update several variables: ``ApplyMomentum``,
``ApplyAdam``, ``ApplyRMSProp``, ``ApplyAdagrad``.

graphjit's optimizers (``graphjit.train``) build their updates from ``Assign*`` ops, so
graphs it builds never hold these; training GraphDefs TensorFlow wrote do. ``var`` is the
op's ``ref_input``; the slot variables (``accum``, ``m``, ``v`` ...) are ``extra_refs``:
their values arrive as data and their variable indices as the attr ``_ref_vars``, so the
kernel stages all the writes and the run commits them together (a failing run writes
none). Each follows its TF kernel's (Eigen) formula and operation order in the
variable's dtype; the output is the new ``var``.
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidArgumentError
from .common import FLOATS, check_dtype
from .registry import STATEFUL, defop


def _infer(inputs, attrs):
    """``var``'s dtype and shape; every input shares the dtype."""
    var = inputs[0]
    check_dtype(var.dtype, FLOATS)
    for t in inputs[1:]:
        if t.dtype is not var.dtype:
            raise TypeError(f"Inputs must all be {var.dtype.name}, got {t.dtype.name}")
    return [(var.dtype, var.shape)]


def _check(op_type, var, *others):
    for x in others:
        if x.shape != var.shape:
            raise InvalidArgumentError(
                None,
                None,
                f"{op_type}: var and a slot or grad do not have the same shape"
                f"{list(var.shape)} {list(x.shape)}",
            )


def _apply(op_type, update):
    """A kernel ``(ctx, node, *values, _ref_vars, **attrs)`` staging ``update``'s writes."""

    def kernel(ctx, node, *values, _ref_vars, **attrs):
        var = ctx.read_var(node.var, node)
        with np.errstate(all="ignore"):
            new_var, slots = update(op_type, var, *values, **attrs)
        for idx, value in zip(_ref_vars, slots):
            ctx.write_var(idx, value.astype(var.dtype, copy=False))
        new_var = new_var.astype(var.dtype, copy=False)
        ctx.write_var(node.var, new_var)
        return new_var

    return kernel


def _momentum(op_type, var, accum, lr, grad, momentum, use_nesterov=False, **_):
    _check(op_type, var, accum, grad)
    accum = accum * momentum + grad
    if use_nesterov:
        return var - (grad * lr + accum * momentum * lr), [accum]
    return var - accum * lr, [accum]


def _adam(op_type, var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad,
          use_nesterov=False, **_):  # fmt: skip
    _check(op_type, var, m, v, grad)
    one = np.ones((), var.dtype)
    alpha = lr * np.sqrt(one - beta2_power) / (one - beta1_power)
    m = m + (grad - m) * (one - beta1)
    v = v + (grad * grad - v) * (one - beta2)
    if use_nesterov:
        step = ((grad * (one - beta1) + beta1 * m) * alpha) / (np.sqrt(v) + epsilon)
    else:
        step = (m * alpha) / (np.sqrt(v) + epsilon)
    return var - step, [m, v]


def _rmsprop(op_type, var, ms, mom, lr, rho, momentum, epsilon, grad, **_):
    _check(op_type, var, ms, mom, grad)
    one = np.ones((), var.dtype)
    ms = ms + (grad * grad - ms) * (one - rho)
    mom = mom * momentum + (grad * lr) / np.sqrt(ms + epsilon)
    return var - mom, [ms, mom]


def _adagrad(op_type, var, accum, lr, grad, update_slots=True, **_):
    _check(op_type, var, accum, grad)
    if update_slots:
        accum = accum + grad * grad
    return var - grad * lr * (1 / np.sqrt(accum)), [accum]


_STATE = {"ref_input": 0, "uses_ctx": True, "stateful": True}
for _t, _fn, _refs, _defaults in (
    ("ApplyMomentum", _momentum, (1,), {"use_locking": False, "use_nesterov": False}),
    ("ApplyAdam", _adam, (1, 2), {"use_locking": False, "use_nesterov": False}),
    ("ApplyRMSProp", _rmsprop, (1, 2), {"use_locking": False}),
    ("ApplyAdagrad", _adagrad, (1,), {"use_locking": False, "update_slots": True}),
):
    defop(_t, STATEFUL, _infer, _apply(_t, _fn), extra_refs=_refs, attr_defaults=_defaults,
          fallback="updates a variable and its slots in session storage", **_STATE)  # fmt: skip
