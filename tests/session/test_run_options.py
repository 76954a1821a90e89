"""RunOptions / RunMetadata: tracing, deadlines (section 9.1-9.2)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import graphjit.compat.v1 as tf
from graphjit import interp

FULL = tf.RunOptions.FULL_TRACE


def test_trace_level_enum_values():
    assert (tf.RunOptions.NO_TRACE, tf.RunOptions.SOFTWARE_TRACE) == (0, 1)
    assert (tf.RunOptions.HARDWARE_TRACE, tf.RunOptions.FULL_TRACE) == (2, 3)


def test_full_trace_lists_every_executed_op(graph, sess):
    a = tf.constant(1.0, name="a")
    b = tf.multiply(a, 2.0, name="b")
    c = tf.add(b, 1.0, name="c")
    md = tf.RunMetadata()
    assert sess.run(c, options=tf.RunOptions(trace_level=FULL), run_metadata=md) == 3.0
    (dev,) = md.step_stats.dev_stats
    assert dev.device == "/job:localhost/replica:0/task:0/device:CPU:0"
    names = [ns.node_name for ns in dev.node_stats]
    assert {"a", "b", "c"} <= set(names)
    for ns in dev.node_stats:
        assert ns.all_start_micros > 0
        assert ns.op_end_rel_micros >= 0
    assert isinstance(md.SerializeToString(), bytes)


def test_run_metadata_is_replaced_not_merged(graph, sess):
    c = tf.constant(1.0) + 1.0
    md = tf.RunMetadata()
    opts = tf.RunOptions(trace_level=FULL)
    sess.run(c, options=opts, run_metadata=md)
    n = len(md.step_stats.dev_stats[0].node_stats)
    sess.run(c, options=opts, run_metadata=md)
    assert len(md.step_stats.dev_stats) == 1
    assert len(md.step_stats.dev_stats[0].node_stats) == n
    sess.run(c, run_metadata=md)  # untraced run clears the stats
    assert len(md.step_stats.dev_stats) == 0


def test_no_trace_leaves_step_stats_empty(graph, sess):
    md = tf.RunMetadata()
    sess.run(tf.constant(1.0), options=tf.RunOptions(), run_metadata=md)
    assert len(md.step_stats.dev_stats) == 0


def test_options_without_metadata_and_other_fields_accepted(graph, sess):
    c = tf.constant(2.0)
    opts = tf.RunOptions(trace_level=FULL, output_partition_graphs=True, inter_op_thread_pool=0)
    assert sess.run(c, options=opts) == 2.0


class _Clock:
    """A fake ``perf_counter`` that advances one second per call."""

    def __init__(self):
        self.t = 0.0

    def __call__(self):
        self.t += 1.0
        return self.t


def test_timeout_in_ms_raises_deadline_exceeded(graph, sess, monkeypatch):
    v = tf.Variable(0.0)
    sess.run(v.initializer)
    x = tf.placeholder(tf.float32, [None])
    y = tf.reduce_sum(x * 2.0 + 1.0)
    with tf.control_dependencies([tf.assign_add(v, 1.0)]):
        out = y + 0.0
    clock = _Clock()
    monkeypatch.setattr(interp.time, "perf_counter", clock)
    monkeypatch.setattr("graphjit.session.time.perf_counter", clock)
    with pytest.raises(tf.errors.DeadlineExceededError):
        sess.run(out, {x: np.ones(4)}, options=tf.RunOptions(timeout_in_ms=1500))
    monkeypatch.undo()
    assert sess.run(v) == 0.0  # the timed-out run committed nothing
    assert sess.run(out, {x: np.ones(4)}, options=tf.RunOptions(timeout_in_ms=60_000)) == 12.0


def test_deadline_passed_during_last_op_fails(graph, sess, monkeypatch):
    v = tf.Variable(0.0)
    sess.run(v.initializer)
    x = tf.placeholder(tf.float32, [])
    a = tf.assign(v, x)  # a single op: the executor's between-op check never fires
    clock = _Clock()
    monkeypatch.setattr("graphjit.session.time.perf_counter", clock)
    with pytest.raises(tf.errors.DeadlineExceededError):
        sess.run(a, {x: 5.0}, options=tf.RunOptions(timeout_in_ms=1500))
    monkeypatch.undo()
    assert sess.run(v) == 0.0


def test_operation_timeout_in_ms_config(graph, monkeypatch):
    x = tf.placeholder(tf.float32, [None])
    y = tf.reduce_sum(tf.sqrt(x * x + 1.0))
    with tf.Session(config=tf.ConfigProto(operation_timeout_in_ms=1500)) as s:
        clock = _Clock()
        monkeypatch.setattr(interp.time, "perf_counter", clock)
        monkeypatch.setattr("graphjit.session.time.perf_counter", clock)
        with pytest.raises(tf.errors.DeadlineExceededError):
            s.run(y, {x: np.ones(3)})


def test_options_and_metadata_by_keyword_through_eval_path(graph, sess):
    md = tf.RunMetadata()
    c = tf.constant(1.0, name="k")
    sess.run([c], options=tf.RunOptions(trace_level=FULL), run_metadata=md)
    assert "k" in [ns.node_name for ns in md.step_stats.dev_stats[0].node_stats]


def test_non_proto_options_raise_attribute_error(graph, sess):
    c = tf.constant(1.0)
    with pytest.raises(AttributeError, match="SerializeToString"):
        sess.run(c, options={"trace_level": 3})
    f = sess.make_callable(c, accept_options=True)
    with pytest.raises(AttributeError):
        f(options=3)


def test_waiting_writer_times_out_with_deadline_exceeded(graph, sess):
    v = tf.Variable(0)
    inc = tf.assign_add(v, 1)
    pure = tf.constant(1) + 1
    sess.run(v.initializer)
    assert sess._write_lock.acquire()  # another run is writing state
    try:
        out = {}

        def other():
            out["pure"] = sess.run(pure)  # pure runs never wait for writers
            try:
                sess.run(inc, options=tf.RunOptions(timeout_in_ms=20))
            except tf.errors.DeadlineExceededError as e:
                out["error"] = e

        t = threading.Thread(target=other)
        t.start()
        t.join()
    finally:
        sess._write_lock.release()
    assert out["pure"] == 2
    assert "error" in out
    assert sess.run(v) == 0
