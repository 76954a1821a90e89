"""Rendering a :class:`~graphjit.fuse.Plan` as Python source (pure Python, no numba import).

Each segment becomes ONE function of explicit loops: scalars live in locals, every value that
leaves a region is allocated once, reductions accumulate inside the loop, and broadcasting is
resolved from run-time shapes (per-operand element strides, 0 on broadcast dimensions), so a new
shape never recompiles. A region whose operands all have the iteration shape takes a flat
``for i in range(n)`` fast path that LLVM vectorizes. A straight-line Python driver then calls
``seg0 -> numpy link -> seg1``. Every emitted line names the op it came from.

Scalar templates come from the registry (``OpDef.scalar``): a format string with ``{0}``,
``{1}`` slots, a callable ``f(attrs) -> template``, or a short name (``"exp"``, ``"floordiv"``,
``"cast"``, ``"sum"``) resolved per dtype below (transcendentals via :mod:`graphjit.mathlib`).
"""

from __future__ import annotations

import re

from .fuse import INPLACE, Segment

_INTS = {"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"}

# mathlib symbols (FUNCS in graphjit.mathlib) without importing numba here
_MATHLIB = {"exp", "expm1", "log", "log1p", "tanh", "sigmoid", "softplus"}
_NP_NAMES = {
    "sqrt": "np.sqrt",
    "sin": "np.sin",
    "cos": "np.cos",
    "tan": "np.tan",
    "asin": "np.arcsin",
    "acos": "np.arccos",
    "atan": "np.arctan",
    "sinh": "np.sinh",
    "cosh": "np.cosh",
    "floor": "np.floor",
    "ceil": "np.ceil",
    "rint": "np.rint",
    "isnan": "np.isnan",
    "isinf": "np.isinf",
    "isfinite": "np.isfinite",
    "erf": "math.erf",
    "erfc": "math.erfc",
    "exp": "np.exp",
    "expm1": "np.expm1",
    "log": "np.log",
    "log1p": "np.log1p",
    "tanh": "np.tanh",
}
_FUNC_RE = re.compile(r"(?<![\w.])(" + "|".join(sorted(_NP_NAMES)) + r"|sigmoid|softplus)\(")


def _math_call(name: str, dt: str) -> str:
    """A vectorizable call for a transcendental (mathlib for float32/64, else numpy)."""
    if name in _MATHLIB and dt in ("float32", "float64"):
        return f"_m.{name}_{'f32' if dt == 'float32' else 'f64'}"
    if name == "erf" and dt == "float32":
        return "_m.erf_f32"
    if name == "sigmoid":
        return "_k.sigmoid"
    if name == "softplus":
        return "_k.softplus"
    return _NP_NAMES[name]


def _short(name: str, ops: list, in_dt: str, out_dt: str, attrs: dict) -> str:
    """Expression for a short-name template."""
    a = ops[0]
    b = ops[1] if len(ops) > 1 else None
    is_int = in_dt in _INTS
    if name == "div":
        return f"_k.itruncdiv({a}, {b})" if is_int else f"({a} / {b})"
    if name == "reciprocal":
        return f"_k.ifloordiv(1, {a})" if is_int else f"(1 / {a})"
    if name == "floordiv":
        return f"_k.ifloordiv({a}, {b})" if is_int else f"np.floor({a} / {b})"
    if name == "floormod":
        return f"_k.ifloormod({a}, {b})" if is_int else f"_k.ffloormod({a}, {b})"
    if name == "pow":
        return f"_k.ipow({a}, {b})" if is_int else f"({a} ** {b})"
    if name in ("maximum", "minimum"):
        return f"_k.{name}({a}, {b})"
    if name == "sign":
        return f"_k.sign({a})"
    if name == "cast":
        return f"({a} != 0)" if out_dt == "bool" else f"{_ctor(out_dt)}({a})"
    if name in _NP_NAMES or name in ("sigmoid", "softplus"):
        return f"{_math_call(name, in_dt)}({a})"
    raise KeyError(f"unknown scalar template {name!r}")


