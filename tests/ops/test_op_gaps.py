"""Op library gaps (issue 5): StridedSlice shapes with tensor indices, BroadcastArgs/ListDiff,
tensordot of unknown rank or dims, and einsum gradients with repeated labels.

Expected static shapes are TF 2.21's (``tensorflow.compat.v1``); values are checked against
numpy and gradients against finite differences.
"""

from __future__ import annotations

import numpy as np
import pytest
from ops_helpers import check_gradient, oracle

import graphjit.compat.v1 as tf
from graphjit.errors import InvalidArgumentError
from graphjit.gradients import gradients
from graphjit.ops import registry
from graphjit.ops.einsum_ops import einsum_op

R = np.random.default_rng(5)
X = np.arange(6, dtype=np.float32).reshape(2, 3)


def u(*shape):
    return R.uniform(-1.0, 1.0, size=shape)


def _dims(t):
    return None if t.shape.ndims is None else t.shape.as_list()


# ------------------------------------------------------------------ StridedSlice shapes

# (index fn of (x, i), static shape TF infers for x of shape (2, 3), index value, numpy index)
SLICES = [
    ("x[i]", lambda x, i: x[i], [3], 1, lambda i: X[i]),
    ("x[:, i:]", lambda x, i: x[:, i:], [2, None], 1, lambda i: X[:, i:]),
    ("x[i, 1]", lambda x, i: x[i, 1], [], 1, lambda i: X[i, 1]),
    ("x[i, ::2]", lambda x, i: x[i, ::2], [2], 0, lambda i: X[i, ::2]),
    ("x[..., i]", lambda x, i: x[..., i], [2], 2, lambda i: X[..., i]),
    ("x[None, i]", lambda x, i: x[None, i], [1, 3], 1, lambda i: X[None, i]),
    ("x[i:, ::-1]", lambda x, i: x[i:, ::-1], [None, 3], 1, lambda i: X[i:, ::-1]),
    ("x[1:i]", lambda x, i: x[1:i], [None, 3], 2, lambda i: X[1:i]),
    ("x[::i]", lambda x, i: x[::i], None, 2, lambda i: X[::i]),
]  # fmt: skip


@pytest.mark.parametrize("dtype", [tf.int32, tf.int64])
@pytest.mark.parametrize(
    "index,shape,value,expect", [c[1:] for c in SLICES], ids=[c[0] for c in SLICES]
)
def test_tensor_index_keeps_static_shape_like_tf(index, shape, value, expect, dtype):
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [2, 3])
        i = tf.placeholder(dtype, [])
        y = index(x, i)
    assert _dims(y) == shape
    with tf.Session(graph=g) as sess:
        np.testing.assert_array_equal(sess.run(y, {x: X, i: value}), expect(value))


def test_tensor_index_with_unknown_dims_and_unknown_rank():
    with tf.Graph().as_default():
        i = tf.placeholder(tf.int32, [])
        y = tf.placeholder(tf.float32, [None, 3, None])
        assert _dims(y[i]) == [3, None]
        assert _dims(y[:, i, ::2]) == [None, None]
        assert _dims(tf.placeholder(tf.float32)[i]) is None


def test_unknown_begin_skips_bounds_check_but_constant_index_does_not():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [2, 3])
        i = tf.placeholder(tf.int32, [])
        assert _dims(x[5, i:]) == [None]  # TF: no build-time check without a known begin
        with pytest.raises(ValueError, match="slice index 5 of dimension 0 out of bounds"):
            x[5, 1]


def test_strided_slice_with_fed_begin_uses_masks_and_constant_strides():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [2, 3])
        b = tf.placeholder(tf.int32, [2])
        whole = tf.strided_slice(x, b, [0, 0], [1, 2], begin_mask=3, end_mask=3)
        assert _dims(whole) == [2, 2]
        # The packed length may come from any of begin/end/strides.
        part = tf.strided_slice(x, tf.placeholder(tf.int32, [None]), tf.placeholder(tf.int32, [None]), [1])  # fmt: skip
        assert _dims(part) == [None, 3]
        fed_strides = tf.strided_slice(x, [0], [1], tf.placeholder(tf.int32, [1]))
        assert _dims(fed_strides) is None


