"""Kernel chains end to end: links, variables, errors, caches, tiers, threads, introspection."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.jit.helpers import assert_same

import graphjit
import graphjit.compat.v1 as tf
from graphjit import config, jit
from graphjit.errors import FailedPreconditionError, InvalidArgumentError


@pytest.fixture(scope="module")
def mlp():
    """x @ w + b -> relu-ish -> reshape (link) -> * 2; w, b variables; an update op."""
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [None, 3], name="x")
        w = tf.Variable(np.arange(6, dtype=np.float32).reshape(3, 2) / 10, name="w")
        b = tf.Variable(np.ones(2, np.float32), name="b")
        h = tf.maximum(tf.matmul(x, w) + b, 0.0)
        y = tf.reshape(h, [-1]) * 2.0
        step = tf.assign_sub(b, tf.reduce_mean(h, axis=0) * 0.5)
        k = tf.placeholder(tf.int32, [None], name="k")
        q = tf.floordiv(tf.constant(7), k) + 1
        init = tf.global_variables_initializer()
    sess = tf.Session(graph=g)
    sess.run(init)
    yield dict(sess=sess, x=x, w=w, b=b, y=y, h=h, step=step, k=k, q=q)
    sess.close()


def test_matmul_link_and_segments_match_interpreter(mlp):
    sess, x, y = mlp["sess"], mlp["x"], mlp["y"]
    xv = np.arange(12, dtype=np.float32).reshape(4, 3) - 5
    fn = sess.make_callable(y, [x])
    with config.override(disable_jit=True):
        ref = sess.run(y, {x: xv})
    assert_same(fn(xv), ref)
    assert_same(fn(xv), ref)  # armed path
    info = graphjit.inspect_chain(sess, y, [x])
    assert [t for _, t, _ in info["links"]] == ["MatMul", "Reshape"]
    assert len(info["segments"]) >= 2
    assert info["source"].endswith(".py")


def test_shape_change_does_not_recompile(mlp):
    sess, x, y = mlp["sess"], mlp["x"], mlp["y"]
    fn = sess.make_callable(y, [x])
    fn(np.ones((2, 3), np.float32))
    before = graphjit.cache_stats()
    for n in (1, 5, 0, 7):
        out = fn(np.ones((n, 3), np.float32))
        assert out.shape == (2 * n,)
    after = graphjit.cache_stats()
    assert after["compiles"] == before["compiles"]
    assert after["l1"]["misses"] == before["l1"]["misses"]


def test_variable_update_commits_and_fetch_never_aliases_storage(mlp):
    sess, x, b, step = mlp["sess"], mlp["x"], mlp["b"], mlp["step"]
    sess.run(b.initializer)
    upd = sess.make_callable([step, b], [x])
    xv = np.ones((2, 3), np.float32)
    with config.override(disable_jit=True):
        sess.run(b.initializer)
        sess.run(step, {x: xv})
        expected = sess.run(b)
    sess.run(b.initializer)
    first, _ = upd(xv)
    np.testing.assert_allclose(first, expected, rtol=1e-6)
    second, read = upd(xv)
    second[...] = 123.0  # a fetched value never aliases session storage
    read[...] = 456.0
    assert not np.any(sess.run(b) == 123.0) and not np.any(sess.run(b) == 456.0)


def test_failing_run_leaves_variables_unchanged_and_raises_tf_error():
    g = tf.Graph()
    with g.as_default():
        v = tf.Variable(np.array([1, 2], np.int32), name="v")
        d = tf.placeholder(tf.int32, [2], name="d")
        upd = tf.assign_add(v, tf.constant([1, 1]))
        with tf.control_dependencies([upd]):
            out = tf.floordiv(v.read_value() if hasattr(v, "read_value") else v + 0, d)
    with tf.Session(graph=g) as sess:
        sess.run(v.initializer)
        fn = sess.make_callable(out, [d])
        fn(np.array([1, 1], np.int32))
        fn(np.array([1, 1], np.int32))
        before = sess.run(v).copy()
        with pytest.raises(InvalidArgumentError, match="division by zero"):
            fn(np.array([1, 0], np.int32))
        np.testing.assert_array_equal(sess.run(v), before)


def test_integer_division_by_zero_raises_invalid_argument(mlp):
    sess, k, q = mlp["sess"], mlp["k"], mlp["q"]
    fn = sess.make_callable(q, [k])
    np.testing.assert_array_equal(fn(np.array([2, -3], np.int32)), [4, -2])
    with pytest.raises(InvalidArgumentError, match="Integer division by zero"):
        fn(np.array([2, 0], np.int32))


def test_uninitialized_variable_raises_failed_precondition():
    g = tf.Graph()
    with g.as_default():
        v = tf.Variable(np.ones(2, np.float32), name="v")
        x = tf.placeholder(tf.float32, [2])
        y = v * x
    with tf.Session(graph=g) as sess:
        fn = sess.make_callable(y, [x])
        with pytest.raises(FailedPreconditionError):
            fn(np.ones(2, np.float32))
        sess.run(v.initializer)
        np.testing.assert_array_equal(fn(np.ones(2, np.float32)), [1, 1])


def _axpy_graph(dtype=tf.float32):
    g = tf.Graph()
    with g.as_default():
        a = tf.placeholder(dtype, [None], name="a")
        b = tf.placeholder(dtype, [None], name="b")
        y = a * b + a
    return g, a, b, y


def test_fed_arrays_are_never_written_and_results_are_fresh():
    g, a, b, y = _axpy_graph()
    with tf.Session(graph=g) as sess:
        fn = sess.make_callable([y, tf.identity(a)], [a, b])
        av = np.array([1, 2, 3], np.float32)
        av.flags.writeable = False
        bv = np.array([4, 5, 6], np.float32)
        for _ in range(2):
            r, ident = fn(av, bv)
            assert r.flags.writeable and ident.flags.writeable
            assert not np.shares_memory(ident, av)
        np.testing.assert_array_equal(av, [1, 2, 3])
        np.testing.assert_array_equal(r, av * bv + av)


def test_new_dtype_compiles_once_more():
    g32, a32, b32, y32 = _axpy_graph(tf.float32)
    g64, a64, b64, y64 = _axpy_graph(tf.float64)
    with tf.Session(graph=g32) as s32, tf.Session(graph=g64) as s64:
        s32.make_callable(y32, [a32, b32])(np.ones(2, np.float32), np.ones(2, np.float32))
        before = len(jit._L1)
        f64 = s64.make_callable(y64, [a64, b64])
        out = f64(np.ones(2), np.ones(2))
        assert out.dtype == np.float64
        assert len(jit._L1) == before + 1
        f64(np.ones(5), np.ones(5))
        assert len(jit._L1) == before + 1


def test_session_run_compiles_on_second_run_of_a_signature():
    g, a, b, y = _axpy_graph()
    with tf.Session(graph=g) as sess:
        feed = {a: np.ones(3, np.float32), b: np.ones(3, np.float32)}
        prog = sess._program([y], [], [(a,), (b,)])
        jit._L1.pop((prog.key, (1, 1)), None)
        from graphjit import executor

        executor._counts.pop((prog.key, (1, 1)), None)
        with config.override(compile_after=2):
            sess.run(y, feed)
            assert jit.peek((prog.key, (1, 1))) is None  # one-off: interpreter
            np.testing.assert_array_equal(sess.run(y, feed), [2, 2, 2])
            assert isinstance(jit.peek((prog.key, (1, 1))), executor.Chain)


def test_disable_jit_forces_the_interpreter():
    g, a, b, y = _axpy_graph(tf.int64)
    with tf.Session(graph=g) as sess:
        prog = sess._program([y], [], [(a,), (b,)])
        with config.override(disable_jit=True):
            fn = sess.make_callable(y, [a, b])
            for _ in range(3):
                fn(np.ones(2, np.int64), np.ones(2, np.int64))
        assert jit.peek((prog.key, (1, 1))) is None


def test_session_config_global_jit_off_forces_the_interpreter():
    g, a, b, y = _axpy_graph(tf.int16)
    cfg = tf.ConfigProto(
        graph_options=tf.GraphOptions(
            optimizer_options=tf.OptimizerOptions(global_jit_level=tf.OptimizerOptions.OFF)
        )
    )
    with tf.Session(graph=g, config=cfg) as sess:
        prog = sess._program([y], [], [(a,), (b,)])
        fn = sess.make_callable(y, [a, b])
        for _ in range(3):
            fn(np.ones(2, np.int16), np.ones(2, np.int16))
        assert jit.peek((prog.key, (1, 1))) is None


def test_eight_threads_on_a_cold_signature_compile_once():
    g, a, b, y = _axpy_graph(tf.int32)
    with tf.Session(graph=g) as sess:
        prog = sess._program([y], [], [(a,), (b,)])
        key = (prog.key, (1, 1))
        jit._L1.pop(key, None)
        misses = graphjit.cache_stats()["l1"]["misses"]
        results, errors = [None] * 8, []
        barrier = threading.Barrier(8)

        def work(i):
            try:
                fn = sess.make_callable(y, [a, b])
                barrier.wait()
                v = np.full(4, i, np.int32)
                results[i] = fn(v, v)
            except Exception as e:  # pragma: no cover - reported below
                errors.append(e)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        for i, r in enumerate(results):
            np.testing.assert_array_equal(r, np.full(4, i * i + i))
        assert graphjit.cache_stats()["l1"]["misses"] == misses + 1


def test_trace_reports_segments_and_links(mlp):
    sess, x, y = mlp["sess"], mlp["x"], mlp["y"]
    xv = np.ones((2, 3), np.float32)
    sess.make_callable(y, [x])(xv)  # compiled
    meta = tf.RunMetadata()
    sess.run(
        y, {x: xv}, options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE), run_metadata=meta
    )
    names = [n.node_name for n in meta.step_stats.dev_stats[0].node_stats]
    assert "graphjit/segment_0" in names and "MatMul" in names


_RANDOM_OPS = {
    "add": lambda u, v: u + v,
    "mul": lambda u, v: u * v,
    "sub": lambda u, v: u - v,
    "max": tf.maximum,
    "tanh": lambda u, v: tf.tanh(u),
    "sq": lambda u, v: tf.square(u),
}


@settings(max_examples=4, deadline=None)
@given(
    ops=st.lists(
        st.sampled_from(["add", "mul", "sub", "max", "tanh", "sq"]), min_size=1, max_size=5
    ),
    pick=st.lists(st.integers(0, 10), min_size=5, max_size=5),
)
def test_random_elementwise_graphs_match_interpreter(ops, pick):
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [None, 2])
        y = tf.placeholder(tf.float32, [2])
        vals = [x, y]
        for op, p in zip(ops, pick):
            u = vals[p % len(vals)]
            v = vals[(p // 2) % len(vals)]
            vals.append(_RANDOM_OPS[op](u, v))
    with tf.Session(graph=g) as sess:
        xv = np.linspace(-2, 2, 6, dtype=np.float32).reshape(3, 2)
        yv = np.array([0.5, -1.5], np.float32)
        fn = sess.make_callable(vals[2:], [x, y])
        got = fn(xv, yv)
        with config.override(disable_jit=True):
            ref = sess.run(vals[2:], {x: xv, y: yv})
        for a, b in zip(got, ref):
            assert_same(a, b, rtol=1e-5, atol=1e-6)
