"""The user-facing graph layer: :class:`Graph`, :class:`Operation`, :class:`Tensor`.

Append-only and TF1-faithful: op names are unique with TF's ``_1``/``_2`` suffixing, tensors
carry a dtype and a partial static shape inferred when the op is built (so shape errors are raised
at graph construction, as in TF), and a thread-local default-graph stack backs
``get_default_graph``. Nothing here executes anything; see ``program.py`` and ``session.py``.
"""

from __future__ import annotations

import contextlib
import re
import sys
import threading

import numpy as np

from . import dtypes as _dt
from .ops import registry
from .shapes import TensorShape, as_shape

_VALID_OP_NAME = re.compile(r"^[A-Za-z0-9.][A-Za-z0-9_.\\/>-]*$")
_VALID_SCOPE_NAME = re.compile(r"^[A-Za-z0-9_.\\/>-]*$")


class GraphKeys:
    """Standard collection names (``tf.GraphKeys``)."""

    GLOBAL_VARIABLES = "variables"
    LOCAL_VARIABLES = "local_variables"
    TRAINABLE_VARIABLES = "trainable_variables"
    MODEL_VARIABLES = "model_variables"
    SUMMARIES = "summaries"
    QUEUE_RUNNERS = "queue_runners"
    UPDATE_OPS = "update_ops"
    LOSSES = "losses"
    REGULARIZATION_LOSSES = "regularization_losses"
    GLOBAL_STEP = "global_step"
    SAVERS = "savers"
    INIT_OP = "init_op"
    TRAIN_OP = "train_op"
    ASSET_FILEPATHS = "asset_filepaths"
    VARIABLES = GLOBAL_VARIABLES


# Operator overloads are filled in by the op modules (graph.py must not import them).
OVERLOADS: dict[str, object] = {}


class Tensor:
    """A symbolic handle to one output of an :class:`Operation` (``"op:0"``)."""

    __slots__ = ("__weakref__", "_dtype", "_index", "_op", "_shape")

    def __init__(self, op: Operation, index: int, dtype: _dt.DType, shape: TensorShape):
        self._op = op
        self._index = index
        self._dtype = dtype
        self._shape = shape

    @property
    def op(self) -> Operation:
        return self._op

    @property
    def graph(self) -> Graph:
        return self._op._graph

    @property
    def name(self) -> str:
        return f"{self._op._name}:{self._index}"

    @property
    def value_index(self) -> int:
        return self._index

    @property
    def dtype(self) -> _dt.DType:
        return self._dtype

    @property
    def shape(self) -> TensorShape:
        return self._shape

    @property
    def device(self) -> str:
        return self._op.device

    def get_shape(self) -> TensorShape:
        """The static (possibly partial) shape."""
        return self._shape

    def set_shape(self, shape) -> None:
        """Refine the static shape; ``ValueError`` if incompatible with what is known."""
        try:
            self._shape = self._shape.merge_with(as_shape(shape))
        except ValueError:
            raise ValueError(
                f"Tensor's shape {self._shape} is not compatible with supplied shape "
                f"{as_shape(shape)}."
            ) from None

    def consumers(self) -> list[Operation]:
        """The operations that take this tensor as an input."""
        return [op for op in self._op._graph._ops if any(t is self for t in op._inputs)]

    def eval(self, feed_dict=None, session=None):
        """Evaluate in ``session`` (default: the default session); see ``Session.run``."""
        from .session import _eval_in_session

        return _eval_in_session(self, feed_dict, session, "tensor", "evaluate tensor")

    def _as_graph_element(self):
        return self

    def __repr__(self):
        return f"<tf.Tensor '{self.name}' shape={self._shape} dtype={self._dtype.name}>"

    __str__ = __repr__

    def __hash__(self):
        return id(self)

    def __eq__(self, other):
        return self is other

    def __ne__(self, other):
        return self is not other

    def __bool__(self):
        raise TypeError(
            "Using a `tf.Tensor` as a Python `bool` is not allowed in graph mode. "
            "Use `if t is not None:` to test for presence, or tf.cond to branch on its value."
        )

    __nonzero__ = __bool__

    def __iter__(self):
        raise TypeError(
            f"Iterating over a symbolic `tf.Tensor` ({self.name}) is not allowed in graph "
            "mode; use tf.unstack or index it explicitly."
        )

    def __len__(self):
        raise TypeError(
            f"len is not well defined for symbolic Tensors ({self.name}). "
            "Please call `x.shape` rather than `len(x)` for shape information."
        )

    def __array__(self, dtype=None, copy=None):
        raise NotImplementedError(
            f"Cannot convert a symbolic Tensor ({self.name}) to a numpy array; "
            "evaluate it with Session.run first."
        )

    def _binop(self, name, other, reverse=False):
        fn = OVERLOADS[name]
        return fn(other, self) if reverse else fn(self, other)

    def __add__(self, o):
        return self._binop("add", o)

    def __radd__(self, o):
        return self._binop("add", o, True)

    def __sub__(self, o):
        return self._binop("sub", o)

    def __rsub__(self, o):
        return self._binop("sub", o, True)

    def __mul__(self, o):
        return self._binop("mul", o)

    def __rmul__(self, o):
        return self._binop("mul", o, True)

    def __truediv__(self, o):
        return self._binop("truediv", o)

    def __rtruediv__(self, o):
        return self._binop("truediv", o, True)

    def __floordiv__(self, o):
        return self._binop("floordiv", o)

    def __rfloordiv__(self, o):
        return self._binop("floordiv", o, True)

    def __mod__(self, o):
        return self._binop("mod", o)

    def __rmod__(self, o):
        return self._binop("mod", o, True)

    def __pow__(self, o):
        return self._binop("pow", o)

    def __rpow__(self, o):
        return self._binop("pow", o, True)

    def __matmul__(self, o):
        return self._binop("matmul", o)

    def __rmatmul__(self, o):
        return self._binop("matmul", o, True)

    def __lt__(self, o):
        return self._binop("less", o)

    def __le__(self, o):
        return self._binop("less_equal", o)

    def __gt__(self, o):
        return self._binop("greater", o)

    def __ge__(self, o):
        return self._binop("greater_equal", o)

    def __and__(self, o):
        return self._binop("logical_and", o)

    def __rand__(self, o):
        return self._binop("logical_and", o, True)

    def __or__(self, o):
        return self._binop("logical_or", o)

    def __ror__(self, o):
        return self._binop("logical_or", o, True)

    def __xor__(self, o):
        return self._binop("logical_xor", o)

    def __rxor__(self, o):
        return self._binop("logical_xor", o, True)

    def __invert__(self):
        return OVERLOADS["logical_not"](self)

    def __neg__(self):
        return OVERLOADS["neg"](self)

    def __abs__(self):
        return OVERLOADS["abs"](self)

    def __getitem__(self, key):
        return OVERLOADS["getitem"](self, key)