def test_packed_constant_strides_fold_like_tf_graph_defs():
    # TF's _slice_helper packs typed constants: strides arrive as Pack(Const, ...).
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [2, 3])
        i = tf.placeholder(tf.int64, [])
        one = tf.constant(1, tf.int64)
        y = tf.strided_slice(x, tf.stack([i]), tf.stack([i + 1]), tf.stack([one]),
                             shrink_axis_mask=1)  # fmt: skip
        assert _dims(y) == [3]
        z = tf.strided_slice(x, tf.stack([i]), tf.stack([i + 1]), tf.cast(tf.stack([1]), tf.int64))
        assert _dims(z) == [None, 3]


def test_tensor_index_builds_a_const_for_all_python_lists():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [2, 3])
        y = x[tf.placeholder(tf.int32, [])]
        assert [t.op.type for t in y.op.inputs[1:]] == ["Pack", "Pack", "Const"]


@pytest.mark.parametrize(
    "strides,shrink,fragment",
    [([0], 0, r"strides\[0\] must be non-zero"),
     ([-1], 1, "only stride 1 allowed on non-range indexing")],
)  # fmt: skip
def test_bad_constant_strides_raise_at_build_time(strides, shrink, fragment):
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [2, 3])
        b = tf.placeholder(tf.int32, [1])
        with pytest.raises(ValueError, match=fragment):
            tf.strided_slice(x, b, [0], strides, shrink_axis_mask=shrink)


def test_gradient_through_tensor_slice_of_partial_shape():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [2, 3])
        j = tf.placeholder(tf.int32, [])
        (gx,) = tf.gradients(tf.reduce_sum(x[:, j:] * 3.0), [x])
    with tf.Session(graph=g) as sess:
        want = np.zeros_like(X)
        want[:, 1:] = 3.0
        np.testing.assert_array_equal(sess.run(gx, {x: X, j: 1}), want)


# ------------------------------------------------------------------ BroadcastArgs / ListDiff


@pytest.mark.parametrize(
    "s0,s1,expect",
    [([1, 2, 3], [5, 1, 3], [5, 2, 3]), ([2, 1, 3], [4, 1], [2, 4, 3]),
     ([], [4, 1], [4, 1]), ([0, 1], [1, 5], [0, 5])],
)  # fmt: skip
def test_broadcast_dynamic_shape_matches_numpy_rules(s0, s1, expect):
    oracle(
        lambda a, b: tf.broadcast_dynamic_shape(a, b),
        [np.array(s0, np.int32), np.array(s1, np.int32)],
        lambda a, b: np.array(expect, np.int32),
        executors=("run",),
    )


def test_broadcast_args_static_shape_dtype_and_no_gradient():
    with tf.Graph().as_default():
        known = tf.broadcast_dynamic_shape(tf.placeholder(tf.int32, [3]), [4, 1])
        assert known.op.type == "BroadcastArgs" and _dims(known) == [3]
        unknown = tf.broadcast_dynamic_shape(tf.placeholder(tf.int32, [None]), [4, 1])
        assert _dims(unknown) == [None]
        wide = tf.broadcast_dynamic_shape(tf.constant([3], tf.int64), [4, 1])
        assert wide.dtype == tf.int64
    assert getattr(registry.get("BroadcastArgs").grad, "not_differentiable", False)


def test_broadcast_args_bad_inputs():
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="Shape must be rank 1 but is rank 2"):
            tf.broadcast_dynamic_shape(tf.zeros([2, 2], tf.int32), [4, 1])
        with pytest.raises(TypeError, match="not in list of allowed values"):
            tf.broadcast_dynamic_shape(tf.zeros([2]), tf.zeros([2]))
        bad = tf.broadcast_dynamic_shape([2, 2, 3], [4, 1])
        p = tf.placeholder(tf.int32)
        not_vector = tf.broadcast_dynamic_shape(p, [4, 1])
        with tf.Session() as sess:
            with pytest.raises(InvalidArgumentError, match=r"Incompatible shapes: \[2,2,3\] vs. \[4,1\]"):  # fmt: skip
                sess.run(bad)
            with pytest.raises(InvalidArgumentError, match="In\\[0\\] must be a vector"):
                sess.run(not_vector, {p: [[2, 1, 3]]})


