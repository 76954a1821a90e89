"""TF control flow: ``cond``, ``case``, ``while_loop`` and ``identity_n``.

Functional ops, like TF2's ``If``/``While`` (what ``tf.compat.v1`` builds by default): the
branch and body functions run once, at graph construction, inside a *frame* that records the
ops they create. Those ops stay in the graph (so names like ``cond/then/add`` are visible) but
are *owned* by the control-flow op: they never become nodes of a main program, and fetching
one is a ``ValueError``. A frame's recorded ops become a :class:`SubGraph` attribute of the
``If``/``While`` node, pruned lazily into a sub-:class:`~graphjit.program.Program`. Outer
tensors used inside a branch are *captured*: they become explicit inputs of the node, fed to
the sub-program. Variables are not captured; the sub-program reads and writes them through
the run context like any program, so a branch that is not taken never touches them. (A
``While`` also lists the float variables its body reads as trailing inputs, only so that
gradients see the path; its kernel ignores their values. Gradients: ``grads_control.py``
for ``If``, ``grads_while.py`` for ``While``.)

Execution: the numpy kernel runs the taken branch (or the loop) with the interpreter in a
child run context (staged writes are shared, committed only if the whole run succeeds). The
compiler treats these ops as driver links (``uses_ctx``), so the code around them stays fused.

Stateful ops created in a branch run whenever the branch runs, even if no output depends on
them (TF2 control-flow semantics). Ops whose program has stateful nodes are ``If``/``While``,
the others ``StatelessIf``/``StatelessWhile``, as in TF.
"""

from __future__ import annotations

import contextlib

import numpy as np

from .. import dtypes as _dt
from ..errors import InvalidArgumentError
from ..graph import Operation, Tensor, convert_to_tensor, get_default_graph
from ..shapes import TensorShape, as_shape
from . import grads_while as _gw
from . import registry as R
from .nest import flatten, pack_as, same_structure

# ------------------------------------------------------------------ frames and ownership


class _Frame:
    """Ops created while one branch/body function runs, and the outer tensors they capture."""

    __slots__ = ("captures", "control", "ids", "op", "ops", "reads")

    def __init__(self):
        self.ops: list[Operation] = []
        self.ids: set[int] = set()
        self.captures: dict[int, Tensor] = {}  # insertion-ordered
        self.reads: dict[int, Tensor] = {}  # outer ref variables read (not assigned) inside
        self.control: list[Operation] = []  # control edges to outer ops, hoisted onto the op
        self.op: Operation | None = None  # the If/While op, once built

    # what prune's error message names
    @property
    def name(self) -> str:
        return self.op.name if self.op is not None else "<control flow being built>"

    @property
    def type(self) -> str:
        return self.op.type if self.op is not None else "If/While"


class _State:
    """Per-graph control-flow state (``Graph._cf``): open frames and op ownership."""

    __slots__ = ("exporting", "owner", "stack", "while_grads")

    def __init__(self):
        self.stack: list[_Frame] = []
        self.owner: dict[int, _Frame] = {}  # id(op) -> frame of the op that owns it
        self.exporting = 0  # > 0 while gradients of a cond or loop are built
        self.while_grads: dict = {}  # id(While op) -> its gradient loop being built

    def map_inputs(self, inputs, op_type):
        """Graph hook: refuse (or export, for gradients) tensors owned by a finished frame."""
        if not self.owner:
            return inputs
        out = []
        for t in inputs:
            if id(t.op) in self.owner:
                if not self.exporting:
                    frame = self.owner[id(t.op)]
                    raise ValueError(
                        f"Tensor '{t.name}' is computed inside the branch or body of "
                        f"'{frame.name}' ({frame.type}) and cannot be an input of a "
                        f"{op_type} op outside it; return it from the function instead."
                    )
                t = self.export(t)
            out.append(t)
        return out

    def export(self, t: Tensor) -> Tensor:
        from .grads_control import export_output

        while id(t.op) in self.owner:
            t = export_output(self.owner[id(t.op)], t)
        return t

    def record(self, op: Operation) -> None:
        """Graph hook: a new op belongs to the innermost open frame; note its captures."""
        if not self.stack:
            return
        frame = self.stack[-1]
        frame.ops.append(op)
        frame.ids.add(id(op))
        ref_input = R.get(op.type).ref_input
        for i, t in enumerate(op._inputs):
            if id(t.op) in frame.ids:
                continue
            if t.op.type not in _VARIABLE_OPS:
                frame.captures.setdefault(id(t), t)
            elif i != ref_input:
                frame.reads.setdefault(id(t), t)
        for c in op._control_inputs:
            if id(c) not in frame.ids and c not in frame.control and id(c) not in self.owner:
                frame.control.append(c)


