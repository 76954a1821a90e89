"""TF1's optimizers, each update written with graph ops (``Assign*`` on slot variables).

The formulas are those of TF's fused kernels (``tensorflow/core/kernels/training_ops.cc``),
written out so the compiler can fuse them with the rest of the step:

- GradientDescent: ``var -= lr * g``
- Momentum: ``accum = accum * momentum + g``; ``var -= lr * accum`` (Nesterov:
  ``var -= lr * g + lr * momentum * accum``)
- Adam: ``lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t)``; ``m += (g - m) * (1 - beta1)``;
  ``v += (g^2 - v) * (1 - beta2)``; ``var -= lr_t * m / (sqrt(v) + epsilon)``; then the
  ``beta1_power``/``beta2_power`` variables are multiplied by ``beta1``/``beta2``.
- RMSProp: ``ms += (g^2 - ms) * (1 - decay)`` (centered: ``mg += (g - mg) * (1 - decay)`` and
  the denominator is ``ms - mg^2 + epsilon``); ``mom = mom * momentum + lr * g /
  sqrt(ms + epsilon)``; ``var -= mom``.
- Adagrad: ``accum += g^2``; ``var -= lr * g / sqrt(accum)``.
- Adadelta: ``accum = rho * accum + (1 - rho) * g^2``; ``update = sqrt(accum_update + eps) /
  sqrt(accum + eps) * g``; ``accum_update = rho * accum_update + (1 - rho) * update^2``;
  ``var -= lr * update``.

Sparse gradients (``IndexedSlices``, e.g. of ``tf.gather``/``tf.nn.embedding_lookup``) follow
TF's sparse paths: gradient descent scatters ``lr * values`` into the named rows (repeated
indices accumulate); the others first sum the slices of repeated indices (``Unique`` +
``UnsortedSegmentSum``), then update only the named rows of the variable and its slots with the
formulas of TF's ``SparseApply*`` kernels (gather the rows, compute, ``ScatterUpdate`` the
slots, ``ScatterSub`` the variable), so untouched rows keep their slots. Adam is the exception,
as in TF (``_apply_sparse_shared``): ``m`` and ``v`` decay densely, the scaled slices are
scatter-added, and every row of the variable moves by ``lr_t * m / (sqrt(v) + epsilon)``.
"""

from __future__ import annotations

import numpy as np

from ..graph import convert_to_tensor
from ..ops.array import constant, gather
from ..ops.control import group
from ..ops.math import sqrt, square
from ..ops.state_ops import scatter_add, scatter_sub, scatter_update
from .optimizer import Optimizer


def _tensor(value, name):
    return convert_to_tensor(value, name=name)


class GradientDescentOptimizer(Optimizer):
    """Plain gradient descent: ``var -= learning_rate * grad``.

    Parameters
    ----------
    learning_rate : float or Tensor or callable
        The step size.
    """

    def __init__(self, learning_rate, use_locking=False, name="GradientDescent"):
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate
        self._learning_rate_tensor = None

    def _prepare(self):
        lr = self._call_if_callable(self._learning_rate)
        self._learning_rate_tensor = _tensor(lr, "learning_rate")

    def _apply_dense(self, grad, var):
        lr = self._hyper(self._learning_rate_tensor, var)
        return var.assign_sub(lr * grad, use_locking=self._use_locking).op

    def _apply_sparse_duplicate_indices(self, grad, var):
        # linear in the gradient: ScatterSub accumulates repeated indices itself (as TF)
        lr = self._hyper(self._learning_rate_tensor, var)
        delta = grad.values * lr
        return scatter_sub(var, grad.indices, delta, use_locking=self._use_locking).op