def test_broadcast_args_feeds_a_differentiable_broadcast():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float64, [None, 1])
        target = tf.broadcast_dynamic_shape(tf.shape(x), tf.constant([1, 3]))
        y = tf.broadcast_to(x, target)
        (gx,) = gradients(tf.reduce_sum(y), [x])
    with tf.Session(graph=g) as sess:
        np.testing.assert_array_equal(sess.run(gx, {x: np.ones((2, 1))}), np.full((2, 1), 3.0))


@pytest.mark.parametrize(
    "x,y,expect",
    [(tf.TensorShape([2, 1, 3]), tf.TensorShape([4, 1]), [2, 4, 3]),
     (tf.TensorShape([None, 1, 3]), tf.TensorShape([4, None]), [None, 4, 3]),
     (tf.TensorShape([None]), tf.TensorShape([0]), [None]),  # TF: only sizes > 1 win
     (tf.TensorShape(None), tf.TensorShape([4]), None)],
)  # fmt: skip
def test_broadcast_static_shape_follows_tf_rule_for_unknown_dims(x, y, expect):
    out = tf.broadcast_static_shape(x, y)
    assert (None if out.ndims is None else out.as_list()) == expect


def test_broadcast_static_shape_incompatible_raises_value_error():
    with pytest.raises(ValueError, match=r"Received: \(2, 3\) and \(4, 3\)"):
        tf.broadcast_static_shape(tf.TensorShape([2, 3]), tf.TensorShape([4, 3]))


def test_broadcast_gradient_args_reduction_axes():
    from graphjit.ops.indexing import broadcast_gradient_args

    with tf.Graph().as_default(), tf.Session() as sess:
        r0, r1 = sess.run(broadcast_gradient_args([2, 1, 3], [4, 1]))
    assert r0.tolist() == [1] and r1.tolist() == [0, 2]


def test_setdiff1d_keeps_order_duplicates_and_positions():
    with tf.Graph().as_default():
        out, idx = tf.setdiff1d([4, 1, 2, 4, 3], [1, 3], index_dtype=tf.int64)
        assert out.op.type == "ListDiff" and _dims(out) == [None] and idx.dtype == tf.int64
        p = tf.placeholder(tf.int32)
        bad = tf.setdiff1d(p, [1])[0]
        with tf.Session() as sess:
            o, i = sess.run([out, idx])
            with pytest.raises(InvalidArgumentError, match="x should be a 1D vector"):
                sess.run(bad, {p: [[1]]})
    assert o.tolist() == [4, 2, 4] and i.tolist() == [0, 2, 3]


# ------------------------------------------------------------------ tensordot

A, B = u(2, 3, 4), u(4, 3, 5)
AXES = [1, [[2], [0]], [[1, 2], [1, 0]], [[-1], [0]], 0]


@pytest.mark.parametrize("axes", AXES, ids=[str(a) for a in AXES])
@pytest.mark.parametrize("rank", ["known", "unknown"])
def test_tensordot_of_unknown_dims_or_rank_matches_numpy(axes, rank):
    g = tf.Graph()
    with g.as_default():
        pa = tf.placeholder(tf.float64, [None] * 3 if rank == "known" else None)
        pb = tf.placeholder(tf.float64, [None] * 3 if rank == "known" else None)
        y = tf.tensordot(pa, pb, axes)
    want = np.tensordot(A, B, axes)
    assert _dims(y) == ([None] * want.ndim if rank == "known" else None)
    assert y.op.name == "Tensordot"
    with tf.Session(graph=g) as sess:
        np.testing.assert_allclose(sess.run(y, {pa: A, pb: B}), want)


def test_tensordot_axes_as_a_tensor_and_mixed_ranks():
    g = tf.Graph()
    with g.as_default():
        pa = tf.placeholder(tf.float64, [2, 3, 4])
        pb = tf.placeholder(tf.float64)
        by_tensor = tf.tensordot(pa, tf.constant(B), tf.constant([[2], [0]]))
        mixed = tf.tensordot(pa, pb, [[2], [0]])
        assert _dims(mixed) is None
    with tf.Session(graph=g) as sess:
        got = sess.run([by_tensor, mixed], {pa: A, pb: B})
    for v in got:
        np.testing.assert_allclose(v, np.tensordot(A, B, [[2], [0]]))


