"""Lowering generated segment functions to LLVM IR with llvmlite, without numba.

The segment functions :mod:`graphjit.codegen` renders are written in a small dialect of
Python: scalar locals, ``for ... in range`` loops, ``if``/``else``, element loads and stores
on C-contiguous arrays, ``np.<dtype>(...)`` casts, ``np.empty``/``np.full`` allocations,
``raise ValueError(...)``, and calls into :mod:`graphjit.mathlib` and
:mod:`graphjit.kernels` helpers. :func:`lower_module` translates that dialect (and the helper
functions it calls, inlined from their source) to one LLVM module, following numba's typing
rules so that a segment computes what numba's compilation of the same source computes:

* integer literals are ``int64``, float literals ``float64``;
* ``+ - * & | ^`` on integers give at least ``int64`` (``uint64`` for two unsigned operands,
  ``float64`` for ``uint64`` with a signed operand); mixed integer/float operands follow
  numpy's promotion (``int32 * float32 -> float64``); ``/`` on integers is ``float64``;
* a variable assigned values of several types has their unified type (numpy promotion);
* ``error_model="numpy"``: float division is IEEE, integer division by zero gives 0;
* ``fastmath={'reassoc'}`` puts ``reassoc`` on the segment's own float operations.

Anything outside the dialect raises :class:`Unsupported`; the caller then compiles the
source with numba as before. Nothing here imports numba (``mathlib.py`` and ``kernels.py``
are read as source text, never imported), so a cold process compiles a chain in tenths of a
second instead of the seconds numba's import, initialisation and pipeline take.

Calling convention of a lowered segment ``segN(a0, ..., ak)``::

    i32 segN(i8* allocs, <one parameter per argument>, i8* out0, ..., i8* outm)

Arrays arrive as ``PyArrayObject*`` (data pointer and dimensions read from numpy's public
struct layout), scalars as machine values, and each scalar the segment returns is stored
into a 0-d array ``out*`` the caller passes. ``np.empty``/``np.full`` call back into Python
(``gj_alloc(allocs, site, ndim, shape)``) so that arrays a segment allocates are numpy's.
The result is 0, or the 1-based index of the exception it raised in ``Lowered.errors``.
"""

from __future__ import annotations

import ast
import math
import os

import numpy as np
from llvmlite import ir

from . import mathlib_ir

__all__ = ["Lowered", "Unsupported", "lower_module"]


class Unsupported(Exception):
    """The source uses something this lowering does not translate (numba compiles it)."""


class _Retry(Exception):
    """A variable's unified type changed: compile the function again with the new types."""


FLOATS = ("float32", "float64")
SINTS = ("int8", "int16", "int32", "int64")
UINTS = ("uint8", "uint16", "uint32", "uint64")
INTS = SINTS + UINTS
NUMERIC = (*FLOATS, *INTS, "bool")
_NUMBA_NAMES = {"boolean": "bool", "bool_": "bool", **{t: t for t in NUMERIC}}
_I1, _I8, _I32, _I64 = ir.IntType(1), ir.IntType(8), ir.IntType(32), ir.IntType(64)
_PTR = _I8.as_pointer()
# PyArrayObject (numpy's public struct): PyObject_HEAD, then data, nd, dimensions, strides
_DATA_OFFSET, _DIMS_OFFSET = 16, 32


def lty(t: str) -> ir.Type:
    """The register type of scalar dtype ``t``."""
    if t == "float32":
        return ir.FloatType()
    if t == "float64":
        return ir.DoubleType()
    if t == "bool":
        return _I1
    return ir.IntType(np.dtype(t).itemsize * 8)


def mem_lty(t: str) -> ir.Type:
    """The in-memory type of dtype ``t`` (numpy's bool is a byte)."""
    return _I8 if t == "bool" else lty(t)


def promote(a: str, b: str) -> str:
    """numpy's promotion of two scalar dtypes (numba's unification of numbers)."""
    return np.promote_types(a, b).name


def arith(a: str, b: str) -> str:
    """numba's result type of ``a + b`` (and ``- * & | ^``) on scalars."""
    if a in FLOATS or b in FLOATS:
        return promote("int8" if a == "bool" else a, "int8" if b == "bool" else b)
    ua, ub = a in UINTS, b in UINTS
    if ua and ub:
        return "uint64"
    if (ua and a == "uint64") or (ub and b == "uint64"):
        return "float64"
    return "int64"


# ------------------------------------------------------------------ values
class Arr:
    """An array value: element pointer, dimensions, and the allocation site it came from."""

    __slots__ = ("dtype", "ndim", "ptr", "readonly", "shape", "site", "size")

    def __init__(self, dtype, ptr, shape, size, readonly=False, site=None):
        self.dtype = dtype
        self.ndim = len(shape)
        self.ptr = ptr
        self.shape = shape
        self.size = size
        self.readonly = readonly
        self.site = site


class V:
    """A scalar value of dtype ``t``."""

    __slots__ = ("t", "v")

    def __init__(self, t, v):
        self.t = t
        self.v = v


class Mod:
    """A module object referenced by name (``np``, ``math``, ``_m``, ``_k``)."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name


class DType:
    """A dtype referenced as ``np.float32`` (a cast when called, an argument of ``np.empty``)."""

    __slots__ = ("t",)

    def __init__(self, t):
        self.t = t


class Func:
    """A helper function inlined from its source (``src``: module key)."""

    __slots__ = ("name", "node", "src")

    def __init__(self, src, name, node):
        self.src = src
        self.name = name
        self.node = node


class Builtin:
    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name


# ------------------------------------------------------------------ helper sources
def _parse(source: str, filename: str) -> ast.Module:
    """``ast.parse``, retried twice on CPython 3.11's spurious ``SystemError: AST constructor
    recursion depth mismatch``, which another thread building AST objects at the same time
    can cause (python/cpython#106905); this runs on the compile thread."""
    for attempt in range(3):
        try:
            return ast.parse(source, filename)
        except SystemError as e:
            if "recursion depth mismatch" not in str(e) or attempt == 2:
                raise
    raise AssertionError("unreachable")


_HELPERS: dict = {}  # "_m" / "_k" -> (functions by name, constants by name)


def _helper_source(key: str):
    """Functions and module-level constants of mathlib.py (``_m``) or kernels.py (``_k``),
    read from the source text (importing them would import numba)."""
    got = _HELPERS.get(key)
    if got is None:
        fname = {"_m": "mathlib.py", "_k": "kernels.py"}[key]
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), fname)
        with open(path, encoding="utf-8") as f:
            tree = _parse(f.read(), fname)
        funcs, consts = {}, {}
        ns = {"np": np, "math": math}
        for node in tree.body:
            if isinstance(node, ast.FunctionDef):
                funcs[node.name] = node
            elif isinstance(node, ast.Assign) and len(node.targets) == 1:
                tgt = node.targets[0]
                if isinstance(tgt, ast.Name):
                    try:
                        val = eval(compile(ast.Expression(node.value), fname, "eval"), ns)
                    except Exception:
                        continue
                    ns[tgt.id] = val
                    if isinstance(val, (np.generic, int, float, bool)):
                        consts[tgt.id] = val
        got = _HELPERS[key] = (funcs, consts)
    return got