def _state(g) -> _State:
    if g._cf is None:
        g._cf = _State()
    return g._cf


@contextlib.contextmanager
def _frame(g):
    """Record the ops built inside; outer ``control_dependencies`` do not apply to them."""
    st = _state(g)
    frame = _Frame()
    st.stack.append(frame)
    old_control = g._control_stack
    g._control_stack = []
    try:
        yield frame
    finally:
        g._control_stack = old_control
        st.stack.pop()
        for op in frame.ops:
            st.owner[id(op)] = frame


def _close(g, frame: _Frame, op: Operation) -> None:
    frame.op = op


def _capture_outputs(frame: _Frame, flat) -> None:
    """An outer tensor returned as is by a branch/body is fed to its sub-program."""
    for t in flat:
        if isinstance(t, Tensor) and id(t.op) not in frame.ids:
            if t.op.type not in _VARIABLE_OPS:
                frame.captures.setdefault(id(t), t)


# ------------------------------------------------------------------ sub-programs


class SubGraph:
    """A branch or loop body as an attribute of its control-flow node.

    ``fetches`` may hold ``None`` for outputs this branch does not compute (tensors exported
    from the other branch for gradients): those yield zeros. ``extra`` (loop bodies only) are
    the tensors a loop's gradient reads at every iteration: the program fetches them after
    ``fetches``, but they are not outputs of the function (GraphDef export ignores them).
    Immutable: exporting an output replaces the attribute with a new SubGraph, so programs
    already pruned stay consistent.
    """

    __slots__ = ("_program", "extra", "feeds", "fetches", "ids", "name", "targets")

    def __init__(self, name, ids, feeds, fetches, targets, extra=()):
        self.name = name
        self.ids = frozenset(ids)
        self.feeds = tuple(feeds)
        self.fetches = tuple(fetches)
        self.targets = tuple(targets)
        self.extra = tuple(extra)
        self._program = None

    @property
    def program(self):
        if self._program is None:
            from ..program import prune

            fetches = [t for t in self.fetches if t is not None] + list(self.extra)
            self._program = prune(fetches, self.feeds, self.targets, within=self.ids)
        return self._program

    @property
    def structural_key(self) -> str:
        holes = tuple(i for i, t in enumerate(self.fetches) if t is None)
        return f"{self.program.key}:{holes}"

    @property
    def stateful(self) -> bool:
        return any(_is_stateful(n.opdef) for n in self.program.nodes)

    def replace(self, **kw) -> SubGraph:
        d = {k: getattr(self, k) for k in ("name", "ids", "feeds", "fetches", "targets", "extra")}
        d.update(kw)
        return SubGraph(**d)

    def run(self, ctx, args) -> list:
        """Run in a child of ``ctx``; one value per fetch (zeros for ``None`` holes)."""
        from ..interp import run_program

        prog = self.program
        vals = iter(run_program(prog, list(args), ctx.child(prog)))
        return [_zeros_for(t) if t is None else next(vals) for t in self.fetches]

    def _as_attr_value(self):
        from ..graph_def import AttrValue, NameAttrList

        return AttrValue(func=NameAttrList(name=self.name))

    def __repr__(self):
        return f"SubGraph({self.name!r}, {len(self.ids)} ops)"


def _zeros_for(t):
    return np.zeros((), dtype=np.float32)