def _bd_lines(name: str, parts: list) -> list:
    """Statements broadcasting the dimension expressions ``parts`` into ``name`` (-1: mismatch).

    Emitted inline rather than as calls to a jitted helper (``kernels.bd``): on LLVM 20
    (numba 0.65) a segment with a dozen such calls in its preamble made LLVM's inliner
    stop inlining the ``mathlib`` calls in the loop, so an exp/tanh loop ran as a scalar
    call loop (13x slower); see "Transcendental loops" in ``docs/jit.md``.
    """
    uniq = list(dict.fromkeys(parts)) or ["1"]
    lines = [f"{name} = {uniq[0]}"]
    for p in uniq[1:]:  # -1 is absorbing: p == 1 keeps it, anything else gives -1
        lines.append(
            f"{name} = {name} if {name} == {p} or {p} == 1 else ({p} if {name} == 1 else -1)"
        )
    return lines


def _ctor(dt: str) -> str:
    return "np.bool_" if dt == "bool" else f"np.{dt}"


def numba_type(dt: str, rank: int, writable: bool = False) -> str:
    """The numba type string of a segment parameter."""
    t = "boolean" if dt == "bool" else dt
    ro = "" if writable else ", readonly=True"
    return t if rank == 0 else f"Array({t}, {rank}, 'C'{ro})"


# ------------------------------------------------------------------ reductions
def _reduce_parts(name, dt):
    """(accumulator dtype, init expr, combine template with {acc} {x})."""
    is_int = dt in _INTS
    acc = ("uint64" if dt.startswith("u") else "int64") if is_int else dt
    if name in ("sum", "mean"):
        return acc, f"np.{acc}(0)", "{acc} + {x}"
    if name == "prod":
        return acc, f"np.{acc}(1)", "{acc} * {x}"
    if name == "max":
        init = f"np.iinfo(np.{dt}).min" if is_int else "-np.inf"
        return dt, f"np.{dt}({init})", "_k.maximum({acc}, {x})"
    if name == "min":
        init = f"np.iinfo(np.{dt}).max" if is_int else "np.inf"
        return dt, f"np.{dt}({init})", "_k.minimum({acc}, {x})"
    raise KeyError(f"unknown reduction template {name!r}")


def driver_outputs(program, plan, seg: Segment) -> dict:
    """``{slot: support}`` for the segment's stored outputs the driver allocates.

    Large outputs allocated inside numba (NRT ``malloc``) cost page faults on every call
    (6x slower than ``np.empty`` at 1e7 float32, which gets transparent huge pages), so the
    driver allocates every stored pointwise output whose shape is the broadcast of segment
    inputs (``support``: the rank > 0 segment inputs it depends on) and passes it in.
    Values downstream of an in-segment reduction keep numba allocation.
    """
    nodes = program.nodes
    ranks = plan.ranks
    inputs = set(seg.inputs)
    support: dict = {}
    out: dict = {}
    for rg in seg.regions:
        for i in rg.nodes:
            node = nodes[i]
            o = node.outputs[0]
            if i in rg.reduces:
                support[o] = None
                continue
            sup: tuple | None = ()
            for x in node.inputs:
                if x in inputs:
                    add = (x,) if ranks[x] else ()
                else:
                    add = support.get(x)
                if add is None:
                    sup = None
                    break
                sup = sup + tuple(a for a in add if a not in sup)
            support[o] = sup
            if i in plan.inplace:
                out[o] = ("var", plan.inplace[i])
            elif sup and ranks[o] and o in rg.outputs:
                out[o] = sup
    return out


