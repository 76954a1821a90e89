"""Optimizer updates against numpy transcriptions of TF's training kernels."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit.compat.v1 as tf

A = np.array([1.0, 0.5, 2.0, 0.1], np.float32)
T = np.array([0.5, -1.0, 2.0, 3.0], np.float32)
W0 = np.array([1.0, 2.0, -1.0, 0.0], np.float32)
STEPS = 20


def _grad(w):
    """Gradient of 0.5 * sum(A * (w - T)^2)."""
    return A * (w - T)


def _ref_sgd(lr):
    w = W0.copy()
    for _ in range(STEPS):
        w = w - np.float32(lr) * _grad(w)
        yield w


def _ref_momentum(lr, mom, nesterov):
    w, acc = W0.copy(), np.zeros_like(W0)
    lr, mom = np.float32(lr), np.float32(mom)
    for _ in range(STEPS):
        g = _grad(w)
        acc = acc * mom + g
        w = w - (g * lr + acc * mom * lr if nesterov else lr * acc)
        yield w


def _ref_adam(lr, b1, b2, eps):
    w, m, v = W0.copy(), np.zeros_like(W0), np.zeros_like(W0)
    lr, b1, b2, eps = (np.float32(x) for x in (lr, b1, b2, eps))
    b1p, b2p = b1, b2
    for _ in range(STEPS):
        g = _grad(w)
        lr_t = lr * np.sqrt(np.float32(1) - b2p) / (np.float32(1) - b1p)
        m = m + (g - m) * (np.float32(1) - b1)
        v = v + (g * g - v) * (np.float32(1) - b2)
        w = w - lr_t * m / (np.sqrt(v) + eps)
        b1p, b2p = b1p * b1, b2p * b2
        yield w


def _ref_rmsprop(lr, rho, mom, eps, centered):
    w, ms, mg, mo = W0.copy(), np.ones_like(W0), np.zeros_like(W0), np.zeros_like(W0)
    lr, rho, mom, eps = (np.float32(x) for x in (lr, rho, mom, eps))
    for _ in range(STEPS):
        g = _grad(w)
        ms = ms + (g * g - ms) * (np.float32(1) - rho)
        if centered:
            mg = mg + (g - mg) * (np.float32(1) - rho)
            denom = ms - mg * mg + eps
        else:
            denom = ms + eps
        mo = mo * mom + lr * g / np.sqrt(denom)
        w = w - mo
        yield w


def _ref_adagrad(lr, init):
    w, acc = W0.copy(), np.full_like(W0, init)
    for _ in range(STEPS):
        g = _grad(w)
        acc = acc + g * g
        w = w - np.float32(lr) * g / np.sqrt(acc)
        yield w


def _ref_adadelta(lr, rho, eps):
    w, acc, upd = W0.copy(), np.zeros_like(W0), np.zeros_like(W0)
    lr, rho, eps = (np.float32(x) for x in (lr, rho, eps))
    for _ in range(STEPS):
        g = _grad(w)
        acc = acc * rho + g * g * (np.float32(1) - rho)
        u = np.sqrt(upd + eps) / np.sqrt(acc + eps) * g
        upd = upd * rho + u * u * (np.float32(1) - rho)
        w = w - u * lr
        yield w


CASES = {
    "sgd": (lambda: tf.train.GradientDescentOptimizer(0.1), lambda: _ref_sgd(0.1)),
    "momentum": (
        lambda: tf.train.MomentumOptimizer(0.05, 0.9),
        lambda: _ref_momentum(0.05, 0.9, False),
    ),
    "nesterov": (
        lambda: tf.train.MomentumOptimizer(0.05, 0.9, use_nesterov=True),
        lambda: _ref_momentum(0.05, 0.9, True),
    ),
    "adam": (
        lambda: tf.train.AdamOptimizer(0.1, 0.8, 0.95, 1e-3),
        lambda: _ref_adam(0.1, 0.8, 0.95, 1e-3),
    ),
    "rmsprop": (
        lambda: tf.train.RMSPropOptimizer(0.05, decay=0.8, momentum=0.5, epsilon=1e-6),
        lambda: _ref_rmsprop(0.05, 0.8, 0.5, 1e-6, False),
    ),
    "rmsprop_centered": (
        lambda: tf.train.RMSPropOptimizer(0.05, decay=0.8, epsilon=1e-2, centered=True),
        lambda: _ref_rmsprop(0.05, 0.8, 0.0, 1e-2, True),
    ),
    "adagrad": (lambda: tf.train.AdagradOptimizer(0.3, 0.2), lambda: _ref_adagrad(0.3, 0.2)),
    "adadelta": (
        lambda: tf.train.AdadeltaOptimizer(1.0, 0.9, 1e-4),
        lambda: _ref_adadelta(1.0, 0.9, 1e-4),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_trajectory_matches_tf_formulas_for_20_steps(case):
    make_opt, ref = CASES[case]
    with tf.Graph().as_default():
        w = tf.Variable(W0, name="w")
        grad = tf.constant(A) * (w - tf.constant(T))
        step = make_opt().apply_gradients([(grad, w)])
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            run = sess.make_callable(step)
            for i, expected in enumerate(ref()):
                run()
                np.testing.assert_allclose(
                    sess.run(w), expected, rtol=2e-5, atol=1e-6, err_msg=f"step {i + 1}"
                )


def test_learning_rate_may_be_a_fed_tensor():
    with tf.Graph().as_default():
        lr = tf.placeholder(tf.float32, [])
        w = tf.Variable(W0)
        step = tf.train.GradientDescentOptimizer(lr).apply_gradients([(tf.ones([4]), w)])
        with tf.Session() as sess:
            sess.run(w.initializer)
            sess.run(step, {lr: 0.5})
            sess.run(step, {lr: 0.25})
            np.testing.assert_allclose(sess.run(w), W0 - 0.75)


def test_adam_slots_and_beta_powers_are_named_like_tf():
    with tf.Graph().as_default():
        w = tf.Variable(W0, name="w")
        opt = tf.train.AdamOptimizer()
        op = opt.apply_gradients([(tf.ones([4]), w)])
        assert op.name == "Adam"
        assert opt.get_slot_names() == ["m", "v"]
        assert opt.get_slot(w, "m").name == "w/Adam:0"
        assert opt.get_slot(w, "v").name == "w/Adam_1:0"
        names = sorted(v.name for v in opt.variables())
        assert names == ["beta1_power:0", "beta2_power:0", "w/Adam:0", "w/Adam_1:0"]
        assert not any(v.trainable for v in opt.variables())
        assert op in tf.get_collection(tf.GraphKeys.TRAIN_OP)


def test_global_step_increments_after_update():
    with tf.Graph().as_default():
        w = tf.Variable(W0)
        gs = tf.train.get_or_create_global_step()
        assert tf.train.get_global_step() is gs
        step = tf.train.MomentumOptimizer(0.1, 0.9).apply_gradients(
            [(tf.ones([4]), w)], global_step=gs
        )
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for _ in range(3):
                sess.run(step)
            assert sess.run(gs) == 3
        with pytest.raises(ValueError, match="already exists"):
            tf.train.create_global_step()


def test_apply_gradients_skips_none_and_rejects_all_none():
    with tf.Graph().as_default():
        w = tf.Variable(W0)
        u = tf.Variable(W0)
        opt = tf.train.GradientDescentOptimizer(1.0)
        step = opt.apply_gradients([(None, u), (tf.ones([4]), w)])
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(step)
            np.testing.assert_allclose(sess.run(u), W0)
            np.testing.assert_allclose(sess.run(w), W0 - 1)
        with pytest.raises(ValueError, match="No gradients provided for any variable"):
            opt.apply_gradients([(None, w)])


def test_minimize_reduces_a_quadratic_like_tf():
    with tf.Graph().as_default():
        w = tf.Variable(W0, name="w")
        loss = 0.5 * tf.reduce_sum(tf.constant(A) * tf.square(w - tf.constant(T)))
        opt = tf.train.GradientDescentOptimizer(0.1)
        pairs = opt.compute_gradients(loss)
        assert [v for _, v in pairs] == [w]
        step = opt.minimize(loss)
        with tf.Session() as sess:
            sess.run(w.initializer)
            run = sess.make_callable([loss, step])
            for expected in _ref_sgd(0.1):  # noqa: B007  (the last one is checked)
                run()
            np.testing.assert_allclose(sess.run(w), expected, rtol=2e-5, atol=1e-6)


def test_minimize_without_a_path_to_the_variables_raises_value_error():
    with tf.Graph().as_default():
        tf.Variable(W0, name="w")
        loss = tf.reduce_sum(tf.constant(T))
        with pytest.raises(ValueError, match="No gradients provided for any variable"):
            tf.train.AdamOptimizer().minimize(loss)


def test_minimize_rejects_integer_loss():
    with tf.Graph().as_default():
        tf.Variable(W0)
        with pytest.raises(ValueError, match=r"Invalid type tf\.int32"):
            tf.train.GradientDescentOptimizer(0.1).minimize(tf.constant(1))
