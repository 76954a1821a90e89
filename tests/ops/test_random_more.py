"""Multinomial / categorical, RandomShuffle, RandomGamma, RandomPoissonV2: shapes, TF1 seed
semantics, distributions, TF's edge cases and errors, compiled == interpreted, gradients."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit
import graphjit.compat.v1 as tf
from graphjit import config
from graphjit.ops import registry
from graphjit.ops.random import RANDOM
from graphjit.ops.random_gamma_grad import gamma_sample_grad

BUILDERS = {
    "categorical": lambda: tf.random.categorical([[0.0, 1.0, 2.0]], 6),
    "multinomial": lambda: tf.multinomial(tf.zeros([2, 5]), 12, output_dtype=tf.int32),
    "shuffle": lambda: tf.random_shuffle(np.arange(8.0)),
    "gamma": lambda: tf.random_gamma([5], [0.5, 2.0], beta=[[1.0], [3.0]]),
    "poisson": lambda: tf.random_poisson([0.5, 4.0], [6]),
}


def _runs(build, seed=None, n_sessions=2, runs=2):
    g = tf.Graph()
    with g.as_default():
        if seed is not None:
            tf.set_random_seed(seed)
        t = build()
    out = []
    for _ in range(n_sessions):
        with tf.Session(graph=g) as s:
            out.append([s.run(t) for _ in range(runs)])
    return out


# ------------------------------------------------------------------ shapes, dtypes, names


def test_static_shapes_dtypes_and_names(graph):
    c = tf.random.categorical([[0.0, 1.0, 2.0]], 4)
    m = tf.multinomial(tf.zeros([2, 3]), 5, output_dtype=tf.int32)
    s = tf.random_shuffle([[1, 2], [3, 4], [5, 6]])
    g = tf.random_gamma([2, 3], [0.5, 1.5])
    gb = tf.random_gamma([4], [[1.0], [3.0]], beta=[3.0, 4.0], dtype=tf.float64)
    p = tf.random_poisson([0.5, 1.5], [3], dtype=tf.int64)
    assert (c.op.name, c.dtype, c.shape.as_list()) == ("categorical/Multinomial", tf.int64, [1, 4])
    assert (m.op.name, m.dtype, m.shape.as_list()) == ("multinomial/Multinomial", tf.int32, [2, 5])
    assert (s.op.name, s.dtype, s.shape.as_list()) == ("RandomShuffle", tf.int32, [3, 2])
    assert (g.dtype, g.shape.as_list()) == (tf.float32, [2, 3, 2])
    assert g.op.name == "random_gamma/Maximum"
    assert tf.get_default_graph().get_operation_by_name("random_gamma/RandomGamma").type == (
        "RandomGamma"
    )
    assert (gb.dtype, gb.shape.as_list()) == (tf.float64, [4, 2, 2])
    assert (p.op.type, p.dtype, p.shape.as_list()) == ("RandomPoissonV2", tf.int64, [3, 2])
    with tf.Session() as sess:
        vals = sess.run([c, m, s, g, gb, p])
    for t, v in zip([c, m, s, g, gb, p], vals):
        assert v.dtype == t.dtype.np and list(v.shape) == t.shape.as_list()


def test_partial_shapes_from_placeholders(graph):
    logits = tf.placeholder(tf.float32, [None, 3])
    n = tf.placeholder(tf.int32, [])
    assert tf.random.categorical(logits, n).shape.as_list() == [None, None]
    assert tf.random.categorical(logits, 7).shape.as_list() == [None, 7]
    assert tf.random_shuffle(tf.placeholder(tf.float32, [None, 3])).shape.as_list() == [None, 3]
    shape = tf.placeholder(tf.int32, [2])
    alpha = tf.placeholder(tf.float32, [None, 4])
    assert tf.random_gamma(shape, alpha).shape.as_list() == [None, None, None, 4]
    assert tf.random_gamma(tf.placeholder(tf.int32), 1.0).shape.ndims is None


def test_namespaces_expose_the_new_ops():
    assert tf.random.categorical is not None and tf.random.multinomial is tf.multinomial
    assert tf.random.shuffle is tf.random_shuffle and tf.random.gamma is tf.random_gamma
    assert tf.random.poisson is tf.random_poisson
    with tf.Graph().as_default():
        assert tf.random.get_seed(None) == (None, None)
        tf.set_random_seed(5)
        assert tf.random.get_seed(3) == (5, 3)


# ------------------------------------------------------------------ seed semantics


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_graph_seed_repeats_in_fresh_sessions_and_runs_differ(name):
    (a1, a2), (b1, b2) = _runs(BUILDERS[name], seed=7)
    np.testing.assert_array_equal(a1, b1)
    np.testing.assert_array_equal(a2, b2)
    assert not np.array_equal(a1, a2)


@pytest.mark.parametrize("name", ["categorical", "shuffle", "gamma"])
def test_unseeded_ops_differ_between_sessions(name):
    build = {
        "categorical": lambda: tf.random.categorical(tf.zeros([1, 50]), 20),
        "shuffle": lambda: tf.random_shuffle(np.arange(30)),
        "gamma": lambda: tf.random_gamma([20], 1.0),
    }[name]
    ((a,), (b,)) = _runs(build, runs=1)
    assert not np.array_equal(a, b)


def test_op_seed_alone_is_deterministic_and_distinct_seeds_differ():
    def build():
        return [tf.random_shuffle(np.arange(20), seed=1), tf.random_shuffle(np.arange(20), seed=2)]

    ((a,), (b,)) = _runs(build, runs=1)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], a[1])


def test_failed_run_does_not_advance_the_stream(graph):
    tf.set_random_seed(2)
    c = tf.random.categorical(tf.zeros([1, 10]), 8)
    bad = tf.placeholder(tf.int32, [])
    boom = tf.gather([1, 2], bad)
    with tf.Session() as s:
        with pytest.raises(tf.errors.InvalidArgumentError):
            s.run([c, boom], {bad: 5})
        first = s.run(c)
    with tf.Session() as s:
        np.testing.assert_array_equal(s.run(c), first)


# ------------------------------------------------------------------ categorical


def test_categorical_frequencies_match_softmax(graph, sess):
    tf.set_random_seed(11)
    logits = np.array([[0.0, 1.0, 2.0, -1.0], [3.0, 0.0, 0.0, 0.0]], np.float32)
    v = sess.run(tf.random.categorical(logits, 20000))
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    for row, probs in zip(v, p):
        freq = np.bincount(row, minlength=4) / row.size
        np.testing.assert_allclose(freq, probs, atol=0.015)  # about 4 standard deviations


def test_non_finite_logits_are_never_drawn(graph, sess):
    tf.set_random_seed(3)
    logits = np.array(
        [[-np.inf, 0.0, -np.inf, 0.0], [np.nan, 0.0, np.inf, np.log(3.0)]], np.float32
    )
    v = sess.run(tf.random.categorical(logits, 4000))
    assert set(np.unique(v[0])) == {1, 3}
    assert set(np.unique(v[1])) == {1, 3}  # TF's kernel gives NaN and +inf no weight
    assert 0.7 < (v[1] == 3).mean() < 0.8


def test_a_row_without_finite_logits_yields_num_classes_as_tf(graph, sess):
    v = sess.run(tf.random.categorical([[-np.inf, -np.inf, -np.inf]], 3))
    np.testing.assert_array_equal(v, [[3, 3, 3]])


def test_categorical_empty_results(graph, sess):
    a = tf.random.categorical([[0.0, 1.0]], 0)
    b = tf.random.categorical(np.zeros((0, 3), np.float32), 4)
    va, vb = sess.run([a, b])
    assert va.shape == (1, 0) and va.dtype == np.int64
    assert vb.shape == (0, 4)


def test_categorical_float64_and_float16_logits(graph, sess):
    tf.set_random_seed(1)
    for dt in (np.float64, np.float16):
        v = sess.run(tf.random.categorical(np.array([[0.0, -np.inf, 5.0]], dt), 50))
        assert v.dtype == np.int64 and set(np.unique(v)) <= {0, 2}


def test_categorical_build_errors(graph):
    with pytest.raises(ValueError, match="rank 2"):
        tf.random.categorical([0.0, 1.0], 3)
    with pytest.raises(ValueError, match="rank 2"):
        tf.random.categorical([[[0.0, 1.0]]], 3)
    with pytest.raises(ValueError, match="rank 0"):
        tf.random.categorical([[0.0, 1.0]], [3])
    with pytest.raises(ValueError, match="non-negative"):
        tf.random.categorical([[0.0, 1.0]], -1)
    with pytest.raises(ValueError, match="Accepted dtypes"):
        tf.random.categorical([[0.0, 1.0]], 3, dtype=tf.float32)
    with pytest.raises(TypeError):
        tf.random.categorical([[0.0, 1.0]], 3.0)


def test_categorical_run_errors(graph, sess):
    logits = tf.placeholder(tf.float32)
    n = tf.placeholder(tf.int32, [])
    c = tf.random.categorical(logits, n)
    err = tf.errors.InvalidArgumentError
    with pytest.raises(err, match=r"logits should be a matrix, got shape \[3\]"):
        sess.run(c, {logits: np.zeros(3), n: 2})
    with pytest.raises(err, match="num_samples should be non-negative, got -2"):
        sess.run(c, {logits: np.zeros((1, 3)), n: -2})
    with pytest.raises(err, match="num_classes should be positive, got 0"):
        sess.run(c, {logits: np.zeros((2, 0)), n: 2})
    with pytest.raises(err, match="No OpKernel"):
        sess.run(tf.random.categorical([[1, 2]], 3))


# ------------------------------------------------------------------ shuffle


def test_shuffle_is_a_permutation_of_rows(graph, sess):
    tf.set_random_seed(5)
    x = np.arange(40).reshape(20, 2)
    s = tf.random_shuffle(x)
    seen = set()
    for _ in range(4):
        v = sess.run(s)
        np.testing.assert_array_equal(v[np.argsort(v[:, 0])], x)  # rows stay intact
        seen.add(tuple(v[:, 0]))
    assert len(seen) > 1


@pytest.mark.parametrize(
    "value", [np.float32(5.0), np.zeros((0, 2), np.float32), np.array([[1, 2]]), [b"a"]]
)
def test_shuffle_passes_scalars_and_short_axes_through(graph, sess, value):
    v = sess.run(tf.random_shuffle(value))
    np.testing.assert_array_equal(v, np.asarray(value))


def test_shuffle_strings_and_bools(graph, sess):
    v = sess.run(tf.random_shuffle(["a", "b", "c"]))
    assert sorted(v.tolist()) == [b"a", b"b", b"c"]
    assert sorted(sess.run(tf.random_shuffle([True, False])).tolist()) == [False, True]


# ------------------------------------------------------------------ gamma


def test_gamma_moments_including_alpha_below_one(graph, sess):
    tf.set_random_seed(9)
    alpha = np.array([0.2, 0.7, 1.0, 2.5, 9.0], np.float32)
    beta = np.array([[1.0], [2.0]], np.float32)
    v = sess.run(tf.random_gamma([20000], alpha, beta=beta))
    assert v.shape == (20000, 2, 5) and v.min() > 0
    mean, var = alpha / beta, alpha / beta**2
    np.testing.assert_allclose(v.mean(0), mean, rtol=0.05)
    np.testing.assert_allclose(v.var(0), var, rtol=0.12)


def test_gamma_edge_alphas_follow_tf(graph, sess):
    v = sess.run(tf.random_gamma([3], [0.0, -1.0, np.nan, 1e-30]))
    tiny = np.finfo(np.float32).tiny
    np.testing.assert_array_equal(v[:, 0], [tiny] * 3)  # a zero sample, clamped as TF does
    assert np.isnan(v[:, 1:3]).all()
    np.testing.assert_array_equal(v[:, 3], [tiny] * 3)


def test_gamma_dtypes(graph, sess):
    for dt in (tf.float16, tf.float64):
        v = sess.run(tf.random_gamma([4], 2.0, dtype=dt))
        assert v.dtype == dt.np and v.shape == (4,)
    with pytest.raises(ValueError, match="not inexact"):
        tf.random_gamma([2], 1, dtype=tf.int32)


def test_gamma_shape_errors(graph, sess):
    with pytest.raises(ValueError, match="rank 1"):
        tf.random_gamma([[2]], 1.0)
    with pytest.raises(ValueError, match="rank 1"):
        tf.random_gamma(3, 1.0)
    with pytest.raises(ValueError, match="Invalid value in tensor used for shape: -2"):
        tf.random_gamma([-2], 1.0)
    with pytest.raises(TypeError):
        tf.random_gamma([2.0], 1.0)
    shape = tf.placeholder(tf.int32)
    g = tf.random_gamma(shape, 1.0)
    err = tf.errors.InvalidArgumentError
    with pytest.raises(err, match=r"shape must be a vector of \{int32,int64\}"):
        sess.run(g, {shape: np.ones((1, 1), np.int32)})
    with pytest.raises(err, match="Dimension -1 must be >= 0"):
        sess.run(g, {shape: [-1]})


# ------------------------------------------------------------------ poisson


def test_poisson_moments_dtypes_and_non_positive_rates(graph, sess):
    tf.set_random_seed(4)
    lam = np.array([0.5, 3.0, 20.0, 0.0, -1.0], np.float32)
    f = tf.random_poisson(lam, [20000])
    i = tf.random.poisson(lam, [3], dtype=tf.int32)
    vf, vi = sess.run([f, i])
    assert vf.dtype == np.float32 and vi.dtype == np.int32 and vi.shape == (3, 5)
    np.testing.assert_allclose(vf.mean(0)[:3], lam[:3], rtol=0.05)
    np.testing.assert_allclose(vf.var(0)[:3], lam[:3], rtol=0.1)
    assert not vf[:, 3:].any() and not vi[:, 3:].any()  # TF draws 0 for rate <= 0
    with pytest.raises(TypeError):
        tf.random_poisson([1.0], [2], dtype=tf.bool)


# ------------------------------------------------------------------ compiled == interpreted


def _mixed_program():
    tf.set_random_seed(21)
    x = tf.placeholder(tf.float32, [None])
    c = tf.cast(tf.random.categorical([[0.0, 1.0, 2.0]], 5), tf.float32) * 2.0 + 1.0
    s = tf.random_shuffle(x) * 3.0
    g = -tf.random_gamma([4], [0.5, 2.0]) * 4.0  # exact arithmetic: no ulp differences
    p = tf.random_poisson([1.0, 5.0], [3]) + 1.0
    return x, [c, s, g, p]


def test_compiled_chain_draws_the_interpreters_numbers():
    feed = np.arange(6, dtype=np.float32)
    g = tf.Graph()
    with g.as_default():
        x, fetches = _mixed_program()
    with tf.Session(graph=g) as sess:
        info = graphjit.inspect_chain(sess, fetches, [x])
        fn = sess.make_callable(fetches, [x])
        compiled = [fn(feed) for _ in range(2)]
        compiled.append(sess.run(fetches, {x: feed}))  # the run path, same streams
    with config.override(disable_jit=True), tf.Session(graph=g) as sess:
        interp = [sess.run(fetches, {x: feed}) for _ in range(3)]
    links = {t: why for _, t, why in info["links"]}
    for op_type in ("Multinomial", "RandomShuffle", "RandomGamma", "RandomPoissonV2"):
        assert links[op_type] == RANDOM
    assert {"Mul", "Neg"} <= {t for seg in info["segments"] for _, t in seg["ops"]}
    for a, b in zip(compiled, interp):
        for u, v in zip(a, b):
            np.testing.assert_array_equal(u, v)
    assert not np.array_equal(compiled[0][1], compiled[1][1]) or not np.array_equal(
        compiled[0][2], compiled[1][2]
    )


def test_registry_entries_are_stateful_random_fallbacks():
    for op_type in ("Multinomial", "RandomShuffle", "RandomGamma", "RandomPoissonV2"):
        d = registry.get(op_type)
        assert d.stateful and d.uses_ctx and not d.compilable and d.fallback == RANDOM
    assert not registry.get("RandomGammaGrad").compilable


def test_graph_def_round_trip_keeps_the_ops(graph):
    tf.set_random_seed(1)
    c = tf.random.categorical([[0.0, 1.0]], 3, name="c")
    s = tf.random_shuffle([1, 2, 3], name="s")
    gd = graph.as_graph_def()
    with tf.Graph().as_default() as g2:
        tf.import_graph_def(gd, name="")
        c2 = g2.get_tensor_by_name("c/Multinomial:0")
        with tf.Session() as sess:
            v, vs = sess.run([c2, "s:0"])
    with tf.Session(graph=graph) as sess:
        np.testing.assert_array_equal(sess.run(c), v)  # seeds travel in the attrs
        np.testing.assert_array_equal(sess.run(s), vs)


# ------------------------------------------------------------------ gradients


def test_shuffle_and_multinomial_have_no_gradient_and_poisson_none_registered(graph):
    x = tf.constant([1.0, 2.0, 3.0])
    assert tf.gradients(tf.reduce_sum(tf.random_shuffle(x)), x) == [None]
    m = tf.cast(tf.random.categorical(tf.expand_dims(x, 0), 2), tf.float32)
    assert tf.gradients(tf.reduce_sum(m), x) == [None]
    with pytest.raises(LookupError, match="RandomPoissonV2"):
        tf.gradients(tf.reduce_sum(tf.random_poisson(x, [2])), x)


def test_gamma_gradient_is_the_summed_implicit_derivative(graph, sess):
    tf.set_random_seed(6)
    alpha = tf.constant([0.4, 3.0], tf.float64)
    beta = tf.constant([2.0, 0.5], tf.float64)
    y = tf.random_gamma([50], alpha, beta=beta, dtype=tf.float64)
    raw = graph.get_operation_by_name("random_gamma/RandomGamma").outputs[0]
    ga, gb = tf.gradients(tf.reduce_sum(y), [alpha, beta])
    vr, va, vb = sess.run([raw, ga, gb])
    want_a = (gamma_sample_grad(np.array([0.4, 3.0]), vr) / [2.0, 0.5]).sum(0)
    np.testing.assert_allclose(va, want_a, rtol=1e-10)
    np.testing.assert_allclose(vb, -(vr / np.array([2.0, 0.5]) ** 2).sum(0), rtol=1e-10)


def test_gamma_gradient_of_the_mean_is_about_one_over_beta(graph, sess):
    # E[x] = alpha / beta, so the reparameterised derivative of the sample mean is ~1 / beta.
    tf.set_random_seed(8)
    alpha = tf.constant([0.3, 1.0, 6.0])
    (ga,) = tf.gradients(tf.reduce_mean(tf.random_gamma([20000], alpha), axis=0), [alpha])
    np.testing.assert_allclose(sess.run(ga), 1.0, rtol=0.05)


# RandomGammaGrad(alpha, sample) from TensorFlow 2.21's float64 kernel.
_TF_ALPHA = [0.5, 1.0, 3.0, 0.1, 10.0, 100.0, 2.0, 0.01, 1000.0, 1000.0, 0.3, 5.0, 1e4, 50.0]
_TF_SAMPLE = [
    0.3,
    1.0,
    2.5,
    1e-3,
    12.0,
    90.0,
    1e-4,
    1e-20,
    950.0,
    1100.0,
    5.0,
    30.0,
    1e4 + 50,
    1e-3,
]
_TF_GRAD = [
    1.0098019459488548, 1.1735630272247275, 0.9633618288399735, 0.06490724738374097,
    1.112329443018088, 0.9498259498011444, 0.0005066736798969947, 4.5490816402012235e-17,
    0.9747350236971646, 1.048586678561644, 4.699824415679841, 2.21690216285028,
    1.002512552136073, 0.0002165991537783224,
]  # fmt: skip


def test_gamma_sample_grad_matches_tensorflow_values():
    got = gamma_sample_grad(np.array(_TF_ALPHA), np.array(_TF_SAMPLE))
    np.testing.assert_allclose(got, _TF_GRAD, rtol=1e-6)
    edge = gamma_sample_grad(np.array([1.0, 2.0, -1.0, np.nan, 0.0, 1.0]), [0, 0, 1, 1, 1, np.inf])
    np.testing.assert_array_equal(edge, [0.0, 0.0, np.nan, np.nan, np.nan, 0.0])
