"""The user-facing graph layer: :class:`Graph` and :class:`Operation` (Tensor is in ``tensor.py``).

Append-only and TF1-faithful: op names are unique with TF's ``_1``/``_2`` suffixing, tensors
carry a dtype and a partial static shape inferred when the op is built (so shape errors are raised
at graph construction, as in TF), and a thread-local default-graph stack backs
``get_default_graph``. Nothing here executes anything; see ``program.py`` and ``session.py``.

The module-level TF functions acting on the default graph (``name_scope``,
``control_dependencies``, ``convert_to_tensor``, collections ...) live in ``graph_api.py`` and
are re-exported here, so ``from .graph import convert_to_tensor`` keeps working.
"""

from __future__ import annotations

import contextlib
import re
import threading

from .devices import merge_device
from .graph_stack import (
    _default_graph_stack,
    _push_default_graph,
    _remove_default_graph,
    get_default_graph,
    reset_default_graph,
)
from .operation import Operation
from .ops import registry
from .tensor import OVERLOADS, Tensor

_VALID_OP_NAME = re.compile(r"^[A-Za-z0-9.][A-Za-z0-9_.\\/>-]*$")
_VALID_SCOPE_NAME = re.compile(r"^[A-Za-z0-9_.\\/>-]*$")

__all__ = [
    "OVERLOADS",
    "Graph",
    "GraphKeys",
    "Operation",
    "Tensor",
    "_default_graph_stack",
    "_push_default_graph",
    "_remove_default_graph",
    "get_default_graph",
    "reset_default_graph",
]


class GraphKeys:
    """Standard collection names (``tf.GraphKeys``)."""

    GLOBAL_VARIABLES = "variables"
    LOCAL_VARIABLES = "local_variables"
    METRIC_VARIABLES = "metric_variables"
    TRAINABLE_VARIABLES = "trainable_variables"
    MODEL_VARIABLES = "model_variables"
    MOVING_AVERAGE_VARIABLES = "moving_average_variables"
    SUMMARIES = "summaries"
    QUEUE_RUNNERS = "queue_runners"
    TABLE_INITIALIZERS = "table_initializer"
    UPDATE_OPS = "update_ops"
    LOSSES = "losses"
    REGULARIZATION_LOSSES = "regularization_losses"
    GLOBAL_STEP = "global_step"
    SAVERS = "savers"
    SAVEABLE_OBJECTS = "saveable_objects"
    RESOURCES = "resources"
    LOCAL_RESOURCES = "local_resources"
    INIT_OP = "init_op"
    LOCAL_INIT_OP = "local_init_op"
    READY_OP = "ready_op"
    READY_FOR_LOCAL_INIT_OP = "ready_for_local_init_op"
    SUMMARY_OP = "summary_op"
    TRAIN_OP = "train_op"
    ASSET_FILEPATHS = "asset_filepaths"
    CONCATENATED_VARIABLES = "concatenated_variables"
    COND_CONTEXT = "cond_context"
    WHILE_CONTEXT = "while_context"
    VARIABLES = GLOBAL_VARIABLES


class _ControlFrame:
    """One ``control_dependencies`` block: its ops, and the ops created inside it."""

    __slots__ = ("control_inputs", "seen")

    def __init__(self, control_inputs):
        self.control_inputs = control_inputs
        self.seen: set[int] = set()


