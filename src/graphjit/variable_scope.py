"""``tf.get_variable`` and ``tf.variable_scope`` (TF1 variable sharing).

Variables made by :func:`get_variable` are named by the variable scope only (name scopes are
ignored, as in TF) and kept in a per-graph store, so a second ``get_variable("w")`` in a scope
opened with ``reuse=True`` (or ``reuse=tf.AUTO_REUSE``) returns the same variable.

>>> import graphjit.compat.v1 as tf
>>> with tf.Graph().as_default():
...     with tf.variable_scope("layer"):
...         w = tf.get_variable("w", [2, 3], initializer=tf.zeros_initializer())
...     with tf.variable_scope("layer", reuse=True):
...         w2 = tf.get_variable("w")
...     print(w.name, w2 is w)
layer/w:0 True
"""

from __future__ import annotations

import enum
import inspect

import numpy as np

from . import dtypes as _dt
from . import init_ops
from .graph import GraphKeys, Tensor, get_default_graph
from .shapes import TensorShape, as_shape
from .variables import Variable

_STORE_KEY = ("__variable_store",)
_SCOPE_KEY = ("__varscope",)


class _ReuseMode(enum.Enum):
    AUTO_REUSE = 1


AUTO_REUSE = _ReuseMode.AUTO_REUSE


class VariableScope:
    """Defaults (reuse, initializer, regularizer, dtype) for :func:`get_variable` in a scope."""

    def __init__(
        self,
        reuse,
        name="",
        initializer=None,
        regularizer=None,
        caching_device=None,
        partitioner=None,
        custom_getter=None,
        name_scope="",
        dtype=_dt.float32,
        use_resource=None,
        constraint=None,
    ):
        self._name = name
        self._reuse = reuse
        self._initializer = initializer
        self._regularizer = regularizer
        self._caching_device = caching_device
        self._partitioner = partitioner
        self._custom_getter = custom_getter
        self._name_scope = name_scope
        self._dtype = _dt.as_dtype(dtype)
        self._use_resource = use_resource
        self._constraint = constraint

    name = property(lambda self: self._name)
    original_name_scope = property(lambda self: self._name_scope)
    reuse = property(lambda self: self._reuse)
    initializer = property(lambda self: self._initializer)
    regularizer = property(lambda self: self._regularizer)
    dtype = property(lambda self: self._dtype)
    caching_device = property(lambda self: self._caching_device)
    partitioner = property(lambda self: self._partitioner)
    custom_getter = property(lambda self: self._custom_getter)
    use_resource = property(lambda self: self._use_resource)
    constraint = property(lambda self: self._constraint)

    def reuse_variables(self) -> None:
        """Reuse variables in this scope from now on."""
        self._reuse = True

    def set_initializer(self, initializer) -> None:
        self._initializer = initializer

    def set_regularizer(self, regularizer) -> None:
        self._regularizer = regularizer

    def set_dtype(self, dtype) -> None:
        self._dtype = _dt.as_dtype(dtype)

    def set_custom_getter(self, custom_getter) -> None:
        self._custom_getter = custom_getter

    def global_variables(self) -> list:
        return get_default_graph().get_collection(GraphKeys.GLOBAL_VARIABLES, self._name)

    def trainable_variables(self) -> list:
        return get_default_graph().get_collection(GraphKeys.TRAINABLE_VARIABLES, self._name)

    def get_variable(self, var_store, name, *args, **kwargs):
        return get_variable(name, *args, **kwargs)

    def __repr__(self):
        return f"<VariableScope name={self._name!r} reuse={self._reuse}>"


class _Store:
    """Per-graph state: variables made by get_variable and the variable-scope stack."""

    def __init__(self):
        self.vars: dict[str, Variable] = {}
        self.scope = VariableScope(False)
        self.counts: dict[str, int] = {}


def _store(graph=None) -> _Store:
    g = graph or get_default_graph()
    ref = g.get_collection_ref(_STORE_KEY)
    if not ref:
        ref.append(_Store())
    return ref[0]


def get_variable_scope() -> VariableScope:
    """The current variable scope (``tf.get_variable_scope``)."""
    return _store().scope


def _join(scope_name: str, name: str) -> str:
    return f"{scope_name}/{name}" if scope_name else name


