"""``tf.summary`` (TF1): summary ops and ``FileWriter`` for TensorBoard event files.

Summary ops output a serialized ``Summary`` protocol buffer (a scalar string tensor), exactly
like TF's ``ScalarSummary``/``HistogramSummary``/``TensorSummaryV2``/``MergeSummary`` kernels,
so ``writer.add_summary(sess.run(merged), step)`` works unchanged. They are fallback ops by
design: building protobuf bytes is not numeric work for the compiler.
"""

from __future__ import annotations

import logging
import os
import socket
import time

import numpy as np

from .. import dtypes as _dt
from ..errors import InvalidArgumentError
from ..graph import GraphKeys, convert_to_tensor, get_default_graph
from ..graph_def import make_tensor_proto
from ..ops.array import constant
from ..ops.common import make1
from ..ops.registry import OPAQUE, defop
from ..shapes import TensorShape
from .records import encode_record, read_records
from .summary_pb import Event, HistogramProto, SessionLog, Summary, SummaryMetadata

_log = logging.getLogger("graphjit.summary")

__all__ = [
    "FileWriter",
    "histogram",
    "merge",
    "merge_all",
    "scalar",
    "summary_iterator",
    "text",
]

_WHY = "builds protocol-buffer bytes, not numeric work"


def _string_scalar(inputs, attrs):
    return [(_dt.string, TensorShape([]))]


def _tag(t) -> str:
    t = t.item() if isinstance(t, np.ndarray) else t
    return t.decode() if isinstance(t, bytes) else str(t)


def _out(summary: Summary) -> np.ndarray:
    return np.array(summary.SerializeToString(), dtype=object)


# ---------------------------------------------------------------------- kernels
def _scalar_kernel(tags, values, **attrs):
    tags, values = np.asarray(tags), np.asarray(values)
    if tags.shape != values.shape:
        raise InvalidArgumentError(
            None,
            None,
            f"tags and values are not the same shape: {list(tags.shape)} != {list(values.shape)}",
        )
    s = Summary()
    for tag, v in zip(tags.reshape(-1), values.reshape(-1)):
        s.value.add(tag=_tag(tag), simple_value=float(v))
    return _out(s)


def _default_buckets() -> np.ndarray:
    # TF's histogram.cc: limits grow by 10% from 1e-12 to 1e20, mirrored, with 0 and +-DBL_MAX
    pos = []
    v = 1.0e-12
    while v < 1.0e20:
        pos.append(v)
        v *= 1.1
    dbl_max = np.finfo(np.float64).max
    pos.append(dbl_max)
    neg = [-x for x in reversed(pos)]
    return np.array([*neg, 0.0, *pos])


_BUCKETS = _default_buckets()


def histogram_proto(values) -> HistogramProto:
    """A ``HistogramProto`` of ``values`` with TF's default buckets (empty runs collapsed)."""
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    counts = np.bincount(np.searchsorted(_BUCKETS, x, side="right"), minlength=len(_BUCKETS))
    counts = counts[: len(_BUCKETS)].astype(np.float64)
    h = HistogramProto(
        min=float(x.min()) if x.size else float(_BUCKETS[-1]),
        max=float(x.max()) if x.size else float(-_BUCKETS[-1]),
        num=float(x.size),
        sum=float(x.sum()),
        sum_squares=float(np.dot(x, x)),
    )
    limits, buckets = [], []
    i, n = 0, len(counts)
    while i < n:
        end, count = _BUCKETS[i], counts[i]
        i += 1
        if count <= 0.0:
            while i < n and counts[i] <= 0.0:
                end, count = _BUCKETS[i], counts[i]
                i += 1
        limits.append(float(end))
        buckets.append(float(count))
    h.bucket_limit.extend(limits)
    h.bucket.extend(buckets)
    return h


def _histogram_kernel(tag, values, **attrs):
    x = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        kind = "Nan" if np.isnan(x).any() else "Infinity"
        raise InvalidArgumentError(None, None, f"{kind} in summary histogram for: {_tag(tag)}")
    s = Summary()
    s.value.add(tag=_tag(tag), histo=histogram_proto(x))
    return _out(s)


def _tensor_summary_kernel(tag, tensor, serialized_summary_metadata, **attrs):
    meta = SummaryMetadata.FromString(_as_bytes(serialized_summary_metadata))
    arr = np.asarray(tensor)
    if arr.dtype == object:
        arr = np.array([_as_bytes(b) for b in arr.reshape(-1)], dtype=object).reshape(arr.shape)
    s = Summary()
    s.value.add(tag=_tag(tag), metadata=meta, tensor=make_tensor_proto(arr))
    return _out(s)


