"""A tiny declarative protobuf (proto3) message framework.

Messages declare their fields with :class:`Field`; instances behave like the classes generated
by the ``protobuf`` package (keyword constructor, attribute access with proto3 defaults,
``SerializeToString``/``ParseFromString``/``FromString``, ``CopyFrom``/``MergeFrom``,
``HasField``/``ClearField``/``WhichOneof``/``ListFields``, repeated ``add``/``extend`` and map
fields), and read/write the standard wire format, so bytes interoperate with any protobuf
implementation.  Serialization is deterministic: fields in field-number order, packed repeated
numerics, map entries sorted by key, unknown fields (kept as raw bytes on parse) last.

Example
-------
>>> class Dim(Message):
...     FIELDS = (Field(1, "size", "int64"), Field(2, "name", "string"))
>>> class Shape(Message):
...     FIELDS = (Field(2, "dim", "message", repeated=True, msg=Dim),)
>>> s = Shape()
>>> s.dim.add(size=3).size
3
>>> Shape.FromString(s.SerializeToString()) == s
True
"""

from __future__ import annotations

import math
import operator
import struct
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping, MutableSequence
from typing import Any, ClassVar

__all__ = [
    "DecodeError",
    "EnumType",
    "Field",
    "MapContainer",
    "Message",
    "RepeatedCompositeContainer",
    "RepeatedScalarContainer",
]

_VARINT, _I64, _LEN, _SGROUP, _EGROUP, _I32 = 0, 1, 2, 3, 4, 5
_I32_RANGE, _I64_RANGE = (-(1 << 31), (1 << 31) - 1), (-(1 << 63), (1 << 63) - 1)
_INT_RANGES = {
    **dict.fromkeys(("int32", "sint32", "sfixed32", "enum"), _I32_RANGE),
    **dict.fromkeys(("int64", "sint64", "sfixed64"), _I64_RANGE),
    **dict.fromkeys(("uint32", "fixed32"), (0, (1 << 32) - 1)),
    **dict.fromkeys(("uint64", "fixed64"), (0, (1 << 64) - 1)),
}
_STRUCT = {"float": "f", "double": "d", "fixed32": "I", "sfixed32": "i", "fixed64": "Q"}
_STRUCT["sfixed64"] = "q"
_WIRE = {k: _VARINT for k in (*_INT_RANGES, "bool")}
_WIRE.update({k: (_I32 if c in "fIi" else _I64) for k, c in _STRUCT.items()})
_WIRE.update(dict.fromkeys(("string", "bytes", "message", "map"), _LEN))
_DEFAULTS = {"float": 0.0, "double": 0.0, "bool": False, "string": "", "bytes": b""}


class DecodeError(Exception):
    """Raised when bytes are not a valid wire encoding of the message."""


class EnumType:
    """A named protobuf enum: ``E.NAME`` gives the number; ``Name``/``Value`` convert.

    Parameters
    ----------
    name : str
        The enum's name (``"TraceLevel"``).
    values : Mapping[str, int]
        Value names to numbers.
    """

    def __init__(self, name: str, values: Mapping[str, int]) -> None:
        self.name = name
        self._by_name = dict(values)
        self._by_number: dict[int, str] = {}
        for key, number in self._by_name.items():
            self._by_number.setdefault(number, key)

    def __getattr__(self, name: str) -> int:
        if not name.startswith("_") and name in self._by_name:
            return self._by_name[name]
        raise AttributeError(f"enum {self.name} has no value {name!r}")

    def Name(self, number: int) -> str:
        """Return the name of ``number`` (ValueError when unknown)."""
        if number not in self._by_number:
            raise ValueError(f"enum {self.name} has no name defined for value {number!r}")
        return self._by_number[number]

    def Value(self, name: str) -> int:
        """Return the number named ``name`` (ValueError when unknown)."""
        if name not in self._by_name:
            raise ValueError(f"enum {self.name} has no value defined for name {name!r}")
        return self._by_name[name]

    def keys(self) -> list[str]:
        """Value names in declaration order."""
        return list(self._by_name)

    def values(self) -> list[int]:
        """Value numbers in declaration order."""
        return list(self._by_name.values())

    def items(self) -> list[tuple[str, int]]:
        """``(name, number)`` pairs in declaration order."""
        return list(self._by_name.items())

    def __repr__(self) -> str:
        return f"EnumType({self.name!r}, {self._by_name!r})"


