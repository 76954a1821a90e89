"""Concurrency: one session run from many threads at once (section 11.8)."""

from __future__ import annotations

import sys
import threading

import numpy as np
import pytest

import graphjit.compat.v1 as tf

N_THREADS = 8


@pytest.fixture(autouse=True)
def frequent_thread_switches():
    """Switch threads every microsecond so that races show up in a few hundred runs."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(old)


def _run_threads(fn, n=N_THREADS):
    errors, barrier = [], threading.Barrier(n)

    def target(i):
        try:
            barrier.wait()
            fn(i)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=target, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def test_threads_running_one_session_get_their_own_results(graph, sess):
    x = tf.placeholder(tf.float32, [None])
    y = tf.reduce_sum(x * 2.0) + 1.0
    results = {}

    def work(i):
        out = []
        for k in range(30):
            data = np.full(i + 1, float(k), dtype=np.float32)
            out.append(float(sess.run(y, {x: data})))
        results[i] = out

    _run_threads(work)
    for i in range(N_THREADS):
        assert results[i] == [2.0 * k * (i + 1) + 1.0 for k in range(30)]


def test_concurrent_assign_add_loses_no_update(graph, sess):
    v = tf.Variable(0, name="count")
    inc = tf.assign_add(v, 1)
    sess.run(v.initializer)

    def work(i):
        for _ in range(100):
            sess.run(inc)

    _run_threads(work)
    assert sess.run(v) == N_THREADS * 100


def test_concurrent_callables_and_reads(graph, sess):
    v = tf.Variable(0.0)
    x = tf.placeholder(tf.float32, [])
    add = sess.make_callable(tf.assign_add(v, x), feed_list=[x])
    read = sess.make_callable(v)
    sess.run(v.initializer)

    def work(i):
        for _ in range(40):
            add(1.0) if i % 2 == 0 else read()

    _run_threads(work)
    assert sess.run(v) == (N_THREADS // 2) * 40


def test_default_session_per_thread_with_one_graph(graph):
    c = tf.constant(3.0)
    seen = {}

    def work(i):
        with tf.Session(graph=graph) as s:
            seen[i] = (tf.get_default_session() is s, float(c.eval()))

    _run_threads(work)
    assert all(v == (True, 3.0) for v in seen.values())
    assert tf.get_default_session() is None
