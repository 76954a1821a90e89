"""Chains compiled by llvmlite directly (:mod:`graphjit.llvm_tier`, :mod:`graphjit.llvm_lower`).

What is pinned: numba's typing rules as the lowering applies them; segments outside the
dialect fall back to numba; the transcendental helpers lowered from ``mathlib.py`` give
numba's bits; training steps, errors and threads behave as with numba's chains; a cold
process answers from llvmlite's chain without importing numba (``only``), and by default a
provisional llvmlite chain answers while numba compiles in the background.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import numpy as np
import pytest
from tests.jit.helpers import assert_same

import graphjit
import graphjit.compat.v1 as tf
from graphjit import config, executor, jit, kernels_rows, llvm_lower
from graphjit.errors import InvalidArgumentError


@pytest.fixture
def llvm_only():
    jit.clear_l1()
    kernels_rows._impls.clear()
    with config.override(llvm="only"):
        yield
    jit.clear_l1()
    kernels_rows._impls.clear()


# ------------------------------------------------------------------ typing rules
@pytest.mark.parametrize(
    "a, b, want",
    [
        ("int32", "int32", "int64"),  # numba widens integer arithmetic to intp
        ("int8", "uint8", "int64"),
        ("uint32", "uint32", "uint64"),
        ("uint64", "int64", "float64"),
        ("bool", "bool", "int64"),
        ("float32", "float32", "float32"),
        ("float32", "int16", "float32"),  # numpy promotion for mixed int/float
        ("float32", "int32", "float64"),
        ("float32", "int64", "float64"),
        ("float32", "float64", "float64"),
    ],
)
def test_arithmetic_result_types_follow_numba(a, b, want):
    assert llvm_lower.arith(a, b) == want


def test_signature_strings_are_parsed_and_non_c_layouts_refused():
    sig = llvm_lower.parse_signature(
        "(Array(float32, 2, 'C', readonly=True), int32, boolean, Array(int64, 1, 'C'))"
    )
    assert sig == [
        ("array", "float32", 2, True),
        ("scalar", "int32"),
        ("scalar", "bool"),
        ("array", "int64", 1, False),
    ]
    with pytest.raises(llvm_lower.Unsupported):
        llvm_lower.parse_signature("(Array(float32, 1, 'A'),)")
    with pytest.raises(llvm_lower.Unsupported):
        llvm_lower.parse_signature("(float16,)")


def test_source_outside_the_dialect_is_refused():
    src = (
        '@njit("(float64,)", error_model="numpy")\n'
        "def seg0(s0):\n"
        "    return [s0]\n"  # lists are not in the dialect
    )
    with pytest.raises(llvm_lower.Unsupported):
        llvm_lower.lower_module(src)


def _run_segment(src, *args):
    from graphjit import llvm_tier

    low, fns = llvm_tier.compile_segments(src)
    ns = {"np": np, "ND": np.ndarray}
    exec(llvm_tier._wrappers(low, fns, ns), ns)
    return ns["seg0"](*args)


def test_a_variable_takes_the_unified_type_of_its_assignments():
    # ``r`` starts as an int64 and becomes float64 (numba unifies, it does not truncate)
    src = (
        '@njit("(float32, int32)", error_model="numpy")\n'
        "def seg0(s0, s1):\n"
        "    r = 1\n"
        "    for i in range(s1):\n"
        "        r = r * s0\n"
        "    q = 7 // 2 + (-7) // 2 + (-7) % 3 + 7 // 0\n"  # floor semantics; // 0 is 0
        "    return (r, q)\n"
    )
    r, q = _run_segment(src, np.float32(1.5), np.int32(3))
    assert r == 1.5**3 and r.dtype == np.float64
    assert q == 3 + (-4) + 2 + 0


def test_errors_raised_in_a_segment_reach_the_caller_with_their_class():
    src = (
        '@njit("(Array(float32, 1, \'C\', readonly=True),)", error_model="numpy")\n'
        "def seg0(s0):\n"
        "    if s0.shape[0] > 2:\n"
        '        raise ValueError("too long")\n'
        "    return s0.shape[0]\n"
    )
    assert _run_segment(src, np.zeros(2, np.float32)) == 2
    with pytest.raises(ValueError, match="too long"):
        _run_segment(src, np.zeros(3, np.float32))
    with pytest.raises(TypeError):  # numba's dispatcher would find no signature either
        _run_segment(src, np.zeros(2, np.float64))


# ------------------------------------------------------------------ values
def _transcendental_graph(dtype):
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(dtype, [None])
        outs = [
            tf.exp(x),
            tf.math.expm1(x),
            tf.math.log(tf.abs(x)),
            tf.math.log1p(tf.abs(x)),
            tf.tanh(x),
            tf.sigmoid(x),
            tf.nn.softplus(x),
            tf.math.erf(x),
        ]
    return g, x, outs


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lowered_mathlib_gives_numbas_bits(dtype):
    """The lowering inlines mathlib.py's own algorithms: same results as numba's chain,
    over normal, huge, tiny, denormal and special inputs."""
    info = np.finfo(dtype)
    x = np.concatenate(
        [
            np.linspace(-30, 30, 2001),
            [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-30, -1e-30, 700.0, -750.0, 89.0, -104.0],
            [info.tiny, info.tiny / 4, info.max, -info.max],
        ]
    ).astype(dtype)
    results = {}
    for mode in ("off", "only"):
        jit.clear_l1()
        with config.override(llvm=mode):
            g, xp, outs = _transcendental_graph(dtype)
            with tf.Session(graph=g) as sess:
                info_ = graphjit.inspect_chain(sess, outs, [xp])
                results[mode] = sess.make_callable(outs, [xp])(x)
                if mode == "off":  # the provisional chain's lighter optimisation too
                    prog = sess._program(outs, [], [(xp,)])
                    chain = executor.build_chain(prog, (1,), llvm="light")
                    results["light"] = chain.run(None, chain.links, chain.consts, x)
        assert info_["compiler"] == ("llvmlite" if mode == "only" else "numba")
    jit.clear_l1()
    for name in ("only", "light"):
        for a, b in zip(results[name], results["off"]):
            np.testing.assert_array_equal(a, b)


def test_training_step_matches_numbas_and_updates_in_place():
    """An MLP Adam step (links, column sums, in-place updates) under both compilers."""
    rng = np.random.default_rng(3)
    xs = rng.standard_normal((16, 12)).astype(np.float32)
    ys = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 16)]
    runs = {}
    for mode in ("off", "only"):
        jit.clear_l1()
        kernels_rows._impls.clear()
        with config.override(llvm=mode):
            g = tf.Graph()
            with g.as_default():
                tf.set_random_seed(1)
                x = tf.placeholder(tf.float32, [None, 12])
                y = tf.placeholder(tf.float32, [None, 4])
                w1 = tf.Variable(tf.random_normal([12, 8], stddev=0.3))
                b1 = tf.Variable(tf.zeros([8]))
                w2 = tf.Variable(tf.random_normal([8, 4], stddev=0.3))
                h = tf.nn.relu(tf.matmul(x, w1) + b1)
                logits = tf.matmul(h, w2)
                loss = tf.reduce_mean(
                    tf.nn.softmax_cross_entropy_with_logits_v2(labels=y, logits=logits)
                )
                train = tf.train.AdamOptimizer(0.01).minimize(loss)
                init = tf.global_variables_initializer()
            sess = tf.Session(graph=g)
            sess.run(init)
            storage = sess._vars[w1.op.name]
            step = sess.make_callable([loss, train], [x, y])
            losses = [step(xs, ys)[0] for _ in range(5)]
            info = graphjit.inspect_chain(sess, [loss, train], [x, y])
            assert info["compiler"] == ("llvmlite" if mode == "only" else "numba")
            assert sess._vars[w1.op.name] is storage  # updated in place
            runs[mode] = (losses, sess.run([w1, b1, w2]))
    jit.clear_l1()
    kernels_rows._impls.clear()
    for a, b in zip(runs["only"][0], runs["off"][0]):
        assert_same(a, b, rtol=1e-5, atol=1e-6)
    for a, b in zip(runs["only"][1], runs["off"][1]):
        assert_same(a, b, rtol=1e-5, atol=1e-6)
    assert runs["only"][0][-1] < runs["only"][0][0]


def test_bad_shapes_raise_tfs_error_and_leave_variables_unchanged(llvm_only):
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [None, None])
        v = tf.Variable(np.ones(3, np.float32))
        upd = tf.assign_add(v, tf.reduce_sum(x, axis=0))
        init = tf.global_variables_initializer()
    sess = tf.Session(graph=g)
    sess.run(init)
    f = sess.make_callable(upd, [x])
    assert_same(f(np.ones((2, 3), np.float32)), np.full(3, 3.0, np.float32))
    with pytest.raises(InvalidArgumentError):
        f(np.ones((2, 4), np.float32))
    assert_same(sess.run(v), np.full(3, 3.0, np.float32))
    assert graphjit.inspect_chain(sess, upd, [x])["compiler"] == "llvmlite"


def test_eight_threads_on_one_cold_signature_compile_it_once(llvm_only):
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float64, [None])
        y = tf.tanh(x * 3.0) - x * x
    sess = tf.Session(graph=g)
    before = graphjit.cache_stats()["llvm"]["chains"]
    xv = np.linspace(-2, 2, 50)
    out, errors = [None] * 8, []

    def work(k):
        try:
            out[k] = sess.run(y, {x: xv})
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    with config.override(compile_after=1, compile_mode="sync"):
        threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors
    assert graphjit.cache_stats()["llvm"]["chains"] == before + 1
    for o in out:
        np.testing.assert_allclose(o, np.tanh(xv * 3.0) - xv * xv, rtol=1e-12)


# ------------------------------------------------------------------ fresh processes
SCRIPT = r"""
import json, sys, time
import numpy as np
import graphjit
import graphjit.compat.v1 as tf
x = tf.placeholder(tf.float32, [None])
w = tf.placeholder(tf.float32, [None, 3])
y = tf.tanh(x * 0.5 + 0.25) * tf.exp(x * x * -0.5) + x * 1.5
p = tf.nn.softmax(w * 0.5)
sess = tf.Session()
f = sess.make_callable([y, p], [x, w])
xv = np.linspace(-3, 3, 11, dtype=np.float32)
wv = np.arange(12, dtype=np.float32).reshape(4, 3) - 5
first = f(xv, wv)
deadline = time.time() + 120
while not graphjit.cache_stats()["llvm"]["chains"] and time.time() < deadline:
    time.sleep(0.005)
