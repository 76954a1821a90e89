"""Data types (``tf.float32`` ...) and TF's rules for turning Python values into arrays."""

from __future__ import annotations

import builtins

import numpy as np

_DT_ENUM = {
    "float32": 1,
    "float64": 2,
    "int32": 3,
    "uint8": 4,
    "int16": 5,
    "int8": 6,
    "string": 7,
    "complex64": 8,
    "int64": 9,
    "bool": 10,
    "uint16": 17,
    "complex128": 18,
    "float16": 19,
    "resource": 20,
    "variant": 21,
    "uint32": 22,
    "uint64": 23,
}
_REF_OFFSET = 100  # TF's DT_FLOAT_REF = DT_FLOAT + 100 ...
# TF's short names used in messages ("with dtype float").
_TF_SHORT = {
    "float32": "float",
    "float64": "double",
    "float16": "half",
    "complex64": "complex64",
    "complex128": "complex128",
}


class DType:
    """A tensor element type, identified by its TF name (``float32``, ``int32``, ``string``).

    >>> as_dtype("float32").is_floating, str(as_dtype("int8"))
    (True, "<dtype: 'int8'>")
    """

    __slots__ = ("_base", "_name", "_np")

    def __init__(self, name: str, np_dtype, base: DType | None = None):
        self._name = name
        self._np = np.dtype(np_dtype)
        self._base = base

    @property
    def name(self) -> str:
        """TF's name, e.g. ``"float32"`` (``"float32_ref"`` for a reference type)."""
        return self._name

    @property
    def as_numpy_dtype(self):
        """The numpy scalar type (``np.float32``; ``object`` for strings)."""
        return object if self._np.kind == "O" else self._np.type

    @property
    def np(self) -> np.dtype:
        """The numpy ``dtype`` object."""
        return self._np

    @property
    def base_dtype(self) -> DType:
        """The non-reference type (``float32`` for ``float32_ref``)."""
        return self._base if self._base is not None else self

    @property
    def real_dtype(self) -> DType:
        """The type of the real part (``float32`` for ``complex64``)."""
        base = self.base_dtype
        if base is complex64:
            return float32
        if base is complex128:
            return float64
        return base

    @property
    def _is_ref_dtype(self) -> bool:
        return self._base is not None

    @property
    def _as_ref(self) -> DType:
        return self if self._base is not None else _REFS[self._name]

    @property
    def as_datatype_enum(self) -> int:
        """TF's ``DataType`` enum value (``DT_FLOAT`` = 1 ...; +100 for reference types)."""
        if self._base is not None:
            return _DT_ENUM[self._base._name] + _REF_OFFSET
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
    def is_complex(self) -> bool:
        return self._np.kind == "c"

    @property
    def is_numeric(self) -> bool:
        """Integer, floating or complex (graphjit helper; not a TF property)."""
        return self._np.kind in "iufc"

    @property
    def is_quantized(self) -> bool:
        return False

    @property
    def is_numpy_compatible(self) -> bool:
        return self.base_dtype not in (resource, variant)

    @property
    def size(self) -> int:
        """Bytes per element (0 for string/resource/variant, as in TF)."""
        return 0 if self._np.kind == "O" else self._np.itemsize

    @property
    def min(self):
        """The smallest representable value (``TypeError`` for bool/string/complex)."""
        if self.is_floating:
            return np.finfo(self._np).min
        if self.is_integer:
            return np.iinfo(self._np).min
        raise TypeError(f"Cannot find minimum value of {self}.")

    @property
    def max(self):
        """The largest representable value (``TypeError`` for bool/string/complex)."""
        if self.is_floating:
            return np.finfo(self._np).max
        if self.is_integer:
            return np.iinfo(self._np).max
        raise TypeError(f"Cannot find maximum value of {self}.")

    @property
    def limits(self, clip_negative=True):
        """``(min, max)`` of an integer or floating type, min clipped at 0 (TF's default)."""
        lo, hi = (-1, 1) if self.is_bool else (self.min, self.max)
        return (0 if clip_negative else lo), hi

    @property
    def tf_short_name(self) -> str:
        """The spelling TF uses in error messages (``float`` for float32)."""
        return _TF_SHORT.get(self._name, self._name)

    def is_compatible_with(self, other) -> bool:
        """Whether a value of type ``other`` may be used where this type is expected."""
        other = as_dtype(other)
        return self is other or self is other.base_dtype

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

    def __str__(self):
        return f"<dtype: '{self._name}'>"

    def __reduce__(self):
        return (as_dtype, (self._name,))


float16 = half = DType("float16", np.float16)
float32 = DType("float32", np.float32)
float64 = double = DType("float64", np.float64)
complex64 = DType("complex64", np.complex64)
complex128 = DType("complex128", np.complex128)
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
variant = DType("variant", object)

_ALL = (
    float16, float32, float64, complex64, complex128, int8, int16, int32, int64,
    uint8, uint16, uint32, uint64, bool, string, resource, variant,
)  # fmt: skip
_REFS = {d.name: DType(d.name + "_ref", d.np, base=d) for d in _ALL}
_BY_NAME = {d.name: d for d in _ALL}
_BY_NAME.update({"half": float16, "float": float32, "double": float64})
_BY_NAME.update({r.name: r for r in _REFS.values()})
_BY_ENUM = {d.as_datatype_enum: d for d in _ALL}
_BY_ENUM.update({r.as_datatype_enum: r for r in _REFS.values()})
_BY_NP = {d.np: d for d in _ALL if d.np.kind != "O"}


def as_dtype(type_value) -> DType:
    """Convert a DType, name, numpy dtype/type or TF enum into a :class:`DType`.

    Python ``float`` means float32 and ``bool`` bool, as in TF; Python ``int`` and ``str`` are
    ambiguous and rejected.

    >>> as_dtype("float32") is as_dtype(np.float32) is as_dtype(1)
    True
    """
    value = type_value
    if isinstance(value, DType):
        return value
    if isinstance(value, str):
        if value in _BY_NAME:
            return _BY_NAME[value]
    elif isinstance(value, (int, np.integer)) and not isinstance(value, builtins_bool):
        if int(value) in _BY_ENUM:
            return _BY_ENUM[int(value)]
    elif value is float:
        return float32
    elif value is builtins_bool:
        return bool
    elif value is not None and not any(value is t for t in (int, str, bytes)):
        try:
            npd = np.dtype(value)
        except TypeError:
            npd = None
        if npd is not None:
            if npd.kind in "OSU":
                return string
            if npd in _BY_NP:
                return _BY_NP[npd]
    raise TypeError(f"Cannot convert the argument `type_value`: {value!r} to a TensorFlow DType.")


builtins_bool = builtins.bool


def _infer_python(value):
    """Infer the DType TF would give a Python value (int -> int32/int64, float -> float32)."""
    if isinstance(value, builtins_bool):
        return bool
    if isinstance(value, int):
        return int32 if -(2**31) <= value < 2**31 else int64
    if isinstance(value, float):
        return float32
    if isinstance(value, complex):
        return complex128
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
        if any(k.is_complex for k in kinds):
            return complex128
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
