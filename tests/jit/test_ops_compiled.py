"""Every registered op with a compiled lowering: compiled == interpreted (== numpy kernel).

To keep numba compile time small, all elementwise ops of one dtype are built into ONE graph
(siblings sharing inputs fuse into one loop), compiled once per module, and each op's test reads
its own output. Inputs cover broadcasting, empty arrays, non-contiguous and read-only arrays.
"""

from __future__ import annotations

import numpy as np
import pytest
from tests.jit.helpers import assert_same

import graphjit.compat.v1 as tf
from graphjit import fuse
from graphjit.errors import InvalidArgumentError
from graphjit.ops import registry

RNG = np.random.default_rng(0)


def _lowered_elementwise():
    return sorted(
        t
        for t, d in registry.all_ops().items()
        if d.kind == registry.ELEMWISE and d.scalar is not None and not d.uses_ctx
    )


def _build(g, op_type, xs, dtype):
    """Create ``op_type`` over the first inputs that its shape function accepts."""
    opdef = registry.get(op_type)
    for arity in (1, 2, 3):
        for extra in ({"N": arity}, {}):
            attrs = {"T": dtype, **extra, **opdef.attr_defaults}
            try:
                t = g.create_op(op_type, xs[:arity], attrs, name=op_type).outputs[0]
                opdef.numpy(*[np.ones((2, 2), x.dtype.np) for x in xs[:arity]], **attrs)
                return t
            except (TypeError, ValueError, KeyError, IndexError, InvalidArgumentError):
                continue  # InvalidArgumentError: no kernel for this dtype (int RealDiv, as TF)
    return None


_DTYPE_INPUTS = {
    # dtype: (x [3,4], y [4], z [3,4]) values
    "float32": lambda: (
        RNG.uniform(-2, 2, (3, 4)).astype(np.float32),
        RNG.uniform(0.5, 2, (4,)).astype(np.float32),
        RNG.uniform(-2, 2, (3, 4)).astype(np.float32),
    ),
    "int32": lambda: (
        (RNG.integers(1, 9, (3, 4)) * RNG.choice([-1, 1], (3, 4))).astype(np.int32),
        RNG.integers(1, 5, (4,)).astype(np.int32),
        (RNG.integers(1, 9, (3, 4)) * RNG.choice([-1, 1], (3, 4))).astype(np.int32),
    ),
    "bool": lambda: (
        RNG.integers(0, 2, (3, 4)).astype(bool),
        RNG.integers(0, 2, (4,)).astype(bool),
        RNG.integers(0, 2, (3, 4)).astype(bool),
    ),
}


@pytest.fixture(scope="module", params=["float32", "int32", "bool"])
def elementwise(request):
    """(dtype, session, {op type: output}, placeholders, compiled fn), one compile per dtype."""
    dtype = request.param
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(dtype, [None, None], name="x")
        y = tf.placeholder(dtype, [None], name="y")
        c = tf.placeholder(tf.bool, [None, None], name="c")
        outs = {}
        for op_type in _lowered_elementwise():
            first = c if op_type.startswith("Select") else x
            t = _build(g, op_type, [first, y if not op_type.startswith("Select") else x, x], dtype)
            if t is not None:
                outs[op_type] = t
    sess = tf.Session(graph=g)
    fn = sess.make_callable(outs, [x, y, c])
    yield dtype, sess, outs, (x, y, c), fn
    sess.close()


def _cases(dtype):
    x, y, z = _DTYPE_INPUTS[dtype]()
    c = x.astype(bool) if dtype == "bool" else x > 0
    big = np.concatenate([x, z], axis=1)
    ro = x.copy()
    ro.flags.writeable = False
    return {
        "broadcast": (x, y, c),
        "size1": (x, y[:1].copy(), c),
        "empty": (x[:0], y, c[:0]),
        "noncontiguous": (big[:, ::2], y, c),
        "readonly": (ro, y, c),
    }


@pytest.mark.parametrize("case", ["broadcast", "size1", "empty", "noncontiguous", "readonly"])
def test_elementwise_compiled_matches_interpreter_and_numpy(elementwise, case):
    from graphjit import config

    dtype, sess, outs, feeds, fn = elementwise
    args = _cases(dtype)[case]
    before = [a.copy() for a in args]
    compiled = fn(*args)
    with config.override(disable_jit=True):
        interp = sess.run(outs, dict(zip(feeds, args)))
    for name in outs:
        assert_same(compiled[name], interp[name], rtol=2e-6, atol=1e-6, name=name)
    for a, b in zip(args, before):  # inputs are never written
        np.testing.assert_array_equal(a, b)
    assert outs, "no op of this dtype was built"


