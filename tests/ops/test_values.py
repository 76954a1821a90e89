"""Forward values of the op library against numpy, on 0-d, broadcast and empty shapes."""

from __future__ import annotations

import math

import numpy as np
import pytest
from ops_helpers import oracle

import graphjit.compat.v1 as tf
from graphjit.errors import InvalidArgumentError

R = np.random.default_rng(7)
SHAPES = [(), (3,), (2, 3), (0, 3)]


def _sig(x):
    return 1 / (1 + np.exp(-x))


# (tf function, numpy reference, input sampler)
UNARY = {
    "sigmoid": (tf.sigmoid, _sig, None),
    "softplus": (tf.nn.softplus, lambda x: np.log1p(np.exp(x)), None),
    "softsign": (tf.nn.softsign, lambda x: x / (1 + np.abs(x)), None),
    "expm1": (tf.expm1, np.expm1, None),
    "log1p": (tf.log1p, np.log1p, "pos"),
    "sin": (tf.sin, np.sin, None),
    "cos": (tf.cos, np.cos, None),
    "tan": (tf.tan, np.tan, None),
    "asin": (tf.asin, np.arcsin, "unit"),
    "atan": (tf.atan, np.arctan, None),
    "rsqrt": (tf.rsqrt, lambda x: 1 / np.sqrt(x), "pos"),
    "reciprocal": (tf.reciprocal, np.reciprocal, "pos"),
    "floor": (tf.floor, np.floor, None),
    "ceil": (tf.ceil, np.ceil, None),
    "round": (tf.round, np.round, "halves"),
    "erf": (tf.erf, np.vectorize(math.erf, otypes=[float]), None),
    "relu": (tf.nn.relu, lambda x: np.maximum(x, 0), None),
    "relu6": (tf.nn.relu6, lambda x: np.clip(x, 0, 6), "wide"),
    "elu": (tf.nn.elu, lambda x: np.where(x > 0, x, np.expm1(x)), None),
    "selu": (
        tf.nn.selu,
        lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * np.expm1(x)),
        None,
    ),
    "leaky_relu": (
        tf.nn.leaky_relu,
        lambda x: np.where(x > 0, x, float(np.float32(0.2)) * x),
        None,
    ),
}


def _sample(kind, shape, dtype):
    if kind == "pos":
        v = R.uniform(0.1, 3.0, shape)
    elif kind == "unit":
        v = R.uniform(-0.9, 0.9, shape)
    elif kind == "halves":
        v = R.integers(-6, 6, shape) + 0.5
    elif kind == "wide":
        v = R.uniform(-3, 9, shape)
    else:
        v = R.uniform(-3, 3, shape)
    return np.asarray(v, dtype=dtype)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_matches_numpy(name, dtype, shape):
    fn, ref, kind = UNARY[name]
    x = _sample(kind, shape, dtype)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    # One shape per op and dtype also runs compiled: the generated loop does not depend on
    # the shape, and every compile costs test time.
    ex = None if shape == (2, 3) else ("run",)
    oracle(fn, [x], lambda v: np.asarray(ref(v), dtype=dtype), rtol=tol, atol=tol, executors=ex)


def test_predicates_handle_nan_and_inf():
    x = np.array([1.0, np.nan, np.inf, -np.inf], np.float32)
    oracle(tf.is_nan, [x], np.isnan)
    oracle(tf.is_inf, [x], np.isinf)
    oracle(tf.is_finite, [x], np.isfinite)


def test_integer_relu_keeps_dtype():
    oracle(tf.nn.relu, [np.array([-2, 3], np.int32)], lambda v: np.maximum(v, 0))


def test_unary_float_op_rejects_int_at_build_time(graph):
    with pytest.raises(TypeError, match="not in list of allowed values"):
        tf.sigmoid(tf.constant([1, 2]))


def test_clip_by_value_broadcasts():
    x = np.array([[-2.0, 0.5, 4.0]], np.float32)
    oracle(lambda v: tf.clip_by_value(v, -1.0, 1.0), [x], lambda v: np.clip(v, -1, 1))


def test_select_and_where_v2():
    c = np.array([True, False, True])
    x, y = np.arange(3.0), -np.arange(3.0)
    oracle(lambda c, x, y: tf.where(c, x, y), [c, x, y], np.where)
    oracle(
        lambda c, x, y: tf.where_v2(c, x, y), [c[:, None], x, np.float64(9)], np.where
    )  # broadcasting
    oracle(lambda c: tf.where(c), [c], lambda c: np.argwhere(c).astype(np.int64))


