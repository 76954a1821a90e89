"""Gradients through ``tf.while_loop``: closed forms, finite differences, structure, training."""

from __future__ import annotations

import numpy as np
from ops_helpers import check_gradient, run_all

import graphjit.compat.v1 as tf
from graphjit import config

f64 = np.float64


def _run(fetches, feed, graph):
    """Values from Session.run and from a compiled make_callable (must agree)."""
    out = run_all(fetches, feed, graph)
    if "callable" in out:
        for a, b in zip(out["callable"], out["run"]):
            np.testing.assert_allclose(a, b, rtol=1e-12)
    return out["run"]


# ------------------------------------------------------------------ closed forms
def test_repeated_squaring_gradient_with_tensor_trip_count():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float64, [])
        n = tf.placeholder(tf.int32, [])
        _, y = tf.while_loop(lambda i, y: i < n, lambda i, y: (i + 1, y * y),
                             [tf.constant(0), x])  # fmt: skip
        (dx,) = tf.gradients(y, [x])
    for nv in (0, 1, 3):
        got = _run([y, dx], {x: 1.1, n: nv}, g)
        p = 2.0**nv
        np.testing.assert_allclose(got, [1.1**p, p * 1.1 ** (p - 1)], rtol=1e-12)


def test_sum_of_w_times_x_i_gradients_for_weight_and_sequence():
    g = tf.Graph()
    with g.as_default():
        xs = tf.placeholder(tf.float64, [None])
        w = tf.placeholder(tf.float64, [])
        _, s = tf.while_loop(
            lambda i, s: i < tf.shape(xs)[0],
            lambda i, s: (i + 1, s + w * tf.gather(xs, i)),
            [tf.constant(0), tf.constant(0.0, tf.float64)],
        )
        dw, dxs = tf.gradients(s, [w, xs])
    xv = np.array([0.5, -1.0, 2.0, 3.5])
    got = _run([s, dw, dxs], {xs: xv, w: 1.5}, g)
    np.testing.assert_allclose(got[0], 1.5 * xv.sum())
    np.testing.assert_allclose(got[1], xv.sum())
    np.testing.assert_allclose(got[2], np.full(4, 1.5))


def test_captures_no_x_depends_on_get_no_gradient_loop_state():
    with tf.Graph().as_default() as g:
        xs = tf.placeholder(tf.float64, [5, 3])
        w = tf.placeholder(tf.float64, [])
        _, s = tf.while_loop(lambda i, s: i < 5, lambda i, s: (i + 1, s + w * tf.gather(xs, i)),
                             [tf.constant(0), tf.zeros([3], tf.float64)])  # fmt: skip
        (dw,) = tf.gradients(tf.reduce_sum(s), [w])
        # the backward loop carries (counter, d s, d w) only: nothing for the sequence
        assert len(dw.op.outputs) == 3
        assert not [op for op in g.get_operations() if op.type == "UnsortedSegmentSum"]
        with tf.Session() as sess:
            xv = np.arange(15.0).reshape(5, 3)
            assert sess.run(dw, {xs: xv, w: 2.0}) == xv.sum()


def test_maximum_iterations_cuts_the_gradient_too():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float64, [])
        m = tf.placeholder(tf.int32, [])
        y = tf.while_loop(lambda y: y < 1e6, lambda y: y * y, [x], maximum_iterations=m)
        (dx,) = tf.gradients(y, x)
    with tf.Session(graph=g) as sess:
        # x^4 after two steps (the cond alone would allow more); 4 x^3
        np.testing.assert_allclose(sess.run([y, dx], {x: 1.5, m: 2}), [1.5**4, 4 * 1.5**3])
        # the cond stops first: 3^2 = 9, 9^2 = 81, 81^2 = 6561, 6561^2 > 1e6 -> x^16
        np.testing.assert_allclose(sess.run([y, dx], {x: 3.0, m: 10}), [3.0**16, 16 * 3.0**15])


def test_zero_iterations_pass_the_gradient_through_and_zero_the_captures():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float64, [2])
        w = tf.placeholder(tf.float64, [])
        _, y = tf.while_loop(lambda i, y: i < 0, lambda i, y: (i + 1, y * w),
                             [tf.constant(0), x])  # fmt: skip
        dx, dw = tf.gradients(tf.reduce_sum(y * [2.0, 3.0]), [x, w])
    got = _run([dx, dw], {x: [1.0, 2.0], w: 4.0}, g)
    np.testing.assert_allclose(got[0], [2.0, 3.0])
    assert got[1] == 0.0