class _Seg:
    """Renders one segment function."""

    def __init__(self, program, plan, seg: Segment):
        self.p = program
        self.plan = plan
        self.seg = seg
        self.lines: list[str] = []
        self.given = driver_outputs(program, plan, seg)
        self.writes: dict = {}
        self.off = None

    def rank(self, s):
        return self.plan.ranks[s]

    def dt(self, s):
        return self.plan.dtypes[s]

    def tag(self, i):
        node, op = self.p.nodes[i], self.p.ops[i]
        return f"{node.op_type} '{op.name}'"

    def emit(self, depth, text, comment=""):
        line = "    " * depth + text
        if comment:
            line = f"{line}  # {comment}"
        self.lines.append(line)

    def expr(self, i, elem):
        node = self.p.nodes[i]
        tmpl = node.opdef.scalar
        if i in self.plan.inplace:  # old element of the variable: its buffer (the output)
            o = node.outputs[0]
            tmpl = INPLACE[node.op_type].replace("{old}", f"f{o}[{self.off(o)}]")
        if callable(tmpl):
            tmpl = tmpl(node.attrs)
        ops = [elem(s) for s in node.inputs]
        in_dt = self.dt(node.inputs[0]) if node.inputs else self.dt(node.outputs[0])
        out_dt = self.dt(node.outputs[0])
        if "{" in tmpl:
            body = tmpl.format(*ops)
            body = _FUNC_RE.sub(lambda m: _math_call(m.group(1), in_dt) + "(", body)
        else:
            body = _short(tmpl, ops, in_dt, out_dt, node.attrs)
        return f"({body})" if out_dt == "bool" else f"{_ctor(out_dt)}({body})"

    # -------------------------------------------------------------- segment
    def render(self) -> str:
        seg = self.seg
        given = list(self.given)
        params = ", ".join(f"s{s}" for s in list(seg.inputs) + given)
        sig = ", ".join(
            [numba_type(self.dt(s), self.rank(s)) for s in seg.inputs]
            + [numba_type(self.dt(s), self.rank(s), writable=True) for s in given]
        )
        fm = ", fastmath={'reassoc'}" if seg.reassoc else ""
        self.emit(
            0,
            f'@njit("({sig}{"," if len(seg.inputs) + len(given) == 1 else ""})", cache=True, '
            f'error_model="numpy", nogil=True{fm})',
        )
        self.emit(0, f"def seg{seg.index}({params}):")
        self.emit(
            1, f'"""Segment {seg.index}: {len(seg.nodes)} ops in {len(seg.regions)} region(s)."""'
        )
        self.writes = {
            self.p.nodes[i].outputs[0]: v for i, v in self.plan.inplace.items() if i in seg.nodes
        }
        if self.writes:
            # every check of every region first; after them nothing can fail (fuse._inplace_ok)
            later = []
            for rg in seg.regions:
                main, self.lines = self.lines, []
                self.region(rg, later)
                self.lines = main + self.lines
            self.emit(1, "# ---- validated: in-place writes from here on cannot fail")
            self.lines += later
        else:
            for rg in seg.regions:
                self.region(rg)
        rets = [s for s in seg.outputs if s not in self.given]
        outs = ", ".join(f"s{s}" for s in rets)
        self.emit(1, f"return ({outs}{',' if len(rets) == 1 else ''})")
        return "\n".join(self.lines)

    def region(self, rg, later=None):
        """Emit one region; with ``later`` (a list), the part after its checks goes there."""
        self._mark = None
        try:
            self._region(rg, later is not None)
        finally:
            if later is not None and self._mark is not None:
                later.extend(self.lines[self._mark :])
                del self.lines[self._mark :]

    def _region(self, rg, split):
        nodes = self.p.nodes
        R = rg.rank
        kinds = {i: ("reduce" if i in rg.reduces else "pointwise") for i in rg.nodes}
        self.emit(
            1,
            f"# ---- region {rg.index}: rank {R}, ops "
            + ", ".join(nodes[i].op_type for i in rg.nodes),
        )
        # rank-0 pointwise nodes are plain scalars, hoisted before the loop
        scal = [
            i
            for i in rg.nodes
            if self.rank(nodes[i].inputs[0] if kinds[i] == "reduce" else nodes[i].outputs[0]) == 0
        ]

        its: list = []  # iteration-space lines, re-emitted after a split (names are reused)

        def begin_loops():  # checks are done; scalars, loops and finalization follow
            self._mark = len(self.lines)
            if split and its:
                for line in its:
                    self.emit(1, line)
                self.emit(1, "n = " + " * ".join(f"it{d}" for d in range(R)))
            for i in scal:
                o = nodes[i].outputs[0]
                if kinds[i] == "reduce":  # reducing a scalar is the identity
                    self.emit(1, f"s{o} = {self.finalize0(i)}", self.tag(i))
                else:
                    self.emit(1, f"s{o} = {self.expr(i, lambda s: f's{s}')}", self.tag(i))

        loop = [i for i in rg.nodes if i not in scal]
        if not loop:
            begin_loops()
            return
        leaves = [s for s in rg.inputs if self.rank(s) > 0]
        produced = {nodes[i].outputs[0] for i in loop}
        dims: dict[int, list[str]] = {}
        for s in leaves:
            dims[s] = [f"s{s}.shape[{k}]" for k in range(self.rank(s))]

        def aligned(s, d):
            r = self.rank(s)
            k = d - (R - r)
            if r == 0 or k < 0:
                return None
            return dims[s][k]

        # shapes of every node output, checked like numpy broadcasting
        for i in loop:
            node = nodes[i]
            o = node.outputs[0]
            if o in self.writes:  # the variable's buffer; the value must broadcast to it
                dims[o] = [f"s{o}.shape[{k}]" for k in range(self.rank(o))]
                x = node.inputs[0]
                for k in range(self.rank(o)):
                    p = aligned(x, k)
                    if p is not None:
                        self.emit(  # i.e. bd(dim, p) != dim
                            1,
                            f'if {dims[o][k]} != {p} and {p} != 1: raise ValueError("update")',
                            self.tag(i),
                        )
                continue
            if kinds[i] == "reduce":
                x = node.inputs[0]
                ax = self.plan.axes[i]
                keep = bool(node.attrs.get("keep_dims", False))
                dims[o] = []
                for k in range(self.rank(x)):
                    if k in ax:
                        if keep:
                            dims[o].append("1")
                    else:
                        dims[o].append(aligned(x, k + R - self.rank(x)))
                continue
            ro = self.rank(o)
            names, checked = [], []
            for k in range(ro):
                d = k + R - ro
                parts = [p for p in (aligned(s, d) for s in node.inputs) if p is not None]
                if len(set(parts)) <= 1:  # no broadcast here: reuse the expression
                    names.append(parts[0] if parts else "1")
                    continue
                name = f"d{o}_{k}"
                for line in _bd_lines(name, parts):
                    self.emit(1, line, self.tag(i))
                names.append(name)
                checked.append(name)
            if checked:
                cond = " or ".join(f"{n} < 0" for n in checked)
                self.emit(1, f'if {cond}: raise ValueError("incompatible shapes")', self.tag(i))
            dims[o] = names
        # iteration space
        for d in range(R):
            parts = []
            for i in loop:
                s = nodes[i].inputs[0] if kinds[i] == "reduce" else nodes[i].outputs[0]
                p = aligned(s, d)
                if p is not None and p not in parts:
                    parts.append(p)
            for line in _bd_lines(f"it{d}", parts):
                self.emit(1, line)
                its.append(line)
        self.emit(
            1,
            "if "
            + " or ".join(f"it{d} < 0" for d in range(R))
            + ': raise ValueError("incompatible shapes")',
        )
        for i in loop:
            if kinds[i] == "reduce":
                x = nodes[i].inputs[0]
                conds = [f"{aligned(x, d) or 1} != it{d}" for d in range(R)]
                self.emit(
                    1, f'if {" or ".join(conds)}: raise ValueError("reduce shape")', self.tag(i)
                )
        self.emit(1, "n = " + " * ".join(f"it{d}" for d in range(R)))
        # allocate outputs and reduction accumulators
        stored = [
            nodes[i].outputs[0]
            for i in loop
            if kinds[i] == "pointwise"
            and (nodes[i].outputs[0] in rg.outputs or nodes[i].outputs[0] in self.writes)
        ]
        full, partial = [], []
        for i in loop:
            if kinds[i] != "reduce":
                continue
            o = nodes[i].outputs[0]
            x = nodes[i].inputs[0]
            (full if len(self.plan.axes[i]) == self.rank(x) else partial).append(i)
        for o in stored:
            if o in self.writes:
                continue
            if o in self.given:  # allocated by the driver from the same broadcast
                conds = " or ".join(f"s{o}.shape[{k}] != {d}" for k, d in enumerate(dims[o]))
                self.emit(1, f'if {conds}: raise ValueError("output shape")')
                continue
            shp = ", ".join(dims[o]) + ("," if len(dims[o]) == 1 else "")
            self.emit(1, f"s{o} = np.empty(({shp}), np.{self.dt(o)})")
        acc = {}
        for i in full + partial:
            o = nodes[i].outputs[0]
            adt, init, comb = _reduce_parts(nodes[i].opdef.scalar, self.dt(o))
            acc[i] = (adt, comb)
            if i in full:
                self.emit(1, f"a{o} = {init}", self.tag(i))
            else:
                shp = ", ".join(dims[o]) + ("," if len(dims[o]) == 1 else "")
                self.emit(1, f"s{o} = np.full(({shp}), {init}, np.{adt})", self.tag(i))
        flat = leaves + stored + [nodes[i].outputs[0] for i in partial]
        for s in flat:
            self.emit(1, f"f{s} = s{s}.reshape(s{s}.size)")
        sizes = [f"f{s}.size == n" for s in leaves + stored]
        fast = " and ".join(sizes) if sizes else "True"
        if any(o in self.writes for o in stored):
            # element i of the variable is read and written by iteration i only
            self.emit(1, f'if not ({fast}): raise ValueError("in-place update shapes")')
        if split:
            begin_loops()
        # body generator
        loaded = set()

        ref = dict(self.p.ref_slots)

        def body(depth, off, local_acc=False):
            loaded.clear()
            self.off = off
            for i in loop:
                node = nodes[i]
                for s in node.inputs[:1] if kinds[i] == "reduce" else node.inputs:
                    if s in leaves and s not in loaded:
                        self.emit(depth, f"v{s} = f{s}[{off(s)}]")
                        loaded.add(s)

                def elem(s):
                    return f"v{s}" if (s in leaves or s in produced) else f"s{s}"

                o = node.outputs[0]
                if kinds[i] == "pointwise":
                    self.emit(depth, f"v{o} = {self.expr(i, elem)}", self.tag(i))
                    if o in stored:
                        self.emit(depth, f"f{o}[{off(o)}] = v{o}")
                    if o in self.writes:  # later reads of the variable see the new value
                        for s in leaves:
                            if ref.get(s) == self.writes[o]:
                                self.emit(depth, f"v{s} = v{o}")
                                loaded.add(s)
                else:
                    x = elem(node.inputs[0])
                    adt, comb = acc[i]
                    if i in full:
                        self.emit(
                            depth,
                            f"a{o} = " + comb.format(acc=f"a{o}", x=f"np.{adt}({x})"),
                            self.tag(i),
                        )
                    else:
                        a = f"p{o}" if local_acc else f"f{o}[{off(o)}]"
                        self.emit(
                            depth, f"{a} = " + comb.format(acc=a, x=f"np.{adt}({x})"), self.tag(i)
                        )

        # Fast paths: every operand has the iteration shape. A flat ``for i in range(n)``
        # with unit strides is what LLVM vectorizes (the strided nest below is not); with
        # reductions over the trailing axes only (row-wise: softmax, xent, bias grads) a
        # row loop accumulating into locals. The body is emitted twice (fast + general).
        if not split:
            begin_loops()
        k_rows = self._row_axes(partial, R)
        base = 1
        if not partial or k_rows:
            self.emit(1, f"if {fast}:  # same shapes everywhere: unit-stride flat loop")
            if not partial:
                self.emit(2, "for i in range(n):")
                body(3, lambda s: "i")
            else:
                cols = " * ".join(f"it{d}" for d in range(R - k_rows, R))
                self.emit(2, f"ncol = {cols}")
                self.emit(2, "for rw in range(n // ncol if ncol else 0):")
                for i in partial:
                    o = nodes[i].outputs[0]
                    self.emit(3, f"p{o} = f{o}[rw]")
                self.emit(3, "for cl in range(ncol):")
                self.emit(4, "i = rw * ncol + cl")
                body(4, lambda s: "i", local_acc=True)
                for i in partial:
                    o = nodes[i].outputs[0]
                    self.emit(3, f"f{o}[rw] = p{o}")
            self.emit(1, "else:")
            base = 2
        self._nest(rg, base, R, flat, leaves, partial, dims, aligned, body)
        self._finalize(rg, full, partial, leaves, dims, acc)

    def _row_axes(self, partial, R):
        """k if every partial reduction reduces exactly the trailing k axes of rank-R input."""
        ks = set()
        for i in partial:
            x = self.p.nodes[i].inputs[0]
            ax = self.plan.axes[i]
            if self.rank(x) != R or not ax or ax != tuple(range(R - len(ax), R)):
                return 0
            ks.add(len(ax))
        return ks.pop() if len(ks) == 1 else 0

    def _nest(self, rg, base, R, flat, leaves, partial, dims, aligned, body):
        """The general loop nest: element strides per operand, 0 on broadcast dimensions."""
        nodes = self.p.nodes
        part_x = {nodes[i].outputs[0]: i for i in partial}
        for s in flat:
            self.emit(base, "r = 1")
            for d in range(R - 1, -1, -1):
                if s in part_x:  # accumulator: 0 on reduced axes, C strides on kept ones
                    i = part_x[s]
                    x = nodes[i].inputs[0]
                    k = d - (R - self.rank(x))
                    p = None if (k < 0 or k in self.plan.axes[i]) else aligned(x, d)
                elif s in leaves:
                    p = aligned(s, d)
                else:
                    p = dims[s][d - (R - len(dims[s]))] if d - (R - len(dims[s])) >= 0 else None
                if p is None:
                    self.emit(base, f"t{s}_{d} = 0")
                else:
                    self.emit(base, f"t{s}_{d} = r if {p} != 1 else 0")
                    self.emit(base, f"r *= {p}")
        for d in range(R):
            self.emit(base + d, f"for i{d} in range(it{d}):")
            for s in flat:
                prev = f"o{s}_{d - 1} + " if d else ""
                self.emit(base + 1 + d, f"o{s}_{d} = {prev}i{d} * t{s}_{d}")
        body(base + R, lambda s: f"o{s}_{R - 1}")

    def _finalize(self, rg, full, partial, leaves, dims, acc):
        """Finish reductions after the loop (means, casts, keep_dims shapes)."""
        nodes = self.p.nodes
        for i in full + partial:
            node = nodes[i]
            o = node.outputs[0]
            name = node.opdef.scalar
            x = node.inputs[0]
            count = (
                " * ".join(
                    f"s{x}.shape[{k}]" if x in leaves else f"d{x}_{k}" for k in self.plan.axes[i]
                )
                or "1"
            )
            if i in full:
                val = f"a{o}"
                if name == "mean":
                    val = (
                        f"_k.imean(a{o}, {count})" if self.dt(o) in _INTS else f"a{o} / ({count})"
                    )
                val = f"np.{self.dt(o)}({val})"
                if dims[o]:
                    shp = ", ".join(dims[o]) + ("," if len(dims[o]) == 1 else "")
                    self.emit(1, f"s{o} = np.full(({shp}), {val}, np.{self.dt(o)})", self.tag(i))
                else:
                    self.emit(1, f"s{o} = {val}", self.tag(i))
            else:
                fo = f"f{o}"
                if name == "mean":
                    self.emit(1, "for j in range(fj.size):".replace("fj", fo), self.tag(i))
                    if self.dt(o) in _INTS:
                        self.emit(2, f"{fo}[j] = _k.imean({fo}[j], {count})")
                    else:
                        self.emit(2, f"{fo}[j] = {fo}[j] / ({count})")
                if acc[i][0] != self.dt(o):
                    self.emit(1, f"s{o} = s{o}.astype(np.{self.dt(o)})", self.tag(i))

    def finalize0(self, i):
        node = self.p.nodes[i]
        x = f"s{node.inputs[0]}"
        return f"np.{self.dt(node.outputs[0])}({x})"


