"""Chains whose segments are compiled by llvmlite directly (no numba): fast first compiles.

numba compiles a generated chain module in seconds on a cold process: importing numba
(~0.4 s), initialising it and running its pipeline for the first time (~0.4 s), then the
chain itself. :mod:`graphjit.llvm_lower` translates the same segment source to LLVM IR, and
this module compiles that IR with llvmlite's MCJIT (llvmlite is numba's own LLVM binding,
imported in ~0.1 s) and runs the chain's unchanged Python driver on it. The W5 12-op chain
runs compiled ~0.27 s after its first call instead of ~1.6 s (benchmark W5).

Each segment is called through a generated Python wrapper that checks its arguments as
numba's dispatcher would (``TypeError`` otherwise: the executor reruns the interpreter) and
calls the machine code through :mod:`ctypes`, which costs a few microseconds per segment
more than numba's dispatcher. So by default (``GRAPHJIT_LLVM=on``) these chains are
*provisional*, like native modules: they answer while numba compiles in the background and
numba's chain replaces them. ``GRAPHJIT_LLVM=only`` keeps them (numba compiles only chains
the lowering does not cover); ``off`` never builds them.
"""

from __future__ import annotations

import ctypes
import threading

import numpy as np

from . import config

__all__ = ["load"]

_lock = threading.Lock()
_engines: dict = {}  # light -> (llvmlite binding, target machine, MCJIT engine, context)
_keep: list = []  # IR modules added to the engine stay referenced
_ERRORS = {"ValueError": ValueError, "ZeroDivisionError": ZeroDivisionError}
_CTYPES = {
    "float32": ctypes.c_float,
    "float64": ctypes.c_double,
    "int8": ctypes.c_int8,
    "int16": ctypes.c_int16,
    "int32": ctypes.c_int32,
    "int64": ctypes.c_int64,
    "uint8": ctypes.c_uint8,
    "uint16": ctypes.c_uint16,
    "uint32": ctypes.c_uint32,
    "uint64": ctypes.c_uint64,
    "bool": ctypes.c_uint8,
}


def _alloc(allocs, site, ndim, shape):
    """``gj_alloc``: an array a segment allocates (``np.empty``), kept in the call's list."""
    try:
        d = allocs[site]
        dt = d.dtype if type(d) is np.ndarray else d
        arr = np.empty(tuple(shape[k] for k in range(ndim)), dt)
        allocs[site] = arr
        return arr.ctypes.data
    except Exception:  # e.g. MemoryError: the segment returns its error code
        return 0


_ALLOC_T = ctypes.CFUNCTYPE(
    ctypes.c_void_p,
    ctypes.py_object,
    ctypes.c_int64,
    ctypes.c_int64,
    ctypes.POINTER(ctypes.c_int64),
)
_alloc_cb = _ALLOC_T(_alloc)


def _layout_ok() -> bool:
    """numpy's PyArrayObject has the field offsets :mod:`llvm_lower` reads."""
    from .llvm_lower import _DATA_OFFSET, _DIMS_OFFSET

    a = np.zeros((3, 5))
    data = ctypes.c_void_p.from_address(id(a) + _DATA_OFFSET).value
    dims = ctypes.c_void_p.from_address(id(a) + _DIMS_OFFSET).value
    return (
        data == a.ctypes.data and dims and tuple((ctypes.c_int64 * 2).from_address(dims)) == (3, 5)
    )


def _get_engine(light: bool = False):
    """``(llvmlite.binding, target machine, MCJIT engine, context)``; one engine per
    ``light``: provisional chains get machine code from LLVM's fast instruction selector
    (codegen level 0, five times faster to emit on their IR, which LLVM has optimised
    already), the others from its full code generator (level 3)."""
    got = _engines.get(light)
    if got is None:
        import llvmlite.binding as llvm

        if not _layout_ok():
            raise RuntimeError("unexpected ndarray layout")
        if not _engines:
            try:
                llvm.initialize()
            except Exception:  # newer llvmlite initialises itself (and deprecates this)
                pass
            llvm.initialize_native_target()
            llvm.initialize_native_asmprinter()
            llvm.add_symbol("gj_alloc", ctypes.cast(_alloc_cb, ctypes.c_void_p).value)
        target = llvm.Target.from_default_triple()
        tm = target.create_target_machine(
            cpu=llvm.get_host_cpu_name(),
            features=llvm.get_host_cpu_features().flatten(),
            opt=0 if light else 3,
            jit=True,
        )
        # a context of our own: LLVM contexts are not thread-safe, and numba may be
        # compiling in the global one on another thread
        context = llvm.create_context()
        engine = llvm.create_mcjit_compiler(llvm.parse_assembly("", context=context), tm)
        got = _engines[light] = (llvm, tm, engine, context)
    return got