def test_every_lowered_elementwise_op_is_fused_not_linked(elementwise):
    import graphjit

    dtype, sess, outs, feeds, fn = elementwise
    info = graphjit.inspect_chain(sess, outs, list(feeds))
    fused = {t for seg in info["segments"] for _, t in seg["ops"]}
    linked = {t for _, t, _ in info["links"]}
    assert "interpreter" not in info, info.get("interpreter")
    assert set(outs) <= fused | linked
    assert not (set(outs) & linked), info["links"]


def test_numpy_kernel_agrees_with_compiled_for_float_binary_ops(elementwise):
    dtype, sess, outs, feeds, fn = elementwise
    if dtype != "float32":
        pytest.skip("numpy comparison once is enough")
    x, y, c = _cases(dtype)["broadcast"]
    got = fn(x, y, c)
    for name in ("AddV2", "Mul", "Sub", "Maximum", "Minimum", "Exp", "Tanh", "Log"):
        if name not in outs:
            continue
        opdef = registry.get(name)
        args = (x, y)[: len(outs[name].op.inputs)]
        np.testing.assert_allclose(got[name], opdef.numpy(*args), rtol=2e-6, equal_nan=True)


# ------------------------------------------------------------------ rank 0


@pytest.fixture(scope="module")
def scalars():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [], name="x")
        y = tf.placeholder(tf.float32, [], name="y")
        outs = {
            "add": x + y,
            "chain": tf.tanh(tf.exp(x) * y) - x / y,
            "cmp": x < y,
            "sq": tf.square(x),
        }
    sess = tf.Session(graph=g)
    yield sess, outs, (x, y), sess.make_callable(outs, [x, y])
    sess.close()


@pytest.mark.parametrize("args", [(1.5, 2.0), (np.float32(-0.5), np.float32(3.0))])
def test_rank0_results_are_numpy_scalars_like_interpreter(scalars, args):
    from graphjit import config

    sess, outs, feeds, fn = scalars
    got = fn(*args)
    got2 = fn(*args)  # armed fast path
    with config.override(disable_jit=True):
        ref = sess.run(outs, dict(zip(feeds, args)))
    for k in outs:
        assert_same(got[k], ref[k])
        assert_same(got2[k], ref[k])
        assert isinstance(got2[k], np.generic)


# ------------------------------------------------------------------ reductions


@pytest.fixture(scope="module", params=["float32", "int32"])
def reductions(request):
    dtype = request.param
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(dtype, [None, None], name="x")
        outs = {}
        for fname in ("reduce_sum", "reduce_mean", "reduce_max", "reduce_min", "reduce_prod"):
            f = getattr(tf, fname)
            outs[fname] = f(x)
            outs[fname + "_0"] = f(x, axis=0)
            outs[fname + "_1k"] = f(x, axis=1, keepdims=True)
            outs[fname + "_neg"] = f(x, axis=-1)
        outs["sum_sq"] = tf.reduce_sum(x * x)
    sess = tf.Session(graph=g)
    yield dtype, sess, outs, x, sess.make_callable(outs, [x])
    sess.close()


@pytest.mark.parametrize("shape", [(3, 4), (1, 5), (0, 3), (2, 0)])
def test_reductions_compiled_match_interpreter(reductions, shape):
    from graphjit import config

    dtype, sess, outs, x, fn = reductions
    v = (RNG.uniform(-2, 2, shape) if dtype == "float32" else RNG.integers(-5, 5, shape)).astype(
        dtype
    )
    got = fn(v)
    with config.override(disable_jit=True):
        ref = sess.run(outs, {x: v})
    for k in outs:
        assert_same(got[k], ref[k], rtol=1e-5, atol=1e-5, name=k)


def test_reductions_fuse_into_the_producing_loop(reductions):
    import graphjit

    dtype, sess, outs, x, fn = reductions
    info = graphjit.inspect_chain(sess, outs["sum_sq"], [x])
    assert info["links"] == []
    assert info["segments"][0]["regions"] == [[op for op, _ in info["segments"][0]["ops"]]]


def test_plan_classifies_by_registry_fields_only():
    """A node without a lowering is a link; a segment never contains one."""
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [None, 3])
        y = tf.reshape(tf.exp(x), [-1]) * 2.0
    from graphjit.program import prune

    prog = prune([y], [x])
    plan = fuse.plan(prog, (2,), ())
    kinds = [type(s).__name__ for s in plan.steps]
    assert kinds == ["Segment", "Link", "Segment"]
    for seg in plan.segments:
        for i in seg.nodes:
            assert prog.nodes[i].opdef.compilable
