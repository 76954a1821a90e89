"""``Session`` and ``InteractiveSession``: the TF1 execution contract.

A session binds a Graph, owns variable values and session handles, and runs pruned Programs
(see ``program.py``) through an executor (``interp.py`` now, compiled chains later). Every
public behaviour follows ``docs/session.md`` (TF 2.21's ``tf.compat.v1`` behaviour).
"""

from __future__ import annotations

import itertools
import logging
import random
import threading
import time
import weakref
from collections.abc import Mapping

import numpy as np

from . import dtypes as _dt
from .errors import CancelledError, NotFoundError, OpError
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
from .sparse import SparseTensor

_log = logging.getLogger("graphjit")
_session_ids = itertools.count(1)
CPU_DEVICE = "/job:localhost/replica:0/task:0/device:CPU:{}"


# ------------------------------------------------------------------ default session stack
class _SessionStack(threading.local):
    def __init__(self):
        self.stack: list = []


_session_stack = _SessionStack()


def get_default_session():
    """The innermost default session of the calling thread, or ``None``."""
    stack = _session_stack.stack
    return stack[-1] if stack else None


class _SessionController:
    __slots__ = ("enforce", "sess")

    def __init__(self, sess, enforce=True):
        self.sess = sess
        self.enforce = enforce

    def __enter__(self):
        _session_stack.stack.append(self.sess)
        return self.sess

    def __exit__(self, *exc):
        stack = _session_stack.stack
        if stack and stack[-1] is self.sess:
            stack.pop()
        elif self.enforce:
            raise AssertionError(
                f"Nesting violated for default stack of {type(self.sess)!r} objects"
            )
        else:
            _remove_from_stack(self.sess)
        return False


def _remove_from_stack(sess):
    stack = _session_stack.stack
    for i in range(len(stack) - 1, -1, -1):
        if stack[i] is sess:
            del stack[i]
            return


class _DeviceAttributes:
    """One entry of ``Session.list_devices()``."""

    __slots__ = ("_incarnation", "_memory", "_name", "_type")

    def __init__(self, name, device_type, memory_limit_bytes, incarnation):
        self._name = name
        self._type = device_type
        self._memory = memory_limit_bytes
        self._incarnation = incarnation

    @property
    def name(self) -> str:
        return self._name

    @property
    def device_type(self) -> str:
        return self._type

    @property
    def memory_limit_bytes(self) -> int:
        return self._memory

    memory_limit = memory_limit_bytes  # the name the API page uses

    @property
    def incarnation(self) -> int:
        return self._incarnation

    def __repr__(self):
        return (
            f"_DeviceAttributes({self._name}, {self._type}, {self._memory}, {self._incarnation})"
        )


# ------------------------------------------------------------------ BaseSession
class BaseSession:
    """Shared implementation of :class:`Session` and :class:`InteractiveSession`."""

    def __init__(self, target="", graph=None, config=None):
        from .config_pb import ConfigProto

        if graph is None:
            graph = get_default_graph()
        elif not isinstance(graph, Graph):
            raise TypeError(f"Argument `graph` must be a tf.Graph, but got {type(graph)}")
        if isinstance(target, ConfigProto):
            raise TypeError(
                "Argument `target` must be a string, got a ConfigProto. If you meant to pass "
                "a config, use Session(config=config)."
            )
        if target is not None and not isinstance(target, (str, bytes)):
            raise TypeError(f"Argument `target` must be a string, got {type(target)}")
        if config is None:
            config = ConfigProto()
        elif not isinstance(config, ConfigProto):
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
        self._config = config
        self._closed = False
        self._lock = threading.RLock()
        self._vars: dict[str, np.ndarray] = {}
        self._handles: dict[str, np.ndarray] = {}
        self._handle_ids = itertools.count()
        self._id = next(_session_ids)
        self._programs: dict = {}
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

    def close(self) -> None:
        """Free variable values and handles. Idempotent; later runs raise RuntimeError."""
        with self._lock:
            self._closed = True
            self._vars = {}
            self._handles = {}
            self._partial = {}
            self._programs = {}

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
        self._check_open()
        self._check_graph_not_empty()
        mapper = FetchMapper(self._graph, fetches)
        feeds = self._convert_feed_dict(feed_dict)
        values = self._run_elements(mapper.elements, feeds, options, run_metadata)
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
        timeout = (
            getattr(options, "timeout_in_ms", 0) if options is not None else 0
        ) or self._config.operation_timeout_in_ms
        try:
            program = self._program(tensors, targets, feed_list)
            deadline = time.perf_counter() + timeout / 1000.0 if timeout > 0 else None
            trace = [] if trace_level and run_metadata is not None else None
            ctx = RunContext(self, program, deadline, trace)
            outs = self._execute(program, [f[1] for f in feed_list], ctx)
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
        """Run a Program; the compiler replaces this with a cached kernel chain."""
        return run_program(program, feed_values, ctx)

    def _fetch_value(self, tensor, value):
        if tensor.op.type == "GetSessionHandle":
            from .ops.session_ops import TensorHandle

            h = value.item() if isinstance(value, np.ndarray) else value
            return TensorHandle(h, tensor.op.inputs[0].dtype, self)
        if value.ndim == 0:
            return value[()]
        return value

    # ------------------------------------------------------------ state
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

        Unlike TF, a call with a different number of positional arguments than
        ``feed_list`` has entries raises ``TypeError`` naming the expected count.
        """
        from .callable import make_session_callable

        return make_session_callable(self, fetches, feed_list, accept_options)

    # ------------------------------------------------------------ partial runs
    def partial_run_setup(self, fetches, feeds=None):
        """Declare every fetch and feed of a partial-run sequence; returns a handle."""
        from .partial_run import setup

        return setup(self, fetches, feeds)

    def partial_run(self, handle, fetches, feed_dict=None):
        """Continue a partial run: feed some declared feeds, fetch some declared fetches."""
        from .partial_run import step

        return step(self, handle, fetches, feed_dict)


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


def _fill_metadata(run_metadata, trace):
    run_metadata.Clear()
    if trace is None:
        return
    dev = run_metadata.step_stats.dev_stats.add()
    dev.device = CPU_DEVICE.format(0)
    for name, op_type, t0, t1 in trace:
        ns = dev.node_stats.add()
        ns.node_name = name
        start_ns = int(t0 * 1e9)
        ns.all_start_micros = start_ns // 1000
        ns.all_start_nanos = start_ns
        ns.op_end_rel_micros = int((t1 - t0) * 1e6)
        ns.all_end_rel_micros = ns.op_end_rel_micros
        ns.op_end_rel_nanos = int((t1 - t0) * 1e9)
        ns.all_end_rel_nanos = ns.op_end_rel_nanos
        ns.timeline_label = f"{name} = {op_type}()"


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
        if (
            exc_type is RuntimeError
            and "not re-entrant" in str(exc_value)
            and self._default_session_context is None
        ):
            return False
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
                _log.error(
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
