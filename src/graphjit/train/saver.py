"""``tf.train.Saver``: save and restore variables to checkpoint files.

On-disk format (graphjit's own, pickle-free; documented in ``docs/training.md``): a checkpoint
``<prefix>`` is two files,

- ``<prefix>.data-00000-of-00001``: the variable values, raw little-endian bytes in C order,
  one after another (strings: per element an 8-byte little-endian length, then the bytes);
- ``<prefix>.index``: UTF-8 JSON ``{"format": "graphjit-checkpoint", "version": 1,
  "data_size": n, "data_crc32": c, "tensors": {key: {"dtype", "shape", "offset",
  "length"}}}`` where ``key`` is the variable's op name and ``data_crc32`` the zlib CRC-32 of
  the data file.

Every file (both checkpoint files and the ``checkpoint`` state file, in TF's text format) is
written to a temporary name and renamed into place, data first, index second, state file
last, so an interrupted save never damages an earlier checkpoint and ``latest_checkpoint``
only ever names complete ones.
"""

from __future__ import annotations

import json
import os
import time
import zlib

import numpy as np

from .. import dtypes as _dt
from ..errors import DataLossError, InvalidArgumentError, NotFoundError
from ..graph import GraphKeys, get_default_graph
from ..ops.array import constant, placeholder
from ..ops.control import group, no_op
from ..variables import Variable, global_variables
from .checkpoint_management import (
    _STATE_FILE,
    CheckpointState,
    get_checkpoint_state,
    latest_checkpoint,
    update_checkpoint_state,
)

__all__ = [
    "CheckpointState",
    "Saver",
    "checkpoint_exists",
    "get_checkpoint_state",
    "latest_checkpoint",
    "list_variables",
    "load_variable",
    "update_checkpoint_state",
]

_FORMAT = "graphjit-checkpoint"
_DATA_SUFFIX = ".data-00000-of-00001"
_INDEX_SUFFIX = ".index"


# ---------------------------------------------------------------------- file helpers
def _write_chunk(f, chunk: bytes) -> None:
    """Write one chunk (a seam for tests that simulate a crash mid-write)."""
    f.write(chunk)


def _atomic_write(path: str, chunks) -> None:
    """Write ``chunks`` to ``path`` through a temporary file and an atomic rename."""
    tmp = f"{path}.tmp{os.getpid()}_{time.monotonic_ns()}"
    try:
        with open(tmp, "wb") as f:
            for chunk in chunks:
                _write_chunk(f, chunk)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise


def _encode(arr: np.ndarray) -> bytes:
    if arr.dtype == object:
        parts = []
        for item in arr.reshape(-1):
            b = item if isinstance(item, bytes) else str(item).encode()
            parts.append(len(b).to_bytes(8, "little"))
            parts.append(b)
        return b"".join(parts)
    return np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()


def _decode(buf: bytes, dtype: str, shape: list) -> np.ndarray:
    if dtype == "string":
        out, pos = [], 0
        while pos < len(buf):
            n = int.from_bytes(buf[pos : pos + 8], "little")
            out.append(bytes(buf[pos + 8 : pos + 8 + n]))
            pos += 8 + n
        return np.array(out, dtype=object).reshape(shape)
    np_dtype = np.dtype(_dt.as_dtype(dtype).as_numpy_dtype).newbyteorder("<")
    return np.frombuffer(buf, dtype=np_dtype).reshape(shape).astype(np_dtype.newbyteorder("="))


def checkpoint_exists(checkpoint_prefix: str) -> bool:
    """Whether a checkpoint with this prefix exists (``tf.train.checkpoint_exists``)."""
    return os.path.isfile(checkpoint_prefix + _INDEX_SUFFIX)


