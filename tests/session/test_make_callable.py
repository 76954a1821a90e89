"""make_callable(fetches, feed_list, accept_options) (section 6)."""

from __future__ import annotations

import collections

import numpy as np
import pytest

import graphjit.compat.v1 as tf


def test_callable_matches_run_structure(graph, sess):
    x = tf.placeholder(tf.float32, [], name="x")
    y = x * 2.0
    Pair = collections.namedtuple("Pair", ["a", "b"])
    f = sess.make_callable({"y": y, "p": Pair(y, [x])}, feed_list=[x])
    out = f(3.0)
    assert out["y"] == 6.0
    assert type(out["p"]) is Pair and out["p"].a == 6.0
    assert out["p"].b[0] == 3.0 and isinstance(out["p"].b[0], np.ndarray)  # fed value back


def test_single_and_operation_fetches(graph, sess, counter):
    v, init, inc = counter
    sess.make_callable(init)()
    assert sess.make_callable(inc.op)() is None
    assert sess.make_callable(v)() == 1


def test_callable_observes_state_and_survives_graph_extension(graph, sess, counter):
    v, init, inc = counter
    sess.run(init)
    f = sess.make_callable(inc)
    assert f() == 1
    tf.constant(5.0)  # graph extension does not break the callable
    sess.run(tf.assign(v, 10))
    assert f() == 11


def test_feed_list_must_be_list_or_tuple(graph, sess):
    x = tf.placeholder(tf.float32)
    with pytest.raises(TypeError, match="Argument `feed_list` must be a list or tuple"):
        sess.make_callable(x, feed_list=x)


def test_feed_list_accepts_names_sparse_and_nested_tuples(graph, sess):
    a = tf.placeholder(tf.float32, [], name="a")
    b = tf.placeholder(tf.float32, [], name="b")
    sp = tf.sparse_placeholder(tf.float32, shape=[3])
    total = a + b + tf.reduce_sum(sp.values)
    f = sess.make_callable(total, feed_list=["a:0", (b,), sp])
    value = tf.SparseTensorValue(np.array([[0]]), np.array([4.0]), np.array([3]))
    assert f(1.0, (2.0,), value) == 7.0


def test_wrong_arity_raises_type_error_naming_expected_count(graph, sess):
    x = tf.placeholder(tf.float32, [])
    y = tf.placeholder(tf.float32, [])
    f = sess.make_callable(x + y, feed_list=[x, y])
    with pytest.raises(TypeError, match="takes 2 positional arguments"):
        f(1.0)
    with pytest.raises(TypeError, match="takes 2 positional arguments"):
        f(1.0, 2.0, 3.0)
    g = sess.make_callable(tf.constant(1.0), feed_list=[])
    with pytest.raises(TypeError, match="takes 0 positional arguments"):
        g(1.0)
    assert g() == 1.0


def test_feed_list_callable_forwards_options_keywords(graph, sess):
    x = tf.placeholder(tf.float32, [])
    f = sess.make_callable(x * 2.0, feed_list=[x])
    md = tf.RunMetadata()
    opts = tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE)
    assert f(1.0, options=opts, run_metadata=md) == 2.0
    assert len(md.step_stats.dev_stats) == 1
    with pytest.raises(TypeError):
        f(1.0, bogus=1)


def test_no_feed_callable_takes_no_arguments(graph, sess):
    f = sess.make_callable(tf.constant(1.0))
    with pytest.raises(TypeError):
        f(1.0)
    with pytest.raises(TypeError):
        f(options=tf.RunOptions())


def test_accept_options_fills_run_metadata(graph, sess):
    c = tf.constant(1.0) + 1.0
    f = sess.make_callable(c, accept_options=True)
    md = tf.RunMetadata()
    assert f(options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE), run_metadata=md) == 2.0
    names = {ns.node_name for d in md.step_stats.dev_stats for ns in d.node_stats}
    assert c.op.name in names
    assert f() == 2.0


def test_no_feed_validation_happens_at_make_time(graph, sess):
    tf.constant(1.0)
    with pytest.raises(TypeError):
        sess.make_callable(None)
    with pytest.raises(TypeError):
        sess.make_callable(3)
    with pytest.raises(ValueError):
        sess.make_callable("missing:0")


def test_feed_list_validation_happens_at_first_call(graph, sess):
    x = tf.placeholder(tf.float32, [])
    f = sess.make_callable("missing:0", feed_list=[x])
    with pytest.raises(ValueError, match="cannot be interpreted as a Tensor"):
        f(1.0)
    g = sess.make_callable(x, feed_list=["nope:0"])
    with pytest.raises(TypeError, match="Cannot interpret feed_dict key"):
        g(1.0)


def test_make_callable_never_checks_closed(graph, sess):
    c = tf.constant(1.0)
    sess.close()
    sess.make_callable(c)
    sess.make_callable(c, feed_list=[])


def test_after_close_feed_list_callable_raises_runtime_error(graph, sess):
    x = tf.placeholder(tf.float32, [])
    f = sess.make_callable(x * 2.0, feed_list=[x])
    assert f(1.0) == 2.0
    sess.close()
    with pytest.raises(RuntimeError, match="Attempted to use a closed Session"):
        f(1.0)


def test_after_close_no_feed_callable_raises_cancelled(graph, sess):
    f = sess.make_callable(tf.constant(1.0))
    sess.close()
    with pytest.raises(tf.errors.CancelledError, match="Session has been closed"):
        f()


def test_feed_conversion_and_shape_checks(graph, sess):
    x = tf.placeholder(tf.float32, [2])
    f = sess.make_callable(x * 1.0, feed_list=[x])
    assert f([1, 2]).dtype == np.float32
    with pytest.raises(ValueError, match="Cannot feed value of shape"):
        f([1.0, 2.0, 3.0])


def test_callable_fetching_its_own_feed_returns_fed_value(graph, sess):
    x = tf.placeholder(tf.float32, [2])
    arr = np.array([1.0, 2.0], dtype=np.float32)
    assert sess.make_callable(x, feed_list=[x])(arr) is arr


def test_no_feed_errors_are_not_rewrapped(graph, sess):
    x = tf.placeholder(tf.float32, [], name="x")
    f = sess.make_callable(x * 2.0)
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        f()
    assert not info.value.message.startswith("Graph execution error")


def test_make_callable_docstring_documents_arity_check():
    assert "TypeError" in tf.Session.make_callable.__doc__
