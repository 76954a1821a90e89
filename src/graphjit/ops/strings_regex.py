"""Regex string ops: ``RegexReplace``/``StaticRegexReplace`` (``tf.regex_replace``) and
``RegexFullMatch``/``StaticRegexFullMatch`` (``tf.strings.regex_full_match``): RE2 on Python's
``re``. Fallback links like every string op (see :mod:`graphjit.ops.strings`).

TensorFlow matches with RE2 in UTF-8 mode; graphjit translates an RE2 pattern into an
equivalent Python pattern over text decoded from UTF-8 (invalid bytes kept as surrogate
escapes, which no class, ``.`` or negated class matches, as RE2 never matches invalid UTF-8),
and ports RE2's ``Replace``/``GlobalReplace``/``Rewrite`` loops.

What the translation keeps from RE2:

- ``\\d \\s \\w \\b`` and POSIX classes ``[[:alpha:]]`` are ASCII-only; ``\\s`` is
  ``[\\t\\n\\f\\r ]``; ``(?i)`` folds Unicode case; ``\\pL``, ``\\p{Lu}``, ``\\PN`` ... (general
  categories) and ``\\p{Any}`` are supported.
- ``$`` is the end of the text (Python's ``$`` also matches before a final newline) unless
  ``(?m)``; ``\\z`` is the end of the text; ``\\Q...\\E`` quotes; ``\\x{263a}`` and octal
  ``\\141`` escapes; ``x{,3}`` is a literal, not a repetition; mid-pattern flag groups such as
  ``a(?i)b`` apply to the rest of their group.
- RE2 rejects lookarounds, backreferences, possessive and atomic groups, conditionals and
  ``\\Z``: so does graphjit, with RE2's message.
- Rewrites: ``\\0``..``\\9`` insert groups and ``\\\\`` a backslash; anything else after a
  backslash stops the rewrite (RE2 logs "invalid rewrite pattern"); a group beyond the
  pattern's count leaves the string unchanged. ``GlobalReplace`` never replaces an empty match
  right after the previous match (``x*`` on ``abxd`` gives ``-a-b-d-``, not Python's
  ``-a-b--d-``).

Not emulated (``InvalidArgumentError`` naming the construct): Unicode scripts
(``\\p{Greek}``), ``\\C`` (one byte) and the ungreedy flag ``(?U)``. Python's backtracking
matcher has no linear-time guarantee, unlike RE2.
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata

import numpy as np

from .. import dtypes as _dt
from ..graph import Tensor
from .common import make1
from .strings import _b, _dbg, _def, _each, _iae, _same_shape, _str, _text

_INVALID = "\\udc80-\\udcff"  # surrogate escapes of invalid UTF-8 bytes: never matched
_ASCII = {
    "d": [(48, 57)],
    "s": [(9, 10), (12, 13), (32, 32)],
    "w": [(48, 57), (65, 90), (95, 95), (97, 122)],
}
_POSIX = {
    "alnum": [(48, 57), (65, 90), (97, 122)],
    "alpha": [(65, 90), (97, 122)],
    "ascii": [(0, 127)],
    "blank": [(9, 9), (32, 32)],
    "cntrl": [(0, 31), (127, 127)],
    "digit": [(48, 57)],
    "graph": [(33, 126)],
    "lower": [(97, 122)],
    "print": [(32, 126)],
    "punct": [(33, 47), (58, 64), (91, 96), (123, 126)],
    "space": [(9, 13), (32, 32)],
    "upper": [(65, 90)],
    "word": [(48, 57), (65, 90), (95, 95), (97, 122)],
    "xdigit": [(48, 57), (65, 70), (97, 102)],
}
_SIMPLE = {"a": 7, "f": 12, "t": 9, "n": 10, "r": 13, "v": 11}
_OCT = "01234567"


class RE2Error(ValueError):
    """A pattern RE2 rejects (message as RE2 words it), or one graphjit cannot emulate."""


def _complement(ranges):
    """Code points not in ``ranges`` (surrogates excluded: they stand for invalid bytes)."""
    out, lo = [], 0
    for a, b in [*sorted([*ranges, (0xD800, 0xDFFF)]), (0x110000, 0x110000)]:
        if a > lo:
            out.append((lo, a - 1))
        lo = max(lo, b + 1)
    return out


@functools.cache
def _categories() -> dict:
    """Unicode general category -> code point ranges (one pass, on first ``\\p`` use)."""
    cats: dict = {}
    prev, start = None, 0
    for c in range(sys.maxunicode + 2):
        cat = unicodedata.category(chr(c)) if c <= sys.maxunicode else None
        if cat != prev:
            if prev is not None and prev != "Cs":
                cats.setdefault(prev, []).append((start, c - 1))
            prev, start = cat, c
    return cats


def _unicode_class(name: str, whole: str):
    cats = _categories()
    if name == "Any":
        return _complement([])
    if name in cats or (len(name) == 1 and any(k[0] == name for k in cats)):
        return [r for k, rs in cats.items() if k == name or k[0] == name for r in rs]
    raise RE2Error(f"graphjit: the Unicode class {whole} (scripts) is not supported")


def _cp(c: int) -> str:
    return chr(c) if chr(c).isascii() and chr(c).isalnum() else f"\\U{c:08x}"


def _class(ranges, negate=False) -> str:
    body = "".join(_cp(a) if a == b else f"{_cp(a)}-{_cp(b)}" for a, b in ranges)
    if negate:
        return f"[^{body}{_INVALID}]"
    return f"[{body}]" if body else "(?!)"


class _Parser:
    """One left-to-right pass over an RE2 pattern, emitting Python ``re`` syntax.

    ``levels`` holds one entry per open group (the top level first): the RE2 flags when it
    opened and the Python ``(?i:`` scopes opened inside it by mid-group flag changes, which
    are closed (and reopened after each ``|``) to keep RE2's "until the end of the group".
    """

    def __init__(self, pattern: str):
        self.p, self.i, self.out = pattern, 0, []
        self.flags = frozenset()  # active RE2 flags among i, m, s
        self.levels = [(self.flags, [])]

    def fail(self, what):
        raise RE2Error(what)

    def run(self) -> str:
        p, out = self.p, self.out
        while self.i < len(p):
            c = p[self.i]
            self.i += 1
            if c == "\\":
                e = self.escape(in_class=False)
                out.append(re.escape(chr(e)) if isinstance(e, int) else e)
            elif c == "[":
                out.append(self.char_class())
            elif c == "(":
                self.open_group()
            elif c == ")":
                if len(self.levels) > 1:
                    self.flags, scopes = self.levels.pop()
                    out.append(")" * len(scopes))
                out.append(")")
            elif c == "|":
                scopes = self.levels[-1][1]
                out.append(")" * len(scopes) + "|" + "".join(scopes))
            elif c == ".":
                out.append("[^" + ("" if "s" in self.flags else "\\n") + _INVALID + "]")
            elif c in "^$":
                multi = "m" in self.flags
                out.append(f"(?m:{c})" if multi else ("\\A" if c == "^" else "\\Z"))
            elif c == "{" and re.match(r"\d+(,\d*)?\}", p[self.i :]):
                m = re.match(r"\d+(,\d*)?\}", p[self.i :])
                out.append("{" + m.group(0))
                self.i += len(m.group(0))
                self.quantifier_suffix()
            elif c in "*+?":
                out.append(c)
                self.quantifier_suffix()
            else:
                out.append(re.escape(c))  # includes a "{" that starts no repetition
        return "".join(out) + ")" * sum(len(s) for _, s in self.levels)

    def quantifier_suffix(self):
        nxt = self.p[self.i : self.i + 1]
        if nxt in ("+", "*"):  # possessive or doubled: RE2 rejects both
            self.fail(f"bad repetition operator: {self.p[self.i - 1 : self.i + 1]}")
        if nxt == "?":  # lazy: the same in both
            self.out.append("?")
            self.i += 1

    def open_group(self):
        p, i = self.p, self.i
        if not p.startswith("?", i):
            self.levels.append((self.flags, []))
            self.out.append("(")
            return
        m = re.match(r"\?P?<(\w+)>", p[i:])
        if m:
            self.levels.append((self.flags, []))
            self.out.append(f"(?P<{m.group(1)}>")
            self.i += len(m.group(0))
            return
        m = re.match(r"\?([imsU]*)(-[imsU]*)?([:)])", p[i:])
        if m is None:
            self.fail(
                f"invalid perl operator: {p[i - 1 : i + (3 if p.startswith('?<', i) else 2)]}"
            )
        on, off = set(m.group(1)), set((m.group(2) or "-")[1:])
        if m.group(2) == "-" or (m.group(3) == ")" and not on | off):
            self.fail(f"invalid or unsupported Perl syntax: {p[i - 1 : i + len(m.group(0))]}")
        if "U" in on | off:
            self.fail("graphjit: the ungreedy flag (?U) is not supported")
        self.i += len(m.group(0))
        new = (self.flags | on) - off
        # m and s are rendered by hand (^, $, .); only i is left to Python
        flip = "" if ("i" in new) == ("i" in self.flags) else ("i" if "i" in new else "-i")
        scope = f"(?{flip}:"
        if m.group(3) == ":":
            self.levels.append((self.flags, []))
        else:
            self.levels[-1][1].append(scope)
        self.flags = frozenset(new)
        self.out.append(scope)

    def escape(self, in_class: bool):
        """After a backslash: a code point (int), a list of ranges (a class, inside ``[]``) or
        Python syntax (str, outside)."""
        p = self.p
        if self.i >= len(p):
            self.fail("trailing \\")
        c = p[self.i]
        self.i += 1
        if c in _OCT and (c == "0" or p[self.i : self.i + 1] in tuple(_OCT)):
            digits = re.match("[0-7]{0,2}", p[self.i :]).group(0)
            self.i += len(digits)
            return int(c + digits, 8)
        if c == "x":
            m = re.match(r"\{([0-9A-Fa-f]+)\}|[0-9A-Fa-f]{2}", p[self.i :])
            if not m or int(m.group(1) or m.group(0), 16) > sys.maxunicode:
                self.fail(f"invalid escape sequence: \\x{p[self.i : self.i + 2]}")
            self.i += len(m.group(0))
            return int(m.group(1) or m.group(0), 16)
        if c in _SIMPLE:
            return _SIMPLE[c]
        if c in "dswDSW":
            ranges, neg = _ASCII[c.lower()], c.isupper()
        elif c in "pP":
            m = re.match(r"\{(\^?)(\w+)\}|(\w)", p[self.i :])
            if not m:
                self.fail(f"invalid character class range: \\{c}")
            self.i += len(m.group(0))
            ranges = _unicode_class(m.group(2) or m.group(3), f"\\{c}{m.group(0)}")
            neg = (c == "P") != bool(m.group(1))
        elif c == "Q" and not in_class:
            end = p.find("\\E", self.i)
            end = len(p) if end < 0 else end
            text, self.i = p[self.i : end], min(end + 2, len(p))
            return re.escape(text)
        elif c in "bBAz" and not in_class:
            return {"b": "(?a:\\b)", "B": "(?a:\\B)", "A": "\\A", "z": "\\Z"}[c]
        elif c == "C":
            self.fail("graphjit: \\C (any byte) is not supported")
        elif c.isascii() and not c.isalnum() and c != "_":
            return ord(c)
        else:
            self.fail(f"invalid escape sequence: \\{c}")
        if in_class:
            return _complement(ranges) if neg else ranges
        return _class(ranges, negate=neg)

    def char_class(self) -> str:
        p, start = self.p, self.i - 1
        neg = p.startswith("^", self.i)
        self.i += neg
        ranges, first = [], True
        while True:
            if self.i >= len(p):
                self.fail(f"missing ]: {p[start:]}")
            if p[self.i] == "]" and not first:
                self.i += 1
                return _class(ranges, negate=neg)
            first = False
            m = re.match(r"\[:(\^?)([a-z]+):\]", p[self.i :])
            if m:
                if m.group(2) not in _POSIX:
                    self.fail(f"invalid character class range: {m.group(0)}")
                r = _POSIX[m.group(2)]
                ranges += _complement(r) if m.group(1) else r
                self.i += len(m.group(0))
                continue
            lo = self.class_atom()
            if isinstance(lo, list):
                ranges += lo
            elif p.startswith("-", self.i) and not p.startswith("-]", self.i):
                self.i += 1
                hi = self.class_atom()
                if isinstance(hi, list) or hi < lo:
                    self.fail(f"invalid character class range: {p[start + 1 : self.i]}")
                ranges.append((lo, hi))
            else:
                ranges.append((lo, lo))

    def class_atom(self):
        c = self.p[self.i]
        self.i += 1
        return self.escape(in_class=True) if c == "\\" else ord(c)


@functools.lru_cache(maxsize=256)
def compile_re2(pattern: bytes):
    """The compiled Python equivalent of an RE2 pattern; ``RE2Error`` if RE2 (or graphjit)
    rejects it."""
    try:
        text = pattern.decode("utf-8")
    except UnicodeDecodeError:
        raise RE2Error("invalid UTF-8") from None
    py = _Parser(text).run()
    try:
        return re.compile(py)
    except re.error as e:
        raise RE2Error(str(e)) from None


def decode(s: bytes) -> str:
    return s.decode("utf-8", "surrogateescape")


def encode(s: str) -> bytes:
    return s.encode("utf-8", "surrogateescape")


def _max_submatch(rewrite: str) -> int:
    """RE2's ``MaxSubmatch``: the largest ``\\N`` a rewrite uses."""
    digits = re.findall(r"\\([0-9])|\\.", rewrite, re.S)  # an escaped backslash is skipped whole
    return max((int(d) for d in digits if d), default=0)


def _rewrite(rw: str, m) -> tuple:
    """RE2's ``Rewrite``: (text, ok); a bad escape ends the text early with ok False."""
    out, i = [], 0
    while i < len(rw):
        c = rw[i]
        i += 1
        if c != "\\":
            out.append(c)
            continue
        c = rw[i] if i < len(rw) else ""
        i += 1
        if c.isdigit() and c.isascii():
            out.append(m.group(int(c)) or "")
        elif c == "\\":
            out.append("\\")
        else:
            return "".join(out), False
    return "".join(out), True


def _replace(rx, s: str, rw: str, global_: bool) -> str:
    """RE2's ``GlobalReplace`` (or ``Replace``) of ``rx`` by the rewrite ``rw`` in ``s``."""
    if _max_submatch(rw) > rx.groups:
        return s  # RE2 refuses the whole replacement
    if not global_:
        m = rx.search(s)
        if m is None:
            return s
        text, ok = _rewrite(rw, m)
        return s[: m.start()] + text + s[m.end() :] if ok else s
    out, p, last, count, n = [], 0, -1, 0, len(s)
    while p <= n:
        m = rx.search(s, p)
        if m is None:
            break
        st, en = m.span()
        out.append(s[p:st])
        if st == en == last:  # no empty match right after a match: copy one character
            out.append(s[p : p + 1])
            p += 1
            continue
        out.append(_rewrite(rw, m)[0])  # GlobalReplace ignores Rewrite's failure
        p = last = en
        count += 1
    if not count:
        return s
    out.append(s[p:])
    return "".join(out)


# ------------------------------------------------------------------ regexes


def _compile(pattern):
    try:
        return compile_re2(_b(pattern))
    except RE2Error as e:
        raise _iae(f"Invalid pattern: {_text(_b(pattern))}, error: {e}") from None


def _scalar(v, what):
    if v.ndim:
        raise _iae(f"{what} must be scalar, but received {_dbg(v.shape)}")
    return v.item()


def _replace_all(x, rx, rewrite, replace_global):
    rw = decode(_b(rewrite))
    return _each(x, lambda s: encode(_replace(rx, decode(s), rw, replace_global)))


def _regex_replace_kernel(x, pattern, rewrite, *, replace_global=True, **_):
    rx = _compile(_scalar(pattern, "Pattern"))
    return _replace_all(x, rx, _scalar(rewrite, "Rewrite"), replace_global)


def _static_regex_replace_kernel(x, *, pattern, rewrite, replace_global=True, **_):
    return _replace_all(x, _compile(pattern), rewrite, replace_global)


def _full_match(x, rx):
    return _each(x, lambda s: rx.fullmatch(decode(s)) is not None, np.bool_)


_def("RegexReplace", _same_shape("RegexReplace"), _regex_replace_kernel, replace_global=True)
_def("StaticRegexReplace", _same_shape("StaticRegexReplace"), _static_regex_replace_kernel,
     replace_global=True)  # fmt: skip
_def("RegexFullMatch", _same_shape("RegexFullMatch", dtype=_dt.bool),
     lambda x, pattern, **_: _full_match(x, _compile(_scalar(pattern, "Pattern"))))  # fmt: skip
_def("StaticRegexFullMatch", _same_shape("StaticRegexFullMatch", dtype=_dt.bool),
     lambda x, *, pattern, **_: _full_match(x, _compile(pattern)))  # fmt: skip


def regex_replace(input, pattern, rewrite, replace_global=True, name=None) -> Tensor:
    """``tf.regex_replace``: replace matches of the RE2 ``pattern`` by ``rewrite`` (``\\1``
    inserts a group). Python-string patterns build ``StaticRegexReplace``, as TF does.

    >>> import graphjit.compat.v1 as tf
    >>> tf.Session().run(tf.regex_replace(tf.constant(["a1b22"]), r"\\d+", "#")).tolist()
    [b'a#b#']
    """
    x = _str(input, "RegexReplace")
    if isinstance(pattern, (str, bytes)) and isinstance(rewrite, (str, bytes)):
        attrs = {"pattern": pattern, "rewrite": rewrite, "replace_global": bool(replace_global)}
        return make1("StaticRegexReplace", [x], attrs, name=name or "StaticRegexReplace")
    ins = [x, _str(pattern, "RegexReplace", "pattern"), _str(rewrite, "RegexReplace", "rewrite")]
    attrs = {"replace_global": bool(replace_global)}
    return make1("RegexReplace", ins, attrs, name=name or "RegexReplace")


def regex_full_match(input, pattern, name=None) -> Tensor:
    """``tf.strings.regex_full_match``: whether each string matches the RE2 ``pattern``."""
    x = _str(input, "RegexFullMatch")
    if isinstance(pattern, (str, bytes)):
        return make1("StaticRegexFullMatch", [x], {"pattern": pattern},
                     name=name or "StaticRegexFullMatch")  # fmt: skip
    p = _str(pattern, "RegexFullMatch", "pattern")
    return make1("RegexFullMatch", [x, p], {}, name=name or "RegexFullMatch")
