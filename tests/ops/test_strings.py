"""String ops (ops/strings.py, ops/strings_regex.py): values against hand-computed results
from TF's documented behaviour, through ``Session.run`` and ``make_callable``; build- and
run-time errors (class and message); chain placement (numpy links); no gradients."""

from __future__ import annotations

import numpy as np
import pytest
from ops_helpers import run_all

import graphjit
import graphjit.compat.v1 as tf
from graphjit.errors import InvalidArgumentError, UnimplementedError
from graphjit.ops import registry
from graphjit.ops.strings import FALLBACK
from graphjit.sparse import SparseTensorValue

STRING_OPS = (
    "AsString StringJoin Substr RegexReplace StaticRegexReplace RegexFullMatch "
    "StaticRegexFullMatch StringSplit StringSplitV2 StringLength StringToNumber StringLower "
    "StringUpper StringStrip"
).split()


def S(*xs):
    """An object array of bytes (``str`` items UTF-8 encoded), TF's string value."""
    out = np.empty(len(xs), object)
    out[:] = [x.encode() if isinstance(x, str) else x for x in xs]
    return out


def both(fetches, feed=None):
    """Run ``fetches`` with ``Session.run`` and ``make_callable``; the two must agree."""
    out = run_all(fetches, feed)
    vals = list(out.values())
    for v in vals[1:]:
        _same(v, vals[0])
    return vals[0]


def _same(got, want):
    if isinstance(want, SparseTensorValue):
        assert isinstance(got, SparseTensorValue)
        for g, w in zip(got, want):
            _same(g, w)
    elif isinstance(want, (list, tuple)):
        for g, w in zip(got, want):
            _same(g, w)
    else:
        assert type(got) is type(want)
        assert np.asarray(got).dtype == np.asarray(want).dtype
        np.testing.assert_array_equal(got, want)


def check(got, want):
    """``got`` equals ``want`` in value, dtype and (for strings) bytes element type."""
    want = np.asarray(want, dtype=object) if np.asarray(want).dtype.kind in "OSU" else want
    assert np.asarray(got).dtype == np.asarray(want).dtype, (got, want)
    np.testing.assert_array_equal(got, want)
    if np.asarray(got).dtype == object:
        assert all(type(v) is bytes for v in np.asarray(got).reshape(-1))


def fails(fetches, feed, cls, fragment):
    """Both executors raise ``cls`` with ``fragment`` in the message."""
    with tf.Session() as sess:
        with pytest.raises(cls, match=fragment):
            sess.run(fetches, feed)
        fn = sess.make_callable(fetches, list(feed))
        with pytest.raises(cls, match=fragment):
            fn(*feed.values())


# ------------------------------------------------------------------ values


def test_string_constant_placeholder_and_fetch(graph):
    c = tf.constant(["a", "é"])
    x = tf.placeholder(tf.string, [None])
    s = tf.constant("scalar")
    vals = both([c, tf.identity(x), s], {x: ["q", b"r\xff"]})
    check(vals[0], S("a", "é"))
    check(vals[1], S("q", b"r\xff"))
    assert vals[2] == b"scalar" and type(vals[2]) is bytes


def test_as_string_formats_like_printf(graph):
    f = tf.constant([1.5, -2.25, np.inf, np.nan], tf.float32)
    i = tf.constant([7, -12], tf.int32)
    out = both([
        tf.as_string(f),
        tf.as_string(f, precision=1, width=7, fill="0"),
        tf.as_string(tf.constant([1234.5, 1e-5]), shortest=True),
        tf.as_string(tf.constant([1234.5], tf.float64), scientific=True, precision=2),
        tf.as_string(i, width=5),
        tf.as_string(i, width=5, fill="-"),
        tf.as_string(i, width=4, fill="+"),
        tf.as_string(tf.constant([True, False])),
        tf.as_string(tf.constant(np.array([1.5 - 2j], np.complex64)), precision=1),
        tf.as_string(tf.constant(["ab"]), width=4),
        tf.as_string(tf.constant(-np.nan, tf.float64)),
    ])  # fmt: skip
    check(out[0], S("1.500000", "-2.250000", "inf", "nan"))
    check(out[1], S("00001.5", "-0002.2", "    inf", "    nan"))  # no zeros before inf/nan
    check(out[2], S("1234.5", "1e-05"))
    check(out[3], S("1.23e+03"))
    check(out[4], S("    7", "  -12"))
    check(out[5], S("7    ", "-12  "))
    check(out[6], S("  +7", " -12"))
    check(out[7], S("true", "false"))
    check(out[8], S("(1.5,-2.0)"))
    check(out[9], S("  ab"))
    assert out[10] == b"-nan"