class Operation:
    """A node of the graph: an op type, attributes, input tensors and output tensors."""

    __slots__ = (
        "__weakref__",
        "_attrs",
        "_control_inputs",
        "_device",
        "_graph",
        "_id",
        "_inputs",
        "_name",
        "_outputs",
        "_traceback",
        "_type",
    )

    def __init__(self, graph, name, op_type, inputs, attrs, control_inputs, device, out_specs):
        self._graph = graph
        self._name = name
        self._type = op_type
        self._inputs = tuple(inputs)
        self._attrs = attrs
        self._control_inputs = tuple(control_inputs)
        self._device = device
        self._id = len(graph._ops)
        self._traceback = _user_frame()
        self._outputs = tuple(
            Tensor(self, i, dtype, shape) for i, (dtype, shape) in enumerate(out_specs)
        )

    @property
    def name(self) -> str:
        return self._name

    @property
    def type(self) -> str:
        return self._type

    @property
    def graph(self) -> Graph:
        return self._graph

    @property
    def inputs(self) -> list[Tensor]:
        return list(self._inputs)

    @property
    def outputs(self) -> list[Tensor]:
        return list(self._outputs)

    @property
    def control_inputs(self) -> list[Operation]:
        return list(self._control_inputs)

    @property
    def device(self) -> str:
        return self._device

    @property
    def op_def(self) -> registry.OpDef:
        return registry.get(self._type)

    @property
    def node_def(self):
        """This op as a TF ``NodeDef`` protobuf message."""
        from .graph_io import node_def_of

        return node_def_of(self)

    @property
    def traceback(self):
        return self._traceback

    def values(self) -> tuple[Tensor, ...]:
        return self._outputs

    def get_attr(self, name: str):
        """The value of attribute ``name`` (``ValueError`` if the op has no such attr)."""
        if name not in self._attrs:
            raise ValueError(f"Operation '{self._name}' has no attr named '{name}'.")
        return self._attrs[name]

    @property
    def attrs(self) -> dict:
        """A copy of all attributes (internal helper)."""
        return dict(self._attrs)

    def run(self, feed_dict=None, session=None):
        """Run this op in ``session`` (default: the default session); returns ``None``."""
        from .session import _eval_in_session

        _eval_in_session(self, feed_dict, session, "operation", "execute operation")

    def _as_graph_element(self):
        return self

    def __repr__(self):
        return f"<tf.Operation '{self._name}' type={self._type}>"

    def __str__(self):
        return str(self.node_def)


