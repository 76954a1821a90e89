"""Suite-wide settings: compile synchronously unless a test asks for background compiles,
and build no native modules unless a test asks for them.

The default tier policy compiles cold signatures on a background thread. Tests pin what a
compiled chain does right after the call that compiled it, so they run in ``sync`` mode;
``tests/jit/test_background_compile.py`` covers the background mode explicitly.
"""

from __future__ import annotations

import os

os.environ.setdefault("GRAPHJIT_COMPILE", "sync")
# no native-module builds (child processes running a C compiler) from the suite;
# tests/cache/test_native.py turns them on in the processes it starts
os.environ.setdefault("GRAPHJIT_NATIVE", "off")

from graphjit import config

config.configure(compile_mode=config.from_env().compile_mode, native=config.from_env().native)
