"""A softmax cross-entropy takes the bias add of its logits into its row loop
(``graphjit.prepass.bias_xent``): one link instead of a segment and a link, with the same
bits as the two ops compiled apart."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit
import graphjit.compat.v1 as tf
from graphjit import config, fuse, jit, kernels
from graphjit.errors import InvalidArgumentError

KINDS = ["dense", "sparse"]
ADDS = ["m+b", "b+m", "bias_add"]


def _graph(kind, add, fetch_logits=False, k=7):
    rng = np.random.default_rng(3)
    g = tf.Graph()
    with g.as_default():
        h = tf.placeholder(tf.float32, [None, 5], name="h")
        w = tf.Variable(rng.standard_normal((5, k)).astype(np.float32))
        b = tf.Variable(rng.standard_normal(k).astype(np.float32))
        m = tf.matmul(h, w)
        logits = {"m+b": lambda: m + b, "b+m": lambda: b + m,
                  "bias_add": lambda: tf.nn.bias_add(m, b)}[add]()  # fmt: skip
        if kind == "sparse":
            y = tf.placeholder(tf.int32, [None], name="y")
            xent = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
            yv = rng.integers(0, k, 6).astype(np.int32)
        else:
            y = tf.placeholder(tf.float32, [None, k], name="y")
            xent = tf.nn.softmax_cross_entropy_with_logits_v2(labels=y, logits=logits)
            yv = np.eye(k, dtype=np.float32)[rng.integers(0, k, 6)]
        loss = tf.reduce_mean(xent)
        fetches = [loss, *tf.gradients(loss, [w, b, h])] + ([logits] if fetch_logits else [])
        init = tf.global_variables_initializer()
    feed = {h: rng.standard_normal((6, 5)).astype(np.float32), y: yv}
    return g, init, fetches, feed


def _compiled(g, init, fetches, feed):
    with tf.Session(graph=g) as sess:
        sess.run(init)
        with config.override(compile_after=1, compile_mode="sync"):
            got = [sess.run(fetches, feed) for _ in range(2)][-1]
        info = graphjit.inspect_chain(sess, fetches, list(feed))
    return got, info


@pytest.mark.parametrize("add", ADDS)
@pytest.mark.parametrize("kind", KINDS)
def test_cross_entropy_takes_its_bias_add_with_the_same_bits(kind, add, monkeypatch):
    g, init, fetches, feed = _graph(kind, add)
    fused, info = _compiled(g, init, fetches, feed)
    types = [t for _, t, _ in info["links"]]
    assert [t for t in types if "Cross" in t] == [
        "BiasSparseSoftmaxCrossEntropyWithLogits" if kind == "sparse"
        else "BiasSoftmaxCrossEntropyWithLogits"
    ]  # fmt: skip
    segment_ops = [t for seg in info["segments"] for _, t in seg["ops"]]
    assert "BiasAdd" not in segment_ops and "AddV2" not in segment_ops
    monkeypatch.setattr(fuse, "bias_xent", lambda program: (program, None))
    jit.clear_l1()
    apart, info = _compiled(g, init, fetches, feed)
    assert not [t for _, t, _ in info["links"] if t.startswith("Bias")]
    for a, b in zip(fused, apart):
        np.testing.assert_array_equal(a, b)


def test_fetched_logits_keep_the_add_apart():
    g, init, fetches, feed = _graph("dense", "m+b", fetch_logits=True)
    got, info = _compiled(g, init, fetches, feed)
    assert "SoftmaxCrossEntropyWithLogits" in [t for _, t, _ in info["links"]]
    with tf.Session(graph=g) as sess:
        sess.run(init)
        with config.override(disable_jit=True):
            want = sess.run(fetches, feed)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_a_bias_of_the_wrong_length_raises_as_the_interpreter_does():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [None, None])
        b = tf.placeholder(tf.float32, [None])
        y = tf.placeholder(tf.float32, [None, None])
        loss = tf.reduce_sum(tf.nn.softmax_cross_entropy_with_logits_v2(labels=y, logits=x + b))
    good = {x: np.ones((2, 3), np.float32), b: np.ones(3, np.float32), y: np.eye(3)[:2]}
    bad = {**good, b: np.ones(4, np.float32)}
    with tf.Session(graph=g) as sess:
        with config.override(disable_jit=True), pytest.raises(InvalidArgumentError) as want:
            sess.run(loss, bad)
        with config.override(compile_after=1, compile_mode="sync"):
            assert np.isclose(sess.run(loss, good), 2 * np.log(3.0))
            info = graphjit.inspect_chain(sess, loss, [x, b, y])
            assert "BiasSoftmaxCrossEntropyWithLogits" in [t for _, t, _ in info["links"]]
            with pytest.raises(InvalidArgumentError) as got:
                sess.run(loss, bad)
            assert str(got.value) == str(want.value)
            assert np.isclose(sess.run(loss, good), 2 * np.log(3.0))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("k", [1, 7, 8, 19])
def test_bias_row_loops_equal_the_row_loops_of_the_sum(dtype, k):
    rng = np.random.default_rng(k)
    x = rng.standard_normal((5, k)).astype(dtype) * 4
    x[0, 0], x[1, -1] = np.inf, np.nan
    x[2] = -np.inf
    bias = rng.standard_normal(k).astype(dtype)
    dense = np.eye(k, dtype=dtype)[rng.integers(0, k, 5)]
    sparse = rng.integers(0, k, 5).astype(np.int32)
    for rows, labels in ((kernels._xent_rows, dense), (kernels._sparse_xent_rows, sparse)):
        fused = getattr(kernels, "_bias" + rows.__name__)
        want = np.empty(5, dtype), np.empty((5, k), dtype)
        got = np.empty(5, dtype), np.empty((5, k), dtype)
        rows(x + bias, labels, *want)
        fused(x, bias, labels, *got)
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a, b)
