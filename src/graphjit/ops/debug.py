"""Debugging and escape-hatch ops: Print, StringFormat + PrintV2 (``tf.print``), Assert and the
``tf.debugging.assert_*`` family, CheckNumerics, and PyFunc (``tf.py_func``/``numpy_function``).

All of them run in the interpreter by design: they print, raise or call back into Python.
Asserts whose inputs are constants fail at graph-construction time, as TF's do.
"""

from __future__ import annotations

import re
import sys
import threading
import weakref

import numpy as np

from .. import dtypes as _dt
from ..errors import (
    InvalidArgumentError,
    OpError,
    OutOfRangeError,
    ResourceExhaustedError,
    UnimplementedError,
    UnknownError,
)
from ..graph import Tensor, constant_value, convert_to_tensor, get_default_graph
from ..shapes import TensorShape
from . import math as m
from . import math_more as mm
from .common import FLOATS, check_dtype, make1, make_op
from .registry import OPAQUE, STATEFUL, defop

DEBUG = "prints, checks or calls Python; runs in the interpreter by design"


def _summarize(x, n):
    """TF's ``SummarizeValue``: at most ``n`` entries per axis, numpy-like brackets."""
    x = np.asarray(x)
    if x.dtype == object:
        x = np.vectorize(lambda v: v.decode() if isinstance(v, bytes) else str(v), otypes=[str])(x)
    if n is None or n < 0:
        n = x.size
    opts = {"separator": " ", "threshold": max(int(n), 1), "edgeitems": max(int(n), 1)}
    if x.ndim == 0:
        return str(x.item() if x.dtype.kind != "U" else x)
    return np.array2string(x, max_line_width=10**9, **opts).replace("'", "")


def _summarize_flat(x, n):
    """TF1 ``Print``'s form: no outer brackets, rows as ``[1 2][3 4]``."""
    text = _summarize(x, n)
    if np.ndim(x) == 0:
        return text
    return re.sub(r"\]\s+\[", "][", text.replace("\n", ""))[1:-1]


# ------------------------------------------------------------------ Print (TF1)

_PRINT_COUNTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def _op_name(ctx, node):
    for n, op in zip(ctx.program.nodes, ctx.program.ops):
        if n is node:
            return op.name
    return ""


def _print_kernel(ctx, node, x, *data, message="", first_n=-1, summarize=3, **a):
    if first_n >= 0:
        with _LOCK:
            counts = _PRINT_COUNTS.setdefault(ctx.session, {})
            key = _op_name(ctx, node)
            counts[key] = counts.get(key, 0) + 1
            if counts[key] > first_n:
                return x
    parts = "".join(f"[{_summarize_flat(d, summarize)}]" for d in data)
    print(f"{message}{parts}", file=sys.stderr)
    return x


defop(
    "Print",
    STATEFUL,
    lambda inputs, attrs: [(inputs[0].dtype, inputs[0].shape)],
    _print_kernel,
    grad=lambda op, g: [g] + [None] * (len(op.inputs) - 1),
    uses_ctx=True,
    stateful=True,
    fallback=DEBUG,
    attr_defaults={"message": "", "first_n": -1, "summarize": 3},
)


def Print(input_, data, message=None, first_n=None, summarize=None, name=None) -> Tensor:
    """``tf.Print``: identity on ``input_`` that prints ``message`` and ``data`` to stderr."""
    x = convert_to_tensor(input_)
    data = [convert_to_tensor(d) for d in data]
    attrs = {
        "T": x.dtype,
        "U": [d.dtype for d in data],
        "message": message or "",
        "first_n": -1 if first_n is None else int(first_n),
        "summarize": 3 if summarize is None else int(summarize),
    }
    return make1("Print", [x, *data], attrs, name=name or "Print")


# ------------------------------------------------------------------ tf.print