def _is_stateful(opdef) -> bool:
    return opdef.stateful or opdef.kind == R.STATEFUL or opdef.ref_input is not None


def _targets(frame: _Frame) -> list[Operation]:
    """Stateful ops of a frame: they run whenever the branch runs (TF2 semantics)."""
    return [op for op in frame.ops if _is_stateful(R.get(op.type)) or op.type in _CF_TYPES]


def _to_bool(v) -> bool:
    """TF's ``ToBool`` for If/While predicates: a scalar's value, else non-emptiness."""
    v = np.asarray(v)
    if v.ndim == 0:
        return bool(v.item()) if v.dtype.kind not in "SUO" else len(v.item()) > 0
    return v.size > 0


# ------------------------------------------------------------------ If
def _out_infer(inputs, attrs):
    for k in ("then_branch", "else_branch", "cond", "body"):
        if k in attrs and not isinstance(attrs[k], SubGraph):
            raise ValueError(
                "If/While nodes imported from a GraphDef are not supported: graphjit does not "
                "read function libraries; rebuild the model with tf.cond / tf.while_loop."
            )
    return list(zip(attrs["Tout"] if "Tout" in attrs else attrs["T"], attrs["output_shapes"]))


def _if_grad(op, *grads):
    from .grads_control import if_grad

    return if_grad(op, *grads)


def _if_kernel(ctx, node, pred, *args, then_branch, else_branch, Tin=(), **_):
    branch = then_branch if _to_bool(pred) else else_branch
    # inputs past Tin are variables a branch reads live (edges for gradients only)
    outs = branch.run(ctx, args[: len(Tin)])
    return outs[0] if len(node.outputs) == 1 else tuple(outs)


_FALLBACK = "runs its branch/body sub-program with the interpreter"
for _t in ("If", "StatelessIf"):
    R.defop(_t, R.OPAQUE, _out_infer, _if_kernel, uses_ctx=True, stateful=_t == "If",
            fallback=_FALLBACK, grad=_if_grad,
            edge_inputs=lambda a: 1 + len(a.get("Tin", ())))  # fmt: skip


def _while_kernel(ctx, node, *args, T, cond, body, output_shapes, Tcaptures=(),
                  has_maximum_iterations, **_):  # fmt: skip
    limit = None
    if has_maximum_iterations:
        limit, args = int(np.asarray(args[0])), args[1:]
    n = len(T)
    # inputs past the captures are variables the body reads live (edges for gradients only)
    vals, caps = list(args[:n]), list(args[n : n + len(Tcaptures)])
    cctx, bctx = ctx.child(cond.program), ctx.child(body.program)
    # Once a gradient is built, the op also returns its iteration count and, per tensor the
    # gradient reads (the body's ``extra`` fetches), its value at every iteration.
    record = len(node.outputs) > n
    traces: list[list] = [[] for _ in body.extra] if record else []
    if not record:  # a pure loop of single-segment cond and body: one compiled kernel
        from ..loop_kernel import run_loop

        out = run_loop(cond.program, body.program, vals, caps, limit, output_shapes, ctx)
        if out is not None:
            return out[0] if len(node.outputs) == 1 else tuple(out)
    # otherwise pure cond/body sub-programs run as compiled chains (executor.run_sub)
    from ..executor import run_sub

    i = 0
    while limit is None or i < limit:
        (pred,) = run_sub(cond.program, vals + caps, cctx)
        if not _to_bool(pred):
            break
        outs = run_sub(body.program, vals + caps, bctx)
        vals = outs[:n]
        for trace, v in zip(traces, outs[n:]):
            trace.append(v)
        i += 1
        for k, (v, shape) in enumerate(zip(vals, output_shapes)):
            if not shape.is_compatible_with(np.shape(v)):
                raise InvalidArgumentError(
                    None,
                    None,
                    f"Loop variable {k} has shape {list(np.shape(v))} after {i} iterations, "
                    f"which is not compatible with its shape invariant {shape}.",
                )
    if record:
        vals = [*vals, np.int32(i), *(_list_value(t) for t in traces)]
    return vals[0] if len(node.outputs) == 1 else tuple(vals)


