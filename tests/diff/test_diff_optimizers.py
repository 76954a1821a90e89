"""Differential optimizer tests: 20-step training trajectories, graphjit vs TensorFlow.

A fixed small model (a tanh layer and a linear layer, initial values from constants, fixed
data) is trained for 20 steps with each TF1 optimizer; the variables after every step, the
final slot values and the global step must match TF within float32 tolerance. Learning-rate
schedules are compared step by step. Repeated ``run`` calls also exercise graphjit's compiled
path (the second run of a signature compiles).
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from diff_helpers import assert_same

from graphjit import config

f32 = np.float32
_rng = np.random.default_rng(7)
DATA_X = _rng.normal(size=(8, 3)).astype(f32)
DATA_Y = _rng.normal(size=(8, 2)).astype(f32)
W0 = np.array([[0.3, -0.2, 0.5, 0.1], [-0.4, 0.6, 0.2, -0.3], [0.25, 0.1, -0.5, 0.4]], f32)
W1 = np.array([[0.2, -0.1], [0.4, 0.3], [-0.3, 0.5], [0.1, -0.2]], f32)
B1 = np.array([0.05, -0.05], f32)
STEPS = 20


def _model(tf):
    w0 = tf.Variable(tf.constant(W0), name="w0")
    w1 = tf.Variable(tf.constant(W1), name="w1")
    b1 = tf.Variable(tf.constant(B1), name="b1")
    x = tf.placeholder(tf.float32, [None, 3], name="x")
    y = tf.placeholder(tf.float32, [None, 2], name="y")
    pred = tf.matmul(tf.tanh(tf.matmul(x, w0)), w1) + b1
    loss = tf.reduce_mean(tf.square(pred - y))
    return x, y, loss, [w0, w1, b1]


def trajectory(make_opt, with_global_step=False, schedule=None):
    """A program training ``_model`` with ``make_opt(tf, lr)``; its run returns every step."""

    def build(tf, feed):
        x, y, loss, vs = _model(tf)
        feed[x], feed[y] = DATA_X, DATA_Y
        gs = tf.train.get_or_create_global_step() if with_global_step else None
        lr = schedule(tf, gs) if schedule else 0.1
        opt = make_opt(tf, lr)
        train = opt.minimize(loss, global_step=gs)
        slots = {n: [opt.get_slot(v, n) for v in vs] for n in sorted(opt.get_slot_names())}
        watch = {"vars": vs, "loss": loss}
        if gs is not None:
            watch["gs"] = gs
            watch["lr"] = lr
        return tf.global_variables_initializer(), train, watch, slots

    return build


def run_steps(sess, fetches, feed):
    init, train, watch, slots = fetches
    sess.run(init)
    steps = []
    for _ in range(STEPS):
        sess.run(train, feed)
        steps.append(sess.run(watch, feed))
    return steps, sess.run(slots)


OPTIMIZERS = {
    "gd": lambda tf, lr: tf.train.GradientDescentOptimizer(lr),
    "momentum": lambda tf, lr: tf.train.MomentumOptimizer(lr, 0.9),
    "momentum-nesterov": lambda tf, lr: tf.train.MomentumOptimizer(lr, 0.9, use_nesterov=True),
    "adam": lambda tf, lr: tf.train.AdamOptimizer(lr * 0.5),
    "adam-params": lambda tf, lr: tf.train.AdamOptimizer(
        0.02, beta1=0.8, beta2=0.99, epsilon=1e-4
    ),
    "rmsprop": lambda tf, lr: tf.train.RMSPropOptimizer(lr * 0.1),
    "rmsprop-centered": lambda tf, lr: tf.train.RMSPropOptimizer(lr * 0.1, centered=True),
    "rmsprop-momentum": lambda tf, lr: tf.train.RMSPropOptimizer(lr * 0.1, momentum=0.5),
    "rmsprop-centered-momentum": lambda tf, lr: tf.train.RMSPropOptimizer(
        lr * 0.1, decay=0.8, momentum=0.3, epsilon=1e-6, centered=True
    ),
    "adagrad": lambda tf, lr: tf.train.AdagradOptimizer(lr),
    "adagrad-init": lambda tf, lr: tf.train.AdagradOptimizer(lr, initial_accumulator_value=0.5),
    "adadelta": lambda tf, lr: tf.train.AdadeltaOptimizer(1.0),
    "adadelta-params": lambda tf, lr: tf.train.AdadeltaOptimizer(10.0, rho=0.9, epsilon=1e-6),
}

SCHEDULES = {
    "exponential_decay": lambda tf, gs: tf.train.exponential_decay(0.2, gs, 5, 0.5),
    "exponential_decay-staircase": lambda tf, gs: tf.train.exponential_decay(
        0.2, gs, 6, 0.7, staircase=True
    ),
    "piecewise_constant": lambda tf, gs: tf.train.piecewise_constant(
        gs, [4, 9, 15], [0.3, 0.1, 0.05, 0.01]
    ),
    "polynomial_decay": lambda tf, gs: tf.train.polynomial_decay(0.2, gs, 12, 0.01),
    "polynomial_decay-power-cycle": lambda tf, gs: tf.train.polynomial_decay(
        0.2, gs, 6, 0.02, power=2.0, cycle=True
    ),
}

# Each training program costs several seconds of numba compile on this machine, so most
# trajectories run on graphjit's interpreter; COMPILED ones also go through the JIT (the
# second run of a signature compiles), pinning compiled optimizer steps against TF.
COMPILED = {"adam"}


@pytest.fixture
def interpreted():
    """Run graphjit on its numpy interpreter for this test (TF is unaffected)."""
    with config.override(disable_jit=True):
        yield


# Adam's bias correction and Adadelta's small updates amplify float32 rounding differences
TOL = {"rtol": 2e-5, "atol": 2e-6}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_trajectory_matches_tensorflow(name):
    with config.override(disable_jit=name not in COMPILED):
        assert_same(trajectory(OPTIMIZERS[name]), run_steps, **TOL)


@pytest.mark.usefixtures("interpreted")
@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_learning_rate_schedule_matches_tensorflow(name):
    def make(tf, lr):
        return tf.train.MomentumOptimizer(lr, 0.5)

    assert_same(trajectory(make, True, SCHEDULES[name]), run_steps, **TOL)


@pytest.mark.usefixtures("interpreted")
def test_global_step_increments_with_every_optimizer_step():
    assert_same(trajectory(OPTIMIZERS["adam"], with_global_step=True), run_steps, **TOL)


@pytest.mark.usefixtures("interpreted")
def test_minimize_var_list_and_compute_apply_gradients_match():
    def build(tf, feed):
        x, y, loss, (w0, w1, b1) = _model(tf)
        feed[x], feed[y] = DATA_X, DATA_Y
        opt = tf.train.MomentumOptimizer(0.05, 0.9)
        gvs = opt.compute_gradients(loss, var_list=[w1, b1])
        clipped = [(tf.clip_by_value(g, -0.1, 0.1), v) for g, v in gvs]
        train = opt.apply_gradients(clipped)
        watch = {"vars": [w0, w1, b1], "loss": loss}
        return tf.global_variables_initializer(), train, watch, {}

    assert_same(build, run_steps, **TOL)


def test_optimizer_errors_match_tensorflow():
    def no_vars(tf, feed):
        return tf.train.GradientDescentOptimizer(0.1).minimize(tf.constant(1.0) * 2)

    def no_gradient(tf, feed):
        v = tf.Variable(1.0)
        tf.Variable(2.0)
        return tf.train.GradientDescentOptimizer(0.1).minimize(tf.constant(1.0) * 2, var_list=[v])

    def bad_slot_name(tf, feed):
        v = tf.Variable(1.0)
        opt = tf.train.MomentumOptimizer(0.1, 0.9)
        opt.minimize(v * v)
        return [tf.constant("None") if opt.get_slot(v, "nope") is None else v]

    for build in (no_vars, no_gradient, bad_slot_name):
        assert_same(build, lambda s, f, d: None)
