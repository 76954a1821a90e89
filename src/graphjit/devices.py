"""TF device strings: parsing, canonical form and the merge ``tf.device`` scopes apply.

graphjit runs everything on this CPU; device strings are recorded on ops (and in the GraphDef)
exactly as TF would write them, so code that inspects ``op.device`` sees the same text.
"""

from __future__ import annotations

import re

_FIELDS = ("job", "replica", "task", "type", "index")
_PART = re.compile(r"^(job|replica|task|device):(.*)$", re.IGNORECASE)


def parse_device(spec: str) -> dict:
    """Split ``"/job:w/task:0/device:CPU:0"`` (or ``"/cpu:0"``, ``"GPU:1"``) into fields.

    >>> parse_device("/cpu:0")
    {'type': 'CPU', 'index': '0'}
    """
    out: dict = {}
    if not spec:
        return out
    for part in spec.split("/"):
        if not part:
            continue
        m = _PART.match(part)
        if m:
            key, val = m.group(1).lower(), m.group(2)
            if key == "device":
                dtype, _, idx = val.partition(":")
                out["type"] = dtype.upper() if dtype.lower() in ("cpu", "gpu", "tpu") else dtype
                if idx:
                    out["index"] = idx
            else:
                out[key] = val
            continue
        dtype, _, idx = part.partition(":")
        if dtype.lower() in ("cpu", "gpu", "tpu"):
            out["type"] = dtype.upper()
            if idx:
                out["index"] = idx
            continue
        raise ValueError(f"Unknown attribute: '{part}' in '{spec}'")
    return out


def device_string(fields: dict) -> str:
    """The canonical TF spelling of parsed device fields."""
    s = ""
    for key in ("job", "replica", "task"):
        if key in fields:
            s += f"/{key}:{fields[key]}"
    if "type" in fields:
        s += f"/device:{fields['type']}:{fields.get('index', '*')}"
    return s


def merge_device(outer: str, inner: str) -> str:
    """The device of an op inside ``tf.device(inner)`` nested in ``tf.device(outer)``."""
    fields = parse_device(outer)
    new = parse_device(inner)
    if "type" in new and "index" not in new:
        fields.pop("index", None)
    fields.update(new)
    return device_string(fields)
