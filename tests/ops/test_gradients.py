"""Gradients: every differentiable op against central finite differences (float64), and the
``tf.gradients`` contract (unconnected inputs, stop_gradient, fan-out, grad_ys, names)."""

from __future__ import annotations

import numpy as np
import pytest
from ops_helpers import check_gradient

import graphjit.compat.v1 as tf
from graphjit.gradients import gradients
from graphjit.ops import registry
from graphjit.ops.grads_math import not_differentiable

R = np.random.default_rng(42)


def u(*shape, lo=-1.0, hi=1.0):
    return R.uniform(lo, hi, size=shape)


POS = {"lo": 0.5, "hi": 2.0}

# (op type covered, build_fn, inputs[, check_gradient options])
CASES = [
    ("AddV2", lambda x, y: x + y, [u(2, 3), u(3)]),
    ("Sub", lambda x, y: x - y, [u(2, 1), u(1, 3)]),
    ("Mul", lambda x, y: x * y, [u(2, 3), u()]),
    ("RealDiv", lambda x, y: x / y, [u(2, 3), u(3, **POS)]),
    ("Neg", lambda x: -x, [u(3)]),
    ("MatMul", lambda a, b: tf.matmul(a, b), [u(2, 3), u(3, 4)]),
    ("MatMul", lambda a, b: tf.matmul(a, b, transpose_a=True), [u(3, 2), u(3, 4)]),
    ("MatMul", lambda a, b: tf.matmul(a, b, transpose_b=True), [u(2, 3), u(4, 3)]),
    ("MatMul", lambda a, b: tf.matmul(a, b, True, True), [u(3, 2), u(4, 3)]),
    ("Sum", lambda x: tf.reduce_sum(x, axis=1), [u(2, 3)]),
    ("Sum", lambda x: tf.reduce_sum(x, axis=[0, 2], keepdims=True), [u(2, 3, 2)]),
    ("Mean", lambda x: tf.reduce_mean(x, axis=0), [u(4, 3)]),
    ("Mean", lambda x: tf.reduce_mean(x), [u(2, 3)]),
    ("Max", lambda x: tf.reduce_max(x, axis=1), [u(3, 4)]),
    ("Min", lambda x: tf.reduce_min(x, axis=0), [u(3, 4)]),
    ("Prod", lambda x: tf.reduce_prod(x, axis=1), [u(2, 3, **POS)]),
    ("Reshape", lambda x: tf.reshape(x, [3, 2]) * [[1.0, 2.0]], [u(2, 3)]),
    ("Cast", lambda x: tf.cast(tf.cast(x, tf.float32), tf.float64), [u(3)], {"eps": 1e-2}),
    ("Identity", lambda x: tf.identity(x) * 3.0, [u(3)]),
    ("Exp", tf.exp, [u(3)]),
    ("Log", tf.log, [u(3, **POS)]),
    ("Tanh", tf.tanh, [u(3)]),
    ("Square", tf.square, [u(3)]),
    ("Sqrt", tf.sqrt, [u(3, **POS)]),
    ("Abs", tf.abs, [np.array([-1.0, 0.5, 2.0])]),
    ("Maximum", tf.maximum, [np.array([1.0, -2.0, 3.0]), np.array([0.5, 0.0, 4.0])]),
    ("Minimum", tf.minimum, [np.array([[1.0, -2.0, 3.0]]), np.array([0.5])]),
    ("Pow", tf.pow, [u(3, **POS), u(3)]),
    ("SquaredDifference", tf.squared_difference, [u(2, 3), u(3)]),
    ("Atan2", tf.atan2, [u(2, 3), u(3, **POS)]),
    ("Pack", lambda x, y: tf.stack([x, y], axis=1), [u(2, 3), u(2, 3)]),
    ("GatherV2", lambda p: tf.gather(p, [2, 0, 2]), [u(4, 2)]),
    ("GatherV2", lambda p: tf.gather(p, [[1, 0]], axis=1), [u(2, 3, 2)]),
    ("StridedSlice", lambda x: x[1:, ::2] * 2.0, [u(3, 4)]),
    ("StridedSlice", lambda x: x[:, 0], [u(3, 4)]),
    ("StridedSliceGrad", lambda x: _ssg_of(x), [u(2, 2)]),
    ("Squeeze", lambda x: tf.squeeze(x, [1]), [u(3, 1)]),
    ("PlaceholderWithDefault", lambda x: tf.placeholder_with_default(x, [3]), [u(3)]),
    ("FloorMod", tf.floormod, [u(3, lo=1.1, hi=1.9), np.array([0.7, 0.9, 1.3])]),
    ("AddN", lambda x, y: tf.math.add_n([x, y, x]), [u(2), u(2)]),
    # math_more
    ("Sigmoid", tf.sigmoid, [u(3)]),
    ("Softplus", tf.nn.softplus, [u(3)]),
    ("Softsign", tf.nn.softsign, [u(3)]),
    ("Expm1", tf.expm1, [u(3)]),
    ("Log1p", tf.log1p, [u(3, **POS)]),
    ("Sin", tf.sin, [u(3)]),
    ("Cos", tf.cos, [u(3)]),
    ("Tan", tf.tan, [u(3)]),
    ("Asin", tf.asin, [u(3, lo=-0.8, hi=0.8)]),
    ("Acos", tf.acos, [u(3, lo=-0.8, hi=0.8)]),
    ("Atan", tf.atan, [u(3)]),
    ("Sinh", tf.sinh, [u(3)]),
    ("Cosh", tf.cosh, [u(3)]),
    ("Rsqrt", tf.rsqrt, [u(3, **POS)]),
    ("Reciprocal", tf.reciprocal, [u(3, **POS)]),
    ("Erf", tf.erf, [u(3)]),
    ("Erfc", tf.erfc, [u(3)]),
    ("Cumsum", lambda x: tf.cumsum(x, axis=1), [u(2, 3)]),
    ("Cumsum", lambda x: tf.cumsum(x, exclusive=True, reverse=True), [u(4)]),
    # array_more / indexing
    ("Transpose", lambda x: tf.transpose(x, [1, 2, 0]), [u(2, 3, 2)]),
    ("ExpandDims", lambda x: tf.expand_dims(x, 0) * [[[1.0], [2.0]]], [u(2, 1)]),
    ("ConcatV2", lambda x, y: tf.concat([x, y], axis=1), [u(2, 1), u(2, 3)]),
    ("Split", lambda x: tf.split(x, 2, axis=1)[1], [u(2, 4)]),
    ("SplitV", lambda x: tf.split(x, [1, 3], axis=1)[1], [u(2, 4)]),
    ("Unpack", lambda x: tf.unstack(x, axis=1)[2], [u(2, 3)]),
    ("Tile", lambda x: tf.tile(x, [2, 3]), [u(2, 1)]),
    ("Pad", lambda x: tf.pad(x, [[1, 0], [2, 1]]), [u(2, 2)]),
    ("PadV2", lambda x: tf.pad(x, [[1, 1]], constant_values=3.0), [u(2)]),
    ("Slice", lambda x: tf.slice(x, [1, 0], [1, 2]), [u(3, 3)]),
    ("ReverseV2", lambda x: tf.reverse(x, [0]) * [[1.0, 2.0]], [u(3, 2)]),
    ("BroadcastTo", lambda x: tf.broadcast_to(x, [3, 2]), [u(1, 2)]),
    ("Select", lambda x, y: tf.where(tf.constant([True, False, True]), x, y), [u(3), u(3)]),
    ("SelectV2", lambda x, y: tf.where_v2(tf.constant([[True], [False]]), x, y), [u(2, 3), u(3)]),
    ("GatherNd", lambda p: tf.gather_nd(p, [[1, 0], [0, 1], [1, 0]]), [u(2, 2)]),
    ("ScatterNd", lambda x: tf.scatter_nd([[1], [0], [1]], x, [3]), [u(3)]),
    ("UnsortedSegmentSum", lambda x: tf.unsorted_segment_sum(x, [1, -1, 1], 3), [u(3, 2)]),
    # nn
    ("Relu", tf.nn.relu, [np.array([-1.0, 0.5, 2.0])]),
    ("Relu6", tf.nn.relu6, [np.array([-1.0, 0.5, 7.0, 5.5])]),
    ("Elu", tf.nn.elu, [np.array([-1.0, 0.5, -0.2])]),
    ("Selu", tf.nn.selu, [np.array([-1.0, 0.5, -0.2])]),
    ("LeakyRelu", lambda x: tf.nn.leaky_relu(x, 0.1), [np.array([-1.0, 0.5, -0.2])]),
    ("Softmax", tf.nn.softmax, [u(2, 3)]),
    ("Softmax", lambda x: tf.nn.softmax(x, axis=0), [u(2, 3)]),
    ("LogSoftmax", tf.nn.log_softmax, [u(2, 3)]),
    ("BiasAdd", tf.nn.bias_add, [u(2, 3), u(3)]),
    ("L2Loss", tf.nn.l2_loss, [u(2, 3)]),
    (
        "SoftmaxCrossEntropyWithLogits",
        lambda x, y: tf.nn.softmax_cross_entropy_with_logits_v2(labels=tf.nn.softmax(y), logits=x),
        [u(2, 3), u(2, 3)],
    ),
    (
        "SparseSoftmaxCrossEntropyWithLogits",
        lambda x: tf.nn.sparse_softmax_cross_entropy_with_logits(labels=[2, 0], logits=x),
        [u(2, 3)],
    ),
    (
        "Conv2D",
        lambda x, f: tf.nn.conv2d(x, f, [1, 2, 1, 1], "SAME"),
        [u(1, 3, 4, 2), u(2, 2, 2, 3)],
    ),
    (
        "Conv2D",
        lambda x, f: tf.nn.conv2d(x, f, [1, 1, 1, 1], "VALID", dilations=[1, 2, 1, 1]),
        [u(1, 4, 3, 1), u(2, 2, 1, 2)],
    ),
    (
        "Conv2DBackpropInput",
        lambda f, dy: tf.nn.conv2d_backprop_input([1, 3, 3, 2], f, dy, [1, 1, 1, 1], "SAME"),
        [u(2, 2, 2, 1), u(1, 3, 3, 1)],
    ),
    (
        "Conv2DBackpropFilter",
        lambda x, dy: tf.nn.conv2d_backprop_filter(x, [2, 2, 1, 2], dy, [1, 1, 1, 1], "VALID"),
        [u(1, 3, 3, 1), u(1, 2, 2, 2)],
    ),
    (
        "MaxPool",
        lambda x: tf.nn.max_pool(x, [1, 2, 2, 1], [1, 2, 2, 1], "SAME"),
        [R.permutation(30).reshape(1, 3, 5, 2) / 10.0],
    ),
    ("AvgPool", lambda x: tf.nn.avg_pool(x, [1, 2, 2, 1], [1, 1, 2, 1], "SAME"), [u(1, 3, 3, 2)]),
    ("AvgPoolGrad", lambda dy: _avg_pool_grad_of(dy), [u(1, 2, 2, 1)]),
]


