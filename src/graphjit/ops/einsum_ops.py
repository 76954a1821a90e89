"""The ``Einsum`` op and ``tf.einsum``; split out of ``ops/linalg.py`` (which re-exports it).

As in TF, the op itself accepts repeated labels in its output (``"i->ii"`` writes a diagonal):
``tf.einsum`` rejects them, but the gradient needs them. The gradient is TF's
(``linalg_grad._EinsumGrad``): the reversed equation for transposes, contractions and traces,
plus a broadcast for labels that an operand sums on its own, so ``"ii->i"``, ``"ii"`` and
``"iij->j"`` are differentiable.

An ellipsis (``"...ij,...jk->...ik"``) stays in the op's equation, as in TF; shape
inference, the kernel and the gradient expand it into explicit labels (letters the equation
does not use), aligned from the right, so operands may have different numbers of ellipsis
dimensions and size-1 dimensions broadcast (the gradient sums them back).
"""

from __future__ import annotations

import re

import numpy as np

from .. import dtypes as _dt
from ..errors import InvalidArgumentError
from ..graph import Tensor, convert_to_tensor
from ..shapes import TensorShape
from . import array as a
from . import array_more as am
from .common import make1
from .registry import OPAQUE, defop

LINALG = "library matmul/einsum; numpy kernel"

_EQ = re.compile(r"^([a-zA-Z.]*(?:,[a-zA-Z.]*)*)->([a-zA-Z.]*)$")
_LABELS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _parse(equation, n):
    """Input and output subscripts of ``equation`` (implicit output: the labels seen once,
    sorted; as in TF, not the ellipsis, so an implicit equation whose ellipsis spans
    dimensions is refused); each ``...`` is kept as is (see :func:`_expand`)."""
    eq = equation.replace(" ", "")
    if "->" not in eq:
        ins = eq.split(",")
        letters = "".join(ins).replace("...", "")
        out = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
        eq = f"{eq}->{out}"
    mt = _EQ.match(eq)
    ok = mt is not None and all(
        spec.replace("...", "").isalpha() or not spec.replace("...", "")
        for spec in eq.replace("->", ",").split(",")
    )
    if not ok or any(spec.count("...") > 1 for spec in eq.replace("->", ",").split(",")):
        raise ValueError(f"Einsum: invalid equation {equation!r}")
    ins = mt.group(1).split(",")
    if len(ins) != n:
        raise ValueError(f"Einsum: equation {equation!r} expects {len(ins)} inputs, got {n}")
    out = mt.group(2)
    if "..." in out and not any("..." in spec for spec in ins):
        raise ValueError(f"Einsum: output has an ellipsis but no input does: {equation!r}")
    return ins, out


def _expand(ins, out, ranks):
    """``(ins, out, ellipsis labels)`` with each ``...`` replaced by explicit labels.

    Operand ``k`` of rank ``ranks[k]`` gets the last ``ranks[k] - len(named labels)`` of the
    ellipsis labels (numpy/TF broadcasting aligns them from the right). ``None`` when an
    operand with an ellipsis has an unknown rank.
    """
    if not any("..." in spec for spec in ins):
        return ins, out, ""
    dims = []
    for spec, r in zip(ins, ranks):
        if "..." not in spec:
            dims.append(0)
            continue
        if r is None:
            return None
        e = r - (len(spec) - 3)
        if e < 0:
            raise ValueError(
                f"Einsum: input of rank {r} has fewer dimensions than its subscripts {spec!r}"
            )
        dims.append(e)
    used = set("".join(ins) + out)
    free = [c for c in _LABELS if c not in used]
    ell = "".join(free[: max(dims)])
    ins = [spec.replace("...", ell[len(ell) - d :] if d else "") for spec, d in zip(ins, dims)]
    return ins, out.replace("...", ell), ell


def _einsum_infer(inputs, attrs):
    ins, out = _parse(attrs["equation"], len(inputs))
    for c in out.replace("...", ""):
        if not any(c in spec for spec in ins):
            raise ValueError(
                f"Output subscripts contain the label {c} not present in the input subscripts."
            )
    for t in inputs:
        if t.dtype is not inputs[0].dtype:
            raise TypeError(f"Einsum: all inputs must have dtype {inputs[0].dtype.name}")
    expanded = _expand(ins, out, [t.shape.ndims for t in inputs])
    if expanded is None:  # an ellipsis of unknown rank
        return [(inputs[0].dtype, TensorShape(None))]
    has_ellipsis_out = "..." in out
    ins, out, ell = expanded
    if ell and not has_ellipsis_out:
        raise ValueError(
            f"Shape must be at most rank 0 but is rank {len(ell)}\n\t for einsum equation "
            f"'{attrs['equation']}' without ellipsis in the output"
        )
    sizes: dict = {}
    for t, spec in zip(inputs, ins):
        if t.shape.ndims is None:
            continue
        if t.shape.ndims != len(spec):
            raise ValueError(
                f"Einsum: input of rank {t.shape.ndims} does not match subscripts {spec!r}"
            )
        for c, d in zip(spec, t.shape.as_list()):
            if c in ell:  # ellipsis dimensions broadcast
                sizes[c] = _broadcast_dim(sizes[c], d) if c in sizes else d
                continue
            if d is None:
                continue
            if sizes.get(c) not in (None, d):
                raise ValueError(
                    f"Expected dimension {sizes[c]} at axis of the input for label {c!r} in "
                    f"'Einsum', got {d}"
                )
            sizes[c] = d
    return [(inputs[0].dtype, TensorShape([sizes.get(c) for c in out]))]


