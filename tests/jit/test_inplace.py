"""In-place state updates: training steps compile into chains that write variables directly."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import graphjit
import graphjit.compat.v1 as tf
from graphjit import config
from graphjit.errors import FailedPreconditionError, InvalidArgumentError


def _mlp(optimizer):
    rng = np.random.default_rng(0)
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [None, 6])
        y = tf.placeholder(tf.float32, [None, 3])
        w1 = tf.Variable(rng.standard_normal((6, 5)).astype(np.float32) * 0.3)
        b1 = tf.Variable(np.zeros(5, np.float32))
        w2 = tf.Variable(rng.standard_normal((5, 3)).astype(np.float32) * 0.3)
        h = tf.nn.relu(tf.matmul(x, w1) + b1)
        logits = tf.matmul(h, w2)
        loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=y, logits=logits))
        train = optimizer().minimize(loss)
        init = tf.global_variables_initializer()
    xv = rng.standard_normal((4, 6)).astype(np.float32)
    yv = np.eye(3, dtype=np.float32)[[0, 1, 2, 1]]
    return g, x, y, loss, train, init, [w1, b1, w2], xv, yv


OPTIMIZERS = {
    "sgd": lambda: tf.train.GradientDescentOptimizer(0.1),
    "adam": lambda: tf.train.AdamOptimizer(0.01),
    "momentum": lambda: tf.train.MomentumOptimizer(0.1, 0.9),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_training_step_compiled_matches_interpreter(name):
    results = []
    for jit in (False, True):
        g, x, y, loss, train, init, params, xv, yv = _mlp(OPTIMIZERS[name])
        with config.override(disable_jit=not jit), tf.Session(graph=g) as sess:
            sess.run(init)
            step = sess.make_callable([loss, train], [x, y])
            losses = [step(xv, yv)[0] for _ in range(3)]
            results.append((losses, sess.run(params)))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-5)
    for a, b in zip(results[0][1], results[1][1]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["sgd", "adam"])
def test_training_step_has_no_state_links(name):
    g, x, y, loss, train, init, params, xv, yv = _mlp(OPTIMIZERS[name])
    with tf.Session(graph=g) as sess:
        sess.run(init)
        info = graphjit.inspect_chain(sess, [loss, train], [x, y])
    fused = [t for seg in info["segments"] for _, t in seg["ops"]]
    assert "AssignSub" in fused
    linked = [(t, why) for _, t, why in info["links"] if t in ("AssignAdd", "AssignSub")]
    assert linked == []
    # Adam's beta-power Assigns (rank-0 variables) are written in place too
    assert [t for _, t, _ in info["links"] if "Assign" in t] == []


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_training_step_chain_has_no_fallback_op(name):
    # issue 6: every data-computing op of an MLP step is fused or a library kernel; what
    # remains as links are MatMul/xent kernels and shape/view ops of the dynamic batch
    g, x, y, loss, train, init, params, xv, yv = _mlp(OPTIMIZERS[name])
    with tf.Session(graph=g) as sess:
        sess.run(init)
        info = graphjit.inspect_chain(sess, [loss, train], [x, y])
    assert info["fallback"] == []
    kinds = {t for _, t, _ in info["links"]}
    assert kinds <= {"MatMul", "SoftmaxCrossEntropyWithLogits", "Shape", "Reshape", "BroadcastTo"}


def test_adam_step_updates_every_variable_in_its_own_storage():
    g, x, y, loss, train, init, params, xv, yv = _mlp(OPTIMIZERS["adam"])
    with tf.Session(graph=g) as sess:
        sess.run(init)
        step = sess.make_callable([loss, train], [x, y])
        step(xv, yv)
        before = {name: (buf, buf.copy()) for name, buf in sess._vars.items()}
        step(xv, yv)
        step(xv, yv)
        for name, (buf, old) in before.items():
            assert sess._vars[name] is buf  # no new array per step
            assert not np.array_equal(buf, old)  # params, slots and beta powers all moved


def _counter():
    g = tf.Graph()
    with g.as_default():
        v = tf.Variable(np.arange(4, dtype=np.float32))
        d = tf.placeholder(tf.float32, [None])
        up = tf.assign_add(v, d)
        init = tf.global_variables_initializer()
    return g, v, d, up, init


def test_inplace_update_state_after_success_and_fetch_does_not_alias():
    g, v, d, up, init = _counter()
    with tf.Session(graph=g) as sess:
        sess.run(init)
        f = sess.make_callable(up, [d])
        info = graphjit.inspect_chain(sess, up, [d])
        assert "AssignAdd" in [t for s in info["segments"] for _, t in s["ops"]]
        one = np.ones(4, np.float32)
        r1 = f(one)
        r2 = f(one)
        np.testing.assert_array_equal(r1, [1, 2, 3, 4])  # not changed by the second update
        np.testing.assert_array_equal(r2, [2, 3, 4, 5])
        np.testing.assert_array_equal(one, 1)  # fed array never written
        np.testing.assert_array_equal(sess.run(v), [2, 3, 4, 5])


def test_failing_run_leaves_variable_unchanged():
    g, v, d, up, init = _counter()
    with tf.Session(graph=g) as sess:
        sess.run(init)
        f = sess.make_callable(up, [d])
        f(np.ones(4, np.float32))
        with pytest.raises(InvalidArgumentError):
            f(np.ones(3, np.float32))  # shape mismatch: validated before any write
        np.testing.assert_array_equal(sess.run(v), [1, 2, 3, 4])


def test_uninitialized_variable_raises_and_writes_nothing():
    g, v, d, up, init = _counter()
    with tf.Session(graph=g) as sess:
        f = sess.make_callable(up, [d])
        with pytest.raises(FailedPreconditionError):
            f(np.ones(4, np.float32))
        sess.run(init)
        np.testing.assert_array_equal(f(np.ones(4, np.float32)), [1, 2, 3, 4])


def test_integer_division_in_update_keeps_the_staged_path():
    g = tf.Graph()
    with g.as_default():
        v = tf.Variable(np.array([10, 20], np.int32))
        d = tf.placeholder(tf.int32, [2])
        up = tf.assign_sub(v, v // d)
        init = tf.global_variables_initializer()
    with tf.Session(graph=g) as sess:
        sess.run(init)
        f = sess.make_callable(up, [d])
        np.testing.assert_array_equal(f(np.array([2, 5], np.int32)), [5, 16])
        with pytest.raises(InvalidArgumentError):
            f(np.array([1, 0], np.int32))
        np.testing.assert_array_equal(sess.run(v), [5, 16])


def test_concurrent_inplace_updates_are_serialised():
    g, v, d, up, init = _counter()
    with tf.Session(graph=g) as sess:
        sess.run(init)
        f = sess.make_callable(up, [d])
        one = np.ones(4, np.float32)
        f(one)

        def work():
            for _ in range(200):
                f(one)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        np.testing.assert_array_equal(sess.run(v), np.arange(4) + 801)


# ------------------------------------------------------------------ plan-time folding, aliasing


def test_gradient_shape_arithmetic_is_folded_out_of_the_chain():
    g, x, y, loss, train, init, _, xv, yv = _mlp(OPTIMIZERS["sgd"])
    with tf.Session(graph=g) as sess:
        sess.run(init)
        info = graphjit.inspect_chain(sess, [loss, train], [x, y])
    types = [t for _, t, _ in info["links"]]
    # bias gradients: Shape of known shapes, BroadcastGradientArgs and the Sum over its
    # (now constant) axes no longer run as links
    assert "BroadcastGradientArgs" not in types
    assert "ScatterNd" not in types
    assert "Sum" not in types
    seg_types = [t for seg in info["segments"] for _, t in seg["ops"]]
    assert "Sum" in seg_types


def test_variable_reads_alias_storage_and_stay_exact():
    g, x, y, loss, train, init, params, xv, yv = _mlp(OPTIMIZERS["sgd"])
    with tf.Session(graph=g) as sess:
        sess.run(init)
        info = graphjit.inspect_chain(sess, [loss, train], [x, y])
        seg_ops = [n for seg in info["segments"] for n, _ in seg["ops"]]
        assert not any(n.endswith("/read") for n in seg_ops)  # no per-step copy
        fn = sess.make_callable([loss, train], [x, y])
        got = [fn(xv, yv)[0] for _ in range(3)]
        w_got = sess.run(params)
    with tf.Session(graph=g) as sess, config.override(disable_jit=True):
        sess.run(init)
        want = [sess.run([loss, train], {x: xv, y: yv})[0] for _ in range(3)]
        w_want = sess.run(params)
    np.testing.assert_allclose(got, want, rtol=1e-5)
    for a, b in zip(w_got, w_want):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_read_fetched_with_an_update_returns_the_value_before_the_update():
    g = tf.Graph()
    with g.as_default():
        v = tf.Variable(np.arange(4, dtype=np.float32))
        upd = tf.assign_add(v, tf.ones(4))
        init = tf.global_variables_initializer()
    with tf.Session(graph=g) as sess:
        sess.run(init)
        fn = sess.make_callable([v.value(), upd])
        before, after = fn()
        fetched = sess.run(v)
    with tf.Session(graph=g) as sess, config.override(disable_jit=True):
        sess.run(init)
        want_before, want_after = sess.run([v.value(), upd])
    np.testing.assert_array_equal(before, want_before)
    np.testing.assert_array_equal(after, want_after)
    np.testing.assert_array_equal(fetched, want_after)


def test_metric_fetched_next_to_the_step_keeps_updates_in_place():
    # [loss, train, accuracy]: accuracy does not depend on the updates, so the compiled
    # chain runs it before them (fuse.writes_last) and the updates stay in place
    g, x, y, loss, train, init, params, xv, yv = _mlp(OPTIMIZERS["adam"])
    with g.as_default():
        logits = loss.op.inputs[0].op.inputs[0]
        acc = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, 1), tf.argmax(y, 1)), tf.float32))
    results = []
    for jit in (False, True):
        with config.override(disable_jit=not jit), tf.Session(graph=g) as sess:
            sess.run(init)
            step = sess.make_callable([loss, train, acc], [x, y])
            out = [step(xv, yv) for _ in range(3)]
            results.append((out, sess.run(params)))
            if jit:
                info = graphjit.inspect_chain(sess, [loss, train, acc], [x, y])
                assert [t for _, t, _ in info["links"] if "Assign" in t] == []
                assert info["fallback"] == []  # ArgMax runs as a library kernel
    for (l0, _, a0), (l1, _, a1) in zip(results[0][0], results[1][0]):
        np.testing.assert_allclose(l0, l1, rtol=1e-5)
        assert a0 == a1
    for p0, p1 in zip(results[0][1], results[1][1]):
        np.testing.assert_allclose(p0, p1, rtol=1e-5, atol=1e-6)


def test_read_after_update_through_control_dependency_sees_the_new_value():
    g, v, d, up, init = _counter()
    with g.as_default(), tf.control_dependencies([up]):
        after = v.read_value()  # a read ordered after the update (tf.identity(v) is not)
        doubled = after * 2.0
    for jit in (False, True):
        with config.override(disable_jit=not jit), tf.Session(graph=g) as sess:
            sess.run(init)
            f = sess.make_callable([after, doubled], [d])
            f(np.ones(4, np.float32))
            got_after, got_doubled = f(np.ones(4, np.float32))
            want = np.arange(4, dtype=np.float32) + 2
            np.testing.assert_array_equal(got_after, want)
            np.testing.assert_array_equal(got_doubled, want * 2)


def test_rank0_variable_committed_by_the_interpreter_is_then_updated_in_place():
    # an interpreted run commits numpy scalars for rank-0 updates (global step, Adam's beta
    # powers); the compiled tail must take over that storage, not fail and replay every step
    g, x, y, loss, train, init, params, xv, yv = _mlp(OPTIMIZERS["adam"])
    with g.as_default():
        gs = tf.train.get_or_create_global_step()
        step_op = tf.group(train, tf.assign_add(gs, 1))
    with tf.Session(graph=g) as sess:
        sess.run([init, gs.initializer])
        with config.override(disable_jit=True):
            sess.run(step_op, {x: xv, y: yv})
        step = sess.make_callable([loss, step_op], [x, y])
        step(xv, yv)
        before = dict(sess._vars)
        step(xv, yv)
        for name, buf in before.items():
            assert sess._vars[name] is buf, name  # updated in place, not swapped by a replay
        assert sess.run(gs) == 3


def test_chain_that_only_writes_a_variable_in_place_needs_the_run_context():
    from graphjit import executor

    g, v, d, up, init = _counter()
    with tf.Session(graph=g) as sess:
        sess.run(init)
        program = sess._program([], [up.op], [(d,)])
        chain = executor.build_chain(program, (1,))
        assert chain.plan.inplace and chain.needs_ctx
