"""Differential tests: ``tf.gradients`` through ``tf.while_loop``, graphjit vs TensorFlow.

Each case builds a loop, differentiates it and fetches the loop's outputs with the gradients
(``None`` gradients are fetched as the string ``"None"`` so structure differences show up).
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from diff_helpers import assert_same, feeder

f64 = np.float64
RNG = np.random.default_rng(7)
XS = RNG.normal(size=(4, 2, 3))
W = RNG.normal(size=(3, 3)) * 0.5
U = RNG.normal(size=(3, 3)) * 0.5
H0 = RNG.normal(size=(2, 3))
WS = RNG.normal(size=(2, 3))


def _none(tf, gs):
    return [tf.constant("None") if g is None else g for g in gs]


def squaring(tf, feed):
    x, n = feeder(tf, feed, [f64(1.1), np.int32(3)])
    _, y = tf.while_loop(lambda i, y: i < n, lambda i, y: (i + 1, y * y), [tf.constant(0), x])
    return [y, *_none(tf, tf.gradients(y, [x, n]))]


def weighted_sum(tf, feed):
    xs, w = feeder(tf, feed, [np.array([0.5, -1.0, 2.0, 3.5]), f64(1.5)], static=False)
    _, s = tf.while_loop(
        lambda i, s: i < tf.shape(xs)[0],
        lambda i, s: (i + 1, s + w * tf.gather(xs, i)),
        [tf.constant(0), tf.constant(0.0, tf.float64)],
    )
    return [s, *_none(tf, tf.gradients(s, [w, xs]))]


def rnn(tf, feed):
    xs, w, u, h0 = feeder(tf, feed, [XS, W, U, H0])

    def step(t, h):
        return t + 1, tf.tanh(tf.matmul(h, w) + tf.matmul(tf.gather(xs, t), u))

    _, h = tf.while_loop(lambda t, h: t < 4, step, [tf.constant(0), h0])
    loss = tf.reduce_sum(h * tf.constant(WS))
    return [h, *_none(tf, tf.gradients(loss, [w, u, h0]))]


def max_iterations(tf, feed):
    x, m = feeder(tf, feed, [f64(1.5), np.int32(2)])
    y = tf.while_loop(lambda y: y < 1e6, lambda y: y * y, [x], maximum_iterations=m)
    return [y, *tf.gradients(y, [x])]


def zero_iterations(tf, feed):
    x, w = feeder(tf, feed, [np.array([1.0, 2.0]), f64(4.0)])
    _, y = tf.while_loop(lambda i, y: i < 0, lambda i, y: (i + 1, y * w), [tf.constant(0), x])
    return [y, *_none(tf, tf.gradients(tf.reduce_sum(y * [2.0, 3.0]), [x, w]))]


def grad_ys(tf, feed):
    (x,) = feeder(tf, feed, [np.array([1.5, -0.5, 2.0])])
    _, y = tf.while_loop(lambda i, y: i < 2, lambda i, y: (i + 1, y * x),
                         [tf.constant(0), tf.ones([3], tf.float64)])  # fmt: skip
    gy = tf.constant([1.0, -2.0, 0.5], tf.float64)
    return [y, *tf.gradients(y, [x], grad_ys=[gy]), *tf.gradients(y, [x], grad_ys=[2.0 * gy])]


def nested_structure(tf, feed):
    a, b = feeder(tf, feed, [f64(1.5), np.array([1.0, 2.0])])
    i0 = tf.constant(0)

    def body(s):
        return [{"i": s["i"] + 1, "p": (s["p"][0] * a, [s["p"][1][0] + s["p"][0]])}]

    (out,) = tf.while_loop(lambda s: s["i"] < 3, body, [{"i": i0, "p": (a, [b])}])
    loss = tf.reduce_sum(out["p"][1][0]) + 2.0 * out["p"][0]
    gs = tf.gradients(loss, [a, b, i0]) + tf.gradients(out["i"], [a])
    return [out, *_none(tf, gs)]


def back_prop_false(tf, feed):
    (x,) = feeder(tf, feed, [f64(2.0)])
    _, y = tf.while_loop(lambda i, y: i < 3, lambda i, y: (i + 1, y * x), [tf.constant(0), x],
                         back_prop=False)  # fmt: skip
    return [y, *_none(tf, tf.gradients(y, [x]))]


def cond_bound(tf, feed):
    x, lim = feeder(tf, feed, [f64(1.0), f64(2.5)])
    _, y = tf.while_loop(lambda i, y: tf.cast(i, tf.float64) < lim,
                         lambda i, y: (i + 1, y * 2.0), [tf.constant(0), x])  # fmt: skip
    return [y, *_none(tf, tf.gradients(y, [x, lim]))]


def growing_shape(tf, feed):
    (x,) = feeder(tf, feed, [f64(2.0)])
    _, s = tf.while_loop(
        lambda i, s: i < 3,
        lambda i, s: (i + 1, tf.concat([s, s[-1:] * x], 0)),
        [tf.constant(0), tf.ones([1], tf.float64)],
        shape_invariants=[tf.TensorShape([]), tf.TensorShape([None])],
    )
    return [s, *tf.gradients(tf.reduce_sum(s), [x])]


def nested_loops_and_cond(tf, feed):
    x, w = feeder(tf, feed, [np.array([0.3, -0.8]), f64(1.3)])

    def inner(y):
        return tf.while_loop(lambda j, z: j < 2, lambda j, z: (j + 1, tf.sin(z * w)),
                             [tf.constant(0), y])[1]  # fmt: skip

    def body(i, y):
        return i + 1, tf.cond(tf.equal(i % 2, 0), lambda: inner(y) + y, lambda: y * w)

    _, y = tf.while_loop(lambda i, y: i < 3, body, [tf.constant(0), x])
    return [y, *tf.gradients(tf.reduce_sum(y * [1.0, 2.0]), [x, w])]


def loop_in_cond(tf, feed):
    x, w = feeder(tf, feed, [np.array([0.3, 0.8]), f64(0.7)])

    def loop():
        return tf.while_loop(lambda i, y: i < 3, lambda i, y: (i + 1, y * w + x),
                             [tf.constant(0), x])[1]  # fmt: skip

    y = tf.cond(tf.reduce_sum(x) > 0, loop, lambda: x * 2.0)
    return [y, *tf.gradients(tf.reduce_sum(y), [x, w])]


def odd_bodies(tf, feed):
    x, w = feeder(tf, feed, [np.array([0.5, -2.0]), f64(0.7)])
    _, a, b, c, d = tf.while_loop(
        lambda i, a, b, c, d: i < 3,
        lambda i, a, b, c, d: (i + 1, w, b, c * b, tf.constant([1.0, 2.0], tf.float64)),
        [tf.constant(0), tf.reduce_sum(x), x * 2.0, x, x],
    )
    loss = a + tf.reduce_sum(b * [1.0, 3.0] + c + d)
    return [a, b, c, d, *_none(tf, tf.gradients(loss, [x, w]))]


def second_order(tf, feed):
    x, w = feeder(tf, feed, [np.array([0.1, -0.2, 0.3]), np.array([0.5, -1.0, 1.5])])
    _, a = tf.while_loop(lambda i, a: i < 4, lambda i, a: (i + 1, tf.tanh(a * w) + x * a),
                         [tf.constant(0), tf.ones([3], tf.float64)])  # fmt: skip
    (gw,) = tf.gradients(tf.reduce_sum(a * a), [w])
    return [gw, *tf.gradients(tf.reduce_sum(gw * gw), [w, x]), *tf.gradients(gw[1], [x])]


def second_order_rnn(tf, feed):
    xs, w, u, h0 = feeder(tf, feed, [XS, W, U, H0])

    def step(t, h):
        return t + 1, tf.tanh(tf.matmul(h, w) + tf.matmul(tf.gather(xs, t), u))

    _, h = tf.while_loop(lambda t, h: t < 4, step, [tf.constant(0), h0])
    gw, gu = tf.gradients(tf.reduce_sum(h * tf.constant(WS)), [w, u])
    return [gw, *_none(tf, tf.gradients(tf.reduce_sum(gw * gu), [w, u, h0, xs]))]


def second_order_max_iterations(tf, feed):
    x, m = feeder(tf, feed, [f64(1.5), np.int32(2)])
    y = tf.while_loop(lambda y: y < 1e6, lambda y: y * y, [x], maximum_iterations=m)
    (dx,) = tf.gradients(y, [x])
    return [dx, *tf.gradients(dx, [x])]


CASES = {
    f.__name__: f
    for f in (
        squaring,
        weighted_sum,
        rnn,
        max_iterations,
        zero_iterations,
        grad_ys,
        nested_structure,
        back_prop_false,
        cond_bound,
        growing_shape,
        nested_loops_and_cond,
        loop_in_cond,
        odd_bodies,
        second_order,
        second_order_rnn,
        second_order_max_iterations,
    )
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_while_gradient_matches_tensorflow(name):
    assert_same(CASES[name], rtol=1e-10, atol=1e-12)


def _init_then_run(sess, fetches, feed):
    init, out = fetches
    sess.run(init)
    return sess.run(out, feed)


@pytest.mark.parametrize("read", ["value", "read_value"])
def test_variable_in_the_body_matches_tensorflow(read):
    def build(tf, feed):
        v = tf.Variable(2.0, dtype=tf.float64)
        (x,) = feeder(tf, feed, [f64(1.5)])
        _, z = tf.while_loop(
            lambda i, y: i < 3,
            lambda i, y: (i + 1, y * getattr(v, read)()),
            [tf.constant(0), x],
        )
        return tf.global_variables_initializer(), [z, *tf.gradients(z, [v, x])]

    assert_same(build, _init_then_run, check_static=False)


def test_training_through_a_loop_matches_tensorflow():
    def build(tf, feed):
        w = tf.Variable([1.0, -0.5], dtype=tf.float64)
        x = tf.constant([0.5, 2.0], tf.float64)
        _, h = tf.while_loop(lambda i, h: i < 3, lambda i, h: (i + 1, h * w + x),
                             [tf.constant(0), tf.ones([2], tf.float64)])  # fmt: skip
        loss = tf.reduce_sum(h * h)
        train = tf.train.GradientDescentOptimizer(0.01).minimize(loss)
        return tf.global_variables_initializer(), train, w, loss

    def run(sess, fetches, feed):
        init, train, w, loss = fetches
        sess.run(init)
        out = []
        for _ in range(3):
            sess.run(train)
            out.append(sess.run([w, loss]))
        return out

    assert_same(build, run, rtol=1e-10, atol=1e-12, check_static=False)


@pytest.mark.parametrize("read", ["value", "read_value"])
@pytest.mark.parametrize("taken", [True, False])
def test_variable_read_in_a_cond_branch_matches_tensorflow(read, taken):
    def build(tf, feed):
        v = tf.Variable(2.0, dtype=tf.float64)
        w = tf.Variable(-1.5, dtype=tf.float64)
        (p,) = feeder(tf, feed, [np.bool_(taken)])
        out = tf.cond(p, lambda: getattr(v, read)() * 3.0, lambda: tf.square(getattr(w, read)()))
        return tf.global_variables_initializer(), [out, *tf.gradients(out, [v, w])]

    assert_same(build, _init_then_run, check_static=False)
