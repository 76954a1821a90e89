"""tf.cond / tf.case / tf.while_loop / tf.identity_n: values, side effects, errors, gradients."""

from __future__ import annotations

import numpy as np
import pytest
from ops_helpers import run_all

import graphjit
import graphjit.compat.v1 as tf
from graphjit.errors import InvalidArgumentError


def _both(fetches, feed, graph):
    """Values from Session.run and from a compiled make_callable (must agree)."""
    out = run_all(fetches, feed, graph)
    if "callable" in out:
        np.testing.assert_equal(out["callable"], out["run"])
    return out["run"]


# ------------------------------------------------------------------ cond values
@pytest.mark.parametrize("p", [True, False])
def test_cond_values_match_numpy_in_run_and_callable(p):
    g = tf.Graph()
    with g.as_default():
        pred = tf.placeholder(tf.bool, [])
        x = tf.placeholder(tf.float32, [None])
        y = tf.cond(pred, lambda: tf.exp(x) * 2.0, lambda: x - 1.0)
    xv = np.array([0.5, -1.0, 2.0], np.float32)
    got = _both(y, {pred: p, x: xv}, g)
    want = np.exp(xv) * 2.0 if p else xv - 1.0
    np.testing.assert_allclose(got, want.astype(np.float32), rtol=1e-6)


def test_cond_returns_nested_structures():
    g = tf.Graph()
    with g.as_default():
        pred = tf.placeholder(tf.bool, [])
        out = tf.cond(
            pred,
            lambda: {"a": tf.constant(1.0), "b": (tf.constant(2), [tf.constant(3.0)])},
            lambda: {"a": tf.constant(4.0), "b": (tf.constant(5), [tf.constant(6.0)])},
        )
    assert set(out) == {"a", "b"} and isinstance(out["b"], tuple)
    with tf.Session(graph=g) as sess:
        assert sess.run(out, {pred: True}) == {"a": 1.0, "b": (2, [3.0])}
        assert sess.run(out, {pred: False}) == {"a": 4.0, "b": (5, [6.0])}


def test_cond_output_shape_is_most_specific_common_shape():
    with tf.Graph().as_default():
        p = tf.placeholder(tf.bool, [])
        y = tf.cond(p, lambda: tf.constant([1.0]), lambda: tf.constant([1.0, 2.0]))
        assert y.shape.as_list() == [None]
        assert y.op.type == "StatelessIf"


def test_untaken_branch_side_effects_do_not_happen():
    g = tf.Graph()
    with g.as_default():
        v = tf.Variable(0.0)
        w = tf.Variable(0.0)
        p = tf.placeholder(tf.bool, [])

        def true_fn():
            with tf.control_dependencies([tf.assign_add(v, 1.0)]):
                return tf.identity(tf.constant(1.0))

        def false_fn():
            tf.assign_add(w, 10.0)  # unconnected: runs whenever its branch runs (TF2)
            return tf.constant(2.0)

        y = tf.cond(p, true_fn, false_fn)
        assert y.op.type == "If"
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            assert sess.run(y, {p: True}) == 1.0
            assert sess.run([v, w]) == [1.0, 0.0]
            assert sess.run(y, {p: False}) == 2.0
            assert sess.run([v, w]) == [1.0, 10.0]
            f = sess.make_callable(y, feed_list=[p])
            f(True)
            f(True)
            assert sess.run([v, w]) == [3.0, 10.0]


def test_failing_op_in_untaken_branch_does_not_raise():
    g = tf.Graph()
    with g.as_default():
        p = tf.placeholder(tf.bool, [])
        x = tf.placeholder(tf.float32, [None])
        y = tf.cond(p, lambda: tf.reduce_sum(tf.reshape(x, [7])), lambda: tf.reduce_sum(x))
    with tf.Session(graph=g) as sess:
        assert sess.run(y, {p: False, x: [1.0, 2.0, 3.0]}) == 6.0
        with pytest.raises(InvalidArgumentError):
            sess.run(y, {p: True, x: [1.0, 2.0, 3.0]})


