"""Round-2 op library: linalg, ordering/segments, losses, scatter state ops, debugging ops and
py_func: values against numpy (run and make_callable), gradients against finite differences,
build-time errors naming the op."""

from __future__ import annotations

import numpy as np
import pytest
from ops_helpers import check_gradient, oracle, run_all

import graphjit.compat.v1 as tf
from graphjit.errors import FailedPreconditionError, InvalidArgumentError, OutOfRangeError

R = np.random.default_rng(3)


def _mirror_pad_grad(x, paddings, mode):
    from graphjit.ops.array_split import mirror_pad_grad

    return mirror_pad_grad(x, paddings, mode)


def u(*shape, lo=-1.0, hi=1.0):
    return R.uniform(lo, hi, size=shape)


# (id, build_fn, inputs, numpy reference)
VALUES = [
    ("tensordot", lambda a, b: tf.tensordot(a, b, 1), [u(2, 3, 4), u(4, 5)],
     lambda a, b: np.tensordot(a, b, 1)),
    ("tensordot_pairs", lambda a, b: tf.tensordot(a, b, [[0, 2], [1, 0]]), [u(2, 3, 4), u(4, 2)],
     lambda a, b: np.tensordot(a, b, [[0, 2], [1, 0]])),
    ("batch_matmul", lambda a, b: tf.matmul(a, b), [u(2, 3, 4), u(2, 4, 5)], np.matmul),
    ("batch_matmul_bcast_adj", lambda a, b: tf.matmul(a, b, adjoint_a=True, transpose_b=True),
     [u(2, 1, 4, 3), u(3, 5, 4)],
     lambda a, b: np.matmul(np.swapaxes(a, -1, -2), np.swapaxes(b, -1, -2))),
    ("einsum", lambda a, b: tf.einsum("ij,jk->ik", a, b), [u(2, 3), u(3, 4)], np.matmul),
    ("einsum_batch", lambda a, b: tf.einsum("bij,bkj->bik", a, b), [u(2, 2, 3), u(2, 4, 3)],
     lambda a, b: np.einsum("bij,bkj->bik", a, b)),
    ("norm", lambda x: tf.norm(x), [u(2, 3)], lambda x: np.linalg.norm(x)),
    ("norm_axis_1", lambda x: tf.norm(x, ord=1, axis=1), [u(2, 3)],
     lambda x: np.abs(x).sum(1)),
    ("norm_matrix_inf", lambda x: tf.norm(x, ord=np.inf, axis=[0, 1]), [u(2, 3)],
     lambda x: np.linalg.norm(x, np.inf)),
    ("trace", tf.trace, [u(2, 3, 3)], lambda x: np.trace(x, axis1=-2, axis2=-1)),
    ("linalg_diag", tf.linalg.diag, [u(2, 3)], lambda x: np.stack([np.diag(r) for r in x])),
    ("diag_part", tf.linalg.diag_part, [u(3, 4)], np.diagonal),
    ("diag", tf.diag, [u(2, 2)], lambda x: np.diag(x.ravel()).reshape(2, 2, 2, 2)),
    ("sort", tf.sort, [np.array([[3.0, 1.0, 2.0], [0.0, -1.0, 5.0]])], np.sort),
    ("sort_desc_axis0", lambda x: tf.sort(x, axis=0, direction="DESCENDING"),
     [np.array([[3, 1], [0, 4], [2, 2]], np.int32)], lambda x: -np.sort(-x, axis=0)),
    ("argsort_ties", tf.argsort, [np.array([2.0, 1.0, 2.0, 1.0])],
     lambda x: np.argsort(x, kind="stable").astype(np.int32)),
    ("top_k", lambda x: list(tf.nn.top_k(x, 2)), [np.array([[1.0, 5.0, 3.0, 5.0]])],
     lambda x: [np.array([[5.0, 5.0]]), np.array([[1, 3]], np.int32)]),
    ("unique", lambda x: list(tf.unique(x)), [np.array([4, 1, 4, 2, 1], np.int32)],
     lambda x: [np.array([4, 1, 2], np.int32), np.array([0, 1, 0, 2, 1], np.int32)]),
    ("segment_sum", lambda d, i: tf.segment_sum(d, i), [u(3, 2), np.array([0, 0, 2], np.int32)],
     lambda d, i: np.stack([d[0] + d[1], 0 * d[0], d[2]])),
    ("unsorted_segment_max", lambda d, i: tf.unsorted_segment_max(d, i, 3),
     [np.array([1.0, 4.0, 3.0]), np.array([1, 1, 0], np.int32)],
     lambda d, i: np.array([3.0, 4.0, np.finfo(np.float64).min])),
    ("unsorted_segment_mean", lambda d, i: tf.unsorted_segment_mean(d, i, 3),
     [np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), np.array([1, 1, 0], np.int32)],
     lambda d, i: np.array([[5.0, 6.0], [2.0, 3.0], [0.0, 0.0]])),
    ("sequence_mask", lambda n: tf.sequence_mask(n, 4), [np.array([1, 3], np.int32)],
     lambda n: np.arange(4) < n[:, None]),
    ("meshgrid", lambda x, y: tf.meshgrid(x, y), [u(3), u(2)], lambda x, y: np.meshgrid(x, y)),
    ("meshgrid_ij", lambda x, y: tf.meshgrid(x, y, indexing="ij"), [u(3), u(2)],
     lambda x, y: np.meshgrid(x, y, indexing="ij")),
    ("linspace", lambda a, b: tf.linspace(a, b, 5), [np.float32(0), np.float32(2)],
     lambda a, b: np.linspace(a, b, 5, dtype=np.float32)),
    ("shape_n", lambda a, b: tf.shape_n([a, b]), [u(2, 3), u(4)],
     lambda a, b: [np.array([2, 3], np.int32), np.array([4], np.int32)]),
    ("size", tf.size, [u(2, 3)], lambda x: np.int32(6)),
    ("in_top_k", lambda p, t: tf.nn.in_top_k(p, t, 1),
     [np.array([[0.1, 0.9], [0.8, 0.2], [0.5, 0.5]], np.float32), np.array([1, 1, 1], np.int32)],
     lambda p, t: np.array([True, False, True])),
    ("moments", lambda x: list(tf.nn.moments(x, [0])), [u(4, 3)],
     lambda x: [x.mean(0), x.var(0)]),
    ("batch_normalization", lambda x, mu, v, o, s: tf.nn.batch_normalization(x, mu, v, o, s, 1e-3),
     [u(4, 3), u(3), u(3, lo=0.5), u(3), u(3)],
     lambda x, mu, v, o, s: (x - mu) / np.sqrt(v + 1e-3) * s + o),
    ("l2_normalize", lambda x: tf.nn.l2_normalize(x, 1), [u(2, 3)],
     lambda x: x / np.sqrt((x**2).sum(1, keepdims=True))),
    ("embedding_lookup", lambda p: tf.nn.embedding_lookup(p, [2, 0, 2]), [u(3, 2)],
     lambda p: p[[2, 0, 2]]),
    ("transpose_unknown_rank", lambda x: tf.transpose(tf.placeholder_with_default(x, None)),
     [u(2, 3, 4)], lambda x: x.T),
    ("mirror_pad", lambda x: tf.pad(x, [[1, 2], [2, 1]], "REFLECT"), [u(3, 4)],
     lambda x: np.pad(x, [[1, 2], [2, 1]], mode="reflect")),
]  # fmt: skip


