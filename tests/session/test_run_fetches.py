"""run(): fetch kinds, return types, containers, invalid fetches, de-duplication (section 3)."""

from __future__ import annotations

import collections

import numpy as np
import pytest

import graphjit.compat.v1 as tf
from graphjit.errors import InaccessibleTensorError


def test_closed_session_run_raises_runtime_error(graph, sess):
    c = tf.constant(1.0)
    sess.close()
    with pytest.raises(RuntimeError, match=r"Attempted to use a closed Session\."):
        sess.run(c)


@pytest.mark.parametrize("fetches", [[], (), {}, "x"])
def test_empty_graph_raises_even_for_empty_fetches(graph, sess, fetches):
    with pytest.raises(RuntimeError, match="The Session graph is empty"):
        sess.run(fetches)


@pytest.mark.parametrize(
    ("dtype", "np_type"),
    [
        (tf.float32, np.float32),
        (tf.float64, np.float64),
        (tf.int32, np.int32),
        (tf.int64, np.int64),
        (tf.bool, np.bool_),
    ],
)
def test_rank0_tensor_fetch_is_numpy_scalar(graph, sess, dtype, np_type):
    c = tf.constant(np_type(1), dtype=dtype)  # TF: constant(1, dtype=bool) is a TypeError
    v = sess.run(c)
    assert type(v) is np_type
    assert not isinstance(v, np.ndarray)


def test_rank1_fetch_is_ndarray(graph, sess):
    v = sess.run(tf.constant([1.0, 2.0]))
    assert isinstance(v, np.ndarray)
    assert v.dtype == np.float32
    np.testing.assert_array_equal(v, [1.0, 2.0])


def test_string_fetches_are_bytes(graph, sess):
    assert sess.run(tf.constant("ab")) == b"ab"
    arr = sess.run(tf.constant(["a", "bc"]))
    assert arr.dtype == object
    assert arr.tolist() == [b"a", b"bc"]


def test_operation_fetch_returns_none(graph, sess):
    assert sess.run(tf.no_op()) is None


def test_name_with_index_is_tensor_without_is_operation(graph, sess, counter):
    v, init, inc = counter
    sess.run(init)
    assert sess.run(inc.name) == 1
    assert sess.run(inc.op.name) is None  # an op fetch: it runs, returns None
    assert sess.run(v) == 2
    assert sess.run(b"v:0") == 2


def test_variable_fetch_returns_value(graph, sess):
    v = tf.Variable([1.0, 2.0])
    sess.run(v.initializer)
    np.testing.assert_array_equal(sess.run(v), [1.0, 2.0])


def test_list_tuple_dict_structures(graph, sess):
    a, b = tf.constant(1), tf.constant(2)
    out = sess.run([a, (b, [a]), {"k": b, 3: a, (1, 2): [b]}])
    assert out == [1, (2, [1]), {"k": 2, 3: 1, (1, 2): [2]}]
    assert type(out) is list
    assert type(out[1]) is tuple


def test_list_subclass_becomes_plain_list(graph, sess):
    class MyList(list):
        pass

    out = sess.run(MyList([tf.constant(1)]))
    assert type(out) is list


def test_namedtuple_type_preserved(graph, sess):
    Pair = collections.namedtuple("Pair", ["x", "y"])
    out = sess.run(Pair(tf.constant(1), [tf.constant(2)]))
    assert type(out) is Pair
    assert out.x == 1 and out.y == [2]


def test_ordered_dict_key_order_preserved(graph, sess):
    a, b = tf.constant(1), tf.constant(2)
    out = sess.run(collections.OrderedDict([("z", a), ("a", b)]))
    assert type(out) is collections.OrderedDict
    assert list(out.items()) == [("z", 1), ("a", 2)]


def test_dict_key_order_preserved(graph, sess):
    a, b = tf.constant(1), tf.constant(2)
    out = sess.run({"z": a, "a": b, "m": a})
    assert list(out) == ["z", "a", "m"]


def test_defaultdict_keeps_default_factory(graph, sess):
    d = collections.defaultdict(list)
    d["a"] = tf.constant(1)
    out = sess.run(d)
    assert type(out) is collections.defaultdict
    assert out.default_factory is list
    assert out["a"] == 1
    assert out["missing"] == []


def test_attrs_like_class_rebuilt_positionally(graph, sess):
    class _A:
        def __init__(self, name):
            self.name = name

    class Point:
        __attrs_attrs__ = (_A("x"), _A("y"))

        def __init__(self, x, y):
            self.x, self.y = x, y

    out = sess.run(Point(tf.constant(1), {"k": tf.constant(2)}))
    assert type(out) is Point
    assert out.x == 1 and out.y == {"k": 2}


