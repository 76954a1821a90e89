"""The op registry: one frozen :class:`OpDef` per TF op type.

Every pass (shape inference, the interpreter, the compiler, gradients, GraphDef import) reads
fields of this table; there is no per-op class hierarchy. Family modules (``ops/math.py``,
``ops/array.py`` ...) register their entries with :func:`defop` at import time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Fusion reads only the kind.
ELEMWISE = "elemwise"  # out[i] = f(in0[i'], in1[i'']) with broadcasting
REDUCE = "reduce"  # reductions over constant axes
INJECTIVE = "injective"  # reshape / transpose / broadcast / slicing: data movement only
OPAQUE = "opaque"  # matmul, sort, gather: a library kernel
STATEFUL = "stateful"  # reads or writes session state (variables, random streams)
SOURCE = "source"  # no data inputs: Const, Placeholder
CONTROL = "control"  # NoOp and friends: no outputs, ordering only

KINDS = frozenset({ELEMWISE, REDUCE, INJECTIVE, OPAQUE, STATEFUL, SOURCE, CONTROL})


@dataclass(frozen=True, slots=True)
class OpDef:
    """Everything graphjit knows about one TF op type.

    Attributes
    ----------
    type : str
        TF's op type string (``"AddV2"``), the registry key and the GraphDef ``op`` field.
    kind : str
        One of :data:`KINDS`; the only field fusion reads.
    infer : callable
        ``infer(inputs, attrs) -> [(DType, TensorShape), ...]``; ``inputs`` are the input
        :class:`~graphjit.graph.Tensor` objects. Raises ``ValueError``/``TypeError`` on bad
        input, naming the op, as TF does at graph-construction time.
    numpy : callable
        The reference kernel: ``numpy(*arrays, **attrs) -> array or tuple of arrays``; with
        ``uses_ctx`` it is called as ``numpy(ctx, node, *arrays, **attrs)``.
    scalar : str or callable or None
        For elementwise ops, the expression template rendered inside fused loops.
    kernel : str or None
        For opaque ops, the name of a library kernel in ``graphjit.kernels`` or
        ``graphjit.kernels_conv`` (a Python wrapper around compiled loops and/or BLAS, run as
        a driver link; it falls back to ``numpy`` for dtypes it does not compile).
    grad : callable or None
        ``grad(op, *output_grads) -> [input_grad or None, ...]`` built from graph ops.
    ref_input : int or None
        Index of the input that names a variable (written or checked, never read as data).
    extra_refs : tuple of int
        Further inputs that name variables the op writes too (TF's ``ApplyAdam`` writes
        ``var``, ``m`` and ``v``): they are read as data like any input, and the program
        passes their variable indices to the kernel as the attr ``_ref_vars``.
    uses_ctx : bool
        The numpy kernel needs the run context (state, random streams, session handles).
    stateful : bool
        Never merged with look-alikes, never constant-folded, runs at most once per step.
    fallback : str or None
        Why this op has no compiled lowering (shown by introspection), when that is by design.
    attr_defaults : dict
        Attribute defaults filled in when a GraphDef omits them.
    edge_inputs : callable or None
        ``edge_inputs(attrs) -> k``: inputs from index ``k`` on are dependency edges only
        (variables a cond branch or loop body reads live, listed so that ``tf.gradients``
        sees the path); their values are never read, so an uninitialised variable read
        only by a branch that does not run raises nothing.
    """

    type: str
    kind: str
    infer: Callable
    numpy: Callable
    scalar: Any = None
    kernel: str | None = None
    grad: Callable | None = None
    ref_input: int | None = None
    extra_refs: tuple = ()
    uses_ctx: bool = False
    stateful: bool = False
    fallback: str | None = None
    attr_defaults: dict = field(default_factory=dict)
    edge_inputs: Callable | None = None
    # a graphjit-only op that only compiled programs hold (a program rewrite puts it there):
    # no TF op of that name exists, so GraphDef import does not know it
    internal: bool = False

    @property
    def compilable(self) -> bool:
        """Whether the compiler has a lowering (scalar template or library kernel)."""
        return self.scalar is not None or self.kernel is not None


_REGISTRY: dict[str, OpDef] = {}


def defop(type: str, kind: str, infer: Callable, numpy: Callable, **kw) -> OpDef:
    """Register an op type; re-registering a type is an error (one entry per op)."""
    if kind not in KINDS:
        raise ValueError(f"Unknown op kind {kind!r} for {type}")
    if type in _REGISTRY:
        raise ValueError(f"Op type {type!r} is registered twice")
    opdef = OpDef(type=type, kind=kind, infer=infer, numpy=numpy, **kw)
    _REGISTRY[type] = opdef
    return opdef


def set_grad(type: str, grad: Callable) -> None:
    """Attach a gradient function to an already registered op (gradient modules use it)."""
    import dataclasses

    _REGISTRY[type] = dataclasses.replace(_REGISTRY[type], grad=grad)


def set_lowering(type: str, *, scalar=None, kernel: str | None = None) -> None:
    """Attach a compiled lowering to an already registered op (used by the compiler tables)."""
    import dataclasses

    _REGISTRY[type] = dataclasses.replace(_REGISTRY[type], scalar=scalar, kernel=kernel)


def get(type: str) -> OpDef:
    """Look up an op type; ``KeyError`` with a clear message when graphjit lacks it."""
    try:
        return _REGISTRY[type]
    except KeyError:
        raise KeyError(f"Op type {type!r} is not registered in graphjit") from None


def lookup(type: str) -> OpDef | None:
    """Look up an op type that graphs may hold, ``None`` when unknown (or internal)."""
    opdef = _REGISTRY.get(type)
    return None if opdef is None or opdef.internal else opdef


def all_ops() -> dict[str, OpDef]:
    """A copy of the whole table (for tests and the coverage doc)."""
    return dict(_REGISTRY)