class Field:
    """Declaration of one message field.

    Parameters
    ----------
    number : int
        The field number on the wire.
    name : str
        The attribute name.
    kind : str
        ``int32 int64 uint32 uint64 sint32 sint64 fixed32 fixed64 sfixed32 sfixed64 bool enum
        float double string bytes message map``.
    repeated : bool
        A repeated field (numerics are written packed).
    msg : type or callable, optional
        The message class (or a zero-argument callable returning it, for forward references)
        of a ``message`` field or of a map's message values.
    oneof : str, optional
        Name of the oneof group the field belongs to.
    enum : EnumType, optional
        Names for an ``enum`` field (or enum map values), used by text format and by string
        assignment.
    key, value : str
        Key and value kinds of a ``map`` field.
    """

    def __init__(
        self,
        number: int,
        name: str,
        kind: str,
        *,
        repeated: bool = False,
        msg: type | Callable[[], type] | None = None,
        oneof: str | None = None,
        enum: EnumType | None = None,
        key: str = "string",
        value: str | None = None,
    ) -> None:
        if kind not in _WIRE or (kind == "map" and value not in _WIRE):
            raise ValueError(f"field {name!r}: unknown kind {kind!r}")
        if (kind == "message" or value == "message") and msg is None:
            raise ValueError(f"field {name!r}: message fields need msg=")
        self.number, self.name, self.kind, self.repeated = number, name, kind, repeated
        self.oneof, self.enum, self._msg = oneof, enum, msg
        self.wire_type = _WIRE[kind]
        self.packed = repeated and self.wire_type != _LEN
        self.tag = _varint(number << 3 | (_LEN if self.packed else self.wire_type))
        self.default: Any = _DEFAULTS.get(kind, 0)
        if kind == "map":
            self.key_field = Field(1, "key", key)
            self.value_field = Field(2, "value", value or "", msg=msg, enum=enum)
            fields = (self.key_field, self.value_field)
            self.entry_class = type(
                f"{name}_Entry", (Message,), {"FIELDS": fields, "__slots__": ()}
            )

    @property
    def message_class(self) -> type[Message]:
        """The resolved message class of a ``message`` field."""
        m = self._msg
        if not isinstance(m, type):
            m = self._msg = m()  # resolve a forward reference once
        return m  # type: ignore[return-value]

    def __repr__(self) -> str:
        return f"Field({self.number}, {self.name!r}, {self.kind!r})"


