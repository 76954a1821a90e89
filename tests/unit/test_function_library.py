"""GraphDef export/import of control flow: If/While branches as a FunctionDefLibrary."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit.compat.v1 as tf
from graphjit.graph_def import (
    AttrValue,
    FunctionDef,
    GraphDef,
    NameAttrList,
    NodeDef,
    OpDef,
    TensorShapeProto,
)
from graphjit.graph_functions import output_arg_index, output_arg_ref

X = np.array([1.0, 2.0, -0.5], np.float32)
FEEDS = [(X, True), (np.array([-1.0, 2.0, -5.5], np.float32), False), (-X, True)]


def _model():
    """Nested conds, a loop with captures and a cond in its body, a loop in a branch with
    maximum_iterations, a branch returning an outer tensor, and a gradient through a cond."""
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [None], name="x")
        p = tf.placeholder(tf.bool, [], name="p")

        def outer_true():
            inner = tf.cond(tf.reduce_sum(x) > 0, lambda: x * 3.0, lambda: x - 1.0, name="in")
            return inner + 1.0

        nested = tf.cond(p, outer_true, lambda: tf.identity(x), name="nested")

        def body(i, acc):
            step = tf.cond(tf.equal(i % 2, 0), lambda: tf.reduce_sum(x),
                           lambda: tf.reduce_max(x), name="inbody")  # fmt: skip
            return i + 1, acc + step

        i, acc = tf.while_loop(lambda i, a: i < 4, body, [tf.constant(0), tf.constant(0.0)],
                               name="loop")  # fmt: skip

        def doubling():
            return tf.while_loop(lambda k: k < 1000, lambda k: k * 2, [tf.constant(1)],
                                 maximum_iterations=5, name="wl")  # fmt: skip

        capped = tf.cond(p, doubling, lambda: tf.constant(-1), name="cw")
        a, b = tf.cond(p, lambda: (x, tf.reduce_mean(x)), lambda: (x * 0.5, tf.constant(7.0)),
                       name="multi")  # fmt: skip
        y = tf.cond(p, lambda: tf.reduce_sum(tf.square(x) * 2.0),
                    lambda: tf.reduce_sum(tf.sin(x)), name="gc")  # fmt: skip
        (gx,) = tf.gradients(y, [x])
        tf.identity(gx, name="gx")
    fetches = [nested, i, acc, capped, a, b, y]
    return g, [t.name for t in fetches] + ["gx:0"]


def _run(g, names, prefix=""):
    with tf.Session(graph=g) as sess:
        return [
            sess.run([prefix + n for n in names], {prefix + "x:0": x, prefix + "p:0": p})
            for x, p in FEEDS
        ]


def _assert_same(want, got):
    for w, o in zip(want, got):
        for a, b in zip(w, o):
            np.testing.assert_allclose(b, a, rtol=1e-6)


def test_branch_ops_move_into_the_function_library():
    g, _ = _model()
    gd = g.as_graph_def()
    top = {n.name for n in gd.node}
    assert "nested" in top and "nested/then/add" not in top and "loop/loop_var" not in top
    funcs = {f.signature.name: f for f in gd.library.function}
    then = funcs[_node(gd, "nested").attr["then_branch"].func.name]
    assert "nested/then/add" in {n.name for n in then.node_def}
    assert then.ret["output_0"] == "nested/then/add:z:0"


def _node(gd, name):
    return next(n for n in gd.node if n.name == name)


@pytest.mark.parametrize("scope", ["", "imported"])
def test_reimported_graph_def_computes_the_same(scope):
    g, names = _model()
    want = _run(g, names)
    data = g.as_graph_def().SerializeToString()
    with tf.Graph().as_default() as g2:
        tf.import_graph_def(GraphDef.FromString(data), name=scope)
    _assert_same(want, _run(g2, names, scope + "/" if scope else ""))
    # a second export of the imported graph has the same shape
    again = g2.as_graph_def()
    assert len(again.library.function) == len(GraphDef.FromString(data).library.function)


def test_reimported_branch_ops_keep_their_names():
    g, _ = _model()
    with tf.Graph().as_default() as g2:
        tf.import_graph_def(g.as_graph_def(), name="")
    assert g2.get_operation_by_name("nested/then/add").type == "AddV2"
    with pytest.raises(ValueError, match="inside the branch or body"):
        tf.Session(graph=g2).run("nested/then/add:0", {"x:0": X, "p:0": True})


def test_while_captures_and_maximum_iterations_become_loop_variables():
    with tf.Graph().as_default() as g:
        x = tf.placeholder(tf.float32, [], name="x")
        w = tf.while_loop(lambda j: j < 100, lambda j: j + x, [0.0], maximum_iterations=3,
                          name="m")  # fmt: skip
    limit = w.op.inputs[0]
    nd = _node(g.as_graph_def(), "m")
    assert list(nd.input) == [w.op.inputs[1].op.name, "x", limit.op.name]  # limit moved last
    assert list(nd.attr["T"].list.type) == [1, 1, 3]
    assert "has_maximum_iterations" not in nd.attr and "Tcaptures" not in nd.attr
    with tf.Graph().as_default() as g2:
        tf.import_graph_def(g.as_graph_def(), name="")
    with tf.Session(graph=g2) as sess:
        assert sess.run("m:0", {"x:0": 2.0}) == 6.0
    with tf.Session(graph=g) as sess:
        assert sess.run(w, {x: 2.0}) == 6.0


def test_stateful_branch_ops_are_control_outputs_and_still_run():
    with tf.Graph().as_default() as g:
        x = tf.placeholder(tf.float32, [], name="x")

        def checked():
            with tf.control_dependencies([tf.Assert(x < 10.0, [x], name="check")]):
                return tf.identity(x * 2.0)

        tf.cond(x > 0, checked, lambda: x, name="c")
    gd = g.as_graph_def()
    then = next(f for f in gd.library.function if f.signature.name == "c_then_branch")
    assert list(then.signature.control_output) == ["c/then/check"]
    with tf.Graph().as_default() as g2:
        tf.import_graph_def(gd, name="")
    with tf.Session(graph=g2) as sess:
        assert sess.run("c:0", {"x:0": 3.0}) == 6.0
        with pytest.raises(tf.errors.InvalidArgumentError):
            sess.run("c:0", {"x:0": 30.0})


def test_ref_variable_updated_in_a_branch_shares_storage_after_import():
    with tf.Graph().as_default() as g:
        p = tf.placeholder(tf.bool, [], name="p")
        v = tf.Variable(1.0, name="v")
        tf.cond(p, lambda: v.assign_add(1.0), lambda: tf.identity(v), name="c")
    gd = g.as_graph_def()
    assert _node(gd, "v").attr["shared_name"].s == b"v"
    branch = next(f for f in gd.library.function if f.signature.name == "c_then_branch")
    alias = next(n for n in branch.node_def if n.op == "VariableV2")
    assert alias.attr["shared_name"].s == b"v" and not alias.input
    with tf.Graph().as_default() as g2:
        tf.import_graph_def(gd, name="m")
    assert [o.name for o in g2.get_operations() if o.type == "VariableV2"] == ["m/v"]
    with tf.Session(graph=g2) as sess:
        sess.run("m/v/Assign")
        assert sess.run("m/c:0", {"m/p:0": True}) == 2.0
        assert sess.run("m/c:0", {"m/p:0": False}) == 2.0
        assert sess.run("m/v:0") == 2.0


def test_branch_returning_an_operation_runs_it():
    with tf.Graph().as_default() as g:
        x = tf.placeholder(tf.float32, [], name="x")
        v = tf.Variable(0.0, name="v")
        tf.cond(x > 0, lambda: tf.group(v.assign_add(x)), tf.no_op, name="op")
    with tf.Graph().as_default() as g2:
        tf.import_graph_def(g.as_graph_def(), name="")
    with tf.Session(graph=g2) as sess:
        sess.run("v/Assign")
        sess.run("op", {"x:0": 3.0})
        sess.run("op", {"x:0": -5.0})
        assert sess.run("v:0") == 3.0


def _tf_style_graph_def(then_ret="add:z:0"):
    """A GraphDef as TensorFlow writes one: function-local names, list output refs."""
    gd = GraphDef()
    for name, dtype in (("x", 1), ("p", 10)):
        ph = gd.node.add(name=name, op="Placeholder")
        ph.attr["dtype"].CopyFrom(AttrValue(type=dtype))
        ph.attr["shape"].CopyFrom(AttrValue(shape=TensorShapeProto(unknown_rank=True)))
    cond = gd.node.add(name="c", op="StatelessIf", input=["p", "x"])
    for key, value in (("Tcond", AttrValue(type=10)), ("Tin", [1]), ("Tout", [1])):
        if isinstance(value, list):
            value = AttrValue(list=AttrValue.ListValue(type=value))
        cond.attr[key].CopyFrom(value)
    for key, fname in (("then_branch", "t"), ("else_branch", "e")):
        cond.attr[key].CopyFrom(AttrValue(func=NameAttrList(name=fname)))
    gd.node.add(name="out", op="Identity", input=["c"]).attr["T"].CopyFrom(AttrValue(type=1))
    for fname, ret in (("t", then_ret), ("e", "arg")):
        fd = FunctionDef(signature=OpDef(name=fname))
        fd.signature.input_arg.add(name="arg", type=1)
        fd.signature.output_arg.add(name="identity", type=1)
        if fname == "t":
            two = fd.node_def.add(name="two", op="Const")
            two.attr["dtype"].CopyFrom(AttrValue(type=1))
            two.attr["value"].CopyFrom(AttrValue(tensor=_scalar(2.0)))
            add = fd.node_def.add(name="add", op="AddV2", input=["arg", "two:output:0"])
            add.attr["T"].CopyFrom(AttrValue(type=1))
        fd.ret["identity"] = ret
        gd.library.function.append(fd)
    return gd


def _scalar(v):
    from graphjit.graph_def import make_tensor_proto

    return make_tensor_proto(np.float32(v))


def test_imports_tensorflow_style_functions():
    gd = GraphDef.FromString(_tf_style_graph_def().SerializeToString())
    with tf.Graph().as_default() as g:
        tf.import_graph_def(gd, name="")
    assert g.get_operation_by_name("c").get_attr("output_shapes") == [tf.TensorShape(None)]
    with tf.Session(graph=g) as sess:
        assert sess.run("out:0", {"x:0": 1.5, "p:0": True}) == 3.5
        assert sess.run("out:0", {"x:0": 1.5, "p:0": False}) == 1.5


def test_missing_function_and_unknown_ref_raise_value_error():
    gd = _tf_style_graph_def()
    del gd.library.function[0]
    with tf.Graph().as_default(), pytest.raises(ValueError, match=r"function 't'.*not in"):
        tf.import_graph_def(gd, name="")
    with tf.Graph().as_default(), pytest.raises(ValueError, match="unknown input 'nope:z:0'"):
        tf.import_graph_def(_tf_style_graph_def("nope:z:0"), name="")


def test_unknown_op_in_a_function_raises_not_found():
    gd = _tf_style_graph_def()
    gd.library.function[0].node_def[1].op = "NoSuchOp"
    with tf.Graph().as_default(), pytest.raises(tf.errors.NotFoundError, match="NoSuchOp"):
        tf.import_graph_def(gd, name="")


def test_output_arg_names_follow_tensorflow_op_defs():
    assert output_arg_ref("AddV2", 0) == ("z", 0)
    assert output_arg_ref("Split", 2) == ("output", 2)
    assert output_arg_ref("TopKV2", 1) == ("indices", 0)
    assert output_arg_ref("VariableV2", 0) == ("ref", 0)
    assert output_arg_index("TopKV2", "indices", 0) == 1
    assert output_arg_index("Unpack", "output", 3) == 3
    with pytest.raises(ValueError, match="no output arg 'z'"):
        output_arg_index("Unique", "z", 0)


def test_node_defs_of_other_ops_are_unchanged_by_the_library():
    with tf.Graph().as_default() as g:
        x = tf.placeholder(tf.float32, [2], name="x")
        y = tf.add(x, 1.0, name="y")
    gd = g.as_graph_def()
    assert not gd.HasField("library")
    assert _node(gd, "y") == NodeDef(
        name="y", op="AddV2", input=["x", y.op.inputs[1].op.name], attr={"T": AttrValue(type=1)}
    )


def test_gradients_flow_through_an_imported_cond():
    with tf.Graph().as_default() as g:
        x = tf.placeholder(tf.float32, [None], name="x")
        p = tf.placeholder(tf.bool, [], name="p")
        tf.cond(p, lambda: tf.reduce_sum(tf.square(x)), lambda: tf.reduce_sum(tf.sin(x)),
                name="y")  # fmt: skip
    with tf.Graph().as_default() as g2:
        tf.import_graph_def(g.as_graph_def(), name="")
        (gx,) = tf.gradients(g2.get_tensor_by_name("y:0"), [g2.get_tensor_by_name("x:0")])
        with tf.Session() as sess:
            np.testing.assert_allclose(sess.run(gx, {"x:0": [1.0, 2.0], "p:0": True}), [2, 4])
            got = sess.run(gx, {"x:0": [0.0, 1.0], "p:0": False})
            np.testing.assert_allclose(got, np.cos([0.0, 1.0]), rtol=1e-6)


def test_loop_reading_a_variable_exports_and_reimports():
    with tf.Graph().as_default() as g:
        x = tf.placeholder(tf.float32, [], name="x")
        v = tf.Variable(2.0, name="v")
        tf.while_loop(lambda i, a: i < 3, lambda i, a: (i + 1, a + v.read_value() * x),
                      [0, 0.0], name="rv")  # fmt: skip
    with tf.Graph().as_default() as g2:
        tf.import_graph_def(g.as_graph_def(), name="")
    with tf.Session(graph=g2) as sess:
        sess.run("v/Assign")
        assert sess.run(["rv:0", "rv:1"], {"x:0": 1.5}) == [3, 9.0]


def loop_training(tf, nested: bool):
    """A GradientDescent step through a while_loop (in a cond branch when ``nested``) built
    with the module ``tf`` (graphjit's or TensorFlow's, tests/diff uses it too): the forward
    loop carries its gradient's accumulators. Returns the variable."""
    x = tf.placeholder(tf.float32, [3], name="x")
    p = tf.placeholder(tf.bool, [], name="p")
    w = tf.Variable(np.array([0.5, 1.0, 1.5], np.float32), name="w")

    def loop():
        return tf.while_loop(lambda i, a: i < 4, lambda i, a: (i + 1, tf.tanh(a * w) + x),
                             [tf.constant(0), tf.zeros([3])], name="gl")[1]  # fmt: skip

    out = tf.cond(p, loop, lambda: x * w, name="branch") if nested else loop()
    loss = tf.reduce_sum(out * out, name="loss")
    tf.train.GradientDescentOptimizer(0.1).minimize(loss, name="train")
    tf.global_variables_initializer()
    return w


