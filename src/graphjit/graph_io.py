"""GraphDef export (``Graph.as_graph_def``) and import (``import_graph_def``).

Attributes map to TF's ``AttrValue`` kinds by Python type: DType -> ``type``, TensorShape ->
``shape``, ndarray -> ``tensor``, bool/int/float/str -> ``b``/``i``/``f``/``s``, lists ->
``list``. The bytes are TensorFlow's wire format (see ``graph_def.py``).
"""

from __future__ import annotations

import numpy as np

from . import dtypes as _dt
from .errors import NotFoundError
from .graph import Graph, Operation, Tensor, get_default_graph
from .ops import registry
from .shapes import TensorShape

PRODUCER = 2474  # the GraphDef producer version TF 2.21 writes
MIN_CONSUMER = 0  # TF leaves min_consumer unset


def _shape_from_proto(p) -> TensorShape:
    if p.unknown_rank:
        return TensorShape(None)
    return TensorShape([None if d.size < 0 else d.size for d in p.dim])


def attr_to_proto(value, out=None):
    """Convert a Python attribute value to an ``AttrValue`` message (filling ``out`` if given)."""
    from .graph_def import AttrValue, make_tensor_proto

    if hasattr(value, "_as_attr_value"):  # control-flow branch/body: a function reference
        av = value._as_attr_value()
        if out is None:
            return av
        out.CopyFrom(av)
        return out
    av = AttrValue() if out is None else out
    if isinstance(value, _dt.DType):
        av.type = value.as_datatype_enum
    elif isinstance(value, TensorShape):
        _shape_into(av.shape, value)
    elif isinstance(value, np.ndarray):
        av.tensor.CopyFrom(make_tensor_proto(value))
    elif isinstance(value, (bool, np.bool_)):
        av.b = bool(value)
    elif isinstance(value, (int, np.integer)):
        av.i = int(value)
    elif isinstance(value, (float, np.floating)):
        av.f = float(value)
    elif isinstance(value, str):
        av.s = value.encode()
    elif isinstance(value, bytes):
        av.s = value
    elif isinstance(value, (list, tuple)):
        lv = av.list
        lv.SetInParent()
        for v in value:
            if isinstance(v, _dt.DType):
                lv.type.append(v.as_datatype_enum)
            elif isinstance(v, TensorShape):
                _shape_into(lv.shape.add(), v)
            elif isinstance(v, (bool, np.bool_)):
                lv.b.append(bool(v))
            elif isinstance(v, (int, np.integer)):
                lv.i.append(int(v))
            elif isinstance(v, (float, np.floating)):
                lv.f.append(float(v))
            elif isinstance(v, (str, bytes)):
                lv.s.append(v.encode() if isinstance(v, str) else v)
            else:
                raise TypeError(f"Unsupported list attr element {v!r}")
    else:
        raise TypeError(f"Unsupported attr value {value!r}")
    return av


def _shape_into(p, shape: TensorShape) -> None:
    """Write ``shape`` into the ``TensorShapeProto`` ``p`` (in place: no message copies)."""
    p.SetInParent()
    if shape.ndims is None:
        p.unknown_rank = True
        return
    for d in shape.as_list():
        p.dim.add(size=-1 if d is None else d)


def attr_from_proto(p):
    """Convert an ``AttrValue`` message back to the Python value graph ops use."""
    from .graph_def import tensor_proto_to_ndarray

    kind = p.WhichOneof("value")
    if kind == "type":
        return _dt.as_dtype(int(p.type))
    if kind == "shape":
        return _shape_from_proto(p.shape)
    if kind == "tensor":
        return tensor_proto_to_ndarray(p.tensor)
    if kind == "s":
        try:
            return p.s.decode()
        except UnicodeDecodeError:
            return p.s
    if kind in ("i", "f", "b"):
        return getattr(p, kind)
    if kind == "list":
        lv = p.list
        if len(lv.type):
            return [_dt.as_dtype(int(t)) for t in lv.type]
        if len(lv.shape):
            return [_shape_from_proto(s) for s in lv.shape]
        for name in ("i", "f", "b"):
            if len(getattr(lv, name)):
                return list(getattr(lv, name))
        if len(lv.s):
            return [s.decode() for s in lv.s]
        return []
    return None