def _ssg_of(dy):
    from graphjit.ops.common import make1

    attrs = {"T": tf.float64, "Index": tf.int32, "begin_mask": 0, "end_mask": 0,
             "ellipsis_mask": 0, "new_axis_mask": 0, "shrink_axis_mask": 0}  # fmt: skip
    ins = [tf.constant([3, 4]), tf.constant([1, 0]), tf.constant([3, 4]), tf.constant([1, 2])]
    return make1("StridedSliceGrad", [*ins, dy], attrs)


def _avg_pool_grad_of(dy):
    from graphjit.ops.common import make1

    attrs = {
        "T": tf.float64,
        "ksize": [1, 2, 2, 1],
        "strides": [1, 2, 2, 1],
        "padding": "VALID",
        "data_format": "NHWC",
    }
    return make1("AvgPoolGrad", [tf.constant([1, 4, 4, 1]), dy], attrs)


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_gradient_matches_finite_differences(case):
    _, build, inputs, *kw = case
    check_gradient(build, inputs, **(kw[0] if kw else {}))


def _is_differentiable(opdef):
    return opdef.grad is not None and not getattr(opdef.grad, "not_differentiable", False)


# Differentiable ops whose gradient is exercised elsewhere or not meaningful to probe here.
EXEMPT = {
    "Sign": "gradient is zeros",
    "RandomGamma": "random samples; implicit gradient checked in test_random_more.py",
    "If": "finite differences in test_control_flow.py",
    "StatelessIf": "finite differences in test_control_flow.py",
    "IdentityN": "pass-through; checked in test_control_flow.py",
    "While": "finite differences and closed forms in test_while_grad.py",
    "StatelessWhile": "finite differences and closed forms in test_while_grad.py",
    "TensorListGetItem": "second-order loop gradients (test_while_grad.py) gather it",
}


