"""Native modules: a later process runs a compiled chain before (and without) numba.

The first process compiles the chain with numba and builds its native module in a child
process; the next one answers its first call from the native module without importing
numba, then switches to numba's chain once the background compile thread has loaded it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types

import numpy as np
import pytest

from graphjit import jit, native, native_build

SCRIPT = r"""
import json, sys
import numpy as np
import graphjit
import graphjit.compat.v1 as tf
import graphjit.jit
g = tf.Graph()
with g.as_default():
    x = tf.placeholder(tf.float32, [None])
    w = tf.placeholder(tf.float32, [None, 3])
    y = tf.tanh(x * 0.5 + 0.25) * tf.exp(x * x * -0.5) + x * 1.5
    s = tf.reduce_sum(tf.nn.relu(tf.matmul(w, tf.ones([3, 2]))) * 2.0, axis=0)
    p = tf.nn.softmax(w * 0.5)  # a link kernel: its row loop comes from the kernels module
    a = tf.argmax(p, axis=1)
sess = tf.Session(graph=g)
f = sess.make_callable([y, s, p, a], [x, w])
xv = np.linspace(-3, 3, 11, dtype=np.float32)
wv = np.arange(12, dtype=np.float32).reshape(4, 3) - 5
real = graphjit.jit.build_in_background
graphjit.jit.build_in_background = lambda *a, **k: False  # no numba during the first call
first = f(xv, wv)
numba_at_first = "numba" in sys.modules
stats_first = graphjit.cache_stats()
graphjit.jit.build_in_background = real
f(xv, wv)  # starts numba's compile (or load) on the compile thread
graphjit.wait_for_compiles()
later = f(xv, wv)
built = graphjit.wait_for_native_builds(600) if sys.argv[1] == "build" else None
print(json.dumps({
    "first": [v.tolist() for v in first],
    "later": [v.tolist() for v in later],
    "numba_at_first": numba_at_first,
    "stats_first": stats_first,
    "built": built,
}))
"""


def _run(cache_dir, mode):
    env = dict(
        os.environ,
        GRAPHJIT_CACHE_DIR=str(cache_dir),
        GRAPHJIT_NATIVE="auto",
        GRAPHJIT_COMPILE="background",
    )
    env.pop("GRAPHJIT_DISABLE_JIT", None)
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    if not native._have_compiler():
        pytest.skip("no C compiler: native modules cannot be built here")
    pytest.importorskip("numba.pycc", reason="this numba has no ahead-of-time compiler")
    cache = tmp_path_factory.mktemp("native-cache")
    first = _run(cache, "build")
    return cache, first


def test_first_process_builds_a_native_module(built):
    cache, first = built
    assert first["built"] is True
    assert first["stats_first"]["native"]["hits"] == 0
    failed = list(cache.glob("gjaot_*.failed"))
    assert not failed, failed[0].read_text()
    (so,) = (p for p in cache.glob(f"gjaot_*{native.EXT}") if "kernels" not in p.name)
    spec = json.loads(so.with_name(so.name[: -len(native.EXT)] + ".json").read_text())
    assert spec["segments"]  # one argument list per segment
    # and the row loops of the link kernels (softmax family, argmax, l2_loss), once per dir
    assert len(list(cache.glob(f"gjaot_kernels_*{native.EXT}"))) == 1


def test_next_process_answers_from_the_native_module_without_numba(built):
    cache, first = built
    second = _run(cache, "use")
    assert second["numba_at_first"] is False
    assert second["stats_first"]["native"]["hits"] == 1
    assert second["stats_first"]["compiles"] == 0
    # the native module computes what numba's chain computes (the first process's first
    # call was interpreted: numpy's exp/tanh may differ from graphjit's in the last ulp)
    for k in range(4):
        np.testing.assert_array_equal(second["first"][k], first["later"][k])
        np.testing.assert_array_equal(second["later"][k], first["later"][k])
        np.testing.assert_allclose(second["first"][k], first["first"][k], rtol=1e-6)


TRAIN = r"""
import json, sys
import numpy as np
import graphjit
import graphjit.compat.v1 as tf
rng = np.random.default_rng(0)
xs = rng.standard_normal((16, 8)).astype(np.float32)
labels = rng.integers(0, 3, 16).astype(np.int32)
g = tf.Graph()
with g.as_default():
    x = tf.placeholder(tf.float32, [None, 8])
    y = tf.placeholder(tf.int32, [None])
    w1 = tf.Variable(rng.standard_normal((8, 16)).astype(np.float32) * 0.3)
    b1 = tf.Variable(np.zeros(16, np.float32))
    w2 = tf.Variable(rng.standard_normal((16, 3)).astype(np.float32) * 0.3)
    logits = tf.matmul(tf.nn.relu(tf.matmul(x, w1) + b1), w2)
    loss = tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
    train = tf.train.AdamOptimizer(0.05).minimize(loss)
    acc = tf.reduce_mean(tf.cast(tf.equal(tf.cast(tf.argmax(logits, 1), tf.int32), y), tf.float32))
    sess = tf.Session(graph=g)
    sess.run(tf.global_variables_initializer())
