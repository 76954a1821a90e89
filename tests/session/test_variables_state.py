"""Variable values live in the session (section 11)."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit.compat.v1 as tf


def test_two_sessions_on_one_graph_are_independent(graph, counter):
    v, init, inc = counter
    s1, s2 = tf.Session(), tf.Session()
    s1.run(init)
    with pytest.raises(tf.errors.FailedPreconditionError):
        s2.run(v)
    s2.run(init)
    s1.run(inc)
    s1.run(inc)
    assert s1.run(v) == 2
    assert s2.run(v) == 0
    s1.close()
    s2.close()


def test_closing_loses_variable_values(graph, counter):
    v, init, inc = counter
    s = tf.Session()
    s.run(init)
    s.run(inc)
    s.close()
    with tf.Session() as s2:
        with pytest.raises(tf.errors.FailedPreconditionError, match="uninitialized"):
            s2.run(v)


def test_initializers_are_operations_and_reset_values(graph, sess, counter):
    v, init, inc = counter
    assert isinstance(init, tf.Operation)
    assert sess.run(tf.global_variables_initializer()) is None
    sess.run(inc)
    assert sess.run(tf.variables_initializer([v])) is None
    assert sess.run(v) == 0


def test_assign_ops_fetch_new_value(graph, sess):
    v = tf.Variable(1.0)
    sess.run(v.initializer)
    assert sess.run(tf.assign(v, 4.0)) == 4.0
    assert sess.run(v.assign_add(2.0)) == 6.0
    assert sess.run(v.assign_sub(1.0)) == 5.0
    assert sess.run(tf.assign_add(v, 1.0)) == 6.0


def test_assign_statically_incompatible_shape_fails_at_construction(graph):
    v = tf.Variable([1.0, 2.0])
    with pytest.raises(ValueError):
        tf.assign(v, [1.0, 2.0, 3.0])


def test_is_variable_initialized(graph, sess):
    v = tf.Variable(1.0)
    flag = tf.is_variable_initialized(v)
    assert not sess.run(flag)
    sess.run(v.initializer)
    assert sess.run(flag)


def test_fetched_variable_value_does_not_alias_storage(graph, sess):
    v = tf.Variable([1.0, 2.0])
    sess.run(v.initializer)
    got = sess.run(v)
    sess.run(tf.assign_add(v, [1.0, 1.0]))
    np.testing.assert_array_equal(got, [1.0, 2.0])
