"""Sparse (IndexedSlices) gradient updates against numpy transcriptions of TF's sparse paths.

An embedding table ``emb`` [10, 4] is trained for 3 steps through ``tf.nn.embedding_lookup``
with repeated ids; every optimizer must follow TF1's sparse update (``ScatterSub`` for
gradient descent; duplicate indices summed, then the ``SparseApply*`` row formulas for the
others; Adam's ``_apply_sparse_shared``), so rows no batch touched keep their values and slots.
"""

from __future__ import annotations

import numpy as np
import pytest

import graphjit.compat.v1 as tf
from graphjit import config
from graphjit.errors import InvalidArgumentError
from graphjit.sparse import IndexedSlices

f32 = np.float32
E0 = ((np.arange(40, dtype=f32).reshape(10, 4) * 7 % 11) / 10 - 0.5).astype(f32)
STEP_IDS = [np.array(i, np.int32) for i in ([1, 3, 1, 7], [3, 3, 2], [7, 0, 2, 7, 7])]
_rng = np.random.default_rng(3)
TARGETS = [_rng.normal(size=(len(i), 4)).astype(f32) for i in STEP_IDS]
NEVER = [4, 5, 6, 8, 9]  # rows no step touches


# ------------------------------------------------------------------ numpy reference


def _slices(emb, k):
    """The gradient of 0.5 * sum((emb[ids] - targets)^2): (values, indices)."""
    return emb[STEP_IDS[k]] - TARGETS[k], STEP_IDS[k]


def _dedup(values, idx):
    """TF's _deduplicate_indexed_slices: first-occurrence unique ids, summed slices."""
    uniq, first, inv = np.unique(idx, return_index=True, return_inverse=True)
    order = np.argsort(first)
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    summed = np.zeros((uniq.size, values.shape[1]), f32)
    np.add.at(summed, rank[inv], values)
    return summed, uniq[order]


def _ref(kind, steps=3, **hp):
    """``[(emb, {slot: value})]`` after each step of TF's sparse update ``kind``."""
    emb = E0.copy()
    s = {
        "momentum": {"momentum": np.zeros_like(E0)},
        "adam": {"m": np.zeros_like(E0), "v": np.zeros_like(E0)},
        "rmsprop": {"rms": np.ones_like(E0), "momentum": np.zeros_like(E0)},
        "rmsprop_centered": {
            "rms": np.ones_like(E0),
            "momentum": np.zeros_like(E0),
            "mg": np.zeros_like(E0),
        },
        "adagrad": {"accumulator": np.full_like(E0, f32(0.1))},
        "adadelta": {"accum": np.zeros_like(E0), "accum_update": np.zeros_like(E0)},
    }.get(kind, {})
    hp = {k: f32(v) for k, v in hp.items()}
    one = f32(1)
    out = []
    for k in range(steps):
        values, idx = _slices(emb, k)
        if kind == "gd":
            np.subtract.at(emb, idx, values * hp["lr"])
            out.append((emb.copy(), {}))
            continue
        if kind == "adam":
            t = k + 1
            lr_t = hp["lr"] * np.sqrt(one - hp["b2"] ** t) / (one - hp["b1"] ** t)
            g, u = _dedup(values, idx)
            s["m"] = s["m"] * hp["b1"]
            s["m"][u] += g * (one - hp["b1"])
            s["v"] = s["v"] * hp["b2"]
            s["v"][u] += (g * g) * (one - hp["b2"])
            emb = emb - lr_t * s["m"] / (np.sqrt(s["v"]) + hp["eps"])
            out.append((emb.copy(), {n: a.copy() for n, a in s.items()}))
            continue
        g, u = _dedup(values, idx)
        if kind == "momentum":
            a = s["momentum"][u] * hp["mom"] + g
            s["momentum"][u] = a
            emb[u] -= (
                g * hp["lr"] + a * hp["mom"] * hp["lr"] if hp.get("nesterov") else hp["lr"] * a
            )
        elif kind.startswith("rmsprop"):
            ms = s["rms"][u] * hp["rho"] + g * g * (one - hp["rho"])
            s["rms"][u] = ms
            denom = ms + hp["eps"]
            if kind == "rmsprop_centered":
                mg = s["mg"][u] * hp["rho"] + g * (one - hp["rho"])
                s["mg"][u] = mg
                denom = denom - mg * mg
            mom = s["momentum"][u] * hp["mom"] + hp["lr"] * g / np.sqrt(denom)
            s["momentum"][u] = mom
            emb[u] -= mom
        elif kind == "adagrad":
            a = s["accumulator"][u] + g * g
            s["accumulator"][u] = a
            emb[u] -= hp["lr"] * g / np.sqrt(a)
        elif kind == "adadelta":
            acc = s["accum"][u] * hp["rho"] + g * g * (one - hp["rho"])
            upd = np.sqrt(s["accum_update"][u] + hp["eps"]) / np.sqrt(acc + hp["eps"]) * g
            s["accum"][u] = acc
            s["accum_update"][u] = s["accum_update"][u] * hp["rho"] + upd * upd * (one - hp["rho"])
            emb[u] -= upd * hp["lr"]
        out.append((emb.copy(), {n: a.copy() for n, a in s.items()}))
    return out


