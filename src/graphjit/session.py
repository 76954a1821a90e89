"""``Session`` and ``InteractiveSession``: the TF1 execution contract.

A session binds a Graph, owns variable values and session handles, and runs pruned Programs
(see ``program.py``) through an executor (``interp.py`` now, compiled chains later). Every
public behaviour follows ``docs/session.md`` (TF 2.21's ``tf.compat.v1`` behaviour).
"""

from __future__ import annotations

import itertools
import random
import sys
import threading
import time
import weakref
from collections.abc import Mapping

import numpy as np

from . import dtypes as _dt
from . import run_memo as _run_memo
from .errors import CancelledError, DeadlineExceededError, NotFoundError, OpError
from .fetch import FetchMapper
from .graph import (
    Graph,
    Operation,
    Tensor,
    _default_graph_stack,
    _push_default_graph,
    _remove_default_graph,
    get_default_graph,
)
from .interp import RunContext, run_program
from .program import prune
from .session_feed import convert_feeds
from .session_support import (
    _NO_LOCK,
    CPU_DEVICE,
    _DeviceAttributes,
    _fill_metadata,
    _remove_from_stack,
    _session_stack,
    _SessionController,
    _TimedLock,
    _writes_state,
    get_default_session,
)
from .sparse import SparseTensor

_session_ids = itertools.count(1)
_MISS = _run_memo.MISS