def _train(g, prefix=""):
    xv = np.array([0.1, -0.2, 0.3], np.float32)
    with tf.Session(graph=g) as sess:
        sess.run(prefix + "init")
        feed = {prefix + "x:0": xv}
        losses = [sess.run([prefix + "loss:0", prefix + "train"], {**feed, prefix + "p:0": f})[0]
                  for f in (True, False, True)]  # fmt: skip
        return [*losses, sess.run(prefix + "w:0")]


@pytest.mark.parametrize("nested", [False, True], ids=["loop", "loop-in-cond"])
def test_loop_carrying_gradient_accumulators_exports_and_reimports(nested):
    """The forward loop's iteration count and accumulated lists are written as TF's while_v2
    writes them (a counter and EmptyTensorList loop variables, TensorListPushBack in the
    body): the reimported training step gives the same losses and weights."""
    with tf.Graph().as_default() as g:
        loop_training(tf, nested)
    want = _train(g)
    gd = g.as_graph_def()
    ops = {nd.op for nd in gd.node} | {nd.op for f in gd.library.function for nd in f.node_def}
    assert {"EmptyTensorList", "TensorListPushBack", "TensorListGetItem"} <= ops
    with tf.Graph().as_default() as g2:
        tf.import_graph_def(gd, name="m")
    _assert_same([want], [_train(g2, "m/")])


def test_saver_writes_the_meta_graph_of_a_loop_training_step(tmp_path):
    with tf.Graph().as_default() as g:
        loop_training(tf, nested=False)
        saver = tf.train.Saver()
    with tf.Session(graph=g) as sess:
        sess.run("init")
        path = saver.save(sess, str(tmp_path / "model"))
    assert (tmp_path / "model.meta").exists()
    with tf.Graph().as_default() as g2:
        restore = tf.train.import_meta_graph(path + ".meta")
    with tf.Session(graph=g2) as sess:
        restore.restore(sess, path)
        before = sess.run("w:0")
        sess.run("train", {"x:0": np.ones(3, np.float32), "p:0": True})
        assert not np.array_equal(sess.run("w:0"), before)
