"""Scalar expressions and numba types for generated code (pure Python, no numba import).

Scalar templates come from the registry (``OpDef.scalar``): a format string with ``{0}``,
``{1}`` slots, a callable ``f(attrs) -> template``, or a short name (``"exp"``, ``"floordiv"``,
``"cast"``, ``"sum"``) resolved per dtype here (transcendentals via :mod:`graphjit.mathlib`).
Broadcast-dimension checks are emitted as branch-free single assignments (see
:func:`bd_lines`): numba's SSA reconstruction and IR post-processing cost grows with the number
of reassigned names times the number of basic blocks, and ternaries add both.
"""

from __future__ import annotations

import re

INTS = frozenset({"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"})

# mathlib symbols (FUNCS in graphjit.mathlib) without importing numba here
_MATHLIB = {"exp", "expm1", "log", "log1p", "tanh", "sigmoid", "softplus"}
NP_NAMES = {
    "sqrt": "np.sqrt",
    "sin": "np.sin",
    "cos": "np.cos",
    "tan": "np.tan",
    "asin": "np.arcsin",
    "acos": "np.arccos",
    "atan": "np.arctan",
    "sinh": "np.sinh",
    "cosh": "np.cosh",
    "floor": "np.floor",
    "ceil": "np.ceil",
    "rint": "np.rint",
    "isnan": "np.isnan",
    "isinf": "np.isinf",
    "isfinite": "np.isfinite",
    "erf": "math.erf",
    "erfc": "math.erfc",
    "exp": "np.exp",
    "expm1": "np.expm1",
    "log": "np.log",
    "log1p": "np.log1p",
    "tanh": "np.tanh",
}
FUNC_RE = re.compile(r"(?<![\w.])(" + "|".join(sorted(NP_NAMES)) + r"|sigmoid|softplus)\(")


def math_call(name: str, dt: str) -> str:
    """A vectorizable call for a transcendental (mathlib for float32/64, else numpy)."""
    if name in _MATHLIB and dt in ("float32", "float64"):
        return f"_m.{name}_{'f32' if dt == 'float32' else 'f64'}"
    if name == "erf" and dt == "float32":
        return "_m.erf_f32"
    if name == "sigmoid":
        return "_k.sigmoid"
    if name == "softplus":
        return "_k.softplus"
    return NP_NAMES[name]


def short_expr(name: str, ops: list, in_dt: str, out_dt: str, attrs: dict) -> str:
    """Expression for a short-name template."""
    a = ops[0]
    b = ops[1] if len(ops) > 1 else None
    is_int = in_dt in INTS
    if name == "div":
        return f"_k.itruncdiv({a}, {b})" if is_int else f"({a} / {b})"
    if name == "reciprocal":
        return f"_k.ifloordiv(1, {a})" if is_int else f"(1 / {a})"
    if name == "floordiv":
        return f"_k.ifloordiv({a}, {b})" if is_int else f"np.floor({a} / {b})"
    if name == "floormod":
        return f"_k.ifloormod({a}, {b})" if is_int else f"_k.ffloormod({a}, {b})"
    if name == "pow":
        return f"_k.ipow({a}, {b})" if is_int else f"({a} ** {b})"
    if name in ("maximum", "minimum"):
        return f"_k.{name}({a}, {b})"
    if name == "sign":
        return f"_k.sign({a})"
    if name in ("zeros", "ones"):  # ZerosLike / OnesLike: the operand only sets the shape
        if out_dt == "bool":
            return "False" if name == "zeros" else "True"
        return "0" if name == "zeros" else "1"
    if name == "cast":
        return f"({a} != 0)" if out_dt == "bool" else f"{ctor(out_dt)}({a})"
    if name in NP_NAMES or name in ("sigmoid", "softplus"):
        return f"{math_call(name, in_dt)}({a})"
    raise KeyError(f"unknown scalar template {name!r}")


def bd_lines(name: str, parts: list) -> tuple[list, list]:
    """Statements broadcasting the dimension expressions ``parts`` into ``name``.

    Returns ``(lines, oks)``: ``oks`` names booleans that are false when two parts are
    incompatible (the caller raises on them). Every name is assigned once and no line
    branches: ``b if a == 1 else a`` is written ``a + (b - a) * (a == 1)``, which also keeps
    ``broadcast(1, 0) == 0``. Emitted inline rather than as calls to a jitted helper
    (``kernels.bd``): on LLVM 20 (numba 0.65) a segment with a dozen such calls in its
    preamble made LLVM's inliner stop inlining the ``mathlib`` calls in the loop, so an
    exp/tanh loop ran as a scalar call loop (13x slower); see "Transcendental loops" in
    ``docs/jit.md``.
    """
    uniq = list(dict.fromkeys(parts)) or ["1"]
    if len(uniq) == 1:
        return [f"{name} = {uniq[0]}"], []
    lines, oks = [], []
    acc = uniq[0]
    for k, p in enumerate(uniq[1:]):
        nm = name if k == len(uniq) - 2 else f"{name}_{k}"
        lines.append(f"{nm}_ok = ({acc} == {p}) | ({acc} == 1) | ({p} == 1)")
        lines.append(f"{nm} = {acc} + ({p} - {acc}) * ({acc} == 1)")
        oks.append(f"{nm}_ok")
        acc = nm
    return lines, oks


def ctor(dt: str) -> str:
    """The numpy scalar constructor of dtype ``dt`` in generated code."""
    return "np.bool_" if dt == "bool" else f"np.{dt}"


def numba_type(dt: str, rank: int, writable: bool = False, buffer: bool = False) -> str:
    """The numba type string of a segment parameter (``buffer``: rank 0 as a 0-d array)."""
    t = "boolean" if dt == "bool" else dt
    ro = "" if writable else ", readonly=True"
    return t if rank == 0 and not buffer else f"Array({t}, {rank}, 'C'{ro})"


def reduce_parts(name, dt):
    """(accumulator dtype, init expr, combine template with {acc} {x})."""
    is_int = dt in INTS
    acc = ("uint64" if dt.startswith("u") else "int64") if is_int else dt
    if name in ("sum", "mean"):
        return acc, f"np.{acc}(0)", "{acc} + {x}"
    if name == "prod":
        return acc, f"np.{acc}(1)", "{acc} * {x}"
    if name == "max":
        init = f"np.iinfo(np.{dt}).min" if is_int else "-np.inf"
        return dt, f"np.{dt}({init})", "_k.maximum({acc}, {x})"
    if name == "min":
        init = f"np.iinfo(np.{dt}).max" if is_int else "np.inf"
        return dt, f"np.{dt}({init})", "_k.minimum({acc}, {x})"
    raise KeyError(f"unknown reduction template {name!r}")