def test_failed_run_leaves_branch_variable_writes_uncommitted():
    with tf.Graph().as_default():
        v = tf.Variable(0.0)
        p = tf.placeholder(tf.bool, [])
        x = tf.placeholder(tf.float32, [None])

        def true_fn():
            with tf.control_dependencies([tf.assign_add(v, 1.0)]):
                return tf.reduce_sum(tf.reshape(x, [2]))

        y = tf.cond(p, true_fn, lambda: tf.constant(0.0))
        with tf.Session() as sess:
            sess.run(v.initializer)
            with pytest.raises(InvalidArgumentError):
                sess.run(y, {p: True, x: [1.0, 2.0, 3.0]})
            assert sess.run(v) == 0.0


def test_branch_captures_outer_tensors_and_variables():
    with tf.Graph().as_default():
        v = tf.Variable(3.0)
        a = tf.placeholder(tf.float32, [])
        b = a * 2.0
        y = tf.cond(a > 0, lambda: b + v, lambda: b)
        assert list(y.op.inputs[1:]) == [b] or b in y.op.inputs
        with tf.Session() as sess:
            sess.run(v.initializer)
            assert sess.run(y, {a: 1.0}) == 5.0
            assert sess.run(y, {a: -1.0}) == -2.0


# ------------------------------------------------------------------ cond errors
def test_cond_pred_must_be_a_scalar_bool_tensor():
    with tf.Graph().as_default():
        f = lambda: tf.constant(1.0)  # noqa: E731
        with pytest.raises(TypeError, match="Python bool"):
            tf.cond(True, f, f)
        with pytest.raises(TypeError, match="bool"):
            tf.cond(tf.constant(1), f, f)
        with pytest.raises(ValueError, match="scalar"):
            tf.cond(tf.constant([True, False]), f, f)
        with pytest.raises(TypeError, match="false_fn"):
            tf.cond(tf.constant(True), f)
        with pytest.raises(TypeError, match="callable"):
            tf.cond(tf.constant(True), 1, f)


def test_cond_branches_must_match_in_structure_and_dtype():
    with tf.Graph().as_default():
        p = tf.placeholder(tf.bool, [])
        with pytest.raises(TypeError, match="same number, type, and overall structure"):
            tf.cond(p, lambda: tf.constant(1.0), lambda: tf.constant(1))
        with pytest.raises(ValueError, match="same nested structure"):
            tf.cond(p, lambda: (tf.constant(1.0), tf.constant(1.0)), lambda: tf.constant(1.0))


def test_branch_tensors_cannot_be_fetched_or_used_outside():
    with tf.Graph().as_default() as g:
        p = tf.placeholder(tf.bool, [])
        inner = []

        def true_fn():
            inner.append(tf.constant(5.0) * 2.0)
            return inner[0]

        tf.cond(p, true_fn, lambda: tf.constant(0.0))
        with pytest.raises(ValueError, match="cannot be an input"):
            inner[0] + 1.0
        with tf.Session(graph=g) as sess, pytest.raises(ValueError, match="inside the branch"):
            sess.run(inner[0], {p: True})


# ------------------------------------------------------------------ case
def test_case_picks_first_true_predicate_or_default():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.int32, [])
        y = tf.case(
            [(x < 0, lambda: tf.constant(-1)), (x < 10, lambda: tf.constant(1))],
            default=lambda: tf.constant(99),
        )
        z = tf.case([(x > 0, lambda: tf.constant(1)), (x <= 0, lambda: tf.constant(0))])
        e = tf.case(
            [(x > 0, lambda: tf.constant(1)), (x > 1, lambda: tf.constant(2))],
            default=lambda: tf.constant(0),
            exclusive=True,
        )
        with tf.Session() as sess:
            assert [sess.run(y, {x: v}) for v in (-5, 5, 50)] == [-1, 1, 99]
            assert [sess.run(z, {x: v}) for v in (3, -3)] == [1, 0]
            assert sess.run(e, {x: 1}) == 1
            with pytest.raises(InvalidArgumentError, match="exclusive"):
                sess.run(e, {x: 5})


