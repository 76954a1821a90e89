"""Quickstart: TF1 code on graphjit — a graph, a Session, and a make_callable loop.

Run: python examples/quickstart.py
"""

from __future__ import annotations

import time

import numpy as np

import graphjit.compat.v1 as tf


def main() -> None:
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, shape=[None, 4], name="x")
        w = tf.Variable(np.arange(12, dtype=np.float32).reshape(4, 3) / 10.0, name="w")
        b = tf.Variable(np.zeros(3, np.float32), name="b")
        y = tf.tanh(tf.matmul(x, w) + b)
        total = tf.reduce_sum(y * y)
        init = tf.global_variables_initializer()

    data = np.random.default_rng(0).standard_normal((8, 4)).astype(np.float32)
    with tf.Session(graph=g) as sess:
        sess.run(init)
        print("y[0]   =", sess.run(y, feed_dict={x: data})[0])
        print("total  =", sess.run(total, feed_dict={x: data}))
        step = sess.make_callable([y, total], [x])
        step(data)  # first call compiles (or warms up)
        n = 2000
        t0 = time.perf_counter()
        for _ in range(n):
            step(data)
        dt = (time.perf_counter() - t0) / n
        print(f"make_callable: {dt * 1e6:.1f} us per call over {n} calls")


if __name__ == "__main__":
    main()