def _varint(v: int) -> bytes:
    v &= 0xFFFFFFFFFFFFFFFF
    out = bytearray()
    while v > 0x7F:
        out.append(v & 0x7F | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def _read_varint(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    result = shift = 0
    while pos < end:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise DecodeError("varint too long")
    raise DecodeError("truncated message")


def _f32(v: float) -> float:
    try:
        return struct.unpack("<f", struct.pack("<f", v))[0]
    except OverflowError:
        return math.copysign(math.inf, v)


def _to_wire_int(kind: str, v: int) -> int:
    if kind in ("sint32", "sint64"):
        return v << 1 if v >= 0 else (-v << 1) - 1
    return int(v)


def _from_wire_int(kind: str, v: int) -> Any:
    if kind == "bool":
        return v != 0
    if kind in ("sint32", "sint64"):
        v = (v >> 1) ^ -(v & 1)
    bits = 32 if kind in ("int32", "sint32", "uint32", "enum") else 64
    v &= (1 << bits) - 1
    if kind[0] != "u" and v >= 1 << (bits - 1):
        v -= 1 << bits
    return v


def _write(f: Field, v: Any, out: bytearray) -> None:
    """Append one tag + value of non-packed field ``f`` to ``out``."""
    kind = f.kind
    out += _varint(f.number << 3 | f.wire_type)
    if f.wire_type == _VARINT:
        out += _varint(_to_wire_int(kind, v))
    elif f.wire_type != _LEN:
        out += struct.pack("<" + _STRUCT[kind], v)
    else:
        data = v._serialize() if kind == "message" else v.encode() if kind == "string" else v
        out += _varint(len(data))
        out += data


def _read_scalar(kind: str, wt: int, buf: bytes, pos: int, end: int) -> tuple[Any, int]:
    if wt == _VARINT:
        raw, pos = _read_varint(buf, pos, end)
        return _from_wire_int(kind, raw), pos
    size = 4 if wt == _I32 else 8
    if pos + size > end:
        raise DecodeError("truncated message")
    return struct.unpack_from("<" + _STRUCT[kind], buf, pos)[0], pos + size


def _skip(buf: bytes, pos: int, wt: int, number: int, end: int) -> int:
    if wt == _VARINT:
        _, pos = _read_varint(buf, pos, end)
    elif wt in (_I64, _I32):
        pos += 8 if wt == _I64 else 4
    elif wt == _LEN:
        n, pos = _read_varint(buf, pos, end)
        pos += n
    elif wt == _SGROUP:
        while True:
            key, pos = _read_varint(buf, pos, end)
            if key & 7 == _EGROUP:
                if key >> 3 != number:
                    raise DecodeError("mismatched end-group tag")
                break
            pos = _skip(buf, pos, key & 7, key >> 3, end)
    else:
        raise DecodeError(f"invalid wire type {wt}")
    if pos > end:
        raise DecodeError("truncated message")
    return pos


def _type_error(where: str, v: Any, expected: str) -> TypeError:
    return TypeError(f"{where}: expected {expected}, got {type(v).__name__} ({v!r:.60})")


def _coerce(f: Field, v: Any, where: str) -> Any:
    """Check and convert a Python value for scalar field kind ``f.kind``."""
    kind = f.kind
    if kind == "enum" and isinstance(v, str) and f.enum is not None:
        try:
            return f.enum.Value(v)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
    if kind == "bool" and getattr(getattr(v, "dtype", None), "kind", "") == "b":
        return bool(v)
    if kind in _INT_RANGES or kind == "bool":
        if isinstance(v, (float, str, bytes)) or not hasattr(type(v), "__index__"):
            raise _type_error(where, v, "bool" if kind == "bool" else "int")
        v = operator.index(v)
        if kind == "bool":
            return bool(v)
        lo, hi = _INT_RANGES[kind]
        if not lo <= v <= hi:
            raise ValueError(f"{where}: value {v} out of range for {kind}")
        return v
    if kind in ("float", "double"):
        if isinstance(v, (str, bytes)) or not hasattr(type(v), "__float__"):
            raise _type_error(where, v, "float")
        return _f32(float(v)) if kind == "float" else float(v)
    if kind == "string":
        if isinstance(v, str):
            return str(v)
        if isinstance(v, (bytes, bytearray)):
            try:
                return bytes(v).decode("utf-8")
            except UnicodeDecodeError:
                raise ValueError(f"{where}: bytes are not valid UTF-8") from None
        raise _type_error(where, v, "str")
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v)
    if isinstance(v, str):
        return v.encode("utf-8")
    raise _type_error(where, v, "bytes")


def _as_message(cls: type[Message], v: Any, where: str) -> Message:
    if isinstance(v, cls):
        return v
    if isinstance(v, Mapping):
        return cls(**v)
    raise _type_error(where, v, cls.__name__)


def _scalar_list(values: Any) -> list[Any]:
    if hasattr(values, "dtype") and hasattr(values, "tolist"):
        values = values.tolist()  # numpy array/scalar -> Python scalars, fast
    return list(values) if not isinstance(values, list) else values


class _FieldProperty:
    """Class attribute exposing one field of a message instance."""

    __slots__ = ("f",)

    def __init__(self, f: Field) -> None:
        self.f = f

    def __get__(self, obj: Message | None, owner: type | None = None) -> Any:
        return self.f if obj is None else obj._get(self.f)

    def __set__(self, obj: Message, value: Any) -> None:
        obj._set(self.f, value)


class Message:
    """Base class of declarative proto3 messages; subclasses set ``FIELDS`` (and ``ENUMS``).

    Parameters
    ----------
    **kwargs
        Initial field values; messages may be given as instances or dicts, repeated fields
        as iterables, maps as mappings.  An unknown name raises ValueError.
    """

    FIELDS: ClassVar[tuple[Field, ...]] = ()
    ENUMS: ClassVar[tuple[EnumType, ...]] = ()
    _by_name: ClassVar[dict[str, Field]] = {}
    _by_number: ClassVar[dict[int, Field]] = {}
    _ordered: ClassVar[tuple[Field, ...]] = ()
    _oneofs: ClassVar[dict[str, tuple[str, ...]]] = {}
    __slots__ = ("_parent", "_pfield", "_present", "_unknown", "_values", "_which")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._setup()

    @classmethod
    def _setup(cls) -> None:
        cls._by_name = {f.name: f for f in cls.FIELDS}
        cls._by_number = {f.number: f for f in cls.FIELDS}
        if len(cls._by_name) != len(cls.FIELDS) or len(cls._by_number) != len(cls.FIELDS):
            raise ValueError(f"{cls.__name__}: duplicate field name or number")
        cls._ordered = tuple(sorted(cls.FIELDS, key=lambda f: f.number))
        groups: dict[str, list[str]] = {}
        for f in cls._ordered:
            setattr(cls, f.name, _FieldProperty(f))
            setattr(cls, f"{f.name.upper()}_FIELD_NUMBER", f.number)
            if f.oneof is not None:
                groups.setdefault(f.oneof, []).append(f.name)
        cls._oneofs = {g: tuple(names) for g, names in groups.items()}
        for enum in cls.ENUMS:
            setattr(cls, enum.name, enum)
            for name, number in enum.items():
                setattr(cls, name, number)

    def __init__(self, **kwargs: Any) -> None:
        setattr_ = object.__setattr__
        setattr_(self, "_values", {})
        setattr_(self, "_present", set())
        setattr_(self, "_which", {})
        setattr_(self, "_unknown", [])
        setattr_(self, "_parent", None)
        setattr_(self, "_pfield", None)
        for name, value in kwargs.items():
            f = self._by_name.get(name)
            if f is None:
                raise ValueError(f'Protocol message {type(self).__name__} has no "{name}" field.')
            if value is not None:
                self._set(f, value)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self._by_name or name.startswith("_"):
            object.__setattr__(self, name, value)
        else:
            raise AttributeError(f"protocol message {type(self).__name__} has no field {name!r}")

    # -- internal state management ---------------------------------------------------------

    def _where(self, f: Field) -> str:
        return f"{type(self).__name__}.{f.name}"

    def _get(self, f: Field) -> Any:
        v = self._values.get(f.name)
        if v is not None:
            return v
        if f.kind == "map":
            v = MapContainer(self, f)
        elif f.repeated:
            cls = RepeatedCompositeContainer if f.kind == "message" else RepeatedScalarContainer
            v = cls(self, f)
        elif f.kind == "message":
            v = f.message_class()
            v._parent, v._pfield = self, f.name
        else:
            return f.default
        self._values[f.name] = v
        return v

    def _set(self, f: Field, value: Any) -> None:
        if f.kind == "map":
            if not isinstance(value, Mapping):
                raise _type_error(self._where(f), value, "a mapping")
            items = list(value.items())
            container = self._get(f)
            container._d.clear()
            for k, v in items:
                container[k] = v
        elif f.repeated:
            if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
                raise _type_error(self._where(f), value, "an iterable")
            items = list(value)
            self._drop(f.name)
            self._get(f).extend(items)
        elif f.kind == "message":
            src = _as_message(f.message_class, value, self._where(f))
            self._drop(f.name)
            self._get(f).MergeFrom(src)
            self._mark(f.name)
        else:
            self._values[f.name] = _coerce(f, value, self._where(f))
            if f.oneof is not None:
                self._mark(f.name)
            else:
                self._touch()

    def _touch(self) -> None:
        """Record a modification: make this message present in its ancestors."""
        p = self._parent
        if p is not None:
            if self._pfield is None:
                p._touch()
            elif self._pfield not in p._present:
                p._mark(self._pfield)

    def _mark(self, name: str) -> None:
        f = self._by_name[name]
        if f.oneof is not None:
            current = self._which.get(f.oneof)
            if current != name:
                if current is not None:
                    self._drop(current)
                self._which[f.oneof] = name
        if f.kind == "message":
            self._present.add(name)
        self._touch()

    def _drop(self, name: str) -> None:
        v = self._values.pop(name, None)
        if isinstance(v, (Message, _Container)):
            v._parent = None
        self._present.discard(name)
        group = self._by_name[name].oneof
        if group is not None and self._which.get(group) == name:
            del self._which[group]

    # -- protobuf-style public API --------------------------------------------------------

    def ListFields(self) -> list[tuple[Field, Any]]:
        """``(field, value)`` for every set field, in field-number order."""
        out = []
        for f in self._ordered:
            v = self._values.get(f.name)
            if v is None:
                continue
            if f.repeated or f.kind == "map":
                keep = len(v) > 0
            elif f.kind == "message":
                keep = f.name in self._present
            elif f.oneof is not None:
                keep = self._which.get(f.oneof) == f.name
            elif isinstance(v, float):
                keep = v != 0.0 or math.copysign(1.0, v) < 0
            else:
                keep = bool(v)
            if keep:
                out.append((f, v))
        return out

    def HasField(self, name: str) -> bool:
        """Presence of a message field, oneof member or oneof group."""
        f = self._by_name.get(name)
        if f is None:
            if name in self._oneofs:
                return name in self._which
            raise ValueError(f'Protocol message {type(self).__name__} has no field "{name}".')
        if f.oneof is not None and not f.repeated:
            return self._which.get(f.oneof) == name
        if f.kind == "message" and not f.repeated:
            return name in self._present
        raise ValueError(f'Can\'t test non-optional, non-submessage field "{name}" for presence.')

    def ClearField(self, name: str) -> None:
        """Reset field (or oneof group) ``name`` to its default."""
        if name in self._oneofs and name not in self._by_name:
            name = self._which.get(name, "")
            if not name:
                return
        if name not in self._by_name:
            raise ValueError(f'Protocol message {type(self).__name__} has no "{name}" field.')
        self._drop(name)

    def WhichOneof(self, group: str) -> str | None:
        """Name of the set member of oneof ``group``, or None."""
        if group not in self._oneofs:
            raise ValueError(f'Protocol message has no oneof "{group}" field.')
        return self._which.get(group)

    def Clear(self) -> None:
        """Reset every field to its default and forget unknown fields."""
        for name in list(self._values):
            self._drop(name)
        self._unknown.clear()

    def SetInParent(self) -> None:
        """Mark this (sub-)message present in its parent, even if empty."""
        self._touch()

    def MergeFrom(self, other: Message) -> None:
        """Merge ``other`` in: scalars overwrite, repeated append, messages merge recursively."""
        if type(other) is not type(self):
            raise TypeError(
                f"MergeFrom: expected {type(self).__name__}, got {type(other).__name__}"
            )
        if other is self:
            other = self.__deepcopy__()
        for f, v in other.ListFields():
            if f.kind == "map" or f.repeated:
                self._get(f).MergeFrom(v)
            elif f.kind == "message":
                self._get(f).MergeFrom(v)
                self._mark(f.name)
            else:
                self._set(f, v)
        self._unknown.extend(other._unknown)
        self._touch()

    def CopyFrom(self, other: Message) -> None:
        """Replace this message's contents with a copy of ``other``."""
        if other is not self:
            if type(other) is not type(self):
                raise TypeError(f"CopyFrom: expected {type(self).__name__}")
            self.Clear()
            self.MergeFrom(other)

    def SerializeToString(self, *, deterministic: bool | None = None) -> bytes:
        """Wire-format bytes (always deterministic)."""
        return bytes(self._serialize())

    SerializePartialToString = SerializeToString

    def ByteSize(self) -> int:
        """Length of the serialized message in bytes."""
        return len(self._serialize())

    def IsInitialized(self) -> bool:
        """Always True: proto3 messages have no required fields."""
        return True

    def MergeFromString(self, data: bytes | bytearray | memoryview) -> int:
        """Merge wire-format ``data`` into this message; return ``len(data)``."""
        buf = bytes(data)
        self._merge(buf, 0, len(buf))
        self._touch()
        return len(buf)

    def ParseFromString(self, data: bytes | bytearray | memoryview) -> int:
        """Clear, then parse wire-format ``data``; return ``len(data)``."""
        self.Clear()
        return self.MergeFromString(data)

    @classmethod
    def FromString(cls, data: bytes | bytearray | memoryview) -> Message:
        """A new message parsed from wire-format ``data``."""
        msg = cls()
        msg.MergeFromString(data)
        return msg

    def DiscardUnknownFields(self) -> None:
        """Drop unknown fields here and in all sub-messages."""
        self._unknown.clear()
        for f, v in self.ListFields():
            if f.kind == "message":
                for m in v if f.repeated else [v]:
                    m.DiscardUnknownFields()
            elif f.kind == "map" and f.value_field.kind == "message":
                for m in v.values():
                    m.DiscardUnknownFields()

    # -- wire format ----------------------------------------------------------------------

    def _serialize(self) -> bytearray:
        out = bytearray()
        for f, v in self.ListFields():
            if f.kind == "map":
                for k in sorted(v._d):
                    entry = bytearray()
                    _write(f.key_field, k, entry)
                    _write(f.value_field, v._d[k], entry)
                    out += f.tag + _varint(len(entry)) + entry
            elif f.packed:
                items = v._items
                if f.wire_type == _VARINT:
                    payload = b"".join(_varint(_to_wire_int(f.kind, x)) for x in items)
                else:
                    payload = struct.pack(f"<{len(items)}{_STRUCT[f.kind]}", *items)
                out += f.tag + _varint(len(payload)) + payload
            elif f.repeated:
                for x in v:
                    _write(f, x, out)
            else:
                _write(f, v, out)
        for raw in self._unknown:
            out += raw
        return out

    def _merge(self, buf: bytes, pos: int, end: int) -> None:
        by_number = self._by_number
        while pos < end:
            start = pos
            key, pos = _read_varint(buf, pos, end)
            number, wt = key >> 3, key & 7
            if number == 0:
                raise DecodeError("invalid field number 0")
            f = by_number.get(number)
            if f is None or (wt != f.wire_type and not (wt == _LEN and f.packed)):
                pos = _skip(buf, pos, wt, number, end)
                self._unknown.append(buf[start:pos])
                continue
            if wt != _LEN:
                value, pos = _read_scalar(f.kind, wt, buf, pos, end)
            else:
                n, pos = _read_varint(buf, pos, end)
                stop = pos + n
                if stop > end:
                    raise DecodeError("truncated message")
                if f.kind == "message":
                    child = self._get(f).add() if f.repeated else self._get(f)
                    child._merge(buf, pos, stop)
                    if not f.repeated:
                        self._mark(f.name)
                elif f.kind == "map":
                    self._get(f)._merge_entry(buf, pos, stop)
                elif f.packed:
                    self._get(f)._items.extend(_unpack(f, buf, pos, stop))
                else:
                    value = buf[pos:stop]
                    if f.kind == "string":
                        try:
                            value = value.decode("utf-8")
                        except UnicodeDecodeError:
                            raise DecodeError(f"{self._where(f)}: invalid UTF-8") from None
                pos = stop
                if f.kind not in ("string", "bytes"):
                    continue
            if f.repeated:
                self._get(f)._items.append(value)
            else:
                self._values[f.name] = value
                if f.oneof is not None:
                    self._mark(f.name)

    # -- python protocol ------------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Message):
            return NotImplemented
        return type(other) is type(self) and self._compare_key() == other._compare_key()

    def _compare_key(self) -> list[Any]:
        key: list[Any] = [self._unknown]
        for f, v in self.ListFields():
            key.append((f.number, dict(v) if f.kind == "map" else list(v) if f.repeated else v))
        return key

    __hash__ = None  # type: ignore[assignment]

    def __deepcopy__(self, memo: Any = None) -> Message:
        new = type(self)()
        new.MergeFrom(self)
        return new

    __copy__ = __deepcopy__

    def __str__(self) -> str:
        lines: list[str] = []
        self._text(0, lines)
        return "".join(lines)

    __repr__ = __str__

    def _text(self, indent: int, out: list[str]) -> None:
        for f, v in self.ListFields():
            if f.kind == "map":
                for k in sorted(v._d):
                    out.append(f"{' ' * indent}{f.name} {{\n")
                    _text_value(f.key_field, k, indent + 2, out)
                    _text_value(f.value_field, v._d[k], indent + 2, out)
                    out.append(f"{' ' * indent}}}\n")
            else:
                for x in v if f.repeated else (v,):
                    _text_value(f, x, indent, out)


def _unpack(f: Field, buf: bytes, pos: int, stop: int) -> list[Any]:
    if f.wire_type == _VARINT:
        out = []
        while pos < stop:
            raw, pos = _read_varint(buf, pos, stop)
            out.append(_from_wire_int(f.kind, raw))
        return out
    size = 4 if f.wire_type == _I32 else 8
    if (stop - pos) % size:
        raise DecodeError(f"packed field {f.name!r} has a partial element")
    return list(struct.unpack_from(f"<{(stop - pos) // size}{_STRUCT[f.kind]}", buf, pos))


def _escape(data: bytes) -> str:
    special = {10: r"\n", 13: r"\r", 9: r"\t", 34: r"\"", 39: r"\'", 92: r"\\"}
    return "".join(special.get(b) or (chr(b) if 32 <= b < 127 else f"\\{b:03o}") for b in data)


def _format_float32(v: float) -> str:
    if math.isnan(v) or math.isinf(v):
        return repr(v)
    for digits in range(6, 10):
        s = f"{v:.{digits}g}"
        if _f32(float(s)) == v:
            break
    return repr(float(s))


def _text_value(f: Field, v: Any, indent: int, out: list[str]) -> None:
    pad = " " * indent
    if f.kind == "message":
        out.append(f"{pad}{f.name} {{\n")
        v._text(indent + 2, out)
        out.append(f"{pad}}}\n")
        return
    if f.kind in ("string", "bytes"):
        text = '"' + _escape(v.encode("utf-8") if f.kind == "string" else v) + '"'
    elif f.kind == "bool":
        text = "true" if v else "false"
    elif f.kind == "enum" and f.enum is not None and v in f.enum._by_number:
        text = f.enum.Name(v)
    elif f.kind == "float":
        text = _format_float32(v)
    else:
        text = repr(v)
    out.append(f"{pad}{f.name}: {text}\n")


class _Container:
    """Shared bookkeeping of field containers: owner message and error-message prefix."""

    __slots__ = ("_f", "_parent", "_where")

    def __init__(self, owner: Message, f: Field) -> None:
        self._parent: Message | None = owner
        self._f = f
        self._where = owner._where(f)

    def _touch(self) -> None:
        if self._parent is not None:
            self._parent._touch()

    def _adopt(self, msg: Message) -> Message:
        msg._parent, msg._pfield = self._parent, None
        return msg


class RepeatedScalarContainer(_Container, MutableSequence):
    """List-like value of a repeated scalar field (type-checked on every write)."""

    __slots__ = ("_items",)

    def __init__(self, owner: Message, f: Field) -> None:
        super().__init__(owner, f)
        self._items: list[Any] = []

    def _check(self, v: Any) -> Any:
        return _coerce(self._f, v, self._where)

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, i: Any) -> Any:
        return self._items[i]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._items)

    def clear(self) -> None:
        """Remove all values."""
        self._items.clear()
        self._touch()

    def __setitem__(self, i: Any, v: Any) -> None:
        self._items[i] = (
            [self._check(x) for x in _scalar_list(v)] if isinstance(i, slice) else (self._check(v))
        )
        self._touch()

    def __delitem__(self, i: Any) -> None:
        del self._items[i]
        self._touch()

    def insert(self, i: int, v: Any) -> None:
        """Insert one value before index ``i``."""
        self._items.insert(i, self._check(v))
        self._touch()

    def append(self, v: Any) -> None:
        """Append one value."""
        self._items.append(self._check(v))
        self._touch()

    def extend(self, values: Iterable[Any]) -> None:
        """Append all ``values`` (a numpy array is accepted)."""
        self._items.extend([self._check(x) for x in _scalar_list(values)])
        self._touch()

    def MergeFrom(self, other: Iterable[Any]) -> None:
        """Append the values of ``other``."""
        self.extend(other)

    def sort(self, *, key: Callable[[Any], Any] | None = None, reverse: bool = False) -> None:
        """Sort in place."""
        self._items.sort(key=key, reverse=reverse)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RepeatedScalarContainer):
            return self._items == other._items
        return self._items == list(other) if isinstance(other, (list, tuple)) else NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._items)