# ------------------------------------------------------------------ while_loop
def test_while_loop_values_and_nested_loop_vars():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [])
        i, acc = tf.while_loop(
            lambda i, d: i < 4,
            lambda i, d: (i + 1, {"s": d["s"] + x, "p": d["p"] * x}),
            [tf.constant(0), {"s": tf.constant(0.0), "p": tf.constant(1.0)}],
        )
    got = _both([i, acc], {x: 1.5}, g)
    assert got[0] == 4
    np.testing.assert_allclose([got[1]["s"], got[1]["p"]], [6.0, 1.5**4], rtol=1e-6)


def test_while_loop_single_var_and_maximum_iterations():
    with tf.Graph().as_default():
        n = tf.placeholder(tf.int32, [])
        r = tf.while_loop(lambda i: i < 10, lambda i: i + 1, [tf.constant(0)])
        m = tf.while_loop(lambda i: i < 10, lambda i: i + 1, [tf.constant(0)],
                          maximum_iterations=n)  # fmt: skip
        s = tf.while_loop(lambda i: i < 10, lambda i: (i + 1,), (tf.constant(0),),
                          return_same_structure=True)  # fmt: skip
        assert isinstance(r, tf.Tensor) and isinstance(s, tuple)
        with tf.Session() as sess:
            assert sess.run(r) == 10
            assert sess.run(m, {n: 3}) == 3
            assert sess.run(m, {n: 30}) == 10
            assert sess.run(s) == (10,)


def test_while_loop_shape_change_needs_a_shape_invariant():
    with tf.Graph().as_default():
        i0, x0 = tf.constant(0), tf.constant([1.0])

        def body(i, x):
            return i + 1, tf.concat([x, x], 0)

        with pytest.raises(ValueError, match="enters the loop with shape \\(1,\\), but has"):
            tf.while_loop(lambda i, x: i < 3, body, [i0, x0])
        _, x = tf.while_loop(
            lambda i, x: i < 3, body, [i0, x0], shape_invariants=[i0.shape, tf.TensorShape([None])]
        )
        assert x.shape.as_list() == [None]
        with pytest.raises(TypeError, match="type should remain constant"):
            tf.while_loop(lambda i: i < 3, lambda i: tf.cast(i, tf.float32), [i0])
        with tf.Session() as sess:
            assert sess.run(x).tolist() == [1.0] * 8


def test_while_loop_runs_stateful_body_ops_each_iteration():
    with tf.Graph().as_default():
        v = tf.Variable(0.0)

        def body(i):
            with tf.control_dependencies([tf.assign_add(v, 2.0)]):
                return i + 1

        r = tf.while_loop(lambda i: i < 5, body, [tf.constant(0)])
        assert r.op.type == "While"
        with tf.Session() as sess:
            sess.run(v.initializer)
            sess.run(r)
            assert sess.run(v) == 10.0


def test_cond_nested_inside_while_with_captures():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [])
        _, s = tf.while_loop(
            lambda i, s: i < 6,
            lambda i, s: (i + 1, s + tf.cond(tf.equal(i % 2, 0), lambda: x, lambda: -2.0 * x)),
            [tf.constant(0), tf.constant(0.0)],
        )
    assert _both(s, {x: 1.5}, g) == np.float32(3 * 1.5 - 3 * 3.0)


def test_control_flow_op_is_a_link_of_the_compiled_chain():
    g = tf.Graph()
    with g.as_default():
        p = tf.placeholder(tf.bool, [])
        x = tf.placeholder(tf.float32, [None])
        y = tf.cond(p, lambda: x * 2.0, lambda: x + 1.0) * 3.0 + 1.0
    with tf.Session(graph=g) as sess:
        info = graphjit.inspect_chain(sess, y, [p, x])
        if "interpreter" not in info:
            assert any(t == "StatelessIf" for _, t, _ in info["links"])
        f = sess.make_callable(y, feed_list=[p, x])
        np.testing.assert_allclose(f(True, np.array([1.0, 2.0], np.float32)), [7.0, 13.0])
        np.testing.assert_allclose(f(False, np.array([1.0, 2.0], np.float32)), [7.0, 10.0])