def _format_kernel(*xs, template="{}", placeholder="{}", summarize=3, **a):
    pieces = template.split(placeholder)
    if len(pieces) - 1 != len(xs):
        raise InvalidArgumentError(None, None, f"{len(pieces) - 1} placeholders in template "
                                   f"and {len(xs)} inputs")  # fmt: skip
    out = pieces[0]
    for x, rest in zip(xs, pieces[1:]):
        out += _summarize(x, summarize) + rest
    return np.array(out.encode(), dtype=object)


defop(
    "StringFormat",
    OPAQUE,
    lambda inputs, attrs: [(_dt.string, TensorShape([]))],
    _format_kernel,
    fallback="string formatting; numpy kernel",
    attr_defaults={"template": "%s", "placeholder": "%s", "summarize": 3},
)


def _print_v2_kernel(x, *, output_stream="stderr", end="\n", **a):
    text = x.item()
    text = text.decode() if isinstance(text, bytes) else str(text)
    stream = sys.stdout if output_stream == "stdout" else sys.stderr
    print(text, end=end, file=stream)
    return ()


defop(
    "PrintV2",
    STATEFUL,
    lambda inputs, attrs: [],
    _print_v2_kernel,
    stateful=True,
    fallback=DEBUG,
    attr_defaults={"output_stream": "stderr", "end": "\n"},
)


def print_v2(*inputs, output_stream=None, sep=" ", end="\n", summarize=3, name=None):
    """``tf.print``: in graph mode, a ``PrintV2`` op (run it, or use it as a control input)."""
    if output_stream is None or output_stream is sys.stderr:
        stream = "stderr"
    elif output_stream is sys.stdout:
        stream = "stdout"
    else:
        stream = output_stream
    if stream not in ("stderr", "stdout"):
        raise ValueError(f"Unsupported output stream {output_stream!r}; use sys.stderr or stdout")
    parts, tensors = [], []
    for v in inputs:
        if isinstance(v, Tensor) or hasattr(v, "_as_graph_tensor"):
            parts.append("{}")
            tensors.append(convert_to_tensor(v))
        else:
            parts.append(str(v).replace("{}", "{ }"))
    attrs = {"T": [t.dtype for t in tensors], "template": sep.join(parts), "placeholder": "{}",
             "summarize": int(summarize)}  # fmt: skip
    g = tensors[0].graph if tensors else get_default_graph()
    with g.as_default():
        s = make1("StringFormat", tensors, attrs, name="StringFormat")
        attrs2 = {"output_stream": stream, "end": end}
        return make_op("PrintV2", [s], attrs2, name=name or "PrintV2")


# ------------------------------------------------------------------ Assert


def _assert_kernel(cond, *data, summarize=3, **a):
    if not np.all(cond):
        parts = ", ".join(
            d.item().decode() if d.dtype == object and d.ndim == 0 and isinstance(d.item(), bytes)
            else _summarize(d, summarize) for d in data
        )  # fmt: skip
        raise InvalidArgumentError(None, None, f"assertion failed: [{parts}]")
    return ()


def _assert_infer(inputs, attrs):
    c = inputs[0]
    if c.dtype is not _dt.bool:
        raise TypeError(f"Value passed to parameter 'condition' has DataType {c.dtype.name} "
                        "not in list of allowed values: bool")  # fmt: skip
    if c.shape.ndims not in (None, 0):
        raise ValueError(f"Shape must be rank 0 but is rank {c.shape.ndims} for 'Assert'")
    return []


defop("Assert", STATEFUL, _assert_infer, _assert_kernel, stateful=True, fallback=DEBUG,
      attr_defaults={"summarize": 3})  # fmt: skip


def Assert(condition, data, summarize=None, name=None):
    """``tf.Assert``: an op that raises ``InvalidArgumentError`` when ``condition`` is False."""
    c = convert_to_tensor(condition)
    data = [convert_to_tensor(d) for d in data]
    attrs = {"T": [d.dtype for d in data], "summarize": 3 if summarize is None else summarize}
    with c.graph.as_default():
        return make_op("Assert", [c, *data], attrs, name=name or "Assert")


