"""Pruning: what a fetch/feed signature needs, and the structural key."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit.compat.v1 as tf
from graphjit.errors import InvalidArgumentError
from graphjit.program import prune


def _chain():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [2], name="x")
        a = tf.exp(x, name="a")
        b = tf.multiply(a, 2.0, name="b")
        c = tf.add(b, 1.0, name="c")
        unused = tf.placeholder(tf.float32, [], name="unused")
        d = tf.add(unused, 1.0, name="d")
    return g, x, a, b, c, d


def test_prune_keeps_only_ancestors_of_fetches():
    g, x, a, b, c, d = _chain()
    prog = prune([c], [x])
    names = [op.name for op in prog.ops]
    assert "d" not in names and "unused" not in names
    assert names[-1] == "c"


def test_feeding_an_intermediate_cuts_its_ancestors():
    g, x, a, b, c, d = _chain()
    prog = prune([c], [b])
    names = [op.name for op in prog.ops]
    assert "a" not in names and "x" not in names


def test_unfed_placeholder_raises_invalid_argument_naming_it():
    g, x, a, b, c, d = _chain()
    with pytest.raises(
        InvalidArgumentError,
        match="You must feed a value for placeholder "
        "tensor 'x' with dtype float and shape \\[2\\]",
    ) as info:
        prune([c], [])
    assert info.value.op is x.op


def test_structural_key_ignores_names_but_not_structure():
    g1, x1, *_, c1, _ = _chain()
    g2 = tf.Graph()
    with g2.as_default():
        x2 = tf.placeholder(tf.float32, [2], name="other")
        c2 = tf.add(tf.multiply(tf.exp(x2), 2.0), 1.0, name="zzz")
        c3 = tf.add(tf.multiply(tf.exp(x2), 3.0), 1.0)
    assert prune([c1], [x1]).key == prune([c2], [x2]).key
    assert prune([c1], [x1]).key != prune([c3], [x2]).key


def test_constant_bytes_are_part_of_the_key():
    keys = set()
    for value in (1.0, 2.0):
        g = tf.Graph()
        with g.as_default():
            y = tf.constant(np.full(3, value, np.float32)) * 2.0
        keys.add(prune([y], []).key)
    assert len(keys) == 2


def test_variable_reads_become_ref_slots_and_assign_names_the_variable():
    g = tf.Graph()
    with g.as_default():
        v = tf.Variable([1.0, 2.0], name="v")
        up = v.assign_add([1.0, 1.0])
    prog = prune([up], [])
    assert prog.var_names == ("v",)
    assign = [n for n in prog.nodes if n.op_type == "AssignAdd"][0]
    assert assign.var == 0
    read = prune([v.value()], [])
    assert read.ref_slots and read.ref_slots[0][1] == 0


def test_control_dependencies_are_pruned_in_and_ordered_first():
    g = tf.Graph()
    with g.as_default():
        v = tf.Variable(0.0, name="v")
        inc = v.assign_add(1.0)
        with tf.control_dependencies([inc]):
            r = v.read_value()
    prog = prune([r], [])
    order = [op.name for op in prog.ops]
    assert order.index(inc.op.name) < order.index(r.op.name)


def test_describe_lists_every_node():
    g, x, a, b, c, d = _chain()
    text = prune([c], [x]).describe()
    assert "Exp" in text and "# c" in text