def _list_value(items: list) -> np.ndarray:
    """A ``variant`` scalar holding a Python list (one accumulated value per iteration)."""
    out = np.empty((), dtype=object)
    out[()] = items
    return out


def _while_grad(op, *grads):
    from .grads_while import while_grad

    return while_grad(op, *grads)


def _while_edges(attrs) -> int:
    """Index of a While's first read-variable input (after the limit, loop vars, captures)."""
    has_max = bool(attrs.get("has_maximum_iterations", False))
    return int(has_max) + len(attrs["T"]) + len(attrs.get("Tcaptures", ()))


for _t in ("While", "StatelessWhile"):
    R.defop(_t, R.OPAQUE, _out_infer, _while_kernel, uses_ctx=True, stateful=_t == "While",
            fallback=_FALLBACK, attr_defaults={"parallel_iterations": 10},
            grad=_while_grad, edge_inputs=_while_edges)  # fmt: skip

# Reads one accumulated value of a While (its gradient loop's view of the forward body).
R.defop("TensorListGetItem", R.OPAQUE, _gw._get_item_infer, _gw._get_item_kernel,
        fallback="reads one element of a loop's accumulated values (a Python list)",
        grad=_gw._get_item_grad)  # fmt: skip

R.defop("EmptyTensorList", R.OPAQUE, _gw._list_infer, _gw._empty_list_kernel,
        attr_defaults={"shape_type": _dt.int32},
        fallback="starts a loop's accumulated values (a Python list)")  # fmt: skip
R.defop("TensorListPushBack", R.OPAQUE, _gw._list_infer, _gw._push_back_kernel,
        fallback="appends to a loop's accumulated values (a Python list)")  # fmt: skip

_CF_TYPES = frozenset({"If", "While"})
_VARIABLE_OPS = frozenset({"VariableV2", "Variable", "VarHandleOp"})


# ------------------------------------------------------------------ IdentityN
def _identity_n_infer(inputs, attrs):
    return [(t.dtype, t.shape) for t in inputs]


R.defop("IdentityN", R.OPAQUE, _identity_n_infer, lambda *xs, **a: tuple(xs),
        fallback="multi-output pass-through (no data movement)",
        grad=lambda op, *grads: list(grads))  # fmt: skip


def identity_n(input, name=None):
    """Return a list of tensors with the same values as ``input`` (``tf.identity_n``)."""
    ts = [convert_to_tensor(x) for x in input]
    g = ts[0].graph if ts else get_default_graph()
    attrs = {"T": [t.dtype for t in ts]}
    return list(g.create_op("IdentityN", ts, attrs, name=name or "IdentityN").outputs)


# ------------------------------------------------------------------ cond
def _as_output(x, g):
    if isinstance(x, Operation):
        return x
    if hasattr(x, "_as_graph_tensor") or isinstance(x, Tensor):
        return convert_to_tensor(x)
    if x is None:
        return None
    return convert_to_tensor(x)


def _merge_shape(a: TensorShape, b: TensorShape) -> TensorShape:
    """The most specific shape both branch outputs satisfy (differing dims become None)."""
    a, b = as_shape(a), as_shape(b)
    if a.ndims is None or b.ndims is None or a.ndims != b.ndims:
        return TensorShape(None)
    return TensorShape([x if x == y else None for x, y in zip(a.as_list(), b.as_list())])


def _check_pred(pred, what="pred"):
    if isinstance(pred, (bool, np.bool_)):
        raise TypeError(f"{what} must not be a Python bool")
    pred = convert_to_tensor(pred)
    if pred.dtype is not _dt.bool:
        raise TypeError(f"{what} must be a scalar bool tensor, got {pred.name} of dtype "
                        f"{pred.dtype.name}")  # fmt: skip
    if pred.shape.ndims not in (None, 0):
        raise ValueError(f"{what} must be a scalar (rank 0), got {pred.name} with shape "
                         f"{pred.shape}")  # fmt: skip
    return pred


