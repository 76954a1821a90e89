"""The W2 elementwise chains, importable without numpy or numba (W5 child processes use them)."""

from __future__ import annotations

from typing import Any


def chain_exp_tanh(x: Any, exp: Any, tanh: Any) -> Any:
    """The 12-op chain on any array type with operators (tensor, ndarray, tracer)."""
    t1 = x * 0.5
    t2 = t1 + 0.25
    t3 = tanh(t2)
    t4 = x * x
    t5 = t4 * -0.5
    t6 = exp(t5)
    t7 = t3 * t6
    t8 = x * 1.5
    t9 = t7 + t8
    t10 = t9 - 0.125
    t11 = t10 * t10
    return t11 + x


def chain_arith(x: Any) -> Any:
    """The 11-op arithmetic chain on any array type with operators."""
    t1 = x * 1.1
    t2 = t1 + 0.3
    t3 = t2 * x
    t4 = t3 - 0.7
    t5 = t4 * t4
    t6 = t5 + x
    t7 = t6 * 0.9
    t8 = t7 / 2.5
    t9 = t8 + t1
    t10 = t9 * t2
    return t10 - 0.05


def build_chain(tf: Any, kind: str) -> dict[str, Any]:
    """TF1-style graph of one chain over a float32[None] placeholder."""
    x = tf.placeholder(tf.float32, [None], name="x")
    y = chain_exp_tanh(x, tf.exp, tf.tanh) if kind == "exp/tanh" else chain_arith(x)
    return {"inputs": [x], "fetch": y, "init": None, "params": []}
