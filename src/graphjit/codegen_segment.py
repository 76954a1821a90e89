"""Rendering one fused segment as one njit function of explicit loops (pure Python).

Scalars live in locals, every value that leaves a region is allocated once, reductions
accumulate inside the loop, and broadcasting is resolved from run-time shapes (per-operand
element strides, 0 on broadcast dimensions), so a new shape never recompiles. A region whose
operands all have the iteration shape takes a flat ``for i in range(n)`` fast path that LLVM
vectorizes. Every emitted line names the op it came from.

Compile time is numba's pipeline on this text, so the writer keeps it cheap to compile: every
local is assigned once where it can be (names carry the region and loop-path they belong to;
numba's SSA reconstruction costs the number of reassigned names times the number of blocks),
checks are branch-free boolean expressions with one ``raise`` each, and a region that updates
a variable in place emits only its flat loop (its shapes were checked equal beforehand).
"""

from __future__ import annotations

from .codegen_exprs import (
    FUNC_RE,
    INTS,
    bd_lines,
    ctor,
    math_call,
    numba_type,
    reduce_parts,
    short_expr,
)
from .fuse import INPLACE, Segment


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


def _any(conds) -> str:
    """A branch-free disjunction of boolean expressions."""
    return " | ".join(f"({c})" for c in conds)


def _all(conds) -> str:
    """A branch-free conjunction of boolean expressions (``True`` when empty)."""
    return " & ".join(f"({c})" for c in conds) if conds else "True"