@pytest.mark.parametrize(
    ("kw", "dtype", "fragment"),
    [
        ({"precision": 2}, tf.int32, "precision not supported for datatype int32"),
        ({"scientific": True}, tf.bool, "scientific and shortest format not supported"),
        ({"width": 3, "fill": "x"}, tf.int32, 'Fill argument not supported: "x"'),
        ({"fill": "00"}, tf.float32, "Fill string must be one or fewer characters"),
        ({"scientific": True, "shortest": True}, tf.float32, "Cannot select both"),
    ],
)
def test_as_string_bad_attributes_raise_at_run_time(graph, kw, dtype, fragment):
    x = tf.placeholder(dtype, [None])
    y = tf.as_string(x, **kw)  # builds: TF checks these in the kernel
    fails(y, {x: np.ones(2, dtype.as_numpy_dtype)}, InvalidArgumentError, fragment)


def test_string_join_broadcasts_scalars(graph):
    x = tf.placeholder(tf.string, [None])
    out = both(
        [
            tf.string_join([x, "=", tf.constant(["1", "2"])], separator=" "),
            tf.strings.join(["a", "b"]),
            tf.string_join([]),
        ],
        {x: ["a", "b"]},
    )
    check(out[0], S("a = 1", "b = 2"))
    assert out[1] == b"ab" and out[2] == b""


def test_string_join_shape_mismatch(graph):
    with pytest.raises(
        ValueError, match="Dimension 0 in both shapes must be equal, but are 2 and 3"
    ):
        tf.string_join([tf.constant(["a", "b"]), tf.constant(["a", "b", "c"])])
    with pytest.raises(ValueError, match="Shapes must be equal rank, but are 1 and 2"):
        tf.string_join([tf.constant(["a", "b"]), tf.constant([["a", "b"]])])
    with pytest.raises(TypeError, match="do not match expected type string"):
        tf.string_join([tf.constant([1])])
    x, y = tf.placeholder(tf.string, [None]), tf.placeholder(tf.string, [None])
    fails(tf.string_join([x, y]), {x: ["a", "b"], y: ["c"]}, InvalidArgumentError,
          r"Input shapes do not match: \[2\] vs. \[1\]")  # fmt: skip


def test_substr_positions_lengths_and_broadcasting(graph):
    x = tf.placeholder(tf.string, [None])
    feed = {x: ["hello", "ab"]}
    out = both(
        [
            tf.substr(x, 1, 3),
            tf.substr(x, -2, 5),  # negative pos counts from the end
            tf.substr(x, 1, -1),  # negative len: to the end
            tf.substr(x, tf.constant([0, 2]), tf.constant([2, 3])),
            tf.substr(tf.constant([["hello"], ["world"]]), [0, 2, 1], [2, 3, 1]),
            tf.strings.substr(tf.constant(["héllo€x"]), 1, 3, unit="UTF8_CHAR"),
            tf.strings.substr(tf.constant(["héllo€x"]), -3, 2, unit="UTF8_CHAR"),
            tf.substr(x, tf.constant(1, tf.int64), 2),
        ],
        feed,
    )
    check(out[0], S("ell", "b"))
    check(out[1], S("lo", "ab"))
    check(out[2], S("ello", "b"))
    check(out[3], S("he", ""))
    check(out[4], [S("he", "llo", "e"), S("wo", "rld", "o")])
    check(out[5], S("éll"))
    check(out[6], S("o€"))
    check(out[7], S("el", "b"))