def test_add_n_sums_inputs():
    a, b = R.normal(size=(2, 2)), R.normal(size=(2, 2))
    oracle(lambda a, b: tf.math.add_n([a, b, a]), [a, b], lambda a, b: a + b + a)


# ------------------------------------------------------------------ reductions


def test_reductions():
    x = R.normal(size=(3, 4))
    oracle(lambda v: tf.reduce_logsumexp(v, axis=1), [x], lambda v: np.log(np.exp(v).sum(1)))
    oracle(lambda v: tf.argmax(v, 1), [x], lambda v: np.argmax(v, 1))
    oracle(
        lambda v: tf.argmin(v, 0, output_type=tf.int32),
        [x],
        lambda v: np.argmin(v, 0).astype(np.int32),
    )
    oracle(lambda v: tf.cumsum(v, 1), [x], lambda v: np.cumsum(v, 1))
    b = x > 0
    oracle(lambda v: tf.reduce_any(v, axis=0), [b], lambda v: v.any(0))
    oracle(lambda v: tf.reduce_all(v), [b], lambda v: np.asarray(v.all()))
    oracle(lambda v: tf.count_nonzero(v), [b.astype(np.int32)], lambda v: np.int64((v != 0).sum()))


def test_reduce_sum_of_unknown_rank_reduces_everything():
    x = R.normal(size=(2, 3))
    oracle(tf.reduce_sum, [x], lambda v: np.asarray(v.sum()))


def test_cumsum_exclusive_reverse():
    x = np.array([1.0, 2.0, 3.0])
    oracle(lambda v: tf.cumsum(v, exclusive=True), [x], lambda v: np.array([0.0, 1.0, 3.0]))
    oracle(lambda v: tf.cumsum(v, reverse=True), [x], lambda v: np.array([6.0, 5.0, 3.0]))


def test_argmax_of_empty_axis_raises():
    with pytest.raises(InvalidArgumentError, match="empty"):
        oracle(lambda v: tf.argmax(v, 0), [np.zeros((0, 2))], lambda v: None)


# ------------------------------------------------------------------ array ops