class SegmentWriter:
    """Renders one segment function (``render``)."""

    def __init__(self, program, plan, seg: Segment):
        self.p = program
        self.plan = plan
        self.seg = seg
        self.lines: list[str] = []
        self.given = driver_outputs(program, plan, seg)
        self.writes: dict = {}
        self.flat_done: set = set()
        self.off = None
        self._mark = None

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

    def scalar_name(self, s):
        """The local holding rank-0 value ``s`` (``w``: the value written to a 0-d buffer)."""
        return f"w{s}" if s in self.writes else f"s{s}"

    def expr(self, i, elem):
        """The scalar expression of node ``i``; ``elem(slot)`` names its operands."""
        node = self.p.nodes[i]
        tmpl = node.opdef.scalar
        if i in self.plan.inplace:  # old element of the variable: its buffer (the output)
            o = node.outputs[0]
            old = f"f{o}[{self.off(o)}]" if self.rank(o) else f"s{o}[()]"
            tmpl = INPLACE[node.op_type].replace("{old}", old)
        if callable(tmpl):
            tmpl = tmpl(node.attrs)
        ops = [elem(s) for s in node.inputs]
        in_dt = self.dt(node.inputs[0]) if node.inputs else self.dt(node.outputs[0])
        out_dt = self.dt(node.outputs[0])
        if "{" in tmpl:
            body = tmpl.format(*ops)
            body = FUNC_RE.sub(lambda m: math_call(m.group(1), in_dt) + "(", body)
        else:
            body = short_expr(tmpl, ops, in_dt, out_dt, node.attrs)
        return f"({body})" if out_dt == "bool" else f"{ctor(out_dt)}({body})"

    # -------------------------------------------------------------- segment
    def render(self) -> str:
        seg = self.seg
        given = list(self.given)
        self.writes = {
            self.p.nodes[i].outputs[0]: v for i, v in self.plan.inplace.items() if i in seg.nodes
        }
        params = ", ".join(f"s{s}" for s in list(seg.inputs) + given)
        sig = ", ".join(
            [numba_type(self.dt(s), self.rank(s)) for s in seg.inputs]
            + [  # a rank-0 variable written in place is passed as its 0-d buffer
                numba_type(self.dt(s), self.rank(s), writable=True, buffer=s in self.writes)
                for s in given
            ]
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
        if self.writes:
            # every check of every region first; after them nothing can fail (fuse._inplace_ok)
            later: list = []
            for rg in seg.regions:
                self.region(rg, later)
            self.emit(1, "# ---- validated: in-place writes from here on cannot fail")
            self.lines += later
        else:
            for rg in seg.regions:
                self.region(rg)
        rets = [s for s in seg.outputs if s not in self.given]
        if len(rets) == 1:  # one value: returned bare (no tuple to box and unpack)
            self.emit(1, f"return s{rets[0]}")
        else:
            self.emit(1, f"return ({', '.join(f's{s}' for s in rets)})")
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
        g = rg.index  # suffix of this region's locals: each is assigned once per segment
        kinds = {i: ("reduce" if i in rg.reduces else "pointwise") for i in rg.nodes}
        self.emit(
            1,
            f"# ---- region {g}: rank {R}, ops " + ", ".join(nodes[i].op_type for i in rg.nodes),
        )
        # rank-0 pointwise nodes are plain scalars, hoisted before the loop
        scal = [
            i
            for i in rg.nodes
            if self.rank(nodes[i].inputs[0] if kinds[i] == "reduce" else nodes[i].outputs[0]) == 0
        ]

        def begin_loops():  # checks are done; scalars, loops and finalization follow
            self._mark = len(self.lines)
            for i in scal:
                o = nodes[i].outputs[0]
                if kinds[i] == "reduce":  # reducing a scalar is the identity
                    self.emit(1, f"s{o} = {self.finalize0(i)}", self.tag(i))
                elif o in self.writes:  # a rank-0 variable: its 0-d buffer is s{o}
                    self.emit(1, f"w{o} = {self.expr(i, self.scalar_name)}", self.tag(i))
                    self.emit(1, f"s{o}[()] = w{o}")
                else:
                    self.emit(1, f"s{o} = {self.expr(i, self.scalar_name)}", self.tag(i))

        loop = [i for i in rg.nodes if i not in scal]
        if not loop:
            begin_loops()
            return
        leaves = [s for s in rg.inputs if self.rank(s) > 0]
        dims: dict[int, list[str]] = {}
        for s in leaves:
            dims[s] = [f"s{s}.shape[{k}]" for k in range(self.rank(s))]

        def aligned(s, d):
            r = self.rank(s)
            k = d - (R - r)
            if r == 0 or k < 0:
                return None
            return dims[s][k]

        it = [f"it{g}_{d}" for d in range(R)]
        n = f"n{g}"
        wbufs = [nodes[i].outputs[0] for i in loop if nodes[i].outputs[0] in self.writes]
        partial_red = any(
            kinds[i] == "reduce" and len(self.plan.axes[i]) != self.rank(nodes[i].inputs[0])
            for i in loop
        )
        # In place with every operand of the variable's rank: numpy broadcasting can only
        # succeed with equal shapes, so one shape comparison per operand replaces the
        # per-node broadcast checks (less code for numba to compile, same raises).
        compact = (
            bool(wbufs) and not partial_red and all(self.rank(x) == R for x in leaves + wbufs)
        )
        if compact:
            b0 = wbufs[0]
            conds = [f"s{x}.shape == s{b0}.shape" for x in leaves + wbufs[1:]]
            if conds:
                self.emit(1, f'if not ({_all(conds)}): raise ValueError("in-place update shapes")')
            for i in loop:
                node = nodes[i]
                o = node.outputs[0]
                if kinds[i] == "reduce":  # a full reduction (no partial ones here)
                    keep = bool(node.attrs.get("keep_dims", False))
                    dims[o] = ["1"] * R if keep else []
                else:
                    dims[o] = [f"s{b0}.shape[{k}]" for k in range(R)]
            self.emit(1, f"{n} = s{b0}.size")
        else:
            self._check_shapes(loop, kinds, dims, aligned, it, R, n)
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
            x = nodes[i].inputs[0]
            (full if len(self.plan.axes[i]) == self.rank(x) else partial).append(i)
        for o in stored:
            if o in self.writes:
                continue
            if o in self.given:  # allocated by the driver from the same broadcast
                conds = [f"s{o}.shape[{k}] != {d}" for k, d in enumerate(dims[o])]
                self.emit(1, f'if {_any(conds)}: raise ValueError("output shape")')
                continue
            shp = ", ".join(dims[o]) + ("," if len(dims[o]) == 1 else "")
            self.emit(1, f"s{o} = np.empty(({shp}), np.{self.dt(o)})")
        acc = {}
        for i in full + partial:
            o = nodes[i].outputs[0]
            adt, init, comb = reduce_parts(nodes[i].opdef.scalar, self.dt(o))
            acc[i] = (adt, comb)
            if i in full:
                self.emit(1, f"a{o} = {init}", self.tag(i))
            else:
                shp = ", ".join(dims[o]) + ("," if len(dims[o]) == 1 else "")
                self.emit(1, f"s{o} = np.full(({shp}), {init}, np.{adt})", self.tag(i))
        flat = leaves + stored + [nodes[i].outputs[0] for i in partial]
        for s in flat:  # flat views of the arguments are shared by the segment's regions
            if s not in self.flat_done:
                self.flat_done.add(s)
                # (a rank-1 array is its own flat view: no reshape for numba to compile)
                flat_of = f"s{s}" if self.rank(s) == 1 else f"s{s}.reshape(s{s}.size)"
                self.emit(1, f"f{s} = {flat_of}")
        fast = _all([f"f{s}.size == {n}" for s in leaves + stored])
        inplace = any(o in self.writes for o in stored)
        if inplace and not compact:
            # element i of the variable is read and written by iteration i only
            self.emit(1, f'if not ({fast}): raise ValueError("in-place update shapes")')
        if split:
            begin_loops()

        ref = dict(self.p.ref_slots)
        # A read of a variable this region writes in place loads from the written buffer's
        # argument: the two arguments are the same array, and loads and stores through one
        # pointer need no run-time overlap check, which (seeing two pointers into the same
        # memory) would send the loop down LLVM's scalar path (Adam's m/v updates, 3x slower).
        same_buf = {
            s: o for s in leaves for o, v in self.writes.items() if o in stored and ref.get(s) == v
        }

        def body(depth, off, path, local_acc=False):
            """The loop body; ``path`` suffixes its values (the body is emitted per path)."""
            cur: dict = {}
            self.off = off
            for i in loop:
                node = nodes[i]
                for s in node.inputs[:1] if kinds[i] == "reduce" else node.inputs:
                    if s in leaves and s not in cur:
                        src = same_buf.get(s, s)
                        cur[s] = f"v{s}_{path}"
                        self.emit(depth, f"{cur[s]} = f{src}[{off(src)}]")

                def elem(s):
                    return cur.get(s) or self.scalar_name(s)

                o = node.outputs[0]
                if kinds[i] == "pointwise":
                    cur[o] = f"v{o}_{path}"
                    self.emit(depth, f"{cur[o]} = {self.expr(i, elem)}", self.tag(i))
                    if o in stored:
                        self.emit(depth, f"f{o}[{off(o)}] = {cur[o]}")
                    if o in self.writes:  # later reads of the variable see the new value
                        for s in leaves:
                            if ref.get(s) == self.writes[o]:
                                cur[s] = cur[o]
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
        k_rows = self._edge_axes(partial, R)
        k_lead = 0 if k_rows else self._edge_axes(partial, R, lead=True)
        ii = f"i{g}"
        if inplace and not partial:  # shapes were checked equal above: the flat loop only
            self.emit(1, f"for {ii} in range({n}):  # in place: every operand has the loop shape")
            body(2, lambda s: ii, f"{g}")
            self._finalize(full, partial, leaves, dims, acc)
            return
        base = 1
        # An operand of lower rank than the loop (a bias [k] against [n, k]) broadcasts on
        # every call that matters, so the flat path would be dead code for numba to compile.
        broadcasts = any(self.rank(x) < R for x in leaves)
        if (not partial or k_rows or k_lead) and not broadcasts:
            self.emit(1, f"if {fast}:  # same shapes everywhere: unit-stride flat loop")
            if not partial:
                self.emit(2, f"for {ii} in range({n}):")
                body(3, lambda s: ii, f"{g}")
            elif k_lead:  # bias gradients
                ncol, rw, cl = f"ncol{g}", f"rw{g}", f"cl{g}"
                self.emit(2, f"{ncol} = " + " * ".join(it[k_lead:]))
                self.emit(
                    2,
                    f"for {rw} in range({n} // max({ncol}, 1)):",
                    "column sums: accumulators indexed by the column",
                )
                self.emit(3, f"for {cl} in range({ncol}):")
                self.emit(4, f"{ii} = {rw} * {ncol} + {cl}")
                acc_out = {nodes[i].outputs[0] for i in partial}
                body(4, lambda s: cl if s in acc_out else ii, f"{g}")
            else:
                ncol, rw, cl = f"ncol{g}", f"rw{g}", f"cl{g}"
                self.emit(2, f"{ncol} = " + " * ".join(it[R - k_rows :]))
                self.emit(2, f"for {rw} in range({n} // max({ncol}, 1)):")
                for i in partial:
                    o = nodes[i].outputs[0]
                    self.emit(3, f"p{o} = f{o}[{rw}]")
                self.emit(3, f"for {cl} in range({ncol}):")
                self.emit(4, f"{ii} = {rw} * {ncol} + {cl}")
                body(4, lambda s: ii, f"{g}", local_acc=True)
                for i in partial:
                    o = nodes[i].outputs[0]
                    self.emit(3, f"f{o}[{rw}] = p{o}")
            self.emit(1, "else:")
            base = 2
        lower = [x for x in leaves if self.rank(x) < R]
        if broadcasts and not partial and len({self.rank(x) for x in lower}) == 1:
            # operands of the loop's shape plus operands of its trailing shape (a bias row
            # against a batch): a row loop where every operand has unit stride (vectorized)
            k = self.rank(lower[0])
            inner, rw, cl = f"inner{g}", f"rw{g}", f"cl{g}"
            conds = [f"f{x}.size == {n}" for x in leaves + stored if x not in lower]
            conds += [f"s{x}.shape[{j}] == {it[R - k + j]}" for x in lower for j in range(k)]
            self.emit(1, f"{inner} = " + " * ".join(it[R - k :]))
            self.emit(1, f"if {_all(conds)}:  # full and trailing-shape operands: row loop")
            self.emit(2, f"for {rw} in range({n} // max({inner}, 1)):")
            self.emit(3, f"for {cl} in range({inner}):")
            self.emit(4, f"{ii} = {rw} * {inner} + {cl}")
            low = set(lower)
            body(4, lambda x: cl if x in low else ii, f"{g}")
            self.emit(1, "else:")
            base = 2
        self._nest(g, it, base, R, flat, leaves, partial, dims, aligned, body)
        self._finalize(full, partial, leaves, dims, acc)

    def _check_shapes(self, loop, kinds, dims, aligned, it, R, n):
        """Broadcast checks of every node output and the iteration space (numpy's rules)."""
        nodes = self.p.nodes

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
                            f'if ({dims[o][k]} != {p}) & ({p} != 1): raise ValueError("update")',
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
            names, oks = [], []
            for k in range(ro):
                d = k + R - ro
                parts = [p for p in (aligned(s, d) for s in node.inputs) if p is not None]
                if len(set(parts)) <= 1:  # no broadcast here: reuse the expression
                    names.append(parts[0] if parts else "1")
                    continue
                name = f"d{o}_{k}"
                lines, ok = bd_lines(name, parts)
                for line in lines:
                    self.emit(1, line, self.tag(i))
                names.append(name)
                oks += ok
            if oks:
                check = f'if not ({_all(oks)}): raise ValueError("incompatible shapes")'
                self.emit(1, check, self.tag(i))
            dims[o] = names
        # iteration space
        oks = []
        for d in range(R):
            parts = []
            for i in loop:
                s = nodes[i].inputs[0] if kinds[i] == "reduce" else nodes[i].outputs[0]
                p = aligned(s, d)
                if p is not None and p not in parts:
                    parts.append(p)
            lines, ok = bd_lines(it[d], parts)
            for line in lines:
                self.emit(1, line)
            oks += ok
        if oks:
            self.emit(1, f'if not ({_all(oks)}): raise ValueError("incompatible shapes")')
        for i in loop:
            if kinds[i] == "reduce":
                x = nodes[i].inputs[0]
                conds = [f"{aligned(x, d) or 1} != {it[d]}" for d in range(R)]
                self.emit(1, f'if {_any(conds)}: raise ValueError("reduce shape")', self.tag(i))
        self.emit(1, f"{n} = " + " * ".join(it))

    def _edge_axes(self, partial, R, lead=False):
        """k if every partial reduction reduces exactly the trailing (``lead``: leading) k
        axes, fewer than all, of a rank-R input; else 0."""
        ks = set()
        for i in partial:
            x = self.p.nodes[i].inputs[0]
            ax = self.plan.axes[i]
            want = tuple(range(len(ax))) if lead else tuple(range(R - len(ax), R))
            if self.rank(x) != R or not ax or len(ax) == R or ax != want:
                return 0
            ks.add(len(ax))
        return ks.pop() if len(ks) == 1 else 0

    def _nest(self, g, it, base, R, flat, leaves, partial, dims, aligned, body):
        """The general loop nest: element strides per operand, 0 on broadcast dimensions."""
        nodes = self.p.nodes
        part_x = {nodes[i].outputs[0]: i for i in partial}

        def extent(s, d):  # the operand's extent on loop dimension d (None: not indexed)
            if s in part_x:  # accumulator: 0 on reduced axes, C strides on kept ones
                i = part_x[s]
                x = nodes[i].inputs[0]
                k = d - (R - self.rank(x))
                return None if (k < 0 or k in self.plan.axes[i]) else aligned(x, d)
            if s in leaves:
                return aligned(s, d)
            k = d - (R - len(dims[s]))
            return dims[s][k] if k >= 0 else None

        for s in flat:
            ext = [extent(s, d) for d in range(R)]
            for d in range(R):
                if ext[d] is None:
                    self.emit(base, f"t{s}_{g}_{d} = 0")
                    continue
                inner = [e for e in ext[d + 1 :] if e is not None]
                stride = " * ".join(inner) if inner else "1"
                self.emit(base, f"t{s}_{g}_{d} = ({stride}) * ({ext[d]} != 1)")
        for d in range(R):
            self.emit(base + d, f"for i{g}_{d} in range({it[d]}):")
            for s in flat:
                prev = f"o{s}_{g}_{d - 1} + " if d else ""
                self.emit(base + 1 + d, f"o{s}_{g}_{d} = {prev}i{g}_{d} * t{s}_{g}_{d}")
        body(base + R, lambda s: f"o{s}_{g}_{R - 1}", f"{g}n")

    def _finalize(self, full, partial, leaves, dims, acc):
        """Finish reductions after the loop (means, casts, keep_dims shapes)."""
        nodes = self.p.nodes
        for i in full + partial:
            node = nodes[i]
            o = node.outputs[0]
            name = node.opdef.scalar
            x = node.inputs[0]
            count = " * ".join(dims[x][k] for k in self.plan.axes[i]) or "1"
            if i in full:
                val = f"a{o}"
                if name == "mean":
                    val = f"_k.imean(a{o}, {count})" if self.dt(o) in INTS else f"a{o} / ({count})"
                val = f"np.{self.dt(o)}({val})"
                if dims[o]:
                    shp = ", ".join(dims[o]) + ("," if len(dims[o]) == 1 else "")
                    self.emit(1, f"s{o} = np.full(({shp}), {val}, np.{self.dt(o)})", self.tag(i))
                else:
                    self.emit(1, f"s{o} = {val}", self.tag(i))
            else:
                fo = f"f{o}"
                if name == "mean":
                    self.emit(1, f"for j{o} in range({fo}.size):", self.tag(i))
                    if self.dt(o) in INTS:
                        self.emit(2, f"{fo}[j{o}] = _k.imean({fo}[j{o}], {count})")
                    else:
                        self.emit(2, f"{fo}[j{o}] = {fo}[j{o}] / ({count})")
                if acc[i][0] != self.dt(o):
                    self.emit(1, f"s{o} = s{o}.astype(np.{self.dt(o)})", self.tag(i))

    def finalize0(self, i):
        node = self.p.nodes[i]
        x = f"s{node.inputs[0]}"
        return f"np.{self.dt(node.outputs[0])}({x})"
