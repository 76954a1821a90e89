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
from graphjit import config, jit, run_memo


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
    return getattr(fc, "armed", False)


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


def test_armed_callable_keeps_the_arity_and_keyword_errors(fma):
    sess, a, b, v, y, z = fma
    f = sess.make_callable(y, [a, b])
    f(1.0, 1.0)
    assert _armed(f)
    with pytest.raises(TypeError, match="takes 2 positional arguments"):
        f(1.0)
    with pytest.raises(TypeError, match="takes 2 positional arguments"):
        f(1.0, 2.0, 3.0)
    with pytest.raises(TypeError, match="takes 2 positional arguments"):
        f(1.0, 2.0, 3.0, 4.0, 5.0)  # past the feeds, then options and run_metadata
    with pytest.raises(TypeError, match="takes 2 positional arguments"):
        f(1.0, 2.0, 3.0, run_metadata=tf.RunMetadata())
    with pytest.raises(TypeError):
        f(1.0, 2.0, 3.0, 4.0, 5.0, 6.0)
    with pytest.raises(TypeError, match="keyword"):
        f(1.0, 2.0, a0=1.0)
    with pytest.raises(TypeError, match="unexpected keyword"):
        f(1.0, 2.0, feed=1.0)
    assert f(2.0, 3.0, options=None) == np.float32(7.0)
    assert _armed(f)


def test_armed_callable_takes_run_metadata_and_options_by_keyword(fma):
    sess, a, b, v, y, z = fma
    f = sess.make_callable(y, [a, b])
    f(1.0, 1.0)
    assert _armed(f)
    md = tf.RunMetadata()
    opts = tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE)
    assert f(2.0, 3.0, options=opts, run_metadata=md) == np.float32(7.0)
    assert len(md.step_stats.dev_stats) > 0
    with pytest.raises(AttributeError, match="RunOptions"):  # as TF: it serialises options
        f(2.0, 3.0, options=object())


def test_armed_callable_short_call_with_arrays_reaches_the_arity_error():
    g = tf.Graph()
    with g.as_default():
        p = tf.placeholder(tf.float32, [None])
        q = tf.placeholder(tf.float32, [None])
        y = p * q
    with tf.Session(graph=g) as sess:
        f = sess.make_callable(y, [p, q])
        x = np.arange(4, dtype=np.float32)
        f(x, x)
        jit.wait_for_compiles()
        f(x, x)
        assert _armed(f)
        with pytest.raises(TypeError, match="takes 2 positional arguments"):
            f(x)


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
                assert sess._run_memo[key].fast is not None  # the generated memo run
                _same(sess.run(fetches, feed), first)


def test_memoized_run_of_flat_fetch_lists_with_targets_and_fed_values():
    g = tf.Graph()
    with g.as_default():
        a = tf.placeholder(tf.float32, [2])
        y = a * 2.0
        noop = tf.no_op()
    x = np.ones(2, np.float32)
    want = [x * 2, None, x]
    with config.override(compile_after=1), tf.Session(graph=g) as sess:
        for fetches in ([y, noop, a], (y, noop, a), (y,)):
            for _ in range(4):
                got = sess.run(fetches, {a: x})
                assert type(got) is type(fetches) and len(got) == len(fetches)
                for p, q in zip(got, want):
                    _same(p, q)
                assert got[-1] is x or fetches == (y,)  # the fed value itself (contract 4.7)
            assert sess._run_memo[run_memo.key(fetches, {a: x})].fast is not None


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


# ------------------------------------------------------------------ one-segment chains
# (called without their driver: constants bound, outputs allocated at static shapes)
def _inline_graphs():
    out = {}

    def fma_vec(tf):
        a, b, c = (tf.placeholder(tf.float32, [4]) for _ in range(3))
        vals = [np.arange(4, dtype=np.float32) + k for k in range(3)]
        return [a, b, c], a * b + c, vals

    def dynamic_broadcast(tf):
        m = tf.placeholder(tf.float32, [None, 3])
        s = tf.placeholder(tf.float32, [])
        return [m, s], m * s - 1.0, [np.ones((2, 3), np.float32), np.float32(3.0)]

    def constants(tf):
        v = tf.placeholder(tf.float64, [3])
        return [v], v * tf.constant([1.0, 2.0, 3.0], tf.float64) + 0.5, [np.ones(3)]

    def reductions(tf):
        m = tf.placeholder(tf.float32, [2, 3])
        s = tf.placeholder(tf.float32, [])
        total = tf.reduce_sum(m * s)
        return [m, s], [total, tf.reduce_max(m, axis=1)], [np.ones((2, 3), np.float32), 2.0]

    def int_and_bool(tf):
        i = tf.placeholder(tf.int32, [])
        j = tf.placeholder(tf.int32, [])
        return [i, j], [i * j + 1, i > j], [np.int32(3), np.int32(4)]

    for fn in (fma_vec, dynamic_broadcast, constants, reductions, int_and_bool):
        out[fn.__name__] = fn
    return out