def test_substr_errors(graph):
    x = tf.placeholder(tf.string, [None])
    fails(tf.substr(x, 3, 1), {x: ["hello", "ab"]}, InvalidArgumentError,
          "pos 3 out of range for string b'ab' at index 1")  # fmt: skip
    fails(tf.substr(x, -3, 1), {x: ["ab"]}, InvalidArgumentError, "pos -3 out of range")
    fails(tf.strings.substr(x, 3, 1, unit="UTF8_CHAR"), {x: ["hé"]}, InvalidArgumentError,
          "pos 3 out of range for string at index 0")  # fmt: skip
    three = tf.constant([[["hello"]]])
    fails(tf.substr(three, [0, 3], [2, 3]), {x: ["a"]}, UnimplementedError,
          "Substr broadcast not implemented for 3 dimensions")  # fmt: skip
    p = tf.placeholder(tf.int32, [None])
    fails(tf.substr(tf.constant(["a", "b", "c"]), p, p), {p: [1, 1]}, InvalidArgumentError,
          r"Incompatible shapes: \[3\] vs. \[2\]")  # fmt: skip
    with pytest.raises(ValueError, match=r"pos and len shapes must match: \[2\] vs. \[1\]"):
        tf.substr(x, [0, 2], [2])
    with pytest.raises(TypeError, match="not in list of allowed values: int32, int64"):
        tf.substr(x, 1.0, 2.0)
    with pytest.raises(ValueError, match="Attr 'unit' of 'Substr' Op passed string 'CHAR'"):
        tf.strings.substr(x, 1, 2, unit="CHAR")


def test_regex_replace_follows_re2(graph):
    x = tf.placeholder(tf.string, [None])
    feed = {x: ["hello world", "abxd"]}
    out = both(
        [
            tf.regex_replace(x, "o", "0"),
            tf.regex_replace(x, "o", "0", replace_global=False),
            tf.regex_replace(x, r"(\w+) (\w+)", r"\2, \1"),
            tf.regex_replace(x, "x*", "-"),  # RE2: no empty match right after a match
            tf.regex_replace(x, tf.constant("l+"), tf.constant("L")),  # RegexReplace op
            tf.regex_replace(x, "d$", r"[\0\\]"),
            tf.strings.regex_full_match(x, r"\w+ \w+"),
        ],
        feed,
    )
    check(out[0], S("hell0 w0rld", "abxd"))
    check(out[1], S("hell0 world", "abxd"))
    check(out[2], S("world, hello", "abxd"))
    check(out[3], S("-h-e-l-l-o- -w-o-r-l-d-", "-a-b-d-"))
    check(out[4], S("heLo worLd", "abxd"))
    check(out[5], S("hello worl[d\\]", "abx[d\\]"))
    check(out[6], np.array([True, False]))


def test_regex_translation_keeps_re2_semantics(graph):
    x = tf.placeholder(tf.string, [None])
    feed = {x: ["ab\n", "héllo 1", b"a\xffb"]}
    out = both(
        [
            tf.regex_replace(x, "b$", "X"),  # $ is the end of text, not before a final \n
            tf.regex_replace(x, r"\w", "_"),  # ASCII \w
            tf.regex_replace(x, ".", "."),  # . never matches an invalid UTF-8 byte
            tf.regex_replace(x, "(?i)É", "E"),  # Unicode case folding
            tf.regex_replace(x, r"[[:digit:]]|\pL", "#"),
        ],
        feed,
    )
    check(out[0], S("ab\n", "héllo 1", b"a\xffX"))
    check(out[1], S("__\n", "_é___ _", b"_\xff_"))
    check(out[2], S("..\n", ".......", b".\xff."))
    check(out[3], S("ab\n", "hEllo 1", b"a\xffb"))
    check(out[4], S("##\n", "##### #", b"#\xff#"))


@pytest.mark.parametrize(
    ("pattern", "fragment"),
    [
        ("a(?=b)", "invalid perl operator"),
        (r"(a)\1", r"invalid escape sequence: \\1"),
        ("a++", "bad repetition operator"),
        ("(a", r"Invalid pattern: \(a"),
        (r"\p{Greek}", "not supported"),
    ],
)
def test_regex_replace_rejects_what_re2_rejects(graph, pattern, fragment):
    x = tf.placeholder(tf.string, [None])
    fails(tf.regex_replace(x, pattern, "X"), {x: ["ab"]}, InvalidArgumentError, fragment)


