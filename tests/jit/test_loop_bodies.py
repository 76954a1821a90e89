"""``while_loop`` iterations run compiled when the cond and body are pure: as one loop kernel
when each is a single segment (``graphjit.loop_kernel``), else as one compiled chain per
iteration (``executor.run_sub``)."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit
import graphjit.compat.v1 as tf
from graphjit import config, executor, jit


def _loop(g):
    with g.as_default():
        x0 = tf.placeholder(tf.float32, [None], name="x0")
        w = tf.constant(0.5)

        def body(i, x):
            return i + 1, tf.tanh(x * w) + x * 0.25

        _, out = tf.while_loop(lambda i, x: i < 40, body, [tf.constant(0), x0])
    return x0, out


def _reference(x):
    x = x.astype(np.float32)
    for _ in range(40):
        x = np.tanh(x * np.float32(0.5)) + x * np.float32(0.25)
    return x


def test_pure_loop_body_runs_compiled_and_matches_interpreter():
    data = np.linspace(-3, 3, 9, dtype=np.float32)
    results = {}
    for jit_on in (False, True):
        g = tf.Graph()
        x0, out = _loop(g)
        with config.override(disable_jit=not jit_on), tf.Session(graph=g) as sess:
            before = graphjit.cache_stats()["l1"]["misses"]
            results[jit_on] = sess.run(out, {x0: data})
            if jit_on:  # the whole loop got one kernel
                assert graphjit.cache_stats()["l1"]["misses"] - before >= 1
                assert any(k[0] == "while" for k in jit._L1)
    np.testing.assert_allclose(results[True], results[False], rtol=2e-6, atol=1e-6)
    np.testing.assert_allclose(results[True], _reference(data), rtol=1e-5, atol=1e-6)


def test_run_sub_uses_the_chain_for_a_pure_body():
    g = tf.Graph()
    with g.as_default():  # a MatMul link: not one segment, so no loop kernel
        x0 = tf.placeholder(tf.float32, [None, 3], name="x0")
        _, out = tf.while_loop(lambda i, x: i < 5, lambda i, x: (i + 1, tf.matmul(x, tf.eye(3))),
                               [tf.constant(0), x0])  # fmt: skip
    while_op = next(op for op in g.get_operations() if op.type in ("While", "StatelessWhile"))
    body = while_op.get_attr("body")
    assert executor._pure(body.program)
    with tf.Session(graph=g) as sess:
        sess.run(out, {x0: np.ones((2, 3), np.float32)})
        keys = [k for k in list(jit._L1) if k[0] == body.program.key]
        assert keys and isinstance(jit._L1[keys[0]], executor.Chain)


def test_loop_with_random_body_stays_interpreted_and_is_reproducible():
    def build():
        g = tf.Graph()
        with g.as_default():
            tf.set_random_seed(3)

            def body(i, x):
                return i + 1, x + tf.random_uniform([3])

            _, out = tf.while_loop(lambda i, x: i < 5, body, [0, tf.zeros([3])])
        return g, out

    vals = []
    for _ in range(2):
        g, out = build()
        with tf.Session(graph=g) as sess:
            vals.append(sess.run(out))
    np.testing.assert_array_equal(vals[0], vals[1])
    body = next(op for op in g.get_operations() if op.type == "While").get_attr("body")
    assert not executor._pure(body.program)


@pytest.mark.parametrize("limit", [0, 3])
def test_compiled_body_respects_maximum_iterations(limit):
    g = tf.Graph()
    with g.as_default():
        x0 = tf.placeholder(tf.float32, [2])
        out = tf.while_loop(
            lambda x: tf.reduce_sum(x) < 1e9, lambda x: x * 2.0, [x0], maximum_iterations=limit
        )
    with tf.Session(graph=g) as sess:
        got = sess.run(out, {x0: np.array([1.0, 3.0], np.float32)})
    np.testing.assert_array_equal(got, np.array([1.0, 3.0], np.float32) * 2.0**limit)
