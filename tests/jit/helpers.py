"""Shared helpers: run a graph compiled and interpreted and compare (the oracle pair)."""

from __future__ import annotations

import numpy as np

import graphjit
from graphjit import config, jit


def run_both(sess, fetches, feed_list, args):
    """(compiled results, interpreted results) of one fetch/feed signature."""
    with config.override(disable_jit=True):
        interp = sess.run(fetches, dict(zip(feed_list, args)))
    fn = sess.make_callable(fetches, feed_list)
    compiled = fn(*args)
    return compiled, interp


def assert_same(a, b, rtol=1e-6, atol=1e-6, name=""):
    """Same dtype, shape and values (NaNs equal)."""
    a_arr, b_arr = np.asarray(a), np.asarray(b)
    assert a_arr.dtype == b_arr.dtype, (name, a_arr.dtype, b_arr.dtype)
    assert a_arr.shape == b_arr.shape, (a_arr.shape, b_arr.shape)
    assert type(a) is type(b), (type(a), type(b))
    if a_arr.dtype.kind == "f":
        np.testing.assert_allclose(
            a_arr, b_arr, rtol=rtol, atol=atol, equal_nan=True, err_msg=name
        )
    else:
        np.testing.assert_array_equal(a_arr, b_arr, err_msg=name)


def compiles() -> int:
    return graphjit.cache_stats()["compiles"] + graphjit.cache_stats()["l2"]["hits"]


def l1_has(program_key_prefix="") -> int:
    return sum(1 for k in jit._L1 if k[0].startswith(program_key_prefix))