def test_tensordot_partial_dims_keep_known_free_dims():
    with tf.Graph().as_default():
        y = tf.tensordot(tf.placeholder(tf.float32, [None, 3, 4]), tf.zeros([4, 5]), 1)
        assert _dims(y) == [None, 3, 5]


def test_tensordot_axes_errors():
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="must be at least 0"):
            tf.tensordot(tf.zeros([2, 3]), tf.zeros([3, 2]), -1)
        with pytest.raises(ValueError, match="must not be larger than the number of dimensions"):
            tf.tensordot(tf.zeros([2, 3]), tf.zeros([3, 2]), 3)
        with pytest.raises(ValueError, match="Different number of contraction axes"):
            tf.tensordot(tf.zeros([2, 3]), tf.zeros([3, 2]), [[0, 1], [0]])


def test_tensordot_gradient_with_unknown_rank():
    wv = u(2, 5)
    g = tf.Graph()
    with g.as_default():
        pa, pb = tf.placeholder(tf.float64), tf.placeholder(tf.float64)
        y = tf.tensordot(pa, pb, [[1, 2], [1, 0]])  # y[i,l] = sum_jk a[i,j,k] b[k,j,l]
        ga, gb = gradients(tf.reduce_sum(y * wv), [pa, pb])
    with tf.Session(graph=g) as sess:
        va, vb = sess.run([ga, gb], {pa: A, pb: B})
    np.testing.assert_allclose(va, np.einsum("il,kjl->ijk", wv, B))
    np.testing.assert_allclose(vb, np.einsum("il,ijk->kjl", wv, A))


# ------------------------------------------------------------------ einsum gradients

EINSUM_GRADS = [
    ("ii->i", [(3, 3)]), ("ii", [(3, 3)]), ("ii->", [(3, 3)]), ("iij->j", [(2, 2, 3)]),
    ("iij->ji", [(2, 2, 3)]), ("aab->ba", [(2, 2, 3)]), ("abc->ca", [(2, 3, 2)]),
    ("ii,i->i", [(3, 3), (3,)]), ("iij,j->i", [(2, 2, 3), (3,)]), ("ij,jj->i", [(2, 3), (3, 3)]),
    ("ijj,jk->ik", [(2, 3, 3), (3, 2)]), ("ij,ij->", [(2, 3), (2, 3)]),
    ("ii,ij,jk->k", [(2, 2), (2, 3), (3, 2)]),
    ("...ij,...jk->...ik", [(2, 3, 2), (2, 2, 3)]), ("...ij,jk->...ik", [(2, 2, 3), (3, 2)]),
    ("...i,...i->...", [(2, 3), (2, 3)]), ("ab...,b->...a", [(2, 3, 2), (3,)]),
]  # fmt: skip


@pytest.mark.parametrize("eq,shapes", EINSUM_GRADS, ids=[c[0] for c in EINSUM_GRADS])
def test_einsum_gradient_with_repeated_labels_matches_finite_differences(eq, shapes):
    check_gradient(lambda *xs: tf.einsum(eq, *xs), [u(*s) for s in shapes])


@pytest.mark.parametrize("eq,shapes", EINSUM_GRADS[:8], ids=[c[0] for c in EINSUM_GRADS[:8]])
def test_einsum_gradient_with_unknown_dims_matches_numpy(eq, shapes):
    xs = [u(*s) for s in shapes]
    y0 = np.einsum(eq, *xs)
    wv = R.uniform(0.5, 1.5, size=np.shape(y0))
    g = tf.Graph()
    with g.as_default():
        phs = [tf.placeholder(tf.float64, [None] * len(s)) for s in shapes]
        y = tf.einsum(eq, *phs)
        grads = gradients(tf.reduce_sum(y * wv), phs)
    with tf.Session(graph=g) as sess:
        got = sess.run(grads, dict(zip(phs, xs)))
    eps = 1e-6
    for k, x in enumerate(xs):
        num = np.zeros_like(x)
        for i in range(x.size):
            d = np.zeros_like(x)
            d.reshape(-1)[i] = eps
            hi = [v + d if j == k else v for j, v in enumerate(xs)]
            lo = [v - d if j == k else v for j, v in enumerate(xs)]
            num.reshape(-1)[i] = np.sum(wv * (np.einsum(eq, *hi) - np.einsum(eq, *lo))) / (2 * eps)
        np.testing.assert_allclose(got[k], num, rtol=1e-6, atol=1e-8)


