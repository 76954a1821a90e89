"""What a cold start pays for: the first ``Session.run`` of a fresh process is answered by
the interpreter, so it must not import the compiler's modules, numba, or the ConfigProto
message classes (a session created without a config builds its default ConfigProto only
when something reads it)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest

import graphjit.compat.v1 as tf

_CHILD = r"""
import json, sys
import numpy as np
import graphjit.compat.v1 as tf
before = set(sys.modules)
x = tf.placeholder(tf.float32, [None])
y = tf.tanh(x * 2.0) + 1.0
sess = tf.Session()
out = sess.run(y, {x: np.ones(4, np.float32)})
loaded = sorted(set(sys.modules) - before)
cfg = sess._config  # built on demand
print(json.dumps({"loaded": loaded, "out": out.tolist(), "timeout": cfg.operation_timeout_in_ms,
                  "pb_after": "graphjit.config_pb" in sys.modules}))
"""


def test_first_run_imports_no_compiler_numba_or_protobuf_classes(tmp_path):
    env = dict(os.environ, GRAPHJIT_CACHE_DIR=str(tmp_path), GRAPHJIT_COMPILE="background")
    res = subprocess.run(
        [sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 0, res.stderr
    got = json.loads(res.stdout.strip().splitlines()[-1])
    heavy = {"graphjit.fuse", "graphjit.codegen", "graphjit.config_pb", "graphjit.protowire"}
    assert not heavy & set(got["loaded"]), got["loaded"]
    assert not [m for m in got["loaded"] if m == "numba" or m.startswith("numba.")]
    assert all(abs(v - (math.tanh(2.0) + 1.0)) < 1e-6 for v in got["out"])
    assert got["timeout"] == 0 and got["pb_after"]


def test_session_config_type_errors_without_config_pb_loaded():
    with pytest.raises(TypeError, match=r"config must be a tf\.ConfigProto"):
        tf.Session(config={"intra_op_parallelism_threads": 1})
    with pytest.raises(TypeError, match="must be a string, got a ConfigProto"):
        tf.Session(tf.ConfigProto())
    with tf.Session(config=tf.ConfigProto(operation_timeout_in_ms=5)) as sess:
        assert sess._config.operation_timeout_in_ms == 5