# ------------------------------------------------------------------ signatures
def parse_signature(text: str) -> list:
    """numba's explicit signature string -> ``[("scalar", dtype) | ("array", dtype, ndim,
    readonly)]``; only C-contiguous arrays are accepted."""
    text = text.strip()
    if text.startswith("(") and text.endswith(")"):
        text = text[1:-1]
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur.strip())
    out = []
    for p in parts:
        if p.startswith("Array("):
            inner = [x.strip() for x in p[len("Array(") : -1].split(",")]
            dt = _NUMBA_NAMES.get(inner[0])
            if dt is None or inner[2] not in ("'C'", '"C"'):
                raise Unsupported(f"array type {p}")
            readonly = any(x.replace(" ", "") == "readonly=True" for x in inner[3:])
            out.append(("array", dt, int(inner[1]), readonly))
        else:
            dt = _NUMBA_NAMES.get(p)
            if dt is None:
                raise Unsupported(f"argument type {p}")
            out.append(("scalar", dt))
    return out


class Lowered:
    """What :func:`lower_module` produced: the IR text and, per segment, its calling facts."""

    def __init__(self):
        self.modules: list = []  # one ir.Module per segment
        self.segments: dict = {}  # name -> {"args": sig list, "rets": [...], "sites": {...}}
        self.errors: list = []  # (exception class name, message)

    def error_code(self, exc: str, msg: str) -> int:
        key = (exc, msg)
        if key not in self.errors:
            self.errors.append(key)
        return self.errors.index(key) + 1


def lower_module(source: str) -> Lowered:
    """Lower every ``seg*`` function of a generated module's source (see module doc).

    Each segment gets its own ``ir.Module`` in ``Lowered.modules`` (the caller links them).
    """
    low = Lowered()
    for node in _parse(source, "<segments>").body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("seg"):
            sig, reassoc = _decorator(node)
            _write(low, node, sig, reassoc, None, node.name)
    return low


def lower_helper(src: str, name: str, signature: str, symbol: str, reassoc: bool) -> Lowered:
    """Lower helper function ``name`` of ``src`` (``"_k"``: kernels.py) as a top-level
    function ``symbol`` for ``signature`` (numba's ``"void(...)"``/``"f32(...)"`` form;
    the return type is whatever the body returns, as for segments)."""
    node = _helper_source(src)[0].get(name)
    if node is None:
        raise Unsupported(f"no helper {name}")
    low = Lowered()
    sig = parse_signature(signature[signature.index("(") :])
    _write(low, node, sig, reassoc, src, symbol)
    return low


def _write(low, node, sig, reassoc, src, symbol) -> None:
    """Write one function into ``low``: again, into a fresh module, while a variable turns
    out to need a wider type than a pass gave it (or the scalar returns differ)."""
    types: dict = {}
    rets = None
    for _ in range(8):
        w = _FnWriter(low, node, sig, reassoc, types, rets, src=src, symbol=symbol)
        try:
            w.write()
        except _Retry:
            types, rets = w.types, w.found_rets
            continue
        low.modules.append(w.module)
        low.segments[symbol] = {"args": sig, "rets": w.found_rets, "sites": w.sites}
        return
    raise Unsupported(f"{symbol}: types do not settle")


def _decorator(node: ast.FunctionDef):
    for dec in node.decorator_list:
        if isinstance(dec, ast.Call) and getattr(dec.func, "id", None) == "njit":
            if not dec.args or not isinstance(dec.args[0], ast.Constant):
                raise Unsupported("segment without an explicit signature")
            reassoc = False
            for kw in dec.keywords:
                if kw.arg == "fastmath":
                    reassoc = "reassoc" in ast.literal_eval(kw.value)
                elif kw.arg == "error_model":
                    if ast.literal_eval(kw.value) != "numpy":
                        raise Unsupported("error model")
            return parse_signature(dec.args[0].value), reassoc
    raise Unsupported(f"{node.name}: no njit decorator")


# ------------------------------------------------------------------ one function
class _Scope:
    """Names of one (top-level or inlined) function body."""

    def __init__(self, src, reassoc):
        self.src = src  # None: the segment itself; "_m"/"_k": a helper's module
        self.reassoc = reassoc
        self.vars: dict = {}  # name -> (dtype, alloca)
        self.arrays: dict = {}  # name -> Arr
        self.other: dict = {}  # name -> tuple of values etc. (immutable bindings)
        self.ret = None  # inlined: list of (block, value, branch instruction)
        self.exit = None