def _read_checkpoint(prefix: str) -> dict:
    """Read a whole checkpoint into ``{key: ndarray}`` (``DataLossError`` when corrupt)."""
    try:
        with open(prefix + _INDEX_SUFFIX, "rb") as f:
            index = json.loads(f.read().decode("utf-8"))
        with open(prefix + _DATA_SUFFIX, "rb") as f:
            data = f.read()
    except FileNotFoundError as e:
        raise NotFoundError(
            None, None, f"Failed to find any matching files for {prefix}: {e}"
        ) from None
    except (ValueError, UnicodeDecodeError) as e:
        raise DataLossError(None, None, f"Unable to read checkpoint index {prefix}: {e}") from None
    if index.get("format") != _FORMAT:
        raise DataLossError(None, None, f"{prefix}.index is not a graphjit checkpoint index")
    if len(data) != index["data_size"] or zlib.crc32(data) != index["data_crc32"]:
        raise DataLossError(
            None, None, f"Checksum or size mismatch in {prefix}{_DATA_SUFFIX}: the file is corrupt"
        )
    out = {}
    for key, e in index["tensors"].items():
        buf = data[e["offset"] : e["offset"] + e["length"]]
        out[key] = _decode(buf, e["dtype"], e["shape"])
    return out


def _write_checkpoint(prefix: str, values: dict) -> None:
    tensors, chunks, offset = {}, [], 0
    for key, arr in values.items():
        arr = np.asarray(arr)
        b = _encode(arr)
        dt = "string" if arr.dtype == object else _dt.as_dtype(arr.dtype).name
        tensors[key] = {"dtype": dt, "shape": list(arr.shape), "offset": offset, "length": len(b)}
        chunks.append(b)
        offset += len(b)
    crc = 0
    for b in chunks:
        crc = zlib.crc32(b, crc)
    index = {
        "format": _FORMAT,
        "version": 1,
        "data_file": os.path.basename(prefix) + _DATA_SUFFIX,
        "data_size": offset,
        "data_crc32": crc,
        "tensors": tensors,
    }
    _atomic_write(prefix + _DATA_SUFFIX, chunks)
    _atomic_write(prefix + _INDEX_SUFFIX, [json.dumps(index, indent=1).encode("utf-8")])


def list_variables(ckpt_dir_or_file) -> list:
    """``[(key, shape), ...]`` of a checkpoint, sorted by key (``tf.train.list_variables``)."""
    prefix = _resolve(ckpt_dir_or_file)
    with open(prefix + _INDEX_SUFFIX, "rb") as f:
        index = json.loads(f.read().decode("utf-8"))
    return sorted((k, list(e["shape"])) for k, e in index["tensors"].items())


def load_variable(ckpt_dir_or_file, name) -> np.ndarray:
    """One saved value by key (``tf.train.load_variable``)."""
    prefix = _resolve(ckpt_dir_or_file)
    values = _read_checkpoint(prefix)
    if name.endswith(":0"):
        name = name[:-2]
    if name not in values:
        raise NotFoundError(None, None, f"Key {name} not found in checkpoint")
    return values[name]


def _resolve(ckpt_dir_or_file) -> str:
    if os.path.isdir(ckpt_dir_or_file):
        found = latest_checkpoint(ckpt_dir_or_file)
        if found is None:
            raise ValueError(
                f"Couldn't find 'checkpoint' file or checkpoints in given directory "
                f"{ckpt_dir_or_file}"
            )
        return found
    return ckpt_dir_or_file


