"""Collections and the thread-local default-graph stack."""

from __future__ import annotations

import threading

import pytest

import graphjit.compat.v1 as tf


@pytest.fixture
def g():
    graph = tf.Graph()
    with graph.as_default():
        yield graph


def test_variables_land_in_global_and_trainable_collections(g):
    v = tf.Variable(1.0, name="v")
    w = tf.Variable(1.0, name="w", trainable=False)
    assert tf.get_collection(tf.GraphKeys.GLOBAL_VARIABLES) == [v, w]
    assert tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES) == [v]
    assert tf.global_variables() == [v, w] and tf.trainable_variables() == [v]


def test_get_collection_scope_is_a_regex_matched_at_the_start(g):
    with tf.name_scope("layer1"):
        a = tf.Variable(1.0, name="w")
    with tf.name_scope("layer2"):
        b = tf.Variable(1.0, name="w")
    key = tf.GraphKeys.GLOBAL_VARIABLES
    assert tf.get_collection(key, scope="layer1") == [a]
    assert tf.get_collection(key, scope="layer.") == [a, b]
    assert tf.get_collection(key, scope="w") == []


def test_get_collection_skips_items_without_name_under_scope(g):
    tf.add_to_collection("mixed", 3)
    c = tf.constant(1.0, name="c")
    tf.add_to_collection("mixed", c)
    assert tf.get_collection("mixed") == [3, c]
    assert tf.get_collection("mixed", scope="c") == [c]


def test_get_collection_returns_a_copy_and_ref_returns_the_list(g):
    tf.add_to_collection("k", 1)
    copy = tf.get_collection("k")
    copy.append(2)
    assert tf.get_collection("k") == [1]
    ref = tf.get_collection_ref("k")
    ref.append(2)
    assert tf.get_collection("k") == [1, 2]
    assert tf.get_collection("missing") == []


def test_add_to_collections_takes_a_name_or_several(g):
    tf.add_to_collections("one", "x")
    tf.add_to_collections(["a", "b", "a"], "y")
    assert tf.get_collection("one") == ["x"]
    assert tf.get_collection("a") == ["y"] and tf.get_collection("b") == ["y"]
    assert set(g.get_all_collection_keys()) >= {"one", "a", "b"}


def test_finalized_graph_refuses_collection_additions(g):
    g.finalize()
    with pytest.raises(RuntimeError, match="finalized"):
        tf.add_to_collection("k", 1)


def test_as_default_nests_and_restores():
    g1, g2 = tf.Graph(), tf.Graph()
    outer = tf.get_default_graph()
    with g1.as_default():
        with g2.as_default():
            assert tf.get_default_graph() is g2
        assert tf.get_default_graph() is g1
    assert tf.get_default_graph() is outer


def test_new_thread_sees_the_global_default_graph():
    seen = []
    global_graph = tf.get_default_graph()
    with tf.Graph().as_default():
        t = threading.Thread(target=lambda: seen.append(tf.get_default_graph()))
        t.start()
        t.join()
    assert seen == [global_graph]


def test_reset_default_graph_replaces_the_global_graph():
    before = tf.get_default_graph()
    tf.reset_default_graph()
    assert tf.get_default_graph() is not before


def test_reset_default_graph_inside_a_graph_context_raises_assertion_error():
    with tf.Graph().as_default():
        with pytest.raises(AssertionError, match=r"Do not use tf\.reset_default_graph"):
            tf.reset_default_graph()