@pytest.mark.parametrize("build,inputs,ref", [c[1:] for c in VALUES], ids=[c[0] for c in VALUES])
def test_op_values_match_numpy(build, inputs, ref):
    oracle(build, inputs, ref)


def test_embedding_lookup_mod_and_div_shards():
    g = tf.Graph()
    with g.as_default():
        p0, p1 = tf.constant([[0.0], [2.0]]), tf.constant([[1.0], [3.0]])
        mod = tf.nn.embedding_lookup([p0, p1], [3, 0, 1, 2])
        d0, d1 = tf.constant([[0.0], [1.0]]), tf.constant([[2.0]])
        div = tf.nn.embedding_lookup([d0, d1], [2, 0, 1], partition_strategy="div")
    with tf.Session(graph=g) as s:
        m, d = s.run([mod, div])
    np.testing.assert_array_equal(m.ravel(), [3, 0, 1, 2])
    np.testing.assert_array_equal(d.ravel(), [2, 0, 1])


GRADS = [
    ("BatchMatMulV2", lambda a, b: tf.matmul(a, b), [u(2, 2, 3), u(3, 2)]),
    ("BatchMatMulV2_adj", lambda a, b: tf.matmul(a, b, True, True), [u(2, 3, 2), u(1, 4, 3)]),
    ("Einsum", lambda a, b: tf.einsum("bij,jk->bik", a, b), [u(2, 2, 3), u(3, 2)]),
    ("tensordot", lambda a, b: tf.tensordot(a, b, [[1], [0]]), [u(2, 3), u(3, 2)]),
    ("MatrixDiag", tf.linalg.diag, [u(2, 3)]),
    ("MatrixDiagPart", tf.linalg.diag_part, [u(3, 2)]),
    ("Diag", tf.diag, [u(3)]),
    ("DiagPart", tf.diag_part, [u(2, 2)]),
    ("norm", lambda x: tf.norm(x, axis=1), [u(2, 3)]),
    ("TopKV2", lambda x: tf.nn.top_k(x, 2)[0], [np.array([[0.3, -0.5, 0.9], [0.1, 0.7, -0.2]])]),
    ("sort", tf.sort, [np.array([0.3, -0.5, 0.9, 0.1])]),
    ("SegmentSum", lambda d: tf.segment_sum(d, [0, 0, 1]), [u(3, 2)]),
    ("UnsortedSegmentMax", lambda d: tf.unsorted_segment_max(d, [1, 0, 1], 2),
     [np.array([0.1, 0.5, 0.9])]),
    ("unsorted_segment_mean", lambda d: tf.unsorted_segment_mean(d, [1, 0, 1], 2), [u(3, 2)]),
    ("moments", lambda x: tf.nn.moments(x, [0])[1], [u(4, 2)]),
    ("batch_normalization", lambda x, s: tf.nn.batch_normalization(x, np.float64(0.1), np.float64(0.5), np.float64(0.2), s, 1e-3),
     [u(3, 2), u(2)]),
    ("l2_normalize", lambda x: tf.nn.l2_normalize(x, 1), [u(2, 3)]),
    ("MirrorPad_reflect", lambda x: tf.pad(x, [[1, 2], [2, 1]], "REFLECT"), [u(3, 4)]),
    ("MirrorPad_symmetric", lambda x: tf.pad(x, [[2, 1]], "SYMMETRIC"), [u(3)]),
    ("MirrorPadGrad", lambda x: _mirror_pad_grad(x, [[1, 2]], "REFLECT"), [u(6)]),
    ("Cumprod", lambda x: tf.cumprod(x, axis=1), [u(2, 3, lo=0.5, hi=1.5)]),
    ("Cumprod_excl_rev", lambda x: tf.cumprod(x, exclusive=True, reverse=True),
     [u(4, lo=0.5, hi=1.5)]),
    ("CheckNumerics", lambda x: tf.check_numerics(x, "m") * 2.0, [u(3)]),
    ("Print", lambda x: tf.Print(x, [x], first_n=0) * 2.0, [u(3)]),
    ("conv2d_transpose", lambda x, f: tf.nn.conv2d_transpose(x, f, [1, 4, 4, 1], [1, 2, 2, 1]),
     [u(1, 2, 2, 2), u(2, 2, 1, 2)]),
]  # fmt: skip


