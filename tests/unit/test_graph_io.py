"""GraphDef export (as_graph_def), wire round trip and import_graph_def."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit.compat.v1 as tf
from graphjit.errors import NotFoundError
from graphjit.graph_def import AttrValue, GraphDef, NodeDef, TensorProto, TensorShapeProto


def _model():
    """A small graph touching every core op; returns (graph, fetch names, feed)."""
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [None, 3], name="x")
        w = tf.Variable(np.arange(6, dtype=np.float32).reshape(3, 2), name="w")
        m = tf.matmul(x, w, name="mm")
        s = tf.reduce_sum(m, axis=1, name="s")
        tf.cast(s, tf.int32, name="c")
        tf.reshape(m, [-1], name="r")
        tf.shape(x, name="sh")
        tf.identity(x[:, 1], name="sl")
        tf.stack([s, s], axis=1, name="st")
        tf.gather(x, [1, 0], name="ga")
        a = tf.add(x, 1.0, name="a")
        with tf.control_dependencies([m]):
            tf.identity(a, name="ai")
        init = tf.global_variables_initializer()
    fetches = ["mm:0", "s:0", "c:0", "r:0", "sh:0", "sl:0", "st:0", "ga:0", "a:0"]
    return g, fetches, init.name


_FEED = np.arange(6, dtype=np.float32).reshape(2, 3)


def _nodes(gd):
    return {n.name: n for n in gd.node}


def test_nodes_carry_name_op_inputs_and_control_inputs():
    g, _, _ = _model()
    nodes = _nodes(g.as_graph_def())
    assert nodes["mm"].op == "MatMul" and list(nodes["mm"].input) == ["x", "w/read"]
    assert list(nodes["ai"].input) == ["a", "^mm"]
    assert nodes["w/read"].op == "Identity"


def test_second_output_is_referenced_with_index():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [3], name="x")
        u = tf.unstack(x, name="u")
        tf.identity(u[1], name="idx")
    (ref,) = _nodes(g.as_graph_def())["idx"].input
    assert ref == u[1].op.name + ":1"


@pytest.mark.parametrize(
    ("node", "attrs"),
    [
        ("x", {"dtype", "shape"}),
        ("w", {"shape", "dtype", "container", "shared_name"}),
        ("w/Assign", {"T", "validate_shape", "use_locking"}),
        ("w/read", {"T"}),
        ("mm", {"T", "transpose_a", "transpose_b"}),
        ("s", {"T", "Tidx", "keep_dims"}),
        ("c", {"SrcT", "DstT", "Truncate"}),
        ("r", {"T", "Tshape"}),
        ("sh", {"T", "out_type"}),
        ("st", {"T", "N", "axis"}),
        ("ga", {"Tparams", "Tindices", "Taxis", "batch_dims"}),
        ("a", {"T"}),
    ],
)
def test_core_ops_carry_tensorflow_attr_names(node, attrs):
    g, _, _ = _model()
    assert set(_nodes(g.as_graph_def())[node].attr) == attrs


def test_const_and_strided_slice_attrs():
    g, _, _ = _model()
    nodes = _nodes(g.as_graph_def())
    const = next(n for n in nodes.values() if n.op == "Const")
    assert set(const.attr) == {"dtype", "value"}
    ss = next(n for n in nodes.values() if n.op == "StridedSlice")
    assert set(ss.attr) == {
        "T", "Index", "begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask",
        "shrink_axis_mask",
    }  # fmt: skip


def test_device_is_exported():
    g = tf.Graph()
    with g.as_default(), tf.device("/cpu:0"):
        tf.constant(1.0, name="c")
    assert _nodes(g.as_graph_def())["c"].device == "/device:CPU:0"


def test_add_shapes_adds_output_shapes():
    g, _, _ = _model()
    nodes = _nodes(g.as_graph_def(add_shapes=True))
    shape = nodes["mm"].attr["_output_shapes"].list.shape[0]
    assert [d.size for d in shape.dim] == [-1, 2]
    assert "_output_shapes" not in _nodes(g.as_graph_def())["mm"].attr


def test_from_version_exports_only_newer_ops():
    g = tf.Graph()
    with g.as_default():
        tf.constant(1.0, name="old")
        v = g.version
        tf.constant(2.0, name="new")
    assert [n.name for n in g.as_graph_def(from_version=v).node] == ["new"]


def test_serialize_and_parse_round_trip():
    g, _, _ = _model()
    gd = g.as_graph_def()
    data = gd.SerializeToString()
    back = GraphDef.FromString(data)
    assert back == gd and back.SerializeToString() == data
    assert back.versions.producer == g.graph_def_versions.producer


def _run(graph, fetches, init, feed_name="x:0"):
    with tf.Session(graph=graph) as s:
        s.run(init)
        return s.run(fetches, {feed_name: _FEED})


def test_imported_graph_computes_the_same_values():
    g, fetches, init = _model()
    want = _run(g, fetches, init)
    data = g.as_graph_def().SerializeToString()
    g2 = tf.Graph()
    with g2.as_default():
        tf.import_graph_def(GraphDef.FromString(data), name="imp")
    got = _run(g2, ["imp/" + f for f in fetches], "imp/" + init, "imp/x:0")
    for a, b in zip(want, got):
        np.testing.assert_array_equal(a, b)


def test_import_default_prefix_is_unique_and_empty_name_keeps_names():
    g, _, _ = _model()
    gd = g.as_graph_def()
    with tf.Graph().as_default() as g2:
        tf.import_graph_def(gd)
        tf.import_graph_def(gd)
        (y,) = tf.import_graph_def(gd, return_elements=["mm:0"], name="")
        (y2,) = tf.import_graph_def(gd, return_elements=["mm:0"], name="")
    names = {o.name for o in g2.get_operations()}
    assert {"import/mm", "import_1/mm", "mm"} <= names
    assert y.name == "mm:0" and y2.name == "mm_1:0"


def test_input_map_replaces_inputs_and_return_elements():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [2], name="x")
        y = tf.add(x, 1.0, name="y")
        with tf.control_dependencies([y]):
            tf.identity(x, name="z")
    gd = g.as_graph_def()
    with tf.Graph().as_default():
        c = tf.constant([5.0, 6.0], name="c")
        y2, z2 = tf.import_graph_def(gd, input_map={"x": c}, return_elements=["y:0", "z"])
        assert y2.name == "import/y:0" and z2.name == "import/z"
        assert y2.op.inputs[0] is c
        assert [o.name for o in z2.control_inputs] == ["import/y"]
        with tf.Session() as s:
            np.testing.assert_array_equal(s.run(y2), [6.0, 7.0])


@pytest.mark.parametrize(
    ("kwargs", "exc", "msg"),
    [
        ({"input_map": {"q:0": None}}, ValueError, "Attempted to map inputs that were not found"),
        ({"input_map": [1]}, TypeError, "must be a dictionary"),
        ({"return_elements": ["nope:0"]}, ValueError, "Requested return tensor 'nope:0'"),
        ({"return_elements": ["nope"]}, ValueError, "Requested return node 'nope'"),
        ({"return_elements": ["y:3"]}, ValueError, "Invalid return output 3 of node 'y'"),
    ],
)
def test_import_argument_errors(kwargs, exc, msg):
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [2], name="x")
        tf.add(x, 1.0, name="y")
    gd = g.as_graph_def()
    with tf.Graph().as_default():
        if kwargs.get("input_map") == {"q:0": None}:
            kwargs = {"input_map": {"q:0": tf.constant(1.0)}}
        with pytest.raises(exc, match=msg):
            tf.import_graph_def(gd, **kwargs)


def test_input_map_with_wrong_dtype_raises_value_error():
    g = tf.Graph()
    with g.as_default():
        tf.add(tf.placeholder(tf.float32, [2], name="x"), 1.0, name="y")
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match=r"was passed int32 from .* expected float"):
            tf.import_graph_def(g.as_graph_def(), input_map={"x:0": tf.constant([1, 2])})


def test_unknown_op_type_raises_not_found_naming_it():
    gd = GraphDef(node=[NodeDef(name="q", op="FooBarOp")])
    with tf.Graph().as_default():
        with pytest.raises(NotFoundError, match="Op type not registered 'FooBarOp'"):
            tf.import_graph_def(gd)


def test_unknown_input_node_raises_value_error():
    gd = GraphDef(node=[NodeDef(name="q", op="Identity", input=["zz"])])
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="Unknown input node 'zz'"):
            tf.import_graph_def(gd)


def test_graph_def_argument_must_be_a_graph_def():
    with pytest.raises(TypeError, match="must be a GraphDef proto"):
        tf.import_graph_def("abc")


def test_scalar_const_written_with_float_val_imports():
    """TF writes small constants with float_val / int_val instead of tensor_content."""
    shape = TensorShapeProto()
    f = TensorProto(dtype=1, tensor_shape=shape, float_val=[2.5])
    i = TensorProto(
        dtype=3, tensor_shape=TensorShapeProto(dim=[TensorShapeProto.Dim(size=3)]), int_val=[7]
    )
    gd = GraphDef(
        node=[
            NodeDef(name="f", op="Const", attr={"dtype": AttrValue(type=1), "value": AttrValue(tensor=f)}),
            NodeDef(name="i", op="Const", attr={"dtype": AttrValue(type=3), "value": AttrValue(tensor=i)}),
        ]
    )  # fmt: skip
    with tf.Graph().as_default():
        fv, iv = tf.import_graph_def(gd, return_elements=["f:0", "i:0"])
        assert fv.dtype == tf.float32 and iv.shape.as_list() == [3]
        with tf.Session() as s:
            assert s.run(fv) == np.float32(2.5)
            np.testing.assert_array_equal(s.run(iv), [7, 7, 7])


def test_deep_chain_imports_without_recursion_limit():
    g = tf.Graph()
    with g.as_default():
        t = tf.constant(0.0)
        for _ in range(1500):
            t = tf.identity(t)
    with tf.Graph().as_default() as g2:
        tf.import_graph_def(g.as_graph_def(), name="")
    assert len(g2.get_operations()) == 1501
