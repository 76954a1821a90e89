"""MetaGraphDef (``.meta`` file) export and import, as ``tf.train.export_meta_graph`` and
``tf.train.import_meta_graph``.

A MetaGraphDef holds the GraphDef (with its function library for ``tf.cond``/``tf.while_loop``),
the Saver's ``SaverDef`` and the graph's collections. Collections are written as TF writes
them: variable collections (``variables``, ``trainable_variables``, ``global_step`` ...) as
serialized ``VariableDef`` protos, ``savers`` as ``SaverDef`` protos, tensors/ops as
``node_list`` names, and strings/ints/floats as ``bytes_list``/``int64_list``/``float_list``.
Items that fit none of these are skipped with a warning, as in TF.

Import rebuilds the graph in the default graph, recreates the Python ``Variable`` objects of
the variable collections (TF1 ref variables over the imported ``VariableV2``/``Assign``/``read``
ops, so ``global_variables_initializer`` and ``Saver.restore`` work) and returns a Saver built
from the SaverDef. What the SaverDef's names mean for graphjit is documented on
:class:`~graphjit.train.meta_graph_pb.SaverDef`.

Not supported: ``export_scope`` and text-format (``as_text=True``) files on import.
"""

from __future__ import annotations

import os
import re

import numpy as np

from ..graph import GraphKeys, Operation, Tensor, get_default_graph
from ..variables import Variable
from . import logging as _logging
from .meta_graph_pb import CollectionDef, MetaGraphDef, VariableDef

__all__ = ["export_meta_graph", "import_meta_graph", "read_meta_graph_file"]

#: Collections of Variables, serialized as ``VariableDef`` (TF's registered proto functions).
VARIABLE_COLLECTIONS = (
    GraphKeys.GLOBAL_VARIABLES,
    GraphKeys.TRAINABLE_VARIABLES,
    GraphKeys.LOCAL_VARIABLES,
    GraphKeys.MODEL_VARIABLES,
    GraphKeys.MOVING_AVERAGE_VARIABLES,
    GraphKeys.METRIC_VARIABLES,
    GraphKeys.GLOBAL_STEP,
)


def prepend_name_scope(name: str, import_scope: str | None) -> str:
    """``scope/name`` (also inside ``^name`` and ``loc:@name``), as TF's helper."""
    if not import_scope:
        return name
    scope = import_scope.rstrip("/")
    return re.sub(r"([\^]|loc:@|^)(.*)", r"\1" + scope + r"/\2", name)


def strip_name_scope(name: str, export_scope: str | None) -> str:
    """``name`` without a leading ``export_scope/``, as TF's helper."""
    if not export_scope:
        return name
    scope = re.escape(export_scope.rstrip("/"))
    return re.sub(r"([\^]|loc:@|^)" + scope + r"[\/]+(.*)", r"\1\2", name, count=1)


# ---------------------------------------------------------------------------------- variables
def variable_to_proto(var: Variable, export_scope=None) -> VariableDef | None:
    """The ``VariableDef`` of a TF1 ref variable (``None`` when outside ``export_scope``)."""
    if export_scope is not None and not var.name.startswith(export_scope):
        return None
    vd = VariableDef(
        variable_name=strip_name_scope(var.name, export_scope),
        initializer_name=strip_name_scope(var.initializer.name, export_scope),
        snapshot_name=strip_name_scope(var.value().name, export_scope),
        trainable=var.trainable,
    )
    if var._initial_value is not None:
        vd.initial_value_name = strip_name_scope(var._initial_value.name, export_scope)
    return vd


def init_variable_from_proto(var: Variable, variable_def, import_scope=None) -> None:
    """Fill ``var`` (a new, uninitialised-by-``__init__`` Variable) from a ``VariableDef``.

    The named elements must exist in the default graph; nothing is added to it (and the
    variable joins no collection), as with TF's ``Variable(variable_def=...)``.
    """
    if isinstance(variable_def, (bytes, bytearray)):
        variable_def = VariableDef.FromString(variable_def)
    if variable_def.is_resource:
        raise ValueError(
            f"VariableDef of '{variable_def.variable_name}' describes a resource variable; "
            "graphjit implements TF1 reference variables only."
        )
    g = get_default_graph()

    def element(name, tensor):
        return g.as_graph_element(
            prepend_name_scope(name, import_scope), allow_tensor=tensor, allow_operation=not tensor
        )

    var._variable = element(variable_def.variable_name, True)
    var._initializer_op = element(variable_def.initializer_name, False)
    var._snapshot = element(variable_def.snapshot_name, True)
    init = variable_def.initial_value_name
    var._initial_value = element(init, True) if init else None
    var._trainable = variable_def.trainable
    var._constraint = None
    var._save_slice_info = None