step = sess.make_callable([loss, acc, train], [x, y])
out = [step(xs, labels)[:2] for _ in range(6)]
native_hits = graphjit.cache_stats()["native"]["hits"]
numba_loaded = "numba" in sys.modules
if sys.argv[1] == "build":
    graphjit.wait_for_native_builds(600)
print(json.dumps({"out": [[float(a), float(b)] for a, b in out],
                  "params": [v.tolist() for v in sess.run([w1, b1, w2])],
                  "native_hits": native_hits}))
"""


def test_native_training_steps_equal_numba_steps(built):
    # process 1 compiles synchronously (every step numba's), process 2 starts natively (its
    # first steps run the native module, later ones numba's chain): the same code, compiled
    # by numba's ahead-of-time pipeline, which may vectorize a reassociated reduction
    # differently: equal to float32 rounding
    cache, _ = built

    def run(mode, compile_mode):
        env = dict(
            os.environ,
            GRAPHJIT_CACHE_DIR=str(cache),
            GRAPHJIT_NATIVE="auto",
            GRAPHJIT_COMPILE=compile_mode,
        )
        env.pop("GRAPHJIT_DISABLE_JIT", None)
        proc = subprocess.run(
            [sys.executable, "-c", TRAIN, mode], env=env, capture_output=True, text=True
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        return json.loads(proc.stdout.strip().splitlines()[-1])

    first = run("build", "sync")
    second = run("use", "background")
    assert second["native_hits"] == 1
    np.testing.assert_allclose(second["out"], first["out"], rtol=1e-6)
    for got, want in zip(second["params"], first["params"]):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)


LINKS = r"""
import json, sys
import numpy as np
import graphjit
import graphjit.compat.v1 as tf
import graphjit.jit
g = tf.Graph()
with g.as_default():
    x = tf.placeholder(tf.float32, [None, 4])
    p = tf.nn.softmax(x)  # one link, no segment: a native entry without an extension
    sess = tf.Session(graph=g)
f = sess.make_callable(p, [x])
real = graphjit.jit.build_in_background
graphjit.jit.build_in_background = lambda *a, **k: False  # no numba during the first call
out = f(np.arange(8, dtype=np.float32).reshape(2, 4))
res = {"out": out.tolist(), "native_hits": graphjit.cache_stats()["native"]["hits"],
       "numba": "numba" in sys.modules}
graphjit.jit.build_in_background = real
if sys.argv[1] == "build":
    f(np.zeros((1, 4), np.float32))  # starts the compile
    graphjit.wait_for_compiles()
    graphjit.wait_for_native_builds(600)
