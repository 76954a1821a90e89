"""String ops: ``tf.as_string``, ``tf.string_join``, ``tf.substr``,
``tf.string_split``, ``tf.string_to_number``, and ``tf.strings.length``, ``lower``, ``upper``,
``strip``; ``tf.string_split`` and ``tf.strings.split`` (to a ``SparseTensor``) live in
:mod:`graphjit.ops.strings_split`.

A string tensor is an object array of ``bytes``; a Python ``str`` is encoded as UTF-8, as TF
does. Every kernel is Python over those objects, so these ops are links of a compiled chain
(``graphjit.inspect_chain`` shows :data:`FALLBACK` as the reason) and none has a gradient
(TF registers them ``NotDifferentiable``). Errors follow TF's kernels: bad attribute values and
out-of-range positions raise ``InvalidArgumentError`` when the session runs; static shape
mismatches raise ``ValueError`` when the graph is built. The regex ops (``tf.regex_replace``,
``tf.strings.regex_full_match``) live in :mod:`graphjit.ops.strings_regex`.

>>> import graphjit.compat.v1 as tf
>>> x = tf.placeholder(tf.string, [None])
>>> y = tf.strings.join([tf.strings.upper(x), tf.as_string(tf.strings.length(x))], "=")
>>> tf.Session().run(y, {x: ["ab", "héllo"]})
array([b'AB=2', b'H\\xc3\\xa9LLO=6'], dtype=object)
"""

from __future__ import annotations

import math
import re

import numpy as np

from .. import dtypes as _dt
from ..errors import InvalidArgumentError, UnimplementedError
from ..graph import Tensor, convert_to_tensor
from ..shapes import TensorShape, broadcast_static
from .common import NUMERIC, check_dtype, make1
from .registry import OPAQUE, defop

FALLBACK = "string tensors are object arrays; numba does not compile them"
INDEX = frozenset({_dt.int32, _dt.int64})
UNITS = ("BYTE", "UTF8_CHAR")
_WS = b" \t\n\v\f\r"  # absl's ASCII whitespace


def _nd(op, *grads):
    return [None] * len(op.inputs)


_nd.not_differentiable = True  # TF: ops.NotDifferentiable for every string op


def _def(op_type, infer, kernel, **defaults):
    defop(op_type, OPAQUE, infer, kernel, grad=_nd, fallback=FALLBACK, attr_defaults=defaults)


def _iae(msg):
    return InvalidArgumentError(None, None, msg)


def _b(v) -> bytes:
    return v if isinstance(v, bytes) else v.encode("utf-8") if isinstance(v, str) else bytes(v)


def _text(s: bytes) -> str:
    return s.decode("utf-8", "replace")


def _dbg(shape) -> str:
    """TF's ``TensorShape::DebugString``: ``[2,3]``."""
    return "[" + ",".join(str(d) for d in shape) + "]"


def _each(x, fn, dtype=object) -> np.ndarray:
    """``fn`` applied to every element (as bytes) of the string array ``x``; same shape."""
    x = np.asarray(x, dtype=object)
    vals = [fn(_b(v)) for v in x.reshape(-1)]
    if dtype is not object:
        return np.array(vals, dtype).reshape(x.shape)
    out = np.empty(len(vals), object)
    out[:] = vals
    return out.reshape(x.shape)


def _str(x, op_type, arg="input") -> Tensor:
    """``x`` as a string tensor; TF's ``TypeError`` for a tensor of another dtype."""
    if isinstance(x, (np.ndarray, np.generic)) and x.dtype.kind not in "OSU":
        t = convert_to_tensor(x)  # a numeric array is refused below, never turned into bytes
    elif isinstance(x, Tensor):
        t = convert_to_tensor(x)
    else:
        t = convert_to_tensor(x, _dt.string)
    if t.dtype is not _dt.string:
        raise TypeError(
            f"Input '{arg}' of '{op_type}' Op has type {t.dtype.name} that does not match "
            "expected type of string."
        )
    return t


def _need_str(t, op_type):
    if t.dtype is not _dt.string:
        raise TypeError(f"'{op_type}' expects string inputs, got {t.dtype.name}")


def _need_rank(t, rank, op_type):
    n = t.shape.ndims
    if n is not None and n != rank:
        raise ValueError(f"Shape must be rank {rank} but is rank {n} for '{op_type}'")


