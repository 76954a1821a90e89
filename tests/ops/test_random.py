"""Random ops: TF1 seed semantics (graph seed, op seed), per-session streams, dropout."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit.compat.v1 as tf


def _two_sessions(build, seed=None):
    g = tf.Graph()
    with g.as_default():
        if seed is not None:
            tf.set_random_seed(seed)
        t = build()
    out = []
    for _ in range(2):
        with tf.Session(graph=g) as s:
            out.append([s.run(t), s.run(t)])
    return out


def test_graph_seed_repeats_sequence_in_fresh_sessions():
    (a1, a2), (b1, b2) = _two_sessions(lambda: tf.random_normal([4]), seed=3)
    np.testing.assert_array_equal(a1, b1)
    np.testing.assert_array_equal(a2, b2)
    assert not np.array_equal(a1, a2)  # consecutive runs draw new numbers


def test_op_seed_alone_is_deterministic():
    (a1, _), (b1, _) = _two_sessions(lambda: tf.random_uniform([3], seed=5))
    np.testing.assert_array_equal(a1, b1)


def test_unseeded_ops_differ_between_sessions():
    (a1, _), (b1, _) = _two_sessions(lambda: tf.random_uniform([8]))
    assert not np.array_equal(a1, b1)


def test_two_ops_with_graph_seed_differ(graph, sess):
    tf.set_random_seed(1)
    a, b = tf.random_normal([5]), tf.random_normal([5])
    va, vb = sess.run([a, b])
    assert not np.array_equal(va, vb)


def test_failed_run_does_not_advance_the_stream(graph):
    tf.set_random_seed(2)
    r = tf.random_uniform([3])
    bad = tf.placeholder(tf.int32, [])
    boom = tf.gather([1, 2], bad)
    with tf.Session() as s:
        with pytest.raises(tf.errors.InvalidArgumentError):
            s.run([r, boom], {bad: 5})
        first = s.run(r)
    with tf.Session() as s:
        np.testing.assert_array_equal(s.run(r), first)


def test_distributions_and_dtypes(graph, sess):
    tf.set_random_seed(0)
    n = tf.random_normal([4000], mean=2.0, stddev=3.0, dtype=tf.float64)
    t = tf.truncated_normal([4000])
    u = tf.random_uniform([4000], -1.0, 1.0)
    i = tf.random_uniform([4000], 3, 7, dtype=tf.int64)
    vn, vt, vu, vi = sess.run([n, t, u, i])
    assert vn.dtype == np.float64 and abs(vn.mean() - 2.0) < 0.3 and abs(vn.std() - 3.0) < 0.3
    assert vt.dtype == np.float32 and np.abs(vt).max() <= 2.0
    assert vu.min() >= -1.0 and vu.max() < 1.0
    assert vi.dtype == np.int64 and set(np.unique(vi)) == {3, 4, 5, 6}


def test_integer_uniform_needs_maxval(graph):
    with pytest.raises(ValueError, match="maxval"):
        tf.random_uniform([2], dtype=tf.int32)


def test_dropout_keeps_or_scales(graph, sess):
    x = tf.ones([1000])
    y = tf.nn.dropout(x, rate=0.25, seed=1)
    v = sess.run(y)
    assert set(np.unique(v)) <= {0.0, np.float32(1 / 0.75)}
    assert 0.6 < (v > 0).mean() < 0.9
    k = sess.run(tf.nn.dropout(x, keep_prob=1.0))
    np.testing.assert_array_equal(k, np.ones(1000))


def test_dropout_rejects_bad_arguments(graph):
    with pytest.raises(ValueError, match="both"):
        tf.nn.dropout(tf.ones([2]), keep_prob=0.5, rate=0.5)
    with pytest.raises(ValueError, match="range"):
        tf.nn.dropout(tf.ones([2]), rate=1.5)