def _user_frame() -> str:
    """'file:line' of the first caller outside graphjit (for error messages)."""
    f = sys._getframe(2)
    while f is not None and f.f_code.co_filename.startswith(_PKG_DIR):
        f = f.f_back
    return f"{f.f_code.co_filename}:{f.f_lineno}" if f is not None else "<unknown>"


_PKG_DIR = __file__.rsplit("graph.py", 1)[0]


class Graph:
    """A TensorFlow computation graph (``tf.Graph``).

    >>> g = Graph()
    >>> with g.as_default():
    ...     c = constant(1.0)
    """

    __slots__ = (
        "__weakref__",
        "_building_function",
        "_collections",
        "_control_stack",
        "_device_stack",
        "_finalized",
        "_lock",
        "_name_stack",
        "_names",
        "_names_in_use",
        "_ops",
        "_unfeedable",
        "_unfetchable",
        "seed",
    )

    def __init__(self):
        self._ops: list[Operation] = []
        self._names: dict[str, Operation] = {}
        self._names_in_use: dict[str, int] = {}
        self._name_stack = ""
        self._control_stack: list[list[Operation] | None] = []
        self._device_stack: list[str] = []
        self._collections: dict[str, list] = {}
        self._finalized = False
        self._unfeedable: set[int] = set()
        self._unfetchable: set[int] = set()
        self._lock = threading.RLock()
        self._building_function = False
        self.seed = None

    # ----------------------------------------------------------------- building
    def create_op(self, op_type, inputs, attrs=None, name=None, control_inputs=None):
        """Create an :class:`Operation` of a registered type and return it.

        Shape/dtype inference runs here, so bad shapes raise when the graph is built.
        """
        opdef = registry.get(op_type)
        attrs = dict(attrs or {})
        inputs = list(inputs)
        for t in inputs:
            if not isinstance(t, Tensor):
                raise TypeError(f"Input to {op_type} must be a Tensor, got {type(t).__name__}")
            if t.graph is not self:
                raise ValueError(
                    f"Tensor {t.name} must be from the same graph as the op being built "
                    f"({op_type})."
                )
        with self._lock:
            self._check_not_finalized()
            if name and name.endswith("/"):
                full = name[:-1]  # a name scope used as an op name, taken as is (TF)
                self._names_in_use.setdefault(full.lower(), 1)
            else:
                full = self.unique_name(name or op_type)
            if full in self._names:
                raise ValueError(f"Duplicate node name in graph: '{full}'")
            try:
                specs = opdef.infer(inputs, attrs)
            except (ValueError, TypeError) as e:
                raise type(e)(f"{e} (op '{full}' of type {op_type})") from None
            ctrl = []
            for frame in self._control_stack:
                if frame is None:
                    ctrl = []
                    continue
                for c in frame:
                    if c not in ctrl:
                        ctrl.append(c)
            input_ops = {t._op for t in inputs}
            ctrl = [c for c in ctrl if c not in input_ops]
            for c in control_inputs or ():
                c = c.op if isinstance(c, Tensor) else c
                if c not in ctrl:
                    ctrl.append(c)
            device = self._device_stack[-1] if self._device_stack else ""
            op = Operation(self, full, op_type, inputs, attrs, ctrl, device, specs)
            self._names[full] = op
            self._ops.append(op)
            return op

    def _check_not_finalized(self):
        if self._finalized:
            raise RuntimeError("Graph is finalized and cannot be modified.")

    def unique_name(self, name: str, mark_as_used: bool = True) -> str:
        """Prefix ``name`` with the current name scope and make it unique (``a``, ``a_1``)."""
        if self._name_stack:
            name = self._name_stack + "/" + name
        key = name.lower()
        i = self._names_in_use.get(key, 0)
        if mark_as_used:
            self._names_in_use[key] = i + 1
        if i > 0:
            base = key
            while key in self._names_in_use:
                key = f"{base}_{i}"
                i += 1
            if mark_as_used:
                self._names_in_use[key] = 1
            name = f"{name}_{i - 1}"
        return name

    def get_name_scope(self) -> str:
        return self._name_stack

    @contextlib.contextmanager
    def name_scope(self, name):
        """Push a name scope; ``"a/"`` (trailing slash) re-enters an absolute scope."""
        old = self._name_stack
        if name is None or name == "":
            new = ""
        elif name.endswith("/"):
            new = name[:-1]
        else:
            if not _VALID_SCOPE_NAME.match(name):
                raise ValueError(f"'{name}' is not a valid scope name")
            new = self.unique_name(name)
        self._name_stack = new
        try:
            yield (new + "/") if new else ""
        finally:
            self._name_stack = old

    @contextlib.contextmanager
    def control_dependencies(self, control_inputs):
        """Ops created inside run after ``control_inputs``; ``None`` clears outer ones."""
        if control_inputs is None:
            frame = None
        else:
            frame = []
            for c in control_inputs:
                if hasattr(c, "_as_control_op"):
                    c = c._as_control_op()
                if isinstance(c, Tensor):
                    c = c.op
                if not isinstance(c, Operation):
                    raise TypeError(f"Control input must be Operation or Tensor: {c!r}")
                if c.graph is not self:
                    raise ValueError(f"Control input {c.name} is not an element of this graph.")
                frame.append(c)
        self._control_stack.append(frame)
        try:
            yield
        finally:
            self._control_stack.pop()

    @contextlib.contextmanager
    def device(self, device_name):
        """Record a device string on ops created inside (placement is always this CPU)."""
        self._device_stack.append(device_name or "")
        try:
            yield
        finally:
            self._device_stack.pop()

    @contextlib.contextmanager
    def colocate_with(self, op, ignore_existing=False):
        yield

    @contextlib.contextmanager
    def gradient_override_map(self, op_type_map):
        yield

    def as_default(self):
        """Make this graph the default graph of the calling thread inside a ``with``."""
        return _default_graph_stack.get_controller(self)

    # ----------------------------------------------------------------- state
    def finalize(self) -> None:
        """Forbid adding ops (``RuntimeError`` afterwards); running still works."""
        self._finalized = True

    @property
    def finalized(self) -> bool:
        return self._finalized

    def _unsafe_unfinalize(self):
        self._finalized = False

    @property
    def version(self) -> int:
        """Grows by one per op added; 0 for a graph that never had an op."""
        return len(self._ops)

    @property
    def building_function(self) -> bool:
        return False

    @property
    def graph_def_versions(self):
        from .graph_def import VersionDef

        return VersionDef(producer=1882, min_consumer=12)

    # ----------------------------------------------------------------- lookup
    def get_operations(self) -> list[Operation]:
        return list(self._ops)

    def get_operation_by_name(self, name: str) -> Operation:
        if not isinstance(name, str):
            raise TypeError(
                f"Operation names are strings (or similar), not {type(name).__name__}."
            )
        return self.as_graph_element(name, allow_tensor=False, allow_operation=True)

    def get_tensor_by_name(self, name: str) -> Tensor:
        if not isinstance(name, str):
            raise TypeError(f"Tensor names are strings (or similar), not {type(name).__name__}.")
        return self.as_graph_element(name, allow_tensor=True, allow_operation=False)

    def as_graph_element(self, obj, allow_tensor=True, allow_operation=True):
        """Resolve a Tensor, Operation or name string to an element of this graph."""
        if hasattr(obj, "_as_graph_element") and not isinstance(obj, (Tensor, Operation)):
            conv = obj._as_graph_element()
            if conv is not None:
                obj = conv
        types = ("Tensor" if allow_tensor else "") + (
            " or Operation"
            if allow_tensor and allow_operation
            else ("Operation" if allow_operation else "")
        )
        if isinstance(obj, bytes):
            obj = obj.decode("utf-8")
        if isinstance(obj, str):
            name = obj
            if ":" in name and allow_tensor:
                op_name, _, idx = name.rpartition(":")
                try:
                    index = int(idx)
                except ValueError:
                    raise ValueError(
                        f"The name {name!r} looks a like a Tensor name, but is not a valid one. "
                        'Tensor names must be of the form "<op_name>:<output_index>".'
                    ) from None
                if op_name not in self._names:
                    raise KeyError(
                        f"The name {name!r} refers to a Tensor which does not exist. The "
                        f"operation, {op_name!r}, does not exist in the graph."
                    )
                op = self._names[op_name]
                if index >= len(op._outputs) or index < 0:
                    raise KeyError(
                        f"The name {name!r} refers to a Tensor which does not exist. The "
                        f"operation, {op_name!r}, exists but only has {len(op._outputs)} outputs."
                    )
                return op._outputs[index]
            if ":" in name and not allow_tensor:
                raise ValueError(f"Name {name!r} appears to refer to a Tensor, not a {types}.")
            if ":" not in name and allow_operation:
                if name not in self._names:
                    raise KeyError(f"The name {name!r} refers to an Operation not in the graph.")
                return self._names[name]
            if name in self._names:
                raise ValueError(
                    f"The name {name!r} refers to an Operation, not a {types}. Tensor names must "
                    f'be of the form "<op_name>:<output_index>" (e.g. {name + ":0"!r}).'
                )
            raise KeyError(f"The name {name!r} refers to an Operation not in the graph.")
        if isinstance(obj, Tensor) and allow_tensor:
            if obj.graph is not self:
                raise ValueError(f"Tensor {obj} is not an element of this graph.")
            return obj
        if isinstance(obj, Operation) and allow_operation:
            if obj.graph is not self:
                raise ValueError(f"Operation {obj} is not an element of this graph.")
            return obj
        raise TypeError(f"Can not convert a {type(obj).__name__} into a {types}.")

    # ----------------------------------------------------------------- collections
    def add_to_collection(self, name, value) -> None:
        self._collections.setdefault(name, []).append(value)

    def add_to_collections(self, names, value) -> None:
        names = (names,) if isinstance(names, str) else set(names)
        for n in names:
            self.add_to_collection(n, value)

    def get_collection(self, name, scope=None) -> list:
        items = self._collections.get(name, [])
        if scope is None:
            return list(items)
        pat = re.compile(scope)
        return [v for v in items if hasattr(v, "name") and pat.match(v.name)]

    def get_collection_ref(self, name) -> list:
        return self._collections.setdefault(name, [])

    def get_all_collection_keys(self) -> list[str]:
        return [k for k, v in self._collections.items() if isinstance(v, list)]

    def clear_collection(self, name) -> None:
        self._collections.pop(name, None)

    # ----------------------------------------------------------------- feed/fetch marks
    def prevent_feeding(self, tensor) -> None:
        self._unfeedable.add(id(tensor))

    def is_feedable(self, tensor) -> bool:
        return id(tensor) not in self._unfeedable

    def prevent_fetching(self, op) -> None:
        self._unfetchable.add(id(op))

    def is_fetchable(self, tensor_or_op) -> bool:
        op = tensor_or_op.op if isinstance(tensor_or_op, Tensor) else tensor_or_op
        return id(op) not in self._unfetchable

    # ----------------------------------------------------------------- serialisation
    def as_graph_def(self, from_version=None, add_shapes=False):
        """The graph as a TF ``GraphDef`` protobuf message (TF's wire format)."""
        from .graph_io import graph_def_of

        return graph_def_of(self, from_version=from_version, add_shapes=add_shapes)