def _reference(build):
    g = tf.Graph()
    with g.as_default():
        feeds, fetches, vals = build(tf)
    with config.override(disable_jit=True), tf.Session(graph=g) as sess:
        return sess.run(fetches, dict(zip(feeds, vals)))


@pytest.mark.parametrize("name", list(_inline_graphs()))
def test_one_segment_chains_are_inlined_and_match_the_interpreter(name):
    build = _inline_graphs()[name]
    want = _reference(build)
    g = tf.Graph()
    with g.as_default():
        feeds, fetches, vals = build(tf)
    with config.override(compile_after=1), tf.Session(graph=g) as sess:
        f = sess.make_callable(fetches, feeds)
        for _ in range(3):
            _same(f(*vals), want)
        src = f.__source__
        assert _armed(f) and ("SEG(" in src or "SEGD(" in src)
        feed = dict(zip(feeds, vals))
        for _ in range(3):
            _same(sess.run(fetches, feed), want)
        if not isinstance(fetches, list):  # a single Tensor: the level-0 Session.run
            src = sess._run_fast[id(fetches)].__source__
            assert "SEG(" in src or "SEGD(" in src
            _same(sess.run(fetches, feed), want)


def test_inlined_chain_takes_the_slow_path_for_unaligned_and_accepts_readonly(fma):
    sess, a, b, v, y, z = fma
    f = sess.make_callable(z, [v, a])
    x = np.arange(3, dtype=np.float32)
    f(x, 2.0)
    assert _armed(f)
    raw = np.zeros(3 * 4 + 1, np.uint8)
    unaligned = np.frombuffer(raw.data, np.float32, 3, offset=1)
    unaligned[...] = x  # (a writable view of raw)
    assert not unaligned.flags.aligned
    np.testing.assert_array_equal(f(unaligned, 2.0), x * 2)
    ro = x.copy()
    ro.setflags(write=False)
    np.testing.assert_array_equal(f(ro, 2.0), x * 2)


def test_inlined_chain_replays_broadcast_errors_with_tf_class():
    g = tf.Graph()
    with g.as_default():
        p = tf.placeholder(tf.float32, [None])
        q = tf.placeholder(tf.float32, [None])
        r = p * q
    with config.override(compile_after=1), tf.Session(graph=g) as sess:
        f = sess.make_callable(r, [p, q])
        ones = np.ones(3, np.float32)
        f(ones, ones)
        assert _armed(f)
        with pytest.raises(tf.errors.InvalidArgumentError):
            f(ones, np.ones(4, np.float32))
        for _ in range(3):
            sess.run(r, {p: ones, q: ones})
        assert id(r) in sess._run_fast
        with pytest.raises(tf.errors.InvalidArgumentError):
            sess.run(r, {p: ones, q: np.ones(4, np.float32)})


# ------------------------------------------------------------------ level-0 Session.run
def _fast_ready(sess, y, feed):
    for _ in range(3):
        sess.run(y, feed)
    assert id(y) in sess._run_fast


def test_fast_run_falls_back_for_other_feed_dicts(fma):
    sess, a, b, v, y, z = fma
    _fast_ready(sess, y, {a: 2.0, b: 3.0})
    assert sess.run(y, {b: 3.0, a: 2.0}) == np.float32(7.0)  # other key order
    assert sess.run(y, {a: 2, b: 3}) == np.float32(7.0)  # Python ints: converted
    assert sess.run(y, {a: 2.0, b: 3.0, v: np.zeros(3, np.float32)}) == np.float32(7.0)
    assert sess.run(y, {"a:0": 2.0, b: 3.0}) == np.float32(7.0)
    with pytest.raises(ValueError, match="Cannot feed value of shape"):
        sess.run(y, {a: np.ones(2, np.float32), b: 3.0})
    with pytest.raises(tf.errors.InvalidArgumentError):
        sess.run(y, {a: 2.0})  # b not fed
    out = sess.run(y, {a: np.float32(2.0), b: np.array(3.0, np.float32)})
    assert out == np.float32(7.0) and type(out) is np.float32


