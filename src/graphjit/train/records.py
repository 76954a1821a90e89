"""TFRecord framing and CRC-32C, in pure Python.

A record is ``uint64 length | uint32 masked_crc32c(length bytes) | data |
uint32 masked_crc32c(data)``, all little-endian; TensorBoard event files are such records
holding serialized ``Event`` messages.
"""

from __future__ import annotations

import struct

from ..errors import DataLossError

_POLY = 0x82F63B78  # CRC-32C (Castagnoli), reflected


def _make_table() -> tuple[int, ...]:
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ _POLY if c & 1 else c >> 1
        table.append(c)
    return tuple(table)


_TABLE = _make_table()


def crc32c(data: bytes, crc: int = 0) -> int:
    """CRC-32C of ``data`` (continuing from ``crc``).

    >>> hex(crc32c(b"123456789"))
    '0xe3069283'
    """
    t = _TABLE
    c = crc ^ 0xFFFFFFFF
    for b in bytes(data):
        c = t[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    """TFRecord's masked CRC: rotate right by 15 and add a constant (so CRCs of CRCs differ)."""
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def encode_record(data: bytes) -> bytes:
    """Frame ``data`` as one TFRecord."""
    header = struct.pack("<Q", len(data))
    return b"".join(
        (
            header,
            struct.pack("<I", masked_crc32c(header)),
            data,
            struct.pack("<I", masked_crc32c(data)),
        )
    )


def read_records(path: str, check_crc: bool = True):
    """Yield the payloads of the TFRecord file ``path``.

    ``DataLossError`` on a corrupt record; a truncated last record (a writer still running or
    killed mid-write) ends the iteration quietly, as TensorBoard does.
    """
    with open(path, "rb") as f:
        while True:
            header = f.read(12)
            if len(header) < 12:
                return
            (length,) = struct.unpack("<Q", header[:8])
            (hcrc,) = struct.unpack("<I", header[8:])
            if check_crc and hcrc != masked_crc32c(header[:8]):
                raise DataLossError(None, None, f"corrupted record header in {path}")
            body = f.read(length + 4)
            if len(body) < length + 4:
                return
            data = body[:length]
            (dcrc,) = struct.unpack("<I", body[length:])
            if check_crc and dcrc != masked_crc32c(data):
                raise DataLossError(None, None, f"corrupted record data in {path}")
            yield data
