"""Variables read inside ``tf.cond`` branches (``v.read_value()``, ``v.value()``).

A branch reads variables live, through the run context; the ``If`` node lists the float
ones as trailing inputs so that ``tf.gradients`` sees the path from the variable (TF1: the
gradient of ``cond(p, lambda: v.read_value() * 3, ...)`` w.r.t. ``v`` is 3 when ``p``
holds). Those inputs are dependency edges only: a variable read by the branch that does not
run may stay uninitialised, and GraphDef export lists the captures only.
"""

from __future__ import annotations

import numpy as np
import pytest

import graphjit.compat.v1 as tf
from graphjit import config

MODES = [
    pytest.param({"disable_jit": True}, id="interpreted"),
    pytest.param({"compile_after": 1, "compile_mode": "sync"}, id="compiled"),
]


def _graph():
    g = tf.Graph()
    with g.as_default():
        v = tf.Variable(2.0, name="v")
        w = tf.Variable(5.0, name="w")
        p = tf.placeholder(tf.bool, [])
        out = tf.cond(p, lambda: v.read_value() * 3.0, lambda: tf.square(w.read_value()))
        grads = tf.gradients(out, [v, w])
    return g, v, w, p, out, grads


@pytest.mark.parametrize("mode", MODES)
def test_gradient_reaches_a_variable_read_inside_a_branch(mode):
    g, v, w, p, out, grads = _graph()
    assert all(gr is not None for gr in grads)
    with config.override(**mode), tf.Session(graph=g) as sess:
        sess.run([v.initializer, w.initializer])
        for _ in range(2):
            assert sess.run(grads, {p: True}) == [np.float32(3.0), np.float32(0.0)]
            assert sess.run(grads, {p: False}) == [np.float32(0.0), np.float32(10.0)]


@pytest.mark.parametrize("mode", MODES)
def test_untaken_branch_may_read_an_uninitialised_variable(mode):
    g, v, w, p, out, grads = _graph()
    with config.override(**mode), tf.Session(graph=g) as sess:
        sess.run(v.initializer)
        assert sess.run(out, {p: True}) == np.float32(6.0)
        assert sess.run(out, {p: True}) == np.float32(6.0)
        with pytest.raises(tf.errors.FailedPreconditionError, match="uninitialized value w"):
            sess.run(out, {p: False})


def test_graph_def_if_node_lists_only_predicate_and_captures():
    g, v, w, p, out, grads = _graph()
    node = next(n for n in g.as_graph_def().node if n.op in ("If", "StatelessIf"))
    assert [x for x in node.input if not x.startswith("^")] == [p.op.name]


def test_training_through_a_cond_updates_the_variable_read_in_the_branch():
    g = tf.Graph()
    with g.as_default():
        v = tf.Variable(1.0)
        p = tf.placeholder(tf.bool, [])
        loss = tf.cond(p, lambda: tf.square(v.read_value() - 4.0), lambda: tf.constant(0.0))
        step = tf.train.GradientDescentOptimizer(0.25).minimize(loss)
    with tf.Session(graph=g) as sess:
        sess.run(v.initializer)
        sess.run(step, {p: True})  # v -= 0.25 * 2 * (1 - 4)
        assert sess.run(v) == np.float32(2.5)
        sess.run(step, {p: False})  # zero gradient
        assert sess.run(v) == np.float32(2.5)