def cond(pred, true_fn=None, false_fn=None, strict=False, name=None, fn1=None, fn2=None):
    """Return ``true_fn()`` if ``pred`` is true, else ``false_fn()`` (``tf.cond``).

    Both functions run once, now, to build their branch; at run time only the taken branch
    executes (its side effects included; the other's never happen). They must return the
    same structure of tensors (nested lists, tuples, dicts) with matching dtypes.

    >>> import graphjit.compat.v1 as tf
    >>> with tf.Graph().as_default():
    ...     x = tf.placeholder(tf.float32, [])
    ...     y = tf.cond(x > 0, lambda: x * 2.0, lambda: -x)
    ...     with tf.Session() as sess:
    ...         print(sess.run(y, {x: 3.0}), sess.run(y, {x: -4.0}))
    6.0 4.0
    """
    true_fn = true_fn if true_fn is not None else fn1
    false_fn = false_fn if false_fn is not None else fn2
    if true_fn is None:
        raise TypeError("cond(): 'true_fn' argument required")
    if false_fn is None:
        raise TypeError("cond(): 'false_fn' argument required")
    if not callable(true_fn):
        raise TypeError("'true_fn' must be callable.")
    if not callable(false_fn):
        raise TypeError("'false_fn' must be callable.")
    pred = _check_pred(pred)
    g = pred.graph
    with g.as_default(), g.name_scope(name or "cond") as scope:
        outs, frames = [], []
        for fn, label in ((true_fn, "then"), (false_fn, "else")):
            with g.name_scope(label), _frame(g) as frame:
                out = fn()
                flat = [_as_output(x, g) for x in flatten(out)]
                _capture_outputs(frame, flat)
            outs.append((out, flat))
            frames.append(frame)
        (t_out, t_flat), (f_out, f_flat) = outs
        _check_branches(true_fn, false_fn, t_out, f_out, t_flat, f_flat)
        return _build_if(g, pred, frames, t_flat, f_flat, t_out, scope[:-1])


def _check_branches(true_fn, false_fn, t_out, f_out, t_flat, f_flat):
    msg = ("true_fn and false_fn arguments to tf.cond must have the same number, type, and "
           f"overall structure of return values.\n\ntrue_fn output: {t_out}\n"
           f"false_fn output: {f_out}\n\nError details:\n")  # fmt: skip
    if not same_structure(t_out, f_out) or len(t_flat) != len(f_flat):
        raise ValueError(msg + "The two structures don't have the same nested structure.")
    for a, b in zip(t_flat, f_flat):
        if isinstance(a, Operation) != isinstance(b, Operation) or (a is None) != (b is None):
            raise TypeError(msg + f"{a} and {b} have different types")
        if isinstance(a, Tensor) and a.dtype is not b.dtype:
            raise TypeError(msg + f"{a} and {b} have different types")


def _build_if(g, pred, frames, t_flat, f_flat, structure, name):
    caps: dict[int, Tensor] = {}
    reads: dict[int, Tensor] = {}
    control: list[Operation] = []
    for fr in frames:
        caps.update(fr.captures)
        reads.update(fr.reads)
        control += [c for c in fr.control if c not in control]
    feeds = list(caps.values())
    # Float variables a branch reads (live, through the run context) are also inputs, after
    # the captures, so that tf.gradients sees the path from a variable read inside a branch
    # (``v.read_value()``) to the cond; the kernel skips them (as While does).
    live = [t for t in reads.values() if t.dtype.is_floating or t.dtype.is_complex]
    tensors = [i for i, t in enumerate(t_flat) if isinstance(t, Tensor)]
    subs = []
    for fr, flat, label in zip(frames, (t_flat, f_flat), ("then", "else")):
        targets = _targets(fr) + [x for x in flat if isinstance(x, Operation)]
        fetches = [flat[i] for i in tensors]
        subs.append(SubGraph(f"{name}_{label}_branch", fr.ids, feeds, fetches, targets))
    attrs = {
        "Tcond": pred.dtype,
        "Tin": [t.dtype for t in feeds],
        "Tout": [t_flat[i].dtype for i in tensors],
        "output_shapes": [_merge_shape(t_flat[i].shape, f_flat[i].shape) for i in tensors],
        "then_branch": subs[0],
        "else_branch": subs[1],
    }
    op_type = "If" if subs[0].stateful or subs[1].stateful else "StatelessIf"
    with g.name_scope(None):
        op = g.create_op(
            op_type, [pred, *feeds, *live], attrs, name=name + "/", control_inputs=control
        )
    for fr in frames:
        _close(g, fr, op)
    results = list(op.outputs)
    flat = []
    for x in t_flat:
        if isinstance(x, Tensor):
            flat.append(results.pop(0))
        elif isinstance(x, Operation):
            flat.append(op)
        else:
            flat.append(None)
    return pack_as(structure, flat)