# kind, reference hyperparameters, graphjit constructor
CASES = {
    "gd": ("gd", {"lr": 0.3}, lambda: tf.train.GradientDescentOptimizer(0.3)),
    "momentum": (
        "momentum",
        {"lr": 0.2, "mom": 0.9},
        lambda: tf.train.MomentumOptimizer(0.2, 0.9),
    ),
    "momentum-nesterov": (
        "momentum",
        {"lr": 0.2, "mom": 0.9, "nesterov": 1},
        lambda: tf.train.MomentumOptimizer(0.2, 0.9, use_nesterov=True),
    ),
    "adam": (
        "adam",
        {"lr": 0.1, "b1": 0.8, "b2": 0.95, "eps": 1e-3},
        lambda: tf.train.AdamOptimizer(0.1, beta1=0.8, beta2=0.95, epsilon=1e-3),
    ),
    "rmsprop": (
        "rmsprop",
        {"lr": 0.05, "rho": 0.8, "mom": 0.5, "eps": 1e-6},
        lambda: tf.train.RMSPropOptimizer(0.05, decay=0.8, momentum=0.5, epsilon=1e-6),
    ),
    "rmsprop-centered": (
        "rmsprop_centered",
        {"lr": 0.05, "rho": 0.8, "mom": 0.5, "eps": 1e-6},
        lambda: tf.train.RMSPropOptimizer(
            0.05, decay=0.8, momentum=0.5, epsilon=1e-6, centered=True
        ),
    ),
    "adagrad": ("adagrad", {"lr": 0.3}, lambda: tf.train.AdagradOptimizer(0.3)),
    "adadelta": (
        "adadelta",
        {"lr": 2.0, "rho": 0.9, "eps": 1e-4},
        lambda: tf.train.AdadeltaOptimizer(2.0, rho=0.9, epsilon=1e-4),
    ),
}


# ------------------------------------------------------------------ graphjit


def _train(make_opt, steps=3):
    """Run ``steps`` steps; ``[(emb, {slot: value})]`` after each, and the gradient type."""
    g = tf.Graph()
    with g.as_default():
        emb = tf.Variable(E0, name="emb")
        ids = tf.placeholder(tf.int32, [None])
        target = tf.placeholder(tf.float32, [None, 4])
        loss = 0.5 * tf.reduce_sum(tf.square(tf.nn.embedding_lookup(emb, ids) - target))
        opt = make_opt()
        gvs = opt.compute_gradients(loss)
        train = opt.apply_gradients(gvs)
        slots = {n: opt.get_slot(emb, n) for n in opt.get_slot_names()}
        out = []
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for k in range(steps):
                sess.run(train, {ids: STEP_IDS[k], target: TARGETS[k]})
                out.append(sess.run([emb, slots]))
    return out, type(gvs[0][0])