def variable_from_proto(variable_def, import_scope=None) -> Variable:
    """A Variable over existing graph elements (TF's ``Variable.from_proto``)."""
    return Variable(variable_def=variable_def, import_scope=import_scope)


# ---------------------------------------------------------------------------------- savers
def saver_parts_from_def(saver_def, import_scope=None):
    """What ``Saver(saver_def=...)`` needs from the default graph.

    Returns ``(saver_def, {key: Variable}, {key: restore placeholder}, restore_all op)``, with
    ``import_scope/`` prepended to the SaverDef's names (TF overloads the Saver's ``name`` so).
    The keys come from the ``save_tensor_name`` constant graphjit's Saver writes; a SaverDef
    of TF's own ``SaveV2``/``RestoreV2`` ops is refused with ``ValueError``.
    """
    from .meta_graph_pb import SaverDef

    sd = SaverDef()
    sd.CopyFrom(saver_def)
    for f in ("filename_tensor_name", "save_tensor_name", "restore_op_name"):
        setattr(sd, f, prepend_name_scope(getattr(sd, f), import_scope))
    if not sd.save_tensor_name:
        raise ValueError(f"saver_def must specify the save_tensor_name: {sd}")
    if not sd.restore_op_name:
        raise ValueError(f"saver_def must specify the restore_op_name: {sd}")
    g = get_default_graph()
    restore = g.get_operation_by_name(sd.restore_op_name)
    keys_t = g.get_tensor_by_name(sd.save_tensor_name)
    if not restore.name.endswith("restore_all") or keys_t.op.type != "Const":
        raise ValueError(
            f"The SaverDef ({sd.save_tensor_name}, {sd.restore_op_name}) was not written by a "
            "graphjit Saver; TensorFlow's SaveV2/RestoreV2 checkpoint ops are not supported. "
            "Build a new tf.train.Saver() over the imported variables instead."
        )
    scope = restore.name[: -len("restore_all")]
    by_ref = {}
    for key in VARIABLE_COLLECTIONS:
        for v in g.get_collection(key):
            if isinstance(v, Variable):
                by_ref.setdefault(id(v._variable), v)
    variables, feeds = {}, {}
    for i, key in enumerate(np.asarray(keys_t.op.get_attr("value")).reshape(-1)):
        key = key.decode() if isinstance(key, bytes) else str(key)
        ph = g.get_tensor_by_name(f"{scope}restore_{i}:0")
        assign = next((op for op in ph.consumers() if op.type == "Assign"), None)
        if assign is None:
            raise ValueError(f"Restore placeholder {ph.name} of {restore.name} assigns nothing")
        ref = assign.inputs[0]
        variables[key] = by_ref[id(ref)] if id(ref) in by_ref else _variable_for_ref(ref)
        feeds[key] = ph
    return sd, variables, feeds, restore


def _variable_for_ref(ref) -> Variable:
    """A Variable for a VariableV2 output that no collection holds (TF1 naming assumed)."""
    name = ref.op.name
    vd = VariableDef(
        variable_name=ref.name, initializer_name=f"{name}/Assign", snapshot_name=f"{name}/read:0"
    )
    try:
        return variable_from_proto(vd)
    except (KeyError, ValueError):
        raise ValueError(
            f"Cannot rebuild the variable of '{name}' for the Saver: it is in no variable "
            f"collection and has no '{name}/Assign' and '{name}/read' ops."
        ) from None


