"""Shared harness for the differential tests: one program, built in TensorFlow and graphjit.

A *program* is a function ``build(tf, feed) -> fetches`` written against the TF1 API; ``tf`` is
either ``tensorflow.compat.v1`` (graph mode) or ``graphjit.compat.v1`` and ``feed`` is a dict the
function fills with ``{placeholder: value}``. :func:`outcome` builds it in a fresh graph, runs it
in a fresh session and records what happened: the fetched values (with their static dtypes and
shapes), or the phase (``"build"`` / ``"run"``) and class of the exception. :func:`assert_same`
compares the two outcomes, treating TensorFlow as the oracle.

TensorFlow is optional: this module imports without it (``TF`` is then ``None``) and every test
module starts with ``pytest.importorskip("tensorflow")``, so the directory skips cleanly in CI.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
try:  # TF is an optional oracle; test modules skip without it
    import tensorflow as _tensorflow
except ImportError:  # pragma: no cover - exercised in CI
    TF = None
else:
    TF = _tensorflow.compat.v1
    TF.disable_eager_execution()

import graphjit.compat.v1 as GJ

# Per-dtype default tolerances (rtol, atol): Eigen's and numpy's transcendentals differ by an ulp
# or two; float16 results are compared at half precision.
TOLERANCES = {
    "float16": (2e-3, 2e-3),
    "float32": (1e-5, 1e-6),
    "float64": (1e-10, 1e-12),
    "complex64": (1e-5, 1e-6),
    "complex128": (1e-10, 1e-12),
}


@dataclasses.dataclass
class Outcome:
    """What running one program in one framework produced."""

    phase: str  # "ok", "build" or "run"
    value: Any = None
    static: Any = None  # (dtype name, shape list or None) per fetched tensor
    error: BaseException | None = None

    def describe(self) -> str:
        """One line for assertion messages."""
        if self.phase == "ok":
            return f"ok {self.static}"
        text = getattr(self.error, "message", None) or str(self.error)
        return f"{self.phase} error {type(self.error).__name__}: {text[:300]}"


def resolve(tf, api: str):
    """``resolve(tf, "nn.relu")`` -> ``tf.nn.relu``."""
    obj = tf
    for part in api.split("."):
        obj = getattr(obj, part)
    return obj


def _static(tf, fetches):
    """The static (dtype, shape) of every tensor in a nested fetch structure."""
    if isinstance(fetches, (list, tuple)):
        return [_static(tf, f) for f in fetches]
    if isinstance(fetches, dict):
        return {k: _static(tf, v) for k, v in fetches.items()}
    if hasattr(fetches, "shape") and hasattr(fetches, "dtype") and hasattr(fetches, "op"):
        shape = fetches.shape
        dims = shape.as_list() if shape.ndims is not None else None
        return (fetches.dtype.base_dtype.name, dims)
    return type(fetches).__name__


def default_run(sess, fetches, feed):
    """Run the fetches once with the feed."""
    return sess.run(fetches, feed)


def outcome(tf, build, run=default_run) -> Outcome:
    """Build ``build(tf, feed)`` in a fresh graph and ``run(sess, fetches, feed)`` it."""
    g = tf.Graph()
    with g.as_default():
        feed: dict = {}
        try:
            fetches = build(tf, feed)
            static = _static(tf, fetches)
        except Exception as e:
            return Outcome("build", error=e)
        with tf.Session(graph=g) as sess:
            try:
                value = run(sess, fetches, feed)
            except Exception as e:
                return Outcome("run", error=e)
    return Outcome("ok", value=value, static=static)


def assert_values_match(got, want, rtol=None, atol=None, path="value"):
    """Nested structure, Python/numpy type, dtype, shape and values (NaN == NaN) must match."""
    if isinstance(want, dict):
        assert type(got) is type(want), f"{path}: type {type(got)} != {type(want)}"
        assert list(got) == list(want), f"{path}: keys {list(got)} != {list(want)}"
        for k in want:
            assert_values_match(got[k], want[k], rtol, atol, f"{path}[{k!r}]")
        return
    if isinstance(want, (list, tuple)):
        assert type(got).__name__ == type(want).__name__, (
            f"{path}: type {type(got)} != {type(want)}"
        )
        assert len(got) == len(want), f"{path}: length {len(got)} != {len(want)}"
        for i, (g, w) in enumerate(zip(got, want)):
            assert_values_match(g, w, rtol, atol, f"{path}[{i}]")
        return
    if want is None or (
        isinstance(want, (bytes, str, int, float, bool)) and not isinstance(want, np.generic)
    ):
        assert type(got) is type(want) and got == want, f"{path}: {got!r} != {want!r}"
        return
    if isinstance(want, (np.ndarray, np.generic)):
        assert type(got) is type(want), f"{path}: type {type(got)} != {type(want)}"
        got_a, want_a = np.asarray(got), np.asarray(want)
        assert got_a.dtype == want_a.dtype, f"{path}: dtype {got_a.dtype} != {want_a.dtype}"
        assert got_a.shape == want_a.shape, f"{path}: shape {got_a.shape} != {want_a.shape}"
        if want_a.dtype.kind in "fc":
            r, a = TOLERANCES.get(want_a.dtype.name, (1e-6, 1e-6))
            np.testing.assert_allclose(
                got_a,
                want_a,
                rtol=r if rtol is None else rtol,
                atol=a if atol is None else atol,
                equal_nan=True,
                err_msg=path,
            )
        else:
            np.testing.assert_array_equal(got_a, want_a, err_msg=path)
        return
    # Framework objects (e.g. SparseTensorValue namedtuples were handled above): same type name.
    assert type(got).__name__ == type(want).__name__, f"{path}: {type(got)} != {type(want)}"


def assert_same(build, run=default_run, rtol=None, atol=None, check_static=True):
    """Build and run ``build`` in both frameworks; their outcomes must agree.

    TensorFlow succeeds -> graphjit succeeds with matching static dtypes/shapes and values.
    TensorFlow raises -> graphjit raises in the same phase an exception of the same class name.
    Returns the two outcomes ``(want, got)`` for extra checks.
    """
    want = outcome(TF, build, run)
    got = outcome(GJ, build, run)
    assert got.phase == want.phase, f"TF: {want.describe()} | graphjit: {got.describe()}"
    if want.phase == "ok":
        if check_static:
            assert got.static == want.static, f"static: {got.static} != {want.static}"
        assert_values_match(got.value, want.value, rtol, atol)
    else:
        w, g = type(want.error).__name__, type(got.error).__name__
        assert g == w, f"TF: {want.describe()} | graphjit: {got.describe()}"
    return want, got


def feeder(tf, feed, arrays, static=True):
    """Placeholders for ``arrays`` (full static shapes, or unknown dims), registered in ``feed``."""
    out = []
    for a in arrays:
        a = np.asarray(a)
        shape = list(a.shape) if static else [None] * a.ndim
        ph = tf.placeholder(tf.as_dtype(a.dtype), shape)
        feed[ph] = a
        out.append(ph)
    return out