def _broadcast_dim(a, b):
    """Two (possibly unknown) dimensions broadcast together (numpy's rule)."""
    if a is None or b is None:
        k = b if a is None else a
        return k if k not in (None, 1) else None
    if a == b or b == 1:
        return a
    if a == 1:
        return b
    raise ValueError(f"Einsum: ellipsis dimensions {a} and {b} cannot be broadcast")


def _einsum_kernel(*xs, equation, N=None, T=None):
    ins, out = _parse(equation, len(xs))
    ins, out, _ = _expand(ins, out, [x.ndim for x in xs])
    uniq = "".join(dict.fromkeys(out))
    try:
        res = np.asarray(np.einsum(f"{','.join(ins)}->{uniq}", *xs), dtype=xs[0].dtype)
    except ValueError as e:
        raise InvalidArgumentError(None, None, f"Einsum: {e}") from None
    if uniq == out:
        return res
    # A label repeated in the output spans a diagonal: write the result there, zeros elsewhere
    # (np.einsum's diagonal view of the zeros is writeable).
    sizes: dict = {}
    for spec, x in zip(ins, xs):
        for c, d in zip(spec, x.shape):
            sizes[c] = max(sizes.get(c, 1), d) if d != 0 else 0
    full = np.zeros([sizes[c] for c in out], dtype=res.dtype)
    np.einsum(f"{out}->{uniq}", full)[...] = res
    return full


def einsum_op(inputs, equation, name=None) -> Tensor:
    """One ``Einsum`` op as TF's ``gen_linalg_ops.einsum`` builds it (no Python-side checks)."""
    xs = [convert_to_tensor(x) for x in inputs]
    attrs = {"equation": equation, "N": len(xs), "T": xs[0].dtype}
    return make1("Einsum", xs, attrs, name=name or "Einsum")


def einsum(equation, *inputs, name=None) -> Tensor:
    """Einstein summation (``tf.einsum``) as one ``Einsum`` op.

    The implicit form (no ``->``) sums labels seen more than once and orders the rest
    alphabetically, so ``einsum("ii", x)`` is the trace. An ellipsis stands for leading
    (batch) dimensions that broadcast: ``einsum("...ij,...jk->...ik", a, b)`` is a batched
    matmul.

    >>> import graphjit.compat.v1 as tf
    >>> tf.Session().run(tf.einsum("ij,j->i", [[1.0, 2.0], [3.0, 4.0]], [1.0, 1.0])).tolist()
    [3.0, 7.0]
    >>> tf.Session().run(tf.einsum("...i,...i->...", [[1.0, 2.0]], [3.0, 4.0])).tolist()
    [11.0]
    """
    xs = [convert_to_tensor(x) for x in inputs]
    ins, out = _parse(equation, len(xs))
    labels = out.replace("...", "")
    if len(set(labels)) != len(labels):
        raise ValueError(f"Output subscripts contain a label appearing more than once: {equation}")
    if len(xs) <= 2:  # TF stores the resolved (explicit) equation in the op
        return einsum_op(xs, f"{','.join(ins)}->{out}", name=name)
    return _pairwise(xs, ins, out, name)


def _pairwise(xs, ins, out, name):
    """Three or more operands as a left-to-right chain of two-operand ``Einsum`` ops (the
    ``Einsum`` kernels TF has take one or two inputs; TF contracts such equations pairwise
    too). Each step keeps the labels a later operand or the output still needs."""
    tok = [spec.replace("...", ".") for spec in ins]  # the ellipsis as one token
    out_t = out.replace("...", ".")
    cur, cur_spec = xs[0], tok[0]
    for k in range(1, len(xs)):
        if k == len(xs) - 1:
            target = out_t
        else:
            rest = "".join(tok[k + 1 :]) + out_t
            target = "".join(dict.fromkeys(c for c in cur_spec + tok[k] if c in rest))
        eq = f"{cur_spec},{tok[k]}->{target}".replace(".", "...")
        cur = einsum_op([cur, xs[k]], eq, name=name if k == len(xs) - 1 else None)
        cur_spec = target
    return cur


# ------------------------------------------------------------------ gradient (TF's _EinsumGrad)