def test_regex_replace_pattern_must_be_scalar(graph):
    x = tf.placeholder(tf.string, [None])
    with pytest.raises(ValueError, match="Shape must be rank 0 but is rank 1"):
        tf.regex_replace(x, tf.constant(["b"]), tf.constant("X"))
    p = tf.placeholder(tf.string)
    fails(tf.regex_replace(x, p, "X"), {x: ["ab"], p: ["a"]}, InvalidArgumentError,
          r"Pattern must be scalar, but received \[1\]")  # fmt: skip


def test_string_split_returns_sparse_tensor(graph):
    x = tf.placeholder(tf.string, [None])
    sp = tf.string_split(x)
    assert isinstance(sp, tf.SparseTensor)
    assert sp.indices.shape.as_list() == [None, 2] and sp.dense_shape.shape.as_list() == [2]
    assert sp.values.dtype == tf.string and sp.indices.dtype == tf.int64
    out = both(
        [
            sp,
            tf.string_split(x, "", skip_empty=False),
            tf.string_split(x, delimiter=" o", skip_empty=False),  # any byte splits
        ],
        {x: ["a bc", "", "  d "]},
    )
    check(out[0].indices, np.array([[0, 0], [0, 1], [2, 0]], np.int64))
    check(out[0].values, S("a", "bc", "d"))
    check(out[0].dense_shape, np.array([3, 2], np.int64))
    check(out[1].values, S("a", " ", "b", "c", " ", " ", "d", " "))
    check(out[1].dense_shape, np.array([3, 4], np.int64))
    check(out[2].values, S("a", "bc", "", "", "d", ""))
    check(out[2].indices[:, 1], np.array([0, 1, 0, 1, 2, 3], np.int64))


def test_strings_split_is_python_split(graph):
    x = tf.placeholder(tf.string, [None])
    out = both(
        [
            tf.strings.split(x),
            tf.strings.split(x, sep=","),
            tf.strings.split(x, maxsplit=1),
            tf.strings.split(tf.constant("a b")),
        ],
        {x: [" a  b ", "a,,b", ""]},
    )
    check(out[0].values, S("a", "b", "a,,b"))
    check(out[0].dense_shape, np.array([3, 2], np.int64))
    check(out[1].values, S(" a  b ", "a", "", "b", ""))  # "" splits into [""]
    check(out[2].values, S("a", "b ", "a,,b", ""))  # TF keeps the empty remainder
    check(out[3].values, S("a", "b"))
    check(out[3].dense_shape, np.array([1, 2], np.int64))


def test_string_split_errors(graph):
    with pytest.raises(ValueError, match="Shape must be rank 1 but is rank 0"):
        tf.string_split(tf.constant("a b"))
    with pytest.raises(ValueError, match="result_type must be"):
        tf.string_split(["a"], result_type="dense")
    x = tf.placeholder(tf.string)
    fails(tf.string_split(x), {x: [["a b"]]}, InvalidArgumentError,
          r"input must be a vector, got shape: \[1,1\]")  # fmt: skip


def test_length_to_number_case_strip(graph):
    x = tf.placeholder(tf.string, [None])
    out = both(
        [
            tf.strings.length(x),
            tf.strings.length(x, unit="UTF8_CHAR"),
            tf.strings.upper(x),
            tf.strings.upper(x, encoding="utf-8"),
            tf.strings.lower(tf.constant(["ÀB"])),
            tf.strings.strip(x),
            tf.strings.to_number(tf.constant([" 1.5", "-2e1", "inf", "0x10"])),
            tf.string_to_number(tf.constant(["+7", "-8 "]), out_type=tf.int64),
        ],
        {x: [" héllo ", ""]},
    )
    check(out[0], np.array([8, 0], np.int32))
    check(out[1], np.array([7, 0], np.int32))
    check(out[2], S(" HéLLO ", ""))
    check(out[3], S(" HÉLLO ", ""))
    check(out[4], S("Àb"))
    check(out[5], S("héllo", ""))
    check(out[6], np.array([1.5, -20.0, np.inf, 16.0], np.float32))
    check(out[7], np.array([7, -8], np.int64))