def _input_name(t: Tensor) -> str:
    return t.op.name if t.value_index == 0 else f"{t.op.name}:{t.value_index}"


def _top_ref(name: str, arg: str) -> str:
    """Output 0 of node ``name`` as a GraphDef names it (the output arg plays no part)."""
    return name


def node_def_of(op: Operation, add_shapes=False, ref=None, cref=None, out=None):
    """The ``NodeDef`` message of one op (filled into ``out`` if given).

    ``ref(tensor)`` names a data input (default ``"op"``/``"op:k"``); ``cref(op)`` names a
    control input (``"^op"``) or returns ``None`` to drop it (function bodies use both).
    """
    from .graph_def import NodeDef

    ref = ref or _input_name
    nd = NodeDef() if out is None else out
    nd.name, nd.op, nd.device = op.name, op.type, op.device
    nd.input.extend([ref(t) for t in op._inputs])
    for c in op._control_inputs:
        name = f"^{c.name}" if cref is None else cref(c)
        if name is not None:
            nd.input.append(name)
    attr = nd.attr
    for k in sorted(op._attrs):
        attr_to_proto(op._attrs[k], out=attr[k])
    if add_shapes and op._outputs:
        lv = attr["_output_shapes"].list
        lv.SetInParent()
        for t in op._outputs:
            _shape_into(lv.shape.add(), t.shape)
    return nd


def graph_def_of(graph: Graph, from_version=None, add_shapes=False, out=None):
    """The ``GraphDef`` of ``graph`` (ops with id >= ``from_version`` only, if given).

    Ops owned by a control-flow node (branch/body ops) are not top-level nodes: they are
    written into ``library`` as the FunctionDefs that the ``If``/``While`` nodes name
    (``graph_functions.py``).
    """
    from .graph_def import GraphDef, VersionDef
    from .graph_functions import CF_TYPES, LibraryWriter

    gd = GraphDef() if out is None else out
    gd.versions.CopyFrom(VersionDef(producer=PRODUCER, min_consumer=MIN_CONSUMER))
    owned = graph._cf.owner if graph._cf is not None else {}
    writer = None
    for op in graph._ops:
        if from_version is not None and op._id < from_version:
            continue
        if id(op) in owned:
            continue
        if op.type in CF_TYPES:
            writer = writer or LibraryWriter(add_shapes)
            gd.node.append(writer.node_def(op, _input_name, None, gd.node, _top_ref))
        else:
            node_def_of(op, add_shapes, out=gd.node.add())
    if writer is not None and len(writer.library.function):
        gd.library.CopyFrom(writer.library)
        writer.share_variables(gd)
    return gd


