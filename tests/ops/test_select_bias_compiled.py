"""TF1 ``Select`` (row select) and ``BiasAdd`` with NCHW do not broadcast numpy-style; compiled
runs (``make_callable``) must still match TF's semantics, not the fuser's numpy broadcasting."""

from __future__ import annotations

import numpy as np
import pytest
from ops_helpers import run_all

import graphjit.compat.v1 as tf
from graphjit.errors import InvalidArgumentError
from graphjit.ops import registry


def test_select_with_rank1_condition_selects_rows_when_compiled():
    c = np.array([True, False, True])
    # 3x3 inputs: numpy broadcasting of c would select COLUMNS and give a wrong answer
    x = np.arange(9.0).reshape(3, 3)
    y = -np.arange(9.0).reshape(3, 3)
    g = tf.Graph()
    with g.as_default():
        pc = tf.placeholder(tf.bool, [None])
        px = tf.placeholder(tf.float64, [None, None])
        py = tf.placeholder(tf.float64, [None, None])
        out = tf.where(pc, px * 2.0, py + 1.0)
        assert out.op.type == "Select"
    want = np.where(c[:, None], x * 2, y + 1)
    for name, got in run_all(out, {pc: c, px: x, py: y}, g).items():
        np.testing.assert_array_equal(got, want, err_msg=name)


def test_select_rejects_mismatched_then_else_when_compiled():
    g = tf.Graph()
    with g.as_default():
        pc = tf.placeholder(tf.bool, [None, None])
        px = tf.placeholder(tf.float32, [None, None])
        py = tf.placeholder(tf.float32, [None, None])
        out = tf.where(pc, px, py)
    feed = {pc: np.ones((2, 3), bool), px: np.ones((2, 3), np.float32)}
    feed[py] = np.ones((2, 1), np.float32)
    with tf.Session(graph=g) as sess:
        with pytest.raises(InvalidArgumentError, match="must have the same size"):
            sess.make_callable(out, [pc, px, py])(*feed.values())


def test_bias_add_nchw_adds_along_channels_when_compiled():
    # C == W == 2: numpy broadcasting would add the bias along W, silently wrong
    x = np.arange(16.0).reshape(2, 2, 2, 2)
    b = np.array([10.0, 100.0])
    g = tf.Graph()
    with g.as_default():
        px = tf.placeholder(tf.float64, [None, None, None, None])
        pb = tf.placeholder(tf.float64, [None])
        out = tf.nn.relu(tf.nn.bias_add(px * 1.0, pb, data_format="NCHW"))
    want = np.maximum(x + b.reshape(1, 2, 1, 1), 0)
    for name, got in run_all(out, {px: x, pb: b}, g).items():
        np.testing.assert_array_equal(got, want, err_msg=name)


def test_bias_add_nhwc_keeps_its_scalar_template():
    tmpl = registry.get("BiasAdd").scalar
    assert tmpl({"data_format": "NHWC"}) == "({0} + {1})"
    assert tmpl({"data_format": "NCHW"}) is None
    assert registry.get("Select").kind != registry.ELEMWISE
