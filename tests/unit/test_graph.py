"""The Graph layer: op naming, name scopes, control dependencies, lookup, finalize."""

from __future__ import annotations

import pytest

import graphjit.compat.v1 as tf


@pytest.fixture
def g():
    graph = tf.Graph()
    with graph.as_default():
        yield graph


def test_op_names_get_numeric_suffixes(g):
    assert tf.constant(1.0, name="a").name == "a:0"
    assert tf.constant(1.0, name="a").name == "a_1:0"
    assert tf.constant(1.0, name="a").name == "a_2:0"


def test_op_names_are_unique_case_insensitively_keeping_case(g):
    tf.constant(1.0, name="a")
    assert tf.constant(1.0, name="A").op.name == "A_1"


def test_generated_suffix_skips_a_user_name_already_taken(g):
    tf.constant(1.0, name="a")
    tf.constant(1.0, name="a_1")
    assert tf.constant(1.0, name="a").op.name == "a_2"


def test_invalid_op_name_raises_value_error(g):
    with pytest.raises(ValueError, match="is not a valid node name"):
        tf.constant(1.0, name="_bad")
    with pytest.raises(ValueError, match="is not a valid node name"):
        tf.constant(1.0, name="a b")


def test_name_scope_yields_scope_string_and_prefixes_ops(g):
    with tf.name_scope("s") as s:
        with tf.name_scope("t") as t:
            c = tf.constant(2.0)
    assert (s, t, c.name) == ("s/", "s/t/", "s/t/Const:0")
    with tf.name_scope("s") as s2:
        pass
    assert s2 == "s_1/"


def test_name_scope_with_trailing_slash_reenters_scope(g):
    with tf.name_scope("s") as s:
        pass
    with tf.name_scope(s) as again:
        c = tf.constant(1.0, name="c")
    assert again == "s/" and c.name == "s/c:0"


@pytest.mark.parametrize("reset", [None, ""])
def test_name_scope_none_or_empty_resets_to_root(g, reset):
    with tf.name_scope("outer"):
        with tf.name_scope(reset) as s:
            c = tf.constant(1.0, name="c")
    assert s == "" and c.name == "c:0"


@pytest.mark.parametrize("bad", ["_a", "-x", "a b", "a:0"])
def test_invalid_root_scope_name_raises_value_error(g, bad):
    with pytest.raises(ValueError, match="not a valid root scope name"):
        with tf.name_scope(bad):
            pass


def test_nested_scope_may_start_with_underscore(g):
    with tf.name_scope("o"), tf.name_scope("_a") as s:
        pass
    assert s == "o/_a/"


def test_name_scope_default_name_is_made_unique(g):
    with tf.name_scope(None, "dflt") as a:
        pass
    with tf.name_scope(None, "dflt") as b:
        pass
    assert (a, b) == ("dflt/", "dflt_1/")


def test_name_scope_without_names_but_values_raises(g):
    c = tf.constant(1.0)
    with pytest.raises(ValueError, match="At least one of name"):
        with tf.name_scope(None, None, [c]):
            pass


def test_name_scope_values_select_their_graph():
    other = tf.Graph()
    with other.as_default():
        c = tf.constant(1.0)
    with tf.Graph().as_default():
        with tf.name_scope("x", values=[c]):
            assert tf.get_default_graph() is other
            d = tf.constant(2.0)
    assert d.graph is other and d.name == "x/Const:0"


def test_control_dependencies_apply_to_ops_created_inside(g):
    x = tf.placeholder(tf.float32, name="x")
    c1, c2 = tf.no_op(name="c1"), tf.no_op(name="c2")
    with tf.control_dependencies([c1]):
        u = tf.identity(x)
        with tf.control_dependencies([c2, c1]):
            z = tf.identity(x)
            with tf.control_dependencies(None):
                w = tf.identity(x)
    assert [c.name for c in u.op.control_inputs] == ["c1"]
    assert [c.name for c in z.op.control_inputs] == ["c1", "c2"]
    assert w.op.control_inputs == []


def test_op_whose_input_was_built_in_the_block_gets_no_control_input(g):
    x = tf.placeholder(tf.float32, name="x")
    c1 = tf.no_op(name="c1")
    with tf.control_dependencies([c1]):
        y = x + 1.0
        v = tf.identity(y)
    assert [c.name for c in y.op.inputs[1].op.control_inputs] == ["c1"]  # the Const
    assert y.op.control_inputs == []  # dominated by its Const input
    assert v.op.control_inputs == []


def test_control_input_that_is_a_data_input_is_not_added(g):
    a = tf.constant(1.0, name="a")
    with tf.control_dependencies([a]):
        b = tf.identity(a)
    assert b.op.control_inputs == []