# --------------------------------------------------------------------- default graph stack
class _DefaultGraphStack(threading.local):
    def __init__(self):
        self.stack: list[Graph] = []

    def get_controller(self, graph):
        return _GraphController(self, graph)


class _GraphController:
    __slots__ = ("graph", "owner")

    def __init__(self, owner, graph):
        self.owner = owner
        self.graph = graph

    def __enter__(self):
        self.owner.stack.append(self.graph)
        return self.graph

    def __exit__(self, *exc):
        stack = self.owner.stack
        if not stack or stack[-1] is not self.graph:
            raise AssertionError("Nesting violated for default stack of <class 'Graph'> objects")
        stack.pop()
        return False


_default_graph_stack = _DefaultGraphStack()
_global_default_graph: Graph | None = None
_global_lock = threading.Lock()


def get_default_graph() -> Graph:
    """The innermost ``as_default`` graph of this thread, or the global default graph."""
    stack = _default_graph_stack.stack
    if stack:
        return stack[-1]
    global _global_default_graph
    if _global_default_graph is None:
        with _global_lock:
            if _global_default_graph is None:
                _global_default_graph = Graph()
    return _global_default_graph


def reset_default_graph() -> None:
    """Replace the global default graph (``AssertionError`` inside a graph context)."""
    if _default_graph_stack.stack:
        raise AssertionError(
            "Do not use tf.reset_default_graph() to clear nested graphs. If you need a "
            "cleared graph, exit the nesting and create a new graph."
        )
    global _global_default_graph
    _global_default_graph = Graph()


