"""``tf.string_split`` (``StringSplit``) and ``tf.strings.split`` (``StringSplitV2``): each
string of a 1-D tensor split into tokens, as a ``SparseTensor``. Fallback links like every
string op (see :mod:`graphjit.ops.strings`, whose helpers these kernels share).

>>> import graphjit.compat.v1 as tf
>>> sp = tf.string_split(["a b", "c"])
>>> tf.Session().run(sp).values.tolist()
[b'a', b'b', b'c']
"""

from __future__ import annotations

import re

import numpy as np

from .. import dtypes as _dt
from ..graph import Tensor, get_default_graph
from ..shapes import TensorShape
from ..sparse import SparseTensor
from .common import make_op
from .strings import _WS, _b, _dbg, _def, _iae, _need_rank, _need_str, _str


def _split_infer(op_type):
    def infer(inputs, attrs):
        x, d = inputs
        _need_str(x, op_type)
        _need_str(d, op_type)
        _need_rank(x, 1, op_type)
        _need_rank(d, 0, op_type)
        return [(_dt.int64, TensorShape([None, 2])), (_dt.string, TensorShape([None])),
                (_dt.int64, TensorShape([2]))]  # fmt: skip

    return infer


def _split_v1(s, d, skip_empty):
    if not s:
        return []
    if not d:  # split into bytes
        return [s[i : i + 1] for i in range(len(s))]
    if len(d) > 1:  # every byte of the delimiter splits
        s = s.translate(bytes.maketrans(d[1:], d[:1] * (len(d) - 1)))
    parts = s.split(d[:1])
    return [p for p in parts if p] if skip_empty else parts


def _split_v2(s, sep, maxsplit):
    """TF's ``SplitV2`` (Python's ``str.split``, except that whitespace splitting keeps the
    remainder after ``maxsplit`` splits even when empty)."""
    if maxsplit == 0:
        return [s]
    if sep:
        return s.split(sep, maxsplit if maxsplit > 0 else -1)
    out, text = [], s.lstrip(_WS)
    while text:
        tok = re.match(rb"[^ \t\n\v\f\r]+", text).group(0)
        out.append(tok)
        text = text[len(tok) :].lstrip(_WS)
        if 0 < maxsplit == len(out):
            out.append(text)
            break
    return out


def _sparse(x, d, what, split):
    if x.ndim != 1:
        raise _iae(f"input must be a vector, got shape: {_dbg(x.shape)}")
    if d.ndim:
        raise _iae(f"{what} must be a scalar, got shape: {_dbg(d.shape)}")
    rows = [split(_b(s), _b(d.item())) for s in x]
    idx = np.array([(i, j) for i, r in enumerate(rows) for j in range(len(r))], np.int64)
    vals = np.empty(len(idx), object)
    vals[:] = [t for r in rows for t in r]
    shape = np.array([len(rows), max(map(len, rows), default=0)], np.int64)
    return idx.reshape(-1, 2), vals, shape


_def("StringSplit", _split_infer("StringSplit"),
     lambda x, d, *, skip_empty=True, **_: _sparse(
         x, d, "delimiter", lambda s, dl: _split_v1(s, dl, skip_empty)),
     skip_empty=True)  # fmt: skip
_def("StringSplitV2", _split_infer("StringSplitV2"),
     lambda x, d, *, maxsplit=-1, **_: _sparse(
         x, d, "sep", lambda s, sep: _split_v2(s, sep, maxsplit)),
     maxsplit=-1)  # fmt: skip


def _graph_of(x):
    return x.graph if isinstance(x, Tensor) else get_default_graph()


def _result(outs, result_type):
    if result_type == "RaggedTensor":
        raise NotImplementedError("graphjit has no RaggedTensor; use result_type='SparseTensor'")
    if result_type != "SparseTensor":
        raise ValueError("result_type must be 'RaggedTensor' or 'SparseTensor'.")
    return SparseTensor(*outs)


def string_split(source, sep=None, skip_empty=True, delimiter=None, result_type="SparseTensor",
                 name=None) -> SparseTensor:  # fmt: skip
    """``tf.string_split`` (TF1): split each string of the 1-D ``source`` on any byte of
    ``sep`` (default ``" "``; ``""`` splits into bytes), as a ``SparseTensor`` whose row ``i``
    holds the tokens of ``source[i]`` (``dense_shape`` = [batch, most tokens]).

    >>> import graphjit.compat.v1 as tf
    >>> tf.Session().run(tf.string_split(["a b", "c"])).dense_shape.tolist()
    [2, 2]
    """
    if sep is not None and delimiter is not None:
        raise ValueError("Cannot specify both 'sep' and 'delimiter'")
    d = " " if sep is None and delimiter is None else sep if sep is not None else delimiter
    with _graph_of(source).name_scope(name or "StringSplit"):
        x = _str(source, "StringSplit")
        dt = _str(d, "StringSplit", "delimiter")
        attrs = {"skip_empty": bool(skip_empty)}
        outs = make_op("StringSplit", [x, dt], attrs, name="StringSplit").outputs
    return _result(outs, result_type)


def strings_split(input=None, sep=None, maxsplit=-1, result_type="SparseTensor", source=None,
                  name=None) -> SparseTensor:  # fmt: skip
    """``tf.strings.split`` (TF1, ``StringSplitV2``): Python's ``str.split`` per string of a
    0-D or 1-D ``input``: ``sep=None`` splits on runs of whitespace, a given ``sep`` (of any
    length) keeps empty tokens; at most ``maxsplit`` splits."""
    if input is not None and source is not None:
        raise ValueError("Cannot specify both 'input' and 'source'")
    input = source if input is None else input
    with _graph_of(input).name_scope(name or "StringSplit"):
        x = _str(input, "StringSplitV2")
        if x.shape.ndims == 0:
            from .array_more import expand_dims

            x = expand_dims(x, 0)
        if x.shape.ndims not in (None, 1):
            raise NotImplementedError(
                "graphjit's tf.strings.split takes 0-D or 1-D input (TF builds a RaggedTensor "
                f"for rank {x.shape.ndims}); reshape to 1-D first"
            )
        s = _str("" if sep is None else sep, "StringSplitV2", "sep")
        outs = make_op("StringSplitV2", [x, s], {"maxsplit": int(maxsplit)},
                       name="StringSplitV2").outputs  # fmt: skip
    return _result(outs, result_type)
