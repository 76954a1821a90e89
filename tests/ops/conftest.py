"""Fixtures for the op tests; the shared helpers live in ``ops_helpers`` (a uniquely named
module, so ``pytest tests/ops tests/jit`` can import both directories' helpers)."""

from __future__ import annotations

import pytest

import graphjit.compat.v1 as tf


@pytest.fixture
def graph():
    g = tf.Graph()
    with g.as_default():
        yield g


@pytest.fixture
def sess(graph):
    s = tf.Session(graph=graph)
    yield s
    s.close()