X = R.normal(size=(2, 3, 4))
ARRAY_CASES = {
    "transpose": (lambda v: tf.transpose(v, [2, 0, 1]), lambda v: v.transpose(2, 0, 1)),
    "transpose_default": (tf.transpose, lambda v: v.T),
    "expand_dims": (lambda v: tf.expand_dims(v, -1), lambda v: v[..., None]),
    "concat": (lambda v: tf.concat([v, v], -1), lambda v: np.concatenate([v, v], -1)),
    "split": (lambda v: tf.split(v, 2, axis=2), lambda v: np.split(v, 2, axis=2)),
    "split_sizes": (lambda v: tf.split(v, [1, -1], 1), lambda v: [v[:, :1], v[:, 1:]]),
    "unstack": (lambda v: tf.unstack(v, num=3, axis=1), lambda v: [v[:, i] for i in range(3)]),
    "tile": (lambda v: tf.tile(v, [1, 2, 1]), lambda v: np.tile(v, (1, 2, 1))),
    "pad": (lambda v: tf.pad(v, [[0, 1], [1, 0], [0, 0]]), lambda v: np.pad(v, [(0, 1), (1, 0), (0, 0)])),
    "pad_reflect": (
        lambda v: tf.pad(v, [[0, 0], [1, 1], [0, 0]], "REFLECT"),
        lambda v: np.pad(v, [(0, 0), (1, 1), (0, 0)], mode="reflect"),
    ),
    "slice": (lambda v: tf.slice(v, [0, 1, 0], [-1, 2, 3]), lambda v: v[:, 1:3, :3]),
    "reverse": (lambda v: tf.reverse(v, [0, 2]), lambda v: v[::-1, :, ::-1]),
    "broadcast_to": (lambda v: tf.broadcast_to(v, [5, 2, 3, 4]), lambda v: np.broadcast_to(v, (5, 2, 3, 4))),
    "zeros_like": (tf.zeros_like, np.zeros_like),
    "ones_like": (tf.ones_like, np.ones_like),
    "gather_nd": (lambda v: tf.gather_nd(v, [[1, 2], [0, 0]]), lambda v: v[[1, 0], [2, 0]]),
    "one_hot": (
        lambda v: tf.one_hot(tf.argmax(v, 2), 4),
        lambda v: np.eye(4, dtype=np.float32)[np.argmax(v, 2)],
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(ARRAY_CASES))
def test_array_op_matches_numpy(name):
    fn, ref = ARRAY_CASES[name]
    oracle(fn, [X], ref)


def test_sources():
    oracle(lambda: tf.range(2, 10, 3), [], lambda: np.arange(2, 10, 3, dtype=np.int32))
    oracle(lambda: tf.range(1.0, 2.0, 0.25), [], lambda: np.arange(1, 2, 0.25, dtype=np.float32))
    oracle(lambda: tf.fill([2, 1], 7), [], lambda: np.full((2, 1), 7, np.int32))
    oracle(lambda: tf.zeros([2, 0]), [], lambda: np.zeros((2, 0), np.float32))
    oracle(lambda: tf.ones([3], tf.int64), [], lambda: np.ones(3, np.int64))
    oracle(
        lambda: tf.one_hot([0, 2], 3, on_value=5, off_value=-1, axis=0),
        [],
        lambda: np.array([[5, -1], [-1, -1], [-1, 5]], np.int32),
    )


def test_scatter_nd_and_segment_sum_accumulate_duplicates():
    u = np.array([1.0, 2.0, 3.0])
    oracle(
        lambda v: tf.scatter_nd([[1], [1], [0]], v, [3]), [u], lambda v: np.array([3.0, 3.0, 0.0])
    )
    oracle(
        lambda v: tf.unsorted_segment_sum(v, [0, 0, 2], 3), [u], lambda v: np.array([3.0, 0, 3.0])
    )  # fmt: skip


@pytest.mark.parametrize(
    "build,match",
    [
        (lambda: tf.transpose(tf.zeros([2, 3]), [0]), "Dimension must be 2"),
        (lambda: tf.concat([tf.zeros([2, 3]), tf.zeros([2, 3, 1])], 0), "rank"),
        (lambda: tf.concat([tf.zeros([2, 3]), tf.zeros([3, 4])], 0), "Dimension 1"),
        (lambda: tf.split(tf.zeros([2, 3]), 2, axis=1), "evenly divisible"),
        (lambda: tf.unstack(tf.zeros([2, 3]), num=3), "Dimension must be 3"),
        (lambda: tf.tile(tf.zeros([2, 3]), [1, 2, 3]), "Shape must be"),
        (lambda: tf.expand_dims(tf.zeros([2]), 3), "out of range"),
        (lambda: tf.one_hot([1, 2], 3, axis=3), "Expected axis"),
        (lambda: tf.gather_nd(tf.zeros([2]), [[0, 1]]), "indices.shape"),
        (lambda: tf.nn.softmax(tf.constant(1.0)), "rank 0"),
        (lambda: tf.nn.bias_add(tf.zeros([2, 3]), tf.zeros([4])), "Dimensions must be equal"),
        (lambda: tf.nn.conv2d(tf.zeros([1, 3, 3]), tf.zeros([1, 1, 1, 1]), 1, "SAME"), "rank 4"),
    ],
)
def test_build_time_errors_name_the_op(graph, build, match):
    with pytest.raises(ValueError, match=match):
        build()


# ------------------------------------------------------------------ nn


def _softmax(v, axis=-1):
    e = np.exp(v - v.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


def test_softmax_family():
    x = R.normal(size=(3, 4)).astype(np.float32)
    oracle(tf.nn.softmax, [x], _softmax, rtol=1e-5)
    oracle(lambda v: tf.nn.softmax(v, axis=0), [x], lambda v: _softmax(v, 0), rtol=1e-5)
    oracle(tf.nn.log_softmax, [x], lambda v: np.log(_softmax(v)), rtol=1e-5, atol=1e-6)


def test_cross_entropies():
    logits = R.normal(size=(3, 4))
    labels = _softmax(R.normal(size=(3, 4)))
    ids = np.array([0, 3, 1])
    want = -(labels * np.log(_softmax(logits))).sum(-1)
    oracle(
        lambda a, b: tf.nn.softmax_cross_entropy_with_logits_v2(labels=b, logits=a),
        [logits, labels],
        lambda a, b: want,
    )
    oracle(
        lambda a: tf.nn.sparse_softmax_cross_entropy_with_logits(labels=ids, logits=a),
        [logits],
        lambda a: -np.log(_softmax(a))[np.arange(3), ids],
    )
    z = (R.uniform(size=(3, 4)) > 0.5).astype(np.float64)
    oracle(
        lambda a, b: tf.nn.sigmoid_cross_entropy_with_logits(labels=b, logits=a),
        [logits, z],
        lambda a, b: -(b * np.log(_sig(a)) + (1 - b) * np.log(1 - _sig(a))),
    )
    oracle(tf.nn.l2_loss, [logits], lambda a: np.asarray((a * a).sum() / 2))
    oracle(tf.nn.bias_add, [logits, np.arange(4.0)], lambda a, b: a + b)


def test_sparse_xent_label_out_of_range_raises():
    with pytest.raises(InvalidArgumentError, match="outside the valid range"):
        oracle(
            lambda a: tf.nn.sparse_softmax_cross_entropy_with_logits(labels=[4], logits=a),
            [np.zeros((1, 3))],
            lambda a: None,
        )


def test_cross_entropy_requires_named_arguments(graph):
    with pytest.raises(ValueError, match="named arguments"):
        tf.nn.softmax_cross_entropy_with_logits(tf.zeros([1, 2]), tf.zeros([1, 2]))


def _conv_ref(x, f, stride, padding, dil=(1, 1)):
    """Direct (loop) convolution, NHWC/HWIO."""
    n, h, w, c = x.shape
    kh, kw, _, o = f.shape
    ekh, ekw = (kh - 1) * dil[0] + 1, (kw - 1) * dil[1] + 1
    if padding == "SAME":
        oh, ow = -(-h // stride[0]), -(-w // stride[1])
        ph = max((oh - 1) * stride[0] + ekh - h, 0) // 2
        pw = max((ow - 1) * stride[1] + ekw - w, 0) // 2
    else:
        oh, ow = (h - ekh) // stride[0] + 1, (w - ekw) // stride[1] + 1
        ph = pw = 0
    out = np.zeros((n, oh, ow, o))
    for i in range(oh):
        for j in range(ow):
            for a in range(kh):
                for b in range(kw):
                    y, z = i * stride[0] + a * dil[0] - ph, j * stride[1] + b * dil[1] - pw
                    if 0 <= y < h and 0 <= z < w:
                        out[:, i, j] += x[:, y, z] @ f[a, b]
    return out


@pytest.mark.parametrize(
    "shape,fshape,stride,padding,dil",
    [
        ((2, 5, 5, 3), (3, 3, 3, 4), (1, 1), "SAME", (1, 1)),
        ((1, 6, 5, 2), (3, 2, 2, 1), (2, 2), "SAME", (1, 1)),
        ((1, 6, 7, 1), (2, 3, 1, 2), (2, 3), "VALID", (1, 1)),
        ((1, 7, 7, 1), (3, 3, 1, 1), (1, 1), "SAME", (2, 2)),
    ],
)
def test_conv2d_matches_direct_loops(shape, fshape, stride, padding, dil):
    x, f = R.normal(size=shape), R.normal(size=fshape)
    oracle(
        lambda a, b: tf.nn.conv2d(a, b, [1, *stride, 1], padding, dilations=[1, *dil, 1]),
        [x, f],
        lambda a, b: _conv_ref(a, b, stride, padding, dil),
        rtol=1e-10,
        atol=1e-10,
        feed=False,
    )


def test_conv2d_nchw_matches_nhwc():
    x, f = R.normal(size=(1, 4, 4, 2)), R.normal(size=(2, 2, 2, 3))
    ref = _conv_ref(x, f, (1, 1), "SAME").transpose(0, 3, 1, 2)
    oracle(
        lambda a, b: tf.nn.conv2d(a, b, [1, 1, 1, 1], "SAME", data_format="NCHW"),
        [x.transpose(0, 3, 1, 2), f],
        lambda a, b: ref,
        rtol=1e-10,
        feed=False,
    )


def test_pooling_matches_numpy():
    x = R.normal(size=(1, 4, 4, 2))
    blocks = x.reshape(1, 2, 2, 2, 2, 2)
    oracle(
        lambda v: tf.nn.max_pool(v, 2, 2, "VALID"), [x], lambda v: blocks.max((2, 4)), feed=False
    )
    oracle(
        lambda v: tf.nn.avg_pool(v, 2, 2, "VALID"), [x], lambda v: blocks.mean((2, 4)), feed=False
    )
    # SAME average pooling divides by the number of valid entries only (TF's rule).
    y = np.arange(9.0).reshape(1, 3, 3, 1)
    want = np.array([[2.0, 3.5], [6.5, 8.0]]).reshape(1, 2, 2, 1)
    oracle(lambda v: tf.nn.avg_pool(v, 2, 2, "SAME"), [y], lambda v: want, feed=False)  # fmt: skip
