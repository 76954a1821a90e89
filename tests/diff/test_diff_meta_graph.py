"""Differential tests of graph serialization: control-flow GraphDefs and ``.meta`` files.

Skipped unless TensorFlow is importable. graphjit's GraphDefs with ``tf.cond``/
``tf.while_loop`` (a FunctionDefLibrary) must import and run in TensorFlow with the same
results, TensorFlow's must import and run in graphjit, and a graphjit ``.meta`` file must parse
with ``meta_graph_pb2`` and import with TF's ``import_meta_graph``.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

tf_mod = pytest.importorskip("tensorflow")
tf_real = tf_mod.compat.v1
tf_real.disable_eager_execution()

from tests.unit.test_function_library import loop_training  # noqa: E402

import graphjit.compat.v1 as gj  # noqa: E402
from graphjit.graph_functions import _OUT_ARGS  # noqa: E402
from graphjit.ops import registry  # noqa: E402

FEEDS = [
    (np.array([1.0, 2.0, -0.5], np.float32), True),
    (np.array([-1.0, 2.0, -5.5], np.float32), False),
    (np.array([-1.0, -2.0], np.float32), True),
]


def _program(tf, grad=True):
    """Nested conds, loops with captures and maximum_iterations, a ref-variable update in a
    branch and (optionally) a gradient through a cond; returns fetch names."""
    x = tf.placeholder(tf.float32, [None], name="x")
    p = tf.placeholder(tf.bool, [], name="p")

    def outer_true():
        return tf.cond(tf.reduce_sum(x) > 0, lambda: x * 3.0, lambda: x - 1.0, name="in") + 1.0

    nested = tf.cond(p, outer_true, lambda: tf.identity(x), name="nested")

    def body(i, acc):
        step = tf.cond(tf.equal(i % 2, 0), lambda: tf.reduce_sum(x), lambda: tf.reduce_max(x))
        return i + 1, acc + step

    i, acc = tf.while_loop(lambda i, a: i < 4, body, [tf.constant(0), tf.constant(0.0)])

    def doubling():
        return tf.while_loop(lambda k: k < 1000, lambda k: k * 2, [tf.constant(1)],
                             maximum_iterations=5)  # fmt: skip

    capped = tf.cond(p, doubling, lambda: tf.constant(-1), name="cw")
    a, b = tf.cond(p, lambda: (x, tf.reduce_mean(x)), lambda: (x * 0.5, tf.constant(7.0)))
    y = tf.cond(p, lambda: tf.reduce_sum(tf.square(x)), lambda: tf.reduce_sum(tf.sin(x)))
    fetches = [nested, i, acc, capped, a, b, y]
    if grad:
        fetches += tf.gradients(y, [x])
    return [t.name for t in fetches]


def _run(tf, g, names):
    with tf.Session(graph=g) as sess:
        return [sess.run(names, {"x:0": x, "p:0": p}) for x, p in FEEDS]


def _assert_same(got, want):
    for w, o in zip(want, got):
        for a, b in zip(w, o):
            np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)


def test_tensorflow_runs_graphjit_control_flow_graph_defs():
    with gj.Graph().as_default() as g:
        names = _program(gj)
    want = _run(gj, g, names)
    gd = tf_real.GraphDef.FromString(g.as_graph_def().SerializeToString())
    with tf_real.Graph().as_default() as tg:
        tf_real.import_graph_def(gd, name="")
    _assert_same(_run(tf_real, tg, names), want)


def test_graphjit_runs_tensorflow_control_flow_graph_defs():
    # TF's cond gradients use Optional* ops, which graphjit lacks: no gradient here
    with tf_real.Graph().as_default() as tg:
        names = _program(tf_real, grad=False)
    want = _run(tf_real, tg, names)
    gd = gj.GraphDef.FromString(tg.as_graph_def().SerializeToString())
    with gj.Graph().as_default() as g:
        gj.import_graph_def(gd, name="")
    _assert_same(_run(gj, g, names), want)


def _train(tf, g, w="w:0"):
    x = np.array([0.1, -0.2, 0.3], np.float32)
    with tf.Session(graph=g) as sess:
        sess.run("init")
        out = [sess.run(["loss:0", "train"], {"x:0": x, "p:0": f})[0] for f in (True, False, True)]
        return [*out, sess.run(w)]


@pytest.mark.parametrize("nested", [False, True], ids=["loop", "loop-in-cond"])
def test_tensorflow_runs_graphjit_while_loop_training_graph_defs(nested):
    """The forward loop's gradient accumulators export as TF's while_v2 writes them
    (EmptyTensorList loop variables, TensorListPushBack in the body); TF trains the same."""
    with gj.Graph().as_default() as g:
        loop_training(gj, nested)
    want = _train(gj, g)
    gd = tf_real.GraphDef.FromString(g.as_graph_def().SerializeToString())
    with tf_real.Graph().as_default() as tg:
        tf_real.import_graph_def(gd, name="")
    got = _train(tf_real, tg)
    for a, b in zip(want, got):
        np.testing.assert_allclose(b, a, rtol=1e-5)
    with tf_real.Graph().as_default() as tg:  # and TF's own graph of the same program
        w = loop_training(tf_real, nested)
    for a, b in zip(want, _train(tf_real, tg, w)):
        np.testing.assert_allclose(b, a, rtol=1e-5)


def test_tensorflow_runs_graphjit_second_order_loop_gradients():
    """A gradient of a gradient through a loop: both gradient loops carry lists (the second
    pushes gradients onto new ones); TF runs the exported GraphDef with the same values."""
    xv = np.array([0.1, -0.2, 0.3])
    with gj.Graph().as_default() as g:
        x = gj.placeholder(gj.float64, [3], name="x")
        w = gj.constant(np.array([0.5, -1.0, 1.5]), name="w")
        _, a = gj.while_loop(lambda i, a: i < 4, lambda i, a: (i + 1, gj.tanh(a * w) + x * a),
                             [gj.constant(0), gj.ones([3], gj.float64)])  # fmt: skip
        (gw,) = gj.gradients(gj.reduce_sum(a * a), [w])
        names = [t.name for t in [gw, *gj.gradients(gj.reduce_sum(gw * gw), [w, x])]]
    with gj.Session(graph=g) as sess:
        want = sess.run(names, {"x:0": xv})
    gd = tf_real.GraphDef.FromString(g.as_graph_def().SerializeToString())
    with tf_real.Graph().as_default() as tg:
        tf_real.import_graph_def(gd, name="")
        with tf_real.Session(graph=tg) as sess:
            got = sess.run(names, {"x:0": xv})
    for a, b in zip(want, got):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)


def test_graphjit_trains_a_tensorflow_written_training_graph():
    """A GraphDef TensorFlow wrote for an SGD step holds TF's gradient kernels (TanhGrad,
    ReluGrad, BiasAddGrad ...) and ApplyGradientDescent: graphjit imports it and trains
    with TF's losses and weights, interpreted and compiled."""

    rng = np.random.default_rng(0)
    xv = rng.standard_normal((6, 8, 8, 1)).astype(np.float32)
    yv = rng.integers(0, 10, 6).astype(np.int32)

    def var(shape, scale, name):
        value = (rng.standard_normal(shape) * scale).astype(np.float32)
        return tf_real.Variable(value, name=name, use_resource=False)

    with tf_real.Graph().as_default() as tg:
        x = tf_real.placeholder(tf_real.float32, [None, 8, 8, 1], name="x")
        y = tf_real.placeholder(tf_real.int32, [None], name="y")
        w1, b1 = var((3, 3, 1, 4), 0.3, "w1"), var((4,), 0.1, "b1")
        h = tf_real.nn.relu(tf_real.nn.bias_add(tf_real.nn.conv2d(x, w1, 1, "SAME"), b1))
        h = tf_real.reshape(tf_real.nn.max_pool(h, 2, 2, "VALID"), [-1, 64])
        h = tf_real.tanh(tf_real.matmul(h, var((64, 16), 0.2, "w2")))
        nn = tf_real.nn
        h = (tf_real.sigmoid(h) * nn.elu(h) + tf_real.sqrt(tf_real.abs(h) + 1.0)
             + tf_real.rsqrt(tf_real.abs(h) + 1.0) + nn.relu6(h * 8) + nn.leaky_relu(h)
             + tf_real.math.reciprocal(tf_real.abs(h) + 1) + nn.selu(h) + nn.softsign(h))  # fmt: skip
        logits = nn.bias_add(tf_real.matmul(h, var((16, 10), 0.2, "w3")), var((10,), 0.1, "b3"))
        xent = nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
        loss = tf_real.identity(tf_real.reduce_mean(xent), name="loss")
        tf_real.train.GradientDescentOptimizer(0.1).minimize(loss, name="train")
        init = tf_real.global_variables_initializer()
        with tf_real.Session(graph=tg) as sess:
            sess.run(init)
            want = [sess.run(["loss:0", "train"], {x: xv, y: yv})[0] for _ in range(3)]
            want.append(sess.run("w1:0"))
        gd = gj.GraphDef.FromString(tg.as_graph_def().SerializeToString())
    assert {"TanhGrad", "ReluGrad", "BiasAddGrad", "ApplyGradientDescent"} <= {
        nd.op for nd in gd.node
    }
    _assert_graphjit_trains_like(gd, init.name, {"x:0": xv, "y:0": yv}, 3, ["w1:0"], want, 2e-5)