def import_graph_def(
    graph_def, input_map=None, return_elements=None, name=None, op_dict=None, producer_op_list=None
):
    """Add the ops of ``graph_def`` to the default graph under the name scope ``name``.

    Parameters
    ----------
    graph_def : GraphDef
        The graph to import (from ``as_graph_def`` or TensorFlow's bytes via
        ``GraphDef.FromString``).
    input_map : dict, optional
        Maps tensor names in ``graph_def`` (``"x"`` or ``"x:0"``; ``"^x"`` for a control input)
        to Tensors (Operations) of the default graph that replace them.
    return_elements : list of str, optional
        Names in ``graph_def`` to return: ``"y:0"`` gives the imported Tensor, ``"y"`` the
        imported Operation.
    name : str, optional
        Prefix scope, ``"import"`` by default (made unique); ``""`` imports without a prefix
        (clashing names get a ``_1`` suffix).

    Returns
    -------
    list or None
        The requested elements, or ``None`` without ``return_elements``.

    Raises
    ------
    NotFoundError
        For an op type graphjit does not implement (TF's message, naming the type).
    ValueError
        For unknown input nodes, unused ``input_map`` keys, missing return elements and
        mapped inputs of the wrong dtype.

    Examples
    --------
    >>> import graphjit.compat.v1 as tf
    >>> with tf.Graph().as_default() as g:
    ...     x = tf.placeholder(tf.float32, name="x")
    ...     y = tf.add(x, 1.0, name="y")
    >>> with tf.Graph().as_default():
    ...     c = tf.constant(2.0)
    ...     (out,) = tf.import_graph_def(g.as_graph_def(), {"x": c}, ["y:0"], name="m")
    ...     tf.Session().run(out)
    np.float32(3.0)
    """
    from .graph_api import convert_to_tensor

    if not hasattr(graph_def, "node"):
        raise TypeError("Argument `graph_def` must be a GraphDef proto.")
    if input_map is None:
        input_map = {}
    elif not isinstance(input_map, dict):
        raise TypeError(
            f"Argument `input_map` must be a dictionary. Obtained {type(input_map).__name__}"
        )
    g = get_default_graph()
    nodes = {nd.name: nd for nd in graph_def.node}
    for nd in graph_def.node:
        if registry.lookup(nd.op) is None:
            raise NotFoundError(
                None,
                None,
                f"Op type not registered '{nd.op}' in binary running on graphjit. "
                f"graphjit does not implement this op yet (node '{nd.name}').",
            )
    order = _topological_order(graph_def, nodes)
    from .graph_functions import CF_TYPES, LibraryReader

    has_functions = any(nd.op in CF_TYPES for nd in graph_def.node)
    with g.name_scope(name if name is not None else "import") as prefix:
        mapped = {}
        for key, value in input_map.items():
            if not isinstance(key, str):
                raise TypeError(
                    "input_map must be a dictionary mapping strings to Tensor objects."
                )
            if key.startswith("^"):
                mapped[key] = value.op if isinstance(value, Tensor) else value
            else:
                if not isinstance(value, Tensor):
                    with g.name_scope("_inputs"):
                        value = convert_to_tensor(value)
                mapped[_canon(key)] = value
        reader = None  # If/While nodes take their branches from the function library
        if has_functions:
            reader = LibraryReader(graph_def.library, {prefix + n for n in nodes})
        used: set[str] = set()
        created: dict[str, Operation] = {}
        for nd in order:
            created[nd.name] = _import_node(g, nd, prefix, created, mapped, used, reader)
    unused = [k for k in mapped if k not in used]
    if unused:
        raise ValueError(
            "Attempted to map inputs that were not found in graph_def: [" + ", ".join(unused) + "]"
        )
    if return_elements is None:
        return None
    return [_return_element(r, created) for r in return_elements]


def topological_order(node_defs, nodes, cycle, unknown) -> list:
    """NodeDefs ordered so inputs come first (iterative: deep graphs must not recurse).

    ``nodes`` maps names to NodeDefs; ``cycle(name)`` is the error for a cycle through
    ``name``; ``unknown(node_def, ref)`` is the error for an input that names no node, or
    ``None`` when that input is bound elsewhere (a function argument) and is skipped.
    """
    order, state = [], {}
    for root in node_defs:
        stack = [(root.name, False)]
        while stack:
            node_name, done = stack.pop()
            if done:
                state[node_name] = 2
                order.append(nodes[node_name])
                continue
            if state.get(node_name) == 2:
                continue
            if state.get(node_name) == 1:
                raise cycle(node_name)
            state[node_name] = 1
            stack.append((node_name, True))
            nd = nodes[node_name]
            for ref in reversed(nd.input):
                src = ref[1:] if ref.startswith("^") else ref.split(":")[0]
                if src not in nodes:
                    err = unknown(nd, ref)
                    if err is None:
                        continue
                    raise err
                if state.get(src) != 2:
                    stack.append((src, False))
    return order


def _topological_order(graph_def, nodes) -> list:
    return topological_order(
        graph_def.node,
        nodes,
        lambda name: ValueError(f"graph_def has a cycle through node '{name}'"),
        lambda nd, ref: ValueError(f"Node '{nd.name}': Unknown input node '{ref}'"),
    )