def _as_bytes(b) -> bytes:
    b = b.item() if isinstance(b, np.ndarray) else b
    return b if isinstance(b, bytes) else str(b).encode()


def _merge_kernel(*inputs, **attrs):
    out = Summary()
    seen = set()
    for buf in inputs:
        for item in np.asarray(buf, dtype=object).reshape(-1):
            s = Summary.FromString(_as_bytes(item))
            for v in s.value:
                if v.tag in seen:
                    raise InvalidArgumentError(
                        None, None, f"Duplicate tag {v.tag} found in summary inputs "
                    )
                seen.add(v.tag)
                out.value.append(v)
    return _out(out)


_KW = {"fallback": _WHY}
defop("ScalarSummary", OPAQUE, _string_scalar, _scalar_kernel, **_KW)
defop("HistogramSummary", OPAQUE, _string_scalar, _histogram_kernel, **_KW)
defop("TensorSummaryV2", OPAQUE, _string_scalar, _tensor_summary_kernel, **_KW)
defop("MergeSummary", OPAQUE, _string_scalar, _merge_kernel, **_KW)


# ---------------------------------------------------------------------- summary API
class _SummaryScope:
    """TF's ``summary_scope``: a name scope whose name (``family/name``) becomes the tag."""

    def __init__(self, name, family):
        self.base = name if family is None else f"{family}/{name}"
        self.family = family
        self._cm = None

    def __enter__(self):
        g = get_default_graph()
        self._cm = g.name_scope(_clean(self.base))
        scope = self._cm.__enter__()
        tag = scope.rstrip("/")
        if self.family is not None:
            tag = f"{self.family}/{tag}"
        return tag, scope

    def __exit__(self, *exc):
        return self._cm.__exit__(*exc)


def _clean(name: str) -> str:
    import re

    return re.sub(r"[^-/\w\.]", "_", name).lstrip("/_") or "summary"


def _collect(op_out, collections):
    g = op_out.graph
    for key in collections if collections is not None else [GraphKeys.SUMMARIES]:
        g.add_to_collection(key, op_out)
    return op_out


def scalar(name, tensor, collections=None, family=None):
    """A summary op with one scalar value tagged ``name`` (``tf.summary.scalar``).

    >>> import graphjit.compat.v1 as tf
    >>> with tf.Graph().as_default():
    ...     s = tf.summary.scalar("loss", tf.constant(0.5))
    ...     out = tf.Session().run(s)
    >>> tf.Summary.FromString(out).value[0].simple_value
    0.5
    """
    with _SummaryScope(name, family) as (tag, scope):
        t = convert_to_tensor(tensor)
        if t.shape.ndims not in (None, 0):
            raise ValueError(f"tf.summary.scalar expects a scalar tensor, got shape {t.shape}")
        out = make1("ScalarSummary", [constant(tag, name="tags"), t], {"T": t.dtype}, scope)
    return _collect(out, collections)


def histogram(name, values, collections=None, family=None):
    """A summary op with a histogram of ``values`` (``tf.summary.histogram``)."""
    with _SummaryScope(name, family) as (tag, scope):
        t = convert_to_tensor(values)
        out = make1("HistogramSummary", [constant(tag, name="tag"), t], {"T": t.dtype}, scope)
    return _collect(out, collections)


def text(name, tensor, collections=None):
    """A summary op with a string tensor for TensorBoard's text plugin (``tf.summary.text``)."""
    meta = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="text"))
    with _SummaryScope(name, None) as (tag, scope):
        t = convert_to_tensor(tensor)
        if t.dtype is not _dt.string:
            raise ValueError(f"Expected tensor {t.name} to have dtype string, got {t.dtype.name}")
        m = constant(np.array(meta.SerializeToString(), dtype=object), dtype=_dt.string)
        out = make1("TensorSummaryV2", [constant(tag, name="tag"), t, m], {"T": t.dtype}, scope)
    return _collect(out, collections)


def merge(inputs, collections=None, name=None):
    """One summary op holding the values of all ``inputs`` (``tf.summary.merge``)."""
    inputs = [convert_to_tensor(i) for i in inputs]
    g = inputs[0].graph if inputs else get_default_graph()
    with g.as_default():
        out = make1("MergeSummary", inputs, {"N": len(inputs)}, name or "Merge/MergeSummary")
    for key in collections or []:
        g.add_to_collection(key, out)
    return out