@pytest.mark.parametrize("build,inputs", [c[1:] for c in GRADS], ids=[c[0] for c in GRADS])
def test_gradient_matches_finite_differences(build, inputs):
    check_gradient(build, inputs)


@pytest.mark.parametrize(
    "build,fragment",
    [
        (lambda: tf.matmul(tf.zeros([2, 3, 4]), tf.zeros([2, 5, 4])), "BatchMatMulV2"),
        (lambda: tf.nn.top_k(tf.zeros([2, 3]), 4), "TopKV2"),
        (lambda: tf.unique(tf.zeros([2, 2])), "Unique"),
        (lambda: tf.einsum("ij,jk->ik", tf.zeros([2, 3]), tf.zeros([4, 2])), "Einsum"),
        (lambda: tf.linspace(tf.zeros([2]), 1.0, 3), "LinSpace"),
        (lambda: tf.linalg.diag_part(tf.zeros([3])), "MatrixDiagPart"),
        (lambda: tf.tensordot(tf.zeros([2, 3]), tf.zeros([4, 2]), 1), "Tensordot"),
        (lambda: tf.segment_sum(tf.zeros([3]), tf.zeros([3, 1], tf.int32)), "SegmentSum"),
    ],
)
def test_build_time_errors_name_the_op(build, fragment):
    with tf.Graph().as_default(), pytest.raises(ValueError, match=fragment):
        build()


