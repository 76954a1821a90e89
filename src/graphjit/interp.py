"""The reference interpreter: runs a :class:`~graphjit.program.Program` op by op with numpy.

It is the tier-0 executor for one-off runs, the fallback for ops with no compiled lowering and
the oracle compiled code is tested against. State changes are staged in the run context and
committed only when the whole run succeeds, so a failing run leaves every variable unchanged.
"""

from __future__ import annotations

import re
import time

import numpy as np

from .errors import (
    DeadlineExceededError,
    FailedPreconditionError,
    InvalidArgumentError,
    OpError,
    UnknownError,
)


class RunContext:
    """Per-run view of session state: staged variable writes, handles, tracing, deadline."""

    __slots__ = (
        "_handles_del",
        "_handles_new",
        "_node_names",
        "_rng",
        "deadline",
        "names",
        "patches",
        "program",
        "protected",
        "session",
        "specs",
        "staged",
        "trace",
    )

    def __init__(self, session, program, deadline=None, trace=None):
        self.session = session
        self.program = program
        self.names = program.var_names
        self.specs = program.var_specs
        self.staged: dict[str, np.ndarray] = {}
        # name -> [(ufunc or None, flat indices, rows)]: scatter updates of a committed
        # variable, applied in place at commit (O(rows), not a copy of the whole variable)
        self.patches: dict[str, list] = {}
        self.deadline = deadline
        self.trace = trace
        self._handles_new: dict[str, np.ndarray] = {}
        self._handles_del: list[str] = []
        self._rng: dict[str, tuple] = {}
        self._node_names: dict[int, str] | None = None

    def child(self, program) -> RunContext:
        """A context for a control-flow sub-program (cond branch, loop body) of this run.

        It shares this run's staged writes, handles and random streams (so a branch sees
        earlier writes and its own are committed with the run), but indexes variables by the
        sub-program's ``var_names``.
        """
        sub = RunContext(self.session, program, self.deadline, None)
        sub.staged = self.staged
        sub.patches = self.patches
        sub._handles_new = self._handles_new
        sub._handles_del = self._handles_del
        sub._rng = self._rng
        return sub

    # ------------------------------------------------------------ variables
    def is_initialized(self, var: int) -> bool:
        name = self.names[var]
        return name in self.staged or self.session._vars.get(name) is not None

    def var_shape(self, var: int):
        return self.specs[var][1]

    def read_var(self, var: int, node=None, check=True) -> np.ndarray:
        name = self.names[var]
        if self.patches and name in self.patches:  # a read after a scatter of this run
            self.staged[name] = _patched(
                np.array(self.session._vars[name]), self.patches.pop(name)
            )
        value = self.staged.get(name) if self.staged else None
        if value is None:
            value = self.session._vars.get(name)
        if value is None:
            raise FailedPreconditionError(
                None,
                None,
                f"Attempting to use uninitialized value {name}. Run the variable's "
                "initializer (e.g. tf.global_variables_initializer()) first; in TF1, this "
                "error also means the variable is uninitialized.",
            )
        return value

    def write_var(self, var: int, value: np.ndarray) -> None:
        name = self.names[var]
        self.patches.pop(name, None)  # superseded by the whole new value
        self.staged[name] = value

    def patch_var(self, var: int, fn, flat, rows) -> bool:
        """Stage a scatter of ``rows`` at ``flat`` (``fn``: a ufunc, ``None``: assign).

        Only for a variable with no whole staged value in this run (``False`` otherwise:
        the caller stages a whole new value). Validation is the caller's: a patch is applied
        at commit, when nothing may fail any more.
        """
        name = self.names[var]
        if name in self.staged or self.session._vars.get(name) is None:
            return False
        self.patches.setdefault(name, []).append((fn, flat, rows))
        return True

    # ------------------------------------------------------------ session handles
    def store_handle(self, value) -> str:
        h = self.session._new_handle_name()
        self._handles_new[h] = np.array(value, copy=True)
        return h

    def load_handle(self, h: str):
        if h in self._handles_new:
            return self._handles_new[h]
        return self.session._handle_value(h)

    def delete_handle(self, h: str) -> None:
        self.session._handle_value(h)  # raises for unknown handles
        self._handles_del.append(h)

    # ------------------------------------------------------------ random streams
    def rng_step(self, node, make_key) -> tuple:
        """``(key, step)`` of a random op's stream for this run, advancing it (staged).

        Each session keeps one counter per random op (by name): fresh sessions repeat a
        seeded sequence and consecutive runs draw new numbers. ``make_key()`` gives the
        stream's key the first time the session runs the op.
        """
        if self._node_names is None:
            pairs = zip(self.program.nodes, self.program.ops)
            self._node_names = {id(n): op.name for n, op in pairs}
        name = self._node_names[id(node)]
        state = self._rng.get(name)
        if state is None:
            state = getattr(self.session, "_rng_streams", {}).get(name) or (make_key(), 0)
        self._rng[name] = (state[0], state[1] + 1)
        return state

    def commit(self) -> None:
        """Publish staged writes (called once, after the whole run succeeded)."""
        for name, patches in self.patches.items():
            base = self.session._vars[name]
            if type(base) is np.ndarray and base.flags.writeable and base.flags.c_contiguous:
                _patched(base, patches)  # in place, like a compiled in-place update
            else:
                self.staged[name] = _patched(np.array(base), patches)
        self.patches.clear()
        self.session._commit(self.staged, self._handles_new, self._handles_del)
        if self._rng:
            streams = self.session.__dict__.setdefault("_rng_streams", {})
            streams.update(self._rng)


