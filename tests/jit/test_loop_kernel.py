"""``tf.while_loop`` whose condition and body are single pure segments runs as one compiled
loop (``graphjit.loop_kernel``); every other loop iterates in Python. Both must give the
interpreter's values and errors."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit.compat.v1 as tf
from graphjit import config, jit


def _loop_keys():
    return [k for k in jit._L1 if k[0] == "while" and not isinstance(jit._L1[k], jit.Uncompilable)]


def _both(g, fetches, feed):
    with tf.Session(graph=g) as sess:
        with config.override(disable_jit=True):
            want = sess.run(fetches, feed)
        with config.override(compile_after=1, compile_mode="sync"):
            got = [sess.run(fetches, feed) for _ in range(2)][-1]
    return got, want


def _same(got, want):
    for a, b in zip(got, want):
        assert np.asarray(a).dtype == np.asarray(b).dtype
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)  # (float sums reassociate)


@pytest.mark.parametrize("steps", [0, 1, 37])
def test_array_and_scalar_loop_variables_with_a_capture(steps):
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [None])
        n = tf.placeholder(tf.int32, [])
        w = tf.constant(0.5)

        def body(i, acc, s):
            return i + 1, acc * w + tf.tanh(x) * tf.cast(i, tf.float32), s + tf.reduce_sum(acc)

        out = tf.while_loop(lambda i, a, s: i < n, body, [0, tf.zeros_like(x), 0.0])
    before = len(_loop_keys())
    got, want = _both(g, out, {x: np.linspace(-1, 1, 7, dtype=np.float32), n: steps})
    _same(got, want)
    assert len(_loop_keys()) > before or steps == 0 or _loop_keys()


def test_maximum_iterations_stops_the_compiled_loop():
    g = tf.Graph()
    with g.as_default():
        v = tf.placeholder(tf.float64, [3])
        out = tf.while_loop(lambda y: tf.reduce_sum(y) < 1e9, lambda y: y * 2.0 + 1.0, [v],
                            maximum_iterations=5)  # fmt: skip
    got, want = _both(g, [out], {v: np.array([1.0, 2.0, 3.0])})
    _same(got, want)
    np.testing.assert_array_equal(got[0], [63.0, 95.0, 127.0])


def test_shape_invariant_violation_raises_like_the_interpreter():
    g = tf.Graph()
    with g.as_default():
        v = tf.placeholder(tf.float32, [None])
        out = tf.while_loop(lambda y: tf.size(y) < 100, lambda y: tf.concat([y, y], 0), [v],
                            shape_invariants=[tf.TensorShape([None])])  # fmt: skip
        bad = tf.while_loop(lambda i, y: i < 3, lambda i, y: (i + 1, y + 1.0),
                            [0, tf.ones([2, 2])])  # fmt: skip
    got, want = _both(g, [out], {v: np.ones(3, np.float32)})
    _same(got, want)
    with tf.Session(graph=g) as sess, config.override(compile_after=1, compile_mode="sync"):
        np.testing.assert_array_equal(sess.run(bad)[1], np.full((2, 2), 4.0, np.float32))


def test_loops_that_do_not_qualify_iterate_and_agree():
    g = tf.Graph()
    with g.as_default():
        var = tf.Variable(2.0)
        x = tf.placeholder(tf.float32, [None, 3])
        # a variable read and a MatMul (a library-kernel link) in the body
        out = tf.while_loop(lambda i, h: i < 4,
                            lambda i, h: (i + 1, tf.matmul(h, tf.eye(3)) * var.read_value()),
                            [0, x])  # fmt: skip
    xv = np.ones((2, 3), np.float32)
    with tf.Session(graph=g) as sess:
        sess.run(var.initializer)
        with config.override(disable_jit=True):
            want = sess.run(out, {x: xv})
        with config.override(compile_after=1, compile_mode="sync"):
            got = sess.run(out, {x: xv})
    _same(got, want)
    np.testing.assert_array_equal(got[1], xv * 16)


def test_a_loop_that_does_not_qualify_is_no_compile_failure(caplog):
    """Not being one segment is the loop kernel's policy, not an error: no warning is
    logged and cache_stats() counts no failure (the body's own chain still compiles)."""
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [None, 3])
        out = tf.while_loop(lambda i, h: i < 3,
                            lambda i, h: (i + 1, tf.matmul(h, tf.eye(3)) + 1.0),
                            [0, x])  # fmt: skip
    before = jit.cache_stats()["failures"]
    with caplog.at_level("WARNING", logger="graphjit"):
        got, want = _both(g, out, {x: np.ones((2, 3), np.float32)})
    _same(got, want)
    assert jit.cache_stats()["failures"] == before
    assert not [r for r in caplog.records if "compile failed" in r.getMessage()]
    reasons = [getattr(e, "reason", "") for k, e in jit._L1.items() if k[0] == "while"]
    assert any(r.startswith("not eligible: ") for r in reasons)


def test_the_generated_module_holds_one_loop_function():
    g = tf.Graph()
    with g.as_default():
        n = tf.placeholder(tf.int32, [])
        out = tf.while_loop(lambda i, s: i < n, lambda i, s: (i + 1, s + i * i), [0, 0])
    got, want = _both(g, out, {n: 10})
    assert [int(v) for v in got] == [10, 285] == [int(v) for v in want]
    paths = [jit._L1[k].path for k in _loop_keys()]
    assert paths
    src = open(paths[-1]).read()
    assert "def loop(" in src and "def cseg(" in src and "def bseg(" in src


def test_background_mode_compiles_the_loop_off_the_calling_thread():
    import graphjit

    g = tf.Graph()
    with g.as_default():
        n = tf.placeholder(tf.int32, [])
        x = tf.placeholder(tf.float64, [None])
        out = tf.while_loop(lambda i, y: i < n, lambda i, y: (i + 1, y * 0.75 + 1.0), [0, x])
    xv = np.array([0.0, 4.0])
    with tf.Session(graph=g) as sess, config.override(compile_after=1, compile_mode="background"):
        first = sess.run(out, {n: 6, x: xv})  # answered by iterating while it compiles
        assert graphjit.wait_for_compiles(timeout=120)
        later = sess.run(out, {n: 6, x: xv})
    _same(later, first)
    assert any(k[0] == "while" for k in _loop_keys())
