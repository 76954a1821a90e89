"""Differential tests: the same TF1 programs in TensorFlow and in graphjit.

Skipped unless TensorFlow is importable (CI does not install it). Each case builds a program
with ``tensorflow.compat.v1`` and with ``graphjit.compat.v1`` and compares values, static
shapes, op names and exception classes; GraphDef bytes are exchanged both ways.
"""

from __future__ import annotations

import numpy as np
import pytest

tf_real = pytest.importorskip("tensorflow").compat.v1
tf_real.disable_eager_execution()

import graphjit.compat.v1 as gj  # noqa: E402

_X = np.array([[1.5, -2.0, 3.0], [-4.5, 5.0, 0.0]], dtype=np.float32)


def _build_and_run(tf, program):
    """Run ``program(tf, x) -> list of tensors`` in a fresh graph; return values and names."""
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [2, 3], name="x")
        outs = program(tf, x)
        with tf.Session(graph=g) as s:
            vals = s.run(outs, {x: _X})
    return vals, [t.name for t in outs], [t.shape.as_list() for t in outs], g


_PROGRAMS = {
    "arith": lambda tf, x: [x + 1, 2 - x, x * 2, x / 4, x // 2, x % 2.0, -x, abs(x), x**2],
    "compare": lambda tf, x: [x < 0, x >= 1.5, (x < 0) & (x > -3), (x < 0) ^ (x > -5), ~(x < 0)],
    "int_ops": lambda tf, x: [
        tf.cast(x, tf.int32) // 2,
        tf.cast(x, tf.int32) % 3,
        tf.cast(x, tf.int32) / 2,
        tf.constant(2**31 - 1) + 1,
    ],
    "reduce": lambda tf, x: [
        tf.reduce_sum(x),
        tf.reduce_sum(x, axis=1, keepdims=True),
        tf.reduce_mean(x, axis=0),
        tf.reduce_max(x, axis=[0, 1]),
    ],
    "matmul": lambda tf, x: [tf.matmul(x, x, transpose_b=True), x @ tf.reshape(x, [3, 2])],
    "index": lambda tf, x: [
        x[0],
        x[-1, 1:],
        x[:, ::-1],
        x[..., None],
        x[::-1, ::-2],
        x[None, :, 1],
        x[1, ...],
    ],
    "shape_ops": lambda tf, x: [
        tf.reshape(x, [-1]),
        tf.shape(x),
        tf.stack([x, x], axis=1),
        tf.gather(x, [1, 0]),
        tf.squeeze(tf.reshape(x, [1, 2, 3])),
    ],
    "scopes": lambda tf, x: _scoped(tf, x),
    "constants": lambda tf, x: [
        tf.constant(7, shape=[2, 2]),
        tf.constant([1, 2, 3], shape=[2, 2]),
        tf.constant([1, 2.5]),
        tf.constant([[True], [False]]),
        tf.constant(2**40),
    ],
}


def _scoped(tf, x):
    with tf.name_scope("outer"):
        a = tf.identity(x, name="a")
        with tf.name_scope("inner") as scope:
            b = tf.add(a, 1.0, name=scope)
    with tf.name_scope("outer"):
        c = tf.multiply(a, b)
    return [a, b, c, tf.constant(1.0, name="a"), tf.constant(1.0, name="a")]


@pytest.mark.parametrize("name", sorted(_PROGRAMS))
def test_values_shapes_and_names_match(name):
    want, want_names, want_shapes, _ = _build_and_run(tf_real, _PROGRAMS[name])
    got, got_names, got_shapes, _ = _build_and_run(gj, _PROGRAMS[name])
    assert got_shapes == want_shapes
    for w, o in zip(want, got):
        assert np.asarray(o).dtype == np.asarray(w).dtype
        np.testing.assert_allclose(o, w, rtol=1e-6)
    if name in ("arith", "compare", "scopes", "matmul"):
        assert got_names == want_names


_ERRORS = {
    "int_plus_float": lambda tf: tf.constant([1, 2]) + 1.5,
    "float_plus_int": lambda tf: 1.5 + tf.constant([1, 2]),
    "mixed_tensors": lambda tf: tf.constant([1]) + tf.constant([1.0]),
    "const_float_to_int": lambda tf: tf.constant(1.5, dtype=tf.int32),
    "const_int_to_bool": lambda tf: tf.constant(1, dtype=tf.bool),
    "const_mixed_str": lambda tf: tf.constant([1, "a"]),
    "const_too_many": lambda tf: tf.constant([1, 2, 3], shape=[2]),
    "bool_tensor": lambda tf: bool(tf.constant(1.0)),
    "len_tensor": lambda tf: len(tf.constant([1.0])),
    "set_shape": lambda tf: tf.placeholder(tf.float32, [2]).set_shape([3]),
    "bad_scope": lambda tf: tf.name_scope("_bad").__enter__(),
    "bad_name": lambda tf: tf.constant(1.0, name="a b"),
    "get_missing_op": lambda tf: tf.get_default_graph().get_operation_by_name("nope"),
    "get_tensor_as_op": lambda tf: tf.get_default_graph().get_tensor_by_name("x"),
    "index_float": lambda tf: tf.constant([1.0])[1.0],
    "reset_nested": lambda tf: tf.reset_default_graph(),
    "as_dtype_bogus": lambda tf: tf.as_dtype("bogus"),
    "run_unfed": lambda tf: tf.Session().run(tf.placeholder(tf.float32, name="p") + 1.0),
    "finalized": lambda tf: (tf.get_default_graph().finalize(), tf.constant(1.0)),
}


def _raised(tf, fn):
    with tf.Graph().as_default():
        tf.placeholder(tf.float32, name="x")
        try:
            fn(tf)
        except Exception as e:  # the class is what we compare
            return type(e)
    return None


@pytest.mark.parametrize("name", sorted(_ERRORS))
def test_exception_classes_match(name):
    want = _raised(tf_real, _ERRORS[name])
    got = _raised(gj, _ERRORS[name])
    assert want is not None
    assert got is not None and got.__name__ == want.__name__, (got, want)


def test_tensorflow_parses_graphjit_graph_def_and_computes_the_same():
    prog = _PROGRAMS["arith"]
    want, names, _, g = _build_and_run(gj, prog)
    data = g.as_graph_def().SerializeToString()
    gd = tf_real.GraphDef.FromString(data)
    with tf_real.Graph().as_default() as tg:
        tf_real.import_graph_def(gd, name="")
        with tf_real.Session(graph=tg) as s:
            got = s.run(names, {"x:0": _X})
    for w, o in zip(want, got):
        np.testing.assert_allclose(o, w, rtol=1e-6)


def test_graphjit_imports_tensorflow_graph_def_and_computes_the_same():
    progs = [_PROGRAMS[k] for k in ("arith", "reduce", "index", "shape_ops", "matmul")]
    for prog in progs:
        want, names, _, tg = _build_and_run(tf_real, prog)
        data = tg.as_graph_def().SerializeToString()
        with gj.Graph().as_default() as g:
            gj.import_graph_def(gj.GraphDef.FromString(data), name="")
            with gj.Session(graph=g) as s:
                got = s.run(names, {"x:0": _X})
        for w, o in zip(want, got):
            np.testing.assert_allclose(o, w, rtol=1e-6)


def test_control_dependency_structure_matches():
    def build(tf):
        with tf.Graph().as_default() as g:
            x = tf.placeholder(tf.float32, name="x")
            c1, c2 = tf.no_op(name="c1"), tf.no_op(name="c2")
            with tf.control_dependencies([c1]):
                y = x + 1
                with tf.control_dependencies([c2, c1]):
                    z = tf.identity(x)
                    with tf.control_dependencies(None):
                        w = tf.identity(x)
                v = tf.identity(y)
            ops = [y.op, y.op.inputs[1].op, z.op, w.op, v.op]
            return [(o.name, sorted(c.name for c in o.control_inputs)) for o in ops], g

    assert build(gj)[0] == build(tf_real)[0]