def test_grad_ys_weights_a_vector_loop_output():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float64, [3])
        _, y = tf.while_loop(lambda i, y: i < 2, lambda i, y: (i + 1, y * x),
                             [tf.constant(0), tf.ones([3], tf.float64)])  # fmt: skip
        gy = tf.constant([1.0, -2.0, 0.5], tf.float64)
        (dx,) = tf.gradients(y, [x], grad_ys=[gy])
        (dx2,) = tf.gradients(y, [x], grad_ys=[2.0 * gy])  # a second gradient of the same loop
    xv = np.array([1.5, -0.5, 2.0])
    got = _run([y, dx, dx2], {x: xv}, g)
    np.testing.assert_allclose(got[0], xv**2)
    np.testing.assert_allclose(got[1], 2 * xv * [1.0, -2.0, 0.5])
    np.testing.assert_allclose(got[2], 4 * xv * [1.0, -2.0, 0.5])


def test_rnn_loop_matches_the_unrolled_graph_and_finite_differences():
    rng = np.random.default_rng(0)
    T, B, D, H = 4, 2, 3, 3
    xs_v = rng.normal(size=(T, B, D))
    w_v, u_v = rng.normal(size=(H, H)) * 0.5, rng.normal(size=(D, H)) * 0.5
    h0_v = rng.normal(size=(B, H))

    def rnn(xs, w, u, h0, loop):
        def step(t, h):
            return t + 1, tf.tanh(tf.matmul(h, w) + tf.matmul(tf.gather(xs, t), u))

        if not loop:
            h = h0
            for t in range(T):
                _, h = step(tf.constant(t), h)
            return h
        _, h = tf.while_loop(lambda t, h: t < tf.shape(xs)[0], step, [tf.constant(0), h0])
        return h

    check_gradient(lambda *a: rnn(*a, loop=True), [xs_v, w_v, u_v, h0_v], rtol=1e-6)
    g = tf.Graph()
    with g.as_default():
        args = [tf.constant(v) for v in (xs_v, w_v, u_v, h0_v)]
        ws = tf.constant(rng.normal(size=(B, H)))
        loop = tf.gradients(tf.reduce_sum(rnn(*args, loop=True) * ws), args)
        flat = tf.gradients(tf.reduce_sum(rnn(*args, loop=False) * ws), args)
    with tf.Session(graph=g) as sess:
        for a, b in zip(*sess.run([loop, flat])):
            np.testing.assert_allclose(_dense(a), _dense(b), rtol=1e-12, atol=1e-14)


def _dense(v):
    if hasattr(v, "dense_shape"):  # IndexedSlicesValue (the unrolled graph's gather)
        out = np.zeros(v.dense_shape, v.values.dtype)
        np.add.at(out, v.indices, v.values)
        return out
    return v


def test_nested_loop_vars_and_integer_vars_get_none():
    g = tf.Graph()
    with g.as_default():
        a = tf.placeholder(tf.float64, [])
        b = tf.placeholder(tf.float64, [2])
        i0 = tf.constant(0)

        def body(s):
            return [{"i": s["i"] + 1, "p": (s["p"][0] * a, [s["p"][1][0] + s["p"][0]])}]

        (out,) = tf.while_loop(lambda s: s["i"] < 3, body,
                               [{"i": i0, "p": (a, [b])}])  # fmt: skip
        assert set(out) == {"i", "p"}
        loss = tf.reduce_sum(out["p"][1][0]) + 2.0 * out["p"][0]
        da, db, di = tf.gradients(loss, [a, b, i0])
        assert di is None
        assert tf.gradients(out["i"], [a]) == [None]
    # p0 = a^(k+1) after k steps; q = b + a + a^2 + a^3 (per entry); loss = sum(q) + 2 a^4
    got = _run([da, db], {a: 1.5, b: [1.0, 2.0]}, g)
    np.testing.assert_allclose(got[0], 2 * (1 + 2 * 1.5 + 3 * 1.5**2) + 8 * 1.5**3)
    np.testing.assert_allclose(got[1], [1.0, 1.0])


def test_gradient_flowing_only_through_a_captured_variable():
    with tf.Graph().as_default():
        v = tf.Variable(0.5, dtype=tf.float64)
        _, y = tf.while_loop(lambda i, y: i < 3, lambda i, y: (i + 1, y + v * v),
                             [tf.constant(0), tf.constant(1.0, tf.float64)])  # fmt: skip
        (gv,) = tf.gradients(y, [v])
        with tf.Session() as sess:
            sess.run(v.initializer)
            np.testing.assert_allclose(sess.run([y, gv]), [1.0 + 3 * 0.25, 3 * 2 * 0.5])


