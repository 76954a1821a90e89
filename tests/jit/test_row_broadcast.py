"""Regions whose lower-rank operands broadcast along the leading axes (a bias row).

They take a unit-stride row loop when every lower-rank operand has exactly the loop's
trailing shape, and the general strided nest otherwise; both must equal numpy.
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
        x = tf.placeholder(tf.float32, [None, None, None])
        b = tf.placeholder(tf.float32, [None])
        c = tf.placeholder(tf.float32, [None, None])
        y = tf.nn.relu(x * 2.0 + b) - c
    with config.override(compile_after=1), tf.Session(graph=g) as sess:
        yield sess, x, b, c, y


@pytest.mark.parametrize(
    ("xs", "bs", "cs"),
    [
        ((2, 3, 4), (4,), (3, 4)),  # the row loop
        ((1, 1, 5), (5,), (1, 5)),  # one row
        ((2, 3, 4), (1,), (3, 4)),  # the bias broadcasts too: the nest
        ((2, 3, 1), (4,), (3, 4)),  # x broadcasts: the nest
        ((2, 3, 4), (4,), (1, 4)),  # c broadcasts inside its own rank: the nest
        ((0, 3, 4), (4,), (3, 4)),  # empty
    ],
)
def test_bias_like_broadcast_matches_numpy(chain, xs, bs, cs):
    sess, x, b, c, y = chain
    rng = np.random.default_rng(sum(xs) + sum(bs))
    xv, bv, cv = (rng.standard_normal(s).astype(np.float32) for s in (xs, bs, cs))
    f = sess.make_callable(y, [x, b, c])
    want = np.maximum(xv * np.float32(2) + bv, 0) - cv
    np.testing.assert_allclose(f(xv, bv, cv), want, rtol=1e-6)
    np.testing.assert_allclose(sess.run(y, {x: xv, b: bv, c: cv}), want, rtol=1e-6)


def test_incompatible_trailing_shape_raises_like_the_interpreter(chain):
    sess, x, b, c, y = chain
    with pytest.raises(tf.errors.InvalidArgumentError):
        sess.run(y, {x: np.ones((2, 3, 4), np.float32), b: np.ones(3, np.float32),
                     c: np.ones((3, 4), np.float32)})  # fmt: skip


def test_row_loop_is_in_the_generated_source():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [None, 8])
        b = tf.placeholder(tf.float32, [8])
        y = tf.nn.relu(x + b)
    with tf.Session(graph=g) as sess:
        src = open(graphjit.inspect_chain(sess, y, [x, b])["source"]).read()
    assert "row loop" in src