# ------------------------------------------------------------------ gradients
def _fd(fn, x0, eps=1e-3):
    return (fn(x0 + eps) - fn(x0 - eps)) / (2 * eps)


@pytest.mark.parametrize("x0", [1.3, -0.7])
def test_cond_gradient_matches_finite_differences(x0):
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float64, [])
        c = tf.constant(0.5, tf.float64)
        y = tf.cond(x > 0, lambda: tf.sin(x) * x * c, lambda: x * x * x + c)
        (dx,) = tf.gradients(y, [x])
    with tf.Session(graph=g) as sess:
        got = sess.run(dx, {x: x0})
        num = _fd(lambda v: sess.run(y, {x: v}), x0)
    np.testing.assert_allclose(got, num, rtol=1e-5)


def test_nested_cond_gradient_and_unconnected_capture():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float64, [])
        w = tf.placeholder(tf.float64, [])

        def outer_true():
            return tf.cond(x > 1.0, lambda: x * x * w, lambda: tf.exp(x))

        y = tf.cond(x > 0, outer_true, lambda: w * 3.0)
        dx, dw = tf.gradients(y, [x, w])
    with tf.Session(graph=g) as sess:
        for x0, w0 in ((2.0, 0.5), (0.5, 0.5), (-1.0, 0.5)):
            got = sess.run([dx, dw], {x: x0, w: w0})
            nx = _fd(lambda v, w0=w0: sess.run(y, {x: v, w: w0}), x0)
            nw = _fd(lambda v, x0=x0: sess.run(y, {x: x0, w: v}), w0)
            np.testing.assert_allclose(got, [nx, nw], rtol=1e-5, atol=1e-8)


def test_cond_gradient_trains_a_variable():
    with tf.Graph().as_default():
        v = tf.Variable(2.0)
        p = tf.placeholder(tf.bool, [])
        loss = tf.cond(p, lambda: v * v, lambda: 3.0 * v)
        (gv,) = tf.gradients(loss, [v])
        with tf.Session() as sess:
            sess.run(v.initializer)
            assert sess.run(gv, {p: True}) == 4.0
            assert sess.run(gv, {p: False}) == 3.0


def test_while_loop_gradient_flows_to_captures():  # more in test_while_grad.py
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [])
        _, y = tf.while_loop(lambda i, y: i < 3, lambda i, y: (i + 1, y * x),
                             [tf.constant(0), tf.constant(1.0)])  # fmt: skip
        (dx,) = tf.gradients(y, [x])
        with tf.Session() as sess:
            assert sess.run(dx, {x: 2.0}) == 12.0


# ------------------------------------------------------------------ identity_n, export
def test_identity_n_values_and_gradient():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [None])
        a, b = tf.identity_n([x * 2.0, tf.constant(3)])
        (dx,) = tf.gradients(a * a, [x])
    assert a.op.type == "IdentityN" and b.dtype == tf.int32
    got = _both([a, b, dx], {x: np.array([1.0, 2.0], np.float32)}, g)
    np.testing.assert_allclose(got[0], [2.0, 4.0])
    assert got[1] == 3
    np.testing.assert_allclose(got[2], [8.0, 16.0])


def test_graph_def_exports_if_and_while_with_function_attrs():
    with tf.Graph().as_default() as g:
        p = tf.placeholder(tf.bool, [])
        tf.cond(p, lambda: tf.constant(1.0), lambda: tf.constant(2.0), name="c")
        tf.while_loop(lambda i: i < 3, lambda i: i + 1, [tf.constant(0)], name="w")
    nodes = {n.name: n for n in g.as_graph_def().node}
    assert nodes["c"].op == "StatelessIf"
    assert nodes["c"].attr["then_branch"].func.name == "c_then_branch"
    assert nodes["w"].op == "StatelessWhile"
    assert nodes["w"].attr["body"].func.name == "w_body"
