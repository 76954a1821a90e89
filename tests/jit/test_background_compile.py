"""The default tier policy: cold signatures compile on a background thread.

While a chain compiles, runs are answered by the interpreter (same values); once it is in
L1, ``Session.run`` and ``make_callable`` pick it up, and the callable arms. A compile that
fails leaves the interpreter running the signature and raises nothing.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

import graphjit
import graphjit.compat.v1 as tf
from graphjit import config, executor, jit


@pytest.fixture()
def background():
    with config.override(compile_mode="background"):
        yield
    assert graphjit.wait_for_compiles(timeout=120)


def _graph(scale):
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [None], name="x")
        y = tf.tanh(x * scale) + tf.exp(-x)
    return g, x, y


def _armed(fc):
    return getattr(fc, "armed", False)


def test_callable_answers_while_compiling_then_arms(background):
    g, x, y = _graph(1.25)
    data = np.linspace(-2, 2, 7, dtype=np.float32)
    want = np.tanh(data * np.float32(1.25)) + np.exp(-data)
    with tf.Session(graph=g) as sess:
        f = sess.make_callable(y, [x])
        np.testing.assert_allclose(f(data), want, rtol=1e-5)
        assert graphjit.wait_for_compiles(timeout=120)
        np.testing.assert_allclose(f(data), want, rtol=1e-5)  # finds the chain, arms
        assert _armed(f)
        np.testing.assert_allclose(f(data), want, rtol=1e-5)  # the armed fast path


def test_session_run_compiles_in_background_on_the_due_run(background):
    g, x, y = _graph(0.75)
    data = np.arange(5, dtype=np.float32)
    want = np.tanh(data * np.float32(0.75)) + np.exp(-data)
    with config.override(compile_after=2), tf.Session(graph=g) as sess:
        program = sess._program([y], [], [(x,)])
        key = (program.key, (1,))
        np.testing.assert_allclose(sess.run(y, {x: data}), want, rtol=1e-5)
        assert jit.peek(key) is None  # the first run never compiles
        np.testing.assert_allclose(sess.run(y, {x: data}), want, rtol=1e-5)
        assert graphjit.wait_for_compiles(timeout=120)
        assert isinstance(jit.peek(key), executor.Chain)
        np.testing.assert_allclose(sess.run(y, {x: data}), want, rtol=1e-5)


def test_threads_asking_for_one_cold_signature_start_one_compile(background):
    g, x, y = _graph(2.5)
    data = np.ones(4, np.float32)
    want = np.tanh(data * np.float32(2.5)) + np.exp(-data)
    before = graphjit.cache_stats()["l1"]["misses"]
    results, errors = [], []
    with tf.Session(graph=g) as sess:
        f = sess.make_callable(y, [x])
        barrier = threading.Barrier(8)

        def work():
            try:
                barrier.wait()
                for _ in range(3):
                    results.append(f(data))
            except Exception as e:  # pragma: no cover - reported below
                errors.append(e)

        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert graphjit.wait_for_compiles(timeout=120)
    assert not errors
    assert len(results) == 24
    for r in results:
        np.testing.assert_allclose(r, want, rtol=1e-5)
    assert graphjit.cache_stats()["l1"]["misses"] - before == 1


def test_failed_background_compile_leaves_the_interpreter_running(background, monkeypatch):
    g, x, y = _graph(3.5)
    data = np.full(3, 0.5, np.float32)
    want = np.tanh(data * np.float32(3.5)) + np.exp(-data)

    def broken(program, sig):
        raise RuntimeError("planted compile failure")

    monkeypatch.setattr(executor, "build_chain", broken)
    with tf.Session(graph=g) as sess:
        f = sess.make_callable(y, [x])
        np.testing.assert_allclose(f(data), want, rtol=1e-5)
        assert graphjit.wait_for_compiles(timeout=120)
        np.testing.assert_allclose(f(data), want, rtol=1e-5)
        assert not _armed(f)
        program = sess._program([y], [], [(x,)])
        assert isinstance(jit.peek((program.key, (1,))), jit.Uncompilable)


def test_wait_for_compiles_returns_true_when_idle():
    assert graphjit.wait_for_compiles(timeout=0.1) is True


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
def test_forked_child_does_not_wait_for_the_parents_compile_threads():
    import os

    with jit._lock:
        jit._pending.add(("planted", ()))  # as if a compile thread were running
    try:
        pid = os.fork()
        if pid == 0:  # the child: no thread to wait for
            ok = graphjit.wait_for_compiles(timeout=5) and not jit._pending
            os._exit(0 if ok else 1)
        _, status = os.waitpid(pid, 0)
        assert os.WEXITSTATUS(status) == 0
    finally:
        with jit._lock:
            jit._pending.discard(("planted", ()))


def test_process_exiting_while_a_compile_runs_exits_cleanly(tmp_path):
    import subprocess
    import sys

    code = (
        "import numpy as np, graphjit.compat.v1 as tf\n"
        "from graphjit import config\n"
        f"config.configure(compile_mode='background', cache_dir={str(tmp_path)!r})\n"
        "x = tf.placeholder(tf.float32, [None])\n"
        "f = tf.Session().make_callable(tf.tanh(x) * 3.0 + tf.exp(x), [x])\n"
        "print(f(np.ones(2, np.float32)).tolist())\n"  # answered; the compile is still running
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().startswith("[")