class MomentumOptimizer(Optimizer):
    """Gradient descent with momentum (optionally Nesterov); slot ``"momentum"``.

    Parameters
    ----------
    learning_rate, momentum : float or Tensor or callable
    use_nesterov : bool
        Use Nesterov momentum (``var -= lr * grad + lr * momentum * accum``).
    """

    def __init__(
        self, learning_rate, momentum, use_locking=False, name="Momentum", use_nesterov=False
    ):
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate
        self._momentum = momentum
        self._use_nesterov = use_nesterov

    def _create_slots(self, var_list):
        for v in var_list:
            self._zeros_slot(v, "momentum", self._name)

    def _prepare(self):
        self._learning_rate_tensor = _tensor(
            self._call_if_callable(self._learning_rate), "learning_rate"
        )
        self._momentum_tensor = _tensor(self._call_if_callable(self._momentum), "momentum")

    def _apply_dense(self, grad, var):
        lr = self._hyper(self._learning_rate_tensor, var)
        mom = self._hyper(self._momentum_tensor, var)
        accum = self.get_slot(var, "momentum")
        accum_t = accum.assign(accum * mom + grad, use_locking=self._use_locking)
        if self._use_nesterov:
            delta = grad * lr + accum_t * mom * lr
        else:
            delta = lr * accum_t
        return var.assign_sub(delta, use_locking=self._use_locking).op

    def _apply_sparse(self, grad, var):
        # SparseApplyMomentum on the (deduplicated) rows
        lr = self._hyper(self._learning_rate_tensor, var)
        mom = self._hyper(self._momentum_tensor, var)
        g, idx = grad.values, grad.indices
        accum = self.get_slot(var, "momentum")
        a = gather(accum, idx) * mom + g
        delta = g * lr + a * mom * lr if self._use_nesterov else lr * a
        return _scatter_rows(var, delta, idx, [(accum, a)], self._use_locking)