def _need_unit(unit, op_type):
    if unit not in UNITS:
        raise ValueError(
            f"Attr 'unit' of '{op_type}' Op passed string '{unit}' not in: \"BYTE\", "
            '"UTF8_CHAR".'
        )


def _same_shape(op_type, dtype=_dt.string):
    """Inference for one string input -> one ``dtype`` output of its shape."""

    def infer(inputs, attrs):
        _need_str(inputs[0], op_type)
        for t in inputs[1:]:  # pattern/rewrite operands: string scalars
            _need_str(t, op_type)
            _need_rank(t, 0, op_type)
        if "unit" in attrs:
            _need_unit(attrs["unit"], op_type)
        return [(dtype, inputs[0].shape)]

    return infer


# ------------------------------------------------------------------ AsString

_AS_STRING_T = NUMERIC | {_dt.complex64, _dt.complex128, _dt.bool, _dt.string}


def _as_string_infer(inputs, attrs):
    check_dtype(inputs[0].dtype, _AS_STRING_T)
    return [(_dt.string, inputs[0].shape)]


def _as_string_kernel(x, *, T, precision=-1, scientific=False, shortest=False, width=-1,
                      fill="", **_):  # fmt: skip
    dt = _dt.as_dtype(T)
    fill = fill.decode() if isinstance(fill, bytes) else fill
    inexact = dt.is_floating or dt.is_complex
    if dt is not _dt.string and not inexact:
        if scientific or shortest:
            raise _iae(f"scientific and shortest format not supported for datatype {dt.name}")
        if precision >= 0:
            raise _iae(f"precision not supported for datatype {dt.name}")
    if len(fill) > 1:
        raise _iae("Fill string must be one or fewer characters")
    if scientific and shortest:
        raise _iae("Cannot select both scientific and shortest notation")
    if fill and fill not in " +-0#":
        raise _iae(f'Fill argument not supported: "{fill}"')
    width = max(width, 0)
    prec = (precision,) if precision >= 0 else ()
    star = "%" + fill + "*" + (".*" if prec else "")
    if dt is _dt.string:
        if width <= 0:
            return x
        fmt = (star + "s").encode()
        return _each(x, lambda s: fmt % (width, *prec, s))
    if dt is _dt.bool:
        flat = ["true" if v else "false" for v in x.reshape(-1).tolist()]
    elif not inexact:
        flat = [(star + "d") % (width, v) for v in x.reshape(-1).tolist()]
    else:
        fmt = star + ("g" if shortest else "e" if scientific else "f")
        nz = fmt.replace("%0", "%")  # C pads inf/nan with spaces, never zeros

        def one(v):
            if math.isfinite(v):
                return fmt % (width, *prec, v)
            s = nz % (width, *prec, math.copysign(math.inf, v))
            return s.replace("inf", "nan") if v != v else s  # keeps C's "-nan"

        if dt.is_complex:
            flat = [f"({one(v.real)},{one(v.imag)})" for v in x.reshape(-1).tolist()]
        else:
            flat = [one(v) for v in x.reshape(-1).tolist()]
    out = np.empty(len(flat), object)
    out[:] = [s.encode() for s in flat]
    return out.reshape(x.shape)


_def("AsString", _as_string_infer, _as_string_kernel, precision=-1, scientific=False,
     shortest=False, width=-1, fill="")  # fmt: skip


def as_string(input, precision=-1, scientific=False, shortest=False, width=-1, fill="",
              name=None) -> Tensor:  # fmt: skip
    """``tf.as_string``: format numbers (and bools, as ``b"true"``/``b"false"``) as strings.

    ``precision``/``scientific``/``shortest`` apply to floats and complex numbers; ``width``
    pads on the left (``fill="-"`` on the right, ``"0"`` with zeros, ``"+"``/``" "`` add a sign).
    >>> import graphjit.compat.v1 as tf
    >>> tf.Session().run(tf.as_string(tf.constant([3.5, -1.0]), precision=2)).tolist()
    [b'3.50', b'-1.00']
    """
    x = convert_to_tensor(input)
    attrs = {"T": x.dtype, "precision": int(precision), "scientific": bool(scientific),
             "shortest": bool(shortest), "width": int(width), "fill": fill}  # fmt: skip
    return make1("AsString", [x], attrs, name=name or "AsString")


# ------------------------------------------------------------------ StringJoin