def test_every_differentiable_op_has_a_gradient_case():
    from test_library_more import GRADS

    covered = {c[0] for c in CASES} | {c[0].split("_")[0] for c in GRADS}
    missing = [
        t
        for t, d in sorted(registry.all_ops().items())
        if _is_differentiable(d) and t not in covered and t not in EXEMPT
    ]
    assert not missing, f"no finite-difference case for: {missing}"


# ------------------------------------------------------------------ the tf.gradients contract


def test_gradients_returns_none_for_unconnected_inputs(graph):
    x = tf.placeholder(tf.float32, [2])
    z = tf.placeholder(tf.float32, [2])
    assert gradients(tf.reduce_sum(x * 2.0), [x, z])[1] is None


def test_unconnected_gradients_zero_gives_zeros(graph, sess):
    x = tf.placeholder(tf.float32, [2])
    z = tf.constant([1.0, 2.0])
    (gz,) = gradients(tf.reduce_sum(x), [z], unconnected_gradients="zero")
    np.testing.assert_array_equal(sess.run(gz), [0.0, 0.0])


def test_stop_gradient_blocks_the_path(graph, sess):
    x = tf.constant([1.0, 2.0])
    y = x * tf.stop_gradient(x * 3.0)
    (gx,) = gradients(tf.reduce_sum(y), [x])
    np.testing.assert_allclose(sess.run(gx), [3.0, 6.0])


