"""The ``tf.train.Optimizer`` base class (TF1 semantics).

An optimizer turns ``(gradient, variable)`` pairs into graph ops: each update is built from
ordinary ops (``Assign``/``AssignAdd``/``AssignSub`` on the variable and on its *slot* variables),
so a training step is one graph that the compiler fuses like any other. Subclasses implement
``_create_slots``, ``_prepare``, ``_apply_dense``, ``_apply_sparse`` (``IndexedSlices``
gradients, e.g. of ``tf.gather``; only the named rows change) and optionally ``_finish``, as in
TF.
"""

from __future__ import annotations

from .. import dtypes as _dt
from ..graph import GraphKeys, Operation, Tensor, convert_to_tensor, get_default_graph
from ..ops.array import cast, constant
from ..ops.control import group
from ..ops.control import tuple as _gate_tuple
from ..variables import Variable, trainable_variables

_FLOAT_TYPES = (_dt.float16, _dt.float32, _dt.float64)


def _var_key(var) -> str:
    return var.op.name


def _slot_variable(primary: Variable, value, op_name: str) -> Variable:
    """A non-trainable variable named ``<primary>/<op_name>`` (absolute, like TF's slots)."""
    g = primary.graph
    # TF creates slots under init_scope + variable_scope: names ignore the current name scope
    # and control dependencies, so ``w/Adam`` is the same wherever minimize() is called.
    with g.as_default(), g.control_dependencies(None), g.name_scope(None):
        return Variable(value, name=f"{primary.op.name}/{op_name}", trainable=False)


def _zeros_like_var(var: Variable):
    import numpy as np

    return constant(np.zeros(var.shape.as_list(), dtype=var.dtype.as_numpy_dtype))


def _as_tensor_like(value, dtype):
    """Convert a hyperparameter (Python number, Tensor or callable) to a tensor of ``dtype``."""
    t = convert_to_tensor(value)
    if t.dtype is not dtype:
        t = cast(t, dtype)
    return t