def _assert_graphjit_trains_like(gd, init, feed, steps, names, want, tol):
    """Import ``gd`` into graphjit, run ``init`` then ``steps`` of ``train`` (interpreted, then
    compiled) and compare the losses and the values of ``names`` with ``want``."""
    from graphjit import config

    with gj.Graph().as_default() as g:
        gj.import_graph_def(gd, name="")
    for jit in (False, True):
        with (
            gj.Session(graph=g) as sess,
            config.override(disable_jit=not jit, compile_after=1, compile_mode="sync"),
        ):
            sess.run(init)
            got = [sess.run(["loss:0", "train"], feed)[0] for _ in range(steps)]
            got += sess.run(names)
        for a, b in zip(want, got):
            np.testing.assert_allclose(b, a, rtol=tol, atol=tol)


OPTIMIZERS = {
    "adam": lambda: tf_real.train.AdamOptimizer(0.01),
    "momentum": lambda: tf_real.train.MomentumOptimizer(0.1, 0.9),
    "nesterov": lambda: tf_real.train.MomentumOptimizer(0.1, 0.9, use_nesterov=True),
    "rmsprop": lambda: tf_real.train.RMSPropOptimizer(0.01, momentum=0.5),
    "adagrad": lambda: tf_real.train.AdagradOptimizer(0.1),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_graphjit_trains_tensorflow_written_graphs_of_each_optimizer(name):
    """ApplyAdam, ApplyMomentum, ApplyRMSProp and ApplyAdagrad write their slot variables
    too: four steps of a TF-written graph give TF's losses, weights and slots."""

    rng = np.random.default_rng(1)
    xv = rng.standard_normal((6, 5)).astype(np.float32)
    yv = rng.integers(0, 3, 6).astype(np.int32)
    with tf_real.Graph().as_default() as tg:
        x = tf_real.placeholder(tf_real.float32, [None, 5], name="x")
        y = tf_real.placeholder(tf_real.int32, [None], name="y")
        w0 = rng.standard_normal((5, 3)).astype(np.float32)
        w = tf_real.Variable(w0, name="w", use_resource=False)
        b = tf_real.Variable(np.zeros(3, np.float32), name="b", use_resource=False)
        logits = tf_real.tanh(tf_real.matmul(x, w)) + b
        xent = tf_real.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
        loss = tf_real.identity(tf_real.reduce_mean(xent), name="loss")
        OPTIMIZERS[name]().minimize(loss, name="train")
        init = tf_real.global_variables_initializer()
        names = [v.name for v in tf_real.global_variables()]
        with tf_real.Session(graph=tg) as sess:
            sess.run(init)
            want = [sess.run(["loss:0", "train"], {x: xv, y: yv})[0] for _ in range(4)]
            want += sess.run(names)
        gd = gj.GraphDef.FromString(tg.as_graph_def().SerializeToString())
    _assert_graphjit_trains_like(gd, init.name, {"x:0": xv, "y:0": yv}, 4, names, want, 1e-5)


def test_ref_variable_updated_in_a_branch_updates_the_variable_in_tensorflow():
    with gj.Graph().as_default() as g:
        p = gj.placeholder(gj.bool, [], name="p")
        v = gj.Variable(1.0, name="v")
        gj.cond(p, lambda: v.assign_add(1.0), lambda: gj.identity(v), name="c")
    gd = tf_real.GraphDef.FromString(g.as_graph_def().SerializeToString())
    with tf_real.Graph().as_default() as tg:
        tf_real.import_graph_def(gd, name="m")
        with tf_real.Session(graph=tg) as sess:
            sess.run("m/v/Assign")
            got = [sess.run("m/c:0", {"m/p:0": flag}) for flag in (True, True, False)]
            assert got == [2.0, 3.0, 3.0] and sess.run("m/v:0") == 3.0


def test_output_arg_table_matches_tensorflow_op_defs():
    from tensorflow.python.framework import op_def_registry

    public = {t for t, d in registry.all_ops().items() if not d.internal}
    for op_type in sorted(set(_OUT_ARGS) | public):
        od = op_def_registry.get(op_type)
        assert od is not None, op_type
        names = tuple(a.name for a in od.output_arg)
        entry = _OUT_ARGS.get(op_type, "output")
        if isinstance(entry, tuple):
            assert names == entry, op_type
        elif names:  # one output arg (possibly a list)
            assert names == (entry,), op_type


def _save(tmp_path):
    with gj.Graph().as_default():
        x = gj.placeholder(gj.float32, [None, 2], name="x")
        w = gj.Variable(np.ones((2, 1), np.float32), name="w")
        loss = gj.reduce_mean(gj.square(gj.matmul(x, w)), name="loss")
        step = gj.train.get_or_create_global_step()
        train = gj.train.GradientDescentOptimizer(0.1).minimize(loss, global_step=step)
        gj.cond(step > 1, lambda: loss * 2.0, lambda: loss, name="scaled")
        saver = gj.train.Saver()
        with gj.Session() as sess:
            sess.run(gj.global_variables_initializer())
            sess.run(train, {x: np.ones((3, 2), np.float32)})
            return saver.save(sess, os.path.join(str(tmp_path), "model"))


def test_tensorflow_parses_and_imports_graphjit_meta_files(tmp_path):
    from tensorflow.core.protobuf import meta_graph_pb2, saver_pb2

    prefix = _save(tmp_path)
    with open(prefix + ".meta", "rb") as f:
        mg = meta_graph_pb2.MetaGraphDef.FromString(f.read())
    assert mg.saver_def.version == saver_pb2.SaverDef.V2
    assert mg.saver_def.restore_op_name == "save/restore_all"
    feed = {"x:0": np.ones((3, 2), np.float32)}
    with tf_real.Graph().as_default():
        tf_real.train.import_meta_graph(prefix + ".meta")
        assert [v.op.name for v in tf_real.global_variables()] == ["w", "global_step"]
        assert [v.op.name for v in tf_real.trainable_variables()] == ["w"]
        (train,) = tf_real.get_collection("train_op")
        with tf_real.Session() as sess:
            sess.run(tf_real.global_variables_initializer())
            assert sess.run(["loss:0", "scaled:0"], feed) == [4.0, 4.0]
            sess.run(train, feed)  # w: 1 -> 0.6, step 1
            np.testing.assert_allclose(sess.run(["loss:0", "scaled:0"], feed), [1.44, 1.44])
            sess.run(train, feed)  # step 2: the cond doubles
            np.testing.assert_allclose(sess.run("scaled:0", feed), 2 * sess.run("loss:0", feed))


def test_graphjit_imports_tensorflow_meta_graph_structure(tmp_path):
    # TF's checkpoints (SaveV2) are not graphjit's, but its graph and collections import.
    with tf_real.Graph().as_default():
        v = tf_real.Variable([1.0, 2.0], name="v", use_resource=False)
        tf_real.multiply(v, 3.0, name="y")
        mg = tf_real.train.export_meta_graph()
    data = mg.SerializeToString()
    with gj.Graph().as_default() as g:
        restored = gj.train.import_meta_graph(gj.MetaGraphDef.FromString(data))
        assert restored is not None and [v.op.name for v in gj.global_variables()] == ["v"]
        with gj.Session() as sess:
            sess.run(gj.global_variables_initializer())
            np.testing.assert_array_equal(sess.run(g.get_tensor_by_name("y:0")), [3.0, 6.0])
