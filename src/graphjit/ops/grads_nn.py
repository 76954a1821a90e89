"""Gradient rules for the nn ops: activations, softmax, losses, bias_add, conv and pooling."""

from __future__ import annotations

import numpy as np

from . import array as a
from . import math as m
from . import nn_conv as cv
from .common import make1
from .grads_math import not_differentiable, shape_or_tensor
from .indexing import where_v2
from .registry import set_grad


def _c(v, t):
    return np.asarray(v, t.dtype.np)


def _act(rule):
    def grad(op, g):
        return [rule(op.inputs[0], op.outputs[0], g, op)]

    return grad


def _pos(x):
    return m.greater(x, _c(0, x))


set_grad("Relu", _act(lambda x, y, g, op: where_v2(_pos(y), g, _c(0, g))))
set_grad(
    "Relu6",
    _act(lambda x, y, g, op: where_v2(m.logical_and(_pos(x), m.less(x, _c(6, x))), g, _c(0, g))),
)
set_grad("Elu", _act(lambda x, y, g, op: where_v2(_pos(y), g, m.multiply(g, m.add(y, _c(1, y))))))
_SELU_S = 1.0507009873554804934193349852946
_SELU_SA = _SELU_S * 1.6732632423543772848170429916717


def _selu(x, y, g, op):
    below = m.multiply(g, m.add(y, _c(_SELU_SA, y)))
    return where_v2(_pos(y), m.multiply(g, _c(_SELU_S, g)), below)


set_grad("Selu", _act(_selu))
set_grad(
    "LeakyRelu",
    _act(lambda x, y, g, op: where_v2(_pos(x), g, m.multiply(g, _c(op.get_attr("alpha"), g)))),
)


def _softmax(op, g):
    y = op.outputs[0]
    s = m.reduce_sum(m.multiply(g, y), axis=-1, keepdims=True)
    return [m.multiply(m.subtract(g, s), y)]


def _log_softmax(op, g):
    y = op.outputs[0]
    s = m.reduce_sum(g, axis=-1, keepdims=True)
    return [m.subtract(g, m.multiply(s, m.exp(y)))]


set_grad("Softmax", _softmax)
set_grad("LogSoftmax", _log_softmax)


def _bias_add(op, g):
    fmt = op.get_attr("data_format")
    rank = g.shape.ndims
    if rank is None:
        raise LookupError(f"BiasAdd gradient needs a known rank ({op.name})")
    keep = 1 if fmt == "NCHW" else rank - 1
    axes = [i for i in range(rank) if i != keep]
    return [g, m.reduce_sum(g, axis=axes)]


set_grad("BiasAdd", _bias_add)
set_grad("L2Loss", lambda op, g: [m.multiply(op.inputs[0], g)])


def _xent(op, g_loss, g_back):
    from .nn import log_softmax

    logits, _labels = op.inputs
    back = op.outputs[1]
    gcol = a.reshape(g_loss, [-1, 1])
    g_logits = m.multiply(gcol, back)
    g_labels = m.multiply(gcol, m.negative(log_softmax(logits)))
    return [g_logits, g_labels]


def _sparse_xent(op, g_loss, g_back):
    back = op.outputs[1]
    return [m.multiply(a.reshape(g_loss, [-1, 1]), back), None]


set_grad("SoftmaxCrossEntropyWithLogits", _xent)
set_grad("SparseSoftmaxCrossEntropyWithLogits", _sparse_xent)


def _conv_attrs(op):
    return {k: op.get_attr(k) for k in ("T", "strides", "padding", "data_format", "dilations")}


def _conv2d(op, g):
    x, f = op.inputs
    attrs = {**_conv_attrs(op), "use_cudnn_on_gpu": True}
    sx = _index(shape_or_tensor(x))
    sf = _index(shape_or_tensor(f))
    dx = make1("Conv2DBackpropInput", [sx, f, g], attrs)
    df = make1("Conv2DBackpropFilter", [x, sf, g], attrs)
    return [dx, df]


def _index(v):
    from .array_more import as_index

    return as_index(v) if isinstance(v, list) else v


set_grad("Conv2D", _conv2d)


def _conv_bp_input(op, g):
    _sizes, f, dy = op.inputs
    attrs = {**_conv_attrs(op), "use_cudnn_on_gpu": True}
    df = make1("Conv2DBackpropFilter", [g, _index(shape_or_tensor(f)), dy], attrs)
    dy_grad = make1("Conv2D", [g, f], attrs)
    return [None, df, dy_grad]


def _conv_bp_filter(op, g):
    x, _sizes, dy = op.inputs
    attrs = {**_conv_attrs(op), "use_cudnn_on_gpu": True}
    dx = make1("Conv2DBackpropInput", [_index(shape_or_tensor(x)), g, dy], attrs)
    dy_grad = make1("Conv2D", [x, g], attrs)
    return [dx, None, dy_grad]


set_grad("Conv2DBackpropInput", _conv_bp_input)
set_grad("Conv2DBackpropFilter", _conv_bp_filter)


def _pool_attrs(op):
    return {k: op.get_attr(k) for k in ("T", "ksize", "strides", "padding", "data_format")}


def _max_pool(op, g):
    x, y = op.inputs[0], op.outputs[0]
    return [make1("MaxPoolGrad", [x, y, g], _pool_attrs(op))]


def _avg_pool(op, g):
    x = op.inputs[0]
    return [make1("AvgPoolGrad", [_index(shape_or_tensor(x)), g], _pool_attrs(op))]


set_grad("MaxPool", _max_pool)
set_grad("AvgPool", _avg_pool)
set_grad("AvgPoolGrad", lambda op, g: [None, make1("AvgPool", [g], _pool_attrs(op))])

for _t in ("RandomStandardNormal RandomUniform RandomUniformInt TruncatedNormal").split():
    set_grad(_t, not_differentiable)

_ = cv