class AdamOptimizer(Optimizer):
    """Adam (Kingma & Ba) with TF1's bias correction folded into the step size.

    Slots ``"m"`` and ``"v"``; non-slot variables ``beta1_power`` and ``beta2_power``.

    Parameters
    ----------
    learning_rate, beta1, beta2, epsilon : float or Tensor or callable
    """

    def __init__(
        self,
        learning_rate=0.001,
        beta1=0.9,
        beta2=0.999,
        epsilon=1e-8,
        use_locking=False,
        name="Adam",
    ):
        super().__init__(use_locking, name)
        self._lr = learning_rate
        self._beta1 = beta1
        self._beta2 = beta2
        self._epsilon = epsilon

    def _get_beta_accumulators(self):
        first = next(iter(self._non_slot_dict))
        graph = first[1]
        return (
            self._get_non_slot_variable("beta1_power", graph=graph),
            self._get_non_slot_variable("beta2_power", graph=graph),
        )

    def _create_slots(self, var_list):
        first_var = min(var_list, key=lambda x: x.name)
        b1 = self._call_if_callable(self._beta1)
        b2 = self._call_if_callable(self._beta2)
        self._create_non_slot_variable(
            _initial(b1, first_var), name="beta1_power", colocate_with=first_var
        )
        self._create_non_slot_variable(
            _initial(b2, first_var), name="beta2_power", colocate_with=first_var
        )
        for v in var_list:
            self._zeros_slot(v, "m", self._name)
            self._zeros_slot(v, "v", self._name + "_1")

    def _prepare(self):
        c = self._call_if_callable
        self._lr_t = _tensor(c(self._lr), "learning_rate")
        self._beta1_t = _tensor(c(self._beta1), "beta1")
        self._beta2_t = _tensor(c(self._beta2), "beta2")
        self._epsilon_t = _tensor(c(self._epsilon), "epsilon")

    def _apply_dense(self, grad, var):
        beta1_power, beta2_power = self._get_beta_accumulators_for(var)
        h = self._hyper
        lr, b1, b2 = h(self._lr_t, var), h(self._beta1_t, var), h(self._beta2_t, var)
        eps = h(self._epsilon_t, var)
        b1p, b2p = h(beta1_power.value(), var), h(beta2_power.value(), var)
        one = constant(np.array(1, dtype=var.dtype.as_numpy_dtype))
        lr_t = lr * sqrt(one - b2p) / (one - b1p)
        m = self.get_slot(var, "m")
        v = self.get_slot(var, "v")
        m_t = m.assign_add((grad - m) * (one - b1), use_locking=self._use_locking)
        v_t = v.assign_add((square(grad) - v) * (one - b2), use_locking=self._use_locking)
        update = var.assign_sub(lr_t * m_t / (sqrt(v_t) + eps), use_locking=self._use_locking)
        return group(update, m_t, v_t)

    def _apply_sparse(self, grad, var):
        # TF's _apply_sparse_shared: the slots decay densely, then the scaled slices are
        # scatter-added; the variable update is dense (rows with m != 0 all move).
        beta1_power, beta2_power = self._get_beta_accumulators_for(var)
        h = self._hyper
        lr, b1, b2 = h(self._lr_t, var), h(self._beta1_t, var), h(self._beta2_t, var)
        eps = h(self._epsilon_t, var)
        b1p, b2p = h(beta1_power.value(), var), h(beta2_power.value(), var)
        one = constant(np.array(1, dtype=var.dtype.as_numpy_dtype))
        lr_t = lr * sqrt(one - b2p) / (one - b1p)
        g, idx, lk = grad.values, grad.indices, self._use_locking
        g_ = var.graph
        m = self.get_slot(var, "m")
        m_scaled = g * (one - b1)
        m_t = m.assign(m * b1, use_locking=lk)
        with g_.control_dependencies([m_t]):
            m_t = scatter_add(m, idx, m_scaled, use_locking=lk)
        v = self.get_slot(var, "v")
        v_scaled = (g * g) * (one - b2)
        v_t = v.assign(v * b2, use_locking=lk)
        with g_.control_dependencies([v_t]):
            v_t = scatter_add(v, idx, v_scaled, use_locking=lk)
        update = var.assign_sub(lr_t * m_t / (sqrt(v_t) + eps), use_locking=lk)
        return group(update, m_t, v_t)

    def _get_beta_accumulators_for(self, var):
        g = var.graph
        return (
            self._get_non_slot_variable("beta1_power", graph=g),
            self._get_non_slot_variable("beta2_power", graph=g),
        )

    def _finish(self, update_ops, name_scope):
        beta1_power, beta2_power = self._get_beta_accumulators()
        g = beta1_power.graph
        with g.control_dependencies(update_ops):
            update_beta1 = beta1_power.assign(
                beta1_power * self._hyper(self._beta1_t, beta1_power),
                use_locking=self._use_locking,
            )
            update_beta2 = beta2_power.assign(
                beta2_power * self._hyper(self._beta2_t, beta2_power),
                use_locking=self._use_locking,
            )
        return group(*update_ops, update_beta1, update_beta2, name=name_scope)


def _initial(value, like):
    """A Python or Tensor hyperparameter as the initial value of a variable like ``like``."""
    if isinstance(value, (int, float)):
        return constant(np.array(value, dtype=like.dtype.as_numpy_dtype))
    return value