class variable_scope:
    """Open a variable scope (also a name scope); ``with tf.variable_scope("a"): ...``.

    Parameters
    ----------
    name_or_scope : str or VariableScope or None
    default_name : str, optional
        Used (made unique) when ``name_or_scope`` is ``None``.
    reuse : bool or AUTO_REUSE or None
        ``True``: only reuse existing variables; ``AUTO_REUSE``: create or reuse; ``None``/
        ``False``: inherit the parent's mode. Inherited by nested scopes.
    initializer, regularizer, dtype : optional
        Defaults for :func:`get_variable` inside.
    """

    def __init__(
        self,
        name_or_scope,
        default_name=None,
        values=None,
        initializer=None,
        regularizer=None,
        caching_device=None,
        partitioner=None,
        custom_getter=None,
        reuse=None,
        dtype=None,
        use_resource=None,
        constraint=None,
        auxiliary_name_scope=True,
    ):
        if name_or_scope is None and default_name is None:
            raise TypeError("If default_name is None then name_or_scope is required")
        if reuse is False:
            reuse = None  # False means "inherit", as in TF
        if name_or_scope is None and reuse is True:
            raise ValueError("reuse=True cannot be used without a name_or_scope")
        if not (reuse is None or reuse is True or reuse is AUTO_REUSE):
            raise ValueError(f"The reuse parameter must be True or False or None; got {reuse!r}")
        self._name_or_scope = name_or_scope
        self._default_name = default_name
        self._kw = {
            "initializer": initializer,
            "regularizer": regularizer,
            "caching_device": caching_device,
            "partitioner": partitioner,
            "custom_getter": custom_getter,
            "dtype": dtype,
            "use_resource": use_resource,
            "constraint": constraint,
        }
        self._reuse = reuse
        self._aux = auxiliary_name_scope
        self._graph = None
        self._name_cm = None
        self._old = None

    def __enter__(self) -> VariableScope:
        g = self._graph = get_default_graph()
        st = _store(g)
        old = self._old = st.scope
        nos = self._name_or_scope
        if isinstance(nos, VariableScope):
            new_name = nos.name
            base = nos
            name_scope = nos.original_name_scope
            self._name_cm = g.name_scope(name_scope or None) if self._aux else None
            reuse = self._reuse if self._reuse is not None else nos.reuse
        else:
            if nos is not None:
                new_name = _join(old.name, nos)
                ns = nos
            else:
                prefix = _join(old.name, self._default_name)
                unique = self._default_name
                if st.counts.get(prefix, 0):
                    i = 1
                    while st.counts.get(f"{prefix}_{i}", 0):
                        i += 1
                    unique = f"{self._default_name}_{i}"
                new_name = _join(old.name, unique)
                ns = self._default_name
            base = old
            self._name_cm = g.name_scope(ns) if self._aux else None
            reuse = self._reuse or old.reuse
        st.counts[new_name] = st.counts.get(new_name, 0) + 1
        name_scope = self._name_cm.__enter__() if self._name_cm is not None else ""
        kw = {k: (v if v is not None else getattr(base, k)) for k, v in self._kw.items()}
        st.scope = VariableScope(reuse, new_name, name_scope=name_scope, **kw)
        return st.scope

    def __exit__(self, *exc):
        _store(self._graph).scope = self._old
        if self._name_cm is not None:
            return self._name_cm.__exit__(*exc)
        return False


def _default_initializer(name, dtype):
    if dtype.is_floating:
        return init_ops.glorot_uniform_initializer()
    if dtype.is_integer or dtype is _dt.bool or dtype is _dt.string:
        return init_ops.zeros_initializer()
    raise ValueError(f"An initializer for variable {name} of {dtype.name} is required")