class _FnWriter:
    def __init__(self, low: Lowered, node, sig, reassoc, types, rets, src=None, symbol=None):
        self.low = low
        self.src = src  # None: a generated segment; "_k": a kernels.py function
        self.symbol = symbol or node.name
        self.node = node
        self.sig = sig
        self.reassoc = reassoc
        self.types = dict(types)  # (scope id, name) -> unified dtype
        self.rets = rets  # return structure found by an earlier pass
        self.found_rets = None
        self.sites: dict = {}  # allocation site -> dtype
        self.retry = False
        self.depth = 0  # helper inlining depth
        self.inlined = 0  # helpers inlined so far (names their variables' scope)
        self.nest = 0  # if/for/while bodies being written
        self.module = ir.Module(name=self.symbol)
        alloc_ty = ir.FunctionType(_PTR, [_PTR, _I64, _I64, _I64.as_pointer()])
        self.alloc_fn = ir.Function(self.module, alloc_ty, name="gj_alloc")

    # -------------------------------------------------------------- setup
    def write(self):
        node = self.node
        params = [a.arg for a in node.args.args]
        if len(params) != len(self.sig) or node.args.vararg or node.args.kwarg:
            raise Unsupported("parameters and signature differ")
        argtys = [_PTR]
        for spec in self.sig:
            argtys.append(_PTR if spec[0] == "array" else _arg_lty(spec[1]))
        nouts = _n_scalars(self.rets)
        argtys += [_PTR] * nouts
        fnty = ir.FunctionType(_I32, argtys)
        fn = ir.Function(self.module, fnty, name=self.symbol)
        self.fn = fn
        entry = fn.append_basic_block("entry")
        self.alloca_block = entry
        body = fn.append_basic_block("body")
        self.b = ir.IRBuilder(body)
        self.allocs_arg = fn.args[0]
        scope = _Scope(self.src, self.reassoc)
        scope.key = "top"
        self.outs = list(fn.args[1 + len(self.sig) :])
        for i, (name, spec) in enumerate(zip(params, self.sig)):
            a = fn.args[1 + i]
            if spec[0] == "array":
                scope.arrays[name] = self._array_arg(a, spec)
            else:
                v = V(spec[1], _from_arg(self.b, a, spec[1]))
                self.assign_name(scope, name, v)
        self.body(node.body, scope)
        if not self.b.block.is_terminated:
            self.do_return(scope, None)
        ir.IRBuilder(entry).branch(body)
        if self.retry or _n_scalars(self.rets) != _n_scalars(self.found_rets):
            raise _Retry
        self.found_rets = self.found_rets or ((), True)

    def _array_arg(self, obj, spec):
        _, dt, ndim, readonly = spec
        b = self.b
        data = b.load(b.bitcast(b.gep(obj, [ir.Constant(_I64, _DATA_OFFSET)]), _PTR.as_pointer()))
        ptr = b.bitcast(data, mem_lty(dt).as_pointer())
        shape = []
        if ndim:
            dims = b.load(
                b.bitcast(
                    b.gep(obj, [ir.Constant(_I64, _DIMS_OFFSET)]), _I64.as_pointer().as_pointer()
                )
            )
            for k in range(ndim):
                shape.append(b.load(b.gep(dims, [ir.Constant(_I64, k)])))
        return Arr(dt, ptr, shape, self._product(shape), readonly)

    def _product(self, dims):
        size = ir.Constant(_I64, 1)
        for d in dims:
            size = self.b.mul(size, d)
        return size

    # -------------------------------------------------------------- statements
    def body(self, stmts, scope):
        for st in stmts:
            if self.b.block.is_terminated:
                return  # unreachable code after raise/return
            self.stmt(st, scope)

    def stmt(self, st, scope):
        if isinstance(st, ast.Expr):
            if isinstance(st.value, ast.Constant):
                return  # docstring
            self.expr(st.value, scope)
            return
        if isinstance(st, ast.Assign):
            val = self.expr(st.value, scope)
            for tgt in st.targets:
                self.assign(tgt, val, scope)
            return
        if isinstance(st, ast.AugAssign):
            cur = self.expr(st.target, scope)  # (expr reads a Store-context node too)
            val = self.binop(st.op, cur, self.expr(st.value, scope), scope)
            self.assign(st.target, val, scope)
            return
        if isinstance(st, ast.If):
            self.do_if(st, scope)
            return
        if isinstance(st, ast.For):
            self.do_for(st, scope)
            return
        if isinstance(st, ast.While):
            self.do_while(st, scope)
            return
        if isinstance(st, ast.Raise):
            self.do_raise(st, scope)
            return
        if isinstance(st, ast.Return):
            self.do_return(scope, st.value)
            return
        if isinstance(st, ast.Pass):
            return
        raise Unsupported(f"statement {type(st).__name__}")

    def assign(self, tgt, val, scope):
        if isinstance(tgt, ast.Name):
            self.assign_name(scope, tgt.id, val)
        elif isinstance(tgt, ast.Tuple):
            if not isinstance(val, tuple) or len(val) != len(tgt.elts):
                raise Unsupported("tuple unpacking")
            for t, v in zip(tgt.elts, val):
                self.assign(t, v, scope)
        elif isinstance(tgt, ast.Subscript):
            arr = self.expr(tgt.value, scope)
            if not isinstance(arr, Arr) or not isinstance(val, V):
                raise Unsupported("store")
            if arr.readonly:
                raise Unsupported("store into a read-only array")
            ptr = self.element(arr, tgt.slice, scope)
            self.b.store(self.to_mem(self.cast(val, arr.dtype), arr.dtype), ptr)
        else:
            raise Unsupported(f"assignment to {type(tgt).__name__}")

    def assign_name(self, scope, name, val):
        if isinstance(val, Arr):
            if name in scope.arrays and scope.arrays[name] is not val and self.nest:
                # (straight-line rebinding, ``s = s.astype(...)``, is fine)
                raise Unsupported(f"array name {name} rebound inside a branch or loop")
            scope.arrays[name] = val
            return
        if not isinstance(val, V):
            if name in scope.vars:
                raise Unsupported(f"{name} rebound to a non-scalar")
            scope.other[name] = val
            return
        key = (scope.key, name)
        want = self.types.get(key)
        if want is None:
            want = self.types[key] = val.t
        if want != val.t:
            uni = promote(want, val.t)
            if uni != want:
                self.types[key] = uni
                self.retry = True
                want = uni
        slot = scope.vars.get(name)
        if slot is None or slot[0] != want:
            ab = ir.IRBuilder(self.alloca_block)
            slot = (want, ab.alloca(lty(want), name=name))
            scope.vars[name] = slot
        self.b.store(self.cast(val, want).v, slot[1])

    def do_if(self, st, scope):
        cond = self.truth(self.expr(st.test, scope))
        b = self.b
        then_bb = b.append_basic_block("then")
        else_bb = b.append_basic_block("else") if st.orelse else None
        end_bb = b.append_basic_block("endif")
        b.cbranch(cond, then_bb, else_bb or end_bb)
        b.position_at_end(then_bb)
        self.nest += 1
        self.body(st.body, scope)
        if not b.block.is_terminated:
            b.branch(end_bb)
        if else_bb is not None:
            b.position_at_end(else_bb)
            self.body(st.orelse, scope)
            if not b.block.is_terminated:
                b.branch(end_bb)
        self.nest -= 1
        b.position_at_end(end_bb)

    def do_for(self, st, scope):
        it = st.iter
        if not (
            isinstance(it, ast.Call)
            and isinstance(it.func, ast.Name)
            and it.func.id == "range"
            and not it.keywords
            and 1 <= len(it.args) <= 3
            and isinstance(st.target, ast.Name)
            and not st.orelse
        ):
            raise Unsupported("for loop other than over range")
        args = [self.cast(self.expr(a, scope), "int64").v for a in it.args]
        start, stop, step = ir.Constant(_I64, 0), args[0], 1
        if len(args) >= 2:
            start, stop = args[0], args[1]
        if len(args) == 3:
            c = it.args[2]
            if not (isinstance(c, ast.Constant) and isinstance(c.value, int) and c.value):
                raise Unsupported("range step")
            step = c.value
        b = self.b
        ab = ir.IRBuilder(self.alloca_block)
        ctr = ab.alloca(_I64, name="ctr")
        b.store(start, ctr)
        head = b.append_basic_block("for.head")
        body = b.append_basic_block("for.body")
        end = b.append_basic_block("for.end")
        b.branch(head)
        b.position_at_end(head)
        i = b.load(ctr)
        more = b.icmp_signed("<" if step > 0 else ">", i, stop)
        b.cbranch(more, body, end)
        b.position_at_end(body)
        self.assign_name(scope, st.target.id, V("int64", i))
        self.nest += 1
        self.body(st.body, scope)
        self.nest -= 1
        if not b.block.is_terminated:
            b.store(b.add(i, ir.Constant(_I64, step), flags=["nsw"]), ctr)
            b.branch(head)
        b.position_at_end(end)

    def do_while(self, st, scope):
        if st.orelse:
            raise Unsupported("while/else")
        b = self.b
        head = b.append_basic_block("while.head")
        body = b.append_basic_block("while.body")
        end = b.append_basic_block("while.end")
        b.branch(head)
        b.position_at_end(head)
        b.cbranch(self.truth(self.expr(st.test, scope)), body, end)
        b.position_at_end(body)
        self.nest += 1
        self.body(st.body, scope)
        self.nest -= 1
        if not b.block.is_terminated:
            b.branch(head)
        b.position_at_end(end)

    def do_raise(self, st, scope):
        exc = st.exc
        msg = ""
        if isinstance(exc, ast.Call):
            if exc.args and isinstance(exc.args[0], ast.Constant):
                msg = str(exc.args[0].value)
            exc = exc.func
        if not isinstance(exc, ast.Name):
            raise Unsupported("raise")
        code = self.low.error_code(exc.id, msg)
        self.b.ret(ir.Constant(_I32, code))

    def do_return(self, scope, value):
        if scope.ret is not None:  # an inlined helper: the caller joins the values
            v = V("bool", ir.Constant(_I1, 0)) if value is None else self.expr(value, scope)
            if not isinstance(v, (V, tuple)):
                raise Unsupported("helper returning an array")
            br = self.b.branch(scope.exit)
            scope.ret.append((self.b.block, v, br))
            return
        vals = () if value is None else self.expr(value, scope)
        single = not isinstance(vals, tuple)
        items = (vals,) if single else vals
        rets, k = [], 0
        for v in items:
            if isinstance(v, Arr):
                if v.site is None:
                    raise Unsupported("returning an array the segment did not allocate")
                rets.append(("array", v.site))
            elif isinstance(v, V):
                rets.append(("scalar", v.t))
                if k < len(self.outs):
                    arr_ptr = self.outs[k]
                    data = self.b.load(
                        self.b.bitcast(
                            self.b.gep(arr_ptr, [ir.Constant(_I64, _DATA_OFFSET)]),
                            _PTR.as_pointer(),
                        )
                    )
                    self.b.store(
                        self.to_mem(v, v.t), self.b.bitcast(data, mem_lty(v.t).as_pointer())
                    )
                k += 1
            else:
                raise Unsupported("return value")
        found = (tuple(rets), single)
        if self.found_rets is not None and self.found_rets != found:
            raise Unsupported("returns of different structure")
        self.found_rets = found
        self.b.ret(ir.Constant(_I32, 0))

    # -------------------------------------------------------------- expressions
    def expr(self, e, scope):
        if isinstance(e, ast.Constant):
            v = e.value
            if isinstance(v, bool):
                return V("bool", ir.Constant(_I1, int(v)))
            if isinstance(v, int):
                return V("int64", ir.Constant(_I64, v))
            if isinstance(v, float):
                return V("float64", ir.Constant(ir.DoubleType(), v))
            raise Unsupported(f"constant {v!r}")
        if isinstance(e, ast.Name):
            return self.name(e.id, scope)
        if isinstance(e, ast.Tuple):
            return tuple(self.expr(x, scope) for x in e.elts)
        if isinstance(e, ast.BinOp):
            return self.binop(e.op, self.expr(e.left, scope), self.expr(e.right, scope), scope)
        if isinstance(e, ast.UnaryOp):
            return self.unary(e.op, self.expr(e.operand, scope), scope)
        if isinstance(e, ast.Compare):
            return self.compare(e, scope)
        if isinstance(e, ast.BoolOp):
            return self.boolop(e, scope)
        if isinstance(e, ast.IfExp):
            c = self.truth(self.expr(e.test, scope))
            a, b = self.expr(e.body, scope), self.expr(e.orelse, scope)
            if not (isinstance(a, V) and isinstance(b, V)):
                raise Unsupported("ternary of non-scalars")
            t = promote(a.t, b.t)
            return V(t, self.b.select(c, self.cast(a, t).v, self.cast(b, t).v))
        if isinstance(e, ast.Attribute):
            return self.attribute(e, scope)
        if isinstance(e, ast.Subscript):
            return self.subscript(e, scope)
        if isinstance(e, ast.Call):
            return self.call(e, scope)
        raise Unsupported(f"expression {type(e).__name__}")

    def name(self, n, scope):
        if n in scope.arrays:
            return scope.arrays[n]
        if n in scope.vars:
            t, slot = scope.vars[n]
            return V(t, self.b.load(slot))
        if n in scope.other:
            return scope.other[n]
        if n in ("np", "numpy"):
            return Mod("np")
        if n == "math":
            return Mod("math")
        if n in ("_m", "_k"):
            return Mod(n)
        if n in ("max", "min", "abs", "range", "float", "int", "bool", "len"):
            return Builtin(n)
        if scope.src is not None:
            funcs, consts = _helper_source(scope.src)
            if n in funcs:
                return Func(scope.src, n, funcs[n])
            if n in consts:
                return self.const(consts[n])
            if n in ("f32", "f64"):
                return DType("float32" if n == "f32" else "float64")
        raise Unsupported(f"name {n}")

    def const(self, val):
        if isinstance(val, (bool, np.bool_)):
            return V("bool", ir.Constant(_I1, int(val)))
        if isinstance(val, np.generic):
            t = val.dtype.name
            if t not in NUMERIC:
                raise Unsupported(f"constant dtype {t}")
            return V(t, ir.Constant(lty(t), val.item()))
        if isinstance(val, int):
            return V("int64", ir.Constant(_I64, val))
        if isinstance(val, float):
            return V("float64", ir.Constant(ir.DoubleType(), val))
        raise Unsupported(f"constant {val!r}")

    def attribute(self, e, scope):
        base = self.expr(e.value, scope)
        a = e.attr
        if isinstance(base, Mod):
            if base.name == "np":
                if a in NUMERIC or a == "bool_":
                    return DType("bool" if a == "bool_" else a)
                if a in ("inf", "nan", "pi", "e"):
                    return self.const(float(getattr(np, a)))
                return Builtin(f"np.{a}")
            if base.name == "math":
                if a in ("inf", "nan", "pi", "e"):
                    return self.const(float(getattr(math, a)))
                return Builtin(f"math.{a}")
            funcs, _ = _helper_source(base.name)
            if a in funcs:
                return Func(base.name, a, funcs[a])
            raise Unsupported(f"{base.name}.{a}")
        if isinstance(base, Arr):
            if a == "shape":
                return tuple(V("int64", d) for d in base.shape)
            if a == "size":
                return V("int64", base.size)
            if a == "ndim":
                return V("int64", ir.Constant(_I64, base.ndim))
            if a in ("reshape", "astype"):
                return ("method", a, base)
        if isinstance(base, _IInfo):
            info = np.iinfo(base.t)
            if a in ("min", "max"):
                return V("int64", ir.Constant(_I64, int(getattr(info, a))))
        raise Unsupported(f"attribute .{a}")

    def subscript(self, e, scope):
        base = self.expr(e.value, scope)
        if isinstance(base, tuple):
            idx = e.slice
            if isinstance(idx, ast.UnaryOp) and isinstance(idx.op, ast.USub):
                idx = ast.Constant(-idx.operand.value)
            if not (isinstance(idx, ast.Constant) and isinstance(idx.value, int)):
                raise Unsupported("tuple index")
            return base[idx.value]
        if isinstance(base, Arr):
            ptr = self.element(base, e.slice, scope)
            return self.from_mem(self.b.load(ptr), base.dtype)
        raise Unsupported("subscript")

    def element(self, arr: Arr, sl, scope):
        """Pointer to ``arr[sl]`` (full integer indexing of a C-contiguous array)."""
        if isinstance(sl, ast.Tuple):
            idx = [self.expr(x, scope) for x in sl.elts]
        else:
            idx = [self.expr(sl, scope)]
        if arr.ndim == 0 and len(idx) == 1 and idx[0] == ():
            idx = []
        if len(idx) != arr.ndim or not all(isinstance(i, V) and i.t in INTS for i in idx):
            raise Unsupported("array index")
        b = self.b
        flat = ir.Constant(_I64, 0)
        for k, i in enumerate(idx):
            iv = self.cast(i, "int64").v
            flat = iv if k == 0 else b.add(b.mul(flat, arr.shape[k]), iv)
        return b.gep(arr.ptr, [flat])

    def compare(self, e, scope):
        left = self.expr(e.left, scope)
        result = None
        for op, right_e in zip(e.ops, e.comparators):
            right = self.expr(right_e, scope)
            r = self.cmp2(op, left, right)
            result = r if result is None else V("bool", self.b.and_(result.v, r.v))
            left = right
        return result

    def cmp2(self, op, a, b):
        if isinstance(a, tuple) and isinstance(b, tuple):  # shape == shape
            if not isinstance(op, (ast.Eq, ast.NotEq)):
                raise Unsupported("tuple ordering")
            if len(a) != len(b):
                eq = V("bool", ir.Constant(_I1, 0))
            else:
                eq = V("bool", ir.Constant(_I1, 1))
                for x, y in zip(a, b):
                    eq = V("bool", self.b.and_(eq.v, self.cmp2(ast.Eq(), x, y).v))
            return eq if isinstance(op, ast.Eq) else V("bool", self.b.not_(eq.v))
        if not (isinstance(a, V) and isinstance(b, V)):
            raise Unsupported("comparison of non-scalars")
        t = promote(a.t, b.t) if a.t != b.t else a.t
        if t == "bool" and not isinstance(op, (ast.Eq, ast.NotEq)):
            t = "int64"
        x, y = self.cast(a, t).v, self.cast(b, t).v
        sym = {
            ast.Lt: "<",
            ast.LtE: "<=",
            ast.Gt: ">",
            ast.GtE: ">=",
            ast.Eq: "==",
            ast.NotEq: "!=",
        }.get(type(op))
        if sym is None:
            raise Unsupported(f"comparison {type(op).__name__}")
        if t in FLOATS:
            if sym == "!=":
                return V("bool", self.b.fcmp_unordered("!=", x, y))
            return V("bool", self.b.fcmp_ordered(sym, x, y))
        if t in UINTS or t == "bool":
            return V("bool", self.b.icmp_unsigned(sym, x, y))
        return V("bool", self.b.icmp_signed(sym, x, y))

    def boolop(self, e, scope):
        b = self.b
        is_and = isinstance(e.op, ast.And)
        first = self.truth(self.expr(e.values[0], scope))
        ab = ir.IRBuilder(self.alloca_block)
        slot = ab.alloca(_I1)
        b.store(first, slot)
        end = b.append_basic_block("bool.end")
        for val in e.values[1:]:
            nxt = b.append_basic_block("bool.next")
            cur = b.load(slot)
            if is_and:
                b.cbranch(cur, nxt, end)
            else:
                b.cbranch(cur, end, nxt)
            b.position_at_end(nxt)
            b.store(self.truth(self.expr(val, scope)), slot)
        b.branch(end)
        b.position_at_end(end)
        return V("bool", b.load(slot))

    def truth(self, v):
        if not isinstance(v, V):
            raise Unsupported("truth of a non-scalar")
        if v.t == "bool":
            return v.v
        if v.t in FLOATS:
            return self.b.fcmp_unordered("!=", v.v, ir.Constant(v.v.type, 0.0))
        return self.b.icmp_unsigned("!=", v.v, ir.Constant(v.v.type, 0))

    def unary(self, op, v, scope):
        if not isinstance(v, V):
            raise Unsupported("unary operator on a non-scalar")
        b = self.b
        if isinstance(op, ast.Not):
            return V("bool", b.not_(self.truth(v)))
        if isinstance(op, ast.UAdd):
            return v
        if isinstance(op, ast.USub):
            if v.t in FLOATS:
                return V(v.t, b.fneg(v.v, flags=self._ff(scope)))
            t = arith(v.t, v.t)
            if t not in INTS:
                raise Unsupported("negation")
            return V(t, b.neg(self.cast(v, t).v))
        if isinstance(op, ast.Invert):
            if v.t == "bool":
                return V("bool", b.not_(v.v))
            if v.t in INTS:
                t = arith(v.t, v.t)
                return V(t, b.not_(self.cast(v, t).v))
        raise Unsupported(f"unary {type(op).__name__}")

    def _ff(self, scope):
        return ("reassoc",) if scope.reassoc else ()

    def binop(self, op, a, c, scope):
        if not (isinstance(a, V) and isinstance(c, V)):
            raise Unsupported("arithmetic on non-scalars")
        b = self.b
        ff = self._ff(scope)
        if isinstance(op, (ast.BitAnd, ast.BitOr, ast.BitXor)):
            if a.t == "bool" and c.t == "bool":
                t = "bool"
            else:
                t = arith(a.t, c.t)
                if t not in INTS:
                    raise Unsupported("bitwise operator on floats")
            x, y = self.cast(a, t).v, self.cast(c, t).v
            fn = {ast.BitAnd: b.and_, ast.BitOr: b.or_, ast.BitXor: b.xor}[type(op)]
            return V(t, fn(x, y))
        if isinstance(op, (ast.LShift, ast.RShift)):
            t = arith(a.t, c.t)
            if t not in INTS:
                raise Unsupported("shift")
            x, y = self.cast(a, t).v, self.cast(c, t).v
            if isinstance(op, ast.LShift):
                return V(t, b.shl(x, y))
            return V(t, b.lshr(x, y) if t in UINTS else b.ashr(x, y))
        if isinstance(op, ast.Div):
            t = "float64" if a.t not in FLOATS and c.t not in FLOATS else arith(a.t, c.t)
            return V(t, b.fdiv(self.cast(a, t).v, self.cast(c, t).v, flags=ff))
        t = arith(a.t, c.t)
        x, y = self.cast(a, t).v, self.cast(c, t).v
        if isinstance(op, ast.Pow):
            if t not in FLOATS or a.t not in FLOATS or c.t not in FLOATS:
                raise Unsupported("power of integers")
            return V(t, self.intrinsic("llvm.pow", t, [x, y]))
        if t in FLOATS:
            if isinstance(op, ast.Add):
                return V(t, b.fadd(x, y, flags=ff))
            if isinstance(op, ast.Sub):
                return V(t, b.fsub(x, y, flags=ff))
            if isinstance(op, ast.Mult):
                return V(t, b.fmul(x, y, flags=ff))
            if isinstance(op, ast.FloorDiv):
                return V(t, self.intrinsic("llvm.floor", t, [b.fdiv(x, y)]))
            if isinstance(op, ast.Mod):
                r = b.frem(x, y)
                zero = ir.Constant(x.type, 0.0)
                fix = b.and_(
                    b.fcmp_ordered("!=", r, zero),
                    b.xor(b.fcmp_ordered("<", r, zero), b.fcmp_ordered("<", y, zero)),
                )
                return V(t, b.select(fix, b.fadd(r, y), r))
            raise Unsupported(f"float operator {type(op).__name__}")
        if isinstance(op, ast.Add):
            return V(t, b.add(x, y))
        if isinstance(op, ast.Sub):
            return V(t, b.sub(x, y))
        if isinstance(op, ast.Mult):
            return V(t, b.mul(x, y))
        if isinstance(op, (ast.FloorDiv, ast.Mod)):
            return V(t, self.int_divmod(isinstance(op, ast.FloorDiv), x, y, t))
        raise Unsupported(f"integer operator {type(op).__name__}")

    def int_divmod(self, div, x, y, t):
        """Python floor division / modulo; division by zero gives 0 (numpy error model)."""
        b = self.b
        zero = ir.Constant(x.type, 0)
        one = ir.Constant(x.type, 1)
        isz = b.icmp_unsigned("==", y, zero)
        ys = b.select(isz, one, y)
        if t in UINTS:
            r = b.udiv(x, ys) if div else b.urem(x, ys)
            return b.select(isz, zero, r)
        q = b.sdiv(x, ys)
        r = b.srem(x, ys)
        adj = b.and_(
            b.icmp_signed("!=", r, zero),
            b.xor(b.icmp_signed("<", r, zero), b.icmp_signed("<", ys, zero)),
        )
        if div:
            out = b.select(adj, b.sub(q, one), q)
        else:
            out = b.select(adj, b.add(r, ys), r)
        return b.select(isz, zero, out)

    # -------------------------------------------------------------- calls
    def call(self, e, scope):
        fn = self.expr(e.func, scope)
        if e.keywords:
            raise Unsupported("keyword arguments")
        if isinstance(fn, tuple) and fn and fn[0] == "method":
            return self.method(fn[1], fn[2], e.args, scope)
        if isinstance(fn, DType):
            (arg,) = e.args
            v = self.expr(arg, scope)
            if not isinstance(v, V):
                raise Unsupported("cast of a non-scalar")
            return self.cast(v, fn.t)
        if isinstance(fn, Func):
            return self.inline(fn, [self.expr(a, scope) for a in e.args], scope)
        if isinstance(fn, Builtin):
            return self.builtin(fn.name, e.args, scope)
        raise Unsupported("call")

    def method(self, name, arr, args, scope):
        if name == "reshape":
            (n,) = [self.expr(a, scope) for a in args]
            if not isinstance(n, V):
                raise Unsupported("reshape")
            # the flat view of a C-contiguous array (what generated code asks for)
            return Arr(arr.dtype, arr.ptr, [arr.size], arr.size, arr.readonly, None)
        if name == "astype":
            (dt,) = [self.expr(a, scope) for a in args]
            if not isinstance(dt, DType):
                raise Unsupported("astype")
            out = self.alloc(arr.shape, dt.t)
            self._loop(
                arr.size,
                lambda i: self.b.store(
                    self.to_mem(
                        self.cast(
                            self.from_mem(self.b.load(self.b.gep(arr.ptr, [i])), arr.dtype), dt.t
                        ),
                        dt.t,
                    ),
                    self.b.gep(out.ptr, [i]),
                ),
            )
            return out
        raise Unsupported(f"method {name}")

    def _loop(self, n, body):
        b = self.b
        ab = ir.IRBuilder(self.alloca_block)
        ctr = ab.alloca(_I64)
        b.store(ir.Constant(_I64, 0), ctr)
        head = b.append_basic_block("fill.head")
        blk = b.append_basic_block("fill.body")
        end = b.append_basic_block("fill.end")
        b.branch(head)
        b.position_at_end(head)
        i = b.load(ctr)
        b.cbranch(b.icmp_signed("<", i, n), blk, end)
        b.position_at_end(blk)
        body(i)
        b.store(b.add(i, ir.Constant(_I64, 1)), ctr)
        b.branch(head)
        b.position_at_end(end)

    def alloc(self, dims, dt):
        """``np.empty(dims, dt)`` through the ``gj_alloc`` callback; failure raises."""
        b = self.b
        site = len(self.sites)
        self.sites[site] = dt
        ab = ir.IRBuilder(self.alloca_block)
        buf = ab.alloca(_I64, size=max(len(dims), 1))
        for k, d in enumerate(dims):
            b.store(d, b.gep(buf, [ir.Constant(_I64, k)]))
        data = b.call(
            self.alloc_fn,
            [self.allocs_arg, ir.Constant(_I64, site), ir.Constant(_I64, len(dims)), buf],
        )
        fail = b.append_basic_block("alloc.fail")
        ok = b.append_basic_block("alloc.ok")
        b.cbranch(b.icmp_unsigned("==", data, ir.Constant(_PTR, None)), fail, ok)
        b.position_at_end(fail)
        b.ret(ir.Constant(_I32, self.low.error_code("MemoryError", "allocation failed")))
        b.position_at_end(ok)
        ptr = b.bitcast(data, mem_lty(dt).as_pointer())
        return Arr(dt, ptr, list(dims), self._product(dims), False, site)

    def _dims(self, v):
        items = v if isinstance(v, tuple) else (v,)
        if not all(isinstance(x, V) and x.t in INTS for x in items):
            raise Unsupported("shape")
        return [self.cast(x, "int64").v for x in items]

    def builtin(self, name, args, scope):
        vals = [self.expr(a, scope) for a in args]
        b = self.b
        if name in ("np.empty", "np.full"):
            dims = self._dims(vals[0])
            dt = vals[-1]
            if not isinstance(dt, DType) or len(vals) != (2 if name == "np.empty" else 3):
                raise Unsupported(name)
            out = self.alloc(dims, dt.t)
            if name == "np.full":
                fill = self.to_mem(self.cast(vals[1], dt.t), dt.t)
                self._loop(out.size, lambda i: b.store(fill, b.gep(out.ptr, [i])))
            return out
        if name == "np.iinfo":
            (dt,) = vals
            if not isinstance(dt, DType) or dt.t not in INTS:
                raise Unsupported("iinfo")
            return _IInfo(dt.t)
        if not all(isinstance(v, V) for v in vals):
            raise Unsupported(f"{name} of non-scalars")
        if name in ("max", "min"):
            if len(vals) < 2:
                raise Unsupported(name)
            t = vals[0].t
            for v in vals[1:]:
                t = promote(t, v.t)
            acc = self.cast(vals[0], t)
            for v in vals[1:]:
                v = self.cast(v, t)
                better = self.cmp2(ast.Gt() if name == "max" else ast.Lt(), v, acc)
                acc = V(t, b.select(better.v, v.v, acc.v))
            return acc
        if name == "abs":
            (v,) = vals
            if v.t in FLOATS:
                return V(v.t, self.intrinsic("llvm.fabs", v.t, [v.v]))
            t = arith(v.t, v.t) if v.t not in INTS else v.t
            x = self.cast(v, t).v
            neg = b.icmp_signed("<", x, ir.Constant(x.type, 0))
            return V(t, b.select(neg, b.neg(x), x))
        return self.math(name, vals)

    def math(self, name, vals):
        b = self.b
        short = name.split(".", 1)[1] if "." in name else name
        if short in ("isnan", "isinf", "isfinite"):
            (v,) = vals
            if v.t not in FLOATS:
                return V("bool", ir.Constant(_I1, int(short == "isfinite")))
            if short == "isnan":
                return V("bool", b.fcmp_unordered("uno", v.v, v.v))
            a = self.intrinsic("llvm.fabs", v.t, [v.v])
            inf = ir.Constant(v.v.type, float("inf"))
            if short == "isinf":
                return V("bool", b.fcmp_ordered("==", a, inf))
            return V("bool", b.fcmp_ordered("<", a, inf))
        # float functions: integer arguments are computed in float64 (numpy and numba)
        if len(vals) not in (1, 2):
            raise Unsupported(name)
        t = vals[0].t if vals[0].t in FLOATS else "float64"
        if len(vals) == 2:
            t = promote(t, vals[1].t if vals[1].t in FLOATS else "float64")
        xs = [self.cast(v, t).v for v in vals]
        intr = {
            "sqrt": "llvm.sqrt",
            "floor": "llvm.floor",
            "ceil": "llvm.ceil",
            "rint": "llvm.rint",
            "fabs": "llvm.fabs",
            "exp": "llvm.exp",
            "log": "llvm.log",
            "sin": "llvm.sin",
            "cos": "llvm.cos",
            "power": "llvm.pow",
            "pow": "llvm.pow",
            "trunc": "llvm.trunc",
        }
        if short in intr:
            return V(t, self.intrinsic(intr[short], t, xs))
        if short == "fmod":
            return V(t, b.frem(*xs))
        libm = {
            "tan": "tan",
            "arcsin": "asin",
            "arccos": "acos",
            "arctan": "atan",
            "asin": "asin",
            "acos": "acos",
            "atan": "atan",
            "sinh": "sinh",
            "cosh": "cosh",
            "tanh": "tanh",
            "expm1": "expm1",
            "log1p": "log1p",
            "erf": "erf",
            "erfc": "erfc",
            "arctan2": "atan2",
            "atan2": "atan2",
            "log10": "log10",
            "log2": "log2",
        }
        if short in libm:
            sym = libm[short] + ("f" if t == "float32" else "")
            return V(t, self.libcall(sym, t, xs))
        raise Unsupported(f"function {name}")

    def intrinsic(self, name, t, args):
        ty = lty(t)
        fnty = ir.FunctionType(ty, [ty] * len(args))
        fn = self.b.module.declare_intrinsic(name, [ty], fnty)
        return self.b.call(fn, args)

    def libcall(self, sym, t, args):
        ty = lty(t)
        mod = self.b.module
        fn = mod.globals.get(sym)
        if fn is None:
            fn = ir.Function(mod, ir.FunctionType(ty, [ty] * len(args)), name=sym)
        return self.b.call(fn, args)

    # -------------------------------------------------------------- inlining
    _INTRINSICS = ("_fma", "_fabs", "_copysign", "_div", "_scale2", "_pow2", "_logsplit")

    def inline(self, fn: Func, args, scope):
        if fn.name in self._INTRINSICS:
            return self.mathlib_intrinsic(fn.name, args)
        if fn.name == "_lit":  # kernels._lit(x, v): v in x's dtype
            return self.cast(args[1], args[0].dtype)
        if fn.name == "_exp_nonpos":  # kernels._exp_nonpos: mathlib's, argument's dtype
            (x,) = args
            name = "exp_nonpos_f32" if x.t == "float32" else "exp_nonpos_f64"
            return self.inline(Func("_m", name, _helper_source("_m")[0][name]), args, scope)
        node = fn.node
        self.depth += 1
        if self.depth > 12:
            raise Unsupported("helper nesting")
        for dec in node.decorator_list:
            if isinstance(dec, ast.Name) and dec.id == "intrinsic":
                raise Unsupported(f"intrinsic {fn.name}")
            if isinstance(dec, ast.Call) and any(kw.arg == "fastmath" for kw in dec.keywords):
                raise Unsupported("fastmath helper")
        params = [a.arg for a in node.args.args]
        if len(params) != len(args) or node.args.vararg or node.args.defaults:
            raise Unsupported(f"call of {fn.name}")
        inner = _Scope(fn.src, False)
        self.inlined += 1
        inner.key = f"{fn.src}.{fn.name}#{self.inlined}"
        for p, a in zip(params, args):
            self.assign_name(inner, p, a)
        inner.ret = []
        inner.exit = self.b.append_basic_block(f"ret.{fn.name}")
        self.body(node.body, inner)
        if not self.b.block.is_terminated:
            self.do_return(inner, None)
        self.depth -= 1
        live = inner.ret  # (block, value, branch to the exit) per return
        if not live:
            raise Unsupported(f"{fn.name} never returns")
        first = live[0][1]
        if isinstance(first, tuple):
            n = len(first)
            if not all(isinstance(r[1], tuple) and len(r[1]) == n for r in live):
                raise Unsupported("helper returns of different structure")
            types = [first[k].t for k in range(n)]
            for _, v, _ in live[1:]:
                types = [promote(t, v[k].t) for k, t in enumerate(types)]
            return tuple(self._join(live, types[k], lambda v, k=k: v[k], inner) for k in range(n))
        t = first.t
        for _, v, _ in live[1:]:
            if not isinstance(v, V):
                raise Unsupported("helper returns of different structure")
            t = promote(t, v.t)
        return self._join(live, t, lambda v: v, inner)

    def _join(self, live, t, pick, inner):
        b = self.b
        incoming = []
        for blk, v, br in live:
            b.position_before(br)
            incoming.append((self.cast(pick(v), t).v, blk))
        b.position_at_end(inner.exit)
        if len(incoming) == 1:
            return V(t, incoming[0][0])
        phi = b.phi(lty(t))
        for val, blk in incoming:
            phi.add_incoming(val, blk)
        return V(t, phi)

    def mathlib_intrinsic(self, name, args):
        b = self.b
        if not all(isinstance(a, V) and a.t in FLOATS for a in args):
            raise Unsupported(f"{name} on non-floats")
        t = args[0].t
        if any(a.t != t for a in args):
            raise Unsupported(f"{name} of mixed types")
        xs = [a.v for a in args]
        if name == "_fma":
            return V(t, self.intrinsic("llvm.fmuladd", t, xs))
        if name == "_fabs":
            return V(t, self.intrinsic("llvm.fabs", t, xs))
        if name == "_copysign":
            return V(t, self.intrinsic("llvm.copysign", t, xs))
        if name == "_div":
            return V(t, b.fdiv(*xs))
        f32 = t == "float32"
        if name == "_scale2":
            return V(t, mathlib_ir.scale2(b, xs[0], xs[1], f32))
        if name == "_pow2":
            return V(t, mathlib_ir.pow2(b, xs[0], f32))
        if name == "_logsplit":
            m, e = mathlib_ir.logsplit(b, xs[0], f32)
            return (V(t, m), V(t, e))
        raise Unsupported(name)

    # -------------------------------------------------------------- conversions
    def cast(self, v, t):
        """``v`` converted to dtype ``t`` (numba's conversions: ``fptosi`` for float to int,
        ``!= 0`` for anything to bool)."""
        if not isinstance(v, V):
            raise Unsupported("conversion of a non-scalar")
        if v.t == t:
            return v
        b = self.b
        x = v.v
        src = v.t
        if t == "bool":
            if src in FLOATS:
                return V(t, b.fcmp_unordered("!=", x, ir.Constant(x.type, 0.0)))
            return V(t, b.icmp_unsigned("!=", x, ir.Constant(x.type, 0)))
        dst = lty(t)
        if t in FLOATS:
            if src in FLOATS:
                if t == "float64":
                    return V(t, b.fpext(x, dst))
                return V(t, b.fptrunc(x, dst))
            if src in UINTS or src == "bool":
                return V(t, b.uitofp(x, dst))
            return V(t, b.sitofp(x, dst))
        # integer destination
        if src in FLOATS:
            return V(t, b.fptoui(x, dst) if t in UINTS else b.fptosi(x, dst))
        sw, dw = x.type.width, dst.width
        if sw == dw:
            return V(t, x)
        if sw > dw:
            return V(t, b.trunc(x, dst))
        if src in UINTS or src == "bool":
            return V(t, b.zext(x, dst))
        return V(t, b.sext(x, dst))

    def to_mem(self, v, t):
        if t == "bool":
            return self.b.zext(v.v, _I8)
        return v.v

    def from_mem(self, raw, t):
        if t == "bool":
            return V(t, self.b.icmp_unsigned("!=", raw, ir.Constant(_I8, 0)))
        return V(t, raw)


class _IInfo:
    __slots__ = ("t",)

    def __init__(self, t):
        self.t = t


def _n_scalars(rets) -> int:
    """How many scalars a return structure ``((kind, ...), single)`` stores (out params)."""
    return sum(1 for r in rets[0] if r[0] == "scalar") if rets else 0


def _arg_lty(t: str) -> ir.Type:
    """The parameter type of a scalar argument (a bool arrives as a byte)."""
    return _I8 if t == "bool" else lty(t)


def _from_arg(b, a, t):
    if t == "bool":
        return b.icmp_unsigned("!=", a, ir.Constant(_I8, 0))
    return a