class Graph:
    """A TensorFlow computation graph (``tf.Graph``).

    >>> import graphjit.compat.v1 as tf
    >>> g = tf.Graph()
    >>> with g.as_default():
    ...     c = tf.constant(1.0, name="c")
    >>> g.get_tensor_by_name("c:0") is c
    True
    """

    __slots__ = (
        "__weakref__",
        "_building_function",
        "_cf",
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
        self._control_stack: list[_ControlFrame] = []
        self._device_stack: list = []
        self._collections: dict[str, list] = {}
        self._finalized = False
        self._unfeedable: set[int] = set()
        self._unfetchable: set[int] = set()
        self._lock = threading.RLock()
        self._building_function = False
        self._cf = None  # control-flow state (ops/control_flow.py), set on first cond/loop
        self.seed = None

    # ----------------------------------------------------------------- building
    def create_op(self, op_type, inputs, attrs=None, name=None, control_inputs=None):
        """Create an :class:`Operation` of a registered type and return it.

        Shape/dtype inference runs here, so bad shapes raise when the graph is built. A
        ``name`` ending in ``/`` (a name scope) is taken as is, as in TF.
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
        if self._cf is not None:  # branch/body ops: captures, exports (ops/control_flow.py)
            inputs = self._cf.map_inputs(inputs, op_type)
        with self._lock:
            self._check_not_finalized()
            if name and name.endswith("/"):
                full = name[:-1]  # a name scope used as an op name, taken as is (TF)
                self._names_in_use.setdefault(full.lower(), 1)
            else:
                # TF consumes the name even when shape inference then fails.
                full = self.unique_name(name or op_type)
            if not _VALID_OP_NAME.match(full):
                raise ValueError(
                    f"`{full}` is not a valid node name. Accepted names conform to Regex "
                    f"/{_VALID_OP_NAME!r}/"
                )
            if full in self._names:
                raise ValueError(f"Duplicate node name in graph: '{full}'")
            try:
                specs = opdef.infer(inputs, attrs)
            except (ValueError, TypeError) as e:
                raise type(e)(f"{e} (op '{full}' of type {op_type})") from None
            ctrl = self._control_inputs_for(inputs)
            for c in control_inputs or ():
                c = c.op if isinstance(c, Tensor) else c
                if c not in ctrl:
                    ctrl.append(c)
            device = self._current_device(op_type, full)
            op = Operation(self, full, op_type, inputs, attrs, ctrl, device, specs)
            self._names[full] = op
            self._ops.append(op)
            for frame in self._control_stack:
                frame.seen.add(id(op))
            if self._cf is not None:
                self._cf.record(op)
            return op

    def _control_inputs_for(self, inputs) -> list[Operation]:
        """TF's rule: a block's ops are added unless an input was built inside that block
        (the op is then dominated by it) or is already a data input."""
        input_ops = [t._op for t in inputs]
        input_ids = {id(o) for o in input_ops}
        ret: list[Operation] = []
        for frame in self._control_stack:
            if any(i in frame.seen for i in input_ids):
                continue
            for c in frame.control_inputs:
                if id(c) not in input_ids and c not in ret:
                    ret.append(c)
        return ret

    def _current_device(self, op_type, name) -> str:
        device = ""
        for d in self._device_stack:
            if d is None:
                device = ""
            elif callable(d):
                # Device functions see a stand-in exposing what TF's NodeDef would.
                device = d(_DeviceFnOp(op_type, name, device)) or ""
            else:
                device = merge_device(device, d)
        return device

    def _check_not_finalized(self):
        if self._finalized:
            raise RuntimeError("Graph is finalized and cannot be modified.")

    def unique_name(self, name: str, mark_as_used: bool = True) -> str:
        """Prefix ``name`` with the current name scope and make it unique (``a``, ``a_1``).

        Names are compared case-insensitively; a generated ``a_1`` never collides with an
        ``a_1`` the user already created (TF's rule).
        """
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
        """The current name scope without a trailing slash (``""`` at the root)."""
        return self._name_stack

    @contextlib.contextmanager
    def name_scope(self, name):
        """Push a name scope and yield its ``"a/"`` form.

        ``"a/"`` (trailing slash) re-enters an existing scope as is; ``None`` or ``""``
        resets to the root scope; an invalid name is a ``ValueError``.
        """
        if name:
            if isinstance(name, bytes):
                name = name.decode()
            if self._name_stack:
                if not _VALID_SCOPE_NAME.match(name):
                    raise ValueError(
                        f"'{name}' is not a valid scope name. A scope name has to match the "
                        f"following pattern: {_VALID_SCOPE_NAME.pattern}"
                    )
            elif not _VALID_OP_NAME.match(name):
                raise ValueError(
                    f"'{name}' is not a valid root scope name. A root scope name has to match "
                    f"the following pattern: {_VALID_OP_NAME.pattern}"
                )
        old = self._name_stack
        if not name:
            new, returned = "", ""
        elif name.endswith("/"):
            new, returned = name[:-1], name
        else:
            new = self.unique_name(name)
            returned = new + "/"
        self._name_stack = new
        try:
            yield returned
        finally:
            self._name_stack = old

    @contextlib.contextmanager
    def control_dependencies(self, control_inputs):
        """Ops created inside run after ``control_inputs``; ``None`` clears outer blocks.

        Elements may be Operations, Tensors (their op), names, or objects with
        ``_as_graph_element`` such as Variables.
        """
        if control_inputs is None:
            old = self._control_stack
            self._control_stack = []
            try:
                yield
            finally:
                self._control_stack = old
            return
        current = {id(c) for f in self._control_stack for c in f.control_inputs}
        ops = []
        for c in control_inputs:
            if hasattr(c, "_as_control_op") and not isinstance(c, (Tensor, Operation)):
                c = c._as_control_op()
            c = self.as_graph_element(c)
            if isinstance(c, Tensor):
                c = c.op
            if id(c) not in current:
                ops.append(c)
                current.add(id(c))
        frame = _ControlFrame(ops)
        self._control_stack.append(frame)
        try:
            yield
        finally:
            self._control_stack.remove(frame)

    @contextlib.contextmanager
    def device(self, device_name_or_function):
        """Record a device on ops created inside (placement is always this CPU).

        Strings are canonicalised and merged with outer scopes as TF does
        (``"/cpu:0"`` -> ``"/device:CPU:0"``); ``None`` clears outer scopes.
        """
        d = device_name_or_function
        if isinstance(d, str) and d:
            merge_device("", d)  # validate now, as TF does
        elif d == "":
            d = []
        self._device_stack.extend([d] if d != [] else [])
        try:
            yield
        finally:
            if d != []:
                self._device_stack.pop()

    @contextlib.contextmanager
    def colocate_with(self, op, ignore_existing=False):
        """Accepted for compatibility; every op runs on this CPU."""
        yield

    @contextlib.contextmanager
    def gradient_override_map(self, op_type_map):
        """Accepted for compatibility (gradients use the registry's entry)."""
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
        from .graph_io import MIN_CONSUMER, PRODUCER

        return VersionDef(producer=PRODUCER, min_consumer=MIN_CONSUMER)

    # ----------------------------------------------------------------- lookup
    def get_operations(self) -> list[Operation]:
        """All ops, in creation order."""
        return list(self._ops)

    def get_operation_by_name(self, name: str) -> Operation:
        """The op called ``name`` (``KeyError`` if absent, ``ValueError`` for ``"x:0"``)."""
        if not isinstance(name, str):
            raise TypeError(
                f"Operation names are strings (or similar), not {type(name).__name__}."
            )
        return self.as_graph_element(name, allow_tensor=False, allow_operation=True)

    def get_tensor_by_name(self, name: str) -> Tensor:
        """The tensor called ``name`` (``"op:0"``)."""
        if not isinstance(name, str):
            raise TypeError(f"Tensor names are strings (or similar), not {type(name).__name__}.")
        return self.as_graph_element(name, allow_tensor=True, allow_operation=False)

    def as_graph_element(self, obj, allow_tensor=True, allow_operation=True):
        """Resolve a Tensor, Operation, name or convertible object to an element of this graph.

        Raises ``TypeError`` for other objects, ``KeyError`` for names not in the graph and
        ``ValueError`` for names of the wrong kind, with TF's messages.
        """
        with self._lock:
            return self._as_graph_element_locked(obj, allow_tensor, allow_operation)

    def _as_graph_element_locked(self, obj, allow_tensor, allow_operation):
        if allow_tensor and allow_operation:
            types = "Tensor or Operation"
        elif allow_tensor:
            types = "Tensor"
        elif allow_operation:
            types = "Operation"
        else:
            raise ValueError("allow_tensor and allow_operation can't both be False.")
        conv = getattr(obj, "_as_graph_element", None)
        if conv is not None and callable(conv):
            converted = conv()
            if converted is not None:
                obj = converted
        if isinstance(obj, bytes):
            obj = obj.decode("utf-8")
        if isinstance(obj, str):
            return self._element_by_name(obj, allow_tensor, allow_operation, types)
        if isinstance(obj, Tensor) and allow_tensor:
            if obj.graph is not self:
                raise ValueError(f"Tensor {obj} is not an element of this graph.")
            return obj
        if isinstance(obj, Operation) and allow_operation:
            if obj.graph is not self:
                raise ValueError(f"Operation {obj!r} is not an element of this graph.")
            return obj
        raise TypeError(f"Can not convert a {type(obj).__name__} into a {types}.")

    def _element_by_name(self, name, allow_tensor, allow_operation, types):
        if ":" in name and allow_tensor:
            try:
                op_name, out_n = name.split(":")
                out_n = int(out_n)
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
            try:
                return op._outputs[out_n]
            except IndexError:
                raise KeyError(
                    f"The name {name!r} refers to a Tensor which does not exist. The "
                    f"operation, {op_name!r}, exists but only has {len(op._outputs)} outputs."
                ) from None
        if ":" in name:
            raise ValueError(f"Name {name!r} appears to refer to a Tensor, not a {types}.")
        if allow_operation:
            if name not in self._names:
                raise KeyError(f"The name {name!r} refers to an Operation not in the graph.")
            return self._names[name]
        if name in self._names:
            msg = f"The name {name!r} refers to an Operation, not a {types}."
        else:
            msg = f"The name {name!r} looks like an (invalid) Operation name, not a {types}."
        raise ValueError(msg + ' Tensor names must be of the form "<op_name>:<output_index>".')

    # ----------------------------------------------------------------- collections
    def add_to_collection(self, name, value) -> None:
        """Append ``value`` to the collection ``name``."""
        self._check_not_finalized()
        with self._lock:
            self._collections.setdefault(name, []).append(value)

    def add_to_collections(self, names, value) -> None:
        """Append ``value`` to each collection in ``names`` (a string is one name)."""
        names = (names,) if isinstance(names, str) else set(names)
        for n in names:
            self.add_to_collection(n, value)

    def get_collection(self, name, scope=None) -> list:
        """A copy of a collection; with ``scope``, items whose ``name`` matches the regex
        at the start (items without a name are skipped)."""
        with self._lock:
            items = self._collections.get(name)
            if items is None:
                return []
            if scope is None:
                return list(items)
            pat = re.compile(scope)
            out = []
            for v in items:
                try:
                    if pat.match(v.name):
                        out.append(v)
                except AttributeError:
                    pass
            return out

    def get_collection_ref(self, name) -> list:
        """The collection list itself (created empty if absent); mutations are visible."""
        with self._lock:
            return self._collections.setdefault(name, [])

    def get_all_collection_keys(self) -> list[str]:
        """Names of the non-empty-or-created collections that are strings."""
        with self._lock:
            return [k for k in self._collections if isinstance(k, str)]

    @property
    def collections(self) -> list:
        """All collection names."""
        return self.get_all_collection_keys()

    def clear_collection(self, name) -> None:
        """Remove a collection."""
        self._check_not_finalized()
        with self._lock:
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
        """The graph as a TF ``GraphDef`` protobuf message (TF's wire format).

        With ``add_shapes`` every node carries an ``_output_shapes`` attr.
        """
        from .graph_io import graph_def_of

        return graph_def_of(self, from_version=from_version, add_shapes=add_shapes)


class _DeviceFnOp:
    """What a device function receives: the op's type, name and current device."""

    __slots__ = ("device", "name", "type")

    def __init__(self, op_type, name, device):
        self.type = op_type
        self.name = name
        self.device = device

    @property
    def node_def(self):
        from .graph_def import NodeDef

        return NodeDef(name=self.name, op=self.type, device=self.device)


# The module-level helpers live in graph_api.py; resolve them lazily so that either module
# can be imported first.
_API_NAMES = frozenset(
    {
        "name_scope",
        "control_dependencies",
        "device",
        "get_collection",
        "get_collection_ref",
        "add_to_collection",
        "add_to_collections",
        "convert_to_tensor",
        "constant_tensor",
        "constant_value",
        "is_tensor",
        "get_name_scope",
        "_graph_of",
    }
)


def __getattr__(name):
    if name in _API_NAMES:
        from . import graph_api

        value = getattr(graph_api, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
