"""Fixtures for the Session contract tests: a fresh graph per test, sessions closed afterwards."""

from __future__ import annotations

import pytest

import graphjit.compat.v1 as tf
from graphjit import session as _session


@pytest.fixture
def graph():
    """A fresh Graph installed as the default graph for the whole test."""
    g = tf.Graph()
    with g.as_default():
        yield g


@pytest.fixture
def sess(graph):
    """A Session on ``graph``, closed after the test."""
    s = tf.Session(graph=graph)
    yield s
    s.close()


@pytest.fixture(autouse=True)
def clean_default_session_stack():
    """No test may leak a default session (InteractiveSession, as_default) into the next."""
    yield
    leaked = list(_session._session_stack.stack)
    for s in leaked:
        s.close()
    _session._session_stack.stack.clear()
    assert not leaked, f"test leaked default sessions: {leaked}"


@pytest.fixture
def counter(graph):
    """An int32 scalar variable ``v`` (0), its initializer and ``v.assign_add(1)``."""
    v = tf.Variable(0, name="v")
    return v, v.initializer, tf.assign_add(v, 1)