def _optimize(llvm, tm, mod, light: bool = False) -> None:
    """LLVM's O3 pipeline (new pass manager where llvmlite has it); ``light``: O1 with loop
    vectorization and without interleaving, unrolling or SLP, for provisional chains (with
    the fast instruction selector, see :func:`_get_engine`, a training step's segments
    compile in about 40% of O3's time and run at most ~1.4x slower)."""
    if hasattr(llvm, "create_pass_builder"):
        pto = llvm.create_pipeline_tuning_options(speed_level=1 if light else 3)
        pto.loop_vectorization = True
        pto.slp_vectorization = not light
        pto.loop_interleaving = not light
        pto.loop_unrolling = not light
        pb = llvm.create_pass_builder(tm, pto)
        pb.getModulePassManager().run(mod, pb)
        return
    pmb = llvm.create_pass_manager_builder()
    pmb.opt_level = 1 if light else 3
    pmb.loop_vectorize = True
    pmb.slp_vectorize = not light
    pm = llvm.create_module_pass_manager()
    tm.add_analysis_passes(pm)
    pmb.populate(pm)
    pm.run(mod)


def compile_segments(source: str, light: bool = False):
    """``(Lowered, {segment name: ctypes function})`` for ``source``'s segments.

    Raises :class:`graphjit.llvm_lower.Unsupported` when a segment is outside the dialect.
    """
    from .llvm_lower import lower_module

    return _compile(lower_module(source), light)


def _compile(low, light):
    """Optimise, link and load ``low``'s modules; ``(low, {name: ctypes function})``."""
    with _lock:
        llvm, tm, engine, context = _get_engine(light)
        mods = [llvm.parse_assembly(str(m), context=context) for m in low.modules]
        for m in mods[1:]:
            mods[0].link_in(m)
        fns = {}
        if mods:
            mod = mods[0]
            mod.triple = tm.triple
            mod.data_layout = str(tm.target_data)
            mod.verify()
            _optimize(llvm, tm, mod, light=light)
            engine.add_module(mod)
            engine.finalize_object()
            _keep.append(mod)
            for name, info in low.segments.items():
                addr = engine.get_function_address(name)
                argtys = [ctypes.py_object]
                for spec in info["args"]:
                    argtys.append(ctypes.py_object if spec[0] == "array" else _CTYPES[spec[1]])
                rets = (info["rets"] or ((), True))[0]
                argtys += [ctypes.py_object] * sum(1 for r in rets if r[0] == "scalar")
                # provisional chains keep the GIL: releasing it costs a switch interval
                # (5 ms) per call while numba's compile thread holds it
                functype = ctypes.PYFUNCTYPE if light else ctypes.CFUNCTYPE
                fns[name] = functype(ctypes.c_int32, *argtys)(addr)
    return low, fns