class RMSPropOptimizer(Optimizer):
    """RMSProp (Hinton), optionally centered; slots ``"rms"`` (ones), ``"momentum"``, ``"mg"``.

    Parameters
    ----------
    learning_rate : float or Tensor or callable
    decay : float
        Discounting factor of the squared-gradient average (TF's ``rho``).
    momentum, epsilon : float
    centered : bool
        Normalise by the estimated variance of the gradient instead of its second moment.
    """

    def __init__(
        self,
        learning_rate,
        decay=0.9,
        momentum=0.0,
        epsilon=1e-10,
        use_locking=False,
        centered=False,
        name="RMSProp",
    ):
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate
        self._decay = decay
        self._momentum = momentum
        self._epsilon = epsilon
        self._centered = centered

    def _create_slots(self, var_list):
        for v in var_list:
            ones = constant(np.ones(v.shape.as_list(), dtype=v.dtype.as_numpy_dtype))
            self._get_or_make_slot(v, ones, "rms", self._name)
            if self._centered:
                self._zeros_slot(v, "mg", self._name)
            self._zeros_slot(v, "momentum", self._name)

    def _prepare(self):
        c = self._call_if_callable
        self._learning_rate_tensor = _tensor(c(self._learning_rate), "learning_rate")
        self._decay_tensor = _tensor(c(self._decay), "decay")
        self._momentum_tensor = _tensor(c(self._momentum), "momentum")
        self._epsilon_tensor = _tensor(c(self._epsilon), "epsilon")

    def _apply_dense(self, grad, var):
        h = self._hyper
        lr, rho = h(self._learning_rate_tensor, var), h(self._decay_tensor, var)
        momentum, eps = h(self._momentum_tensor, var), h(self._epsilon_tensor, var)
        one = constant(np.array(1, dtype=var.dtype.as_numpy_dtype))
        rms = self.get_slot(var, "rms")
        mom = self.get_slot(var, "momentum")
        lk = self._use_locking
        ms_t = rms.assign_add((square(grad) - rms) * (one - rho), use_locking=lk)
        if self._centered:
            mg = self.get_slot(var, "mg")
            mg_t = mg.assign_add((grad - mg) * (one - rho), use_locking=lk)
            denom = ms_t - square(mg_t) + eps
            extra = [mg_t]
        else:
            denom = ms_t + eps
            extra = []
        mom_t = mom.assign(mom * momentum + lr * grad / sqrt(denom), use_locking=lk)
        update = var.assign_sub(mom_t, use_locking=lk)
        return group(update, ms_t, mom_t, *extra)

    def _apply_sparse(self, grad, var):
        # Sparse(Centered)ApplyRMSProp on the (deduplicated) rows
        h = self._hyper
        lr, rho = h(self._learning_rate_tensor, var), h(self._decay_tensor, var)
        momentum, eps = h(self._momentum_tensor, var), h(self._epsilon_tensor, var)
        one = constant(np.array(1, dtype=var.dtype.as_numpy_dtype))
        g, idx = grad.values, grad.indices
        rms = self.get_slot(var, "rms")
        mom = self.get_slot(var, "momentum")
        ms = gather(rms, idx) * rho + square(g) * (one - rho)
        writes = [(rms, ms)]
        if self._centered:
            mg_slot = self.get_slot(var, "mg")
            mg = gather(mg_slot, idx) * rho + g * (one - rho)
            denom = ms + eps - square(mg)
            writes.append((mg_slot, mg))
        else:
            denom = ms + eps
        mom_rows = gather(mom, idx) * momentum + lr * g / sqrt(denom)
        writes.append((mom, mom_rows))
        return _scatter_rows(var, mom_rows, idx, writes, self._use_locking)


class AdagradOptimizer(Optimizer):
    """Adagrad: ``accum += grad^2``; ``var -= lr * grad / sqrt(accum)``; slot ``"accumulator"``.

    Parameters
    ----------
    learning_rate : float or Tensor or callable
    initial_accumulator_value : float
        Starting value of the accumulators; must be positive.
    """

    def __init__(
        self, learning_rate, initial_accumulator_value=0.1, use_locking=False, name="Adagrad"
    ):
        if initial_accumulator_value <= 0.0:
            raise ValueError(
                f"initial_accumulator_value must be positive: {initial_accumulator_value}"
            )
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate
        self._initial_accumulator_value = initial_accumulator_value

    def _create_slots(self, var_list):
        for v in var_list:
            init = np.full(
                v.shape.as_list(), self._initial_accumulator_value, dtype=v.dtype.as_numpy_dtype
            )
            self._get_or_make_slot(v, constant(init), "accumulator", self._name)

    def _prepare(self):
        lr = self._call_if_callable(self._learning_rate)
        self._learning_rate_tensor = _tensor(lr, "learning_rate")

    def _apply_dense(self, grad, var):
        lr = self._hyper(self._learning_rate_tensor, var)
        acc = self.get_slot(var, "accumulator")
        acc_t = acc.assign_add(square(grad), use_locking=self._use_locking)
        update = var.assign_sub(lr * grad / sqrt(acc_t), use_locking=self._use_locking)
        return group(update, acc_t)

    def _apply_sparse(self, grad, var):
        # SparseApplyAdagrad on the (deduplicated) rows
        lr = self._hyper(self._learning_rate_tensor, var)
        g, idx = grad.values, grad.indices
        acc = self.get_slot(var, "accumulator")
        a = gather(acc, idx) + square(g)
        return _scatter_rows(var, lr * g / sqrt(a), idx, [(acc, a)], self._use_locking)