# ------------------------------------------------------------------ BaseSession
class BaseSession:
    """Shared implementation of :class:`Session` and :class:`InteractiveSession`."""

    def __init__(self, target="", graph=None, config=None):
        # A ConfigProto can only exist once config_pb was imported: a session without one
        # does not import it (a few ms of a cold start); ``_config`` builds the default.
        pb = sys.modules.get(f"{__package__}.config_pb")
        if graph is None:
            graph = get_default_graph()
        elif not isinstance(graph, Graph):
            raise TypeError(f"Argument `graph` must be a tf.Graph, but got {type(graph)}")
        if pb is not None and isinstance(target, pb.ConfigProto):
            raise TypeError(
                "Argument `target` must be a string, got a ConfigProto. If you meant to pass "
                "a config, use Session(config=config)."
            )
        if target is not None and not isinstance(target, (str, bytes)):
            raise TypeError(f"Argument `target` must be a string, got {type(target)}")
        if config is not None and (pb is None or not isinstance(config, pb.ConfigProto)):
            raise TypeError(f"config must be a tf.ConfigProto, but got {type(config)}")
        if isinstance(target, str):
            target = target.encode("utf-8")
        if target not in (b"", None):
            raise NotFoundError(
                None,
                None,
                f"No session factory registered for the given session options: {{target: "
                f'"{target.decode()}" config: ...}} Registered factories are {{DIRECT_SESSION}}'
                ". graphjit runs in-process only: use target=''.",
            )
        self._graph = graph
        self._target = target
        self._config_pb = config  # None: the default ConfigProto, built when first read
        self._closed = False
        self._armed = weakref.WeakSet()  # make_callable fast paths that close() disarms
        self._lock = threading.RLock()  # guards close() and the commit of staged state
        # Runs that write session state (assign, assign_add, ...) hold this for their whole
        # execute + commit, so read-modify-write updates from concurrent runs never interleave
        # and no update is lost. Pure runs (no state writes) take no lock and run concurrently.
        self._write_lock = threading.RLock()
        self._writes: dict[int, tuple] = {}  # id(program) -> (program, writes state?)
        self._vars: dict[str, np.ndarray] = {}
        self._handles: dict[str, np.ndarray] = {}
        self._handle_ids = itertools.count()
        self._id = next(_session_ids)
        self._programs: dict = {}
        self._run_memo: dict = {}  # run_memo.key(...) -> RunMemo
        self._run_fast: dict = {}  # id(fetched Tensor) -> generated run (run_memo._fast_run)
        self._partial = {}
        self._incarnation = random.getrandbits(63)
        self._default_session_context = None
        self._default_graph_context = None

    # ------------------------------------------------------------ attributes
    @property
    def graph(self) -> Graph:
        """The graph this session runs (fixed at construction)."""
        return self._graph

    @property
    def graph_def(self):
        """A fresh ``GraphDef`` of the graph each time it is read."""
        return self._graph.as_graph_def(add_shapes=self._config.graph_options.infer_shapes)

    @property
    def sess_str(self):
        """The target as bytes (``b''`` in-process), or ``None``."""
        return self._target

    def as_default(self):
        """A context manager making this the default session of the calling thread.

        It neither closes the session nor changes the default graph.
        """
        return _SessionController(self)

    def list_devices(self) -> list:
        """The devices of this session (CPUs; ``device_count={'CPU': n}`` gives n)."""
        if self._closed:
            raise CancelledError(None, None, "Session has been closed.")
        n = int(self._config.device_count.get("CPU", 1)) or 1
        return [
            _DeviceAttributes(CPU_DEVICE.format(i), "CPU", 268435456, self._incarnation + i)
            for i in range(n)
        ]

    @property
    def _config(self):
        """The session's ConfigProto (the default one is built on first use)."""
        if self._config_pb is None:
            from .config_pb import ConfigProto

            self._config_pb = ConfigProto()
        return self._config_pb

    def close(self) -> None:
        """Free variable values and handles. Idempotent; later runs raise RuntimeError."""
        with self._lock:
            self._closed = True
            if self._armed:
                from .fastcall import disarm

                for fc in list(self._armed):
                    disarm(fc)
            self._armed.clear()
            self._vars = {}
            self._handles = {}
            self._partial = {}
            self._programs = {}
            self._run_memo = {}
            self._run_fast = {}

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def _check_open(self):
        if self._closed:
            raise RuntimeError("Attempted to use a closed Session.")

    def _check_graph_not_empty(self):
        if self._graph.version == 0:
            raise RuntimeError(
                "The Session graph is empty. Add operations to the graph before calling run()."
            )

    # ------------------------------------------------------------ run
    def run(self, fetches, feed_dict=None, options=None, run_metadata=None):
        """Run the ops and evaluate the tensors in ``fetches``.

        Parameters
        ----------
        fetches : graph element or nested structure
            Tensors, Operations, names (``"x:0"`` a tensor, ``"x"`` an op), Variables,
            SparseTensors, in lists, tuples, namedtuples, dicts (any Mapping) at any depth.
        feed_dict : Mapping, optional
            Tensor (or name, SparseTensor, nested tuple of keys) -> value.
        options : RunOptions, optional
            ``trace_level`` fills ``run_metadata.step_stats``; ``timeout_in_ms`` sets a deadline.
        run_metadata : RunMetadata, optional
            Replaced (not merged) on every run.

        Returns
        -------
        The same structure as ``fetches`` with numpy values (numpy scalars for rank-0 tensors,
        ``None`` for Operations).

        Examples
        --------
        >>> import graphjit.compat.v1 as tf
        >>> g = tf.Graph()
        >>> with g.as_default():
        ...     x = tf.placeholder(tf.float32, [2])
        ...     y = x * 2.0
        >>> with tf.Session(graph=g) as sess:
        ...     sess.run({"y": y}, feed_dict={x: [1.0, 2.0]})
        {'y': array([2., 4.], dtype=float32)}
        """
        # level 0: one Tensor fetched with the same Tensor feed keys as a compiled earlier run
        fast = self._run_fast.get(id(fetches))
        if fast is not None and options is None and run_metadata is None:
            out = fast(self, feed_dict)
            if out is not _MISS:
                return out
        if self._closed:
            raise RuntimeError("Attempted to use a closed Session.")
        memo_key = None
        if options is None and run_metadata is None:
            # a repeated (fetch structure, feed keys) skips fetch mapping and feed conversion
            # (and the empty-graph check: a memo exists only for a graph that had ops)
            memo_key = _run_memo.key(fetches, feed_dict)
            if memo_key is not None:
                entry = self._run_memo.get(memo_key)
                if entry is not None:
                    out = entry.run(self, feed_dict)
                    if out is not _MISS:
                        return out
        self._check_graph_not_empty()
        mapper = FetchMapper(self._graph, fetches)
        feeds = self._convert_feed_dict(feed_dict)
        values = self._run_elements(mapper.elements, feeds, options, run_metadata)
        if memo_key is not None:
            _run_memo.remember(self, memo_key, fetches, feed_dict, mapper, feeds)
        return mapper.build(values)

    def _convert_feed_dict(self, feed_dict):
        if feed_dict is None:
            return {}
        if not isinstance(feed_dict, Mapping):
            if not feed_dict:
                return {}
            raise TypeError(
                "FlattenDictItems: 'dict' must be a dictionary or collection.Mapping type, "
                f"got {type(feed_dict).__name__}. Pass feed_dict as {{tensor: value}}."
            )
        return convert_feeds(self, feed_dict)

    def _run_elements(self, elements, feeds, options=None, run_metadata=None, wrap=True):
        """Compute ``elements`` (Tensors/Operations) with ``feeds`` {id: (tensor, value)}."""
        _check_options(options)
        results: list = [None] * len(elements)
        tensors, targets, positions = [], [], []
        for i, el in enumerate(elements):
            if isinstance(el, Operation):
                if not self._graph.is_fetchable(el):
                    _raise_unfetchable(el)
                targets.append(el)
                continue
            if not self._graph.is_fetchable(el):
                _raise_unfetchable(el)
            fed = feeds.get(id(el))
            if fed is not None:
                results[i] = fed[2]  # fetching a fed tensor returns the fed value itself
                continue
            tensors.append(el)
            positions.append(i)
        if not tensors and not targets:
            if run_metadata is not None:
                run_metadata.Clear()
            return results
        feed_list = list(feeds.values())
        trace_level = getattr(options, "trace_level", 0) if options is not None else 0
        timeout = (getattr(options, "timeout_in_ms", 0) if options is not None else 0) or (
            self._config_pb is not None and self._config_pb.operation_timeout_in_ms
        )
        try:
            program = self._program(tensors, targets, feed_list)
            deadline = time.perf_counter() + timeout / 1000.0 if timeout > 0 else None
            trace = [] if trace_level and run_metadata is not None else None
            ctx = RunContext(self, program, deadline, trace)
            with self._state_lock_for(program, deadline):
                outs = self._execute(program, [f[1] for f in feed_list], ctx)
                if deadline is not None and time.perf_counter() > deadline:
                    # The executor checks between ops; a step whose last op ran past the
                    # deadline must fail too (and commit nothing).
                    raise DeadlineExceededError(
                        None, None, f"Timed out waiting for the step to finish ({timeout} ms)"
                    )
                with self._lock:
                    self._check_open()
                    ctx.commit()
        except OpError as e:
            raise (_wrap_error(e) if wrap else e) from None
        if run_metadata is not None:
            _fill_metadata(run_metadata, trace)
        for i, el, v in zip(positions, tensors, outs):
            results[i] = self._fetch_value(el, v)
        return results

    def _program(self, tensors, targets, feed_list):
        key = (
            tuple(map(id, tensors)),
            tuple(map(id, targets)),
            tuple(id(f[0]) for f in feed_list),
        )
        prog = self._programs.get(key)
        if prog is None:
            prog = prune(tensors, [f[0] for f in feed_list], targets)
            self._programs[key] = prog
        return prog

    def _execute(self, program, feed_values, ctx):
        """Run a Program: the interpreter while a signature is cold, then a compiled chain."""
        from .executor import execute

        return execute(self, program, feed_values, ctx, interpret=run_program)

    def _fetch_value(self, tensor, value):
        if tensor.op.type == "GetSessionHandle":
            from .ops.session_ops import TensorHandle

            h = value.item() if isinstance(value, np.ndarray) else value
            return TensorHandle(h, tensor.op.inputs[0].dtype, self)
        if not isinstance(value, (np.ndarray, np.generic)):
            return value  # a compiled chain's rank-0 string fetch is already a Python bytes
        if value.ndim == 0:
            return value[()]
        return value

    # ------------------------------------------------------------ state
    def _state_lock_for(self, program, deadline=None):
        """The lock a run of ``program`` must hold: the write lock if it writes state.

        With a deadline, waiting for another writer counts against it
        (``DeadlineExceededError``).
        """
        entry = self._writes.get(id(program))
        if entry is None or entry[0] is not program:
            if len(self._writes) > 4096:  # programs not cached by _program (partial runs)
                self._writes.clear()
            entry = self._writes[id(program)] = (program, _writes_state(program))
        if not entry[1]:
            return _NO_LOCK
        if deadline is None:
            return self._write_lock
        return _TimedLock(self._write_lock, deadline)

    def _commit(self, staged, new_handles, deleted_handles):
        if staged:
            self._vars.update(staged)
        if new_handles:
            self._handles.update(new_handles)
        for h in deleted_handles:
            self._handles.pop(h, None)

    def _load_variable(self, var, value):
        self._check_open()
        arr = np.array(_dt.to_numpy(value, var.dtype), copy=True)
        if not var.shape.is_compatible_with(arr.shape):
            raise ValueError(
                f"Cannot load value of shape {arr.shape} into variable "
                f"{var.op.name} of shape {var.shape}"
            )
        with self._lock:
            self._vars[var.op.name] = arr

    def _new_handle_name(self) -> str:
        return f"GetSessionHandle;{next(self._handle_ids)};session_{self._id}"

    def _handle_value(self, h: str):
        from .errors import InvalidArgumentError

        self._check_open()
        try:
            return self._handles[h]
        except KeyError:
            raise InvalidArgumentError(
                None,
                None,
                f"The session handle {h!r} does not exist "
                "(it was deleted or belongs to another session).",
            ) from None

    def _delete_handle(self, h: str):
        self._check_open()
        self._handles.pop(h, None)

    # ------------------------------------------------------------ make_callable
    def make_callable(self, fetches, feed_list=None, accept_options=False):
        """Return a function running ``run(fetches, dict(zip(feed_list, args)))``.

        Parameters
        ----------
        fetches : graph element or nested structure
            As for :meth:`run`; the result has the same structure. With ``feed_list=None``
            it is validated now, otherwise at the first call (as TF does).
        feed_list : list or tuple, optional
            Feed keys (Tensors, names, SparseTensors, nested tuples); the i-th positional
            argument feeds the i-th key. ``None``: the callable takes no positional arguments.
        accept_options : bool
            With ``feed_list=None``, also accept ``options=`` / ``run_metadata=`` keywords
            (callables with a ``feed_list`` always forward them to ``run``).

        Returns
        -------
        callable
            After :meth:`close`, a ``feed_list`` callable raises ``RuntimeError`` and a
            no-feed callable raises ``tf.errors.CancelledError``.

        Raises
        ------
        TypeError
            ``feed_list`` is not a list or tuple. At call time: a call with a different
            number of positional arguments than ``feed_list`` has entries raises
            ``TypeError`` naming the expected count. This is a deliberate difference from TF,
            which zips silently (dropping surplus arguments, leaving missing keys unfed).

        Examples
        --------
        >>> import graphjit.compat.v1 as tf
        >>> g = tf.Graph()
        >>> with g.as_default():
        ...     x = tf.placeholder(tf.float32, [])
        ...     y = x * 2.0
        >>> sess = tf.Session(graph=g)
        >>> double = sess.make_callable(y, feed_list=[x])
        >>> print(double(3.0))
        6.0
        >>> double(1.0, 2.0)
        Traceback (most recent call last):
        ...
        TypeError: This callable takes 1 positional argument (one per feed_list entry), got 2
        >>> sess.close()
        """
        from .callable import make_session_callable

        return make_session_callable(self, fetches, feed_list, accept_options)

    # ------------------------------------------------------------ partial runs
    def partial_run_setup(self, fetches, feeds=None):
        """Declare every fetch and feed of a partial-run sequence; returns a handle (a str).

        Each declared feed may be fed once and each declared fetch fetched once over the
        sequence; the handle's state is freed after the last fetch or when the handle object
        is garbage collected.

        Examples
        --------
        >>> import graphjit.compat.v1 as tf
        >>> g = tf.Graph()
        >>> with g.as_default():
        ...     a = tf.placeholder(tf.float32, [])
        ...     b = tf.placeholder(tf.float32, [])
        ...     r1 = a + 1.0
        ...     r2 = r1 * b
        >>> sess = tf.Session(graph=g)
        >>> h = sess.partial_run_setup([r1, r2], [a, b])
        >>> print(sess.partial_run(h, r1, {a: 1.0}))
        2.0
        >>> print(sess.partial_run(h, r2, {b: 3.0}))
        6.0
        >>> sess.close()
        """
        from .partial_run import setup

        return setup(self, fetches, feeds)

    def partial_run(self, handle, fetches, feed_dict=None):
        """Continue a partial run: feed some declared feeds, fetch some declared fetches."""
        from .partial_run import step

        return step(self, handle, fetches, feed_dict)


