"""The ``checkpoint`` state file: which checkpoints of a directory exist, newest first.

TF's text format of ``CheckpointState`` (``model_checkpoint_path: "..."``); written atomically
by ``update_checkpoint_state`` after the checkpoint files it names are complete.
"""

from __future__ import annotations

import os
import time

_STATE_FILE = "checkpoint"


class CheckpointState:
    """The ``checkpoint`` state file: the latest checkpoint and the ones still kept."""

    def __init__(
        self,
        model_checkpoint_path="",
        all_model_checkpoint_paths=(),
        all_model_checkpoint_timestamps=(),
        last_preserved_timestamp=0.0,
    ):
        self.model_checkpoint_path = model_checkpoint_path
        self.all_model_checkpoint_paths = list(all_model_checkpoint_paths)
        self.all_model_checkpoint_timestamps = list(all_model_checkpoint_timestamps)
        self.last_preserved_timestamp = last_preserved_timestamp

    def to_text(self) -> str:
        """TF's protobuf text format of ``CheckpointState``."""
        lines = [f"model_checkpoint_path: {_quote(self.model_checkpoint_path)}"]
        lines += [
            f"all_model_checkpoint_paths: {_quote(p)}" for p in self.all_model_checkpoint_paths
        ]
        lines += [
            f"all_model_checkpoint_timestamps: {t!r}" for t in self.all_model_checkpoint_timestamps
        ]
        lines.append(f"last_preserved_timestamp: {self.last_preserved_timestamp!r}")
        return "\n".join(lines) + "\n"

    @classmethod
    def from_text(cls, text: str) -> CheckpointState:
        st = cls()
        for line in text.splitlines():
            if ":" not in line:
                continue
            key, _, val = line.partition(":")
            key, val = key.strip(), val.strip()
            if key == "model_checkpoint_path":
                st.model_checkpoint_path = _unquote(val)
            elif key == "all_model_checkpoint_paths":
                st.all_model_checkpoint_paths.append(_unquote(val))
            elif key == "all_model_checkpoint_timestamps":
                st.all_model_checkpoint_timestamps.append(float(val))
            elif key == "last_preserved_timestamp":
                st.last_preserved_timestamp = float(val)
        return st

    def __repr__(self):
        return self.to_text()


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _unquote(s: str) -> str:
    if len(s) >= 2 and s[0] == s[-1] and s[0] in "\"'":
        s = s[1:-1]
    return s.encode("latin-1", "backslashreplace").decode("unicode_escape")


def get_checkpoint_state(checkpoint_dir, latest_filename=None):
    """Parse ``checkpoint_dir/checkpoint``; ``None`` when it does not exist.

    Relative paths in the file are taken relative to ``checkpoint_dir`` (as in TF).
    """
    path = os.path.join(checkpoint_dir, latest_filename or _STATE_FILE)
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        st = CheckpointState.from_text(f.read())
    if not st.model_checkpoint_path:
        raise ValueError(f"Invalid checkpoint state loaded from {checkpoint_dir}")

    def fix(p):
        return p if os.path.isabs(p) else os.path.join(checkpoint_dir, p)

    st.model_checkpoint_path = fix(st.model_checkpoint_path)
    st.all_model_checkpoint_paths = [fix(p) for p in st.all_model_checkpoint_paths]
    return st


def latest_checkpoint(checkpoint_dir, latest_filename=None):
    """The prefix of the newest checkpoint in ``checkpoint_dir``, or ``None``."""
    st = get_checkpoint_state(checkpoint_dir, latest_filename)
    from .saver import checkpoint_exists

    if st and st.model_checkpoint_path and checkpoint_exists(st.model_checkpoint_path):
        return st.model_checkpoint_path
    return None


def update_checkpoint_state(
    save_dir,
    model_checkpoint_path,
    all_model_checkpoint_paths=None,
    latest_filename=None,
    all_model_checkpoint_timestamps=None,
    last_preserved_timestamp=None,
):
    """Write the ``checkpoint`` state file atomically (``tf.train.update_checkpoint_state``)."""
    paths = list(all_model_checkpoint_paths or [])
    if not paths or paths[-1] != model_checkpoint_path:
        paths.append(model_checkpoint_path)

    def rel(p):
        # a path inside save_dir is stored relative to it, so the directory can be moved
        if os.path.isabs(p):
            return p
        return os.path.relpath(p, save_dir) if save_dir else p

    st = CheckpointState(
        rel(model_checkpoint_path),
        [rel(p) for p in paths],
        all_model_checkpoint_timestamps or [],
        last_preserved_timestamp if last_preserved_timestamp is not None else time.time(),
    )
    from .saver import _atomic_write  # tests patch its chunk writer to simulate crashes

    path = os.path.join(save_dir, latest_filename or _STATE_FILE)
    _atomic_write(path, [st.to_text().encode("utf-8")])
