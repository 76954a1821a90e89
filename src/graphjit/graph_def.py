"""TensorFlow's GraphDef-family protocol messages, wire-compatible with TensorFlow.

Field names and numbers follow ``tensorflow/core/framework/{graph,node_def,attr_value,tensor,
tensor_shape,types,versions,function,op_def}.proto``, so bytes written here are read by
TensorFlow, TensorBoard and Netron, and vice versa.  Fields this module does not model (e.g.
``NodeDef.experimental_type``, ``GraphDef.debug_info`` contents) are kept as raw bytes and
written back unchanged.

Also provides the numpy bridges :func:`make_tensor_proto`, :func:`tensor_proto_to_ndarray`,
:func:`numpy_dtype_to_datatype` and :func:`datatype_to_numpy_dtype`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphjit.protowire import EnumType, Field, Message

__all__ = [
    "AttrValue",
    "DataType",
    "FunctionDef",
    "FunctionDefLibrary",
    "GradientDef",
    "GraphDebugInfo",
    "GraphDef",
    "NameAttrList",
    "NodeDef",
    "OpDef",
    "OpDeprecation",
    "OpList",
    "RegisteredGradient",
    "TensorProto",
    "TensorShapeProto",
    "VariantTensorDataProto",
    "VersionDef",
    "datatype_to_numpy_dtype",
    "make_tensor_proto",
    "numpy_dtype_to_datatype",
    "tensor_proto_to_ndarray",
]

# -- types.proto -----------------------------------------------------------------------------

DT_INVALID = 0
DT_FLOAT = 1
DT_DOUBLE = 2
DT_INT32 = 3
DT_UINT8 = 4
DT_INT16 = 5
DT_INT8 = 6
DT_STRING = 7
DT_COMPLEX64 = 8
DT_INT64 = 9
DT_BOOL = 10
DT_QINT8 = 11
DT_QUINT8 = 12
DT_QINT32 = 13
DT_BFLOAT16 = 14
DT_QINT16 = 15
DT_QUINT16 = 16
DT_UINT16 = 17
DT_COMPLEX128 = 18
DT_HALF = 19
DT_RESOURCE = 20
DT_VARIANT = 21
DT_UINT32 = 22
DT_UINT64 = 23
DT_FLOAT8_E5M2 = 24
DT_FLOAT8_E4M3FN = 25
DT_INT4 = 29
DT_UINT4 = 30

#: Offset of the ``DT_*_REF`` values (TF1 reference-variable types): ``DT_FLOAT_REF == 101``.
REF_OFFSET = 100
DT_FLOAT_REF = DT_FLOAT + REF_OFFSET
DT_DOUBLE_REF = DT_DOUBLE + REF_OFFSET
DT_INT32_REF = DT_INT32 + REF_OFFSET
DT_UINT8_REF = DT_UINT8 + REF_OFFSET
DT_INT16_REF = DT_INT16 + REF_OFFSET
DT_INT8_REF = DT_INT8 + REF_OFFSET
DT_STRING_REF = DT_STRING + REF_OFFSET
DT_COMPLEX64_REF = DT_COMPLEX64 + REF_OFFSET
DT_INT64_REF = DT_INT64 + REF_OFFSET
DT_BOOL_REF = DT_BOOL + REF_OFFSET
DT_BFLOAT16_REF = DT_BFLOAT16 + REF_OFFSET
DT_UINT16_REF = DT_UINT16 + REF_OFFSET
DT_COMPLEX128_REF = DT_COMPLEX128 + REF_OFFSET
DT_HALF_REF = DT_HALF + REF_OFFSET
DT_RESOURCE_REF = DT_RESOURCE + REF_OFFSET
DT_VARIANT_REF = DT_VARIANT + REF_OFFSET
DT_UINT32_REF = DT_UINT32 + REF_OFFSET
DT_UINT64_REF = DT_UINT64 + REF_OFFSET

_BASE_TYPES = {k: v for k, v in globals().items() if k.startswith("DT_") and v < REF_OFFSET}
_REF_TYPES = {f"{k}_REF": v + REF_OFFSET for k, v in _BASE_TYPES.items() if v}

#: The ``tensorflow.DataType`` enum: ``DataType.DT_FLOAT``, ``DataType.Name(1)``, ...
DataType = EnumType("DataType", {**_BASE_TYPES, **_REF_TYPES})
__all__ += ["REF_OFFSET", *sorted(k for k in globals() if k.startswith("DT_"))]

# -- tensor_shape.proto, versions.proto, tensor.proto ------------------------------------------


class TensorShapeProto(Message):
    """``tensorflow.TensorShapeProto``: dims (size -1 = unknown) or ``unknown_rank``."""

    class Dim(Message):
        """One dimension: ``size`` (-1 if unknown) and an optional ``name``."""

        FIELDS = (Field(1, "size", "int64"), Field(2, "name", "string"))

    FIELDS = (
        Field(2, "dim", "message", repeated=True, msg=Dim),
        Field(3, "unknown_rank", "bool"),
    )


class VersionDef(Message):
    """``tensorflow.VersionDef``: producer/consumer versions of serialized data."""

    FIELDS = (
        Field(1, "producer", "int32"),
        Field(2, "min_consumer", "int32"),
        Field(3, "bad_consumers", "int32", repeated=True),
    )


class TensorProto(Message):
    """``tensorflow.TensorProto``: a tensor value (``tensor_content`` or typed ``*_val``)."""

    FIELDS = (
        Field(1, "dtype", "enum", enum=DataType),
        Field(2, "tensor_shape", "message", msg=TensorShapeProto),
        Field(3, "version_number", "int32"),
        Field(4, "tensor_content", "bytes"),
        Field(13, "half_val", "int32", repeated=True),
        Field(5, "float_val", "float", repeated=True),
        Field(6, "double_val", "double", repeated=True),
        Field(7, "int_val", "int32", repeated=True),
        Field(8, "string_val", "bytes", repeated=True),
        Field(9, "scomplex_val", "float", repeated=True),
        Field(10, "int64_val", "int64", repeated=True),
        Field(11, "bool_val", "bool", repeated=True),
        Field(12, "dcomplex_val", "double", repeated=True),
        # 14: resource_handle_val (ResourceHandleProto) is kept as unknown bytes.
        Field(15, "variant_val", "message", repeated=True, msg=lambda: VariantTensorDataProto),
        Field(16, "uint32_val", "uint32", repeated=True),
        Field(17, "uint64_val", "uint64", repeated=True),
        Field(18, "float8_val", "bytes"),
    )


class VariantTensorDataProto(Message):
    """``tensorflow.VariantTensorDataProto``: serialized form of a DT_VARIANT element."""

    FIELDS = (
        Field(1, "type_name", "string"),
        Field(2, "metadata", "bytes"),
        Field(3, "tensors", "message", repeated=True, msg=TensorProto),
    )


# -- attr_value.proto --------------------------------------------------------------------------


class AttrValue(Message):
    """``tensorflow.AttrValue``: an op attribute; exactly one member of oneof ``value``."""

    class ListValue(Message):
        """``AttrValue.ListValue``: the value of a ``list(...)`` attr."""

        FIELDS = (
            Field(2, "s", "bytes", repeated=True),
            Field(3, "i", "int64", repeated=True),
            Field(4, "f", "float", repeated=True),
            Field(5, "b", "bool", repeated=True),
            Field(6, "type", "enum", repeated=True, enum=DataType),
            Field(7, "shape", "message", repeated=True, msg=TensorShapeProto),
            Field(8, "tensor", "message", repeated=True, msg=TensorProto),
            Field(9, "func", "message", repeated=True, msg=lambda: NameAttrList),
        )

    FIELDS = (
        Field(2, "s", "bytes", oneof="value"),
        Field(3, "i", "int64", oneof="value"),
        Field(4, "f", "float", oneof="value"),
        Field(5, "b", "bool", oneof="value"),
        Field(6, "type", "enum", oneof="value", enum=DataType),
        Field(7, "shape", "message", oneof="value", msg=TensorShapeProto),
        Field(8, "tensor", "message", oneof="value", msg=TensorProto),
        Field(1, "list", "message", oneof="value", msg=ListValue),
        Field(10, "func", "message", oneof="value", msg=lambda: NameAttrList),
        Field(9, "placeholder", "string", oneof="value"),
    )


class NameAttrList(Message):
    """``tensorflow.NameAttrList``: a function name with attrs (``MatMul[T=float]``)."""

    FIELDS = (
        Field(1, "name", "string"),
        Field(2, "attr", "map", value="message", msg=AttrValue),
    )


# -- node_def.proto, graph.proto ---------------------------------------------------------------


class NodeDef(Message):
    """``tensorflow.NodeDef``: one op of a graph (inputs ``"node:k"``, control ``"^node"``)."""

    class ExperimentalDebugInfo(Message):
        """Names of the original nodes/functions this node was derived from."""

        FIELDS = (
            Field(1, "original_node_names", "string", repeated=True),
            Field(2, "original_func_names", "string", repeated=True),
        )

    FIELDS = (
        Field(1, "name", "string"),
        Field(2, "op", "string"),
        Field(3, "input", "string", repeated=True),
        Field(4, "device", "string"),
        Field(5, "attr", "map", value="message", msg=AttrValue),
        Field(6, "experimental_debug_info", "message", msg=ExperimentalDebugInfo),
        # 7: experimental_type (FullTypeDef) is kept as unknown bytes.
    )


# -- op_def.proto, function.proto -------------------------------------------------------------


class OpDef(Message):
    """``tensorflow.OpDef``: an op's (or a function's) signature: args, attrs, flags."""

    class ArgDef(Message):
        """One input or output: a fixed ``type`` or one taken from an attr."""

        FIELDS = (
            Field(1, "name", "string"),
            Field(2, "description", "string"),
            Field(3, "type", "enum", enum=DataType),
            Field(4, "type_attr", "string"),
            Field(5, "number_attr", "string"),
            Field(6, "type_list_attr", "string"),
            # 7: handle_data and 17: experimental_full_type are kept as unknown bytes.
            Field(16, "is_ref", "bool"),
        )

    class AttrDef(Message):
        """One attr: name, type (``"type"``, ``"list(shape)"``, ``"func"`` ...), default."""

        FIELDS = (
            Field(1, "name", "string"),
            Field(2, "type", "string"),
            Field(3, "default_value", "message", msg=AttrValue),
            Field(4, "description", "string"),
            Field(5, "has_minimum", "bool"),
            Field(6, "minimum", "int64"),
            Field(7, "allowed_values", "message", msg=AttrValue),
        )

    FIELDS = (
        Field(1, "name", "string"),
        Field(2, "input_arg", "message", repeated=True, msg=ArgDef),
        Field(3, "output_arg", "message", repeated=True, msg=ArgDef),
        Field(20, "control_output", "string", repeated=True),
        Field(4, "attr", "message", repeated=True, msg=AttrDef),
        Field(8, "deprecation", "message", msg=lambda: OpDeprecation),
        Field(5, "summary", "string"),
        Field(6, "description", "string"),
        Field(18, "is_commutative", "bool"),
        Field(16, "is_aggregate", "bool"),
        Field(17, "is_stateful", "bool"),
        Field(19, "allows_uninitialized_input", "bool"),
        Field(21, "is_distributed_communication", "bool"),
    )


class OpDeprecation(Message):
    """``tensorflow.OpDeprecation``: the GraphDef version that removed an op."""

    FIELDS = (Field(1, "version", "int32"), Field(2, "explanation", "string"))


class OpList(Message):
    """``tensorflow.OpList``: a list of OpDefs (``MetaInfoDef.stripped_op_list``)."""

    FIELDS = (Field(1, "op", "message", repeated=True, msg=OpDef),)


class FunctionDef(Message):
    """``tensorflow.FunctionDef``: a function: signature, body nodes, output bindings.

    Body node inputs name a function argument (``"x"``), a node output by its OpDef output
    arg (``"add:z:0"``) or a control input (``"^node"``); ``ret`` maps output arg names to
    such references, ``control_ret`` control output names to node names.
    """

    class ArgAttrs(Message):
        """Attrs of one argument (``_output_shapes`` ...)."""

        FIELDS = (Field(1, "attr", "map", value="message", msg=AttrValue),)

    FIELDS = (
        Field(1, "signature", "message", msg=OpDef),
        Field(5, "attr", "map", value="message", msg=AttrValue),
        Field(7, "arg_attr", "map", key="uint32", value="message", msg=ArgAttrs),
        Field(8, "resource_arg_unique_id", "map", key="uint32", value="uint32"),
        Field(3, "node_def", "message", repeated=True, msg=NodeDef),
        Field(4, "ret", "map", value="string"),
        Field(6, "control_ret", "map", value="string"),
    )


class GradientDef(Message):
    """``tensorflow.GradientDef``: the gradient function of a function."""

    FIELDS = (Field(1, "function_name", "string"), Field(2, "gradient_func", "string"))


class RegisteredGradient(Message):
    """``tensorflow.RegisteredGradient``: a gradient registered for an op type."""

    FIELDS = (Field(1, "gradient_func", "string"), Field(2, "registered_op_type", "string"))


class FunctionDefLibrary(Message):
    """``tensorflow.FunctionDefLibrary``: the functions a GraphDef's nodes refer to."""

    FIELDS = (
        Field(1, "function", "message", repeated=True, msg=FunctionDef),
        Field(2, "gradient", "message", repeated=True, msg=GradientDef),
        Field(3, "registered_gradients", "message", repeated=True, msg=RegisteredGradient),
    )