def _push_default_graph(graph):
    _default_graph_stack.stack.append(graph)


def _remove_default_graph(graph):
    stack = _default_graph_stack.stack
    for i in range(len(stack) - 1, -1, -1):
        if stack[i] is graph:
            del stack[i]
            return


# --------------------------------------------------------------------- module-level helpers
def name_scope(name, default_name=None, values=None):
    """``tf.name_scope`` on the default graph (or on the graph of ``values``)."""
    g = _graph_of(values) if values else get_default_graph()
    if name is None and default_name is not None:
        name = default_name
    return g.name_scope(name)


def control_dependencies(control_inputs):
    """``tf.control_dependencies`` on the default graph."""
    return get_default_graph().control_dependencies(control_inputs)


def device(device_name):
    return get_default_graph().device(device_name)


def _graph_of(values):
    for v in values:
        if isinstance(v, Tensor):
            return v.graph
    return get_default_graph()


def get_collection(key, scope=None):
    return get_default_graph().get_collection(key, scope)


def get_collection_ref(key):
    return get_default_graph().get_collection_ref(key)


def add_to_collection(name, value):
    get_default_graph().add_to_collection(name, value)


def add_to_collections(names, value):
    get_default_graph().add_to_collections(names, value)


def convert_to_tensor(value, dtype=None, name=None, preferred_dtype=None) -> Tensor:
    """Return ``value`` as a Tensor of the default graph (constants for Python/numpy values).

    A Tensor of a different dtype than ``dtype`` is a ``ValueError`` (TF never casts here).
    """
    if hasattr(value, "_as_graph_tensor"):
        value = value._as_graph_tensor()
    if isinstance(value, Tensor):
        if dtype is not None and _dt.as_dtype(dtype) is not value.dtype:
            raise ValueError(
                f"Tensor conversion requested dtype {_dt.as_dtype(dtype).name} for Tensor with "
                f"dtype {value.dtype.name}: {value!r}"
            )
        return value
    if isinstance(value, Operation):
        raise TypeError(f"Can't convert Operation '{value.name}' to Tensor")
    if dtype is None and preferred_dtype is not None:
        try:
            return constant_tensor(value, _dt.as_dtype(preferred_dtype), name)
        except (TypeError, ValueError):
            pass
    return constant_tensor(value, None if dtype is None else _dt.as_dtype(dtype), name)