def _import_node(g, nd, prefix, created, mapped, used, reader) -> Operation:
    inputs, ctrl = [], []
    for ref in nd.input:
        if ref.startswith("^"):
            if ref in mapped:
                used.add(ref)
                ctrl.append(mapped[ref])
            else:
                ctrl.append(created[ref[1:]])
            continue
        key = _canon(ref)
        op_name, idx = key.rsplit(":", 1)
        original = created[op_name].outputs[int(idx)]
        if key in mapped:
            used.add(key)
            t = mapped[key]
            if t.dtype is not original.dtype:
                raise ValueError(
                    f"Input {len(inputs)} of node {prefix}{nd.name} was passed "
                    f"{t.dtype.tf_short_name} from {t.name} incompatible with expected "
                    f"{original.dtype.tf_short_name}."
                )
            inputs.append(t)
        else:
            inputs.append(original)
    return create_node(g, nd, prefix + nd.name, inputs, ctrl, prefix, reader)


def create_node(g, nd, full, inputs, ctrl, prefix, reader) -> Operation:
    """Create the op of NodeDef ``nd`` named ``full`` (made unique) on resolved inputs.

    Control-flow nodes get their branch/body SubGraphs from the function library
    (``reader``, a :class:`~graphjit.graph_functions.LibraryReader`).
    """
    opdef = registry.lookup(nd.op)
    if opdef is None:
        raise NotFoundError(
            None,
            None,
            f"Op type not registered '{nd.op}' in binary running on graphjit. "
            f"graphjit does not implement this op yet (node '{nd.name}').",
        )
    attrs = dict(opdef.attr_defaults)
    accepted = _accepted_attrs(opdef)
    for k in nd.attr:
        # _output_shapes, _class ...: TF-internal annotations. Newer TF versions add attrs
        # (MatMul's grad_a) that change nothing here; a kernel without **attrs cannot take them.
        if not k.startswith("_") and (accepted is None or k in accepted):
            attrs[k] = attr_from_proto(nd.attr[k])
    if full in g._names:
        full = g.unique_name(full)  # TF uniquifies clashing names (name="")
    if reader is not None and nd.op in reader.TYPES:
        op = reader.create(g, nd, full, inputs, ctrl, attrs, prefix)
    else:
        with g.name_scope(None):
            op = g.create_op(nd.op, inputs, attrs, name=full + "/", control_inputs=ctrl)
    if nd.device:
        op._device = nd.device
    return op


_ACCEPTED: dict[str, frozenset | None] = {}


def _accepted_attrs(opdef) -> frozenset | None:
    """Attr names the op's numpy kernel takes, or ``None`` when it takes ``**attrs``."""
    if opdef.type not in _ACCEPTED:
        import inspect

        try:
            params = inspect.signature(opdef.numpy).parameters.values()
        except (TypeError, ValueError):
            params = None
        if params is None or any(p.kind is p.VAR_KEYWORD for p in params):
            _ACCEPTED[opdef.type] = None
        else:
            names = {p.name for p in params if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}
            _ACCEPTED[opdef.type] = frozenset(names | set(opdef.attr_defaults))
    return _ACCEPTED[opdef.type]


def _return_element(ref: str, created) -> Tensor | Operation:
    if ":" in ref:
        op_name, idx = ref.rsplit(":", 1)
        if op_name not in created:
            raise ValueError(f"Requested return tensor '{ref}' not found in graph def")
        op = created[op_name]
        if not 0 <= int(idx) < len(op.outputs):
            raise ValueError(
                f"Invalid return output {idx} of node '{op_name}', which has "
                f"{len(op.outputs)} output(s)"
            )
        return op.outputs[int(idx)]
    if ref not in created:
        raise ValueError(f"Requested return node '{ref}' not found in graph def")
    return created[ref]


def _canon(ref: str) -> str:
    if ref.startswith("^"):
        return ref
    return ref if ":" in ref else ref + ":0"