class GraphDebugInfo(Message):
    """``tensorflow.GraphDebugInfo``, opaque: its contents are kept as raw bytes."""


class GraphDef(Message):
    """``tensorflow.GraphDef``: the nodes of a graph plus version information."""

    FIELDS = (
        Field(1, "node", "message", repeated=True, msg=NodeDef),
        Field(2, "library", "message", msg=FunctionDefLibrary),
        Field(3, "version", "int32"),  # deprecated, ignored by TensorFlow
        Field(4, "versions", "message", msg=VersionDef),
        Field(5, "debug_info", "message", msg=GraphDebugInfo),
    )


# -- numpy bridges -----------------------------------------------------------------------------

_NP_TO_DT = {
    np.dtype(np.float32): DT_FLOAT,
    np.dtype(np.float64): DT_DOUBLE,
    np.dtype(np.int32): DT_INT32,
    np.dtype(np.uint8): DT_UINT8,
    np.dtype(np.int16): DT_INT16,
    np.dtype(np.int8): DT_INT8,
    np.dtype(np.complex64): DT_COMPLEX64,
    np.dtype(np.int64): DT_INT64,
    np.dtype(np.bool_): DT_BOOL,
    np.dtype(np.uint16): DT_UINT16,
    np.dtype(np.complex128): DT_COMPLEX128,
    np.dtype(np.float16): DT_HALF,
    np.dtype(np.uint32): DT_UINT32,
    np.dtype(np.uint64): DT_UINT64,
}
_DT_TO_NP = {dt: npdt for npdt, dt in _NP_TO_DT.items()}
_DT_TO_NP.update(
    {
        DT_STRING: np.dtype(object),
        DT_QINT8: np.dtype(np.int8),
        DT_QUINT8: np.dtype(np.uint8),
        DT_QINT16: np.dtype(np.int16),
        DT_QUINT16: np.dtype(np.uint16),
        DT_QINT32: np.dtype(np.int32),
    }
)
# Typed value field of each dtype when ``tensor_content`` is empty.
_VAL_FIELD = {
    DT_FLOAT: "float_val",
    DT_DOUBLE: "double_val",
    DT_INT64: "int64_val",
    DT_BOOL: "bool_val",
    DT_HALF: "half_val",
    DT_BFLOAT16: "half_val",
    DT_COMPLEX64: "scomplex_val",
    DT_COMPLEX128: "dcomplex_val",
    DT_UINT32: "uint32_val",
    DT_UINT64: "uint64_val",
    DT_STRING: "string_val",
    **dict.fromkeys(
        (DT_INT32, DT_INT16, DT_INT8, DT_UINT8, DT_UINT16, DT_QINT8, DT_QUINT8, DT_QINT16),
        "int_val",
    ),
    DT_QUINT16: "int_val",
    DT_QINT32: "int_val",
}


