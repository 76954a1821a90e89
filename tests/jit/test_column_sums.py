"""Regions that reduce the leading axes (column sums: bias gradients).

With every operand of the loop's shape they take a row loop whose accumulators are indexed
by the column (unit stride, vectorized); otherwise the general strided nest. Both must
equal the interpreter, including keep_dims, several leading axes, an int sum and empty
batches.
"""

from __future__ import annotations

import numpy as np
import pytest

import graphjit
import graphjit.compat.v1 as tf
from graphjit import config


@pytest.fixture(scope="module")
def chain():
    g = tf.Graph()
    with g.as_default():
        z = tf.placeholder(tf.float32, [None, None, None])
        d = tf.placeholder(tf.float32, [None, None, None])
        masked = d * tf.cast(z > 0.0, tf.float32)  # the relu gradient, broadcasting
        col = tf.reduce_sum(masked, axis=0)  # one leading axis
        col2 = tf.reduce_sum(masked * 2.0, axis=[0, 1], keepdims=True)  # two, kept
        fetches = [masked, col, col2]
    with config.override(compile_after=1), tf.Session(graph=g) as sess:
        yield sess, z, d, fetches


@pytest.mark.parametrize(
    ("zs", "ds"),
    [
        ((4, 3, 5), (4, 3, 5)),  # the column loop
        ((1, 1, 7), (1, 1, 7)),  # one row
        ((4, 3, 5), (1, 3, 5)),  # d broadcasts: the nest
        ((0, 3, 5), (0, 3, 5)),  # empty batch: zero sums
    ],
)
def test_column_sums_match_the_interpreter(chain, zs, ds):
    sess, z, d, fetches = chain
    rng = np.random.default_rng(sum(zs))
    zv = rng.standard_normal(zs).astype(np.float32)
    dv = rng.standard_normal(ds).astype(np.float32)
    with config.override(disable_jit=True):
        want = sess.run(fetches, {z: zv, d: dv})
    got = sess.make_callable(fetches, [z, d])(zv, dv)
    for g_, w in zip(got, want):
        assert g_.shape == w.shape and g_.dtype == w.dtype
        np.testing.assert_allclose(g_, w, rtol=1e-5, atol=1e-6)
    masked = np.where(zv > 0, dv, 0).astype(np.float32)
    np.testing.assert_allclose(got[1], masked.sum(0), rtol=1e-5, atol=1e-6)


def test_column_loop_is_in_the_generated_source(chain):
    sess, z, d, fetches = chain
    zv = np.ones((2, 3, 4), np.float32)
    sess.make_callable(fetches, [z, d])(zv, zv)
    info = graphjit.inspect_chain(sess, fetches, [z, d])
    src = open(info["source"]).read()
    assert "column sums" in src
    assert not info["fallback"]


def test_int_column_sum_is_exact():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.int32, [None, None])
        s = tf.reduce_sum(x * 3, axis=0)
    with config.override(compile_after=1), tf.Session(graph=g) as sess:
        xv = np.arange(12, dtype=np.int32).reshape(4, 3)
        got = sess.make_callable(s, [x])(xv)
        np.testing.assert_array_equal(got, (xv * 3).sum(0))
        assert got.dtype == np.int32
