"""Per-call fast paths: the armed ``make_callable`` (L0) and the ``Session.run`` memo.

Both must give exactly what the full Session contract gives, and fall back to it for any
argument they do not handle (wrong dtype/rank/contiguity, Python ints, a closed session ...).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import graphjit.compat.v1 as tf
from graphjit import config, run_memo


@pytest.fixture(scope="module")
def fma():
    g = tf.Graph()
    with g.as_default():
        a = tf.placeholder(tf.float32, [], name="a")
        b = tf.placeholder(tf.float32, [], name="b")
        v = tf.placeholder(tf.float32, [3], name="v")
        y = a * b + 1.0
        z = v * a
    with config.override(compile_after=1):
        sess = tf.Session(graph=g)
        yield sess, a, b, v, y, z
        sess.close()


def _armed(fc):
    return type(fc).__name__ == "ArmedCallable"


def test_callable_arms_after_first_call_and_matches(fma):
    sess, a, b, v, y, z = fma
    f = sess.make_callable(y, [a, b])
    assert f(2.0, 3.0) == np.float32(7.0)
    assert _armed(f)
    out = f(np.float32(1.5), 2.0)
    assert out == np.float32(4.0) and type(out) is np.float32


@pytest.mark.parametrize(
    "args",
    [
        (np.ones(3, np.float64),),  # wrong dtype: converted by the slow path
        ([1.0, 2.0, 3.0],),  # a list
        (np.ones(6, np.float32)[::2],),  # strided view
    ],
    ids=["float64", "list", "strided"],
)
def test_armed_callable_falls_back_for_other_arguments(fma, args):
    sess, a, b, v, y, z = fma
    f = sess.make_callable(z, [v, a])
    x = np.arange(3, dtype=np.float32)
    np.testing.assert_array_equal(f(x, 2.0), x * 2)
    assert _armed(f)
    got = f(*args, 2.0)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, np.asarray(args[0], np.float32) * 2)


def test_armed_callable_wrong_rank_raises_tf_error(fma):
    sess, a, b, v, y, z = fma
    f = sess.make_callable(z, [v, a])
    f(np.zeros(3, np.float32), 1.0)
    assert _armed(f)
    with pytest.raises(ValueError, match="Cannot feed value of shape"):
        f(np.zeros((3, 1), np.float32), 1.0)
    with pytest.raises(ValueError, match="Cannot feed value of shape"):
        f(np.zeros(4, np.float32), 1.0)


def test_armed_callable_python_int_goes_through_conversion(fma):
    sess, a, b, v, y, z = fma
    f = sess.make_callable(y, [a, b])
    f(1.0, 1.0)
    assert f(2, 3) == np.float32(7.0)


def test_armed_callable_after_close_raises_runtime_error():
    g = tf.Graph()
    with g.as_default():
        a = tf.placeholder(tf.float32, [])
        y = a + 1.0
    sess = tf.Session(graph=g)
    f = sess.make_callable(y, [a])
    f(1.0)
    assert _armed(f)
    sess.close()
    with pytest.raises(RuntimeError, match="closed Session"):
        f(1.0)


# ------------------------------------------------------------------ Session.run memo
def _cases(a, b, v, y, z):
    x = np.arange(3, dtype=np.float32)
    return [
        (y, {a: 2.0, b: 3.0}),
        ([y, z], {a: 2.0, b: 3.0, v: x}),
        ({"y": y, "pair": (z, y)}, {"a:0": 1.5, b: 2.0, v: x}),
        ([y, a], {a: np.float32(2.0), b: np.float32(4.0)}),  # fetching a fed tensor
        ("add:0", {a: 1.0, b: 2.0}),
    ]


def _same(x, y):
    assert type(x) is type(y)
    if isinstance(x, dict):
        assert list(x) == list(y)
        for k in x:
            _same(x[k], y[k])
    elif isinstance(x, (list, tuple)):
        assert len(x) == len(y)
        for p, q in zip(x, y):
            _same(p, q)
    else:
        assert np.asarray(x).dtype == np.asarray(y).dtype
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("jit", [True, False], ids=["jit", "interpreter"])
def test_memoized_run_gives_identical_results(fma, jit):
    sess, a, b, v, y, z = fma
    with config.override(disable_jit=not jit):
        for fetches, feed in _cases(a, b, v, y, z):
            first = sess.run(fetches, feed)  # full path, then remembered
            key = run_memo.key(fetches, feed, [])
            assert key in sess._run_memo
            for _ in range(3):  # memo hits (the second one runs the compiled chain)
                _same(sess.run(fetches, feed), first)
            if jit:  # (with the JIT disabled a memo never calls its chain)
                assert sess._run_memo[key].chain is not None


def test_memoized_run_falls_back_with_identical_errors(fma):
    sess, a, b, v, y, z = fma
    x = np.arange(3, dtype=np.float32)
    sess.run(z, {v: x, a: 1.0})
    sess.run(z, {v: x, a: 1.0})
    with pytest.raises(ValueError, match=r"Cannot feed value of shape \(4,\)"):
        sess.run(z, {v: np.zeros(4, np.float32), a: 1.0})
    with pytest.raises(TypeError, match="is not compatible with Tensor type"):
        sess.run(z, {v: x, a: 2**200})
    # other dtype / list / python int: converted by the full path, same answers
    np.testing.assert_array_equal(sess.run(z, {v: x.astype(np.float64), a: 2}), x * 2)
    np.testing.assert_array_equal(sess.run(z, {v: [0, 1, 2], a: 1.0}), x)
    np.testing.assert_array_equal(
        sess.run(z, {v: np.arange(6.0, dtype=np.float32)[::2], a: 1.0}), x * 2
    )
    g = sess.graph
    g.prevent_feeding(v)  # the memo notices the graph's unfeedable set changed
    try:
        with pytest.raises(ValueError, match="may not be fed"):
            sess.run(z, {v: x, a: 1.0})
    finally:
        g._unfeedable.discard(id(v))


def test_memoized_run_on_closed_session_raises():
    g = tf.Graph()
    with g.as_default():
        a = tf.placeholder(tf.float32, [])
        y = a * 2.0
    sess = tf.Session(graph=g)
    for _ in range(3):
        assert sess.run(y, {a: 1.0}) == np.float32(2.0)
    sess.close()
    with pytest.raises(RuntimeError, match="closed Session"):
        sess.run(y, {a: 1.0})


def test_memoized_run_with_variables_commits_and_uninitialized_raises():
    g = tf.Graph()
    with g.as_default():
        w = tf.Variable(1.0)
        inc = tf.assign_add(w, 2.0)
        read = w * 1.0
    with tf.Session(graph=g) as sess:
        with pytest.raises(tf.errors.FailedPreconditionError):
            sess.run(read)
        sess.run(w.initializer)
        got = [float(sess.run(inc)) for _ in range(4)]
        assert got == [3.0, 5.0, 7.0, 9.0]
        assert sess.run(read) == np.float32(9.0)


def test_mutated_fetch_list_is_not_stale(fma):
    sess, a, b, v, y, z = fma
    x = np.arange(3, dtype=np.float32)
    fetches = [y]
    feed = {a: 1.0, b: 1.0, v: x}
    sess.run(fetches, feed)
    sess.run(fetches, feed)
    fetches.append(z)
    out = sess.run(fetches, feed)
    assert len(out) == 2
    np.testing.assert_array_equal(out[1], x)


def test_options_bypass_the_memo(fma):
    sess, a, b, v, y, z = fma
    md = tf.RunMetadata()
    opts = tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE)
    for _ in range(3):
        assert sess.run(y, {a: 1.0, b: 1.0}, options=opts, run_metadata=md) == np.float32(2.0)
    assert len(md.step_stats.dev_stats) == 1


# ------------------------------------------------------------------ start-up
def test_import_graphjit_does_not_import_numba_or_compiler():
    code = (
        "import sys, graphjit, graphjit.compat.v1 as tf\n"
        "bad = [m for m in ('numba', 'llvmlite', 'graphjit.jit', 'graphjit.executor',"
        " 'graphjit.train', 'graphjit.protowire') if m in sys.modules]\n"
        "assert not bad, bad\n"
        "assert tf.train.GradientDescentOptimizer and tf.ConfigProto and tf.gradients\n"
        "assert 'graphjit.train' in sys.modules and 'numba' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
