"""The interpreter drops each intermediate after its last reader: an interpreted run's peak
memory is a few arrays, not one per op (and a cold first run reuses memory malloc already
has instead of faulting in fresh pages for every op)."""

from __future__ import annotations

import tracemalloc

import numpy as np

import graphjit.compat.v1 as tf
from graphjit import config


def test_interpreted_chain_holds_a_few_intermediates_not_all():
    n = 1 << 20  # 4 MB per float32 array
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [None])
        y = x
        for k in range(20):
            y = y * 1.01 + float(k)  # 40 ops, each output 4 MB
        z = tf.reduce_sum(y)
    xv = np.ones(n, np.float32)
    with tf.Session(graph=g) as sess, config.override(disable_jit=True):
        want = sess.run(z, {x: xv})
        tracemalloc.start()
        try:
            got = sess.run(z, {x: xv})
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert got == want
    assert peak < 6 * 4 * n, f"peak {peak / 2**20:.1f} MiB for 40 ops of 4 MiB"


def test_fetched_intermediates_are_kept():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [3])
        a = x * 2.0
        b = a + 1.0
        c = b * b
    with tf.Session(graph=g) as sess, config.override(disable_jit=True):
        av, cv = sess.run([a, c], {x: np.arange(3, dtype=np.float32)})
    np.testing.assert_array_equal(av, [0, 2, 4])
    np.testing.assert_array_equal(cv, [1, 9, 25])