def test_top_k_run_time_error_for_small_input():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [None])
        vals, _ = tf.nn.top_k(x, 3)
    with tf.Session(graph=g) as s, pytest.raises(InvalidArgumentError, match="at least k"):
        s.run(vals, {x: [1.0, 2.0]})


def test_segment_sum_rejects_unsorted_ids_at_run_time():
    g = tf.Graph()
    with g.as_default():
        out = tf.segment_sum(tf.constant([1.0, 2.0]), tf.constant([1, 0]))
    with tf.Session(graph=g) as s, pytest.raises(InvalidArgumentError, match="not increasing"):
        s.run(out)


# ------------------------------------------------------------------ losses


def test_losses_reduce_by_nonzero_weights_and_collect():
    g = tf.Graph()
    with g.as_default():
        labels = tf.constant([[1.0, 2.0], [3.0, 4.0]])
        preds = tf.constant([[1.5, 2.0], [2.0, 6.0]])
        w = tf.constant([[1.0], [0.0]])
        mse = tf.losses.mean_squared_error(labels, preds, weights=w)
        ad = tf.losses.absolute_difference(labels, preds)
        none = tf.losses.mean_squared_error(
            labels, preds, loss_collection=None, reduction=tf.losses.Reduction.NONE
        )
        summ = tf.losses.absolute_difference(labels, preds, reduction=tf.losses.Reduction.SUM)
        sce = tf.losses.softmax_cross_entropy([[0.0, 1.0]], [[1.0, 2.0]], label_smoothing=0.2)
        ssce = tf.losses.sparse_softmax_cross_entropy([[1]], [[1.0, 2.0]])
        total = tf.losses.get_total_loss()
        assert mse.name == "mean_squared_error/value:0"
        assert len(tf.losses.get_losses()) == 5
    with tf.Session(graph=g) as s:
        v = s.run([mse, ad, none, summ, sce, ssce, total])
    sq = (np.array([[1.5, 2], [2, 6]]) - [[1, 2], [3, 4]]) ** 2
    assert v[0] == pytest.approx(sq[0].sum() / 2)  # two present weights (broadcast row)
    assert v[1] == pytest.approx(np.abs([0.5, 0, 1, 2]).mean())
    np.testing.assert_allclose(v[2], sq)
    assert v[3] == pytest.approx(3.5)
    y = np.array([0.1, 0.9])
    logp = np.array([1.0, 2.0]) - np.log(np.exp(1.0) + np.exp(2.0))
    assert v[4] == pytest.approx(-(y * logp).sum(), rel=1e-5)
    assert v[5] == pytest.approx(-logp[1], rel=1e-5)
    assert v[6] == pytest.approx(v[0] + v[1] + sum(v[3:6]), rel=1e-5)


def test_losses_reject_missing_labels():
    with tf.Graph().as_default(), pytest.raises(ValueError, match="labels must not be None"):
        tf.losses.mean_squared_error(None, [1.0])


# ------------------------------------------------------------------ scatter / count_up_to


def test_scatter_ops_update_rows_and_leave_variable_on_error():
    g = tf.Graph()
    with g.as_default():
        v = tf.Variable(np.zeros((3, 2), np.float32))
        idx = tf.placeholder(tf.int32, [None])
        upd = tf.scatter_update(v, idx, tf.ones([2, 2]))
        add = tf.scatter_add(v, [0, 0], [[1.0, 2.0], [3.0, 4.0]])
        sub = tf.scatter_sub(v, [2], [[1.0, 1.0]])
    with tf.Session(graph=g) as s:
        s.run(v.initializer)
        np.testing.assert_array_equal(s.run(upd, {idx: [0, 2]}), [[1, 1], [0, 0], [1, 1]])
        np.testing.assert_array_equal(s.run(add)[0], [5, 7])
        np.testing.assert_array_equal(s.run(sub)[2], [0, 0])
        with pytest.raises(InvalidArgumentError, match=r"indices\[1\] = 5 is not in \[0, 3\)"):
            s.run(upd, {idx: [0, 5]})
        np.testing.assert_array_equal(s.run(v), [[5, 7], [0, 0], [0, 0]])


