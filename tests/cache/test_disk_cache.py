"""The L2 disk cache: a second process loads machine code instead of compiling."""

from __future__ import annotations

import json
import os
import subprocess
import sys

SCRIPT = r"""
import json, sys
import numpy as np
import graphjit
import graphjit.compat.v1 as tf
g = tf.Graph()
with g.as_default():
    x = tf.placeholder(tf.float32, [None])
    y = tf.tanh(x * 2.0) + 1.0
with tf.Session(graph=g) as sess:
    out = sess.make_callable(y, [x])(np.arange(3, dtype=np.float32))
    info = graphjit.inspect_chain(sess, y, [x])
print(json.dumps({"stats": graphjit.cache_stats(), "out": out.tolist(), "src": info["source"]}))
"""


def _run(cache_dir):
    env = dict(os.environ, GRAPHJIT_CACHE_DIR=str(cache_dir))
    env.pop("GRAPHJIT_DISABLE_JIT", None)
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_second_process_hits_disk_cache_without_compiling(tmp_path):
    first = _run(tmp_path)
    assert first["stats"]["compiles"] == 1
    second = _run(tmp_path)
    assert second["stats"]["compiles"] == 0
    assert second["stats"]["l2"]["hits"] == 1
    assert second["out"] == first["out"]
    assert second["src"] == first["src"]


def test_corrupt_cache_entry_is_recompiled_not_fatal(tmp_path):
    first = _run(tmp_path)
    with open(first["src"], "w") as f:
        f.write("this is not python (")
    again = _run(tmp_path)
    assert again["out"] == first["out"]
    assert again["stats"]["failures"] == 0
