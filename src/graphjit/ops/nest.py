"""A small ``tf.nest``: flatten and rebuild nested lists, tuples, namedtuples and dicts.

Dicts flatten in sorted key order, as in TF; every other object is a leaf.
"""

from __future__ import annotations


def _is_seq(x) -> bool:
    return isinstance(x, (list, tuple, dict))


def _children(x):
    if isinstance(x, dict):
        return [x[k] for k in sorted(x)]
    return list(x)


def flatten(structure) -> list:
    """The leaves of ``structure``, depth first."""
    if not _is_seq(structure):
        return [structure]
    out = []
    for c in _children(structure):
        out.extend(flatten(c))
    return out


def pack_as(structure, flat):
    """Rebuild ``structure``'s shape with the leaves ``flat`` (in ``flatten`` order)."""
    it = iter(flat)
    result = _pack(structure, it)
    return result


def _pack(s, it):
    if not _is_seq(s):
        return next(it)
    if isinstance(s, dict):
        vals = {k: _pack(s[k], it) for k in sorted(s)}
        return type(s)((k, vals[k]) for k in s) if type(s) is not dict else {k: vals[k] for k in s}
    items = [_pack(c, it) for c in s]
    if isinstance(s, tuple) and hasattr(s, "_fields"):  # namedtuple
        return type(s)(*items)
    return type(s)(items)


def same_structure(a, b) -> bool:
    """Whether ``a`` and ``b`` nest the same way (sequence kinds, lengths and dict keys)."""
    if _is_seq(a) != _is_seq(b):
        return False
    if not _is_seq(a):
        return True
    if isinstance(a, dict) != isinstance(b, dict):
        return False
    if isinstance(a, dict) and sorted(a) != sorted(b):
        return False
    ca, cb = _children(a), _children(b)
    return len(ca) == len(cb) and all(same_structure(x, y) for x, y in zip(ca, cb))