def test_scatter_update_shape_mismatch_is_a_build_error():
    with tf.Graph().as_default():
        v = tf.Variable(np.zeros((3, 2), np.float32))
        with pytest.raises(ValueError, match="ScatterUpdate"):
            tf.scatter_update(v, [0], tf.zeros([1, 3]))


def test_count_up_to_raises_out_of_range_at_limit():
    g = tf.Graph()
    with g.as_default():
        v = tf.Variable(0, dtype=tf.int32)
        c = tf.count_up_to(v, 2)
    with tf.Session(graph=g) as s:
        with pytest.raises(FailedPreconditionError):
            s.run(c)
        s.run(v.initializer)
        assert [s.run(c), s.run(c)] == [0, 1]
        with pytest.raises(OutOfRangeError, match="Reached limit of 2"):
            s.run(c)
        assert s.run(v) == 2


# ------------------------------------------------------------------ debugging ops / py_func


def test_print_writes_message_and_data_to_stderr(capfd):
    g = tf.Graph()
    with g.as_default():
        x = tf.constant([1, 2, 3])
        y = tf.Print(x, [x, tf.constant(7)], message="vals: ", first_n=1)
        p = tf.print("x is", x)
    with tf.Session(graph=g) as s:
        np.testing.assert_array_equal(s.run(y), [1, 2, 3])
        s.run(y)  # first_n=1: printed once
        s.run(p)
    err = capfd.readouterr().err
    assert err.count("vals: [1 2 3][7]") == 1
    assert "x is [1 2 3]" in err


def test_assert_and_check_numerics_raise_at_run_time():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [None])
        check = tf.debugging.assert_greater(x, 0.0, message="x must be positive")
        with tf.control_dependencies([check]):
            y = tf.identity(x)
        cn = tf.check_numerics(x, "bad x")
    with tf.Session(graph=g) as s:
        np.testing.assert_array_equal(s.run(y, {x: [1.0]}), [1.0])
        with pytest.raises(InvalidArgumentError, match="x must be positive"):
            s.run(y, {x: [1.0, -1.0]})
        with pytest.raises(InvalidArgumentError, match="bad x : Tensor had NaN values"):
            s.run(cn, {x: [np.nan]})
        with pytest.raises(InvalidArgumentError, match="Tensor had Inf values"):
            s.make_callable(cn, [x])(np.array([np.inf], np.float32))


def test_assert_equal_on_constants_fails_at_build_time():
    with tf.Graph().as_default():
        tf.debugging.assert_equal(tf.constant([1, 2]), tf.constant([1, 2]))
        with pytest.raises(InvalidArgumentError, match="Condition x == y did not hold"):
            tf.debugging.assert_equal(tf.constant([1, 2]), tf.constant([1, 3]))


def test_py_func_calls_python_and_checks_output_dtype():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [None])
        ok = tf.py_func(lambda a: (a * 2, np.int64(a.size)), [x], [tf.float32, tf.int64])
        bad = tf.py_func(lambda a: a.astype(np.float64), [x], tf.float32)
        err = tf.numpy_function(lambda a: 1 / 0, [x], tf.float32)
        val = tf.py_func(lambda a: (_ for _ in ()).throw(ValueError("nope")), [x], tf.float32)
    feed = {x: np.array([1.0, 2.0], np.float32)}
    for name, got in run_all(ok, feed, g).items():
        np.testing.assert_array_equal(got[0], [2.0, 4.0], err_msg=name)
        assert got[1] == 2
    with tf.Session(graph=g) as s:
        with pytest.raises(InvalidArgumentError, match="is double, but expects float"):
            s.run(bad, feed)
        with pytest.raises(tf.errors.UnknownError, match="ZeroDivisionError"):
            s.run(err, feed)
        with pytest.raises(InvalidArgumentError, match="nope"):
            s.run(val, feed)


def test_unstack_and_scalar_slices_keep_rank_zero():
    g = tf.Graph()
    with g.as_default():
        x = tf.constant([3, 1, 2])
        parts = tf.unstack(x)
        last = tf.shape(x)[-1]
    for name, got in run_all([last, *parts], graph=g).items():
        assert all(np.shape(v) == () for v in got), name