def test_control_dependencies_accept_tensors_names_and_variables(g):
    a = tf.constant(1.0, name="a")
    v = tf.Variable(1.0, name="v")
    x = tf.placeholder(tf.float32)
    with tf.control_dependencies(["a", v]):
        b = tf.identity(x)
    assert [c.name for c in b.op.control_inputs] == ["a", "v"]
    assert a.op in b.op.control_inputs


def test_control_dependencies_reject_other_objects(g):
    with pytest.raises(TypeError, match="Can not convert a int into a Tensor or Operation"):
        with tf.control_dependencies([1]):
            pass


def test_explicit_device_strings_are_canonicalised_and_merged(g):
    with tf.device("/job:w/task:1"):
        with tf.device("/cpu:0"):
            a = tf.constant(1)
        with tf.device(None):
            b = tf.constant(1)
    with tf.device("/gpu:1"):
        c = tf.constant(1)
    assert a.op.device == "/job:w/task:1/device:CPU:0"
    assert b.op.device == ""
    assert c.op.device == "/device:GPU:1"
    assert c.device == c.op.device


def test_device_function_receives_op_and_sets_device(g):
    with tf.device(lambda op: "/cpu:0" if op.type == "Const" else ""):
        assert tf.constant(1).op.device == "/cpu:0"


def test_get_operation_and_tensor_by_name(g):
    a = tf.constant(1.0, name="a")
    assert g.get_operation_by_name("a") is a.op
    assert g.get_tensor_by_name("a:0") is a
    assert g.as_graph_element("a:0") is a
    assert g.as_graph_element(a.op) is a.op


@pytest.mark.parametrize(
    ("call", "exc", "msg"),
    [
        (lambda g: g.get_operation_by_name("nope"), KeyError, "refers to an Operation not in"),
        (lambda g: g.get_operation_by_name("a:0"), ValueError, "appears to refer to a Tensor"),
        (lambda g: g.get_tensor_by_name("a"), ValueError, "refers to an Operation, not a Tensor"),
        (lambda g: g.get_tensor_by_name("a:3"), KeyError, "exists but only has 1 outputs"),
        (lambda g: g.get_tensor_by_name("zz:0"), KeyError, "does not exist in the graph"),
        (lambda g: g.get_tensor_by_name("a:x"), ValueError, "looks a like a Tensor name"),
        (lambda g: g.get_tensor_by_name(3), TypeError, "Tensor names are strings"),
        (lambda g: g.get_operation_by_name(3), TypeError, "Operation names are strings"),
        (lambda g: g.as_graph_element(3), TypeError, "Can not convert a int into a Tensor or"),
        (lambda g: g.as_graph_element("a", False, False), ValueError, "can't both be False"),
        (lambda g: g.as_graph_element("a:0:1"), ValueError, "looks a like a Tensor name"),
    ],
)
def test_lookup_errors_match_tensorflow(g, call, exc, msg):
    tf.constant(1.0, name="a")
    with pytest.raises(exc, match=msg):
        call(g)


def test_element_of_another_graph_is_value_error(g):
    a = tf.constant(1.0)
    with pytest.raises(ValueError, match="is not an element of this graph"):
        tf.Graph().as_graph_element(a)


def test_get_operations_in_creation_order_and_version_counts_ops(g):
    assert g.version == 0
    a = tf.constant(1.0)
    b = tf.identity(a)
    assert g.get_operations() == [a.op, b.op]
    assert g.version == 2


def test_finalize_forbids_new_ops_but_running_still_works(g):
    a = tf.constant(2.0)
    b = a * 3.0
    g.finalize()
    assert g.finalized
    with pytest.raises(RuntimeError, match="Graph is finalized"):
        tf.constant(1.0)
    with tf.Session(graph=g) as s:
        assert s.run(b) == 6.0


def test_operation_properties(g):
    x = tf.placeholder(tf.float32, [2], name="x")
    c1 = tf.no_op(name="c1")
    with tf.control_dependencies([c1]):
        y = tf.identity(x, name="y")
    op = y.op
    assert (op.name, op.type) == ("y", "Identity")
    assert op.inputs == [x] and op.outputs == [y]
    assert op.control_inputs == [c1]
    assert op.get_attr("T") == tf.float32
    assert op.graph is g
    nd = op.node_def
    assert (nd.name, nd.op, list(nd.input)) == ("y", "Identity", ["x", "^c1"])


def test_get_attr_missing_raises_value_error(g):
    a = tf.constant(1.0, name="a")
    with pytest.raises(ValueError, match="Operation 'a' has no attr named 'nope'"):
        a.op.get_attr("nope")


def test_operation_run_executes_in_default_session(g):
    v = tf.Variable(1.0)
    inc = tf.assign_add(v, 1.0)
    with tf.Session(graph=g) as s:
        s.run(v.initializer)
        assert inc.op.run() is None
        assert s.run(v) == 2.0