# ------------------------------------------------------------------ case
def case(pred_fn_pairs, default=None, exclusive=False, strict=False, name="case"):
    """The outputs of the first ``fn`` whose ``pred`` is true, else ``default()`` (``tf.case``).

    Built as nested ``cond`` ops, as TF does. With ``exclusive=True`` more than one true
    predicate is an ``InvalidArgumentError`` at run time. Without ``default`` the last pair
    acts as the default, and a run where no predicate is true is an error.
    """
    if isinstance(pred_fn_pairs, dict):
        pred_fn_pairs = list(pred_fn_pairs.items())
    if not isinstance(pred_fn_pairs, (list, tuple)):
        raise TypeError("pred_fn_pairs must be a list, tuple, or dict")
    preds, fns = [], []
    for pair in pred_fn_pairs:
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise TypeError(f"Each entry in pred_fn_pairs must be a 2-tuple, got {pair!r}")
        p, fn = pair
        if not callable(fn):
            raise TypeError(f"fn for pred {getattr(p, 'name', p)} must be callable.")
        preds.append(_check_pred(p, "pred"))
        fns.append(fn)
    if default is not None and not callable(default):
        raise TypeError("default must be callable.")
    if not preds:
        if default is None:
            raise ValueError("pred_fn_pairs must not be empty when default is None")
        return default()
    g = preds[0].graph
    with g.as_default(), g.name_scope(name):
        if default is None:
            last_p, last_fn = preds[-1], fns[-1]
            preds, fns = preds[:-1], fns[:-1]
            others = list(preds)

            def default():
                others_msg = (
                    "selected default action was called, but some other predicates are True"
                )
                deps = [
                    _assert_at_most_n_true(others, 0, others_msg),
                    _assert(last_p, "Input error: None of conditions evaluated as True"),
                ]
                with g.control_dependencies(deps):
                    return _identity_structure(last_fn())

        fn = default
        for p, action in reversed(list(zip(preds, fns))):
            fn = _bind(p, action, fn)
        if exclusive and len(preds) > 1:
            with g.control_dependencies(
                [_assert_at_most_n_true(preds, 1, "Input error: exclusive=True")]
            ):
                return fn()
        return fn()


def _bind(p, action, fallback):
    return lambda: cond(p, action, fallback)


def _identity_structure(out):
    from .array import identity

    flat = [identity(x) if isinstance(x, Tensor) else x for x in flatten(out)]
    return pack_as(out, flat)


def _assert(pred, msg):
    from .debug import Assert

    return Assert(pred, [np.array(msg, dtype=object)])


def _assert_at_most_n_true(preds, n, msg):
    from .array import cast, stack
    from .math import less_equal, reduce_sum

    if not preds:
        from .control import no_op

        return no_op()
    count = reduce_sum(cast(stack(preds), _dt.int32))
    return _assert(less_equal(count, np.int32(n)), msg)


from .loops import while_loop  # noqa: E402  (re-export; loops.py builds While nodes)

__all__ = ["SubGraph", "case", "cond", "identity_n", "while_loop"]