class RepeatedCompositeContainer(_Container):
    """List-like value of a repeated message field; ``add(**kw)`` appends a new message."""

    __slots__ = ("_items",)

    def __init__(self, owner: Message, f: Field) -> None:
        super().__init__(owner, f)
        self._items: list[Message] = []

    def add(self, **kwargs: Any) -> Message:
        """Append and return a new element built from ``kwargs``."""
        msg = self._adopt(self._f.message_class(**kwargs))
        self._items.append(msg)
        self._touch()
        return msg

    def append(self, msg: Message | Mapping[str, Any]) -> None:
        """Append a copy of ``msg`` (a message or a dict of fields)."""
        self.insert(len(self._items), msg)

    def insert(self, i: int, msg: Message | Mapping[str, Any]) -> None:
        """Insert a copy of ``msg`` before index ``i``."""
        src = _as_message(self._f.message_class, msg, self._where)
        copy = self._adopt(self._f.message_class())
        copy.MergeFrom(src)
        self._items.insert(i, copy)
        self._touch()

    def extend(self, msgs: Iterable[Message | Mapping[str, Any]]) -> None:
        """Append copies of all ``msgs``."""
        for m in list(msgs):
            self.append(m)
        self._touch()

    MergeFrom = extend

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Message]:
        return iter(self._items)

    def __getitem__(self, i: Any) -> Any:
        return self._items[i]

    def __delitem__(self, i: Any) -> None:
        for m in self._items[i] if isinstance(i, slice) else [self._items[i]]:
            m._parent = None
        del self._items[i]
        self._touch()

    def pop(self, i: int = -1) -> Message:
        """Remove and return element ``i``."""
        msg = self._items[i]
        del self[i]
        return msg

    def remove(self, msg: Message) -> None:
        """Remove the first element equal to ``msg``."""
        del self[self._items.index(msg)]

    def clear(self) -> None:
        """Remove all elements."""
        del self[:]

    def sort(self, *, key: Callable[[Any], Any] | None = None, reverse: bool = False) -> None:
        """Sort in place."""
        self._items.sort(key=key, reverse=reverse)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RepeatedCompositeContainer):
            return self._items == other._items
        return self._items == list(other) if isinstance(other, (list, tuple)) else NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._items)


