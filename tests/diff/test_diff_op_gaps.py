"""Differential tests for the op-gap fixes (issue 5), vs TensorFlow: StridedSlice static shapes
with scalar tensor indices, BroadcastArgs / broadcast_static_shape / setdiff1d, tensordot of
unknown rank or dims, and einsum gradients with repeated labels."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from diff_helpers import GJ, TF, assert_same, feeder

R = np.random.default_rng(11)
X = np.arange(24, dtype=np.float32).reshape(2, 3, 4)

# ------------------------------------------------------------------ StridedSlice

SLICES = {
    "x[i]": lambda x, i: x[i],
    "x[:, i:]": lambda x, i: x[:, i:],
    "x[i, 1]": lambda x, i: x[i, 1],
    "x[i, ::2, -1]": lambda x, i: x[i, ::2, -1],
    "x[..., i]": lambda x, i: x[..., i],
    "x[None, i, :, ::-1]": lambda x, i: x[None, i, :, ::-1],
    "x[i:, ::-1]": lambda x, i: x[i:, ::-1],
    "x[1:i]": lambda x, i: x[1:i],
    "x[::i]": lambda x, i: x[::i],
    "x[:, :i, i]": lambda x, i: x[:, :i, i],
}


@pytest.mark.parametrize("dims", ["static", "partial", "unknown_rank"])
@pytest.mark.parametrize("dtype", ["int32", "int64"])
@pytest.mark.parametrize("key", list(SLICES))
def test_tensor_index_static_shape_and_value(key, dtype, dims):
    def build(tf, feed):
        shape = {"static": [2, 3, 4], "partial": [None, 3, None], "unknown_rank": None}[dims]
        x = tf.placeholder(tf.float32, shape)
        i = tf.placeholder(getattr(tf, dtype), [])
        feed[x], feed[i] = X, np.array(1, dtype)
        return SLICES[key](x, i)

    assert_same(build)


def test_strided_slice_fed_begin_with_masks():
    def build(tf, feed):
        (x,) = feeder(tf, feed, [X])
        b = tf.placeholder(tf.int32, [3])
        feed[b] = np.array([1, 0, 2], np.int32)
        return [
            tf.strided_slice(x, b, [0, 0, 0], [1, 2, -1], begin_mask=3, end_mask=7),
            tf.strided_slice(x, b, b + 1, [1, 1, 1], shrink_axis_mask=5),
        ]

    assert_same(build)


@pytest.mark.parametrize("strides,shrink", [([1, 0], 0), ([1, -1], 2)])
def test_strided_slice_bad_strides_fail_at_build_time(strides, shrink):
    def build(tf, feed):
        (x,) = feeder(tf, feed, [X])
        b = tf.placeholder(tf.int32, [2])
        return tf.strided_slice(x, b, [1, 1], strides, shrink_axis_mask=shrink)

    assert_same(build)


# ------------------------------------------------------------------ broadcast shapes


@pytest.mark.parametrize(
    "s0,s1,dt",
    [([1, 2, 3], [5, 1, 3], "int32"), ([2, 1, 3], [4, 1], "int64"), ([], [4, 1], "int32"),
     ([0, 1], [1, 5], "int32"), ([2, 2, 3], [4, 1], "int32")],
)  # fmt: skip
@pytest.mark.parametrize("static", [True, False])
def test_broadcast_dynamic_shape(s0, s1, dt, static):
    def build(tf, feed):
        a, b = feeder(tf, feed, [np.array(s0, dt), np.array(s1, dt)], static=static)
        return tf.broadcast_dynamic_shape(a, b)

    assert_same(build)


@pytest.mark.parametrize(
    "x,y",
    [([2, 1, 3], [4, 1]), ([None, 1, 3], [4, None]), ([None], [0]), ([None], [1]),
     (None, [4]), ([2, 3], [4, 3])],
)  # fmt: skip
def test_broadcast_static_shape(x, y):
    def run(tf):
        try:
            out = tf.broadcast_static_shape(tf.TensorShape(x), tf.TensorShape(y))
        except ValueError as e:
            return "ValueError", str(e)
        return None if out.ndims is None else out.as_list()

    assert run(GJ) == run(TF)


def test_setdiff1d():
    def build(tf, feed):
        a, b = feeder(tf, feed, [np.array([4, 1, 2, 4, 3], np.int32), np.array([1, 3], np.int32)])
        return list(tf.setdiff1d(a, b)) + list(tf.setdiff1d(a, b, index_dtype=tf.int64))

    assert_same(build)


# ------------------------------------------------------------------ tensordot

A, B = R.uniform(-1, 1, (2, 3, 4)), R.uniform(-1, 1, (4, 3, 5))


@pytest.mark.parametrize("axes", [1, [[2], [0]], [[1, 2], [1, 0]], [[-1], [-3]], 0, "tensor"])
@pytest.mark.parametrize("shapes", ["static", "partial", "unknown_rank", "mixed"])
def test_tensordot(axes, shapes):
    def build(tf, feed):
        sa = {"static": [2, 3, 4], "partial": [None, 3, None], "unknown_rank": None}
        pa = tf.placeholder(tf.float64, sa.get(shapes, [2, None, 4]))
        sb = {"static": [4, 3, 5], "partial": [None, 3, None], "mixed": None}
        pb = tf.placeholder(tf.float64, sb.get(shapes))
        feed[pa], feed[pb] = A, B
        ax = tf.constant([[2], [0]]) if axes == "tensor" else axes
        return tf.tensordot(pa, pb, ax)

    assert_same(build)


def test_tensordot_gradient_unknown_rank():
    def build(tf, feed):
        pa, pb = tf.placeholder(tf.float64), tf.placeholder(tf.float64)
        feed[pa], feed[pb] = A, B
        y = tf.tensordot(pa, pb, [[1, 2], [1, 0]])
        return tf.gradients(tf.reduce_sum(y * y), [pa, pb])

    assert_same(build, check_static=False)


# ------------------------------------------------------------------ einsum gradients

EQS = [
    ("ii->i", [(3, 3)]), ("ii", [(3, 3)]), ("iij->j", [(2, 2, 3)]), ("iij->ji", [(2, 2, 3)]),
    ("abc->ca", [(2, 3, 2)]), ("ii,i->i", [(3, 3), (3,)]), ("iij,j->i", [(2, 2, 3), (3,)]),
    ("ijj,jk->ik", [(2, 3, 3), (3, 2)]), ("ij,ij->", [(2, 3), (2, 3)]),
    ("...ij,...jk->...ik", [(2, 3, 4), (2, 4, 2)]), ("...ij,jk->...ik", [(2, 2, 3, 4), (4, 2)]),
    ("...ij,...jk", [(2, 2, 3), (3, 2)]), ("...i,...i->...", [(2, 3), (2, 3)]),
    ("i...->...", [(3, 2, 2)]), ("ab...,b->...a", [(2, 3, 4), (3,)]),
]  # fmt: skip


@pytest.mark.parametrize("static", [True, False])
@pytest.mark.parametrize("eq,shapes", EQS, ids=[e for e, _ in EQS])
def test_einsum_value_and_gradient(eq, shapes, static):
    xs = [R.uniform(-1, 1, s) for s in shapes]

    def build(tf, feed):
        phs = feeder(tf, feed, xs, static=static)
        y = tf.einsum(eq, *phs)
        return [y, *tf.gradients(tf.reduce_sum(y * y), phs)]

    assert_same(build, check_static=static)


@pytest.mark.parametrize("eq", ["i->ii", "ij->ik", "ii->i"])
def test_einsum_build_errors(eq):
    def build(tf, feed):
        return tf.einsum(eq, tf.zeros([2, 3] if eq == "ii->i" else [2] * (len(eq) - 4)))

    assert_same(build)


BCAST = [
    ("...ij,...jk->...ik", [(3, 2, 4), (1, 4, 2)]),
    ("...ij,...jk->...ik", [(1, 2, 4), (3, 4, 2)]),
    ("...ij,...jk->...ik", [(2, 1, 2, 4), (1, 3, 4, 2)]),
    ("...ij,...jk->...ik", [(1, 2, 4), (2, 3, 4, 2)]),
    ("...i,...i->...", [(3, 1, 4), (1, 2, 4)]),
]  # fmt: skip


@pytest.mark.parametrize("static", [True, False])
@pytest.mark.parametrize("eq,shapes", BCAST, ids=[str(s) for _, s in BCAST])
def test_einsum_ellipsis_broadcasts_size_one_batch_dims(eq, shapes, static):
    xs = [R.uniform(-1, 1, s) for s in shapes]

    def build(tf, feed):
        phs = feeder(tf, feed, xs, static=static)
        y = tf.einsum(eq, *phs)
        return [y, *tf.gradients(tf.reduce_sum(y * y), phs)]

    assert_same(build, check_static=static)


def test_einsum_ellipsis_missing_from_the_output_is_a_build_error():
    def build(tf, feed):
        return tf.einsum("...ij,...jk->ik", tf.zeros([2, 2, 3]), tf.zeros([2, 3, 2]))

    assert_same(build)


# ------------------------------------------------------------------ TF GraphDefs


def test_tensorflow_graph_def_with_these_ops_runs_in_graphjit():
    def program(tf):
        x = tf.placeholder(tf.float64, None, name="x")
        i = tf.placeholder(tf.int64, [], name="i")
        m = tf.placeholder(tf.float64, [3, 3], name="m")
        outs = [
            tf.broadcast_dynamic_shape(tf.shape(x), tf.constant([1, 3, 1])),
            tf.reshape(x, [2, 3, 4])[i, :, i:],
            tf.tensordot(x, tf.ones([4, 2], tf.float64), 1),  # unknown rank: ListDiff
            tf.gradients(tf.reduce_sum(tf.einsum("ii->i", m) ** 2), [m])[0],
        ]
        return [t.name for t in outs]

    feed = {"x:0": X.astype(np.float64), "i:0": np.int64(1), "m:0": R.uniform(-1, 1, (3, 3))}
    with TF.Graph().as_default() as tg:
        names = program(TF)
        with TF.Session() as sess:
            want = sess.run(names, feed)
    gd = GJ.GraphDef.FromString(tg.as_graph_def().SerializeToString())
    assert {"BroadcastArgs", "ListDiff", "Einsum"} <= {n.op for n in gd.node}
    with GJ.Graph().as_default() as g:
        GJ.import_graph_def(gd, name="")
        assert g.get_tensor_by_name(names[1]).shape.as_list() == [3, None]
        with GJ.Session() as sess:
            got = sess.run(names, feed)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b)


@pytest.mark.parametrize("axes", [[[3], [0]], -1, 4, [[0, 1], [0]], [[2], [1]]])
def test_tensordot_bad_axes(axes):
    def build(tf, feed):
        pa, pb = feeder(tf, feed, [A, B])
        return tf.tensordot(pa, pb, axes)

    assert_same(build)


def test_three_operand_einsum_graph_def_runs_in_tensorflow():
    """tf.einsum with three operands builds two-operand Einsum ops, as TF's kernels need."""
    vals = [R.uniform(-1, 1, s) for s in [(2, 2), (2, 3), (3, 2)]]
    with GJ.Graph().as_default() as g:
        xs = [GJ.constant(v) for v in vals]
        y = GJ.einsum("ii,ij,jk->k", *xs)
        gr = GJ.gradients(GJ.reduce_sum(y * y), xs)
        names = [t.name for t in [y, *gr]]
        assert all(len(op.inputs) <= 2 for op in g.get_operations() if op.type == "Einsum")
        with GJ.Session() as sess:
            want = sess.run(names)
    gd = TF.GraphDef.FromString(g.as_graph_def().SerializeToString())
    with TF.Graph().as_default():
        TF.import_graph_def(gd, name="")
        with TF.Session() as sess:
            got = sess.run(names)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-10)
    np.testing.assert_allclose(want[0], np.einsum("ii,ij,jk->k", *vals), rtol=1e-10)
