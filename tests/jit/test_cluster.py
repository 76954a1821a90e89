"""``fuse.cluster``: links are moved (within what their edges allow) so that compilable
nodes form fewer, longer runs, i.e. fewer segments; results, state updates and traces stay
those of the program order."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit
import graphjit.compat.v1 as tf
from graphjit import config, fuse


def _mean_grad_graph():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [None, 4])
        labels = tf.one_hot([1], 4) * tf.ones_like(x)
        xent = tf.nn.softmax_cross_entropy_with_logits_v2(labels=labels, logits=x * 2.0)
        loss = tf.reduce_mean(xent)  # its gradient reads Shape(xent): a link after a link
        (gx,) = tf.gradients(loss, [x])
    return g, x, [loss, gx]


def test_a_shape_link_moves_ahead_of_the_run_it_split():
    g, x, fetches = _mean_grad_graph()
    with tf.Session(graph=g) as sess:
        program = sess._program(fetches, [], [(x,)])
    moved, order = fuse.cluster(program)
    assert order is not None and sorted(order) == list(range(len(program.nodes)))

    def runs(p):
        plan = fuse.plan(p, (2,), ())
        return sum(isinstance(st, fuse.Segment) for st in plan.steps)

    assert runs(moved) < runs(program)
    # every node still comes after what it reads
    seen = set(moved.feed_slots)
    for node in moved.nodes:
        assert all(s in seen or s in dict(moved.ref_slots) for s in node.inputs), node.op_type
        seen.update(node.outputs)


@pytest.mark.parametrize("batch", [1, 5])
def test_clustered_chain_matches_the_interpreter_and_names_its_trace(batch):
    g, x, fetches = _mean_grad_graph()
    xv = np.random.default_rng(batch).standard_normal((batch, 4)).astype(np.float32)
    with tf.Session(graph=g) as sess:
        with config.override(disable_jit=True):
            want = sess.run(fetches, {x: xv})
        with config.override(compile_after=1, compile_mode="sync"):
            got = sess.make_callable(fetches, [x])(xv)
            md = tf.RunMetadata()
            opts = tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE)
            sess.run(fetches, {x: xv}, options=opts, run_metadata=md)
            info = graphjit.inspect_chain(sess, fetches, [x])
    np.testing.assert_allclose(got[0], want[0], rtol=1e-6)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-5, atol=1e-7)
    names = {n.node_name for d in md.step_stats.dev_stats for n in d.node_stats}
    assert {op.name for op in g.get_operations() if op.type == "Shape"} & names
    assert not info["fallback"]


def test_stateful_nodes_keep_their_order():
    g = tf.Graph()
    with g.as_default():
        v = tf.Variable(1.0)
        x = tf.placeholder(tf.float32, [None])
        a = tf.assign(v, v * 3.0)
        with tf.control_dependencies([a]):
            s = tf.shape(x)  # a link between two state updates
            b = tf.assign_add(v, tf.cast(s[0], tf.float32))
        with tf.control_dependencies([b]):
            out = tf.identity(v.read_value() * 2.0)
    for mode in ({"disable_jit": True}, {"compile_after": 1, "compile_mode": "sync"}):
        with config.override(**mode), tf.Session(graph=g) as sess:
            sess.run(v.initializer)
            r1 = sess.run(out, {x: np.ones(4, np.float32)})
            r2 = sess.run(out, {x: np.ones(2, np.float32)})
            assert (r1, r2) == (np.float32(14.0), np.float32(46.0)), mode