# ---------------------------------------------------------------------- Saver
class Saver:
    """Save and restore variables (``tf.train.Saver``).

    Parameters
    ----------
    var_list : list or dict, optional
        Variables to save (keyed by their op names), or ``{checkpoint key: variable}``.
        Default: all global variables (and the ``SAVEABLE_OBJECTS`` collection).
    max_to_keep : int
        How many recent checkpoints to keep; older ones are deleted. ``None``/0 keeps all.
    keep_checkpoint_every_n_hours : float
        Additionally keep one checkpoint per this many hours.
    allow_empty : bool
        Allow a Saver with nothing to save (otherwise ``ValueError``).

    Examples
    --------
    >>> import os, tempfile
    >>> import graphjit.compat.v1 as tf
    >>> d = tempfile.mkdtemp()
    >>> with tf.Graph().as_default():
    ...     v = tf.Variable([1.0, 2.0], name="v")
    ...     saver = tf.train.Saver()
    ...     with tf.Session() as sess:
    ...         _ = sess.run(v.initializer)
    ...         path = saver.save(sess, os.path.join(d, "model"), global_step=3)
    >>> os.path.basename(path), tf.train.latest_checkpoint(d) == path
    ('model-3', True)
    """

    def __init__(
        self,
        var_list=None,
        reshape=False,
        sharded=False,
        max_to_keep=5,
        keep_checkpoint_every_n_hours=10000.0,
        name=None,
        restore_sequentially=False,
        saver_def=None,
        builder=None,
        defer_build=False,
        allow_empty=False,
        write_version=2,
        pad_step_number=False,
        save_relative_paths=False,
        filename=None,
    ):
        if saver_def is not None:  # TF: the SaverDef's retention settings win
            max_to_keep = saver_def.max_to_keep
            keep_checkpoint_every_n_hours = saver_def.keep_checkpoint_every_n_hours
        self._max_to_keep = max_to_keep
        self._keep_every_secs = keep_checkpoint_every_n_hours * 3600.0
        self._next_preserved = time.time() + self._keep_every_secs
        self._pad_step_number = pad_step_number
        self._save_relative_paths = save_relative_paths
        self._filename = filename
        self._last_checkpoints: list[tuple[str, float]] = []
        self._allow_empty = allow_empty
        self._name = name or "save"
        self._var_list = var_list
        self._write_version = write_version
        self._saver_def = None  # set by build()
        self._built = False
        if saver_def is not None:
            from .meta_graph import saver_parts_from_def

            self._saver_def, self._vars, self._feeds, self._restore_op = saver_parts_from_def(
                saver_def, name
            )
            self._graph = self._restore_op.graph
            self._built = True
        elif not defer_build:
            self.build()

    def build(self) -> None:
        """Collect the variables and add the restore ops to the graph (once)."""
        if self._built:
            return
        var_list = self._var_list
        if var_list is None:
            var_list = global_variables() + get_default_graph().get_collection("saveable_objects")
        self._vars = _var_map(var_list)
        if not self._vars and not self._allow_empty:
            raise ValueError("No variables to save")
        graph = next(iter(self._vars.values())).graph if self._vars else get_default_graph()
        self._graph = graph
        self._feeds = {}
        with graph.as_default(), graph.control_dependencies(None):
            with graph.name_scope(self._name) as scope:
                # What the SaverDef names (see meta_graph_pb.SaverDef): TF's filename tensor
                # name, and the checkpoint keys in restore order, so that a Saver rebuilt
                # from an imported .meta maps keys to variables as this one does.
                filename = constant(self._filename or "model", name="Const")
                keys = np.array(list(self._vars), dtype=object).reshape(len(self._vars))
                keys_t = constant(keys, dtype=_dt.string, name="tensor_names")
                assigns = []
                for i, (key, var) in enumerate(self._vars.items()):
                    ph = placeholder(var.dtype, var.shape, name=f"restore_{i}")
                    self._feeds[key] = ph
                    assigns.append(var.assign(ph, name=f"Assign_{i}" if i else "Assign").op)
                if assigns:
                    self._restore_op = group(*assigns, name="restore_all")
                else:
                    self._restore_op = no_op(name="restore_all")
                self._scope = scope
        from .meta_graph_pb import SaverDef

        self._saver_def = SaverDef(
            filename_tensor_name=filename.name,
            save_tensor_name=keys_t.name,
            restore_op_name=self._restore_op.name,
            max_to_keep=self._max_to_keep or 0,
            keep_checkpoint_every_n_hours=self._keep_every_secs / 3600.0,
            version=self._write_version,
        )
        graph.add_to_collection(GraphKeys.SAVERS, self)
        self._built = True

    # ------------------------------------------------------------------ bookkeeping
    @property
    def last_checkpoints(self) -> list[str]:
        """Prefixes of the checkpoints not yet deleted, oldest first."""
        return [p for p, _ in self._last_checkpoints]

    def set_last_checkpoints(self, last_checkpoints) -> None:
        self._last_checkpoints = [(p, None) for p in last_checkpoints]

    def set_last_checkpoints_with_time(self, last_checkpoints_with_time) -> None:
        self._last_checkpoints = list(last_checkpoints_with_time)

    def recover_last_checkpoints(self, checkpoint_paths) -> None:
        """Adopt existing checkpoints (e.g. after a restart) so ``max_to_keep`` covers them."""
        now = time.time()
        self._last_checkpoints = [(p, now) for p in checkpoint_paths if checkpoint_exists(p)]

    def _record(self, path: str) -> None:
        self._last_checkpoints = [(p, t) for p, t in self._last_checkpoints if p != path]
        self._last_checkpoints.append((path, time.time()))
        if not self._max_to_keep:
            return
        while len(self._last_checkpoints) > self._max_to_keep:
            old, stamp = self._last_checkpoints.pop(0)
            if stamp is not None and stamp > self._next_preserved:
                self._next_preserved += self._keep_every_secs  # kept for good
                continue
            for suffix in (_INDEX_SUFFIX, _DATA_SUFFIX, ".meta"):
                try:
                    os.remove(old + suffix)
                except OSError:
                    pass

    # ------------------------------------------------------------------ save / restore
    def save(
        self,
        sess,
        save_path,
        global_step=None,
        latest_filename=None,
        meta_graph_suffix="meta",
        write_meta_graph=True,
        write_state=True,
        strip_default_attrs=False,
        save_debug_info=False,
    ):
        """Save the variables' values in ``sess``; returns the checkpoint prefix.

        The prefix is ``save_path`` or, with ``global_step`` (an int or a step variable or
        tensor evaluated in ``sess``), ``"<save_path>-<step>"``. With ``write_meta_graph`` the
        graph is written to ``"<prefix>.meta"`` (a MetaGraphDef, see ``import_meta_graph``).
        The ``checkpoint`` state file next to it is updated unless ``write_state=False``.
        """
        if latest_filename is None:
            latest_filename = _STATE_FILE
        elif os.path.split(latest_filename)[0]:
            raise ValueError("'latest_filename' must not contain path components")
        save_path = os.fspath(save_path)
        if global_step is not None:
            if not isinstance(global_step, (int, np.integer)):
                global_step = sess.run(global_step)
            fmt = "%s-%08d" if self._pad_step_number else "%s-%d"
            prefix = fmt % (save_path, int(global_step))
        else:
            prefix = save_path
        if os.path.basename(save_path) == latest_filename:
            raise ValueError(
                f"'latest_filename' collides with 'save_path': '{latest_filename}' and "
                f"'{save_path}'"
            )
        parent = os.path.dirname(save_path)
        if parent and not os.path.isdir(parent):
            raise ValueError(f"Parent directory of {save_path} doesn't exist, can't save.")
        keys = list(self._vars)
        values = sess.run([self._vars[k] for k in keys]) if keys else []
        _write_checkpoint(prefix, dict(zip(keys, values)))
        if write_meta_graph:  # before the state file, which must name complete checkpoints
            self._write_meta_graph(f"{prefix}.{meta_graph_suffix}")
        self._record(prefix)
        if write_state:
            update_checkpoint_state(
                parent,
                prefix,
                self.last_checkpoints,
                latest_filename,
                [t for _, t in self._last_checkpoints if t is not None],
                self._next_preserved - self._keep_every_secs,
            )
        return prefix

    def restore(self, sess, save_path) -> None:
        """Load every saved variable from checkpoint ``save_path`` into ``sess``.

        All checks happen before any variable is written: a key missing from the checkpoint
        raises ``NotFoundError``, a shape or dtype mismatch ``InvalidArgumentError`` naming the
        variable, and in either case no variable changes.
        """
        if save_path is None:
            raise ValueError("Can't load save_path when it is None.")
        save_path = os.fspath(save_path)
        if not checkpoint_exists(save_path):
            raise ValueError(f"The passed save_path is not a valid checkpoint: {save_path}")
        values = _read_checkpoint(save_path)
        feed = {}
        for key, var in self._vars.items():
            if key not in values:
                raise NotFoundError(
                    None,
                    None,
                    "Restoring from checkpoint failed. This is most likely due to a Variable "
                    "name or other graph key that is missing from the checkpoint. Please "
                    "ensure that you have not altered the graph expected based on the "
                    f"checkpoint. Original error:\n\nKey {key} not found in checkpoint",
                )
            arr = values[key]
            want = var.dtype
            got = "string" if arr.dtype == object else _dt.as_dtype(arr.dtype).name
            if got != want.name:
                raise InvalidArgumentError(
                    None,
                    None,
                    f"Restoring from checkpoint failed. tensor_name = {key}; expected dtype "
                    f"{want.name} does not equal original dtype {got}",
                )
            if not var.shape.is_compatible_with(arr.shape):
                raise InvalidArgumentError(
                    None,
                    None,
                    "Restoring from checkpoint failed. This is most likely due to a mismatch "
                    "between the current graph and the graph from the checkpoint. Please "
                    "ensure that you have not altered the graph expected based on the "
                    "checkpoint. Original error:\n\nAssign requires shapes of both tensors to "
                    f"match. lhs shape= {var.shape.as_list()} rhs shape= {list(arr.shape)} "
                    f"(variable {var.op.name})",
                )
            feed[self._feeds[key]] = arr
        sess.run(self._restore_op, feed_dict=feed)

    # ------------------------------------------------------------------ SaverDef / .meta
    @property
    def saver_def(self):
        """The ``SaverDef`` message (names explained on ``meta_graph_pb.SaverDef``)."""
        return self._saver_def

    def as_saver_def(self):
        """The ``SaverDef`` message of this Saver."""
        return self._saver_def

    def to_proto(self, export_scope=None):
        """The SaverDef with ``export_scope/`` stripped from its names."""
        from .meta_graph import strip_name_scope
        from .meta_graph_pb import SaverDef

        sd = SaverDef()
        sd.CopyFrom(self._saver_def)
        for f in ("filename_tensor_name", "save_tensor_name", "restore_op_name"):
            setattr(sd, f, strip_name_scope(getattr(sd, f), export_scope))
        return sd

    def _write_meta_graph(self, path: str) -> None:
        try:
            self.export_meta_graph(path)
        except ValueError as e:  # a graph TF's formats cannot express: keep the checkpoint
            from . import logging as _logging

            _logging.warning("Not writing %s: %s", path, e)

    @staticmethod
    def from_proto(saver_def, import_scope=None):
        """A Saver over the (imported) graph elements that ``saver_def`` names."""
        return Saver(saver_def=saver_def, name=import_scope)

    def export_meta_graph(
        self,
        filename=None,
        collection_list=None,
        as_text=False,
        export_scope=None,
        clear_devices=False,
        clear_extraneous_savers=False,
        strip_default_attrs=False,
        save_debug_info=False,
    ):
        """The graph with this Saver's SaverDef as a MetaGraphDef (``export_meta_graph``)."""
        from .meta_graph import export_meta_graph

        return export_meta_graph(
            filename=filename,
            saver_def=self._saver_def,
            collection_list=collection_list,
            as_text=as_text,
            graph=self._graph,
            export_scope=export_scope,
            clear_devices=clear_devices,
            clear_extraneous_savers=clear_extraneous_savers,
        )


def _var_map(var_list) -> dict:
    """``{checkpoint key: Variable}`` in a stable order; ``ValueError`` on duplicate names."""
    if isinstance(var_list, dict):
        items = list(var_list.items())
    else:
        items = []
        for v in var_list:
            if isinstance(v, (list, tuple)):
                items.extend((x.op.name, x) for x in v)
            else:
                items.append((v.op.name, v))
    out = {}
    for key, v in items:
        if not isinstance(v, Variable):
            raise TypeError(f"Variable to save is not a Variable: {v}")
        if key in out:
            if out[key] is v:
                continue
            raise ValueError(f"At least two variables have the same name: {key}")
        out[key] = v
    return out
