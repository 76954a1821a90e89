"""Scatter updates are staged as row patches and applied in place at commit.

A scatter whose value nothing reads writes only its rows when the run succeeds (O(rows),
not a copy of the whole variable); a read later in the same run sees the rows; a failing
run writes nothing.
"""

from __future__ import annotations

import numpy as np
import pytest

import graphjit.compat.v1 as tf
from graphjit import config


@pytest.fixture(params=[True, False], ids=["interpreter", "compiled"])
def mode(request):
    with config.override(disable_jit=request.param, compile_after=1):
        yield


def _table():
    g = tf.Graph()
    with g.as_default():
        v = tf.Variable(np.arange(20, dtype=np.float32).reshape(10, 2))
        idx = tf.placeholder(tf.int32, [None])
        upd = tf.placeholder(tf.float32, [None, 2])
        init = tf.global_variables_initializer()
    return g, v, idx, upd, init


def test_scatter_add_writes_rows_in_place(mode):
    g, v, idx, upd, init = _table()
    with g.as_default():
        op = tf.scatter_add(v, idx, upd).op
    with tf.Session(graph=g) as sess:
        sess.run(init)
        buf = sess._vars[v.op.name]
        for _ in range(2):
            sess.run(op, {idx: [1, 3, 1], upd: np.ones((3, 2), np.float32)})
        want = np.arange(20, dtype=np.float32).reshape(10, 2)
        want[1] += 4
        want[3] += 2
        np.testing.assert_array_equal(sess.run(v), want)
        assert sess._vars[v.op.name] is buf  # the same storage, updated row-wise


def test_read_after_scatter_in_the_same_run_sees_the_rows(mode):
    g, v, idx, upd, init = _table()
    with g.as_default():
        op = tf.scatter_update(v, idx, upd).op
        with tf.control_dependencies([op]):
            after = v.read_value()
    with tf.Session(graph=g) as sess:
        sess.run(init)
        got = sess.run(after, {idx: [0], upd: [[-1.0, -2.0]]})
        assert got[0].tolist() == [-1.0, -2.0]
        assert sess.run(v)[0].tolist() == [-1.0, -2.0]


def test_failing_run_after_a_scatter_writes_nothing(mode):
    g, v, idx, upd, init = _table()
    with g.as_default():
        op = tf.scatter_sub(v, idx, upd).op
        bad = tf.placeholder(tf.int32, [None])
        later = tf.gather(tf.constant([1.0, 2.0]), bad)
        with tf.control_dependencies([op]):
            out = tf.identity(later)
    with tf.Session(graph=g) as sess:
        sess.run(init)
        before = sess.run(v)
        with pytest.raises(tf.errors.InvalidArgumentError):
            sess.run(out, {idx: [2], upd: [[5.0, 5.0]], bad: [7]})
        np.testing.assert_array_equal(sess.run(v), before)


def test_scatter_whose_value_is_fetched_returns_the_updated_variable(mode):
    g, v, idx, upd, init = _table()
    with g.as_default():
        new = tf.scatter_add(v, idx, upd)
    with tf.Session(graph=g) as sess:
        sess.run(init)
        got = sess.run(new, {idx: [9], upd: [[1.0, 1.0]]})
        assert got[9].tolist() == [19.0, 20.0]
        assert sess.run(v)[9].tolist() == [19.0, 20.0]


def test_sgd_on_an_embedding_updates_only_the_looked_up_rows(mode):
    g = tf.Graph()
    with g.as_default():
        emb = tf.Variable(np.ones((50, 3), np.float32))
        ids = tf.placeholder(tf.int32, [None])
        loss = tf.reduce_sum(tf.nn.embedding_lookup(emb, ids))
        train = tf.train.GradientDescentOptimizer(0.5).minimize(loss)
        init = tf.global_variables_initializer()
    with tf.Session(graph=g) as sess:
        sess.run(init)
        buf = sess._vars[emb.op.name]
        sess.run(train, {ids: [4, 4, 7]})
        got = sess.run(emb)
        assert got[4].tolist() == [0.0, 0.0, 0.0] and got[7].tolist() == [0.5, 0.5, 0.5]
        assert np.all(np.delete(got, [4, 7], axis=0) == 1.0)
        assert sess._vars[emb.op.name] is buf
