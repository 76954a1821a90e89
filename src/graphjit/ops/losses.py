"""``tf.losses``: TF1's loss functions with the ``LOSSES`` collection and reduction defaults.

Every loss is a composite of graph ops built as ``tensorflow/python/ops/losses/losses_impl.py``
builds it: per-element losses are cast to float32, weighted, reduced with ``reduction``
(default ``SUM_BY_NONZERO_WEIGHTS``), cast back to the input dtype and added to
``loss_collection`` (``GraphKeys.LOSSES``).

>>> import graphjit.compat.v1 as tf
>>> loss = tf.losses.mean_squared_error([1.0, 2.0], [1.5, 2.0])
"""

from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..graph import GraphKeys, Tensor, convert_to_tensor, get_collection, get_default_graph
from . import array as a
from . import array_more as am
from . import indexing as ix
from . import math as m
from . import math_more as mm
from . import nn

LOSSES = GraphKeys.LOSSES


class Reduction:
    """How ``compute_weighted_loss`` reduces the weighted per-element losses."""

    NONE = "none"
    SUM = "weighted_sum"
    SUM_OVER_BATCH_SIZE = "weighted_sum_over_batch_size"
    MEAN = "weighted_mean"
    SUM_BY_NONZERO_WEIGHTS = "weighted_sum_by_nonzero_weights"
    SUM_OVER_NONZERO_WEIGHTS = SUM_BY_NONZERO_WEIGHTS

    @classmethod
    def all(cls):
        return (cls.NONE, cls.SUM, cls.MEAN, cls.SUM_OVER_BATCH_SIZE,
                cls.SUM_OVER_NONZERO_WEIGHTS, cls.SUM_BY_NONZERO_WEIGHTS)  # fmt: skip

    @classmethod
    def validate(cls, key):
        if key not in cls.all():
            raise ValueError(f"Invalid Reduction Key {key}.")


SBNZ = Reduction.SUM_BY_NONZERO_WEIGHTS


def _safe_div(num, den):
    """``num / den`` and 0 where ``den == 0`` (TF's ``div_no_nan``)."""
    zero = np.zeros((), den.dtype.np)
    safe = ix.where_v2(m.equal(den, zero), m.add(den, np.ones((), den.dtype.np)), den)
    return ix.where_v2(m.equal(den, zero), zero, m.truediv(num, safe), name="value")


def _num_present(losses, weights):
    present = ix.where_v2(m.equal(weights, 0.0), am.zeros_like(weights), am.ones_like(weights))
    present = m.multiply(present, am.ones_like(losses))
    return m.reduce_sum(present)


def add_loss(loss, loss_collection=GraphKeys.LOSSES):
    """Add ``loss`` to ``loss_collection`` (no-op for a falsy collection)."""
    if loss_collection:
        get_default_graph().add_to_collection(loss_collection, loss)


def compute_weighted_loss(losses, weights=1.0, scope=None, loss_collection=GraphKeys.LOSSES,
                          reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):  # fmt: skip
    """Weight ``losses``, reduce them with ``reduction`` and add the result to the collection."""
    Reduction.validate(reduction)
    losses = convert_to_tensor(losses)
    with losses.graph.name_scope(scope or "weighted_loss"):
        input_dtype = losses.dtype
        w = weights if isinstance(weights, Tensor) else convert_to_tensor(weights)
        if w.shape.is_fully_defined() and losses.shape.is_fully_defined():
            ws, ls = w.shape.as_list(), losses.shape.as_list()
            if ws and (len(ws) > len(ls) or any(d not in (1, e) for d, e in zip(ws, ls))):
                raise ValueError(
                    f"weights can not be broadcast to values. values.rank={len(ls)}. "
                    f"weights.rank={len(ws)}. values.shape={ls}. weights.shape={ws}."
                )
        losses = a.cast(losses, _dt.float32)
        w = a.cast(w, _dt.float32)
        weighted = m.multiply(losses, w)
        if reduction == Reduction.NONE:
            loss = weighted
        else:
            loss = m.reduce_sum(weighted)
            if reduction == Reduction.MEAN:
                loss = _safe_div(loss, m.reduce_sum(m.multiply(am.ones_like(losses), w)))
            elif reduction == Reduction.SUM_BY_NONZERO_WEIGHTS:
                loss = _safe_div(loss, _num_present(losses, w))
            elif reduction == Reduction.SUM_OVER_BATCH_SIZE:
                loss = _safe_div(loss, a.cast(a.size(losses), _dt.float32))
        loss = a.cast(loss, input_dtype)
        add_loss(loss, loss_collection)
        return loss


