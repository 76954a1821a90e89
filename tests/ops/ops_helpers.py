"""Helpers for the op tests: the numpy ``oracle`` and finite-difference ``check_gradient``.

``oracle`` runs a graph through every available executor (``EXECUTORS``) and compares each
result with a numpy reference. Today that is ``Session.run`` (the interpreter) and
``make_callable`` (the compiled path once the JIT lands; set ``GRAPHJIT_TEST_COMPILED=0`` to
skip it); a ``compare_compiled_and_interpreted`` helper can be slotted in as another executor.
"""

from __future__ import annotations

import os

import numpy as np

import graphjit.compat.v1 as tf
from graphjit import config
from graphjit.gradients import gradients


def _run_session(sess, fetches, feed):
    return sess.run(fetches, feed)


def _run_callable(sess, fetches, feed):
    keys = list(feed)
    fn = sess.make_callable(fetches, feed_list=keys)
    return fn(*[feed[k] for k in keys])


EXECUTORS = {"run": _run_session}
if os.environ.get("GRAPHJIT_TEST_COMPILED", "1") != "0":
    EXECUTORS["callable"] = _run_callable


def run_all(fetches, feed=None, graph=None, executors=None):
    """Run ``fetches`` through each executor (or those named); returns ``{executor: values}``."""
    graph = graph or tf.get_default_graph()
    out = {}
    with tf.Session(graph=graph) as sess:
        for name, fn in EXECUTORS.items():
            if executors is None or name in executors:
                out[name] = fn(sess, fetches, dict(feed or {}))
    return out


def assert_close(actual, expected, rtol=1e-6, atol=1e-6, what=""):
    """Values, dtype and shape must match (NaN equal to NaN)."""
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    assert actual.dtype == expected.dtype, f"{what}: dtype {actual.dtype} != {expected.dtype}"
    if expected.dtype.kind in "biuU" or expected.dtype == object:
        np.testing.assert_array_equal(actual, expected, err_msg=what)
    else:
        np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=what)


def oracle(build_fn, inputs, numpy_fn, rtol=1e-6, atol=1e-6, feed=True, executors=None):
    """Build ``build_fn(*tensors)`` on ``inputs`` and compare with ``numpy_fn(*inputs)``.

    Inputs are fed through placeholders of known rank and unknown dimensions when ``feed``
    (exercising run-time broadcasting and dynamic-shape paths), else embedded as constants.
    ``executors`` limits the executors run (each compiled program costs a numba compile). Multi-output results compare element-wise.
    """
    inputs = [np.asarray(v) for v in inputs]
    g = tf.Graph()
    with g.as_default():
        if feed:
            phs = [tf.placeholder(tf.as_dtype(v.dtype), shape=[None] * v.ndim) for v in inputs]
            fd = dict(zip(phs, inputs))
        else:
            phs = [tf.constant(v) for v in inputs]
            fd = {}
        out = build_fn(*phs)
    expected = numpy_fn(*inputs)
    multi = isinstance(out, (list, tuple))
    for name, got in run_all(list(out) if multi else out, fd, g, executors).items():
        if multi:
            for i, (a, e) in enumerate(zip(got, expected)):
                assert_close(a, e, rtol, atol, f"{name} output {i}")
        else:
            assert_close(got, expected, rtol, atol, name)
    return out


def check_gradient(build_fn, inputs, eps=1e-6, rtol=1e-5, atol=1e-7, seed=0):
    """Compare ``tf.gradients`` with central finite differences, all in float64.

    The scalar probed is ``sum(w * y)`` for a fixed random ``w`` (so every output entry
    matters); ``build_fn`` may return one tensor or a list (the first is used).
    """
    inputs = [np.asarray(v, dtype=np.float64) for v in inputs]
    g = tf.Graph()
    with g.as_default():
        phs = [tf.placeholder(tf.float64, shape=v.shape) for v in inputs]
        y = build_fn(*phs)
        if isinstance(y, (list, tuple)):
            y = y[0]
        w = tf.placeholder(tf.float64, shape=y.shape)
        loss = tf.reduce_sum(y * w)
        grads = gradients(loss, phs)
    # Gradient graphs are checked on the interpreter: finite differences repeat the same run
    # dozens of times, which would otherwise trigger a compile per case.
    with config.override(disable_jit=True), tf.Session(graph=g) as sess:
        fd = dict(zip(phs, inputs))
        y0 = sess.run(y, fd)
        wv = np.random.default_rng(seed).uniform(0.5, 1.5, size=np.shape(y0))
        fd[w] = wv
        analytic = sess.run([gr for gr in grads if gr is not None], fd)
        assert len(analytic) == len(grads), "an input got no gradient"
        for k, (x, an) in enumerate(zip(inputs, analytic)):
            num = np.zeros_like(x)
            flat = num.reshape(-1)
            for i in range(x.size):
                xp, xm = x.copy(), x.copy()
                xp.reshape(-1)[i] += eps
                xm.reshape(-1)[i] -= eps
                fp = sess.run(loss, {**fd, phs[k]: xp})
                fm = sess.run(loss, {**fd, phs[k]: xm})
                flat[i] = (fp - fm) / (2 * eps)
            if hasattr(an, "dense_shape"):  # IndexedSlicesValue (gather): sum the slices
                dense = np.zeros(an.dense_shape, an.values.dtype)
                np.add.at(dense, an.indices, an.values)
                an = dense
            assert an.shape == x.shape, f"gradient {k} has shape {an.shape}, want {x.shape}"
            np.testing.assert_allclose(an, num, rtol=rtol, atol=atol, err_msg=f"input {k}")
