"""Building native modules (see :mod:`graphjit.native`): ``python -m graphjit.native_build
<cache dir>/gj_<hash>.py ...``.

Runs in a child process (started when the process that queued the builds exits, or by
``graphjit.wait_for_native_builds()``) so that the build (numba's ahead-of-time compiler, a
C compiler and a linker; a few tenths of a second per module once numba's C runtime objects
exist, about 5 s the first time in a cache dir) never holds the user's GIL. Per module:

1. once per cache dir, the native kernels module (the row loops of the link kernels,
   :data:`graphjit.kernels_rows.NATIVE_KERNELS`); its presence is what tells a process
   that native modules may exist (:func:`graphjit.native.available`);
2. load the generated module with numba as the parent did (its machine code comes from
   numba's disk cache);
3. export one forwarding function per segment, typed with the segment's compiled signature,
   with ``numba.pycc.CC``: the segment and everything it calls are compiled into the
   extension with their own options;
4. link it against numba's C runtime objects (``native-rt-<salt>/`` in the cache dir,
   compiled on first use for the module name :data:`graphjit.native.MODULE`);
5. rename the extension into place, then write ``gjaot_<hash>.json`` (argument types per
   segment; a chain of links only gets this file alone). Any failure writes
   ``gjaot_<hash>.failed`` with the reason instead.

A lock file (``gjaot_<hash>.lock``, created exclusively) keeps two processes from building
the same module; a lock older than 30 minutes is considered stale.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

from . import jit, native

_STALE = 1800.0


def main(argv=None) -> int:
    """Build the native modules of the generated files named in ``argv``, in order; 0 when
    every one was built (or already there)."""
    argv = sys.argv[1:] if argv is None else argv
    return max((_one(Path(p).resolve()) for p in argv), default=0)


def _one(path: Path) -> int:
    h = path.stem[len("gj_") :]
    _, spec, failed = native.files(path.parent, h)
    if spec.exists() or failed.exists():
        return 0
    lock = path.parent / f"gjaot_{h}.lock"
    if not _acquire(lock):
        return 0
    try:
        _check_source(path, h)
        # the kernels module first: its presence tells processes that native modules exist
        build_kernels(path.parent)
        build(path, h)
    except Exception:
        _write(failed, traceback.format_exc())
        return 1
    finally:
        try:
            lock.unlink()
        except OSError:
            pass
    return 0


def _acquire(lock: Path) -> bool:
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        try:
            if time.time() - lock.stat().st_mtime < _STALE:
                return False
            lock.unlink()
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except OSError:
            return False
    os.close(fd)
    return True


def _write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def _check_source(path: Path, h: str) -> None:
    """Raise unless ``path`` is a chain module whose text matches its hash ``h``."""
    source = path.read_text(encoding="utf-8")
    if native.MARKER not in source:
        raise ValueError("not a chain module (no driver marker)")
    if jit.source_hash(source) != h:
        raise ValueError("the file does not match its hash")


def build(path: Path, h: str) -> None:
    """Compile and install the native module of the checked chain module ``path``
    (:func:`_check_source`); raises on any failure."""
    warnings.simplefilter("ignore")  # numba.pycc's pending-deprecation warning
    import llvmlite.binding as llb

    mod = jit._exec(f"graphjit_gen_{h}", path)
    names = sorted((n for n in vars(mod) if re.fullmatch(r"seg\d+", n)), key=lambda n: int(n[3:]))
    so, spec_path, _ = native.files(path.parent, h)
    if not names:  # links only: the driver runs without an extension
        _write(spec_path, json.dumps({"segments": {}}))
        return
    rt = _runtime_objects(path.parent)
    cc = _Builder(native.MODULE, rt)
    cc.target_cpu = llb.get_host_cpu_name()
    specs = {}
    for name in names:
        disp = getattr(mod, name)
        if len(disp.signatures) != 1:
            raise ValueError(f"{name}: expected one compiled signature")
        sig = disp.overloads[disp.signatures[0]].signature
        specs[name] = [_arg_spec(t) for t in sig.args]
        params = ", ".join(f"a{i}" for i in range(len(sig.args)))
        ns = {"D": disp}
        exec(f"def {name}({params}):\n    return D({params})\n", ns)
        cc.export(name, sig)(ns[name])
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".native-") as tmp:
        cc.output_dir = tmp
        cc.output_file = f"gjaot_{h}{native.EXT}"
        cc.compile()
        os.replace(Path(tmp) / cc.output_file, so)
    _write(spec_path, json.dumps({"segments": specs}, indent=1))  # the entry is complete


def build_kernels(cache_dir: Path) -> None:
    """Build the native kernels module (:data:`graphjit.kernels_rows.NATIVE_KERNELS`) of
    this cache dir unless it exists, failed before, or another process is building it. A
    failure is recorded next to it (``.failed``), not raised: chain modules still work,
    their link kernels then run numba's row loops."""
    target = Path(native.kernels_file(cache_dir))
    failed = target.with_name(target.name + ".failed")
    if target.exists() or failed.exists():
        return
    lock = target.with_name(target.name + ".lock")
    if not _acquire(lock):
        return
    try:
        _build_kernels(cache_dir, target)
    except Exception:
        _write(failed, traceback.format_exc())
    finally:
        try:
            lock.unlink()
        except OSError:
            pass