def _wrappers(low, fns, ns, exact_scalars=True) -> str:
    """Source of one checking wrapper per segment (see the module doc); ``exact_scalars``:
    scalar arguments must be numpy scalars of their dtype, as segments get them (else any
    number converts, as numba's dispatcher converts for the row loops)."""
    from .native import array_guard

    lines = []
    ns["_llvm_raise"] = _raise
    ns["_llvm_errors"] = tuple(low.errors)
    for name, info in low.segments.items():
        args = info["args"]
        params = [f"a{i}" for i in range(len(args))]
        conds, call = [], []
        for i, spec in enumerate(args):
            a = params[i]
            dt = np.dtype(spec[1])
            t = f"{name}_T{i}"
            if spec[0] == "scalar":
                ns[t] = dt.type
                if exact_scalars:
                    conds.append(f"type({a}) is {t}")
                conv = "float" if spec[1] in ("float32", "float64") else "int"
                call.append(f"{conv}({a})")
            else:
                ns[t] = dt
                conds.append(array_guard(a, t, spec[2], spec[3]))
                call.append(a)
        rets, single = info["rets"] or ((), False)
        sites = info["sites"]
        ns[f"{name}_F"] = fns[name]
        ns[f"{name}_S"] = [np.dtype(sites[k]) for k in range(len(sites))]
        lines.append(f"def {name}({', '.join(params)}):")
        if conds:
            lines.append("    if not (" + " and ".join(f"({c})" for c in conds) + "):")
            lines.append(f"        raise TypeError('llvm {name}: argument types differ')")
        lines.append(f"    al = {name}_S[:]")
        outs, vals = [], []
        for r in rets:
            if r[0] == "scalar":
                k = len(outs)
                ns[f"{name}_O{k}"] = np.dtype(r[1])
                lines.append(f"    o{k} = np.empty((), {name}_O{k})")
                outs.append(f"o{k}")
                vals.append(f"o{k}[()]")
            else:
                vals.append(f"al[{r[1]}]")
        lines.append(f"    st = {name}_F(al, {', '.join(call + outs)})")
        lines.append("    if st:")
        lines.append("        _llvm_raise(_llvm_errors, st)")
        if single and len(vals) == 1:
            lines.append(f"    return {vals[0]}")
        else:
            lines.append(f"    return ({', '.join(vals)}{',' if len(vals) == 1 else ''})")
        lines.append("")
    return "\n".join(lines) + "\n"


_kernels: dict = {}


def kernel(key, signature: str, loop: str):
    """Row loop ``loop`` of :mod:`graphjit.kernels` compiled for ``signature`` (numba's
    signature string, see ``kernels_rows.NATIVE_KERNELS``) as a checked Python callable,
    or ``None`` when it cannot be lowered. Lets driver links run compiled row loops
    without importing numba."""
    fn = _kernels.get(key)
    if fn is None and key not in _kernels:
        from .llvm_lower import Unsupported, lower_helper

        symbol = "gjk_" + "__".join(key)
        try:
            # with GRAPHJIT_LLVM=on numba's row loops replace these (kernels_rows.prefer_numba)
            light = config.get().llvm != "only"
            low, fns = _compile(lower_helper("_k", loop, signature, symbol, reassoc=True), light)
            ns = {"np": np, "ND": np.ndarray}
            src = _wrappers(low, fns, ns, exact_scalars=False)
            exec(compile(src, f"<graphjit llvm kernel {symbol}>", "exec"), ns)
            fn = ns[symbol]
            fn.llvm = True
        except Unsupported:
            fn = None
        except Exception:  # never fatal: numba's row loop runs instead
            if config.get().debug:
                import logging

                logging.getLogger("graphjit.jit").warning(
                    "graphjit: llvm kernel %s failed", symbol, exc_info=True
                )
            fn = None
        _kernels[key] = fn
    return fn


def _raise(errors, code):
    exc, msg = errors[code - 1]
    raise _ERRORS.get(exc, RuntimeError)(msg)


def load(source: str, py_path, modname: str, light: bool = False):
    """The driver module of ``source`` running on llvmlite-compiled segments, or ``None``
    when a segment is outside the lowered dialect (numba compiles it instead).

    ``light``: optimise for compile time (provisional chains, see :func:`_optimize`).
    """
    import types

    from .llvm_lower import Unsupported
    from .native import MARKER, _namespace

    if MARKER not in source:
        return None
    try:
        low, fns = compile_segments(source, light)
    except Unsupported as e:
        if config.get().debug:
            import sys

            print(f"graphjit: llvm tier skips {py_path}: {e}", file=sys.stderr)
        return None
    head, driver = source.split(MARKER, 1)
    ns = _namespace(head)
    exec(compile(_wrappers(low, fns, ns), f"<graphjit llvm wrappers {modname}>", "exec"), ns)
    code = compile("\n" * head.count("\n") + driver, str(py_path), "exec")
    exec(code, ns)
    mod = types.ModuleType(modname)
    mod.__dict__.update(ns)
    mod.__file__ = str(py_path)
    mod.LLVM = "light" if light else "O3"
    return mod