def test_variable_read_inside_the_body_gets_its_gradient():
    g = tf.Graph()
    with g.as_default():
        v = tf.Variable(2.0, dtype=tf.float64)
        x = tf.placeholder(tf.float64, [])
        _, z = tf.while_loop(lambda i, y: i < 3, lambda i, y: (i + 1, y * v.read_value()),
                             [tf.constant(0), x])  # fmt: skip
        gv, gx = tf.gradients(z, [v, x])
    with tf.Session(graph=g) as sess:
        sess.run(v.initializer)
        # z = x v^3 (TF: 18 and 8 at x = 1.5, v = 2)
        assert sess.run([z, gv, gx], {x: 1.5}) == [12.0, 18.0, 8.0]
        sess.run(v.assign(1.0))  # the body reads the variable live, as before
        assert sess.run([z, gv], {x: 1.5}) == [1.5, 4.5]


def test_optimizer_trains_a_variable_used_in_the_loop_body():
    with tf.Graph().as_default():
        w = tf.Variable([1.0, -0.5])
        x = tf.constant([0.5, 2.0])
        _, h = tf.while_loop(lambda i, h: i < 3, lambda i, h: (i + 1, h * w + x),
                             [tf.constant(0), tf.ones([2])])  # fmt: skip
        loss = tf.reduce_sum(h * h)
        (gw,) = tf.gradients(loss, [w])
        train = tf.train.GradientDescentOptimizer(0.01).minimize(loss)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            w0, g0, l0 = sess.run([w, gw, loss])
            # h3 = w^3 + x(w^2 + w + 1); dl/dw = 2 h3 (3 w^2 + x (2 w + 1))
            h3 = w0**3 + [0.5, 2.0] * (w0**2 + w0 + 1)
            np.testing.assert_allclose(g0, 2 * h3 * (3 * w0**2 + [0.5, 2.0] * (2 * w0 + 1)),
                                       rtol=1e-5)  # fmt: skip
            sess.run(train)
            np.testing.assert_allclose(sess.run(w), w0 - 0.01 * g0, rtol=1e-6)
            for _ in range(20):
                sess.run(train)
            assert sess.run(loss) < l0


# ------------------------------------------------------------------ structure and semantics
def test_back_prop_false_stops_the_gradient():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [])
        _, y = tf.while_loop(lambda i, y: i < 3, lambda i, y: (i + 1, y * x),
                             [tf.constant(0), x], back_prop=False)  # fmt: skip
        assert y.op.type == "StopGradient"
        assert tf.gradients(y, [x]) == [None]
        with tf.Session() as sess:
            assert sess.run(y, {x: 2.0}) == 16.0


def test_loop_bound_captured_by_cond_gets_a_zero_gradient():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, [])
        lim = tf.placeholder(tf.float64, [])
        _, y = tf.while_loop(lambda i, y: tf.cast(i, tf.float64) < lim,
                             lambda i, y: (i + 1, y * 2.0), [tf.constant(0), x])  # fmt: skip
        dx, dlim = tf.gradients(y, [x, lim])
        assert dlim is not None  # TF: connected through the op, value zero
        with tf.Session() as sess:
            assert sess.run([dx, dlim], {x: 1.0, lim: 2.5}) == [8.0, 0.0]


def test_random_ops_in_the_body_are_recorded_not_redrawn():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float64, [])
        _, y = tf.while_loop(
            lambda i, y: i < 4,
            lambda i, y: (i + 1, y * tf.random_uniform([], 1.0, 2.0, tf.float64)),
            [tf.constant(0), x],
        )
        (dx,) = tf.gradients(y, [x])
    with tf.Session(graph=g) as sess:
        for _ in range(2):
            yv, dv = sess.run([y, dx], {x: 1.5})
            np.testing.assert_allclose(dv, yv / 1.5, rtol=1e-12)  # y = x * prod(u_i)


def test_loop_var_with_a_growing_shape():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float64, [])
        _, s = tf.while_loop(
            lambda i, s: i < 3,
            lambda i, s: (i + 1, tf.concat([s, s[-1:] * x], 0)),
            [tf.constant(0), tf.ones([1], tf.float64)],
            shape_invariants=[tf.TensorShape([]), tf.TensorShape([None])],
        )
        (dx,) = tf.gradients(tf.reduce_sum(s), [x])
    # s = [1, x, x^2, x^3]
    got = _run([s, dx], {x: 2.0}, g)
    np.testing.assert_allclose(got[0], [1, 2, 4, 8])
    np.testing.assert_allclose(got[1], 1 + 2 * 2.0 + 3 * 4.0)


def test_gather_from_a_captured_embedding_gives_a_dense_gradient():
    g = tf.Graph()
    with g.as_default():
        emb = tf.placeholder(tf.float64, [4, 2])
        ids = tf.constant([2, 0, 2])
        _, s = tf.while_loop(
            lambda i, s: i < 3,
            lambda i, s: (
                i + 1,
                s + tf.gather(emb, tf.gather(ids, i)) * tf.cast(i + 1, tf.float64),
            ),
            [tf.constant(0), tf.zeros([2], tf.float64)],
        )
        (de,) = tf.gradients(tf.reduce_sum(s), [emb])
    got = _run(de, {emb: np.arange(8.0).reshape(4, 2)}, g)
    np.testing.assert_allclose(got, [[2, 2], [0, 0], [4, 4], [0, 0]])


