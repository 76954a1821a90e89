"""Data types (``tf.float32`` ...) and TF's rules for turning Python values into arrays."""

from __future__ import annotations

import numpy as np

_DT_ENUM = {
    "float32": 1,
    "float64": 2,
    "int32": 3,
    "uint8": 4,
    "int16": 5,
    "int8": 6,
    "string": 7,
    "int64": 9,
    "bool": 10,
    "uint16": 17,
    "float16": 19,
    "resource": 20,
    "uint32": 22,
    "uint64": 23,
}
# TF's short names used in messages ("with dtype float").
_TF_SHORT = {"float32": "float", "float64": "double", "float16": "half"}


class DType:
    """A tensor element type, identified by its TF name (``float32``, ``int32``, ``string``)."""

    __slots__ = ("_name", "_np")

    def __init__(self, name: str, np_dtype):
        self._name = name
        self._np = np.dtype(np_dtype)

    @property
    def name(self) -> str:
        """TF's name, e.g. ``"float32"``."""
        return self._name

    @property
    def as_numpy_dtype(self):
        """The numpy scalar type (``np.float32``; ``object`` for strings)."""
        return self._np.type

    @property
    def np(self) -> np.dtype:
        """The numpy ``dtype`` object."""
        return self._np

    @property
    def base_dtype(self) -> DType:
        return self

    @property
    def real_dtype(self) -> DType:
        return self

    @property
    def as_datatype_enum(self) -> int:
        """TF's ``DataType`` enum value (``DT_FLOAT`` = 1 ...)."""
        return _DT_ENUM[self._name]

    @property
    def is_floating(self) -> bool:
        return self._np.kind == "f"

    @property
    def is_integer(self) -> bool:
        return self._np.kind in "iu"

    @property
    def is_unsigned(self) -> bool:
        return self._np.kind == "u"

    @property
    def is_bool(self) -> bool:
        return self._np.kind == "b"

    @property
    def is_numeric(self) -> bool:
        return self._np.kind in "iufb" and not self.is_bool

    @property
    def is_complex(self) -> bool:
        return False

    @property
    def size(self) -> int:
        return self._np.itemsize

    @property
    def min(self):
        if self.is_floating:
            return np.finfo(self._np).min
        if self.is_integer:
            return np.iinfo(self._np).min
        raise TypeError(f"Cannot find minimum value of {self._name}.")

    @property
    def max(self):
        if self.is_floating:
            return np.finfo(self._np).max
        if self.is_integer:
            return np.iinfo(self._np).max
        raise TypeError(f"Cannot find maximum value of {self._name}.")

    @property
    def tf_short_name(self) -> str:
        """The spelling TF uses in error messages (``float`` for float32)."""
        return _TF_SHORT.get(self._name, self._name)

    def is_compatible_with(self, other) -> bool:
        return as_dtype(other) is self

    def __eq__(self, other):
        if other is None:
            return False
        try:
            return as_dtype(other) is self
        except TypeError:
            return False

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return hash(self._name)

    def __repr__(self):
        return f"tf.{self._name}"

    def __reduce__(self):
        return (as_dtype, (self._name,))


float16 = half = DType("float16", np.float16)
float32 = DType("float32", np.float32)
float64 = double = DType("float64", np.float64)
int8 = DType("int8", np.int8)
int16 = DType("int16", np.int16)
int32 = DType("int32", np.int32)
int64 = DType("int64", np.int64)
uint8 = DType("uint8", np.uint8)
uint16 = DType("uint16", np.uint16)
uint32 = DType("uint32", np.uint32)
uint64 = DType("uint64", np.uint64)
bool = DType("bool", np.bool_)
string = DType("string", object)
resource = DType("resource", object)

_ALL = (
    float16, float32, float64, int8, int16, int32, int64,
    uint8, uint16, uint32, uint64, bool, string, resource,
)  # fmt: skip
_BY_NAME = {d.name: d for d in _ALL}
_BY_NAME.update({"half": float16, "float": float32, "double": float64})
_BY_ENUM = {d.as_datatype_enum: d for d in _ALL}
_BY_NP = {d.np: d for d in _ALL if d is not resource and d is not string}


