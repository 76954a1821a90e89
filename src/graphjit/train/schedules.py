"""Learning-rate schedules of ``tf.train``: functions of the global step built from graph ops.

Each returns a scalar tensor; pass it as an optimizer's ``learning_rate`` and it is
re-evaluated on every step.
"""

from __future__ import annotations

import itertools

from .. import dtypes as _dt
from ..graph import convert_to_tensor, get_default_graph
from ..ops.array import cast
from ..ops.math import (
    floordiv,
    greater,
    less_equal,
    logical_and,
    maximum,
    minimum,
    negative,
    pow,
)


def _as_float(x, dtype, name):
    t = convert_to_tensor(x, name=name) if not hasattr(x, "_as_graph_tensor") else x.value()
    return t if t.dtype is dtype else cast(t, dtype)


def _step(global_step):
    if global_step is None:
        raise ValueError("global_step is required for exponential_decay.")
    return global_step.value() if hasattr(global_step, "_as_graph_tensor") else global_step


def exponential_decay(
    learning_rate, global_step, decay_steps, decay_rate, staircase=False, name=None
):
    """``learning_rate * decay_rate ** (global_step / decay_steps)``.

    With ``staircase`` the exponent is floored, so the rate drops every ``decay_steps``.

    >>> import graphjit.compat.v1 as tf
    >>> with tf.Graph().as_default():
    ...     lr = tf.train.exponential_decay(0.1, 20, 10, 0.5)
    ...     print(round(float(tf.Session().run(lr)), 6))
    0.025
    """
    g = get_default_graph()
    with g.name_scope(name or "ExponentialDecay"):
        lr = convert_to_tensor(learning_rate, name="learning_rate")
        dtype = lr.dtype
        step = _as_float(_step(global_step), dtype, "global_step")
        p = step / _as_float(decay_steps, dtype, "decay_steps")
        if staircase:
            p = floordiv(p, cast(convert_to_tensor(1), dtype))
        return lr * pow(_as_float(decay_rate, dtype, "decay_rate"), p)


def piecewise_constant(x, boundaries, values, name=None):
    """``values[0]`` while ``x <= boundaries[0]``, ..., ``values[-1]`` when ``x >
    boundaries[-1]``.

    >>> import graphjit.compat.v1 as tf
    >>> with tf.Graph().as_default():
    ...     lr = tf.train.piecewise_constant(tf.constant(15), [10, 20], [1.0, 0.5, 0.1])
    ...     print(tf.Session().run(lr))
    0.5
    """
    if len(boundaries) != len(values) - 1:
        raise ValueError("The length of boundaries should be 1 less than the length of values")
    g = get_default_graph()
    with g.name_scope(name or "PiecewiseConstant"):
        x = _step(x)
        x = convert_to_tensor(x)
        vals = [convert_to_tensor(v) for v in values]
        dtype = vals[0].dtype
        for v in vals[1:]:
            if v.dtype is not dtype:
                raise ValueError(
                    f"Values must have elements all with the same dtype ({dtype} vs {v.dtype})."
                )
        bounds = [convert_to_tensor(b, dtype=x.dtype) for b in boundaries]
        # disjoint masks, so the sum picks exactly one value (no rounding from differences)
        masks = [less_equal(x, bounds[0])]
        for lo, hi in itertools.pairwise(bounds):
            masks.append(logical_and(greater(x, lo), less_equal(x, hi)))
        masks.append(greater(x, bounds[-1]))
        out = None
        for m, v in zip(masks, vals):
            term = cast(m, dtype) * v
            out = term if out is None else out + term
        return out


def polynomial_decay(
    learning_rate,
    global_step,
    decay_steps,
    end_learning_rate=0.0001,
    power=1.0,
    cycle=False,
    name=None,
):
    """``(lr - end) * (1 - step / decay_steps) ** power + end``, the step capped at
    ``decay_steps`` (with ``cycle``, ``decay_steps`` grows to the next multiple instead).

    >>> import graphjit.compat.v1 as tf
    >>> with tf.Graph().as_default():
    ...     lr = tf.train.polynomial_decay(1.0, 5, 10, end_learning_rate=0.0)
    ...     print(tf.Session().run(lr))
    0.5
    """
    g = get_default_graph()
    with g.name_scope(name or "PolynomialDecay"):
        lr = convert_to_tensor(learning_rate, name="learning_rate")
        dtype = lr.dtype
        step = _as_float(_step(global_step), dtype, "global_step")
        steps = _as_float(decay_steps, dtype, "decay_steps")
        end = _as_float(end_learning_rate, dtype, "end_learning_rate")
        pw = _as_float(power, dtype, "power")
        one = cast(convert_to_tensor(1), dtype)
        if cycle:
            # ceil(step / steps), at least 1 (TF: step 0 uses the first cycle)
            ceil = negative(floordiv(negative(step / steps), one))
            steps = steps * maximum(ceil, one)
        else:
            step = minimum(step, steps)
        return (lr - end) * pow(one - step / steps, pw) + end


_ = _dt