def test_to_number_and_case_errors(graph):
    x = tf.placeholder(tf.string, [None])
    for out_type, bad in ((tf.float32, "12abc"), (tf.int32, "1.0"), (tf.int32, "2147483648")):
        fails(tf.strings.to_number(x, out_type), {x: ["1", bad]}, InvalidArgumentError,
              f"StringToNumberOp could not correctly convert string: {bad}")  # fmt: skip
    fails(tf.strings.lower(x, encoding="latin1"), {x: ["A"]}, InvalidArgumentError,
          "only utf-8 or '' \\(no encoding\\) is supported, received latin1")  # fmt: skip
    with pytest.raises(TypeError, match="not in list of allowed values"):
        tf.strings.to_number(x, tf.uint8)
    with pytest.raises(ValueError, match="Attr 'unit' of 'StringLength'"):
        tf.strings.length(x, unit="CHAR")
    with pytest.raises(TypeError, match="does not match expected type of string"):
        tf.strings.length(tf.constant([1]))
    with pytest.raises(TypeError, match="does not match expected type of string"):
        tf.strings.upper(np.array([1, 2]))  # never turned into bytes


# ------------------------------------------------------------------ chain, registry, gradients


def test_inspect_chain_shows_string_ops_as_fallback_links(graph):
    x = tf.placeholder(tf.string, [None])
    n = tf.placeholder(tf.float32, [None])
    num = tf.strings.to_number(tf.substr(x, 0, 2)) * n + 1.0
    text = tf.string_join([tf.as_string(num, precision=1), tf.strings.upper(x)], ":")
    with tf.Session() as sess:
        info = graphjit.inspect_chain(sess, [text, num], [x, n])
        fn = sess.make_callable([text, num], [x, n])
        got = fn(["12ab", "3.5"], np.array([2.0, 4.0], np.float32))
    links = {t: why for _, t, why in info["links"]}
    for op_type in ("Substr", "StringToNumber", "AsString", "StringUpper", "StringJoin"):
        assert links[op_type] == FALLBACK
    compiled = {t for seg in info["segments"] for _, t in seg["ops"]}
    assert {"Mul", "AddV2"} <= compiled  # the numeric work around them stays fused
    check(got[0], S("25.0:12AB", "13.0:3.5"))
    check(got[1], np.array([25.0, 13.0], np.float32))


def test_string_ops_are_registered_as_non_differentiable_fallbacks():
    for op_type in STRING_OPS:
        d = registry.get(op_type)
        assert not d.compilable and d.fallback == FALLBACK, op_type
        assert getattr(d.grad, "not_differentiable", False), op_type


def test_gradient_through_string_ops_is_none(graph):
    v = tf.placeholder(tf.float32, [None])
    y = tf.strings.to_number(tf.as_string(v)) * 2.0
    assert tf.gradients(tf.reduce_sum(y), v) == [None]


def test_failed_string_run_leaves_variables_unchanged(graph):
    v = tf.Variable(1.0)
    x = tf.placeholder(tf.string, [None])
    with tf.control_dependencies([tf.assign_add(v, 1.0)]):
        y = tf.substr(x, 5, 1)
    with tf.Session() as sess:
        sess.run(v.initializer)
        with pytest.raises(InvalidArgumentError, match="out of range"):
            sess.run(y, {x: ["ab"]})
        assert sess.run(v) == 1.0


def test_callable_encodes_str_feeds_on_every_call(graph):
    x = tf.placeholder(tf.string, [None])
    y = [tf.identity(x), tf.strings.upper(x)]
    with tf.Session() as sess:
        fn = sess.make_callable(y, [x])
        for _ in range(3):  # later calls take the armed fast path
            got = fn(np.array(["a", "é"], object))
            check(got[0], S("a", "é"))
            check(got[1], S("A", "é"))