def test_nested_while_and_cond_in_the_body_match_finite_differences():
    def build(x, w):
        def inner(y):
            _, z = tf.while_loop(lambda j, z: j < 2, lambda j, z: (j + 1, tf.sin(z * w)),
                                 [tf.constant(0), y])  # fmt: skip
            return z

        def body(i, y):
            y = tf.cond(tf.equal(i % 2, 0), lambda: inner(y) + y, lambda: y * w)
            return i + 1, y

        return tf.while_loop(lambda i, y: i < 3, body, [tf.constant(0), x])[1]

    check_gradient(build, [np.array([0.3, -0.8]), np.array(1.3)])


def test_while_inside_a_cond_branch():
    def build(x, w):
        def loop():
            return tf.while_loop(lambda i, y: i < 3, lambda i, y: (i + 1, y * w + x),
                                 [tf.constant(0), x])[1]  # fmt: skip

        return tf.cond(tf.reduce_sum(x) > 0, loop, lambda: x * 2.0)

    check_gradient(build, [np.array([0.3, 0.8]), np.array(0.7)])
    check_gradient(build, [np.array([-0.3, -0.8]), np.array(0.7)])


def test_stateful_body_loop_is_differentiable_and_writes_once_per_iteration():
    with tf.Graph().as_default():
        count = tf.Variable(0)
        x = tf.placeholder(tf.float64, [])

        def body(i, y):
            with tf.control_dependencies([tf.assign_add(count, 1)]):
                return i + 1, y * x

        _, y = tf.while_loop(lambda i, y: i < 3, body, [tf.constant(0), x])
        assert y.op.type == "While"
        (dx,) = tf.gradients(y, [x])
        with config.override(disable_jit=True), tf.Session() as sess:
            sess.run(count.initializer)
            assert sess.run([y, dx], {x: 2.0}) == [16.0, 32.0]
            assert sess.run(count) == 3


def test_second_order_gradient_through_a_loop():
    """y = x**3 built as a loop: dy/dx = 3 x**2 and, differentiating the gradient loop,
    d2y/dx2 = 6 x (the lists the first gradient read carry the second one)."""
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, [])
        _, y = tf.while_loop(lambda i, y: i < 2, lambda i, y: (i + 1, y * x),
                             [tf.constant(0), x])  # fmt: skip
        (dx,) = tf.gradients(y, [x])
        (ddx,) = tf.gradients(dx, [x])
        for jit in (True, False):
            with config.override(disable_jit=not jit, compile_after=1, compile_mode="sync"):
                with tf.Session() as sess:
                    got = [sess.run([y, dx, ddx], {x: 2.0}) for _ in range(2)][-1]
            assert got == [8.0, 12.0, 12.0]


def test_second_order_gradient_matches_central_differences():
    w0 = np.array([0.5, -1.0, 1.5])
    with tf.Graph().as_default():
        w = tf.placeholder(tf.float64, [3])
        _, a = tf.while_loop(lambda i, a: i < 3, lambda i, a: (i + 1, tf.sin(a * w) + a),
                             [tf.constant(0), tf.ones([3], tf.float64)])  # fmt: skip
        (gw,) = tf.gradients(tf.reduce_sum(a * a), [w])
        (h,) = tf.gradients(tf.reduce_sum(gw * gw), [w])
        with tf.Session() as sess:
            got = sess.run(h, {w: w0})
            eps, fd = 1e-6, np.zeros(3)
            for k in range(3):
                d = np.eye(3)[k] * eps
                hi, lo = (sess.run(gw, {w: w0 + s * d}) for s in (1, -1))
                fd[k] = (np.sum(hi * hi) - np.sum(lo * lo)) / (2 * eps)
    np.testing.assert_allclose(got, fd, rtol=1e-6, atol=1e-8)


def test_forward_program_pruned_before_the_gradient_keeps_working():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float64, [])
        _, y = tf.while_loop(lambda i, y: i < 2, lambda i, y: (i + 1, tf.exp(y)),
                             [tf.constant(0), x])  # fmt: skip
    with tf.Session(graph=g) as sess:
        f = sess.make_callable(y, feed_list=[x])
        before = f(0.5)
        with g.as_default():
            (dx,) = tf.gradients(y, [x])
        assert f(0.5) == before == sess.run(y, {x: 0.5})
        e1 = np.exp(0.5)
        np.testing.assert_allclose(sess.run(dx, {x: 0.5}), np.exp(e1) * e1)
