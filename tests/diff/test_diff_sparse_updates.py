"""Differential sparse-update tests: 3-step embedding trajectories, graphjit vs TensorFlow.

An embedding table (``tf.nn.embedding_lookup`` on a [10, 4] variable, repeated ids that change
every step) feeds a small dense layer; each TF1 optimizer trains both for 3 steps. The
embedding gradient is an ``IndexedSlices``, so TF takes its sparse paths (``ScatterSub``,
``SparseApply*``, Adam's ``_apply_sparse_shared``); the variables and every slot after each
step must match TF's.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from diff_helpers import assert_same

from graphjit import config

f32 = np.float32
E0 = ((np.arange(40, dtype=f32).reshape(10, 4) * 7 % 11) / 10 - 0.5).astype(f32)
W0 = np.array([[0.3, -0.2], [-0.4, 0.6], [0.25, 0.1], [0.5, -0.3]], f32)
STEP_IDS = [np.array(i, np.int32) for i in ([1, 3, 1, 7], [3, 3, 2], [7, 0, 2, 7, 7])]
_rng = np.random.default_rng(11)
TARGETS = [_rng.normal(size=(len(i), 2)).astype(f32) for i in STEP_IDS]

OPTIMIZERS = {
    "gd": lambda tf: tf.train.GradientDescentOptimizer(0.3),
    "momentum": lambda tf: tf.train.MomentumOptimizer(0.2, 0.9),
    "momentum-nesterov": lambda tf: tf.train.MomentumOptimizer(0.2, 0.9, use_nesterov=True),
    "adam": lambda tf: tf.train.AdamOptimizer(0.1, beta1=0.8, beta2=0.95, epsilon=1e-3),
    "rmsprop": lambda tf: tf.train.RMSPropOptimizer(0.05, decay=0.8, momentum=0.5),
    "rmsprop-centered": lambda tf: tf.train.RMSPropOptimizer(
        0.05, decay=0.8, momentum=0.5, epsilon=1e-6, centered=True
    ),
    "adagrad": lambda tf: tf.train.AdagradOptimizer(0.3),
    "adadelta": lambda tf: tf.train.AdadeltaOptimizer(2.0, rho=0.9, epsilon=1e-4),
}

# Compiling a training step costs seconds of numba on this machine: the others run on
# graphjit's interpreter (TF is unaffected).
COMPILED = {"adam", "gd"}
TOL = {"rtol": 2e-5, "atol": 2e-6}


def trajectory(make_opt):
    def build(tf, feed):
        emb = tf.Variable(tf.constant(E0), name="emb")
        w = tf.Variable(tf.constant(W0), name="w")
        ids = tf.placeholder(tf.int32, [None], name="ids")
        y = tf.placeholder(tf.float32, [None, 2], name="y")
        pred = tf.matmul(tf.nn.embedding_lookup(emb, ids), w)
        loss = tf.reduce_mean(tf.square(pred - y))
        opt = make_opt(tf)
        train = opt.minimize(loss)
        slots = {n: [opt.get_slot(v, n) for v in (emb, w)] for n in opt.get_slot_names()}
        return tf.global_variables_initializer(), train, [emb, w], slots, ids, y

    return build


def run_steps(sess, fetches, feed):
    init, train, variables, slots, ids, y = fetches
    sess.run(init)
    steps = []
    for k in range(len(STEP_IDS)):
        sess.run(train, {ids: STEP_IDS[k], y: TARGETS[k]})
        steps.append(sess.run([variables, slots]))
    return steps


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_sparse_trajectory_matches_tensorflow(name):
    with config.override(disable_jit=name not in COMPILED):
        assert_same(trajectory(OPTIMIZERS[name]), run_steps, **TOL)


def test_duplicate_indices_match_tensorflow():
    # one hand-made IndexedSlices with repeated rows, applied by every optimizer
    def build(tf, feed):
        v = tf.Variable(tf.constant(E0), name="v")
        values = tf.constant(np.arange(20, dtype=f32).reshape(5, 4) / 10 - 1)
        grad = tf.IndexedSlices(values, tf.constant([4, 1, 4, 4, 9]), tf.constant([10, 4]))
        trains = [OPTIMIZERS[n](tf).apply_gradients([(grad, v)]) for n in sorted(OPTIMIZERS)]
        return tf.global_variables_initializer(), trains, v

    def run(sess, fetches, feed):
        init, trains, v = fetches
        out = []
        for t in trains:
            sess.run(init)
            sess.run(t)
            out.append(sess.run(v))
        return out

    with config.override(disable_jit=True):
        assert_same(build, run, **TOL)