class MapContainer(_Container, MutableMapping):
    """Dict-like value of a map field; reading a missing key inserts a default value."""

    __slots__ = ("_d",)

    def __init__(self, owner: Message, f: Field) -> None:
        super().__init__(owner, f)
        self._d: dict[Any, Any] = {}

    def _key(self, k: Any) -> Any:
        return _coerce(self._f.key_field, k, self._where + " key")

    def __getitem__(self, k: Any) -> Any:
        k = self._key(k)
        if k not in self._d:
            vf = self._f.value_field
            self._d[k] = self._adopt(vf.message_class()) if vf.kind == "message" else vf.default
            self._touch()
        return self._d[k]

    def __setitem__(self, k: Any, v: Any) -> None:
        vf = self._f.value_field
        if vf.kind == "message":
            src = _as_message(vf.message_class, v, self._where)
            v = self._adopt(vf.message_class())
            v.MergeFrom(src)
        else:
            v = _coerce(vf, v, self._where)
        self._d[self._key(k)] = v
        self._touch()

    def __delitem__(self, k: Any) -> None:
        del self._d[self._key(k)]
        self._touch()

    def __contains__(self, k: object) -> bool:
        return self._key(k) in self._d

    def get(self, k: Any, default: Any = None) -> Any:
        """Value of ``k``, or ``default`` (without inserting)."""
        return self._d.get(self._key(k), default)

    def get_or_create(self, k: Any) -> Any:
        """Value of ``k``, inserting a default value first if missing."""
        return self[k]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)

    def clear(self) -> None:
        """Remove all entries."""
        self._d.clear()
        self._touch()

    def MergeFrom(self, other: Mapping[Any, Any]) -> None:
        """Copy every entry of ``other`` in, replacing existing keys."""
        for k, v in list(other.items()):
            self[k] = v
        self._touch()

    def _merge_entry(self, buf: bytes, pos: int, stop: int) -> None:
        entry = self._f.entry_class()
        entry._merge(buf, pos, stop)
        key = entry._get(self._f.key_field)
        value = entry._get(self._f.value_field)
        if isinstance(value, Message):
            self._adopt(value)
        self._d[key] = value
        self._touch()

    def __repr__(self) -> str:
        return repr(self._d)