def _check_options(options):
    """TF serialises ``options`` first: anything but a RunOptions-like proto fails there."""
    if options is not None and not hasattr(options, "SerializeToString"):
        raise AttributeError(
            f"'{type(options).__name__}' object has no attribute 'SerializeToString': "
            "`options` must be a tf.RunOptions proto."
        )


def _raise_unfetchable(el):
    from .errors import InaccessibleTensorError

    raise InaccessibleTensorError(f"Operation {el.name!r} has been marked as not fetchable.")


def _wrap_error(e: OpError) -> OpError:
    """Re-raise a runtime error as the same class with TF's 'Graph execution error' framing."""
    if e.op is None or e.message.startswith("Graph execution error"):
        return e
    msg = (
        f"Graph execution error:\n\nDetected at node '{e.op.name}' defined at (most recent "
        f"call last):\n  {e.op.traceback}\n{e.message}"
    )
    try:
        return type(e)(e.node_def, e.op, msg)
    except TypeError:
        return e


# ------------------------------------------------------------------ Session
class Session(BaseSession):
    """A class for running graph operations (``tf.Session``).

    >>> import graphjit.compat.v1 as tf
    >>> g = tf.Graph()
    >>> with g.as_default():
    ...     c = tf.constant(5.0) * tf.constant(6.0)
    >>> with tf.Session(graph=g) as sess:
    ...     print(sess.run(c))
    30.0
    """

    def __enter__(self):
        if self._default_graph_context is not None:
            raise RuntimeError(
                "Session context managers are not re-entrant. Use `Session.as_default()` if "
                "you want to enter a session multiple times."
            )
        self._default_graph_context = self._graph.as_default()
        self._default_session_context = self.as_default()
        self._default_graph_context.__enter__()
        try:
            return self._default_session_context.__enter__()
        except Exception:
            self._default_graph_context.__exit__(None, None, None)
            self._default_graph_context = None
            raise

    def __exit__(self, exc_type, exc_value, tb):
        try:
            if self._default_session_context is not None:
                self._default_session_context.__exit__(exc_type, exc_value, tb)
        finally:
            if self._default_graph_context is not None:
                self._default_graph_context.__exit__(exc_type, exc_value, tb)
            self._default_session_context = None
            self._default_graph_context = None
            self.close()
        return False

    @staticmethod
    def reset(target, containers=None, config=None):
        """Reset resource containers on a distributed target (nothing to do in-process)."""
        if target not in ("", b"", None):
            raise NotFoundError(None, None, f"No session factory registered for {target!r}")
        return None


