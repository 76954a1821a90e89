"""Peer loading: graphjit, numpy, numba and the optional TensorFlow, JAX, PyTensor.

Every optional peer is imported lazily and may be missing; a missing peer is
skipped with a printed note.  graphjit is always run: when
``graphjit.compat.v1`` cannot be imported, each of its rows is reported as
``unsupported`` instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ALL_PEERS = ("graphjit", "numpy", "numba", "tf", "jax", "pytensor")
#: Peers that run the TF1-style graph builders.
GRAPH_PEERS = ("graphjit", "tf")


def _load_graphjit() -> Any:
    import graphjit.compat.v1 as gtf
    from graphjit import config

    # Steady-state rows time compiled chains: the call that compiles waits for its chain
    # instead of the interpreter answering while a background thread compiles (W5 times
    # the default, background mode, in its own child processes).
    config.configure(compile_mode="sync")
    return gtf


def _load_tf() -> Any:
    import tensorflow as tf_root

    tf_root.get_logger().setLevel("ERROR")
    tf = tf_root.compat.v1
    tf.disable_eager_execution()
    return tf


def _load_jax() -> Any:
    import jax

    jax.config.update("jax_platforms", "cpu")
    import jax.numpy

    return jax


def _load_pytensor() -> Any:
    import pytensor
    import pytensor.tensor

    return pytensor


def _load_numba() -> Any:
    import numba

    return numba


def _load_numpy() -> Any:
    import numpy

    return numpy


class PeerUnavailable(RuntimeError):
    """Raised when a workload asks for a peer whose import failed."""


_LOADERS = {
    "graphjit": _load_graphjit,
    "numpy": _load_numpy,
    "numba": _load_numba,
    "tf": _load_tf,
    "jax": _load_jax,
    "pytensor": _load_pytensor,
}


@dataclass
class PeerSet:
    """The peers of one run.

    Attributes
    ----------
    requested : list of str
        Peers asked for, in display order.
    modules : dict
        Loaded module per available peer.
    errors : dict
        Import error per peer that could not be loaded.
    threads : int
        Threads per library (used for TensorFlow session configs).
    """

    requested: list[str]
    modules: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    threads: int = 1

    def enabled(self, peer: str) -> bool:
        """Whether rows are produced for ``peer`` (graphjit: whenever requested)."""
        if peer not in self.requested:
            return False
        return peer == "graphjit" or peer in self.modules

    def graph_peers(self) -> list[str]:
        """Enabled peers that take a TF1-style module (graphjit and TensorFlow)."""
        return [p for p in GRAPH_PEERS if self.enabled(p)]

    def module(self, peer: str) -> Any:
        """Return the loaded module for ``peer`` or raise with the import error."""
        if peer in self.modules:
            return self.modules[peer]
        what = "graphjit.compat.v1" if peer == "graphjit" else peer
        raise PeerUnavailable(f"{what} not importable ({self.errors.get(peer, 'not loaded')})")

    def session(self, peer: str, graph: Any) -> Any:
        """Open a session on ``graph`` for a graph peer, single-threaded for TF."""
        tf = self.module(peer)
        if peer == "tf":
            cfg = tf.ConfigProto(
                intra_op_parallelism_threads=self.threads,
                inter_op_parallelism_threads=self.threads,
            )
            return tf.Session(graph=graph, config=cfg)
        return tf.Session(graph=graph)


def load_peers(requested: list[str], threads: int = 1, log: Any = print) -> PeerSet:
    """Import the requested peers, recording failures instead of raising.

    Parameters
    ----------
    requested : list of str
        Peer names from :data:`ALL_PEERS`.
    threads : int
        Threads per library.
    log : callable
        Receives a note for every peer that is skipped.

    Returns
    -------
    PeerSet
    """
    unknown = [p for p in requested if p not in ALL_PEERS]
    if unknown:
        raise ValueError(f"unknown peers {unknown}; choose from {', '.join(ALL_PEERS)}")
    peers = PeerSet(requested=[p for p in ALL_PEERS if p in requested], threads=threads)
    for name in peers.requested:
        try:
            peers.modules[name] = _LOADERS[name]()
        except Exception as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            peers.errors[name] = f"{type(exc).__name__}: {first}"[:120]
            if name == "graphjit":
                log(
                    f"note: graphjit.compat.v1 not importable ({peers.errors[name]}); "
                    "its rows will read 'unsupported'"
                )
            else:
                log(f"note: peer {name} skipped ({peers.errors[name]})")
    return peers