def numpy_dtype_to_datatype(dtype: Any) -> int:
    """Return the ``DataType`` number of a numpy dtype.

    Parameters
    ----------
    dtype : numpy dtype-like
        String-like dtypes (``object``, ``S``, ``U``) map to ``DT_STRING``; a dtype named
        ``bfloat16`` (from ``ml_dtypes``) maps to ``DT_BFLOAT16``.

    Returns
    -------
    int
        The ``DT_*`` value.

    Raises
    ------
    TypeError
        If TensorFlow has no corresponding type.
    """
    dt = np.dtype(dtype)
    if dt.kind in "OSU":
        return DT_STRING
    if dt.name == "bfloat16":
        return DT_BFLOAT16
    try:
        return _NP_TO_DT[dt.newbyteorder("=")]
    except KeyError:
        raise TypeError(f"numpy dtype {dt} has no TensorFlow DataType") from None


def datatype_to_numpy_dtype(datatype: int) -> np.dtype:
    """Return the numpy dtype of a ``DataType`` number (``*_REF`` types map like the base type).

    Parameters
    ----------
    datatype : int
        A ``DT_*`` value.

    Returns
    -------
    numpy.dtype
        ``object`` for ``DT_STRING``; quantized types map to their storage integer type.

    Raises
    ------
    TypeError
        For types without a numpy equivalent (resource, variant, bfloat16 without
        ``ml_dtypes``, ...).
    """
    base = datatype - REF_OFFSET if datatype > REF_OFFSET else datatype
    if base in _DT_TO_NP:
        return _DT_TO_NP[base]
    if base == DT_BFLOAT16:
        try:
            import ml_dtypes  # optional dependency

            return np.dtype(ml_dtypes.bfloat16)
        except ImportError:
            pass
    name = DataType._by_number.get(datatype, str(datatype))
    raise TypeError(f"DataType {name} has no numpy dtype")