# ------------------------------------------------------------------ InteractiveSession
_interactive_lock = threading.Lock()
_active_interactive = weakref.WeakSet()


class InteractiveSession(BaseSession):
    """A session that installs itself as the default session on construction.

    For shells and notebooks: ``c.eval()`` and ``op.run()`` then need no session argument.
    It is not a context manager; call :meth:`close` when done.

    >>> import graphjit.compat.v1 as tf
    >>> g = tf.Graph()
    >>> sess = tf.InteractiveSession(graph=g)
    >>> c = tf.constant(5.0) * tf.constant(6.0)
    >>> print(c.eval())
    30.0
    >>> sess.close()
    """

    def __init__(self, target="", graph=None, config=None):
        from .config_pb import ConfigProto

        if config is None:
            config = ConfigProto()
            config.gpu_options.allow_growth = True
        if isinstance(config, ConfigProto):
            config.graph_options.place_pruned_graph = True
        super().__init__(target, graph, config)
        with _interactive_lock:
            if any(not s._closed for s in _active_interactive):
                import logging  # only here: importing it costs ~3 ms at start-up

                logging.getLogger("graphjit").error(
                    "An interactive session is already active. This can cause out-of-memory "
                    "errors or some other unexpected errors (due to the unpredictable timing "
                    "of garbage collection) in some cases. You must explicitly call "
                    "`InteractiveSession.close()` to release resources held by the other "
                    "session(s). Please use `tf.Session()` if you intend to productionize."
                )
            _active_interactive.add(self)
        self._explicit_graph = graph is not None
        if self._explicit_graph:
            _push_default_graph(graph)
        _session_stack.stack.append(self)

    def close(self) -> None:
        """Close the session and uninstall it as the default session. Idempotent."""
        was_closed = self._closed
        super().close()
        if was_closed:
            return
        _remove_from_stack(self)
        if getattr(self, "_explicit_graph", False):
            _remove_default_graph(self._graph)
        _active_interactive.discard(self)


# ------------------------------------------------------------------ eval / Operation.run
def _session_for(element, session, what, verb):
    if session is None:
        session = get_default_session()
        if session is None:
            raise ValueError(
                f"Cannot {verb} using `{'eval' if what != 'operation' else 'run'}()`: No default "
                "session is registered. Use `with sess.as_default()` or pass an explicit "
                f"session to `{'eval' if what != 'operation' else 'run'}(session=sess)`"
            )
        if session.graph is not element.graph:
            raise ValueError(
                f"Cannot use the default session to {verb}: the {what}'s graph is different "
                f"from the session's graph. Pass an explicit session to "
                f"`{'eval' if what != 'operation' else 'run'}(session=sess)`."
            )
    elif session.graph is not element.graph:
        raise ValueError(
            f"Cannot use the given session to {verb}: the {what}'s graph is "
            "different from the session's graph."
        )
    return session


def _eval_in_session(element, feed_dict, session, what, verb):
    session = _session_for(element, session, what, verb)
    return session.run(element, feed_dict)


__all__ = [
    "BaseSession",
    "InteractiveSession",
    "Session",
    "SparseTensor",
    "Tensor",
    "_default_graph_stack",
    "get_default_session",
]