def _check(got, want):
    assert len(got) == len(want)
    for step, ((ge, gs), (we, ws)) in enumerate(zip(got, want)):
        np.testing.assert_allclose(ge, we, rtol=1e-5, atol=1e-6, err_msg=f"emb, step {step}")
        assert sorted(gs) == sorted(ws)
        for n in ws:
            np.testing.assert_allclose(
                gs[n], ws[n], rtol=1e-5, atol=1e-6, err_msg=f"slot {n}, step {step}"
            )


@pytest.mark.parametrize("name", sorted(CASES))
def test_sparse_update_matches_tf_sparse_formulas(name):
    kind, hp, make = CASES[name]
    with config.override(disable_jit=True):
        got, grad_type = _train(make)
    assert grad_type is IndexedSlices
    _check(got, _ref(kind, **hp))


@pytest.mark.parametrize("name", ["gd", "adam", "rmsprop-centered"])
def test_compiled_sparse_update_matches_tf_sparse_formulas(name):
    # the 2nd and 3rd runs of the step take the compiled path
    kind, hp, make = CASES[name]
    got, _ = _train(make)
    _check(got, _ref(kind, **hp))


@pytest.mark.parametrize("name", sorted(CASES))
def test_rows_never_touched_keep_values_and_slots(name):
    _, _, make = CASES[name]
    with config.override(disable_jit=True):
        got, _ = _train(make)
    emb, slots = got[-1]
    np.testing.assert_array_equal(emb[NEVER], E0[NEVER])
    init = {"rms": 1.0, "accumulator": 0.1}
    for n, value in slots.items():
        np.testing.assert_array_equal(value[NEVER], np.full((5, 4), init.get(n, 0.0), f32))


@pytest.mark.parametrize("name", ["momentum", "rmsprop", "adagrad", "adadelta", "adam"])
def test_row_left_out_of_a_step_keeps_its_slots_except_adam(name):
    # row 1 is touched in step 1 only: TF's sparse kernels leave its slots alone in step 2,
    # while Adam decays m and v densely (and keeps moving the row), as TF does
    _, _, make = CASES[name]
    with config.override(disable_jit=True):
        got, _ = _train(make, steps=2)
    (e1, s1), (e2, s2) = got
    if name == "adam":
        assert not np.array_equal(s2["m"][1], s1["m"][1])
        assert not np.array_equal(e2[1], e1[1])
    else:
        np.testing.assert_array_equal(e2[1], e1[1])
        for n in s1:
            np.testing.assert_array_equal(s2[n][1], s1[n][1])


def _apply_slices(make_opt, values, indices):
    """One apply_gradients of hand-made IndexedSlices on a [10, 4] variable; its new value."""
    g = tf.Graph()
    with g.as_default():
        v = tf.Variable(E0)
        grad = IndexedSlices(
            tf.constant(np.asarray(values, f32)),
            tf.constant(np.asarray(indices, np.int32)),
            tf.constant([10, 4]),
        )
        train = make_opt().apply_gradients([(grad, v)])
        with tf.Session() as sess:
            sess.run(v.initializer)
            sess.run(tf.variables_initializer(tf.global_variables()))
            sess.run(train)
            return sess.run(v)


ROW_A = np.array([0.5, -1.0, 2.0, 0.25], f32)
ROW_B = np.array([1.5, 0.5, -0.5, 1.0], f32)


@pytest.mark.parametrize("name", sorted(CASES))
def test_duplicate_indices_act_as_their_summed_slice(name):
    _, _, make = CASES[name]
    with config.override(disable_jit=True):
        dup = _apply_slices(make, [ROW_A, ROW_B], [2, 2])
        summed = _apply_slices(make, [ROW_A + ROW_B], [2])
    np.testing.assert_allclose(dup, summed, rtol=1e-6, atol=1e-7)
    assert not np.array_equal(dup[2], E0[2])