def _merge(out: TensorShape, s: TensorShape, inputs):
    """TF's shape-function ``Merge`` (equal rank, equal known dimensions)."""
    where = f" for 'StringJoin' with input shapes: {', '.join(_tf(t) for t in inputs)}."
    if out.ndims is None:
        return s
    if out.ndims != s.ndims:
        raise ValueError(f"Shapes must be equal rank, but are {out.ndims} and {s.ndims}{where}")
    for i, (a, b) in enumerate(zip(out.as_list(), s.as_list())):
        if a is not None and b is not None and a != b:
            raise ValueError(
                f"Dimension {i} in both shapes must be equal, but are {a} and {b}. Shapes are "
                f"{out.tf_str()} and {s.tf_str()}.{where}"
            )
    return out.merge_with(s)


def _tf(t):
    return t.shape.tf_str()


def _join_infer(inputs, attrs):
    bad = [t.dtype.name for t in inputs if t.dtype is not _dt.string]
    if bad:
        raise TypeError(
            f"Tensors in list passed to 'inputs' of 'StringJoin' Op have types {bad} that do "
            "not match expected type string."
        )
    if all(t.shape.ndims == 0 for t in inputs):
        return [(_dt.string, TensorShape([]))]
    out = TensorShape(None)
    for t in inputs:  # scalars and unknown ranks broadcast; the rest must agree
        if t.shape.ndims:
            out = _merge(out, t.shape, inputs)
    return [(_dt.string, out)]


def _join_kernel(*xs, separator="", **_):
    shape = ()
    for x in xs:
        if x.ndim:
            if shape and x.shape != shape:
                raise _iae(f"Input shapes do not match: {_dbg(shape)} vs. {_dbg(x.shape)}")
            shape = x.shape
    sep = _b(separator)
    cols = [np.broadcast_to(x, shape).reshape(-1) for x in xs]
    n = int(np.prod(shape, dtype=np.int64))
    out = np.empty(n, object)
    out[:] = [sep.join(_b(c[i]) for c in cols) for i in range(n)]
    return out.reshape(shape)


_def("StringJoin", _join_infer, _join_kernel, separator="")


def string_join(inputs, separator="", name=None) -> Tensor:
    """``tf.string_join`` / ``tf.strings.join``: element-wise concatenation with ``separator``.

    Inputs must share one shape; scalars broadcast against it.
    >>> import graphjit.compat.v1 as tf
    >>> tf.Session().run(tf.string_join([["a", "b"], "x"], separator="-")).tolist()
    [b'a-x', b'b-x']
    """
    ts = [convert_to_tensor(x) if isinstance(x, Tensor) else _str(x, "StringJoin", "inputs")
          for x in inputs]  # fmt: skip
    attrs = {"N": len(ts), "separator": separator}
    return make1("StringJoin", ts, attrs, name=name or "StringJoin")


# ------------------------------------------------------------------ Substr


def _substr_infer(inputs, attrs):
    x, pos, ln = inputs
    _need_str(x, "Substr")
    check_dtype(pos.dtype, INDEX)
    if ln.dtype is not pos.dtype:
        raise TypeError(
            f"Input 'len' of 'Substr' Op has type {ln.dtype.name} that does not match type "
            f"{pos.dtype.name} of argument 'pos'."
        )
    _need_unit(attrs.get("unit", "BYTE"), "Substr")
    pr, lr = pos.shape.ndims, ln.shape.ndims
    if pr is not None and lr is not None and pr != lr:
        raise ValueError(f"Shape must be rank {lr} but is rank {pr} for 'Substr'")
    if pr is not None:  # TF compares dimension values, an unknown one counting as -1
        dl = ln.shape.as_list() if lr is not None else [None] * pr
        if any(a != b for a, b in zip(pos.shape.as_list(), dl)):
            raise ValueError(
                f"pos and len shapes must match: {_tf(pos)} vs. {_tf(ln)} for 'Substr'"
            )
    return [(_dt.string, broadcast_static(x.shape, pos.shape, " for 'Substr'"))]


def _fwd(s, n, at):
    """``ForwardNUTF8CharPositions``: (moved exactly n characters, new byte position)."""
    k = 0
    while k < n and at < len(s):
        at += 1
        while at < len(s) and 0x80 <= s[at] < 0xC0:
            at += 1
        k += 1
    return k == n, at


def _back(s, n, at):
    """``BackNUTF8CharPositions``."""
    k = 0
    while k < n and at > 0:
        at -= 1
        while 0x80 <= s[at] < 0xC0 and at > 0:
            at -= 1
        k += 1
    return k == n, at


