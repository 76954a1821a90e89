"""Helpers shared by the workloads: per-peer :class:`~bench.harness.Impl` factories and checks."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from bench.harness import Built, Context, Impl

#: A TF1-style graph builder: ``builder(tf) -> GraphSpec``.
GraphBuilder = Callable[[Any], dict[str, Any]]


def graph_spec(
    inputs: Sequence[Any], fetch: Any, init: Any = None, params: Sequence[Any] = ()
) -> dict[str, Any]:
    """Describe a built graph.

    Parameters
    ----------
    inputs : sequence
        Placeholders, in the order values are fed.
    fetch : tensor, op or list of them
        What one call runs.
    init : op, optional
        Initializer to run once (``tf.global_variables_initializer()``).
    params : sequence
        Variables read back by training probes.

    Returns
    -------
    dict
    """
    return {"inputs": list(inputs), "fetch": fetch, "init": init, "params": list(params)}


def _graph_impl(
    ctx: Context,
    peer: str,
    variant: str,
    builder: GraphBuilder,
    values: Sequence[Any],
    probe_steps: int,
) -> Impl:
    def build() -> Built:
        tf = ctx.peers.module(peer)
        graph = tf.Graph()
        with graph.as_default():
            spec = builder(tf)
            sess = ctx.peers.session(peer, graph)
            if spec["init"] is not None:
                sess.run(spec["init"])
            fetch, inputs = spec["fetch"], spec["inputs"]
            if variant == "make_callable":
                fn = _spelled_out_call(sess.make_callable(fetch, inputs), values)
            else:
                feed = dict(zip(inputs, values))

                def fn() -> Any:
                    return sess.run(fetch, feed)

        probe = None
        if probe_steps:
            params = spec["params"]
            probe = training_probe(lambda: fn()[0], lambda: sess.run(params), probe_steps)

        return Built(fn=fn, probe=probe, close=sess.close)

    return Impl(peer, variant, build)


def _spelled_out_call(f: Callable[..., Any], values: Sequence[Any]) -> Callable[[], Any]:
    """``lambda: f(v0, v1, ...)``: the call as user code writes it and as the numba rows call
    their kernels. ``f(*values)`` would cost a plain function ~0.15 us more than a numba
    dispatcher (CPython does not specialize a call that unpacks a sequence)."""
    vals = tuple(values)
    if len(vals) == 1:
        (v0,) = vals
        return lambda: f(v0)
    if len(vals) == 2:
        v0, v1 = vals
        return lambda: f(v0, v1)
    if len(vals) == 3:
        v0, v1, v2 = vals
        return lambda: f(v0, v1, v2)
    return lambda: f(*vals)


def graph_impls(
    ctx: Context,
    builder: GraphBuilder,
    values: Sequence[Any],
    variants: Sequence[str] = ("make_callable",),
    probe_steps: int = 0,
) -> list[Impl]:
    """Implementations of one TF1-style graph on every enabled graph peer.

    Parameters
    ----------
    ctx : Context
        Run context.
    builder : callable
        ``builder(tf)`` builds the graph in the current default graph and
        returns :func:`graph_spec`.  The same function runs on
        ``graphjit.compat.v1`` and ``tensorflow.compat.v1``.
    values : sequence
        Values fed to ``spec["inputs"]`` on every call.
    variants : sequence of str
        ``"make_callable"`` and/or ``"Session.run"``.
    probe_steps : int
        For training graphs: run this many steps on the fresh graph and read
        back ``spec["params"]`` as the checked result.

    Returns
    -------
    list of Impl
    """
    return [
        _graph_impl(ctx, peer, variant, builder, values, probe_steps)
        for peer in ctx.peers.graph_peers()
        for variant in variants
    ]


def training_probe(
    step: Callable[[], Any], read_params: Callable[[], Sequence[Any]], steps: int
) -> Callable[[], tuple[list[float], list[np.ndarray]]]:
    """Probe for a training step: ``steps`` losses and the parameters after the first step.

    Parameters are compared after one step only: later steps can cross a relu
    or max-pool tie differently in float32 and float64, which is legitimate
    but changes the weights discontinuously.  The later losses still check
    that the updated parameters are used.
    """

    def probe() -> tuple[list[float], list[np.ndarray]]:
        losses = [float(step())]
        params = [np.array(p, dtype=np.float64, copy=True) for p in read_params()]
        losses += [float(step()) for _ in range(steps - 1)]
        return losses, params

    return probe


def simple_impl(
    ctx: Context,
    peer: str,
    variant: str,
    build: Callable[[], Built | Callable[[], Any]],
    verify: bool = True,
) -> list[Impl]:
    """One implementation for ``peer`` if it is enabled, else an empty list."""
    if not ctx.peers.enabled(peer):
        return []
    return [Impl(peer, variant, build, verify=verify)]


def to_numpy(value: Any) -> Any:
    """Convert a peer's result (list, JAX array, scalar) to numpy."""
    if isinstance(value, (list, tuple)):
        return [to_numpy(v) for v in value]
    return np.asarray(value)


def close_check(
    ref: Any, rtol: float = 1e-4, atol_scale: float = 1e-5
) -> Callable[[Any], str | None]:
    """Return a check comparing a result with ``ref``.

    The absolute tolerance is ``atol_scale * max(1, max|ref|)`` so float32
    results of large chains are judged relative to their magnitude.
    """
    ref = np.asarray(ref, dtype=np.float64)
    atol = atol_scale * max(1.0, float(np.max(np.abs(ref))) if ref.size else 1.0)

    def check(result: Any) -> str | None:
        out = np.asarray(to_numpy(result), dtype=np.float64)
        if out.shape != ref.shape:
            return f"shape {out.shape} != {ref.shape}"
        if not np.all(np.isfinite(out)):
            return "non-finite values"
        if not np.allclose(out, ref, rtol=rtol, atol=atol):
            err = float(np.max(np.abs(out - ref)))
            return f"max abs err {err:.3g} (atol {atol:.2g}, rtol {rtol:g})"
        return None

    return check


def training_check(
    ref_losses: Sequence[float],
    ref_params: Sequence[np.ndarray],
    rtol: float = 2e-3,
    atol: float = 2e-5,
    max_bad_fraction: float = 1e-3,
) -> Callable[[Any], str | None]:
    """Check ``(losses, params)`` of a :func:`training_probe` against a float64 reference.

    Losses must match within ``rtol``; the parameters after the first step
    may differ on a tiny fraction of entries (Adam's first step amplifies the
    sign of near-zero gradients, which float32 and float64 can disagree on).
    """

    def check(result: Any) -> str | None:
        losses, params = result
        if not np.allclose(losses, ref_losses, rtol=rtol, atol=1e-6):
            return f"losses {np.round(losses, 5).tolist()} != {np.round(ref_losses, 5).tolist()}"
        for i, (p, r) in enumerate(zip(params, ref_params)):
            p = np.asarray(p, dtype=np.float64).reshape(r.shape)
            bad = ~np.isclose(p, r, rtol=1e-3, atol=atol)
            if bad.mean() > max_bad_fraction:
                return f"param {i}: {bad.mean():.2%} entries differ"
        return None

    return check
