"""JIT tests share one temporary disk cache and compiled chains (module-scoped fixtures)."""

from __future__ import annotations

import pytest

from graphjit import config


@pytest.fixture(scope="session", autouse=True)
def jit_cache_dir(tmp_path_factory):
    """Every compile of this test session goes to one fresh cache directory."""
    path = tmp_path_factory.mktemp("graphjit-cache")
    with config.override(cache_dir=path, disable_jit=False):
        yield path