def as_dtype(value) -> DType:
    """Convert a DType, name, numpy dtype/type or TF enum into a :class:`DType`.

    >>> as_dtype("float32") is as_dtype(np.float32)
    True
    """
    if isinstance(value, DType):
        return value
    if isinstance(value, str):
        if value in _BY_NAME:
            return _BY_NAME[value]
        raise TypeError(f"Cannot convert value {value!r} to a TensorFlow DType.")
    if isinstance(value, int) and not isinstance(value, builtins_bool):
        if value in _BY_ENUM:
            return _BY_ENUM[value]
        if value - 100 in _BY_ENUM:  # *_REF types
            return _BY_ENUM[value - 100]
        raise TypeError(f"Cannot convert value {value!r} to a TensorFlow DType.")
    if value in (str, bytes, np.str_, np.bytes_):
        return string
    try:
        npd = np.dtype(value)
    except TypeError:
        raise TypeError(f"Cannot convert value {value!r} to a TensorFlow DType.") from None
    if npd.kind in "OSU":
        return string
    if npd in _BY_NP:
        return _BY_NP[npd]
    raise TypeError(f"Cannot convert value {value!r} to a TensorFlow DType.")


builtins_bool = type(True)


def _infer_python(value):
    """Infer the DType TF would give a Python value (int -> int32/int64, float -> float32)."""
    if isinstance(value, builtins_bool):
        return bool
    if isinstance(value, int):
        return int32 if -(2**31) <= value < 2**31 else int64
    if isinstance(value, float):
        return float32
    if isinstance(value, (str, bytes)):
        return string
    return None


def infer_dtype(value) -> DType:
    """TF's dtype for a Python value or array (``convert_to_tensor`` without ``dtype``)."""
    if isinstance(value, np.ndarray) or isinstance(value, np.generic):
        return as_dtype(value.dtype)
    d = _infer_python(value)
    if d is not None:
        return d
    if isinstance(value, (list, tuple)):
        flat = list(_flatten(value))
        if not flat:
            return float32
        kinds = [
            _infer_python(v) if not isinstance(v, np.generic) else as_dtype(v.dtype) for v in flat
        ]
        if any(k is None for k in kinds):
            raise TypeError(f"Cannot convert {value!r} to a Tensor: unsupported element type.")
        if all(k is string for k in kinds):
            return string
        if any(k is string for k in kinds):
            raise TypeError(f"Cannot convert {value!r} to a Tensor: mixed strings and numbers.")
        if any(k.is_floating for k in kinds):
            return float32 if all(k in (float32, int32, int64, bool) for k in kinds) else float64
        if all(k is bool for k in kinds):
            return bool
        return int64 if any(k is int64 for k in kinds) else int32
    raise TypeError(
        f"Cannot convert {value!r} (type {type(value).__name__}) to a Tensor; "
        "pass a number, a (nested) list, a string or a numpy array."
    )


def _flatten(value):
    for v in value:
        if isinstance(v, (list, tuple)):
            yield from _flatten(v)
        else:
            yield v


def to_numpy(value, dtype: DType | None = None) -> np.ndarray:
    """Convert a Python value to an ndarray of ``dtype`` (inferred with TF's rules if None)."""
    if dtype is None:
        dtype = infer_dtype(value)
    if dtype is string:
        arr = np.asarray(value, dtype=object)
        return _to_bytes(arr)
    if dtype.is_integer and _has_large_python_int(value, dtype):
        raise TypeError(f"Value {value!r} does not fit in {dtype.name}.")
    return np.asarray(value, dtype=dtype.np)


def _has_large_python_int(value, dtype: DType) -> builtins_bool:
    if isinstance(value, int) and not isinstance(value, builtins_bool):
        info = np.iinfo(dtype.np)
        return not (info.min <= value <= info.max)
    return False


def _to_bytes(arr: np.ndarray) -> np.ndarray:
    out = np.empty(arr.shape, dtype=object)
    flat_in = arr.reshape(-1)
    flat_out = out.reshape(-1)
    for i, v in enumerate(flat_in):
        flat_out[i] = v.encode("utf-8") if isinstance(v, str) else bytes(v)
    return out
