"""Session support: the per-thread default-session stack, device records, run locking, tracing.

Split out of ``session.py`` (which holds the Session classes themselves).
"""

from __future__ import annotations

import threading
import time

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


# ------------------------------------------------------------------ run locking
# Ops that take the run context but only read session state.
_READ_ONLY_CTX_OPS = frozenset({"IsVariableInitialized", "GetSessionTensor"})


def _writes_state(program) -> bool:
    """Whether running ``program`` may write session state (variables, handles)."""
    return any(
        n.opdef is not None
        and n.opdef.uses_ctx
        and n.opdef.stateful
        and n.op_type not in _READ_ONLY_CTX_OPS
        for n in program.nodes
    )


class _NoLock:
    __slots__ = ()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


_NO_LOCK = _NoLock()


class _TimedLock:
    """Acquire ``lock`` before ``deadline`` (a ``perf_counter`` time) or time out."""

    __slots__ = ("deadline", "lock")

    def __init__(self, lock, deadline):
        self.lock = lock
        self.deadline = deadline

    def __enter__(self):
        from .errors import DeadlineExceededError

        if not self.lock.acquire(timeout=max(0.0, self.deadline - time.perf_counter())):
            raise DeadlineExceededError(
                None, None, "Timed out waiting for another run writing session state."
            )
        return self

    def __exit__(self, *exc):
        self.lock.release()
        return False


# ------------------------------------------------------------------ tracing
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