class Optimizer:
    """Base class for TF1 optimizers (``tf.train.Optimizer``).

    Parameters
    ----------
    use_locking : bool
        Accepted for compatibility (graphjit runs updates of one step in order).
    name : str
        Name scope of the ops created by :meth:`apply_gradients`.

    Examples
    --------
    >>> import graphjit.compat.v1 as tf
    >>> g = tf.Graph()
    >>> with g.as_default():
    ...     w = tf.Variable(1.0)
    ...     step = tf.train.GradientDescentOptimizer(0.5).apply_gradients([(tf.constant(2.0), w)])
    ...     with tf.Session() as sess:
    ...         _ = sess.run(w.initializer)
    ...         _ = sess.run(step)
    ...         print(sess.run(w))
    0.0
    """

    GATE_NONE = 0
    GATE_OP = 1
    GATE_GRAPH = 2

    def __init__(self, use_locking, name):
        if not name:
            raise ValueError("Must specify the optimizer name")
        self._use_locking = use_locking
        self._name = name
        # {slot name: {var key: slot variable}}
        self._slots: dict[str, dict[str, Variable]] = {}
        # {(name, graph): variable} for non-slot variables such as Adam's beta powers
        self._non_slot_dict: dict = {}

    def get_name(self) -> str:
        return self._name

    # ------------------------------------------------------------------ public API
    def minimize(
        self,
        loss,
        global_step=None,
        var_list=None,
        gate_gradients=GATE_OP,
        aggregation_method=None,
        colocate_gradients_with_ops=False,
        name=None,
        grad_loss=None,
    ) -> Operation:
        """Add ops to minimize ``loss``: :meth:`compute_gradients` then :meth:`apply_gradients`.

        Returns the training op; running it updates ``var_list`` (and increments
        ``global_step`` when given).
        """
        grads_and_vars = self.compute_gradients(
            loss,
            var_list=var_list,
            gate_gradients=gate_gradients,
            aggregation_method=aggregation_method,
            colocate_gradients_with_ops=colocate_gradients_with_ops,
            grad_loss=grad_loss,
        )
        vars_with_grad = [v for g, v in grads_and_vars if g is not None]
        if not vars_with_grad:
            raise ValueError(
                "No gradients provided for any variable, check your graph for ops that do "
                "not support gradients, between variables "
                f"{[str(v) for _, v in grads_and_vars]} and loss {loss}."
            )
        return self.apply_gradients(grads_and_vars, global_step=global_step, name=name)

    def compute_gradients(
        self,
        loss,
        var_list=None,
        gate_gradients=GATE_OP,
        aggregation_method=None,
        colocate_gradients_with_ops=False,
        grad_loss=None,
    ) -> list:
        """Gradients of ``loss`` for the variables in ``var_list``.

        Returns a list of ``(gradient, variable)`` pairs, one per variable, in ``var_list``
        order; the gradient is ``None`` for a variable ``loss`` does not depend on (as TF;
        :meth:`apply_gradients` skips those).
        """
        from ..gradients import gradients

        if callable(loss):
            raise RuntimeError("`loss` passed to Optimizer.compute_gradients should be a Tensor")
        if gate_gradients not in (self.GATE_NONE, self.GATE_OP, self.GATE_GRAPH):
            raise ValueError(
                "gate_gradients must be one of: Optimizer.GATE_NONE, Optimizer.GATE_OP, "
                f"Optimizer.GATE_GRAPH.  Not {gate_gradients}"
            )
        loss = convert_to_tensor(loss)
        self._assert_valid_dtypes([loss])
        if grad_loss is not None:
            grad_loss = convert_to_tensor(grad_loss)
            self._assert_valid_dtypes([grad_loss])
        if var_list is None:
            with loss.graph.as_default():
                var_list = trainable_variables()
        else:
            var_list = list(var_list)
        if not var_list:
            raise ValueError("No variables to optimize.")
        for v in var_list:
            if not isinstance(v, Variable):
                raise TypeError(f"Argument is not a tf.Variable: {v}")
        grads = gradients(
            loss,
            [v._ref() for v in var_list],
            grad_ys=grad_loss,
            gate_gradients=(gate_gradients == self.GATE_OP),
            aggregation_method=aggregation_method,
            colocate_gradients_with_ops=colocate_gradients_with_ops,
        )
        if gate_gradients == self.GATE_GRAPH:
            grads = _gate_tuple(grads)
        pairs = list(zip(grads, var_list))
        self._assert_valid_dtypes([v for g, v in pairs if g is not None])
        return pairs

    def apply_gradients(self, grads_and_vars, global_step=None, name=None) -> Operation:
        """Apply ``(gradient, variable)`` pairs; returns the op that performs the update.

        Pairs whose gradient is ``None`` are skipped; ``ValueError`` when all are.
        With ``global_step``, the returned op also increments it after the updates.
        """
        grads_and_vars = tuple(grads_and_vars)
        if not grads_and_vars:
            raise ValueError("No variables provided.")
        converted = []
        from ..sparse import IndexedSlices

        for g, v in grads_and_vars:
            if g is not None and not isinstance(g, IndexedSlices):
                try:
                    g = convert_to_tensor(g)
                except TypeError as e:
                    raise TypeError(f"Gradient must be convertible to a Tensor: {g}") from e
            if not isinstance(v, Variable):
                raise TypeError(f"Argument is not a tf.Variable: {v}")
            converted.append((g, v))
        var_list = [v for g, v in converted if g is not None]
        if not var_list:
            raise ValueError(
                f"No gradients provided for any variable: {[str(v) for _, v in converted]}."
            )
        graph = var_list[0].graph
        with graph.as_default():
            self._create_slots(var_list)
            update_ops = []
            with graph.name_scope(name or self._name) as scope:
                self._prepare()
                for grad, var in converted:
                    if grad is None:
                        continue
                    with graph.name_scope("update_" + var.op.name):
                        update_ops.append(self._update_op(grad, var))
                if global_step is None:
                    apply_updates = self._finish(update_ops, scope)
                else:
                    with graph.control_dependencies([self._finish(update_ops, "update")]):
                        apply_updates = _increment(global_step, scope)
            if isinstance(apply_updates, Tensor):
                apply_updates = apply_updates.op
            train_ops = graph.get_collection_ref(GraphKeys.TRAIN_OP)
            if apply_updates not in train_ops:
                train_ops.append(apply_updates)
        return apply_updates

    # ------------------------------------------------------------------ slots
    def get_slot(self, var, name):
        """The slot variable ``name`` created for ``var`` (``None`` when there is none)."""
        named = self._slots.get(name)
        if not named:
            return None
        return named.get(_var_key(var))

    def get_slot_names(self) -> list[str]:
        """Names of the slots this optimizer creates (``["m", "v"]`` for Adam)."""
        return sorted(self._slots)

    def variables(self) -> list:
        """Every variable this optimizer created (slots and non-slot), in creation order."""
        out = list(self._non_slot_dict.values())
        for named in self._slots.values():
            out.extend(named.values())
        return out

    def _slot_dict(self, slot_name):
        return self._slots.setdefault(slot_name, {})

    def _zeros_slot(self, var, slot_name, op_name):
        return self._get_or_make_slot(var, _zeros_like_var(var), slot_name, op_name)

    def _get_or_make_slot(self, var, value, slot_name, op_name):
        named = self._slot_dict(slot_name)
        key = _var_key(var)
        if key not in named:
            named[key] = _slot_variable(var, value, op_name)
        return named[key]

    def _get_or_make_slot_with_initializer(
        self, var, initializer, shape, dtype, slot_name, op_name
    ):
        named = self._slot_dict(slot_name)
        key = _var_key(var)
        if key not in named:
            g = var.graph
            with g.as_default(), g.control_dependencies(None), g.name_scope(None):
                value = initializer(shape.as_list(), dtype=dtype)
            named[key] = _slot_variable(var, value, op_name)
        return named[key]

    def _create_non_slot_variable(self, initial_value, name, colocate_with):
        g = colocate_with.graph
        key = (name, g)
        v = self._non_slot_dict.get(key)
        if v is None:
            with g.as_default(), g.control_dependencies(None):
                v = Variable(initial_value, name=name, trainable=False)
            self._non_slot_dict[key] = v
        return v

    def _get_non_slot_variable(self, name, graph=None):
        return self._non_slot_dict.get((name, graph or get_default_graph()))

    # ------------------------------------------------------------------ subclass hooks
    def _create_slots(self, var_list):
        """Create the slot variables of ``var_list`` (default: none)."""

    def _prepare(self):
        """Convert hyperparameters to tensors (called inside the apply name scope)."""

    def _apply_dense(self, grad, var):
        raise NotImplementedError

    def _finish(self, update_ops, name_scope):
        return group(*update_ops, name=name_scope)

    # ------------------------------------------------------------------ helpers
    def _call_if_callable(self, param):
        return param() if callable(param) else param

    def _hyper(self, t, var):
        """Hyperparameter tensor ``t`` cast to the dtype of ``var``."""
        return t if t.dtype is var.dtype else cast(t, var.dtype)

    def _update_op(self, grad, var):
        """The update of one variable (TF's ``_RefVariableProcessor.update_op``).

        Dense gradients go to ``_apply_dense`` (then the variable's constraint, if any);
        ``IndexedSlices`` go to ``_apply_sparse_duplicate_indices``, which touches only the
        rows the slices name.
        """
        from ..sparse import IndexedSlices

        if grad.dtype is not var.dtype:
            raise TypeError(
                f"Gradient dtype {grad.dtype.name} does not match variable "
                f"{var.op.name} dtype {var.dtype.name}"
            )
        if isinstance(grad, IndexedSlices):
            if var.constraint is not None:
                raise RuntimeError("Cannot use a constraint function on a sparse variable.")
            return self._apply_sparse_duplicate_indices(grad, var)
        update_op = self._apply_dense(grad, var)
        if var.constraint is None:
            return update_op
        with var.graph.control_dependencies([update_op]):
            # a fresh read: the snapshot ``var/read`` may be taken before the update
            return var.assign(var.constraint(var.read_value()))

    def _apply_sparse_duplicate_indices(self, grad, var):
        """Sum the slices of repeated indices, then ``_apply_sparse`` (as TF).

        The sparse kernels apply a nonlinear row update once per index, so TF sums duplicate
        indices first; optimizers whose update is linear in the gradient (gradient descent)
        override this and scatter the slices directly.
        """
        from ..sparse import IndexedSlices

        values, indices = _deduplicate_indexed_slices(grad.values, grad.indices)
        return self._apply_sparse(IndexedSlices(values, indices, grad.dense_shape), var)

    def _apply_sparse(self, grad, var):
        """Apply an ``IndexedSlices`` gradient without repeated indices (TF: required)."""
        raise NotImplementedError()

    def _assert_valid_dtypes(self, tensors):
        for t in tensors:
            dtype = t.dtype
            if dtype not in _FLOAT_TYPES:
                raise ValueError(
                    f"Invalid type {dtype!r} for {t.name}, expected: {[d for d in _FLOAT_TYPES]}."
                )


def _deduplicate_indexed_slices(values, indices):
    """``(summed_values, unique_indices)``: the slices of each repeated index summed (TF)."""
    from ..ops.array import shape
    from ..ops.indexing import unsorted_segment_sum
    from ..ops.sorting import unique

    unique_indices, positions = unique(indices)
    summed = unsorted_segment_sum(values, positions, shape(unique_indices)[0])
    return summed, unique_indices


def _increment(global_step, name):
    if isinstance(global_step, Variable):
        return global_step.assign_add(1, name=name)
    raise TypeError(f"global_step must be a tf.Variable, got {type(global_step).__name__}")
