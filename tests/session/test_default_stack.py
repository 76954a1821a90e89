"""Default-session stack, thread locality, with-statement and InteractiveSession (section 2)."""

from __future__ import annotations

import logging
import threading

import pytest

import graphjit.compat.v1 as tf


def _in_thread(fn):
    out = {}

    def target():
        try:
            out["value"] = fn()
        except BaseException as e:
            out["error"] = e

    t = threading.Thread(target=target)
    t.start()
    t.join()
    if "error" in out:
        raise out["error"]
    return out["value"]


# ----------------------------------------------------------------------- as_default
def test_as_default_installs_and_returns_the_session(sess):
    with sess.as_default() as s:
        assert s is sess
        assert tf.get_default_session() is sess
    assert tf.get_default_session() is None


def test_as_default_does_not_close_or_change_graph(graph, sess):
    other = tf.Graph()
    s2 = tf.Session(graph=other)
    with s2.as_default():
        assert tf.get_default_graph() is graph
    assert not s2._closed
    s2.close()


def test_as_default_nests_innermost_wins(graph):
    s1, s2 = tf.Session(), tf.Session()
    with s1.as_default():
        with s2.as_default():
            assert tf.get_default_session() is s2
            with s1.as_default():
                assert tf.get_default_session() is s1
            assert tf.get_default_session() is s2
        assert tf.get_default_session() is s1
    s1.close()
    s2.close()


def test_closed_session_can_be_default_but_use_raises(graph, sess):
    c = tf.constant(1.0)
    sess.close()
    with sess.as_default():
        with pytest.raises(RuntimeError, match="Attempted to use a closed Session"):
            c.eval()


def test_nesting_violation_raises_assertion_and_leaves_stack(graph):
    s1, s2 = tf.Session(), tf.Session()
    c1, c2 = s1.as_default(), s2.as_default()
    c1.__enter__()
    c2.__enter__()
    with pytest.raises(AssertionError, match="Nesting violated for default stack"):
        c1.__exit__(None, None, None)
    assert tf.get_default_session() is s2
    c2.__exit__(None, None, None)
    c1.__exit__(None, None, None)
    assert tf.get_default_session() is None
    s1.close()
    s2.close()


# ----------------------------------------------------------------------- thread locality
def test_default_session_is_thread_local(sess):
    with sess.as_default():
        assert _in_thread(tf.get_default_session) is None
        assert tf.get_default_session() is sess


def test_default_graph_is_thread_local(graph):
    other = _in_thread(tf.get_default_graph)
    assert other is not graph
    assert tf.get_default_graph() is graph


def test_with_session_in_thread_does_not_leak_to_parent(graph):
    tf.constant(1.0)

    def body():
        with tf.Session(graph=graph) as s:
            return tf.get_default_session() is s and tf.get_default_graph() is graph

    assert _in_thread(body)
    assert tf.get_default_session() is None


# ----------------------------------------------------------------------- with Session
def test_with_installs_graph_and_session_and_closes():
    g = tf.Graph()
    with g.as_default():
        tf.constant(1.0)
    s = tf.Session(graph=g)
    with s as entered:
        assert entered is s
        assert tf.get_default_session() is s
        assert tf.get_default_graph() is g
    assert tf.get_default_session() is None
    assert tf.get_default_graph() is not g
    assert s._closed


def test_with_closes_on_error_and_propagates(graph):
    s = tf.Session()
    with pytest.raises(ZeroDivisionError):
        with s:
            1 / 0  # noqa: B018
    assert s._closed
    assert tf.get_default_session() is None
    assert tf.get_default_graph() is graph


def test_with_is_not_reentrant(graph):
    s = tf.Session()
    with pytest.raises(RuntimeError, match="not re-entrant"):
        with s:
            with s:
                pass
    assert s._closed
    assert tf.get_default_session() is None
    assert tf.get_default_graph() is graph


