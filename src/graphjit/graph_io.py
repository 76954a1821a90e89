"""GraphDef export (``Graph.as_graph_def``) and import (``import_graph_def``).

Attributes map to TF's ``AttrValue`` kinds by Python type: DType -> ``type``, TensorShape ->
``shape``, ndarray -> ``tensor``, bool/int/float/str -> ``b``/``i``/``f``/``s``, lists ->
``list``. The bytes are TensorFlow's wire format (see ``graph_def.py``).
"""

from __future__ import annotations

import numpy as np

from . import dtypes as _dt
from .graph import Graph, Operation, Tensor, get_default_graph
from .ops import registry
from .shapes import TensorShape

PRODUCER = 1882  # TF 2.21's GraphDef producer version


def _shape_to_proto(shape: TensorShape):
    from .graph_def import TensorShapeProto

    if shape.ndims is None:
        return TensorShapeProto(unknown_rank=True)
    return TensorShapeProto(
        dim=[TensorShapeProto.Dim(size=-1 if d is None else d) for d in shape.as_list()]
    )


def _shape_from_proto(p) -> TensorShape:
    if p.unknown_rank:
        return TensorShape(None)
    return TensorShape([None if d.size < 0 else d.size for d in p.dim])


def attr_to_proto(value):
    """Convert a Python attribute value to an ``AttrValue`` message."""
    from .graph_def import AttrValue, make_tensor_proto

    if isinstance(value, _dt.DType):
        return AttrValue(type=value.as_datatype_enum)
    if isinstance(value, TensorShape):
        return AttrValue(shape=_shape_to_proto(value))
    if isinstance(value, np.ndarray):
        return AttrValue(tensor=make_tensor_proto(value))
    if isinstance(value, (bool, np.bool_)):
        return AttrValue(b=bool(value))
    if isinstance(value, (int, np.integer)):
        return AttrValue(i=int(value))
    if isinstance(value, (float, np.floating)):
        return AttrValue(f=float(value))
    if isinstance(value, str):
        return AttrValue(s=value.encode())
    if isinstance(value, bytes):
        return AttrValue(s=value)
    if isinstance(value, (list, tuple)):
        lv = AttrValue.ListValue()
        for v in value:
            if isinstance(v, _dt.DType):
                lv.type.append(v.as_datatype_enum)
            elif isinstance(v, TensorShape):
                lv.shape.add().CopyFrom(_shape_to_proto(v))
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
        return AttrValue(list=lv)
    raise TypeError(f"Unsupported attr value {value!r}")


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


def node_def_of(op: Operation, add_shapes=False):
    """The ``NodeDef`` message of one op."""
    from .graph_def import AttrValue, NodeDef

    nd = NodeDef(name=op.name, op=op.type, device=op.device)
    nd.input.extend([_input_name(t) for t in op._inputs])
    nd.input.extend([f"^{c.name}" for c in op._control_inputs])
    for k in sorted(op._attrs):
        nd.attr[k].CopyFrom(attr_to_proto(op._attrs[k]))
    if add_shapes and op._outputs:
        lv = AttrValue.ListValue()
        for t in op._outputs:
            lv.shape.add().CopyFrom(_shape_to_proto(t.shape))
        nd.attr["_output_shapes"].CopyFrom(AttrValue(list=lv))
    return nd


def graph_def_of(graph: Graph, from_version=None, add_shapes=False):
    """The ``GraphDef`` of ``graph`` (ops with id >= ``from_version`` only, if given)."""
    from .graph_def import GraphDef, VersionDef

    gd = GraphDef(versions=VersionDef(producer=PRODUCER, min_consumer=12))
    for op in graph._ops:
        if from_version is not None and op._id < from_version:
            continue
        gd.node.append(node_def_of(op, add_shapes))
    return gd


def import_graph_def(
    graph_def, input_map=None, return_elements=None, name=None, op_dict=None, producer_op_list=None
):
    """Add the ops of ``graph_def`` to the default graph under the scope ``name``.

    ``input_map`` maps tensor names in ``graph_def`` to existing Tensors; ``return_elements``
    names ops or tensors (``"x"`` / ``"x:0"``) to return. An op type graphjit does not know is
    a ``ValueError`` naming it.
    """
    g = get_default_graph()
    input_map = {(_canon(k)): v for k, v in (input_map or {}).items()}
    nodes = {nd.name: nd for nd in graph_def.node}
    for nd in graph_def.node:
        if registry.lookup(nd.op) is None:
            raise ValueError(
                f"Op type not registered '{nd.op}' in binary (node {nd.name}): "
                "graphjit does not implement this op yet."
            )
    scope = "import" if name is None else name
    created: dict[str, Operation] = {}
    with g.name_scope(scope) as prefix:
        prefix = prefix or ""

        def tensor_for(ref: str) -> Tensor:
            ref = _canon(ref)
            if ref in input_map:
                return input_map[ref]
            op_name, idx = ref.rsplit(":", 1)
            return build(op_name).outputs[int(idx)]

        visiting: set[str] = set()

        def build(node_name: str) -> Operation:
            if node_name in created:
                return created[node_name]
            if node_name not in nodes:
                raise ValueError(
                    f"Node '{node_name}' referenced by an input is not in the graph_def"
                )
            if node_name in visiting:
                raise ValueError(f"graph_def has a cycle through node '{node_name}'")
            visiting.add(node_name)
            nd = nodes[node_name]
            opdef = registry.get(nd.op)
            data = [i for i in nd.input if not i.startswith("^")]
            ctrl = [build(i[1:]) for i in nd.input if i.startswith("^")]
            inputs = [tensor_for(i) for i in data]
            attrs = dict(opdef.attr_defaults)
            for k in nd.attr:
                if not k.startswith("_"):
                    attrs[k] = attr_from_proto(nd.attr[k])
            op = g.create_op(
                nd.op,
                inputs,
                attrs,
                name=prefix + nd.name + "/" if prefix else nd.name + "/",
                control_inputs=ctrl,
            )
            op._device = nd.device
            created[node_name] = op
            visiting.discard(node_name)
            return op

        for nd in graph_def.node:
            build(nd.name)
    if return_elements is None:
        return None
    out = []
    for r in return_elements:
        if ":" in r:
            op_name, idx = r.rsplit(":", 1)
            out.append(created[op_name].outputs[int(idx)])
        else:
            out.append(created[r])
    return out


def _canon(ref: str) -> str:
    if ref.startswith("^"):
        return ref
    return ref if ":" in ref else ref + ":0"