def constant_tensor(value, dtype=None, name=None, shape=None) -> Tensor:
    """Build a ``Const`` op holding ``value`` (TF conversion rules) and return its output."""
    if value is None:
        raise ValueError("None values not supported.")
    try:
        arr = _dt.to_numpy(value, dtype)
    except (TypeError, ValueError, OverflowError) as e:
        raise TypeError(
            f"Cannot convert {value!r} to EagerTensor/Tensor of dtype "
            f"{dtype.name if dtype else 'inferred'}: {e}"
        ) from None
    if dtype is not None and not isinstance(value, np.ndarray):
        _check_lossless(value, arr, dtype)
    if shape is not None:
        shape = [int(d) for d in shape]
        if arr.size == 1 or arr.ndim == 0:
            arr = np.broadcast_to(arr.reshape(()), shape).copy()
        elif arr.size == int(np.prod(shape)):
            arr = arr.reshape(shape)
        else:
            raise TypeError(f"Expected Tensor's shape: {tuple(shape)}, but got {arr.shape}.")
    g = get_default_graph()
    d = _dt.as_dtype(arr.dtype) if dtype is None else dtype
    op = g.create_op("Const", [], {"dtype": d, "value": arr}, name=name or "Const")
    return op.outputs[0]


def _check_lossless(value, arr, dtype):
    """TF refuses e.g. ``constant(1.5, dtype=int32)`` (TypeError)."""
    if dtype.is_integer or dtype.is_bool:
        try:
            src = np.asarray(value)
        except Exception:
            return
        if src.dtype.kind == "f":
            raise TypeError(f"Cannot convert {value!r} to EagerTensor of dtype {dtype.name}")


def is_tensor(x) -> bool:
    return isinstance(x, Tensor)


def constant_value(t: Tensor):
    """The value of ``t`` if it is known when the graph is built (a Const), else ``None``."""
    op = t.op
    if op.type == "Const":
        return op._attrs["value"]
    if op.type == "Shape" and op._inputs[0].shape.is_fully_defined():
        return np.array(op._inputs[0].shape.as_list(), dtype=t.dtype.np)
    if op.type in ("Identity", "StopGradient"):
        return constant_value(op._inputs[0])
    return None
