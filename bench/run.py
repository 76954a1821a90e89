"""Entry point for ``python bench/run.py`` (same as ``python -m bench``)."""

from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__":
    # replace the script directory (bench/) by the repository root on the path
    sys.path[0] = str(Path(__file__).resolve().parent.parent)
    from bench.cli import main

    sys.exit(main())