def _substr_one(s, pos, ln, utf8):
    """One substring as TF computes it, or None when ``pos`` is out of range."""
    if not utf8:
        p = pos + len(s) if pos < 0 else pos
        if not 0 <= p <= len(s):
            return None
        return s[p:] if ln < 0 else s[p : p + ln]  # a negative length means "to the end"
    if pos >= 0:
        ok, start = _fwd(s, pos, 0)
        return s[start : _fwd(s, ln, start)[1]] if ok else None
    skip = max(-pos - ln, 0)
    ok, end = _back(s, skip, len(s))
    ok2, start = _back(s, -pos - skip, end) if ok else (False, 0)
    return s[start:end] if ok2 else None


def _substr_kernel(x, pos, ln, *, unit="BYTE", **_):
    if pos.shape != ln.shape:
        raise _iae(
            f"pos and len should have the same shape, got: {_dbg(pos.shape)} vs. {_dbg(ln.shape)}"
        )
    utf8 = unit == "UTF8_CHAR"
    if pos.ndim == 0 or x.shape == pos.shape:
        shape = x.shape
        index = list(range(x.size))
    else:
        try:
            shape = np.broadcast_shapes(x.shape, pos.shape)
        except ValueError:
            raise _iae(f"Incompatible shapes: {_dbg(x.shape)} vs. {_dbg(pos.shape)}") from None
        if len(shape) not in (1, 2):
            raise UnimplementedError(
                None, None, f"Substr broadcast not implemented for {len(shape)} dimensions"
            )
        index = [i if len(shape) == 1 else i if utf8 else f"({i}, {j})"
                 for i, j in np.ndindex(*shape, *(1,) * (2 - len(shape)))]  # fmt: skip
    xs, ps, ls = (np.broadcast_to(a, shape).reshape(-1) for a in (x, pos, ln))
    out = np.empty(len(index), object)
    for k, i in enumerate(index):
        s, p = _b(xs[k]), int(ps[k])
        sub = _substr_one(s, p, int(ls[k]), utf8)
        if sub is None:
            what = "string" if utf8 else f"string b'{_text(s)}'"
            raise _iae(f"pos {p} out of range for {what} at index {i}")
        out[k] = sub
    return out.reshape(shape)


_def("Substr", _substr_infer, _substr_kernel, unit="BYTE")


def substr(input, pos, len, name=None, unit="BYTE") -> Tensor:
    """``tf.substr`` / ``tf.strings.substr``: ``len`` bytes (or UTF-8 characters) from ``pos``.

    A negative ``pos`` counts from the end; a ``pos`` past either end raises
    ``InvalidArgumentError`` when run; ``pos``/``len`` broadcast against ``input``.
    >>> import graphjit.compat.v1 as tf
    >>> tf.Session().run(tf.substr(tf.constant(["hello", "ab"]), -2, 5)).tolist()
    [b'lo', b'ab']
    """
    x = _str(input, "Substr")
    p = convert_to_tensor(pos)  # T comes from pos; a Python len takes it (TF's op helper)
    lt = isinstance(len, Tensor) or p.dtype not in INDEX
    ln = convert_to_tensor(len) if lt else convert_to_tensor(len, dtype=p.dtype)
    attrs = {"T": p.dtype, "unit": unit}
    return make1("Substr", [x, p, ln], attrs, name=name or "Substr")


# ------------------------------------------------------------------ length, numbers, case

_TRAIL = re.compile(rb"[\x80-\xbf]")


def _length_kernel(x, *, unit="BYTE", **_):
    if unit == "UTF8_CHAR":  # every byte that is not a UTF-8 continuation byte
        return _each(x, lambda s: len(s) - len(_TRAIL.findall(s)), np.int32)
    return _each(x, len, np.int32)


_def("StringLength", _same_shape("StringLength", dtype=_dt.int32), _length_kernel, unit="BYTE")


def string_length(input, name=None, unit="BYTE") -> Tensor:
    """``tf.strings.length``: bytes (``unit="BYTE"``) or UTF-8 characters per string."""
    x = _str(input, "StringLength")
    _need_unit(unit, "StringLength")
    return make1("StringLength", [x], {"unit": unit}, name=name or "StringLength")


