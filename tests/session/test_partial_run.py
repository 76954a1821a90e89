"""partial_run_setup / partial_run (section 7)."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import graphjit.compat.v1 as tf


@pytest.fixture
def chain(graph):
    a = tf.placeholder(tf.float32, [], name="a")
    b = tf.placeholder(tf.float32, [], name="b")
    c = tf.placeholder(tf.float32, [], name="c")
    r1 = tf.add(a, b, name="r1")
    r2 = tf.multiply(r1, c, name="r2")
    return a, b, c, r1, r2


def test_basic_sequence(sess, chain):
    a, b, c, r1, r2 = chain
    h = sess.partial_run_setup([r1, r2], [a, b, c])
    assert isinstance(h, str)
    assert sess.partial_run(h, r1, {a: 1.0, b: 2.0}) == 3.0
    assert sess.partial_run(h, [r2], {c: 3.0}) == [9.0]


def test_setup_accepts_names_and_single_elements(sess, chain):
    a, b, c, r1, r2 = chain
    h = sess.partial_run_setup("r1:0", ["a:0", b])
    assert sess.partial_run(h, {"x": "r1:0"}, {"a:0": 1.0, b: 1.0}) == {"x": 2.0}


def test_feed_without_fetch_returns_empty_list(sess, chain):
    a, b, c, r1, r2 = chain
    h = sess.partial_run_setup([r1], [a, b])
    assert sess.partial_run(h, [], {a: 3.0}) == []
    assert sess.partial_run(h, r1, {b: 1.0}) == 4.0


def test_interleaved_handles_and_plain_runs(sess, chain):
    a, b, c, r1, r2 = chain
    h1 = sess.partial_run_setup([r1], [a, b])
    h2 = sess.partial_run_setup([r1], [a, b])
    sess.partial_run(h1, [], {a: 1.0})
    sess.partial_run(h2, [], {a: 10.0})
    assert sess.run(r1, {a: 100.0, b: 100.0}) == 200.0
    assert sess.partial_run(h2, r1, {b: 1.0}) == 11.0
    assert sess.partial_run(h1, r1, {b: 1.0}) == 2.0


def test_values_persist_and_stateful_ops_run_once(sess, graph):
    v = tf.Variable(0.0)
    x = tf.placeholder(tf.float32, [])
    inc = tf.assign_add(v, 1.0)
    out = inc + x
    sess.run(v.initializer)
    h = sess.partial_run_setup([inc, out], [x])
    assert sess.partial_run(h, inc) == 1.0
    assert sess.partial_run(h, out, {x: 10.0}) == 11.0
    assert sess.run(v) == 1.0


def test_setup_without_fetches(sess, chain):
    a, *_ = chain
    with pytest.raises(tf.errors.InvalidArgumentError, match="Must specify at least one target"):
        sess.partial_run_setup([], [a])


def test_setup_both_fed_and_fetched(sess, chain):
    a, b, c, r1, r2 = chain
    with pytest.raises(tf.errors.InvalidArgumentError, match="c:0 is both fed and fetched"):
        sess.partial_run_setup([r2, c], [a, b, c])


def test_fetch_twice(sess, chain):
    a, b, c, r1, r2 = chain
    h = sess.partial_run_setup([r1, r2], [a, b, c])
    sess.partial_run(h, r1, {a: 1.0, b: 2.0})
    with pytest.raises(
        tf.errors.InvalidArgumentError, match="The fetch r1:0 has already been fetched"
    ):
        sess.partial_run(h, r1)


def test_feed_twice(sess, chain):
    a, b, c, r1, r2 = chain
    h = sess.partial_run_setup([r1], [a, b])
    sess.partial_run(h, [], {a: 1.0})
    with pytest.raises(tf.errors.InvalidArgumentError, match="The feed a:0 has already been fed"):
        sess.partial_run(h, [], {a: 1.0})


def test_undeclared_feed_and_fetch(sess, chain):
    a, b, c, r1, r2 = chain
    h = sess.partial_run_setup([r1], [a, b])
    with pytest.raises(
        tf.errors.InvalidArgumentError,
        match="The feed c:0 was not specified in partial_run_setup",
    ):
        sess.partial_run(h, [], {c: 1.0})
    with pytest.raises(
        tf.errors.InvalidArgumentError,
        match="The fetch r2:0 was not specified in partial_run_setup",
    ):
        sess.partial_run(h, r2, {a: 1.0})
    # Validation errors consume nothing: the handle still works in full.
    assert sess.partial_run(h, r1, {a: 1.0, b: 1.0}) == 2.0


def test_fetch_not_computable_yet(sess, chain):
    a, b, c, r1, r2 = chain
    h = sess.partial_run_setup([r1, r2], [a, b, c])
    with pytest.raises(
        tf.errors.InvalidArgumentError,
        match="Fetch r1:0 can't be computed from the feeds that have been fed so far",
    ):
        sess.partial_run(h, r1, {a: 1.0})


def test_undeclared_needed_placeholder(sess, chain):
    a, b, c, r1, r2 = chain
    h = sess.partial_run_setup([r1], [a])
    with pytest.raises(
        tf.errors.InvalidArgumentError, match="You must feed a value for placeholder tensor 'b'"
    ):
        sess.partial_run(h, r1, {a: 1.0})


def test_consumed_or_bogus_handle(sess, chain):
    a, b, c, r1, r2 = chain
    h = sess.partial_run_setup([r1], [a, b])
    sess.partial_run(h, r1, {a: 1.0, b: 1.0})
    for handle in (h, "bogus", 3):
        with pytest.raises(
            tf.errors.InvalidArgumentError,
            match="Must run 'setup' before performing partial runs!",
        ) as info:
            sess.partial_run(handle, r1)
        assert info.value.op is None and info.value.node_def is None


def test_feed_shape_mismatch_is_value_error(sess, graph):
    x = tf.placeholder(tf.float32, [2])
    y = x * 2.0
    h = sess.partial_run_setup([y], [x])
    with pytest.raises(ValueError, match="Cannot feed value of shape"):
        sess.partial_run(h, y, {x: [1.0]})
    np.testing.assert_array_equal(sess.partial_run(h, y, {x: [1.0, 2.0]}), [2.0, 4.0])


def test_operation_fetch_in_partial_run_raises_runtime_error(sess, graph, counter):
    v, init, inc = counter
    sess.run(init)
    x = tf.placeholder(tf.int32, [])
    y = x + 1
    h = sess.partial_run_setup([y, inc.op], [x])
    with pytest.raises(RuntimeError, match="partial_run\\(\\) requires empty `target_list`"):
        sess.partial_run(h, inc.op)
    assert sess.partial_run(h, y, {x: 1}) == 2
    assert sess.run(v) == 1  # the declared target ran with the last fetch


def test_closed_session(sess, chain):
    a, b, c, r1, r2 = chain
    h = sess.partial_run_setup([r1], [a, b])
    sess.close()
    with pytest.raises(RuntimeError, match="Attempted to use a closed Session"):
        sess.partial_run_setup([r1], [a, b])
    with pytest.raises(RuntimeError, match="Attempted to use a closed Session"):
        sess.partial_run(h, r1, {a: 1.0, b: 1.0})


def test_failed_step_leaves_handle_unchanged(sess, chain):
    a, b, c, r1, r2 = chain
    h = sess.partial_run_setup([r1], [a])  # b is needed but not declared
    with pytest.raises(tf.errors.InvalidArgumentError):
        sess.partial_run(h, r1, {a: 1.0})
    with pytest.raises(tf.errors.InvalidArgumentError, match="You must feed"):
        sess.partial_run(h, r1, {a: 1.0})  # a was not consumed by the failed step


def test_declared_intermediate_feed_cuts_upstream(sess, chain):
    a, b, c, r1, r2 = chain
    h = sess.partial_run_setup([r2], [r1, c])
    assert sess.partial_run(h, r2, {r1: 5.0, c: 2.0}) == 10.0


def test_handle_is_dropped_after_last_fetch(sess, chain):
    a, b, c, r1, r2 = chain
    h = sess.partial_run_setup([r1], [a, b])
    assert len(sess._partial) == 1
    sess.partial_run(h, r1, {a: 1.0, b: 1.0})
    assert len(sess._partial) == 0


def test_abandoned_handle_frees_state_when_garbage(sess, chain):
    a, b, c, r1, r2 = chain
    h = sess.partial_run_setup([r1, r2], [a, b, c])
    sess.partial_run(h, [], {a: 1.0})
    ref = weakref.ref(h)
    assert len(sess._partial) == 1
    del h
    gc.collect()
    assert ref() is None
    assert len(sess._partial) == 0


def test_handle_outlives_closed_session_without_error(graph, chain):
    a, b, c, r1, r2 = chain
    s = tf.Session()
    h = s.partial_run_setup([r1], [a, b])
    s.close()
    del h
    gc.collect()


def test_shared_control_dependency_runs_once(sess, graph, counter):
    v, init, inc = counter
    sess.run(init)
    x = tf.placeholder(tf.int32, [])
    with tf.control_dependencies([inc]):
        r1 = x + 0
        r2 = x + 1
    h = sess.partial_run_setup([r1, r2], [x])
    assert sess.partial_run(h, r1, {x: 5}) == 5
    assert sess.partial_run(h, r2) == 6
    assert sess.run(v) == 1


def test_fetch_variable_in_partial_run(sess, graph, counter):
    v, init, inc = counter
    sess.run(init)
    h = sess.partial_run_setup([inc, v])
    assert sess.partial_run(h, inc) == 1
    assert sess.partial_run(h, v) == 1