def _diag_iij(x, y):
    out = np.zeros((2, 2, 2))
    for i in range(2):
        out[i, i, :] = x[i, :] * y
    return out


def test_einsum_op_writes_repeated_output_labels_on_the_diagonal():
    # tf.einsum refuses "->iij"; the raw op (used by the gradient) accepts it, as in TF.
    oracle(lambda x, y: einsum_op([x, y], "ij,j->iij"), [u(2, 2), u(2)], _diag_iij)


@pytest.mark.parametrize(
    "eq,shape,fragment",
    [("i->ii", [2], "label appearing more than once"),
     ("ij->ik", [2, 2], "label k not present in the input subscripts")],
)  # fmt: skip
def test_einsum_rejects_bad_output_subscripts(eq, shape, fragment):
    with tf.Graph().as_default(), pytest.raises(ValueError, match=fragment):
        tf.einsum(eq, tf.zeros(shape))


def test_einsum_stores_the_explicit_equation():
    with tf.Graph().as_default():
        y = tf.einsum("ij,jk", tf.zeros([2, 3]), tf.zeros([3, 4]))
        assert y.op.get_attr("equation") == "ij,jk->ik"


def test_einsum_ellipsis_with_unknown_batch_dims_broadcasts_in_value_and_gradient():
    a, b = u(3, 2, 4), u(1, 4, 2)
    g = tf.Graph()
    with g.as_default():
        pa = tf.placeholder(tf.float64, [None, 2, 4])
        pb = tf.placeholder(tf.float64, [None, 4, 2])
        y = tf.einsum("...ij,...jk->...ik", pa, pb)
        assert y.shape.as_list() == [None, 2, 2]
        grads = gradients(tf.reduce_sum(y * y), [pa, pb])
    with tf.Session(graph=g) as sess:
        got_y, ga, gb = sess.run([y, *grads], {pa: a, pb: b})
    want = np.einsum("...ij,...jk->...ik", a, b)
    np.testing.assert_allclose(got_y, want)
    np.testing.assert_allclose(ga, np.einsum("...ik,...jk->...ij", 2 * want, b))
    np.testing.assert_allclose(
        gb, np.einsum("...ij,...ik->...jk", a, 2 * want).sum(0, keepdims=True)
    )


@pytest.mark.parametrize("shapes", [((3, 2, 4), (1, 4, 2)), ((1, 2, 4), (3, 4, 2))])
def test_einsum_gradient_sums_statically_broadcast_ellipsis_dims(shapes):
    """A static size-1 ellipsis dimension broadcast against a larger one: the gradient is
    summed back over it (TF's _EinsumGrad), no longer refused."""
    a, b = u(*shapes[0]), u(*shapes[1])
    g = tf.Graph()
    with g.as_default():
        pa, pb = tf.constant(a), tf.constant(b)
        y = tf.einsum("...ij,...jk->...ik", pa, pb)
        assert y.shape.as_list() == [3, 2, 2]
        grads = gradients(tf.reduce_sum(y * y), [pa, pb])
        assert [t.shape.as_list() for t in grads] == [list(a.shape), list(b.shape)]
    with tf.Session(graph=g) as sess:
        ga, gb = sess.run(grads)
    want = np.einsum("...ij,...jk->...ik", a, b)
    wa = np.einsum("...ik,...jk->...ij", 2 * want, np.broadcast_to(b, (3, 4, 2)))
    wb = np.einsum("...ij,...ik->...jk", np.broadcast_to(a, (3, 2, 4)), 2 * want)
    np.testing.assert_allclose(ga, wa.sum(0, keepdims=True) if a.shape[0] == 1 else wa)
    np.testing.assert_allclose(gb, wb.sum(0, keepdims=True) if b.shape[0] == 1 else wb)
