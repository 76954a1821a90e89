"""Differential tests of the random ops added in round 3 (categorical/multinomial, shuffle,
gamma, poisson) against TensorFlow.

graphjit's bits cannot match TF's, so each case compares static dtypes/shapes, the fetched
values' shapes and dtypes, the error class and phase, and values only where they are determined
(a single finite logit, pass-through shuffles, degenerate alphas) or as distribution summaries
within sampling tolerance. ``RandomGammaGrad`` is deterministic and compared value by value,
and GraphDefs with these ops must run in the other framework.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from diff_helpers import GJ, TF, assert_same, feeder

f32, f64, i32, i64 = np.float32, np.float64, np.int32, np.int64
LOGITS = np.array([[0.0, 1.0, 2.0], [2.0, -1.0, 0.5]], f32)


def _summary(sess, fetches, feed):
    """Shape and dtype of each fetched value (the bits differ between frameworks)."""
    vals = sess.run(fetches, feed)
    return [(tuple(int(d) for d in np.shape(v)), np.asarray(v).dtype.name) for v in vals]


def _fed(build):
    """A case whose array arguments are fed through placeholders of unknown dims."""

    def wrapped(tf, feed):
        return build(tf, lambda *arrays, static=False: feeder(tf, feed, arrays, static))

    return wrapped


CASES = {
    # categorical / multinomial
    "categorical": lambda tf, feed: [tf.random.categorical(LOGITS, 4, seed=1)],
    "categorical-int32": lambda tf, feed: [tf.random.categorical(LOGITS, 3, dtype=tf.int32)],
    "categorical-float-dtype": lambda tf, feed: [tf.random.categorical(LOGITS, 3, dtype=tf.float32)],
    "categorical-rank1": lambda tf, feed: [tf.random.categorical(LOGITS[0], 3)],
    "categorical-rank3": lambda tf, feed: [tf.random.categorical(LOGITS[None], 3)],
    "categorical-ns-vector": lambda tf, feed: [tf.random.categorical(LOGITS, [3])],
    "categorical-ns-negative": lambda tf, feed: [tf.random.categorical(LOGITS, -1)],
    "categorical-ns-float": lambda tf, feed: [tf.random.categorical(LOGITS, 3.0)],
    "categorical-ns-zero": lambda tf, feed: [tf.random.categorical(LOGITS, 0)],
    "categorical-batch-zero": lambda tf, feed: [tf.random.categorical(np.zeros((0, 3), f32), 2)],
    "categorical-classes-zero": lambda tf, feed: [tf.random.categorical(np.zeros((2, 0), f32), 2)],
    "categorical-int-logits": lambda tf, feed: [tf.random.categorical([[1, 2]], 3)],
    "categorical-f64": lambda tf, feed: [tf.random.categorical(LOGITS.astype(f64), 2)],
    "categorical-fed": _fed(lambda tf, fd: [tf.random.categorical(*fd(LOGITS), 5)]),
    "categorical-fed-rank1": _fed(lambda tf, fd: [tf.random.categorical(*fd(LOGITS[0]), 5)]),
    "categorical-fed-ns": _fed(
        lambda tf, fd: [tf.random.categorical(LOGITS, *fd(np.array(4, i32), static=True))]
    ),
    "categorical-fed-ns-negative": _fed(
        lambda tf, fd: [tf.random.categorical(LOGITS, *fd(np.array(-2, i32), static=True))]
    ),
    "multinomial": lambda tf, feed: [tf.multinomial(LOGITS, 3, output_dtype=tf.int32)],
    "multinomial-default": lambda tf, feed: [tf.random.multinomial(LOGITS, 2)],
    # shuffle
    "shuffle": lambda tf, feed: [tf.random_shuffle([[1, 2], [3, 4], [5, 6]], seed=3)],
    "shuffle-scalar": lambda tf, feed: [tf.random.shuffle(5.0)],
    "shuffle-empty": lambda tf, feed: [tf.random_shuffle(np.zeros((0, 2)))],
    "shuffle-strings": lambda tf, feed: [tf.random_shuffle(["a", "b", "c"])],
    "shuffle-fed": _fed(lambda tf, fd: [tf.random_shuffle(*fd(np.ones((4, 3), f32)))]),
    # gamma
    "gamma": lambda tf, feed: [tf.random_gamma([2, 3], [0.5, 1.5])],
    "gamma-beta": lambda tf, feed: [tf.random_gamma([2], [[1.0], [3.0]], beta=[[3.0, 4.0]])],
    "gamma-f64": lambda tf, feed: [tf.random.gamma([2], 1.0, dtype=tf.float64)],
    "gamma-f16": lambda tf, feed: [tf.random.gamma([2], 1.0, dtype=tf.float16)],
    "gamma-int-dtype": lambda tf, feed: [tf.random_gamma([2], 1, dtype=tf.int32)],
    "gamma-shape-rank2": lambda tf, feed: [tf.random_gamma([[2]], 1.0)],
    "gamma-shape-scalar": lambda tf, feed: [tf.random_gamma(3, 1.0)],
    "gamma-shape-negative": lambda tf, feed: [tf.random_gamma([-2], 1.0)],
    "gamma-shape-float": lambda tf, feed: [tf.random_gamma([2.0], 1.0)],
    "gamma-fed-alpha": _fed(lambda tf, fd: [tf.random_gamma([3], *fd(np.ones((2, 4), f32)))]),
    "gamma-fed-shape": _fed(lambda tf, fd: [tf.random_gamma(*fd(np.array([2, 3], i32)), 1.0)]),
    "gamma-fed-shape-rank2": _fed(
        lambda tf, fd: [tf.random_gamma(*fd(np.ones((1, 1), i32)), 1.0)]
    ),
    "gamma-fed-shape-negative": _fed(
        lambda tf, fd: [tf.random_gamma(*fd(np.array([-1], i32)), 1.0)]
    ),
    # poisson
    "poisson": lambda tf, feed: [tf.random_poisson([0.5, 1.5], [3])],
    "poisson-int64": lambda tf, feed: [tf.random.poisson([0.5, 1.5], [3, 2], dtype=tf.int64)],
    "poisson-int-rate": lambda tf, feed: [tf.random_poisson([1, 2], [3])],
    "poisson-bool": lambda tf, feed: [tf.random_poisson([1.0], [2], dtype=tf.bool)],
    "poisson-shape-rank2": lambda tf, feed: [tf.random_poisson([1.0], [[2]])],
    "poisson-fed-shape-negative": _fed(
        lambda tf, fd: [tf.random_poisson([1.0], *fd(np.array([-1], i32)))]
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CASES))
def test_shapes_dtypes_and_errors_match_tensorflow(name):
    assert_same(CASES[name], run=_summary)


def _values(sess, fetches, feed):
    return sess.run(fetches, feed)


DETERMINED = {
    "one-finite-logit": lambda tf, feed: [
        tf.random.categorical([[-np.inf, 0.0, -np.inf], [5.0, -np.inf, -np.inf]], 6)
    ],
    "no-finite-logit": lambda tf, feed: [tf.random.categorical([[-np.inf, -np.inf]], 3)],
    "shuffle-one-row": lambda tf, feed: [tf.random_shuffle([[1.0, 2.0, 3.0]])],
    "gamma-degenerate-alpha": lambda tf, feed: [tf.random_gamma([2], [0.0, -1.0, np.nan])],
    "poisson-zero-rate": lambda tf, feed: [tf.random_poisson([0.0, -2.0], [3])],
}


@pytest.mark.parametrize("name", sorted(DETERMINED))
def test_determined_values_match_tensorflow(name):
    assert_same(DETERMINED[name], run=_values)


def _stats(kind):
    def run(sess, fetches, feed):
        v = sess.run(fetches, feed)[0]
        if kind == "freq":
            return [np.stack([np.bincount(r, minlength=4) / r.size for r in v])]
        return [v.astype(f64).mean(0), v.astype(f64).var(0)]

    return run


def test_categorical_frequencies_match_tensorflow():
    logits = np.array([[0.0, 1.0, 2.0, -np.inf], [np.inf, 0.0, 1.0, np.nan]], f32)
    assert_same(
        lambda tf, feed: [tf.random.categorical(logits, 20000, seed=5)],
        run=_stats("freq"),
        rtol=0,
        atol=0.02,
    )


def test_gamma_and_poisson_moments_match_tensorflow():
    alpha = np.array([0.25, 1.0, 4.0], f32)
    assert_same(
        lambda tf, feed: [tf.random_gamma([20000], alpha, beta=[[1.0], [2.0]], seed=2)],
        run=_stats("moments"),
        rtol=0.12,
        atol=0.0,
    )
    assert_same(
        lambda tf, feed: [tf.random_poisson([0.5, 3.0, 12.0], [20000], seed=2)],
        run=_stats("moments"),
        rtol=0.1,
        atol=0.0,
    )


def test_gradient_structure_matches_tensorflow():
    def build(tf, feed):
        x = tf.constant([0.5, 2.0])
        out = [
            tf.gradients(tf.reduce_sum(tf.random_shuffle(x)), x),
            tf.gradients(tf.reduce_sum(tf.cast(tf.multinomial([[0.0, 1.0]], 2), tf.float32)), x),
        ]
        assert out == [[None], [None]]
        (g,) = tf.gradients(tf.reduce_mean(tf.random_gamma([5000], x, seed=1)), x)
        return [g]

    assert_same(build, run=lambda s, f, d: [np.round(s.run(f)[0], 1)])  # ~1 each, as E[x] = a
    for tf in (TF, GJ):
        with tf.Graph().as_default():
            x = tf.constant([0.5, 2.0])
            with pytest.raises(LookupError):
                tf.gradients(tf.reduce_sum(tf.random_poisson(x, [2])), x)


def test_random_gamma_grad_matches_tensorflow_kernel():
    from tensorflow.python.ops import gen_random_ops

    from graphjit.ops.common import make1

    rng = np.random.default_rng(0)
    for dt, rtol in ((f64, 1e-7), (f32, 2e-4)):
        alpha = np.concatenate([rng.uniform(0.05, 1.0, 20), rng.uniform(1.0, 60.0, 20)]).astype(dt)
        sample = rng.gamma(alpha).astype(dt) + dt(1e-6)
        with TF.Graph().as_default(), TF.Session() as s:
            want = s.run(gen_random_ops.random_gamma_grad(alpha, sample))
        with GJ.Graph().as_default(), GJ.Session() as s:
            a, x = GJ.constant(alpha), GJ.constant(sample)
            got = s.run(make1("RandomGammaGrad", [a, x], {"T": a.dtype}))
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-30)


def _program(tf):
    tf.set_random_seed(3)
    c = tf.random.categorical([[0.0, 1.0, -np.inf]], 5, name="c")
    s = tf.random_shuffle([[1, 2], [3, 4], [5, 6]], name="s")
    if tf is GJ:
        g = tf.random_gamma([4], [0.5, 2.0], beta=[1.0, 3.0], name="g")
    else:  # TF 2.x's random_gamma broadcasts with BroadcastArgs, which graphjit lacks
        from tensorflow.python.ops import gen_random_ops

        g = gen_random_ops.random_gamma([4], [0.5, 2.0], seed=1, seed2=2)
    p = tf.random_poisson([1.0, 4.0], [3], dtype=tf.int32, name="p")
    return [t.name for t in (c, s, g, p)]


def _check_program_values(vals):
    c, s, g, p = vals
    assert c.shape == (1, 5) and set(np.unique(c)) <= {0, 1}
    assert sorted(s[:, 0].tolist()) == [1, 3, 5]
    assert g.shape == (4, 2) and (g > 0).all() and p.shape == (3, 2) and p.dtype == i32


def test_graph_defs_run_in_the_other_framework():
    with GJ.Graph().as_default() as g:
        names = _program(GJ)
    gd = TF.GraphDef.FromString(g.as_graph_def().SerializeToString())
    with TF.Graph().as_default() as tg:
        TF.import_graph_def(gd, name="")
        with TF.Session() as sess:
            _check_program_values(sess.run(names))
    with TF.Graph().as_default() as tg:
        names = _program(TF)
    gd = GJ.GraphDef.FromString(tg.as_graph_def().SerializeToString())
    with GJ.Graph().as_default():
        GJ.import_graph_def(gd, name="")
        with GJ.Session() as sess:
            _check_program_values(sess.run(names))