print(json.dumps(res))
"""


def test_chain_of_links_only_runs_its_driver_without_numba(built):
    cache, _ = built
    env = dict(os.environ, GRAPHJIT_CACHE_DIR=str(cache), GRAPHJIT_NATIVE="auto")
    env["GRAPHJIT_COMPILE"] = "background"
    env.pop("GRAPHJIT_DISABLE_JIT", None)

    def run(mode):
        proc = subprocess.run(
            [sys.executable, "-c", LINKS, mode], env=env, capture_output=True, text=True
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        return json.loads(proc.stdout.strip().splitlines()[-1])

    first = run("build")
    assert not list(cache.glob("gjaot_*.failed"))
    second = run("use")
    assert second["native_hits"] == 1 and second["numba"] is False
    np.testing.assert_allclose(second["out"], first["out"], rtol=1e-6)


def _specs():
    return {
        "seg0": [
            {"kind": "array", "dtype": "float32", "ndim": 2, "readonly": True},
            {"kind": "scalar", "dtype": "float32"},
            {"kind": "array", "dtype": "float32", "ndim": 1, "readonly": False},
        ]
    }


def _guarded():
    ns = {"ND": np.ndarray, "X": types.SimpleNamespace(seg0=lambda *a: "called")}
    exec(native._guards(_specs(), ns), ns)
    return ns["seg0"]


def test_guard_passes_what_the_segment_was_compiled_for():
    seg0 = _guarded()
    ro = np.zeros((2, 3), np.float32)
    ro.flags.writeable = False  # a read-only parameter takes read-only and writable arrays
    assert seg0(ro, np.float32(1), np.zeros(3, np.float32)) == "called"
    assert seg0(np.zeros((2, 3), np.float32), np.float32(1), np.zeros(3, np.float32))


@pytest.mark.parametrize(
    "args",
    [
        (np.zeros((2, 3), np.float64), np.float32(1), np.zeros(3, np.float32)),  # dtype
        (np.zeros(3, np.float32), np.float32(1), np.zeros(3, np.float32)),  # rank
        (np.zeros((3, 2), np.float32).T, np.float32(1), np.zeros(3, np.float32)),  # layout
        (np.zeros((2, 3), np.float32), 1.0, np.zeros(3, np.float32)),  # scalar type
        ([[0.0] * 3] * 2, np.float32(1), np.zeros(3, np.float32)),  # not an array
    ],
    ids=["dtype", "rank", "layout", "scalar", "list"],
)
def test_guard_refuses_arguments_numba_would_not_dispatch(args):
    with pytest.raises(TypeError, match="native seg0"):
        _guarded()(*args)


def test_guard_refuses_a_read_only_array_for_a_written_parameter():
    out = np.zeros(3, np.float32)
    out.flags.writeable = False
    with pytest.raises(TypeError):
        _guarded()(np.zeros((2, 3), np.float32), np.float32(1), out)


def test_unreadable_native_module_falls_back_to_numba(tmp_path):
    source = f"import numpy as np\n{native.MARKER}\ndef run(ctx, links, consts):\n    return ()\n"
    h = "0" * 32
    so, spec, _ = native.files(tmp_path, h)
    so.write_bytes(b"not an extension module")
    spec.write_text(json.dumps({"segments": {"seg0": []}}))
    assert native.load(source, h, tmp_path / f"gj_{h}.py", f"graphjit_gen_{h}") is None


def test_failed_build_is_recorded_and_not_retried(tmp_path, monkeypatch):
    h = "1" * 32
    path = tmp_path / f"gj_{h}.py"
    path.write_text("x = 1\n")  # no driver marker: not a chain module
    assert native_build.main([str(path)]) == 1
    _, _, failed = native.files(tmp_path, h)
    assert "not a chain module" in failed.read_text()
    monkeypatch.setattr(native, "enabled", lambda: True)
    assert native.schedule(path, h) is False


def test_versions_in_the_cache_key_are_read_without_importing_the_packages():
    import llvmlite
    import numba

    saved = {k: sys.modules.pop(k) for k in ("numba", "llvmlite")}
    try:
        assert jit._package_version("numba") == numba.__version__
        assert jit._package_version("llvmlite") == llvmlite.__version__
    finally:
        sys.modules.update(saved)


def test_failed_kernels_build_is_recorded_and_chain_modules_stay_usable(tmp_path, monkeypatch):
    def broken(cache_dir, target):
        raise RuntimeError("no linker")

    monkeypatch.setattr(native_build, "_build_kernels", broken)
    native_build.build_kernels(tmp_path)  # records, does not raise
    (marker,) = tmp_path.glob("gjaot_kernels_*.failed")
    assert "no linker" in marker.read_text()
    monkeypatch.setattr(native, "enabled", lambda: True)
    monkeypatch.setattr(
        native.config, "get", lambda: types.SimpleNamespace(cache_dir=str(tmp_path))
    )
    assert native.available()  # chain modules may exist: their links use numba's row loops