_NUMBER_T = frozenset({_dt.float32, _dt.float64, _dt.int32, _dt.int64, _dt.uint32, _dt.uint64})
_INT = re.compile(rb"[ \t\n\v\f\r]*([+-]?)([0-9]+)[ \t\n\v\f\r]*\Z")
_HEX = re.compile(rb"[+-]?0[xX][0-9a-fA-F.]")
_NAN = re.compile(rb"[+-]?nan\([0-9A-Za-z_]*\)\Z", re.I)


def _number(s: bytes, dt):
    """absl's ``SimpleAtoi``/``SimpleAtod``: ASCII only, surrounding whitespace allowed,
    ``inf``/``nan``/hex floats accepted; None when the string is not a number."""
    if dt.is_integer:
        m = _INT.match(s)
        if m is None or (dt.is_unsigned and m.group(1) == b"-"):
            return None
        v = int(m.group(1) + m.group(2))
        info = np.iinfo(dt.np)
        return v if info.min <= v <= info.max else None
    t = s.strip(_WS)
    if not t or not t.isascii() or b"_" in t:
        return None
    try:
        return float(t)
    except ValueError:
        pass
    if _HEX.match(t):
        try:
            return float.fromhex(t.decode())
        except ValueError:
            return None
    return math.nan if _NAN.match(t) else None


def _to_number_kernel(x, *, out_type=_dt.float32, **_):
    dt = _dt.as_dtype(out_type)
    vals = []
    for s in np.asarray(x, object).reshape(-1):
        v = _number(_b(s), dt)
        if v is None:
            raise _iae(f"StringToNumberOp could not correctly convert string: {_text(_b(s))}")
        vals.append(v)
    with np.errstate(over="ignore"):  # out-of-range floats become +-inf, as in TF
        return (
            np.array(vals, np.float64 if dt.is_floating else dt.np).astype(dt.np).reshape(x.shape)
        )


def _to_number_infer(inputs, attrs):
    out = _dt.as_dtype(attrs.get("out_type", _dt.float32))
    check_dtype(out, _NUMBER_T)
    return _same_shape("StringToNumber", dtype=out)(inputs, attrs)


_def("StringToNumber", _to_number_infer, _to_number_kernel, out_type=_dt.float32)


def string_to_number(string_tensor=None, out_type=_dt.float32, name=None, input=None) -> Tensor:
    """``tf.strings.to_number``: parse each string as ``out_type`` (float32 by default);
    a string that is not a number raises ``InvalidArgumentError`` when run."""
    x = _str(string_tensor if string_tensor is not None else input, "StringToNumber",
             "string_tensor")  # fmt: skip
    attrs = {"out_type": _dt.as_dtype(out_type)}
    return make1("StringToNumber", [x], attrs, name=name or "StringToNumber")


def _case_kernel(method):
    def kernel(x, *, encoding="", **_):
        if encoding not in ("", "utf-8"):
            raise _iae(f"only utf-8 or '' (no encoding) is supported, received {encoding}")
        if not encoding:  # ASCII letters only, as absl::AsciiStrToLower
            return _each(x, getattr(bytes, method))
        return _each(x, lambda s: getattr(s.decode("utf-8", "replace"), method)().encode())

    return kernel


_def("StringLower", _same_shape("StringLower"), _case_kernel("lower"), encoding="")
_def("StringUpper", _same_shape("StringUpper"), _case_kernel("upper"), encoding="")
_def("StringStrip", _same_shape("StringStrip"), lambda x, **_: _each(x, lambda s: s.strip(_WS)))


def lower(input, encoding="", name=None) -> Tensor:
    """``tf.strings.lower``: ASCII letters (``encoding=""``) or all of Unicode (``"utf-8"``)."""
    x = _str(input, "StringLower")
    return make1("StringLower", [x], {"encoding": encoding}, name=name or "StringLower")


def upper(input, encoding="", name=None) -> Tensor:
    """``tf.strings.upper``: ASCII letters (``encoding=""``) or all of Unicode (``"utf-8"``)."""
    x = _str(input, "StringUpper")
    return make1("StringUpper", [x], {"encoding": encoding}, name=name or "StringUpper")


def strip(input, name=None) -> Tensor:
    """``tf.strings.strip`` / ``tf.string_strip``: remove leading and trailing ASCII
    whitespace."""
    return make1("StringStrip", [_str(input, "StringStrip")], {}, name=name or "StringStrip")


from .strings_split import string_split, strings_split  # noqa: E402,F401  (re-exported)
