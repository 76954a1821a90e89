"""``tf.Variable`` (TF1 reference variables) and the initialisation helpers.

A Variable is three ops: ``VariableV2`` named after the variable (a reference to storage owned
by each Session), ``<name>/Assign`` (its initializer) and ``<name>/read`` (the snapshot used
when the variable appears in an expression).
"""

from __future__ import annotations

import numpy as np

from . import dtypes as _dt
from .graph import (
    GraphKeys,
    Operation,
    Tensor,
    convert_to_tensor,
    get_default_graph,
)
from .ops.array import identity
from .ops.common import make1, make_op
from .ops.control import group, no_op
from .shapes import TensorShape, as_shape


class Variable:
    """A mutable tensor whose value lives in each Session (``tf.Variable``).

    >>> v = Variable([1.0, 2.0], name="v")
    >>> v.name
    'v:0'
    """

    def __init__(
        self,
        initial_value=None,
        trainable=None,
        collections=None,
        validate_shape=True,
        caching_device=None,
        name=None,
        variable_def=None,
        dtype=None,
        expected_shape=None,
        import_scope=None,
        constraint=None,
        use_resource=None,
        synchronization=None,
        aggregation=None,
        shape=None,
    ):
        if variable_def is not None:  # over existing graph elements (import_meta_graph)
            from .train.meta_graph import init_variable_from_proto

            init_variable_from_proto(self, variable_def, import_scope)
            return
        if initial_value is None:
            raise ValueError("initial_value must be specified.")
        trainable = True if trainable is None else bool(trainable)
        if collections is None:
            collections = [GraphKeys.GLOBAL_VARIABLES]
        collections = list(collections)
        if trainable and GraphKeys.TRAINABLE_VARIABLES not in collections:
            collections.append(GraphKeys.TRAINABLE_VARIABLES)
        g = get_default_graph()
        with g.control_dependencies(None), g.name_scope(name or "Variable") as scope:
            with g.name_scope("Initializer"):
                if callable(initial_value):
                    initial_value = initial_value()
                init = convert_to_tensor(initial_value, dtype=dtype, name="initial_value")
            if dtype is not None and init.dtype is not _dt.as_dtype(dtype):
                raise TypeError(f"initial_value dtype {init.dtype.name} != {dtype}")
            vshape = init.shape if validate_shape else TensorShape(None)
            if shape is not None:
                vshape = as_shape(shape)
            if validate_shape and not vshape.is_fully_defined():
                raise ValueError(
                    f"initial_value must have a shape specified: {init}. Pass "
                    "validate_shape=False to create a variable of unknown shape."
                )
            self._variable = make1(
                "VariableV2",
                [],
                {"shape": vshape, "dtype": init.dtype, "container": "", "shared_name": ""},
                name=scope,
            )
            self._initializer_op = make_op(
                "Assign",
                [self._variable, init],
                {"T": init.dtype, "validate_shape": validate_shape, "use_locking": True},
                name="Assign",
            )
            self._snapshot = identity(self._variable, name="read")
        self._initial_value = init
        self._trainable = trainable
        self._constraint = constraint
        self._save_slice_info = None
        g.add_to_collections(collections, self)

    # ------------------------------------------------------------ properties
    @property
    def name(self) -> str:
        return self._variable.name

    @property
    def op(self) -> Operation:
        return self._variable.op

    @property
    def graph(self):
        return self._variable.graph

    @property
    def dtype(self):
        return self._variable.dtype

    @property
    def shape(self) -> TensorShape:
        return self._variable.shape

    def get_shape(self) -> TensorShape:
        return self._variable.shape

    @property
    def device(self) -> str:
        return self._variable.device

    @property
    def initializer(self) -> Operation:
        """The op that assigns the initial value (run it to (re)initialise)."""
        return self._initializer_op

    @property
    def initial_value(self) -> Tensor:
        return self._initial_value

    @property
    def trainable(self) -> bool:
        return self._trainable

    @property
    def constraint(self):
        return self._constraint

    def value(self) -> Tensor:
        """The snapshot tensor ``<name>/read:0``."""
        return self._snapshot

    def read_value(self) -> Tensor:
        """A fresh read, ordered after the enclosing control dependencies."""
        g = self.graph
        with g.name_scope(self.op.name + "/"):
            return identity(self._variable, name="read")

    def _ref(self) -> Tensor:
        return self._variable

    def _as_graph_element(self):
        return self._variable

    def _as_graph_tensor(self):
        return self._snapshot

    def _as_control_op(self):
        return self._variable.op

    # ------------------------------------------------------------ updates
    def _update(self, op_type, value, use_locking, name, read_value):
        value = convert_to_tensor(value, dtype=self.dtype)
        attrs = {"T": self.dtype, "use_locking": bool(use_locking)}
        if op_type == "Assign":
            attrs["validate_shape"] = True
        with self.graph.as_default():
            out = make1(op_type, [self._variable, value], attrs, name=name or op_type)
        return out if read_value else out.op

    def assign(self, value, use_locking=False, name=None, read_value=True):
        """Assign ``value``; fetching the result returns the new value."""
        return self._update("Assign", value, use_locking, name, read_value)

    def assign_add(self, delta, use_locking=False, name=None, read_value=True):
        return self._update("AssignAdd", delta, use_locking, name, read_value)

    def assign_sub(self, delta, use_locking=False, name=None, read_value=True):
        return self._update("AssignSub", delta, use_locking, name, read_value)

    def eval(self, session=None):
        """The current value in ``session`` (default: the default session)."""
        return self._variable.eval(session=session)

    def load(self, value, session=None):
        """Write ``value`` into the variable in ``session`` without adding ops."""
        from .session import _session_for

        sess = _session_for(self._variable, session, "variable", "load variable")
        sess._load_variable(self, value)

    def is_initialized(self):
        return is_variable_initialized(self)

    def __repr__(self):
        return f"<tf.Variable '{self.name}' shape={self.shape} dtype={self.dtype.name}_ref>"

    def __hash__(self):
        return id(self)

    def __eq__(self, other):
        return self is other

    def __bool__(self):
        raise TypeError("Using a `tf.Variable` as a Python `bool` is not allowed in graph mode.")

    def __iter__(self):
        raise TypeError("Iterating over a symbolic `tf.Variable` is not allowed.")

    def __array__(self, dtype=None, copy=None):
        raise NotImplementedError("Cannot convert a symbolic Variable to a numpy array.")

    def __getitem__(self, key):
        return self._snapshot[key]