def test_stop_gradients_argument_treats_tensors_as_constants(graph, sess):
    a = tf.constant(0.0)
    b = 2.0 * a
    ga, gb = gradients(a + b, [a, b], stop_gradients=[a, b])
    assert sess.run([ga, gb]) == [1.0, 1.0]


def test_fan_out_is_aggregated_with_add_n(graph, sess):
    x = tf.constant(3.0)
    y = x * x + x
    (gx,) = gradients(y, [x])
    assert gx.op.type == "AddN"
    assert gx.name.startswith("gradients/")
    assert sess.run(gx) == 7.0


def test_grad_ys_scales_the_initial_gradient(graph, sess):
    x = tf.constant([1.0, 2.0])
    (gx,) = gradients(x * x, [x], grad_ys=[tf.constant([1.0, 10.0])])
    np.testing.assert_allclose(sess.run(gx), [2.0, 40.0])


def test_multiple_ys_are_summed(graph, sess):
    x = tf.constant(2.0)
    (gx,) = gradients([x * x, 3.0 * x], [x])
    assert sess.run(gx) == 7.0


def test_gradient_with_respect_to_variable(graph, sess):
    v = tf.Variable([1.0, 2.0])
    loss = tf.reduce_sum(v * v)
    (gv,) = gradients(loss, [v])
    sess.run(tf.global_variables_initializer())
    np.testing.assert_allclose(sess.run(gv), [2.0, 4.0])


def test_dynamic_shapes_broadcast_gradient(graph, sess):
    x = tf.placeholder(tf.float32, None)
    y = tf.placeholder(tf.float32, None)
    gx, gy = gradients(tf.reduce_sum(x * y), [x, y])
    ox, oy = sess.run([gx, gy], {x: np.ones((2, 3)), y: np.array([1.0, 2.0, 3.0])})
    np.testing.assert_allclose(ox, [[1, 2, 3], [1, 2, 3]])
    np.testing.assert_allclose(oy, [2, 2, 2])


def test_dynamic_mean_gradient(graph, sess):
    x = tf.placeholder(tf.float32, [None, 2])
    (gx,) = gradients(tf.reduce_mean(x, axis=0), [x])
    np.testing.assert_allclose(sess.run(gx, {x: np.ones((4, 2))}), np.full((4, 2), 0.25))