def _shape_proto(shape: tuple[int, ...]) -> TensorShapeProto:
    return TensorShapeProto(dim=[TensorShapeProto.Dim(size=int(d)) for d in shape])


def make_tensor_proto(
    values: Any, dtype: Any = None, shape: tuple[int, ...] | list[int] | None = None
) -> TensorProto:
    """Build a ``TensorProto`` from an array, as ``tf.make_tensor_proto`` does.

    Parameters
    ----------
    values : array_like
        The value; converted with ``np.asarray`` (so its numpy dtype decides the DataType
        unless ``dtype`` is given).  Strings (``str``/``bytes``, also in object arrays) make a
        ``DT_STRING`` tensor; ``str`` elements are UTF-8 encoded.
    dtype : int or numpy dtype-like, optional
        Target type: a ``DT_*`` number or a numpy dtype; values are cast to it.
    shape : sequence of int, optional
        Target shape; ``values`` must have this shape or a single element (broadcast).

    Returns
    -------
    TensorProto
        Numeric data goes into little-endian ``tensor_content`` (``bool`` into ``bool_val``,
        like TensorFlow), strings into ``string_val``.
    """
    if dtype is not None and isinstance(dtype, (int, np.integer)) and not isinstance(dtype, bool):
        np_dtype = datatype_to_numpy_dtype(int(dtype))
    else:
        np_dtype = None if dtype is None else np.dtype(dtype)
    arr = np.asarray(values)
    if np_dtype is not None and np_dtype.kind != "O" and arr.dtype != np_dtype:
        arr = arr.astype(np_dtype)
    if shape is not None:
        shape = tuple(int(d) for d in shape)
        if arr.shape != shape:
            if arr.size != 1:
                raise ValueError(f"cannot make a tensor of shape {shape} from shape {arr.shape}")
            arr = np.broadcast_to(arr.reshape(()), shape)
    datatype = numpy_dtype_to_datatype(arr.dtype)
    tp = TensorProto(dtype=datatype, tensor_shape=_shape_proto(arr.shape))
    if datatype == DT_STRING:
        flat = arr.ravel().tolist()
        for item in flat:
            if not isinstance(item, (str, bytes)):
                raise TypeError(f"make_tensor_proto: non-string element {item!r}")
        tp.string_val.extend([s.encode("utf-8") if isinstance(s, str) else s for s in flat])
    elif datatype == DT_BOOL:
        tp.bool_val.extend(arr.ravel())
    else:
        little = arr.dtype.newbyteorder("<")
        tp.tensor_content = np.ascontiguousarray(arr, dtype=little).tobytes()
    return tp