def _static_fail(data, message):
    lines = [] if message is None else [str(message)]
    for d in data:
        v = constant_value(d) if isinstance(d, Tensor) else d
        lines.append(str(v) if not isinstance(v, np.ndarray) else _summarize(v, -1))
    raise InvalidArgumentError(None, None, "\n".join(lines))


def _binary_assert(sym, opname, fn, npfn):
    def check(x, y, data=None, summarize=None, message=None, name=None):
        g = get_default_graph()
        with g.name_scope(name or opname):
            x = convert_to_tensor(x)
            y = convert_to_tensor(y, dtype=x.dtype) if not isinstance(y, Tensor) else y
            if data is None:
                data = [f"Condition x {sym} y did not hold element-wise:",
                        f"x ({x.name}) = ", x, f"y ({y.name}) = ", y]  # fmt: skip
            if message is not None:
                data = [message, *data]
            xs, ys = constant_value(x), constant_value(y)
            if xs is not None and ys is not None and not np.all(npfn(xs, ys)):
                _static_fail(data, None)
            cond = mm.reduce_all(fn(x, y))
            return Assert(cond, data, summarize=summarize)

    check.__name__ = opname
    check.__doc__ = f"``tf.debugging.{opname}``: raise unless ``x {sym} y`` everywhere."
    return check


assert_equal = _binary_assert("==", "assert_equal", m.equal, np.equal)
assert_none_equal = _binary_assert("!=", "assert_none_equal", m.not_equal, np.not_equal)
assert_less = _binary_assert("<", "assert_less", m.less, np.less)
assert_less_equal = _binary_assert("<=", "assert_less_equal", m.less_equal, np.less_equal)
assert_greater = _binary_assert(">", "assert_greater", m.greater, np.greater)
assert_greater_equal = _binary_assert(">=", "assert_greater_equal", m.greater_equal,
                                      np.greater_equal)  # fmt: skip


def _unary_assert(sym, opname, zero_op):
    def check(x, data=None, summarize=None, message=None, name=None):
        x = convert_to_tensor(x)
        with x.graph.as_default():
            zero = np.zeros((), x.dtype.np)
            if data is None:
                data = [f"Condition x {sym} 0 did not hold element-wise:", f"x ({x.name}) = ", x]
            return zero_op(x, zero, data=data, summarize=summarize, message=message,
                           name=name or opname)  # fmt: skip

    check.__name__ = opname
    return check


assert_positive = _unary_assert(">", "assert_positive", lambda x, z, **k: assert_less(z, x, **k))
assert_negative = _unary_assert("<", "assert_negative", assert_less)
assert_non_negative = _unary_assert(
    ">=", "assert_non_negative", lambda x, z, **k: assert_less_equal(z, x, **k)
)
assert_non_positive = _unary_assert("<=", "assert_non_positive", assert_less_equal)


# ------------------------------------------------------------------ CheckNumerics


def _check_numerics_kernel(x, *, message="", T=None):
    if np.isnan(x).any():
        raise InvalidArgumentError(None, None, f"{message} : Tensor had NaN values")
    if np.isinf(x).any():
        raise InvalidArgumentError(None, None, f"{message} : Tensor had Inf values")
    return x


def _check_numerics_infer(inputs, attrs):
    check_dtype(inputs[0].dtype, FLOATS)
    return [(inputs[0].dtype, inputs[0].shape)]


_GRAD_MSG = "Not a number (NaN) or infinity (Inf) values detected in gradient. "
defop(
    "CheckNumerics",
    OPAQUE,
    _check_numerics_infer,
    _check_numerics_kernel,
    grad=lambda op, g: [check_numerics(g, _GRAD_MSG + op.get_attr("message"))],
    fallback=DEBUG,
)


def check_numerics(tensor, message, name=None) -> Tensor:
    """Identity that raises ``InvalidArgumentError`` on NaN or Inf (``tf.check_numerics``)."""
    x = convert_to_tensor(tensor)
    return make1("CheckNumerics", [x], {"T": x.dtype, "message": message},
                 name=name or "CheckNumerics")  # fmt: skip