def _grad_reduced(g, out_subs, in_subs, x, reduced):
    """Gradient wrt ``x`` of the unary einsum ``in_subs->out_subs`` that sums ``reduced``."""
    reduced_subs = "".join(sorted(reduced))
    static = x.shape.is_fully_defined()
    sx = x.shape.as_list() if static else a.shape(x)
    has_repeats = len(set(in_subs)) + len(set(out_subs)) < len(in_subs) + len(out_subs)
    kept = "".join(c for c in in_subs if c not in reduced)
    if not has_repeats and kept == out_subs:
        # A plain sum ("abcd->ac"): reshape to keepdims form and broadcast back.
        one = 1 if static else np.int32(1)
        kept_shape = [one if c in reduced else sx[i] for i, c in enumerate(in_subs)]
        if not static:
            kept_shape = a.stack(kept_shape)
        return am.broadcast_to(a.reshape(g, kept_shape), sx)
    # Traces or transposes: broadcast over the summed labels put in front, then let the
    # reversed einsum ("bdca->aabbcd") place every entry (on diagonals for repeated labels).
    dims = [sx[in_subs.index(c)] for c in reduced_subs]
    if static and g.shape.is_fully_defined():
        gs = g.shape.as_list()
        full, ones = dims + gs, [1] * len(dims) + gs
    else:
        gs = a.shape(g)
        lead = a.stack([np.int32(d) if isinstance(d, int) else d for d in dims])
        full = am.concat([lead, gs], 0)
        ones = am.concat([am.ones([len(dims)], _dt.int32), gs], 0)
    wide = am.broadcast_to(a.reshape(g, ones), full)
    return einsum_op([wide], f"{reduced_subs}{out_subs}->{in_subs}")


def _grad_wrt(g, others, x, in_subs, other_subs, out_subs):
    """Gradient wrt ``x`` given the other operands: the reversed contraction, then any sums."""
    reduced = set(in_subs) - set(out_subs + "".join(other_subs))
    left = "".join(c for c in in_subs if c not in reduced)
    gr = einsum_op([g, *others], ",".join([out_subs, *other_subs]) + "->" + left)
    return _grad_reduced(gr, left, in_subs, x, reduced) if reduced else gr


def _einsum_grad(op, g):
    ins, out = _parse(op.get_attr("equation"), len(op.inputs))
    expanded = _expand(ins, out, [x.shape.ndims for x in op.inputs])
    if expanded is None:
        raise ValueError(
            f"Einsum gradient: the operands of {op.name!r} with an ellipsis need a known rank"
        )
    ins, out, ell = expanded
    inputs = list(op.inputs)
    if ell and len(ins) > 1:
        inputs = _broadcast_ellipsis(ins, inputs, ell)
    if len(ins) == 1:
        (x,) = op.inputs
        reduced = set(ins[0]) - set(out)
        if not reduced:
            return [einsum_op([g], f"{out}->{ins[0]}")]
        return [_grad_reduced(g, out, ins[0], x, reduced)]
    grads = []
    for i, (x, xb, spec) in enumerate(zip(op.inputs, inputs, ins)):
        others = [t for j, t in enumerate(inputs) if j != i]
        other_subs = [s for j, s in enumerate(ins) if j != i]
        gr = _grad_wrt(g, others, xb, spec, other_subs, out)
        if ell and any(c in ell for c in spec) and (xb is not x or not x.shape.is_fully_defined()):
            from .grads_math import unbroadcast

            # size-1 ellipsis dimensions that broadcast (statically, or at run time): the
            # gradient of broadcast_to(x) summed back to x's shape, as TF's _EinsumGrad does
            gr = unbroadcast(gr, x)
        grads.append(gr)
    return grads


def _broadcast_ellipsis(ins, inputs, ell):
    """``inputs`` with every static size-1 ellipsis dimension that broadcasts against a
    larger static one broadcast to it (the expanded equation has one size per label)."""
    size: dict = {}
    for spec, x in zip(ins, inputs):
        dims = x.shape.as_list()
        for k, c in enumerate(spec):
            if c in ell and dims[k] is not None and dims[k] != 1:
                size[c] = dims[k]
    out = []
    for spec, x in zip(ins, inputs):
        dims = x.shape.as_list()
        want = [size[c] if c in size and dims[k] == 1 else dims[k] for k, c in enumerate(spec)]
        if want == dims:
            out.append(x)
            continue
        if None in want:  # other dimensions known at run time only
            sx = a.shape(x)
            want = a.stack([np.int32(d) if d is not None else sx[k] for k, d in enumerate(want)])
        out.append(am.broadcast_to(x, want))
    return out


defop("Einsum", OPAQUE, _einsum_infer, _einsum_kernel, grad=_einsum_grad, fallback=LINALG)

__all__ = ["einsum", "einsum_op"]
