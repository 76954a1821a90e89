"""TensorBoard's event-file messages, wire-compatible with TensorFlow.

Field names and numbers follow ``tensorflow/core/util/event.proto`` (``Event``, ``LogMessage``,
``SessionLog``, ``TaggedRunMetadata``) and ``tensorflow/core/framework/summary.proto``
(``Summary``, ``Summary.Value``, ``HistogramProto``, ``SummaryMetadata``), declared with
:mod:`graphjit.protowire`, so the bytes are read by TensorBoard and TensorFlow.
"""

from __future__ import annotations

from graphjit.graph_def import TensorProto
from graphjit.protowire import EnumType, Field, Message

__all__ = [
    "Event",
    "HistogramProto",
    "LogMessage",
    "SessionLog",
    "Summary",
    "SummaryDescription",
    "SummaryMetadata",
    "TaggedRunMetadata",
]


class HistogramProto(Message):
    """``tensorflow.HistogramProto``: bucket ``i`` counts values in
    ``(bucket_limit[i-1], bucket_limit[i]]`` (``-DBL_MAX`` below the first)."""

    FIELDS = (
        Field(1, "min", "double"),
        Field(2, "max", "double"),
        Field(3, "num", "double"),
        Field(4, "sum", "double"),
        Field(5, "sum_squares", "double"),
        Field(6, "bucket_limit", "double", repeated=True),
        Field(7, "bucket", "double", repeated=True),
    )


DataClass = EnumType(
    "DataClass",
    {
        "DATA_CLASS_UNKNOWN": 0,
        "DATA_CLASS_SCALAR": 1,
        "DATA_CLASS_TENSOR": 2,
        "DATA_CLASS_BLOB_SEQUENCE": 3,
    },
)


class SummaryMetadata(Message):
    """``tensorflow.SummaryMetadata``: which plugin reads a summary value."""

    class PluginData(Message):
        FIELDS = (Field(1, "plugin_name", "string"), Field(2, "content", "bytes"))

    FIELDS = (
        Field(1, "plugin_data", "message", msg=PluginData),
        Field(2, "display_name", "string"),
        Field(3, "summary_description", "string"),
        Field(4, "data_class", "enum", enum=DataClass),
    )


class SummaryDescription(Message):
    FIELDS = (Field(1, "type_hint", "string"),)


class Summary(Message):
    """``tensorflow.Summary``: a list of tagged values (scalars, histograms, tensors ...)."""

    class Image(Message):
        FIELDS = (
            Field(1, "height", "int32"),
            Field(2, "width", "int32"),
            Field(3, "colorspace", "int32"),
            Field(4, "encoded_image_string", "bytes"),
        )

    class Audio(Message):
        FIELDS = (
            Field(1, "sample_rate", "float"),
            Field(2, "num_channels", "int64"),
            Field(3, "length_frames", "int64"),
            Field(4, "encoded_audio_string", "bytes"),
            Field(5, "content_type", "string"),
        )

    class Value(Message):
        FIELDS = (
            Field(7, "node_name", "string"),
            Field(1, "tag", "string"),
            Field(9, "metadata", "message", msg=SummaryMetadata),
            Field(2, "simple_value", "float", oneof="value"),
            Field(3, "obsolete_old_style_histogram", "bytes", oneof="value"),
            Field(4, "image", "message", msg=lambda: Summary.Image, oneof="value"),
            Field(5, "histo", "message", msg=HistogramProto, oneof="value"),
            Field(6, "audio", "message", msg=lambda: Summary.Audio, oneof="value"),
            Field(8, "tensor", "message", msg=TensorProto, oneof="value"),
        )

    FIELDS = (Field(1, "value", "message", repeated=True, msg=Value),)


class LogMessage(Message):
    Level = EnumType(
        "Level", {"UNKNOWN": 0, "DEBUGGING": 10, "INFO": 20, "WARN": 30, "ERROR": 40, "FATAL": 50}
    )
    FIELDS = (Field(1, "level", "enum", enum=Level), Field(2, "message", "string"))


class SessionLog(Message):
    SessionStatus = EnumType(
        "SessionStatus", {"STATUS_UNSPECIFIED": 0, "START": 1, "STOP": 2, "CHECKPOINT": 3}
    )
    FIELDS = (
        Field(1, "status", "enum", enum=SessionStatus),
        Field(2, "checkpoint_path", "string"),
        Field(3, "msg", "string"),
    )


class TaggedRunMetadata(Message):
    FIELDS = (Field(1, "tag", "string"), Field(2, "run_metadata", "bytes"))


class Event(Message):
    """``tensorflow.Event``: one record of an event file."""

    FIELDS = (
        Field(1, "wall_time", "double"),
        Field(2, "step", "int64"),
        Field(3, "file_version", "string", oneof="what"),
        Field(4, "graph_def", "bytes", oneof="what"),
        Field(5, "summary", "message", msg=Summary, oneof="what"),
        Field(6, "log_message", "message", msg=LogMessage, oneof="what"),
        Field(7, "session_log", "message", msg=SessionLog, oneof="what"),
        Field(8, "tagged_run_metadata", "message", msg=TaggedRunMetadata, oneof="what"),
        Field(9, "meta_graph_def", "bytes", oneof="what"),
    )