# ---------------------------------------------------------------------------------- export
def export_meta_graph(
    filename=None,
    meta_info_def=None,
    graph_def=None,
    saver_def=None,
    collection_list=None,
    as_text=False,
    graph=None,
    export_scope=None,
    clear_devices=False,
    clear_extraneous_savers=False,
    strip_default_attrs=False,
    save_debug_info=False,
    **kwargs,
):
    """Return the graph, ``saver_def`` and collections as a ``MetaGraphDef``; optionally
    write it to ``filename`` (``tf.train.export_meta_graph``).

    Parameters
    ----------
    filename : str, optional
        Where to write it (binary, or text format with ``as_text``); missing directories are
        created and the file is replaced atomically.
    meta_info_def, graph_def, saver_def : optional
        Messages to use instead of the defaults (an empty ``MetaInfoDef``, the graph's
        ``as_graph_def(add_shapes=True)``, no SaverDef).
    collection_list : list of str, optional
        Collections to write; default all of the graph's string-keyed collections.
    graph : Graph, optional
        Default: the default graph.
    clear_devices : bool
        Drop the nodes' device fields.
    clear_extraneous_savers : bool
        Write only ``saver_def``'s Saver in the ``savers`` collection.

    Returns
    -------
    MetaGraphDef

    Examples
    --------
    >>> import graphjit.compat.v1 as tf
    >>> with tf.Graph().as_default():
    ...     v = tf.Variable(1.0, name="v")
    ...     mg = tf.train.export_meta_graph()
    >>> sorted(mg.collection_def), len(mg.graph_def.node) > 0
    (['trainable_variables', 'variables'], True)
    """
    if export_scope:
        raise NotImplementedError("export_meta_graph(export_scope=...) is not supported")
    graph = graph if graph is not None else get_default_graph()
    mg = MetaGraphDef()
    if meta_info_def is not None:
        mg.meta_info_def.CopyFrom(meta_info_def)
    mg.meta_info_def.SetInParent()
    if graph_def is not None:
        mg.graph_def.CopyFrom(graph_def)
    else:
        from ..graph_io import graph_def_of

        graph_def_of(graph, add_shapes=True, out=mg.graph_def)  # built in place: no copy
    if clear_devices:
        _clear_devices(mg.graph_def)
    if saver_def is not None:
        mg.saver_def.CopyFrom(saver_def)
    keys = graph.get_all_collection_keys() if collection_list is None else collection_list
    for key in keys:
        items = graph.get_collection(key)
        if key == GraphKeys.SAVERS and clear_extraneous_savers:
            items = [s for s in items if saver_def is not None and s.as_saver_def() == saver_def]
        _add_collection(mg, key, items)
    if filename:
        _write(os.fspath(filename), str(mg).encode() if as_text else mg.SerializeToString())
    return mg


def _clear_devices(gd) -> None:
    for nd in gd.node:
        nd.device = ""
    for fd in gd.library.function:
        for nd in fd.node_def:
            nd.device = ""


def _add_collection(mg, key, items) -> None:
    """Write one collection the way TF does; warn and skip what cannot be written."""
    if not isinstance(key, str) or not items:
        return
    cd = CollectionDef()
    try:
        if key in VARIABLE_COLLECTIONS:
            for v in items:
                if not isinstance(v, Variable):
                    raise TypeError(f"{v!r} is not a Variable")
                cd.bytes_list.value.append(variable_to_proto(v).SerializeToString())
        elif key == GraphKeys.SAVERS:
            for s in items:
                cd.bytes_list.value.append(s.to_proto().SerializeToString())
        else:
            first = items[0]
            if isinstance(first, (str, bytes)):
                cd.bytes_list.value.extend([_as_bytes(x) for x in items])
            elif isinstance(first, (int, np.integer)):
                cd.int64_list.value.extend([int(x) for x in items])
            elif isinstance(first, (float, np.floating)):
                cd.float_list.value.extend([float(x) for x in items])
            else:
                names = []
                for x in items:
                    if not isinstance(x, (Tensor, Operation, Variable)):
                        raise TypeError(f"{x!r} is not a Tensor, Operation or Variable")
                    names.append(x.name)
                cd.node_list.value.extend(names)
    except (TypeError, ValueError, AttributeError) as e:
        _logging.warning("Issue encountered when serializing %s.\n%s", key, e)
        return
    mg.collection_def[key].CopyFrom(cd)


def _as_bytes(x) -> bytes:
    return x.encode() if isinstance(x, str) else x


def _write(path: str, data: bytes) -> None:
    from .saver import _atomic_write

    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, exist_ok=True)
    _atomic_write(path, [data])


# ---------------------------------------------------------------------------------- import
def read_meta_graph_file(filename) -> MetaGraphDef:
    """Parse a binary ``.meta`` file (``OSError`` when missing, ``ValueError`` when not one)."""
    filename = os.fspath(filename)
    if not os.path.exists(filename):
        raise OSError(f"File {filename} does not exist.")
    with open(filename, "rb") as f:
        data = f.read()
    if re.match(rb"\s*[A-Za-z_]+\s*[:{]", data):
        raise ValueError(
            f"{filename} is a text-format MetaGraphDef; graphjit reads binary .meta files only "
            "(write them with as_text=False)."
        )
    try:
        return MetaGraphDef.FromString(data)
    except Exception as e:
        raise ValueError(f"Cannot parse file {filename}: {e}") from None