def merge_all(key=GraphKeys.SUMMARIES, scope=None, name=None):
    """Merge every summary op in collection ``key``; ``None`` when there is none."""
    ops = get_default_graph().get_collection(key, scope)
    if not ops:
        return None
    return merge(ops, name=name)


# ---------------------------------------------------------------------- event files
class FileWriter:
    """Write ``Event`` records to an event file in ``logdir`` (``tf.summary.FileWriter``).

    Parameters
    ----------
    logdir : str
        Directory for the event file (created when missing).
    graph : Graph, optional
        Written as a ``graph_def`` event, for TensorBoard's graph tab.
    flush_secs : float
        Flush buffered events at least this often (checked when events are added).
    filename_suffix : str, optional
        Appended to the event file name.
    """

    def __init__(
        self,
        logdir,
        graph=None,
        max_queue=10,
        flush_secs=120,
        graph_def=None,
        filename_suffix=None,
        session=None,
    ):
        self._logdir = os.fspath(logdir)
        os.makedirs(self._logdir, exist_ok=True)
        stamp = f"{int(time.time()):010d}"
        name = f"events.out.tfevents.{stamp}.{socket.gethostname()}{filename_suffix or ''}"
        self._path = os.path.join(self._logdir, name)
        self._file = open(self._path, "ab")
        self._flush_secs = flush_secs
        self._last_flush = time.time()
        self._seen_tags: set[str] = set()
        self._closed = False
        self.add_event(Event(wall_time=time.time(), file_version="brain.Event:2"))
        self.flush()
        if graph is not None or graph_def is not None:
            self.add_graph(graph, graph_def=graph_def)

    def get_logdir(self) -> str:
        return self._logdir

    @property
    def event_file_path(self) -> str:
        """Path of the event file being written."""
        return self._path

    def add_event(self, event) -> None:
        """Append one ``Event`` record."""
        if self._closed:
            return  # TF silently drops events written after close()
        self._file.write(encode_record(event.SerializeToString()))
        if time.time() - self._last_flush >= self._flush_secs:
            self.flush()

    def add_summary(self, summary, global_step=None) -> None:
        """Add a ``Summary`` (message or the bytes a summary op returned) at ``global_step``."""
        if isinstance(summary, (bytes, np.ndarray)):
            summary = Summary.FromString(_as_bytes(summary))
        else:
            copy = Summary()
            copy.CopyFrom(summary)
            summary = copy
        for v in summary.value:
            if not v.HasField("metadata"):
                continue
            if v.tag in self._seen_tags:
                v.ClearField("metadata")  # TensorBoard only needs it once per tag
            else:
                self._seen_tags.add(v.tag)
        self.add_event(Event(wall_time=time.time(), step=int(global_step or 0), summary=summary))

    def add_graph(self, graph, global_step=None, graph_def=None) -> None:
        """Add the graph (``GraphDef`` bytes) for TensorBoard's graph tab."""
        if graph is not None and graph_def is not None:
            raise ValueError("Please pass only graph, or graph_def (deprecated), but not both.")
        if graph_def is not None:
            gd = graph_def
        else:
            try:
                gd = graph.as_graph_def(add_shapes=True)
            except ValueError as e:  # e.g. a While with a built gradient has no GraphDef form
                _log.warning("FileWriter: graph not written for TensorBoard: %s", e)
                return
        data = gd if isinstance(gd, bytes) else gd.SerializeToString()
        self.add_event(Event(wall_time=time.time(), step=int(global_step or 0), graph_def=data))

    def add_session_log(self, session_log, global_step=None) -> None:
        self.add_event(
            Event(wall_time=time.time(), step=int(global_step or 0), session_log=session_log)
        )

    def flush(self) -> None:
        """Write buffered events to disk."""
        if not self._closed:
            self._file.flush()
            self._last_flush = time.time()

    def close(self) -> None:
        """Flush and close the event file (later events are dropped until :meth:`reopen`)."""
        if not self._closed:
            self.flush()
            self._file.close()
            self._closed = True

    def reopen(self) -> None:
        """Reopen after :meth:`close`, appending to the same event file."""
        if self._closed:
            self._file = open(self._path, "ab")
            self._closed = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def summary_iterator(path):
    """Yield the ``Event`` messages of an event file (``tf.train.summary_iterator``)."""
    for data in read_records(path):
        yield Event.FromString(data)


_ = SessionLog