def test_with_session_inside_interactive_session_overrides_and_restores(graph):
    i = tf.InteractiveSession()
    with tf.Session() as s:
        assert tf.get_default_session() is s
    assert tf.get_default_session() is i
    i.close()


# ----------------------------------------------------------------------- InteractiveSession
def test_interactive_session_installs_itself(graph):
    i = tf.InteractiveSession()
    assert tf.get_default_session() is i
    c = tf.constant(3.0) * 2.0
    assert c.eval() == 6.0
    i.close()
    assert tf.get_default_session() is None


def test_interactive_session_is_not_a_context_manager(graph):
    with pytest.raises(TypeError):
        with tf.InteractiveSession():
            pass
    # The constructor ran first: the session is installed (TF behaviour).
    i = tf.get_default_session()
    assert isinstance(i, tf.InteractiveSession)
    i.close()


def test_interactive_session_graph_none_leaves_graph_stack(graph):
    i = tf.InteractiveSession()
    assert tf.get_default_graph() is graph
    i.close()
    assert tf.get_default_graph() is graph


def test_interactive_session_pushes_explicit_graph_until_close(graph):
    g = tf.Graph()
    i = tf.InteractiveSession(graph=g)
    assert tf.get_default_graph() is g
    c = tf.constant(2.0)
    assert c.graph is g
    assert c.eval() == 2.0
    i.close()
    assert tf.get_default_graph() is graph


def test_interactive_sessions_lifo(graph, caplog):
    a = tf.InteractiveSession()
    with caplog.at_level(logging.ERROR):
        b = tf.InteractiveSession()
    assert "An interactive session is already active" in caplog.text
    assert tf.get_default_session() is b
    b.close()
    assert tf.get_default_session() is a
    a.close()
    assert tf.get_default_session() is None


def test_interactive_session_out_of_order_close_removes_silently(graph):
    a = tf.InteractiveSession()
    b = tf.InteractiveSession()
    a.close()  # TF 2.21 raises AssertionError here; graphjit removes it silently
    assert tf.get_default_session() is b
    b.close()
    assert tf.get_default_session() is None


def test_interactive_close_twice_is_noop(graph):
    a = tf.InteractiveSession()
    with tf.Session().as_default() as s:
        a.close()
        a.close()
        assert tf.get_default_session() is s
    s.close()


# ----------------------------------------------------------------------- eval / Operation.run
def test_eval_without_default_session(graph):
    c = tf.constant(1.0)
    with pytest.raises(ValueError, match=r"Cannot evaluate tensor using `eval\(\)`: No default"):
        c.eval()


def test_operation_run_without_default_session(graph):
    op = tf.no_op()
    with pytest.raises(ValueError, match=r"Cannot execute operation using `run\(\)`: No default"):
        op.run()


def test_eval_with_default_session_of_other_graph(graph):
    c = tf.constant(1.0)
    g2 = tf.Graph()
    with tf.Session(graph=g2).as_default() as s:
        with pytest.raises(ValueError, match="the tensor's graph is different from the session"):
            c.eval()
        with pytest.raises(ValueError, match="the operation's graph is different"):
            c.op.run()
    s.close()


def test_eval_with_explicit_session_of_other_graph(graph):
    c = tf.constant(1.0)
    s = tf.Session(graph=tf.Graph())
    with pytest.raises(ValueError, match="Cannot use the given session"):
        c.eval(session=s)
    s.close()


def test_eval_and_run_take_feed_dict_positionally(graph, sess):
    x = tf.placeholder(tf.float32, [])
    v = tf.Variable(0.0)
    op = tf.assign(v, x).op
    assert x.eval({x: 2.0}, sess) == 2.0
    sess.run(v.initializer)
    assert op.run({x: 5.0}, session=sess) is None
    assert sess.run(v) == 5.0


def test_eval_feed_value_tensor_raises(graph, sess):
    x = tf.placeholder(tf.float32, [])
    with pytest.raises(TypeError, match=r"The value of a feed cannot be a tf\.Tensor"):
        x.eval({x: tf.constant(1.0)}, session=sess)