def _patched(value: np.ndarray, patches) -> np.ndarray:
    """``value`` with scatter ``patches`` applied in order (in place); returns ``value``."""
    with np.errstate(all="ignore"):
        for fn, flat, rows in patches:
            if fn is None:
                value[flat] = rows
            else:
                fn.at(value, flat, rows)
    return value


def run_program(program, feed_values, ctx: RunContext, keep_all=False):
    """Execute ``program`` with numpy kernels.

    Returns the fetched values (one per ``program.fetch_slots``); with ``keep_all`` returns
    the whole slot list instead (partial runs keep intermediate values).
    """
    vals: list = [None] * program.num_slots
    protected = [False] * program.num_slots
    for s, v in zip(program.feed_slots, feed_values):
        vals[s] = v
        protected[s] = True
    ref = dict(program.ref_slots)
    trace = ctx.trace
    deadline = ctx.deadline
    release = None if keep_all else _releases(program)
    for i, (node, op) in enumerate(zip(program.nodes, program.ops)):
        if deadline is not None and time.perf_counter() > deadline:
            raise DeadlineExceededError(
                op.node_def,
                op,
                f"Timed out waiting for step to finish (deadline exceeded before node {op.name})",
            )
        t0 = time.perf_counter() if trace is not None else 0.0
        try:
            args = []
            prot_in = False
            edge = node.opdef.edge_inputs
            edge = len(node.inputs) if edge is None else edge(node.attrs)
            for k, s in enumerate(node.inputs):
                if s in ref:
                    # (a variable listed only as a gradient edge is not read: see OpDef)
                    args.append(ctx.read_var(ref[s], node) if k < edge else None)
                    prot_in = True
                else:
                    args.append(vals[s])
                    prot_in = prot_in or protected[s]
            if node.opdef.uses_ctx:
                out = node.opdef.numpy(ctx, node, *args, **node.attrs)
            else:
                out = node.opdef.numpy(*args, **node.attrs)
        except OpError as e:
            raise _attach(e, op) from None
        except (
            ValueError,
            TypeError,
            IndexError,
            ZeroDivisionError,
            FloatingPointError,
            OverflowError,
            MemoryError,
        ) as e:
            raise InvalidArgumentError(
                op.node_def, op, f"{_tf_message(e)}\n\t [[{{{{node {op.name}}}}}]]"
            ) from e
        if trace is not None:
            trace.append((op.name, op.type, t0, time.perf_counter()))
        if len(node.outputs) == 1:
            out = (out,)
        alias = node.opdef.uses_ctx or node.opdef.kind == "source"
        for s, v in zip(node.outputs, out):
            if not isinstance(v, np.ndarray):
                v = np.asarray(v)
            vals[s] = v
            protected[s] = alias or (prot_in and (v.base is not None or any(v is a for a in args)))
        if release is not None:
            for s in release[i]:  # last read: the memory goes back to malloc for later outputs
                vals[s] = None
    if keep_all:
        return vals, protected
    out = []
    for s in program.fetch_slots:
        if s in ref:
            try:
                out.append(ctx.read_var(ref[s]).copy())
            except OpError as e:
                raise _attach(e, program.slot_tensors[s].op) from None
        else:
            v = vals[s]
            out.append(v.copy() if protected[s] else v)
    return out


_RELEASES: dict = {}  # id(program) -> (program, table); at most 64, keeps those alive


def _releases(program) -> tuple:
    """Per node, the slots whose value no later node reads and no fetch returns.

    Dropping them as the run goes lets malloc hand their memory to later outputs: a cold
    first run of a 12-op chain over 4 MB arrays otherwise faults in 12 fresh arrays.
    """
    hit = _RELEASES.get(id(program))
    if hit is not None and hit[0] is program:
        return hit[1]
    keep = set(program.fetch_slots) | {s for s, _ in program.ref_slots}
    last: dict = {}
    for i, node in enumerate(program.nodes):
        for s in node.inputs:
            last[s] = i
    table = [[] for _ in program.nodes]
    for s, i in last.items():
        if s not in keep:
            table[i].append(s)
    table = tuple(tuple(t) for t in table)
    if len(_RELEASES) >= 64:
        _RELEASES.clear()
    _RELEASES[id(program)] = (program, table)
    return table


_BROADCAST = re.compile(
    r"operands could not be broadcast together with shapes \(([\d,]*)\) \(([\d,]*)\)"
)


def _tf_message(e: Exception) -> str:
    """TF's wording for numpy's binary broadcast error (``Incompatible shapes: [2,3] vs.
    [4]``); any other message as it is."""
    m = _BROADCAST.match(str(e))
    if m is None:
        return str(e)
    a, b = (g.rstrip(",") for g in m.groups())
    return f"Incompatible shapes: [{a}] vs. [{b}]"


def _attach(e: OpError, op) -> OpError:
    """Fill in ``op``/``node_def`` and the ``[[{{node x}}]]`` tag on an error from a kernel."""
    if e.op is not None:
        return e
    msg = e.message
    if "[[{{node" not in msg:
        msg = f"{msg}\n\t [[{{{{node {op.name}}}}}]]"
    try:
        return type(e)(op.node_def, op, msg)
    except TypeError:
        return UnknownError(op.node_def, op, msg)