def import_meta_graph(meta_graph_or_file, clear_devices=False, import_scope=None, **kwargs):
    """Recreate a saved graph in the default graph; return a Saver for its variables
    (``tf.train.import_meta_graph``).

    Parameters
    ----------
    meta_graph_or_file : str or MetaGraphDef
        A ``.meta`` path (as ``Saver.save`` writes next to a checkpoint) or the message.
    clear_devices : bool
        Ignore the saved device placements.
    import_scope : str, optional
        Name scope prefixed to every imported name (checkpoint keys stay unprefixed).
    **kwargs
        ``input_map`` and ``return_elements``, passed to ``import_graph_def``.

    Returns
    -------
    Saver or None
        From the MetaGraphDef's ``saver_def``; without one, a new ``Saver()`` when the graph
        has variables, else ``None``.

    Examples
    --------
    >>> import os, tempfile
    >>> import graphjit.compat.v1 as tf
    >>> d = tempfile.mkdtemp()
    >>> with tf.Graph().as_default():
    ...     v = tf.Variable([1.0, 2.0], name="v")
    ...     doubled = tf.multiply(v, 2.0, name="doubled")
    ...     saver = tf.train.Saver()
    ...     with tf.Session() as sess:
    ...         _ = sess.run(v.initializer)
    ...         prefix = saver.save(sess, os.path.join(d, "model"))
    >>> with tf.Graph().as_default() as g:
    ...     restorer = tf.train.import_meta_graph(prefix + ".meta")
    ...     with tf.Session() as sess:
    ...         restorer.restore(sess, prefix)
    ...         print(sess.run(g.get_tensor_by_name("doubled:0")))
    [2. 4.]
    """
    from ..graph_io import import_graph_def
    from .saver import Saver

    if isinstance(meta_graph_or_file, MetaGraphDef) or hasattr(meta_graph_or_file, "graph_def"):
        mg = meta_graph_or_file
    else:
        mg = read_meta_graph_file(meta_graph_or_file)
    graph = get_default_graph()
    gd = mg.graph_def
    if clear_devices:
        gd = type(gd).FromString(gd.SerializeToString())
        _clear_devices(gd)
    input_map = kwargs.pop("input_map", None)
    return_elements = kwargs.pop("return_elements", None)
    with graph.as_default():
        import_graph_def(
            gd, input_map=input_map, return_elements=return_elements, name=import_scope or ""
        )
        _import_collections(graph, mg, import_scope)
        if mg.HasField("saver_def"):
            return Saver(saver_def=mg.saver_def, name=import_scope)
        if any(graph.get_collection(k) for k in (GraphKeys.GLOBAL_VARIABLES, "saveable_objects")):
            return Saver()
        _logging.info("Saver not created because there are no variables in the graph to restore")
        return None


def _import_collections(graph, mg, scope) -> None:
    from .saver import Saver

    # Variables first, so that Savers rebuilt from the savers collection find them.
    keys = sorted(mg.collection_def, key=lambda k: (k not in VARIABLE_COLLECTIONS, k))
    made: dict[bytes, Variable] = {}
    for key in keys:
        cd = mg.collection_def[key]
        kind = cd.WhichOneof("kind")
        if kind is None:
            _logging.error("Cannot identify data type for collection %s. Skipping.", key)
            continue
        values = list(getattr(cd, kind).value)
        if key in VARIABLE_COLLECTIONS and kind == "bytes_list":
            for value in values:
                if value not in made:
                    made[value] = variable_from_proto(value, import_scope=scope)
                graph.add_to_collection(key, made[value])
        elif key == GraphKeys.SAVERS and kind == "bytes_list":
            from .meta_graph_pb import SaverDef

            for value in values:
                graph.add_to_collection(key, Saver.from_proto(SaverDef.FromString(value), scope))
        elif kind == "node_list":
            for value in values:
                graph.add_to_collection(
                    key, graph.as_graph_element(prepend_name_scope(value, scope))
                )
        elif kind == "int64_list":
            for value in values:
                graph.add_to_collection(key, int(value))
        elif kind == "float_list":
            for value in values:
                graph.add_to_collection(key, float(value))
        elif kind == "bytes_list":
            for value in values:
                graph.add_to_collection(key, value)
        else:
            _logging.warning("Collection %s of kind %s is not supported; skipped.", key, kind)