class AdadeltaOptimizer(Optimizer):
    """Adadelta (Zeiler); slots ``"accum"`` and ``"accum_update"``.

    Parameters
    ----------
    learning_rate, rho, epsilon : float or Tensor or callable
    """

    def __init__(
        self, learning_rate=0.001, rho=0.95, epsilon=1e-8, use_locking=False, name="Adadelta"
    ):
        super().__init__(use_locking, name)
        self._lr = learning_rate
        self._rho = rho
        self._epsilon = epsilon

    def _create_slots(self, var_list):
        for v in var_list:
            self._zeros_slot(v, "accum", self._name)
            self._zeros_slot(v, "accum_update", self._name + "_1")

    def _prepare(self):
        c = self._call_if_callable
        self._lr_t = _tensor(c(self._lr), "lr")
        self._rho_t = _tensor(c(self._rho), "rho")
        self._epsilon_t = _tensor(c(self._epsilon), "epsilon")

    def _apply_dense(self, grad, var):
        h = self._hyper
        lr, rho, eps = h(self._lr_t, var), h(self._rho_t, var), h(self._epsilon_t, var)
        one = constant(np.array(1, dtype=var.dtype.as_numpy_dtype))
        accum = self.get_slot(var, "accum")
        accum_update = self.get_slot(var, "accum_update")
        lk = self._use_locking
        accum_t = accum.assign(accum * rho + square(grad) * (one - rho), use_locking=lk)
        # read accum_update before it is overwritten below (the update depends on it)
        update = sqrt(accum_update.value() + eps) / sqrt(accum_t + eps) * grad
        au_t = accum_update.assign(
            accum_update * rho + square(update) * (one - rho), use_locking=lk
        )
        var_t = var.assign_sub(update * lr, use_locking=lk)
        return group(var_t, accum_t, au_t)

    def _apply_sparse(self, grad, var):
        # SparseApplyAdadelta on the (deduplicated) rows
        h = self._hyper
        lr, rho, eps = h(self._lr_t, var), h(self._rho_t, var), h(self._epsilon_t, var)
        one = constant(np.array(1, dtype=var.dtype.as_numpy_dtype))
        g, idx = grad.values, grad.indices
        accum = self.get_slot(var, "accum")
        accum_update = self.get_slot(var, "accum_update")
        acc = gather(accum, idx) * rho + square(g) * (one - rho)
        au_old = gather(accum_update, idx)
        update = sqrt(au_old + eps) / sqrt(acc + eps) * g
        au = au_old * rho + square(update) * (one - rho)
        writes = [(accum, acc), (accum_update, au)]
        return _scatter_rows(var, update * lr, idx, writes, self._use_locking)


def _scatter_rows(var, delta, indices, slot_rows, use_locking):
    """Write the new ``slot_rows`` (``[(slot, rows)]``) and subtract ``delta`` from ``var``.

    Only rows ``indices`` (unique) change; the new rows were computed from gathers of the old
    ones, which data dependencies order before these writes.
    """
    writes = [scatter_update(s, indices, rows, use_locking=use_locking) for s, rows in slot_rows]
    update = scatter_sub(var, indices, delta, use_locking=use_locking)
    return group(update, *writes)