def test_empty_containers_preserved(graph, sess):
    tf.constant(1)
    assert sess.run([[], (), {}]) == [[], (), {}]


@pytest.mark.parametrize(("fetches", "expected"), [([], []), ((), ()), ({}, {})])
def test_empty_fetch_on_nonempty_graph(graph, sess, fetches, expected):
    tf.constant(1)
    out = sess.run(fetches)
    assert out == expected
    assert type(out) is type(expected)


def test_single_leaf_returns_single_value(graph, sess):
    assert sess.run(tf.constant(4)) == 4


# ----------------------------------------------------------------------- invalid fetches
@pytest.mark.parametrize(
    "make",
    [
        lambda c: None,
        lambda c: [c, None],
        lambda c: {"a": [None]},
    ],
)
def test_none_fetch_raises_type_error(graph, sess, make):
    c = tf.constant(1)
    with pytest.raises(TypeError, match=r'has invalid type "NoneType"\. Cannot be None'):
        sess.run(make(c))


@pytest.mark.parametrize("bad", [1, 2.5, np.zeros(2), {1, 2}, (i for i in range(2)), object()])
def test_non_graph_fetch_raises_type_error(graph, sess, bad):
    tf.constant(1)
    with pytest.raises(TypeError, match="must be a string or Tensor"):
        sess.run(bad)


@pytest.mark.parametrize("name", ["missing:0", "missing", "a:1"])
def test_unknown_name_raises_value_error(graph, sess, name):
    tf.constant(1, name="a")
    with pytest.raises(ValueError, match="cannot be interpreted as a Tensor"):
        sess.run(name)


def test_element_of_other_graph_raises_value_error(graph, sess):
    tf.constant(1)
    with tf.Graph().as_default():
        other = tf.constant(2)
    with pytest.raises(ValueError, match="is not an element of this graph"):
        sess.run(other)
    with pytest.raises(ValueError, match="is not an element of this graph"):
        sess.run(other.op)


def test_invalid_fetch_runs_nothing(graph, sess, counter):
    v, init, inc = counter
    sess.run(init)
    with pytest.raises(TypeError):
        sess.run([inc, None])
    assert sess.run(v) == 0


# ----------------------------------------------------------------------- duplicates, pruning
def test_duplicate_fetch_same_value_object(graph, sess):
    c = tf.constant([1.0])
    a, b, d = sess.run([c, c.name, c])
    assert a is b is d


def test_stateful_fetch_twice_runs_once(graph, sess, counter):
    v, init, inc = counter
    sess.run(init)
    assert sess.run([inc, inc, inc.name]) == [1, 1, 1]
    assert sess.run(v) == 1


def test_unneeded_placeholder_is_pruned(graph, sess):
    tf.placeholder(tf.float32)
    c = tf.constant(3.0)
    assert sess.run(c) == 3.0


def test_results_are_fresh_writable_arrays(graph, sess):
    c = tf.constant([1.0, 2.0])
    v = tf.Variable([1.0, 2.0])
    sess.run(v.initializer)
    r1 = sess.run(c)
    r1[0] = 9.0
    assert sess.run(c)[0] == 1.0
    rv = sess.run(v)
    rv[0] = 7.0
    assert sess.run(v)[0] == 1.0


def test_prevent_fetching_raises_inaccessible(graph, sess):
    c = tf.constant(1.0)
    graph.prevent_fetching(c.op)
    with pytest.raises(InaccessibleTensorError):
        sess.run(c)
    with pytest.raises(ValueError):
        sess.run(c.op)
    assert issubclass(InaccessibleTensorError, ValueError)


def test_graph_extension_after_runs(graph, sess):
    a = tf.constant(1.0)
    assert sess.run(a) == 1.0
    b = a + 1.0
    assert sess.run([a, b]) == [1.0, 2.0]


def test_finalized_graph_still_runs(graph, sess):
    c = tf.constant(2.0)
    graph.finalize()
    assert sess.run(c) == 2.0
    with pytest.raises(RuntimeError, match="Graph is finalized and cannot be modified"):
        tf.constant(1.0)
    graph._unsafe_unfinalize()


def test_group_and_no_op_fetch_none(graph, sess, counter):
    v, init, inc = counter
    sess.run(init)
    assert sess.run(tf.group(inc)) is None
    assert sess.run(v) == 1


def test_control_dependencies_order(graph, sess):
    v = tf.Variable(1.0)
    sess.run(v.initializer)
    a = tf.assign(v, 5.0)
    with tf.control_dependencies([a]):
        r = v.read_value()
    assert sess.run(r) == 5.0