def test_adagrad_duplicates_are_summed_before_squaring():
    # accumulating each duplicate separately would give accum 0.1 + a^2 + b^2, not 0.1 + (a+b)^2
    with config.override(disable_jit=True):
        got = _apply_slices(lambda: tf.train.AdagradOptimizer(1.0), [ROW_A, ROW_B], [2, 2])
    s = ROW_A + ROW_B
    np.testing.assert_allclose(got[2], E0[2] - s / np.sqrt(f32(0.1) + s * s), rtol=1e-6)


def test_out_of_range_index_raises_and_leaves_variable_and_slots_unchanged():
    g = tf.Graph()
    with g.as_default():
        v = tf.Variable(E0)
        grad = IndexedSlices(
            tf.constant(np.stack([ROW_A, ROW_B])), tf.constant([3, 12]), tf.constant([10, 4])
        )
        opt = tf.train.MomentumOptimizer(0.1, 0.9)
        train = opt.apply_gradients([(grad, v)])
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            with pytest.raises(InvalidArgumentError, match="12"):
                sess.run(train)
            np.testing.assert_array_equal(sess.run(v), E0)
            np.testing.assert_array_equal(sess.run(opt.get_slot(v, "momentum")), 0 * E0)


def test_sparse_and_dense_gradients_in_one_step():
    g = tf.Graph()
    with g.as_default():
        emb = tf.Variable(E0)
        w = tf.Variable(np.ones([4, 1], f32))
        ids = tf.constant([0, 2, 0])
        loss = tf.reduce_sum(tf.matmul(tf.gather(emb, ids), w))
        opt = tf.train.AdagradOptimizer(0.5)
        gvs = opt.compute_gradients(loss)
        assert [type(gr).__name__ for gr, _ in gvs] == ["IndexedSlices", "Tensor"]
        train = opt.apply_gradients(gvs)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(train)
            e, wv = sess.run([emb, w])
    # emb rows: grad 2 (row 0, twice) and 1 (row 2); accum 0.1 + g^2
    np.testing.assert_allclose(e[0], E0[0] - 0.5 * 2 / np.sqrt(4.1), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(e[2], E0[2] - 0.5 * 1 / np.sqrt(1.1), rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(e[[1, 3, 4]], E0[[1, 3, 4]])
    gw = (2 * E0[0] + E0[2]).reshape(4, 1)
    np.testing.assert_allclose(wv, 1 - 0.5 * gw / np.sqrt(0.1 + gw * gw), rtol=1e-5)


def test_constraint_on_sparse_variable_raises_runtime_error():
    g = tf.Graph()
    with g.as_default():
        emb = tf.Variable(E0, constraint=lambda t: tf.clip_by_value(t, -0.1, 0.1))
        loss = tf.reduce_sum(tf.gather(emb, [1, 2]))
        with pytest.raises(RuntimeError, match="Cannot use a constraint function on a sparse"):
            tf.train.GradientDescentOptimizer(0.1).minimize(loss)


def test_dense_update_applies_the_variable_constraint():
    g = tf.Graph()
    with g.as_default():
        w = tf.Variable([0.0, 0.05], constraint=lambda t: tf.clip_by_value(t, -0.1, 0.1))
        train = tf.train.GradientDescentOptimizer(1.0).minimize(tf.reduce_sum(-w))
        with tf.Session() as sess:
            sess.run(w.initializer)
            sess.run(train)
            np.testing.assert_allclose(sess.run(w), [0.1, 0.1])


def test_sparse_gradient_dtype_mismatch_raises_type_error():
    g = tf.Graph()
    with g.as_default():
        v = tf.Variable(E0)
        grad = IndexedSlices(tf.constant(np.ones([1, 4])), tf.constant([1]), tf.constant([10, 4]))
        with pytest.raises(TypeError, match="does not match"):
            tf.train.GradientDescentOptimizer(0.1).apply_gradients([(grad, v)])
