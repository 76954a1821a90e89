"""graphjit benchmark suite: ``python -m bench`` (see docs/performance.md).

Importing this package has no side effects and imports nothing heavy, so
:mod:`bench.cli` can pin thread counts before numpy and friends load.
"""