def _check(labels, predictions, what="predictions"):
    if labels is None:
        raise ValueError("labels must not be None.")
    if predictions is None:
        raise ValueError(f"{what} must not be None.")


def _compatible(x, y):
    if not x.shape.is_compatible_with(y.shape):
        raise ValueError(f"Shapes {x.shape.tf_str()} and {y.shape.tf_str()} are incompatible")


def _pointwise(default_scope, fn):
    def loss_fn(labels, predictions, weights=1.0, scope=None,
                loss_collection=LOSSES, reduction=SBNZ):  # fmt: skip
        _check(labels, predictions)
        g = get_default_graph()
        with g.name_scope(scope or default_scope) as sc:
            p = a.cast(convert_to_tensor(predictions), _dt.float32)
            y = a.cast(convert_to_tensor(labels), _dt.float32)
            _compatible(p, y)
            return compute_weighted_loss(fn(y, p), weights, sc, loss_collection, reduction)

    loss_fn.__name__ = default_scope
    loss_fn.__doc__ = f"``tf.losses.{default_scope}`` (float32, weighted, reduced)."
    return loss_fn


mean_squared_error = _pointwise("mean_squared_error", lambda y, p: m.squared_difference(p, y))
absolute_difference = _pointwise("absolute_difference", lambda y, p: m.abs(m.subtract(p, y)))


def _hinge(y, p):
    signed = m.subtract(m.multiply(2.0, y), 1.0)
    return nn.relu(m.subtract(1.0, m.multiply(signed, p)))


hinge_loss_fn = _pointwise("hinge_loss", _hinge)


def hinge_loss(labels, logits, weights=1.0, scope=None, loss_collection=GraphKeys.LOSSES,
               reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):  # fmt: skip
    """Hinge loss with labels in {0, 1} mapped to {-1, 1}."""
    _check(labels, logits, "logits")
    return hinge_loss_fn(labels, logits, weights, scope, loss_collection, reduction)


def log_loss(labels, predictions, weights=1.0, epsilon=1e-7, scope=None,
             loss_collection=LOSSES, reduction=SBNZ):  # fmt: skip
    """Binary cross-entropy of probabilities: ``-y log(p+eps) - (1-y) log(1-p+eps)``."""

    def fn(y, p):
        pos = m.multiply(y, m.log(m.add(p, epsilon)))
        neg = m.multiply(m.subtract(1.0, y), m.log(m.add(m.subtract(1.0, p), epsilon)))
        return m.subtract(m.negative(pos), neg)

    return _pointwise("log_loss", fn)(labels, predictions, weights, scope, loss_collection,
                                      reduction)  # fmt: skip


def huber_loss(labels, predictions, weights=1.0, delta=1.0, scope=None,
               loss_collection=LOSSES, reduction=SBNZ):  # fmt: skip
    """Quadratic within ``delta`` of the label, linear beyond."""

    def fn(y, p):
        err = m.abs(m.subtract(p, y))
        quad = m.minimum(err, delta)
        return m.add(m.multiply(0.5, m.square(quad)), m.multiply(delta, m.subtract(err, quad)))

    return _pointwise("huber_loss", fn)(labels, predictions, weights, scope, loss_collection,
                                        reduction)  # fmt: skip