provisional = f(xv, wv)
numba_then = "numba" in sys.modules
compiler_then = graphjit.inspect_chain(sess, [y, p], [x, w])["compiler"] if sys.argv[1] == "only" else None
graphjit.wait_for_compiles()
later = f(xv, wv)
print(json.dumps({
    "values": [[v.tolist() for v in r] for r in (first, provisional, later)],
    "numba_then": numba_then,
    "numba_at_end": "numba" in sys.modules,
    "compiler_then": compiler_then,
    "stats": graphjit.cache_stats(),
}))
"""


def _child(tmp_path, mode):
    env = dict(os.environ, GRAPHJIT_CACHE_DIR=str(tmp_path), GRAPHJIT_LLVM=mode)
    env.pop("GRAPHJIT_COMPILE", None)  # the default: background compiles
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _expected():
    xv = np.linspace(-3, 3, 11, dtype=np.float32)
    wv = np.arange(12, dtype=np.float32).reshape(4, 3) - 5
    y = np.tanh(xv * 0.5 + 0.25) * np.exp(xv * xv * -0.5) + xv * 1.5
    z = wv * 0.5
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return y, e / e.sum(axis=1, keepdims=True)


def test_only_mode_process_never_imports_numba(tmp_path):
    res = _child(tmp_path, "only")
    assert not res["numba_then"] and not res["numba_at_end"]
    assert res["compiler_then"] == "llvmlite"
    assert res["stats"]["llvm"]["chains"] == 1 and res["stats"]["compiles"] == 0
    for vals in res["values"]:
        for got, want in zip(vals, _expected()):
            np.testing.assert_allclose(np.float32(got), want, rtol=2e-6, atol=1e-6)


def test_default_mode_answers_from_llvmlite_while_numba_compiles(tmp_path):
    res = _child(tmp_path, "on")
    # the provisional chain was built before numba's; numba's compile followed
    assert res["stats"]["llvm"]["chains"] == 1
    assert res["stats"]["compiles"] == 1 and res["numba_at_end"]
    for vals in res["values"]:
        for got, want in zip(vals, _expected()):
            np.testing.assert_allclose(np.float32(got), want, rtol=2e-6, atol=1e-6)


def test_provisional_chain_keeps_answering_when_numba_fails(monkeypatch):
    """numba's compile failing (cached as Uncompilable) leaves llvmlite's chain in use,
    not the interpreter."""
    real = executor.build_chain

    def numba_broken(program, sig, native=False, llvm=None):
        if llvm is None and not native:
            raise RuntimeError("planted numba failure")
        return real(program, sig, native=native, llvm=llvm)

    monkeypatch.setattr(executor, "build_chain", numba_broken)
    jit.clear_l1()
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [None])
        y = tf.exp(x) * 0.5 - x
    data = np.linspace(-2, 2, 9, dtype=np.float32)
    want = np.exp(data) * np.float32(0.5) - data
    try:
        with config.override(compile_mode="background", native="off", llvm="on"):
            with tf.Session(graph=g) as sess:
                f = sess.make_callable(y, [x])
                np.testing.assert_allclose(f(data), want, rtol=1e-6)  # interpreted
                assert graphjit.wait_for_compiles(timeout=120)
                key = (sess._program([y], [], [(x,)]).key, (1,))
                assert isinstance(jit.peek(key), jit.Uncompilable)
                provisional = jit.NATIVE_CHAINS[key]
                provisional.ran.clear()
                np.testing.assert_allclose(f(data), want, rtol=1e-6)
                assert provisional.ran.is_set()  # llvmlite's chain answered
    finally:
        jit.clear_l1()
