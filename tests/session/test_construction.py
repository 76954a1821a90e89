"""Session construction, attributes, config handling and close (contract sections 1 and 9.3-9.4)."""

from __future__ import annotations

import pytest

import graphjit.compat.v1 as tf
from graphjit.session import BaseSession


def test_signature_accepts_target_graph_config_by_keyword(graph):
    s = tf.Session(target="", graph=graph, config=tf.ConfigProto())
    assert s.graph is graph
    s.close()


def test_graph_none_binds_current_default_graph_forever(graph):
    s = tf.Session()
    assert s.graph is graph
    with tf.Graph().as_default():
        assert s.graph is graph
    s.close()


def test_graph_must_be_a_graph():
    with pytest.raises(TypeError, match=r"must be a tf\.Graph"):
        tf.Session(graph=object())


def test_config_positionally_as_target_suggests_keyword():
    with pytest.raises(TypeError, match=r"Session\(config=config\)"):
        tf.Session(tf.ConfigProto())


@pytest.mark.parametrize("target", [1, 2.5, ["a"], object()])
def test_target_of_wrong_type_raises_type_error(graph, target):
    with pytest.raises(TypeError):
        tf.Session(target, graph=graph)


def test_default_target_sess_str_is_empty_bytes(sess):
    assert sess.sess_str == b""
    assert isinstance(sess.sess_str, bytes)


def test_none_target_gives_none_sess_str(graph):
    s = tf.Session(target=None)
    assert s.sess_str is None
    s.close()


def test_bytes_target_accepted(graph):
    s = tf.Session(b"")
    assert s.sess_str == b""
    s.close()


def test_unknown_target_raises_not_found_error(graph):
    with pytest.raises(tf.errors.NotFoundError, match="No session factory registered"):
        tf.Session("grpc://localhost:2222")


@pytest.mark.parametrize("config", [{}, "x", 3, tf.RunOptions()])
def test_config_must_be_config_proto(graph, config):
    with pytest.raises(TypeError, match="ConfigProto"):
        tf.Session(config=config)


def test_unknown_config_proto_field_raises_value_error():
    with pytest.raises(ValueError, match="no_such_option"):
        tf.ConfigProto(no_such_option=1)


def test_config_options_are_accepted(graph):
    cfg = tf.ConfigProto(
        inter_op_parallelism_threads=2,
        intra_op_parallelism_threads=1,
        allow_soft_placement=True,
        log_device_placement=False,
    )
    with tf.Session(config=cfg) as s:
        assert s.run(tf.constant(3.0) + 1.0) == 4.0


def test_constructing_session_does_not_make_it_default(graph):
    s = tf.Session()
    assert tf.get_default_session() is None
    s.close()


def test_interactive_session_default_config_allows_growth(graph):
    s = tf.InteractiveSession()
    assert s._config.gpu_options.allow_growth is True
    assert s._config.graph_options.place_pruned_graph is True
    s.close()


def test_interactive_session_mutates_caller_config(graph):
    cfg = tf.ConfigProto()
    assert not cfg.graph_options.place_pruned_graph
    s = tf.InteractiveSession(config=cfg)
    assert cfg.graph_options.place_pruned_graph is True
    s.close()


def test_interactive_session_rejects_non_config_proto(graph):
    with pytest.raises(TypeError, match="ConfigProto"):
        tf.InteractiveSession(config={"a": 1})
    assert tf.get_default_session() is None


def test_session_on_empty_graph_picks_up_ops_added_later(graph, sess):
    assert len(sess.graph_def.node) == 0
    a = tf.constant(2.0, name="a")
    assert sess.run(a) == 2.0
    b = a * 3.0
    assert sess.run(b) == 6.0
    assert len(sess.graph_def.node) == 3


def test_graph_def_is_fresh_each_read_and_serialisable(graph, sess):
    gd1 = sess.graph_def
    tf.constant(1.0, name="c")
    gd2 = sess.graph_def
    assert gd1 is not gd2
    assert [n.name for n in gd2.node] == ["c"]
    assert isinstance(gd2.SerializeToString(), bytes)


def test_infer_shapes_adds_output_shapes_attr(graph):
    cfg = tf.ConfigProto(graph_options=tf.GraphOptions(infer_shapes=True))
    tf.constant([1.0, 2.0], name="c")
    with tf.Session(config=cfg) as s:
        node = s.graph_def.node[0]
        assert "_output_shapes" in node.attr


def test_two_sessions_share_a_graph(graph):
    c = tf.constant(5)
    s1, s2 = tf.Session(), tf.Session()
    assert s1.run(c) == s2.run(c) == 5
    s1.close()
    assert s2.run(c) == 5
    s2.close()


def test_attributes_readable_after_close(graph):
    tf.constant(1.0)
    s = tf.Session()
    s.close()
    assert s.graph is graph
    assert len(s.graph_def.node) == 1
    assert s.sess_str == b""


def test_close_is_idempotent_and_works_on_never_run_sessions(graph):
    s = tf.Session()
    s.close()
    s.close()
    i = tf.InteractiveSession()
    i.close()
    i.close()


def test_reset_is_a_static_method_returning_none():
    assert tf.Session.reset("") is None
    assert tf.Session.reset("", containers=["a"], config=tf.ConfigProto()) is None
    assert not hasattr(tf.InteractiveSession, "reset")


def test_public_surface():
    names = {
        "as_default",
        "close",
        "graph",
        "graph_def",
        "list_devices",
        "make_callable",
        "partial_run",
        "partial_run_setup",
        "run",
        "sess_str",
    }
    for n in names | {"reset", "__enter__", "__exit__"}:
        assert hasattr(tf.Session, n), n
    for n in names:
        assert hasattr(tf.InteractiveSession, n), n
    assert not issubclass(tf.InteractiveSession, tf.Session)
    assert issubclass(tf.Session, BaseSession)
    assert issubclass(tf.InteractiveSession, BaseSession)
    assert not hasattr(tf, "BaseSession")


# ----------------------------------------------------------------------- list_devices
def test_list_devices_reports_one_cpu(sess):
    (dev,) = sess.list_devices()
    assert dev.name == "/job:localhost/replica:0/task:0/device:CPU:0"
    assert dev.device_type == "CPU"
    assert dev.memory_limit_bytes == 268435456
    assert dev.memory_limit == dev.memory_limit_bytes  # the API page's name
    assert isinstance(dev.incarnation, int)


def test_list_devices_honours_device_count(graph):
    with tf.Session(config=tf.ConfigProto(device_count={"CPU": 2})) as s:
        names = [d.name for d in s.list_devices()]
    assert names == [
        "/job:localhost/replica:0/task:0/device:CPU:0",
        "/job:localhost/replica:0/task:0/device:CPU:1",
    ]


def test_list_devices_after_close_raises_cancelled(sess):
    sess.close()
    with pytest.raises(tf.errors.CancelledError, match="Session has been closed"):
        sess.list_devices()