def softmax_cross_entropy(onehot_labels, logits, weights=1.0, label_smoothing=0, scope=None,
                          loss_collection=GraphKeys.LOSSES,
                          reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):  # fmt: skip
    """Softmax cross-entropy of one-hot labels, with optional label smoothing."""
    _check(onehot_labels, logits, "logits")
    g = get_default_graph()
    with g.name_scope(scope or "softmax_cross_entropy_loss") as sc:
        logits = convert_to_tensor(logits)
        y = a.cast(convert_to_tensor(onehot_labels), logits.dtype)
        _compatible(logits, y)
        if label_smoothing > 0:
            n = a.cast(a.shape(y)[-1], logits.dtype)
            y = m.add(m.multiply(y, 1.0 - label_smoothing), m.truediv(label_smoothing, n))
        y = a.stop_gradient(y, name="labels_stop_gradient")
        losses = nn.softmax_cross_entropy_with_logits_v2(labels=y, logits=logits, name="xentropy")
        return compute_weighted_loss(losses, weights, sc, loss_collection, reduction)


def sparse_softmax_cross_entropy(labels, logits, weights=1.0, scope=None,
                                 loss_collection=GraphKeys.LOSSES,
                                 reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):  # fmt: skip
    """Softmax cross-entropy of integer class labels."""
    _check(labels, logits, "logits")
    g = get_default_graph()
    with g.name_scope(scope or "sparse_softmax_cross_entropy_loss") as sc:
        labels = convert_to_tensor(labels)
        logits = convert_to_tensor(logits)
        lr, gr = labels.shape.ndims, logits.shape.ndims
        if lr is not None and gr is not None and lr - gr == 0:
            if labels.shape.as_list()[-1] == 1:  # TF squeezes a trailing size-1 label axis
                labels = a.squeeze(labels, [-1])
        losses = nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits,
                                                             name="xentropy")  # fmt: skip
        return compute_weighted_loss(losses, weights, sc, loss_collection, reduction)


def sigmoid_cross_entropy(multi_class_labels, logits, weights=1.0, label_smoothing=0, scope=None,
                          loss_collection=GraphKeys.LOSSES,
                          reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):  # fmt: skip
    """Sigmoid cross-entropy of multi-label targets, with optional label smoothing."""
    _check(multi_class_labels, logits, "logits")
    g = get_default_graph()
    with g.name_scope(scope or "sigmoid_cross_entropy_loss") as sc:
        logits = convert_to_tensor(logits)
        y = a.cast(convert_to_tensor(multi_class_labels), logits.dtype)
        _compatible(logits, y)
        if label_smoothing > 0:
            y = m.add(m.multiply(y, 1.0 - label_smoothing), 0.5 * label_smoothing)
        losses = nn.sigmoid_cross_entropy_with_logits(labels=y, logits=logits, name="xentropy")
        return compute_weighted_loss(losses, weights, sc, loss_collection, reduction)


def get_losses(scope=None, loss_collection=GraphKeys.LOSSES):
    """The losses added to ``loss_collection`` (filtered by ``scope``)."""
    return get_collection(loss_collection, scope)


def get_regularization_losses(scope=None):
    return get_collection(GraphKeys.REGULARIZATION_LOSSES, scope)


def get_regularization_loss(scope=None, name="total_regularization_loss"):
    losses = get_regularization_losses(scope)
    if losses:
        return mm.add_n_op(losses, name=name)
    return a.constant(0.0)


def get_total_loss(add_regularization_losses=True, name="total_loss", scope=None):
    """Sum of the collected losses (and regularization losses)."""
    losses = get_losses(scope)
    if add_regularization_losses:
        losses = losses + get_regularization_losses(scope)
    if not losses:
        raise ValueError("No losses found in the LOSSES collection.")
    return mm.add_n_op(losses, name=name)


__all__ = [
    "Reduction",
    "absolute_difference",
    "add_loss",
    "compute_weighted_loss",
    "get_losses",
    "get_regularization_loss",
    "get_regularization_losses",
    "get_total_loss",
    "hinge_loss",
    "huber_loss",
    "log_loss",
    "mean_squared_error",
    "sigmoid_cross_entropy",
    "softmax_cross_entropy",
    "sparse_softmax_cross_entropy",
]