# ------------------------------------------------------------------ module + driver
def render(program, plan, title="") -> str:
    """The whole generated module: segment functions plus the drivers ``run``/``run_traced``."""
    head = [
        f"# graphjit generated module: program {program.key[:16]}",
        f"# {title}" if title else "# (no title)",
        "# Do not edit: regenerated from the graph; content-addressed file name.",
        "import math  # noqa: F401",
        "import time",
        "",
        "import numpy as np",
        "from numba import njit",
        "",
        "from graphjit import kernels as _k  # noqa: F401",
        "from graphjit import mathlib as _m  # noqa: F401",
        "from graphjit.executor import arr0, bshape, cont, own, var_buffer",
        "",
    ]
    parts = ["\n".join(head)]
    for st in plan.steps:
        if isinstance(st, Segment):
            parts.append(_Seg(program, plan, st).render())
    parts.append(_driver(program, plan, traced=False))
    parts.append(_driver(program, plan, traced=True))
    return "\n\n\n".join(parts) + "\n"


def _driver(program, plan, traced):
    nodes, ops = program.nodes, program.ops
    ranks, dtypes = plan.ranks, plan.dtypes
    ref = dict(program.ref_slots)
    feeds = ", ".join(f"s{s}" for s in program.feed_slots)
    name = "run_traced" if traced else "run"
    L = [f"def {name}(ctx, links, consts{', ' if feeds else ''}{feeds}):"]
    L.append('    """The kernel chain: segments and numpy links in program order."""')
    const_index = {s: k for k, s in enumerate(sorted(plan.consts))}
    seg_of = {}
    for st in plan.steps:
        if isinstance(st, Segment):
            for i in st.nodes:
                for s in nodes[i].outputs:
                    seg_of[s] = st
    link_out = set()
    link_args = {}
    written = set()

    def seg_arg(s):
        if s in const_index:
            c = plan.consts[s]
            return f"consts[{const_index[s]}]" + ("[()]" if c.ndim == 0 else "")
        if s in ref:
            r = f"ctx.read_var({ref[s]})"
            return f"{r}[()]" if ranks[s] == 0 else f"cont({r})"
        if s in link_out:
            return f"arr0(s{s})[()]" if ranks[s] == 0 else f"cont(s{s})"
        return f"s{s}"

    def link_arg(s):
        if s in const_index:
            return f"consts[{const_index[s]}]"
        if s in ref:
            return f"ctx.read_var({ref[s]})"
        if s in link_out:
            return f"s{s}"
        return f"arr0(s{s}, {_ctor(dtypes[s])})" if ranks[s] == 0 else f"s{s}"

    for st in plan.steps:
        if traced:
            L.append("    t0 = time.perf_counter()")
        if isinstance(st, Segment):
            given = driver_outputs(program, plan, st)
            rets = [s for s in st.outputs if s not in given]
            outs = ", ".join(f"s{s}" for s in rets)
            if given:
                need = {x for sup in given.values() if sup[0] != "var" for x in sup}
                argv = []
                for s in st.inputs:
                    if s in need:
                        L.append(f"    a{s} = {seg_arg(s)}")
                        argv.append(f"a{s}")
                    else:
                        argv.append(seg_arg(s))
                for o, sup in given.items():
                    if sup[0] == "var":  # written in place: the session's own buffer
                        L.append(f"    s{o} = var_buffer(ctx, {sup[1]}, np.{dtypes[o]})")
                        argv.append(f"s{o}")
                        written.add(o)
                        continue
                    shp = (
                        f"a{sup[0]}.shape"
                        if len(sup) == 1
                        else ("bshape(" + ", ".join(f"a{x}.shape" for x in sup) + ")")
                    )
                    L.append(f"    s{o} = np.empty({shp}, np.{dtypes[o]})")
                    argv.append(f"s{o}")
                args = ", ".join(argv)
            else:
                args = ", ".join(seg_arg(s) for s in st.inputs)
            lhs = f"{outs}," if rets else "_"
            L.append(
                f"    {lhs} = seg{st.index}({args})  # segment {st.index}: "
                + ", ".join(nodes[i].op_type for i in st.nodes[:8])
                + (" ..." if len(st.nodes) > 8 else "")
            )
            label = ("segment", st.index)  # named from the running program by the executor
        else:
            i = st.node
            node = nodes[i]
            args = ", ".join(["ctx"] + [link_arg(s) for s in node.inputs])
            outs = ", ".join(f"s{s}" for s in node.outputs)
            lhs = f"{outs}," if node.outputs else "_"
            L.append(
                f"    {lhs} = links[{plan.links.index(st)}]({args})  # link "
                f"{node.op_type} '{ops[i].name}': {st.reason}"
            )
            link_out.update(node.outputs)
            for s in node.outputs:
                ins = [link_arg(x) for x in node.inputs]
                link_args[s] = (
                    "None" if node.opdef.uses_ctx else f"({''.join(a + ', ' for a in ins)})"
                )
            label = ("link", i)
        if traced:
            L.append(
                f"    ctx.trace.append(({label[0]!r}, {label[1]!r}, t0, time.perf_counter()))"
            )
    rets = []
    for s in program.fetch_slots:
        if s in const_index:
            rets.append(f"own(consts[{const_index[s]}], None)")
        elif s in ref:
            rets.append(f"own(ctx.read_var({ref[s]}), None)")
        elif s in link_out:
            rets.append(f"own(s{s}, {link_args[s]})")
        elif s in written:  # never hand out the variable's storage
            rets.append(f"s{s}.copy()")
        elif s in seg_of:
            rets.append(f"{_ctor(dtypes[s])}(s{s})" if ranks[s] == 0 else f"s{s}")
        else:  # a fed value fetched through the program
            rets.append(f"own(s{s}, None)")
    L.append(f"    return ({', '.join(rets)}{',' if len(rets) == 1 else ''})")
    return "\n".join(L)