def _build_kernels(cache_dir: Path, target: Path) -> None:
    import llvmlite.binding as llb
    from numba.core import sigutils

    from . import kernels, kernels_rows

    warnings.simplefilter("ignore")
    cc = _Builder(native.MODULE, _runtime_objects(cache_dir))
    cc.target_cpu = llb.get_host_cpu_name()
    for key, sig in kernels_rows.NATIVE_KERNELS.items():
        name = kernels_rows.export_name(key)
        ns = {"D": getattr(kernels, kernels_rows.ROW_LOOPS[key[0]])}
        args, _ = sigutils.normalize_signature(sig)
        params = ", ".join(f"a{i}" for i in range(len(args)))
        exec(f"def {name}({params}):\n    return D({params})\n", ns)
        cc.export(name, sig)(ns[name])
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".native-") as tmp:
        cc.output_dir = tmp
        cc.output_file = target.name
        cc.compile()
        os.replace(Path(tmp) / target.name, target)


def _arg_spec(t) -> dict:
    """What the loader's guard checks for one numba argument type."""
    from numba.core import types

    if isinstance(t, types.Array):
        if t.layout != "C" or not t.aligned:
            raise ValueError(f"unsupported array argument {t}")
        return {
            "kind": "array",
            "dtype": str(t.dtype),
            "ndim": t.ndim,
            "readonly": not t.mutable,
        }
    if isinstance(t, (types.Float, types.Integer, types.Boolean)):
        return {"kind": "scalar", "dtype": "bool" if isinstance(t, types.Boolean) else str(t)}
    raise ValueError(f"unsupported argument type {t}")


def _runtime_objects(cache_dir: Path) -> list:
    """numba's C runtime (module mixin, NRT, helper libraries) compiled for
    :data:`graphjit.native.MODULE`, once per cache dir and numba/numpy/Python version."""
    import numpy
    from numba.pycc import CC

    # C sources of numba, compiled against this Python and numpy (not graphjit's code)
    parts = (jit._package_version("numba"), numpy.__version__, sys.version, native.MODULE)
    salt = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]
    final = cache_dir / f"native-rt-{salt}"
    listing = final / "objects.json"
    if listing.exists():
        objs = [str(final / o) for o in json.loads(listing.read_text(encoding="utf-8"))]
        if all(os.path.exists(o) for o in objs):
            return objs
    cc = CC(native.MODULE)
    tmp = Path(tempfile.mkdtemp(dir=cache_dir, prefix=".native-rt-"))
    try:
        objs = []
        for src in map(os.path.normpath, cc._get_mixin_sources()):
            out = tmp / f"{len(objs)}_{Path(src).stem}"
            out.mkdir()
            built = cc._toolchain.compile_objects(
                [src],
                str(out),
                include_dirs=cc._toolchain.get_python_include_dirs(),
                macros=cc._get_mixin_defines(),
                extra_cflags=cc._get_extra_cflags(),
            )
            for o in built:
                name = f"{len(objs)}_{Path(o).name}"
                os.replace(o, tmp / name)
                objs.append(name)
            shutil.rmtree(out, ignore_errors=True)
        (tmp / "objects.json").write_text(json.dumps(objs), encoding="utf-8")
        if final.exists() and not listing.exists():
            shutil.rmtree(final, ignore_errors=True)  # a broken earlier install
        try:
            os.replace(tmp, final)
        except OSError:  # another build installed it first (a non-empty target)
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return [str(final / o) for o in json.loads(listing.read_text(encoding="utf-8"))]


def _builder_class():
    from numba.core import codegen
    from numba.pycc import CC

    # numba's AOT target takes the CPU model's default features; the JIT takes the host's
    # (numba.core.codegen.get_host_cpu_features). Use the JIT's, so a native module is the
    # machine code numba would run here (same vector width, same rounding of reductions).
    codegen.AOTCPUCodegen._customize_tm_features = lambda self: codegen.get_host_cpu_features()

    class Builder(CC):
        """``CC`` linking prebuilt runtime objects instead of compiling them each time."""

        def __init__(self, name, runtime):
            super().__init__(name, source_module=__name__)
            self._runtime = runtime

        def _compile_mixins(self, build_dir):
            return list(self._runtime)

    return Builder


def _Builder(name, runtime):
    return _builder_class()(name, runtime)


if __name__ == "__main__":
    sys.exit(main())
