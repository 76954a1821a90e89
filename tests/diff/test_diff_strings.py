"""Differential tests of the string ops against TensorFlow: values (bytes object arrays,
SparseTensorValues), static dtypes/shapes, and the phase and class of errors.

Inputs are fed through string placeholders (bytes and ``str``), embedded as constants, or
given as Python values; a last test runs a mixed string/number graph through
``make_callable``.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from diff_helpers import GJ, TF, assert_same, assert_values_match

f32, f64, i32, i64 = np.float32, np.float64, np.int32, np.int64


def S(*xs):
    """A string array (object array of bytes; ``str`` items are UTF-8 encoded)."""
    out = np.empty(len(xs), object)
    out[:] = [x.encode() if isinstance(x, str) else x for x in xs]
    return out


def _ph(tf, feed, a, static=True):
    if not isinstance(a, np.ndarray):
        return a
    dt = tf.string if a.dtype == object else tf.as_dtype(a.dtype)
    ph = tf.placeholder(dt, list(a.shape) if static else [None] * a.ndim)
    feed[ph] = a
    return ph


class D(str):
    """A dtype by name, resolved in whichever framework builds the case."""


def call(api, *args, static=True, **kw):
    """``tf.<api>(*args, **kw)`` with numpy args fed through placeholders."""

    def build(tf, feed):
        fn = tf
        for part in api.split("."):
            fn = getattr(fn, part)
        kws = {k: tf.as_dtype(str(v)) if isinstance(v, D) else v for k, v in kw.items()}
        return fn(*[_ph(tf, feed, a, static) for a in args], **kws)

    return build


WORDS = S("hello world", "", "héllo", "a  b ")
NUMS = np.array([[1.5, -2.25, 0.0], [np.inf, -np.inf, np.nan]], f32)
CASES = {
    # AsString
    "as_string-f32": call("as_string", NUMS),
    "as_string-f64-precision": call("as_string", NUMS.astype(f64), precision=2),
    "as_string-scientific": call("as_string", np.array([1234.5, -0.001], f32), scientific=True),
    "as_string-shortest": call(
        "as_string", np.array([1234.5, 1e-5, 123456789.0], f64), shortest=True
    ),
    "as_string-shortest-precision": call(
        "as_string", np.array([1234.5, 0.5], f32), shortest=True, precision=2
    ),
    "as_string-width-fill0": call("as_string", np.array([7, -12], i32), width=5, fill="0"),
    "as_string-width-fill-": call("as_string", np.array([7, -12], i64), width=5, fill="-"),
    "as_string-fill+": call("as_string", np.array([7, -1], i32), width=4, fill="+"),
    "as_string-fill-space": call("as_string", np.array([1.5], f32), fill=" "),
    "as_string-fill#": call("as_string", np.array([7.0], f32), shortest=True, fill="#"),
    "as_string-float-fill0-nonfinite": call("as_string", NUMS, width=12, fill="0", precision=1),
    "as_string-negative-nan": call("as_string", np.array([-np.nan, np.nan], f32), width=6),
    "as_string-bool": call("as_string", np.array([[True, False]])),
    "as_string-uint8": call("as_string", np.array([200, 0], np.uint8), width=4),
    "as_string-uint64": call("as_string", np.array([2**63 + 5], np.uint64)),
    "as_string-int8": call("as_string", np.array([-5], np.int8)),
    "as_string-f16": call("as_string", np.array([1.5, -0.25], np.float16)),
    "as_string-complex64": call("as_string", np.array([1.5 - 2j], np.complex64)),
    "as_string-complex128": call(
        "as_string", np.array([1.5 + 2j], np.complex128), precision=1, width=5, fill="0"
    ),
    "as_string-string": call("as_string", S("ab", "c")),
    "as_string-string-width": call("as_string", S("ab", "cdef"), width=3, precision=2),
    "as_string-0d": call("as_string", np.array(3, i32)),
    "as_string-python": call("as_string", 3),
    "as_string-bad-fill": call("as_string", np.array([7], i32), width=3, fill="x"),
    "as_string-long-fill": call("as_string", np.array([7], i32), width=3, fill="00"),
    "as_string-int-precision": call("as_string", np.array([7], i32), precision=2),
    "as_string-int-scientific": call("as_string", np.array([7], i32), scientific=True),
    "as_string-both-notations": call(
        "as_string", np.array([7.0], f32), scientific=True, shortest=True
    ),
    "as_string-alternate-form": call(
        "as_string", np.array([7.0, 0.5], f64), precision=0, fill="#", width=4
    ),
    "as_string-shortest-width": call(
        "as_string", np.array([1e-7, 3.25e20], f32), shortest=True, width=10
    ),
    # StringJoin
    "string_join": call("string_join", [S("a", "b"), np.array(b"x", object), S("c", "d")], "-"),
    "string_join-scalars": call("string_join", [np.array(b"a", object), "b"]),
    "string_join-python": call("string_join", ["a", ["b", "c"]]),
    "string_join-empty-list": call("string_join", []),
    "string_join-2d": call("strings.join", [S("a", "b", "c", "d").reshape(2, 2), "!"]),
    "string_join-static-mismatch": call("string_join", [S("a", "b"), S("a", "b", "c")]),
    "string_join-rank-mismatch": call("string_join", [S("a", "b"), S("a", "b").reshape(1, 2)]),
    "string_join-run-mismatch": call("string_join", [S("a", "b"), S("a", "b", "c")], static=False),
    "string_join-numbers": call("string_join", [np.array([1], i32)]),
    # Substr
    "substr": call("substr", S("hello", "ab"), 1, 3),
    "substr-negative-pos": call("substr", S("hello", "ab"), -2, 5),
    "substr-negative-len": call("substr", S("hello"), 1, -1),
    "substr-end": call("substr", S("ab"), 2, 1),
    "substr-pos-out-of-range": call("substr", S("hello", "ab"), 3, 1),
    "substr-neg-out-of-range": call("substr", S("hello", "ab"), -3, 1),
    "substr-elementwise": call(
        "substr", S("hello", "world"), np.array([0, 2]).astype(i32), np.array([2, 3], i32)
    ),
    "substr-broadcast-2d": call(
        "substr",
        S("hello", "world").reshape(2, 1),
        np.array([0, 2, 1], i32),
        np.array([2, 3, 1], i32),
    ),
    "substr-broadcast-scalar-input": call(
        "substr", np.array(b"hello", object), np.array([0, 2], i32), np.array([2, 3], i32)
    ),
    "substr-broadcast-oob": call(
        "substr", S("hello", "wo").reshape(2, 1), np.array([0, 3], i32), np.array([2, 3], i32)
    ),
    "substr-broadcast-3d": call(
        "substr", S("hello").reshape(1, 1, 1), np.array([0, 3], i32), np.array([2, 3], i32)
    ),
    "substr-pos-len-mismatch": call(
        "substr", S("hello"), np.array([0, 2], i32), np.array([2], i32)
    ),
    "substr-pos-len-mismatch-run": call(
        "substr", S("hello"), np.array([0, 2], i32), np.array([2], i32), static=False
    ),
    "substr-incompatible": call(
        "substr", S("hello", "a", "b"), np.array([0, 2], i32), np.array([2, 1], i32)
    ),
    "substr-incompatible-run": call(
        "substr", S("hello", "a", "b"), np.array([0, 2], i32), np.array([2, 1], i32), static=False
    ),
    "substr-int64": call("substr", S("hello"), np.array(1, i64), 2),
    "substr-float-pos": call("substr", S("hello"), 1.0, 2.0),
    "substr-bad-unit": call("strings.substr", S("hello"), 1, 2, unit="CHAR"),
    "substr-utf8": call("strings.substr", S("héllo€x"), 1, 3, unit="UTF8_CHAR"),
    "substr-utf8-negative": call("strings.substr", S("héllo€x", "ab€"), -3, 2, unit="UTF8_CHAR"),
    "substr-utf8-negative-len": call("strings.substr", S("héllo€x"), 1, -1, unit="UTF8_CHAR"),
    "substr-utf8-neg-pos-neg-len": call("strings.substr", S("héllo€x"), -3, -1, unit="UTF8_CHAR"),
    "substr-utf8-oob": call("strings.substr", S("hé"), 3, 1, unit="UTF8_CHAR"),
    "substr-utf8-invalid-bytes": call("strings.substr", S(b"a\xff\x80bc"), 1, 2, unit="UTF8_CHAR"),
    # RegexReplace
    "regex_replace": call("regex_replace", S("hello world", "aaa"), "o", "0"),
    "regex_replace-first": call("regex_replace", S("hello world"), "o", "0", replace_global=False),
    "regex_replace-groups": call("regex_replace", S("john smith"), r"(\w+) (\w+)", r"\2, \1"),
    "regex_replace-group0-backslash": call("regex_replace", S("abc"), "b", r"[\0\\]"),
    "regex_replace-python-syntax-literal": call("regex_replace", S("abc"), "b", r"$1&\g<0>"),
    "regex_replace-bad-rewrite-escape": call("regex_replace", S("abc"), "b", r"x\y"),
    "regex_replace-missing-group": call("regex_replace", S("abc"), "(b)", r"\2"),
    "regex_replace-empty-matches": call("regex_replace", S("abxd", "héllo", ""), "x*", "-"),
    "regex_replace-empty-first": call("regex_replace", S("abxd"), "x*", "-", replace_global=False),
    "regex_replace-dollar": call("regex_replace", S("ab\n", "ab"), "b$", "X"),
    "regex_replace-multiline": call("regex_replace", S("ab\nab"), "(?m)b$", "X"),
    "regex_replace-dot-utf8": call("regex_replace", S("héllo", b"a\xffb"), "h.l|.", "X"),
    "regex_replace-ascii-classes": call("regex_replace", S("héllo 1١\u00a0x"), r"\w|\d|\s", "_"),
    "regex_replace-word-boundary": call("regex_replace", S("héllo wörld"), r"\b", "|"),
    "regex_replace-ignorecase-unicode": call("regex_replace", S("É é e"), "(?i)é", "X"),
    "regex_replace-flags-mid-group": call(
        "regex_replace", S("aBcC", "aBC", "CC"), "(a(?i)b|c)C", "X"
    ),
    "regex_replace-posix": call("regex_replace", S("ab12"), "[[:digit:]]+", "N"),
    "regex_replace-unicode-class": call("regex_replace", S("héllo1"), r"\pL|\p{Nd}", "X"),
    "regex_replace-quote": call("regex_replace", S("a.b*c"), r"\Q.b*\E", "X"),
    "regex_replace-brace-literal": call("regex_replace", S("aaaa", "a{,3}"), "a{,3}", "X"),
    "regex_replace-escapes": call("regex_replace", S("A\ta"), r"\x{41}\t\141", "X"),
    "regex_replace-named-group": call("regex_replace", S("abc"), "(?P<x>b)", r"<\1>"),
    "regex_replace-lookahead": call("regex_replace", S("abc"), "a(?=b)", "X"),
    "regex_replace-backreference": call("regex_replace", S("aa"), r"(a)\1", "X"),
    "regex_replace-unbalanced": call("regex_replace", S("abc"), "(a", "X"),
    "regex_replace-possessive": call("regex_replace", S("aaa"), "a++", "X"),
    "regex_replace-tensor-pattern": call(
        "regex_replace", S("abc", "bb"), np.array(b"b+", object), np.array(b"X", object)
    ),
    "regex_replace-tensor-bad-pattern": call(
        "regex_replace", S("abc"), np.array(b"(b", object), "X"
    ),
    "regex_replace-vector-pattern": call("regex_replace", S("abc"), S("b"), "X"),
    "regex_replace-anchor-global": call("regex_replace", S("aaa", "ba"), "^a", "X"),
    "regex_replace-top-level-flag-alternation": call(
        "regex_replace", S("AbB", "xAx"), "(?i)a|b", "_"
    ),
    "regex_replace-negated-classes": call("regex_replace", S("a1é ü\t"), r"[^\d]|\S", "."),
    "regex_replace-dotall-scoped": call("regex_replace", S("a\nb", "a\n"), "(?s:a.)b?", "X"),
    "regex_replace-unicode-number": call("regex_replace", S("a1½٣"), r"\pN+", "#"),
    "regex_full_match-alternation": call("strings.regex_full_match", S("ab", "a", "abc"), "a|ab"),
    "regex_full_match-tensor-pattern": call(
        "strings.regex_full_match", S("ab", "a"), np.array(b"a.", object)
    ),
    "regex_full_match": call("strings.regex_full_match", S("abc", "abcd", "ab\n"), "a.c|ab$"),
    # StringSplit (TF1) and StringSplitV2 (tf.strings.split)
    "string_split": call("string_split", WORDS),
    "string_split-keep-empty": call("string_split", S("a b  c", "", " "), skip_empty=False),
    "string_split-delimiter-set": call("string_split", S("a,b;c", "a<>b"), delimiter=",;<>"),
    "string_split-bytes": call("string_split", S("héy", "ab", ""), ""),
    "string_split-utf8-delimiter-bytes": call("string_split", S("aéb", "ÿ"), delimiter="é"),
    "substr-utf8-broadcast-oob": call(
        "strings.substr",
        S("hé", "x").reshape(2, 1),
        np.array([0, 2], i64),
        np.array([1, 1], i64),
        unit="UTF8_CHAR",
    ),
    "string_split-sep": call("string_split", S("a,b"), sep=","),
    "string_split-empty-batch": call("string_split", S()),
    "string_split-scalar": call("string_split", np.array(b"a b", object)),
    "string_split-rank2-run": call("string_split", S("a b").reshape(1, 1), static=False),
    "string_split-bad-result-type": call("string_split", S("a b"), result_type="X"),
    "strings.split": call("strings.split", S("hello  world", " a b ", "")),
    "strings.split-sep": call("strings.split", S("a,,b", "", "a<>b<>"), sep=","),
    "strings.split-multichar-sep": call("strings.split", S("a<>b<>c", ""), sep="<>"),
    "strings.split-maxsplit": call("strings.split", S("a b c d", "  x  y  z  ", "a "), maxsplit=1),
    "strings.split-maxsplit-sep": call("strings.split", S("a,b,c,d"), sep=",", maxsplit=2),
    "strings.split-maxsplit0": call("strings.split", S("  a b  "), maxsplit=0),
    "strings.split-scalar": call("strings.split", np.array(b"a b", object)),
    "strings.split-whitespace": call("strings.split", S("a\tb\nc\vd\fe\rf\u00a0g")),
    # length, to_number, case, strip
    "strings.length": call("strings.length", S("héllo", "", "€")),
    "strings.length-utf8": call("strings.length", S("héllo", "", b"\xff\x80a"), unit="UTF8_CHAR"),
    "strings.length-bad-unit": call("strings.length", S("a"), unit="X"),
    "strings.length-number": call("strings.length", np.array([1], i32)),
    "to_number": call(
        "strings.to_number",
        S(
            "1.5",
            " 2 ",
            "-3e2",
            "inf",
            "-Infinity",
            "NaN",
            "0x1A",
            "1e40",
            ".5",
            "5.",
            "+4",
            "1e-50",
        ),
    ),
    "to_number-f32-rounding": call(
        "strings.to_number",
        S("0.1", "3.4028235e38", "1e-45", "7e-46", "1.00000005960464477539062", "16777217"),
    ),
    "to_number-f64": call(
        "strings.to_number",
        S("1.5", "1e400", "-0x1A", "0X1.8p1", "nan(1)", "\v5\f"),
        out_type=D("float64"),
    ),
    "to_number-int32": call(
        "strings.to_number", S("12", " -7 ", "+5", "-2147483648"), out_type=D("int32")
    ),
    "to_number-int64": call(
        "strings.to_number", S("9223372036854775807", "-0012"), out_type=D("int64")
    ),
    "to_number-uint32": call("strings.to_number", S("4000000000", "+3"), out_type=D("uint32")),
    "to_number-uint32-negative": call("strings.to_number", S("-1"), out_type=D("uint32")),
    "to_number-int-overflow": call("strings.to_number", S("2147483648"), out_type=D("int32")),
    "to_number-int-float": call("strings.to_number", S("1.0"), out_type=D("int32")),
    "to_number-int-hex": call("strings.to_number", S("0x10"), out_type=D("int32")),
    "to_number-junk": call("strings.to_number", S("12abc")),
    "to_number-empty": call("strings.to_number", S("  ")),
    "to_number-underscore": call("strings.to_number", S("1_000")),
    "to_number-hex-no-prefix": call("strings.to_number", S("1A"), out_type=D("float64")),
    "to_number-bad-out-type": call("strings.to_number", S("1"), out_type=D("uint8")),
    "string_to_number": call("string_to_number", S("7")),
    "strings.lower": call("strings.lower", S("HÉllo")),
    "strings.lower-utf8": call("strings.lower", S("HÉllo", "İ", b"A\xff"), encoding="utf-8"),
    "strings.upper-utf8": call("strings.upper", S("hello ß é"), encoding="utf-8"),
    "strings.upper": call("strings.upper", S("hello ß é")),
    "strings.lower-bad-encoding": call("strings.lower", S("A"), encoding="latin1"),
    "strings.strip": call("strings.strip", S("  a b \t\n", "\v\fx\x00 ")),
    "string_strip": call("string_strip", S(" x ")),
}


@pytest.mark.parametrize("name", list(CASES))
def test_string_op_matches_tensorflow(name):
    assert_same(CASES[name])


def test_callable_runs_string_graph_like_tensorflow():
    """A mixed graph (numbers -> strings -> numbers) through ``make_callable``, twice."""

    def build(tf, feed):
        x = tf.placeholder(tf.string, [None])
        n = tf.placeholder(tf.float32, [None])
        feed[x], feed[n] = S("ab", "héllo"), np.array([1.0, 2.5], f32)
        joined = tf.strings.join([tf.strings.upper(x), tf.as_string(n * 2.0, precision=1)], "=")
        back = tf.strings.to_number(tf.substr(tf.as_string(n), 0, 3)) + n
        return [joined, back, tf.string_split(joined, "=")]

    def run(sess, fetches, feed):
        fn = sess.make_callable(fetches, list(feed))
        fn(*feed.values())
        return fn(*feed.values())

    assert_same(build, run)


def test_fed_str_values_are_encoded_like_tensorflow():
    """Python ``str`` feeds become UTF-8 bytes in results (the fed tensor itself is handed
    back as fed, in both frameworks)."""
    vals = {}
    for tf in (TF, GJ):
        g = tf.Graph()
        with g.as_default():
            x = tf.placeholder(tf.string, [None])
            y = tf.strings.join([x, "!"])
            with tf.Session() as sess:
                vals[tf] = sess.run(y, {x: ["é", "a"]})
    assert_values_match(vals[GJ], vals[TF])