def test_integer_ys_give_none_as_in_tf(graph):
    x = tf.constant([1, 2])
    assert gradients(x * 2, [x]) == [None]


def test_integer_path_gives_none_as_in_tf(graph):
    x = tf.constant([1.5, 2.5])
    y = tf.cast(tf.cast(x, tf.int32), tf.float32)  # the int tensor in between carries no grad
    assert gradients(tf.reduce_sum(y), [x]) == [None]


def test_rounding_ops_are_not_differentiable(graph):
    x = tf.constant([1.5, 2.5])
    for f in (tf.floor, tf.ceil, tf.round, tf.rint):
        assert gradients(tf.reduce_sum(f(x)), [x]) == [None]


def test_gather_gradient_is_indexed_slices(graph, sess):
    from graphjit.sparse import IndexedSlices, IndexedSlicesValue

    p = tf.constant([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    (gp,) = gradients(tf.reduce_sum(tf.gather(p, [2, 0, 2]) * 2.0), [p])
    assert isinstance(gp, IndexedSlices) and gp.shape.as_list() == [3, 2]
    v = sess.run(gp)
    assert isinstance(v, IndexedSlicesValue)
    np.testing.assert_array_equal(v.indices, [2, 0, 2])
    np.testing.assert_array_equal(v.dense_shape, [3, 2])
    np.testing.assert_array_equal(v.values, np.full((3, 2), 2.0))


def test_indexed_slices_are_concatenated_or_densified(graph, sess):
    from graphjit.sparse import IndexedSlices

    p = tf.constant([[1.0, 2.0], [3.0, 4.0]])
    two = tf.reduce_sum(tf.gather(p, [1])) + tf.reduce_sum(tf.gather(p, [0, 1]))
    (g2,) = gradients(two, [p])
    assert isinstance(g2, IndexedSlices)
    assert sorted(sess.run(g2).indices.tolist()) == [0, 1, 1]
    mixed = tf.reduce_sum(tf.gather(p, [1])) + tf.reduce_sum(p * 3.0)
    (gm,) = gradients(mixed, [p])
    assert not isinstance(gm, IndexedSlices)
    np.testing.assert_array_equal(sess.run(gm), [[3.0, 3.0], [4.0, 4.0]])


def test_reduce_prod_gradient_is_exact_at_zeros(graph, sess):
    x = tf.constant([[1.0, 0.0, 3.0], [2.0, 0.0, 0.0]])
    (gx,) = gradients(tf.reduce_sum(tf.reduce_prod(x, axis=1)), [x])
    np.testing.assert_array_equal(sess.run(gx), [[0.0, 3.0, 0.0], [0.0, 0.0, 0.0]])


def test_op_without_gradient_raises_lookup_error(graph):
    x = tf.constant([1.0, 2.0])
    y = tf.nn.l2_loss(x)
    op = registry.get("L2Loss")
    try:
        registry._REGISTRY["L2Loss"] = op.__class__(**{**_fields(op), "grad": None})
        with pytest.raises(LookupError, match="No gradient defined for operation"):
            gradients(y, [x])
    finally:
        registry._REGISTRY["L2Loss"] = op


def _fields(op):
    import dataclasses

    return {f.name: getattr(op, f.name) for f in dataclasses.fields(op)}


def test_not_differentiable_ops_give_none(graph):
    x = tf.constant([1.0, 2.0])
    y = tf.cast(tf.argmax(x), tf.float32) + tf.reduce_sum(x)
    (gx,) = gradients(y, [x])
    assert gx is not None  # through reduce_sum only
    assert _is_differentiable(registry.get("AddV2"))
    assert registry.get("ArgMax").grad is not_differentiable


def test_gradient_ops_live_under_the_gradients_scope(graph):
    x = tf.constant([[1.0, 2.0]])
    w = tf.constant([[1.0], [2.0]])
    y = tf.matmul(x, w, name="MatMul")
    gx, _ = gradients(y, [x, w])
    assert gx.op.name == "gradients/MatMul_grad/MatMul"
