"""Suite-wide settings: compile synchronously unless a test asks for background compiles.

The default tier policy compiles cold signatures on a background thread. Tests pin what a
compiled chain does right after the call that compiled it, so they run in ``sync`` mode;
``tests/jit/test_background_compile.py`` covers the background mode explicitly.
"""

from __future__ import annotations

import os

os.environ.setdefault("GRAPHJIT_COMPILE", "sync")

from graphjit import config

config.configure(compile_mode=config.from_env().compile_mode)
