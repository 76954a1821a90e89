"""TensorShape / Dimension: partial shapes, merging, broadcasting."""

from __future__ import annotations

import pytest

from graphjit.shapes import Dimension, TensorShape, broadcast_static, unknown_shape


def test_known_partial_and_unknown_shapes():
    s = TensorShape([None, 3])
    assert s.as_list() == [None, 3] and s.ndims == 2 and not s.is_fully_defined()
    assert str(s) == "(None, 3)" and repr(s) == "TensorShape([None, 3])"
    u = TensorShape(None)
    assert u.ndims is None and str(u) == "<unknown>"
    with pytest.raises(ValueError, match="unknown TensorShape"):
        u.as_list()
    assert TensorShape([2, 3]).num_elements() == 6 and s.num_elements() is None


def test_indexing_gives_dimensions_and_slices_give_shapes():
    s = TensorShape([None, 3, 4])
    assert s[1].value == 3 and s[0].value is None
    assert s[1:].as_list() == [3, 4]
    assert int(s[2]) == 4


def test_dimension_equality_with_unknown_is_none():
    assert (Dimension(None) == 3) is None
    assert Dimension(3) == 3


def test_merge_with_and_compatibility():
    a = TensorShape([None, 3])
    assert a.merge_with([2, None]).as_list() == [2, 3]
    assert a.is_compatible_with([5, 3]) and not a.is_compatible_with([5, 4])
    assert a.is_compatible_with(TensorShape(None))
    with pytest.raises(ValueError):
        a.merge_with([2, 4])


def test_unknown_shape_with_rank_and_concatenate():
    assert unknown_shape(2).as_list() == [None, None]
    assert TensorShape([1]).concatenate([2, None]).as_list() == [1, 2, None]


def test_equality_and_hash():
    assert TensorShape([1, 2]) == [1, 2] and TensorShape([1, 2]) != [2, 1]
    assert hash(TensorShape([1, 2])) == hash(TensorShape((1, 2)))


def test_negative_dimension_rejected_but_minus_one_means_unknown():
    assert TensorShape([-1, 2]).as_list() == [None, 2]
    with pytest.raises(ValueError):
        TensorShape([-2])


def test_broadcast_static():
    assert broadcast_static(TensorShape([2, 1]), TensorShape([3])).as_list() == [2, 3]
    assert broadcast_static(TensorShape([None, 3]), TensorShape([1])).as_list() == [None, 3]
    with pytest.raises(ValueError, match="Dimensions must be equal"):
        broadcast_static(TensorShape([2]), TensorShape([3]))