def tensor_proto_to_ndarray(tp: TensorProto) -> np.ndarray:
    """Convert a ``TensorProto`` to a numpy array, as ``tf.make_ndarray`` does.

    Parameters
    ----------
    tp : TensorProto
        Data in ``tensor_content`` (little-endian) or in the typed ``*_val`` field of its
        dtype.  Typed values shorter than the shape are padded with the last value (so a
        single value fills the whole tensor); no values at all give zeros / empty strings.

    Returns
    -------
    numpy.ndarray
        A new array; ``DT_STRING`` gives an object array of ``bytes``, ``DT_HALF`` values
        stored as float16 bit patterns in ``half_val`` are reinterpreted.

    Raises
    ------
    ValueError
        If the data does not fit the shape.
    TypeError
        If the dtype has no numpy equivalent.
    """
    datatype = tp.dtype
    np_dtype = datatype_to_numpy_dtype(datatype)
    if tp.tensor_shape.unknown_rank or any(d.size < 0 for d in tp.tensor_shape.dim):
        raise ValueError("tensor_proto_to_ndarray: the TensorProto shape is not fully defined")
    shape = tuple(d.size for d in tp.tensor_shape.dim)
    n = int(np.prod(shape, dtype=np.int64))
    base = datatype - REF_OFFSET if datatype > REF_OFFSET else datatype
    if tp.tensor_content and base != DT_STRING:
        content = tp.tensor_content
        if len(content) != n * np_dtype.itemsize:
            raise ValueError(
                f"tensor_content has {len(content)} bytes, shape {shape} of {np_dtype} "
                f"needs {n * np_dtype.itemsize}"
            )
        flat = np.frombuffer(content, dtype=np_dtype.newbyteorder("<")).astype(np_dtype)
        return flat.reshape(shape)
    raw = list(getattr(tp, _VAL_FIELD[base]))
    if base in (DT_COMPLEX64, DT_COMPLEX128):
        raw = [complex(re, im) for re, im in zip(raw[0::2], raw[1::2])]
    if len(raw) > n:
        raise ValueError(f"TensorProto has {len(raw)} values for shape {shape}")
    if base == DT_STRING:
        out = np.empty(n, dtype=object)
        out[:] = raw + [raw[-1] if raw else b""] * (n - len(raw))
        return out.reshape(shape)
    if base in (DT_HALF, DT_BFLOAT16):
        bits = np.asarray(raw, dtype=np.int64).astype(np.uint16)
        vals = bits.view(np.float16) if base == DT_HALF else bits.view(np_dtype)
    else:
        vals = np.asarray(raw).astype(np_dtype) if raw else np.zeros(0, np_dtype)
    if len(vals) == n:
        return vals.reshape(shape)
    if len(vals) == 0:
        return np.zeros(shape, dtype=np_dtype)
    return np.concatenate([vals, np.repeat(vals[-1:], n - len(vals))]).reshape(shape)