def _delegate(method):
    def fn(self, *args):
        return getattr(self._snapshot, method)(*args)

    fn.__name__ = method
    return fn


for _m in (
    "__add__",
    "__radd__",
    "__sub__",
    "__rsub__",
    "__mul__",
    "__rmul__",
    "__truediv__",
    "__rtruediv__",
    "__floordiv__",
    "__rfloordiv__",
    "__mod__",
    "__rmod__",
    "__pow__",
    "__rpow__",
    "__matmul__",
    "__rmatmul__",
    "__lt__",
    "__le__",
    "__gt__",
    "__ge__",
    "__and__",
    "__rand__",
    "__or__",
    "__ror__",
    "__xor__",
    "__rxor__",
    "__invert__",
    "__neg__",
    "__abs__",
):
    setattr(Variable, _m, _delegate(_m))

VariableV1 = Variable
RefVariable = Variable


def assign(ref, value, validate_shape=None, use_locking=None, name=None):
    """``tf.assign``: write ``value`` into variable ``ref``; returns the new value."""
    if isinstance(ref, Variable):
        return ref._update("Assign", value, use_locking, name, True)
    raise TypeError(f"assign requires a Variable, got {type(ref).__name__}")


def assign_add(ref, value, use_locking=None, name=None):
    if isinstance(ref, Variable):
        return ref._update("AssignAdd", value, use_locking, name, True)
    raise TypeError(f"assign_add requires a Variable, got {type(ref).__name__}")


def assign_sub(ref, value, use_locking=None, name=None):
    if isinstance(ref, Variable):
        return ref._update("AssignSub", value, use_locking, name, True)
    raise TypeError(f"assign_sub requires a Variable, got {type(ref).__name__}")


def global_variables(scope=None) -> list:
    return get_default_graph().get_collection(GraphKeys.GLOBAL_VARIABLES, scope)


all_variables = global_variables


def local_variables(scope=None) -> list:
    return get_default_graph().get_collection(GraphKeys.LOCAL_VARIABLES, scope)


def trainable_variables(scope=None) -> list:
    return get_default_graph().get_collection(GraphKeys.TRAINABLE_VARIABLES, scope)


def model_variables(scope=None) -> list:
    return get_default_graph().get_collection(GraphKeys.MODEL_VARIABLES, scope)


def variables_initializer(var_list, name="init") -> Operation:
    """An op that runs the initializers of ``var_list`` (a NoOp when the list is empty)."""
    if var_list:
        return group(*[v.initializer for v in var_list], name=name)
    return no_op(name=name)


def global_variables_initializer() -> Operation:
    """An op initialising every global variable (``tf.global_variables_initializer``)."""
    return variables_initializer(global_variables())


initialize_all_variables = global_variables_initializer


def local_variables_initializer() -> Operation:
    return variables_initializer(local_variables(), name="init")


initialize_local_variables = local_variables_initializer


def is_variable_initialized(variable) -> Tensor:
    """A scalar bool tensor: whether ``variable`` has a value in the running session."""
    return make1(
        "IsVariableInitialized",
        [variable._ref()],
        {"dtype": variable.dtype},
        name="IsVariableInitialized",
    )


def report_uninitialized_variables(var_list=None, name="report_uninitialized_variables"):
    """A 1-D string tensor of the names of uninitialised variables (computed at run time)."""
    from .ops.array import boolean_mask, constant, stack

    if var_list is None:
        var_list = global_variables() + local_variables()
    g = get_default_graph()
    with g.name_scope(name):
        if not var_list:
            return constant(np.array([], dtype=object), dtype=_dt.string)
        inited = stack([is_variable_initialized(v) for v in var_list])
        names = constant(
            np.array([v.op.name.encode() for v in var_list], dtype=object), dtype=_dt.string
        )
        from .ops.math import logical_not

        return boolean_mask(names, logical_not(inited))


def assert_variables_initialized(var_list=None):
    return None