# ------------------------------------------------------------------ PyFunc

_FUNCS: dict[str, object] = {}
_COUNTER = [0]
_TF_NAMES = {"float32": "float", "float64": "double", "string": "string", "float16": "half"}


def _tf_name(dt) -> str:
    return _TF_NAMES.get(dt.name, dt.name)


def _pyfunc_kernel(*args, token, Tout=(), Tin=None, **a):
    fn = _FUNCS.get(token)
    if fn is None:
        raise UnknownError(None, None, f"Could not find the Python callback {token!r}")
    try:
        ret = fn(*[x.item() if x.dtype == object and x.ndim == 0 else x for x in args])
    except OpError:
        raise
    except (ValueError, TypeError) as e:
        raise InvalidArgumentError(None, None, f"{type(e).__name__}: {e}") from e
    except StopIteration as e:
        raise OutOfRangeError(None, None, f"StopIteration: {e}") from e
    except MemoryError as e:
        raise ResourceExhaustedError(None, None, f"MemoryError: {e}") from e
    except NotImplementedError as e:
        raise UnimplementedError(None, None, f"NotImplementedError: {e}") from e
    except Exception as e:
        raise UnknownError(None, None, f"{type(e).__name__}: {e}") from e
    tout = [_dt.as_dtype(t) for t in Tout]
    if not tout:
        return ()
    vals = list(ret) if isinstance(ret, (list, tuple)) else [ret]
    if len(vals) != len(tout):
        raise InvalidArgumentError(None, None, f"{token} returns {len(vals)} values, but "
                                   f"expects to see {len(tout)} values.")  # fmt: skip
    outs = []
    for i, (v, dt) in enumerate(zip(vals, tout)):
        if dt is _dt.string:
            arr = np.asarray(v, dtype=object)
            arr = np.vectorize(lambda s: s.encode() if isinstance(s, str) else s,
                               otypes=[object])(arr) if arr.size else arr  # fmt: skip
        else:
            arr = np.asarray(v)
            got = _dt.as_dtype(arr.dtype) if arr.dtype.kind not in "OUS" else _dt.string
            if got is not dt:
                msg = f"{i}-th value returned by {token} is {_tf_name(got)}, but expects "
                raise InvalidArgumentError(None, None, msg + _tf_name(dt))
            arr = np.array(arr, copy=True)
        outs.append(arr)
    return tuple(outs) if len(outs) > 1 else outs[0]


def _pyfunc_infer(inputs, attrs):
    return [(_dt.as_dtype(t), TensorShape(None)) for t in attrs["Tout"]]


_PY = {"fallback": "calls back into Python by design", "attr_defaults": {"Tin": []}}
defop("PyFunc", STATEFUL, _pyfunc_infer, _pyfunc_kernel, stateful=True, **_PY)
defop("PyFuncStateless", OPAQUE, _pyfunc_infer, _pyfunc_kernel, **_PY)


def py_func(func, inp, Tout, stateful=True, name=None):
    """``tf.py_func``: call ``func`` on the numpy values of ``inp`` at run time."""
    xs = [convert_to_tensor(x) for x in inp]
    is_list = isinstance(Tout, (list, tuple))
    tout = [_dt.as_dtype(t) for t in (Tout if is_list else [Tout])]
    with _LOCK:
        token = f"pyfunc_{_COUNTER[0]}"
        _COUNTER[0] += 1
    _FUNCS[token] = func
    g = xs[0].graph if xs else get_default_graph()
    attrs = {"token": token, "Tin": [x.dtype for x in xs], "Tout": tout}
    op_type = "PyFunc" if stateful else "PyFuncStateless"
    with g.as_default():
        op = make_op(op_type, xs, attrs, name=name or op_type)
    if not tout:
        return op
    return list(op.outputs) if is_list else op.outputs[0]


def numpy_function(func, inp, Tout, stateful=True, name=None):
    """``tf.numpy_function``: like :func:`py_func` (arguments are numpy arrays)."""
    return py_func(func, inp, Tout, stateful=stateful, name=name)