def get_variable(
    name,
    shape=None,
    dtype=None,
    initializer=None,
    regularizer=None,
    trainable=None,
    collections=None,
    caching_device=None,
    partitioner=None,
    validate_shape=True,
    use_resource=None,
    custom_getter=None,
    constraint=None,
    synchronization=None,
    aggregation=None,
):
    """Get an existing variable of the current scope or create one (``tf.get_variable``).

    Raises ``ValueError`` when the variable exists and the scope does not reuse, when it does
    not exist and the scope has ``reuse=True``, or when a reused variable's shape or dtype
    disagrees with the arguments.
    """
    scope = get_variable_scope()
    getter = custom_getter or scope.custom_getter
    kwargs = {
        "shape": shape,
        "dtype": dtype,
        "initializer": initializer,
        "regularizer": regularizer,
        "trainable": trainable,
        "collections": collections,
        "validate_shape": validate_shape,
        "constraint": constraint,
    }
    if getter is not None:
        return getter(_true_getter, _join(scope.name, name), **kwargs)
    return _true_getter(_join(scope.name, name), **kwargs)


def _true_getter(
    full,
    shape=None,
    dtype=None,
    initializer=None,
    regularizer=None,
    trainable=None,
    collections=None,
    validate_shape=True,
    constraint=None,
    **_ignored,
):
    g = get_default_graph()
    st = _store(g)
    scope = st.scope
    reuse = scope.reuse
    if dtype is not None:
        dtype = _dt.as_dtype(dtype)
    if shape is not None:
        shape = as_shape(shape)
    found = st.vars.get(full)
    if found is not None:
        if not (reuse is True or reuse is AUTO_REUSE):
            raise ValueError(
                f"Variable {full} already exists, disallowed. Did you mean to set reuse=True "
                "or reuse=tf.AUTO_REUSE in VarScope?"
            )
        if shape is not None and not found.shape.is_compatible_with(shape):
            raise ValueError(
                f"Trying to share variable {full}, but specified shape {shape} and found "
                f"shape {found.shape}."
            )
        if dtype is not None and dtype is not found.dtype:
            raise ValueError(
                f"Trying to share variable {full}, but specified dtype {dtype.name} and "
                f"found dtype {found.dtype.name}."
            )
        return found
    if reuse is True:
        raise ValueError(
            f"Variable {full} does not exist, or was not created with tf.get_variable(). "
            "Did you mean to set reuse=tf.AUTO_REUSE in VarScope?"
        )
    dtype = dtype or scope.dtype
    if initializer is None:
        initializer = scope.initializer or _default_initializer(full, dtype)
    if isinstance(initializer, type):
        initializer = initializer(dtype=dtype)
    if isinstance(initializer, (Tensor, np.ndarray, list, tuple, int, float)):
        if shape is not None and isinstance(initializer, Tensor):
            raise ValueError("If initializer is a constant, do not specify shape.")
        init_val = initializer
        if not isinstance(initializer, Tensor):
            init_val = np.asarray(initializer, dtype=dtype.as_numpy_dtype)
            if shape is not None:
                init_val = np.broadcast_to(init_val, shape.as_list()).copy()
    else:
        if shape is None or not shape.is_fully_defined():
            raise ValueError(
                f"Shape of a new variable ({full}) must be fully defined, but instead was "
                f"{shape if shape is not None else TensorShape(None)}."
            )
        dims = shape.as_list()
        try:
            takes_partition = "partition_info" in inspect.signature(initializer).parameters
        except (TypeError, ValueError):
            takes_partition = False

        def init_val():
            if takes_partition:
                return initializer(dims, dtype=dtype, partition_info=None)
            return initializer(dims, dtype=dtype)

    trainable = True if trainable is None else trainable
    with g.control_dependencies(None), g.name_scope(None):
        v = Variable(
            init_val,
            trainable=trainable,
            collections=collections,
            name=full,
            dtype=dtype,
            validate_shape=validate_shape,
            constraint=constraint,
        )
    st.vars[full] = v
    regularizer = regularizer or scope.regularizer
    if regularizer is not None:
        with g.name_scope(f"{v.op.name}/Regularizer/"):
            loss = regularizer(v)
        if loss is not None:
            g.add_to_collection(GraphKeys.REGULARIZATION_LOSSES, loss)
    return v


def get_local_variable(name, shape=None, dtype=None, initializer=None, **kwargs):
    """A non-trainable variable in ``LOCAL_VARIABLES`` (``tf.get_local_variable``)."""
    kwargs["trainable"] = False
    kwargs["collections"] = [GraphKeys.LOCAL_VARIABLES]
    return get_variable(name, shape, dtype, initializer, **kwargs)


def no_regularizer(_):
    """Use as a regularizer to switch regularization off for a variable."""
    return None