def test_fast_run_sees_graph_feedability_and_closing():
    g = tf.Graph()
    with g.as_default():
        a = tf.placeholder(tf.float32, [])
        y = a * 3.0
    sess = tf.Session(graph=g)
    with config.override(compile_after=1):
        _fast_ready(sess, y, {a: 1.0})
    g.prevent_feeding(a)
    with pytest.raises(ValueError, match="may not be fed"):
        sess.run(y, {a: 1.0})
    g._unfeedable.discard(id(a))
    assert sess.run(y, {a: 2.0}) == np.float32(6.0)
    sess.close()
    with pytest.raises(RuntimeError, match="closed Session"):
        sess.run(y, {a: 1.0})


def test_fast_run_with_jit_disabled_uses_the_interpreter(fma, monkeypatch):
    sess, a, b, v, y, z = fma
    _fast_ready(sess, y, {a: 2.0, b: 3.0})
    from graphjit import executor

    calls = []
    real = executor.execute
    monkeypatch.setattr(executor, "execute", lambda *a, **k: calls.append(1) or real(*a, **k))
    with config.override(disable_jit=True):
        assert sess.run(y, {a: 2.0, b: 3.0}) == np.float32(7.0)
    assert calls  # the full run, not the compiled chain


def test_fast_run_with_variables_commits_each_run():
    g = tf.Graph()
    with g.as_default():
        w = tf.Variable(np.zeros(3, np.float32))
        x = tf.placeholder(tf.float32, [3])
        inc = tf.assign_add(w, x)
        read = w * x
    with config.override(compile_after=1), tf.Session(graph=g) as sess:
        sess.run(w.initializer)
        one = np.ones(3, np.float32)
        for k in range(1, 5):
            np.testing.assert_array_equal(sess.run(inc, {x: one}), one * k)
        # the in-place update runs in the session's context, not replayed every run
        assert "RUN(ctx," in sess._run_fast[id(inc)].__source__
        np.testing.assert_array_equal(sess.run(read, {x: one * 2}), one * 8)
        np.testing.assert_array_equal(sess.run(read, {x: one * 2}), one * 8)
        np.testing.assert_array_equal(sess.run(w), one * 4)
        f = sess.make_callable(inc, [x])
        for k in range(5, 8):
            np.testing.assert_array_equal(f(one), one * k)
        assert _armed(f) and "RUN(ctx," in f.__source__
        np.testing.assert_array_equal(sess.run(w), one * 7)
        for _ in range(3):  # an Operation fetched: level 0 too, returning None
            assert sess.run(inc.op, {x: one}) is None
        assert id(inc.op) in sess._run_fast
        np.testing.assert_array_equal(sess.run(w), one * 10)


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


def test_dispatcher_checked_arrays_take_the_slow_path_when_they_do_not_match():
    """An inlined chain with array feeds leaves dtype, rank and layout to numba's dispatcher;
    whatever it refuses is coerced and validated by the slow path, as Session.run does."""
    g = tf.Graph()
    with g.as_default():
        a = tf.placeholder(tf.float32, [4])
        b = tf.placeholder(tf.float32, [None, 3])
        y = a * 2.0 + 1.0
        z = b - 1.0
    with config.override(compile_after=1), tf.Session(graph=g) as sess:
        f = sess.make_callable(y, [a])
        x = np.arange(4, dtype=np.float32)
        np.testing.assert_array_equal(f(x), x * 2 + 1)
        assert _armed(f) and "SEGD(" in f.__source__
        np.testing.assert_array_equal(f(x.astype(np.float64)), x * 2 + 1)  # converted
        np.testing.assert_array_equal(
            f(np.arange(8, dtype=np.float32)[::2]), np.arange(0, 8, 2) * 2 + 1
        )
        assert f(x).dtype == np.float32
        with pytest.raises(ValueError, match="Cannot feed value of shape"):
            f(np.float32(1.0))  # 0-d: len() raises inside the guard
        with pytest.raises(ValueError, match="Cannot feed value of shape"):
            f(np.zeros((4, 1), np.float32))  # len 4 but rank 2: the dispatcher refuses it
        with pytest.raises(ValueError, match="Cannot feed value of shape"):
            f(np.zeros(5, np.float32))
        h = sess.make_callable(z, [b])
        m = np.ones((2, 3), np.float32)
        np.testing.assert_array_equal(h(m), m - 1)
        assert _armed(h)
        np.testing.assert_array_equal(h(np.asfortranarray(np.ones((3, 3), np.float32))), 0)
        with pytest.raises(ValueError, match="Cannot feed value of shape"):
            h(np.ones((2, 4), np.float32))
        with pytest.raises(ValueError, match="Cannot feed value of shape"):
            h(np.ones(3, np.float32))  # shape[1] raises inside the guard
