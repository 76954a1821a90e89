"""TensorFlow's MetaGraphDef-family protocol messages, wire-compatible with TensorFlow.

Field names and numbers follow ``tensorflow/core/protobuf/{meta_graph,saver}.proto`` and
``tensorflow/core/framework/variable.proto`` (checked against TF 2.21's descriptors), so a
``.meta`` file written here parses with ``meta_graph_pb2.MetaGraphDef.FromString``. Messages
graphjit does not use (``SignatureDef``, ``AssetFileDef``, ``SavedObjectGraph``) are opaque:
their bytes are kept and written back unchanged.
"""

from __future__ import annotations

from ..graph_def import GraphDef, OpList
from ..protowire import EnumType, Field, Message

__all__ = [
    "Any",
    "AssetFileDef",
    "CollectionDef",
    "MetaGraphDef",
    "SaveSliceInfoDef",
    "SavedObjectGraph",
    "SaverDef",
    "SignatureDef",
    "VariableDef",
]


class Any(Message):
    """``google.protobuf.Any``: a packed message and its type URL."""

    FIELDS = (Field(1, "type_url", "string"), Field(2, "value", "bytes"))


class SaverDef(Message):
    """``tensorflow.SaverDef``: how to save/restore: tensor/op names and retention.

    For graphjit's Saver (``train/saver.py``): ``filename_tensor_name`` names
    ``<scope>/Const:0``, a string constant kept for TF compatibility (graphjit passes file
    names in Python), ``save_tensor_name`` names ``<scope>/tensor_names:0``, the checkpoint
    keys in restore order, and ``restore_op_name`` names ``<scope>/restore_all``, which
    assigns variable ``i`` from placeholder ``<scope>/restore_<i>``.
    """

    CheckpointFormatVersion = EnumType("CheckpointFormatVersion", {"LEGACY": 0, "V1": 1, "V2": 2})
    ENUMS = (CheckpointFormatVersion,)
    FIELDS = (
        Field(1, "filename_tensor_name", "string"),
        Field(2, "save_tensor_name", "string"),
        Field(3, "restore_op_name", "string"),
        Field(4, "max_to_keep", "int32"),
        Field(5, "sharded", "bool"),
        Field(6, "keep_checkpoint_every_n_hours", "float"),
        Field(7, "version", "enum", enum=CheckpointFormatVersion),
    )


class SaveSliceInfoDef(Message):
    """``tensorflow.SaveSliceInfoDef``: the slice of a partitioned variable."""

    FIELDS = (
        Field(1, "full_name", "string"),
        Field(2, "full_shape", "int64", repeated=True),
        Field(3, "var_offset", "int64", repeated=True),
        Field(4, "var_shape", "int64", repeated=True),
    )


class VariableDef(Message):
    """``tensorflow.VariableDef``: the graph elements of one variable, by name."""

    FIELDS = (
        Field(1, "variable_name", "string"),
        Field(6, "initial_value_name", "string"),
        Field(2, "initializer_name", "string"),
        Field(3, "snapshot_name", "string"),
        Field(4, "save_slice_info_def", "message", msg=SaveSliceInfoDef),
        Field(5, "is_resource", "bool"),
        Field(7, "trainable", "bool"),
        Field(8, "synchronization", "enum"),
        Field(9, "aggregation", "enum"),
    )


class CollectionDef(Message):
    """``tensorflow.CollectionDef``: one graph collection, as names, bytes or numbers."""

    class NodeList(Message):
        """Tensor or op names."""

        FIELDS = (Field(1, "value", "string", repeated=True),)

    class BytesList(Message):
        """Strings, or serialized protos (VariableDef, SaverDef) for registered keys."""

        FIELDS = (Field(1, "value", "bytes", repeated=True),)

    class Int64List(Message):
        """Integers."""

        FIELDS = (Field(1, "value", "int64", repeated=True),)

    class FloatList(Message):
        """Floats."""

        FIELDS = (Field(1, "value", "float", repeated=True),)

    class AnyList(Message):
        """Packed messages."""

        FIELDS = (Field(1, "value", "message", repeated=True, msg=Any),)

    FIELDS = (
        Field(1, "node_list", "message", oneof="kind", msg=NodeList),
        Field(2, "bytes_list", "message", oneof="kind", msg=BytesList),
        Field(3, "int64_list", "message", oneof="kind", msg=Int64List),
        Field(4, "float_list", "message", oneof="kind", msg=FloatList),
        Field(5, "any_list", "message", oneof="kind", msg=AnyList),
    )


class SignatureDef(Message):
    """``tensorflow.SignatureDef``, opaque (SavedModel signatures)."""


class AssetFileDef(Message):
    """``tensorflow.AssetFileDef``, opaque."""


class SavedObjectGraph(Message):
    """``tensorflow.SavedObjectGraph``, opaque."""


class MetaGraphDef(Message):
    """``tensorflow.MetaGraphDef``: a graph with its saver and collections (``.meta`` file)."""

    class MetaInfoDef(Message):
        """Versions, tags and the (optional) op list of the graph."""

        FIELDS = (
            Field(1, "meta_graph_version", "string"),
            Field(2, "stripped_op_list", "message", msg=OpList),
            Field(3, "any_info", "message", msg=Any),
            Field(4, "tags", "string", repeated=True),
            Field(5, "tensorflow_version", "string"),
            Field(6, "tensorflow_git_version", "string"),
            Field(7, "stripped_default_attrs", "bool"),
            Field(8, "function_aliases", "map", value="string"),
        )

    FIELDS = (
        Field(1, "meta_info_def", "message", msg=MetaInfoDef),
        Field(2, "graph_def", "message", msg=GraphDef),
        Field(3, "saver_def", "message", msg=SaverDef),
        Field(4, "collection_def", "map", value="message", msg=CollectionDef),
        Field(5, "signature_def", "map", value="message", msg=SignatureDef),
        Field(6, "asset_file_def", "message", repeated=True, msg=AssetFileDef),
        Field(7, "object_graph_def", "message", msg=SavedObjectGraph),
    )
