"""Sources and data-movement ops: Placeholder, Const, Identity, Reshape, Shape, Cast, slicing."""

from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..errors import InvalidArgumentError, UnimplementedError
from ..graph import OVERLOADS, Tensor, constant_tensor, convert_to_tensor
from ..shapes import TensorShape, as_shape
from .common import check_dtype, constant_value, make1, same_as
from .registry import INJECTIVE, SOURCE, defop
from .slice_shape import spec_index as _spec_index
from .slice_shape import strided_slice_shape

# ------------------------------------------------------------------ Placeholder


def _placeholder_infer(inputs, attrs):
    return [(_dt.as_dtype(attrs["dtype"]), as_shape(attrs["shape"]))]


def _placeholder_kernel(**attrs):
    # prune() reports unfed placeholders before anything runs; reaching this is a bug.
    raise InvalidArgumentError(None, None, "placeholder was not fed")


defop(
    "Placeholder",
    SOURCE,
    _placeholder_infer,
    _placeholder_kernel,
    fallback="must be fed; never executed",
)


def placeholder(dtype, shape=None, name=None) -> Tensor:
    """A tensor whose value must be fed at run time (``tf.placeholder``).

    >>> x = placeholder("float32", shape=[None, 3])
    """
    dtype = _dt.as_dtype(dtype)
    return make1(
        "Placeholder",
        [],
        {"dtype": dtype, "shape": TensorShape(shape)},
        name=name or "Placeholder",
    )


def _pwd_infer(inputs, attrs):
    (default,) = inputs
    shape = as_shape(attrs["shape"])
    if not shape.is_compatible_with(default.shape):
        raise ValueError(f"Default value shape {default.shape} is incompatible with {shape}")
    return [(default.dtype, shape)]


defop(
    "PlaceholderWithDefault",
    INJECTIVE,
    _pwd_infer,
    lambda x, **a: x,
    scalar="{0}",
    attr_defaults={},
)


def placeholder_with_default(input, shape, name=None) -> Tensor:
    """A placeholder that yields ``input`` when it is not fed."""
    input = convert_to_tensor(input)
    return make1(
        "PlaceholderWithDefault",
        [input],
        {"dtype": input.dtype, "shape": TensorShape(shape)},
        name=name or "PlaceholderWithDefault",
    )


# ------------------------------------------------------------------ Const


def _const_infer(inputs, attrs):
    value = attrs["value"]
    return [(_dt.as_dtype(attrs["dtype"]), TensorShape(value.shape))]


def _const_kernel(*, value, dtype):
    return value


defop("Const", SOURCE, _const_infer, _const_kernel)


def constant(value, dtype=None, shape=None, name="Const", verify_shape=False) -> Tensor:
    """A constant tensor (``tf.constant``); ``shape`` broadcasts a scalar or reshapes.

    >>> c = constant([1.0, 2.0])
    """
    dtype = None if dtype is None else _dt.as_dtype(dtype)
    if isinstance(value, Tensor):
        raise TypeError("tf.constant does not take a Tensor value; use tf.identity.")
    return constant_tensor(value, dtype, name, shape)


# ------------------------------------------------------------------ Identity & friends

defop("Identity", INJECTIVE, same_as(0), lambda x, **a: x, scalar="{0}")
defop("StopGradient", INJECTIVE, same_as(0), lambda x, **a: x, scalar="{0}")


def identity(input, name=None) -> Tensor:
    """Return a tensor with the same value (``tf.identity``)."""
    input = convert_to_tensor(input)
    return make1("Identity", [input], {"T": input.dtype}, name=name or "Identity")


def stop_gradient(input, name=None) -> Tensor:
    """Identity that blocks gradients (``tf.stop_gradient``)."""
    input = convert_to_tensor(input)
    return make1("StopGradient", [input], {"T": input.dtype}, name=name or "StopGradient")


# ------------------------------------------------------------------ Reshape


def _reshape_target(x_shape: TensorShape, target):
    target = [int(d) for d in np.asarray(target).reshape(-1)]
    if sum(d == -1 for d in target) > 1:
        # Not a build-time error in TF: the kernel rejects it when it runs.
        return TensorShape([None if d == -1 else d for d in target])
    known = int(np.prod([d for d in target if d != -1])) if target else 1
    n = x_shape.num_elements()
    if -1 in target:
        if n is None:
            return TensorShape([None if d == -1 else d for d in target])
        if known == 0 or n % known:
            raise ValueError(
                f"Cannot reshape a tensor with {n} elements to shape {target}: the number of "
                "elements is not divisible by the known dimensions."
            )
        return TensorShape([n // known if d == -1 else d for d in target])
    if n is not None and n != known:
        raise ValueError(
            f"Cannot reshape a tensor with {n} elements to shape {target} ({known} elements)."
        )
    return TensorShape(target)


def _reshape_infer(inputs, attrs):
    x, shape = inputs
    check_dtype(shape.dtype, {_dt.int32, _dt.int64})
    val = constant_value(shape)
    if val is not None:
        return [(x.dtype, _reshape_target(x.shape, val))]
    if shape.shape.is_fully_defined() and shape.shape.ndims == 1:
        return [(x.dtype, TensorShape([None] * shape.shape.as_list()[0]))]
    return [(x.dtype, TensorShape(None))]


def _reshape_kernel(x, shape, **attrs):
    shape = shape.reshape(-1).tolist()
    if shape.count(-1) > 1:
        unknown = [i for i, d in enumerate(shape) if d == -1]
        raise InvalidArgumentError(
            None, None, f"Only one input size may be -1, not both {unknown[0]} and {unknown[1]}"
        )
    try:
        return x.reshape(shape)
    except ValueError:
        raise InvalidArgumentError(
            None,
            None,
            f"Input to reshape is a tensor with {x.size} values, but the requested shape "
            f"has {int(np.prod([d for d in shape if d != -1]))}"
            + (" (with -1 inferred)" if -1 in shape else ""),
        ) from None


defop("Reshape", INJECTIVE, _reshape_infer, _reshape_kernel)


def reshape(tensor, shape, name=None) -> Tensor:
    """Reshape ``tensor`` (``tf.reshape``); one dimension may be -1."""
    tensor = convert_to_tensor(tensor)
    shape = (
        shape
        if isinstance(shape, Tensor)
        else convert_to_tensor(
            np.asarray(shape, dtype=np.int32) if not isinstance(shape, np.ndarray) else shape
        )
    )
    return make1(
        "Reshape",
        [tensor, shape],
        {"T": tensor.dtype, "Tshape": shape.dtype},
        name=name or "Reshape",
    )


# ------------------------------------------------------------------ Shape


def _shape_infer(inputs, attrs):
    (x,) = inputs
    rank = x.shape.ndims
    return [(_dt.as_dtype(attrs["out_type"]), TensorShape([rank]))]


def _shape_kernel(x, *, out_type, T=None):
    return np.array(x.shape, dtype=_dt.as_dtype(out_type).np)


defop(
    "Shape",
    INJECTIVE,
    _shape_infer,
    _shape_kernel,
    fallback="reads shapes, no data",
    attr_defaults={"out_type": _dt.int32},
)


def shape(input, name=None, out_type=_dt.int32) -> Tensor:
    """The dynamic shape of ``input`` as a 1-D int tensor (``tf.shape``)."""
    input = convert_to_tensor(input)
    return make1(
        "Shape",
        [input],
        {"T": input.dtype, "out_type": _dt.as_dtype(out_type)},
        name=name or "Shape",
    )


# ------------------------------------------------------------------ Cast


def _cast_infer(inputs, attrs):
    return [(_dt.as_dtype(attrs["DstT"]), inputs[0].shape)]


def _cast_kernel(x, *, DstT, SrcT=None, Truncate=False):
    dst = _dt.as_dtype(DstT)
    if dst is _dt.string or x.dtype == object:
        src = "string" if x.dtype == object else _dt.as_dtype(x.dtype).name
        raise UnimplementedError(None, None, f"Cast {src} to {dst.name} is not supported")
    with np.errstate(invalid="ignore", over="ignore"):
        return x.astype(dst.np)


defop(
    "Cast", INJECTIVE, _cast_infer, _cast_kernel, scalar="cast", attr_defaults={"Truncate": False}
)


def cast(x, dtype, name=None) -> Tensor:
    """Cast to ``dtype`` (float to int truncates toward zero, as in TF)."""
    x = convert_to_tensor(x)
    dtype = _dt.as_dtype(dtype)
    if x.dtype is dtype:
        return x
    return make1(
        "Cast", [x], {"SrcT": x.dtype, "DstT": dtype, "Truncate": False}, name=name or "Cast"
    )


# ------------------------------------------------------------------ StridedSlice


def _strided_slice_infer(inputs, attrs):
    x, b, e, s = inputs
    return [(x.dtype, strided_slice_shape(x.shape, b, e, s, attrs))]


def _strided_slice_kernel(x, begin, end, strides, **attrs):
    idx = _spec_index(begin, end, strides, attrs)
    try:
        out = x[idx]
    except IndexError as err:
        raise InvalidArgumentError(None, None, f"slice index out of bounds: {err}") from None
    return np.asarray(out, order="C")


_SS_DEFAULTS = {
    "begin_mask": 0,
    "end_mask": 0,
    "ellipsis_mask": 0,
    "new_axis_mask": 0,
    "shrink_axis_mask": 0,
}
defop(
    "StridedSlice",
    INJECTIVE,
    _strided_slice_infer,
    _strided_slice_kernel,
    fallback="general strided gather; compiled as a driver link",
    attr_defaults=_SS_DEFAULTS,
)


def strided_slice(
    input_,
    begin,
    end,
    strides=None,
    begin_mask=0,
    end_mask=0,
    ellipsis_mask=0,
    new_axis_mask=0,
    shrink_axis_mask=0,
    name=None,
) -> Tensor:
    """``tf.strided_slice`` with all five masks."""
    x = convert_to_tensor(input_)
    if strides is None:
        strides = [1] * len(begin)
    parts = [
        convert_to_tensor(np.asarray(v, dtype=np.int32)) if not isinstance(v, Tensor) else v
        for v in (begin, end, strides)
    ]
    attrs = {
        "T": x.dtype,
        "Index": parts[0].dtype,
        "begin_mask": begin_mask,
        "end_mask": end_mask,
        "ellipsis_mask": ellipsis_mask,
        "new_axis_mask": new_axis_mask,
        "shrink_axis_mask": shrink_axis_mask,
    }
    return make1("StridedSlice", [x, *parts], attrs, name=name or "strided_slice")


def _getitem(tensor, key):
    """``tensor[key]`` for ints, slices (with steps), ``...``, ``tf.newaxis``."""
    if not isinstance(key, tuple):
        key = (key,)
    begin, end, strides = [], [], []
    masks = dict.fromkeys(_SS_DEFAULTS, 0)
    for i, k in enumerate(key):
        bit = 1 << i
        if k is Ellipsis:
            masks["ellipsis_mask"] |= bit
            begin.append(0), end.append(0), strides.append(1)
        elif k is None:
            masks["new_axis_mask"] |= bit
            begin.append(0), end.append(0), strides.append(1)
        elif isinstance(k, slice):
            begin.append(0 if k.start is None else _index_int(k.start))
            end.append(0 if k.stop is None else _index_int(k.stop))
            strides.append(1 if k.step is None else _index_int(k.step))
            if k.start is None:
                masks["begin_mask"] |= bit
            if k.stop is None:
                masks["end_mask"] |= bit
        else:
            k = _index_int(k)
            masks["shrink_axis_mask"] |= bit
            begin.append(k), end.append(k + 1), strides.append(1)
    with tensor.graph.as_default():
        parts = [begin, end, strides]
        if any(isinstance(v, Tensor) for part in parts for v in part):
            # a scalar tensor index: pack each list into one int vector (TF's _slice_helper)
            # A list without tensors becomes a Const, as TF's stack makes it, so constant
            # strides keep static shape inference going (x[i] has a known rank).
            wide = any(isinstance(v, Tensor) and v.dtype is _dt.int64 for p in parts for v in p)
            dt = _dt.int64 if wide else _dt.int32
            parts = [
                stack([_as_index(v, dt) for v in p])
                if any(isinstance(v, Tensor) for v in p)
                else constant(p, dtype=dt)
                for p in parts
            ]
        return strided_slice(tensor, *parts, name="strided_slice", **masks)


def _as_index(v, dt):
    """An index component as a scalar tensor of dtype ``dt``."""
    if isinstance(v, Tensor):
        return v if v.dtype is dt else cast(v, dt)
    return constant(v, dtype=dt)


def _index_int(k):
    if isinstance(k, (bool, np.bool_)):
        raise TypeError("Only integers, slices, ellipsis and tf.newaxis are valid indices.")
    if isinstance(k, (int, np.integer)):
        return int(k)
    if isinstance(k, Tensor) and k.dtype in (_dt.int32, _dt.int64) and k.shape.ndims in (0, None):
        return k
    raise TypeError(
        f"Only integers, slices (`:`), ellipsis (`...`), tf.newaxis (`None`) and scalar "
        f"int32/int64 tensors are valid indices, got {k!r}"
    )


OVERLOADS["getitem"] = _getitem


def size(input, name=None, out_type=_dt.int32) -> Tensor:
    """Number of elements (built from Shape; a constant when the shape is static)."""
    input = convert_to_tensor(input)
    n = input.shape.num_elements()
    if n is not None:
        return constant(n, dtype=out_type, name=name or "Size")
    from .sorting import size_op

    return size_op(input, name=name, out_type=out_type)


def rank(input, name=None) -> Tensor:
    input = convert_to_tensor(input)
    if input.shape.ndims is not None:
        return constant(input.shape.ndims, dtype=_dt.int32, name=name or "Rank")
    from .array_more import rank_op

    return rank_op(input, name=name)


# ------------------------------------------------------------------ Pack, Squeeze, Where, Gather


def _pack_infer(inputs, attrs):
    if not inputs:
        raise ValueError("stack needs at least one tensor")
    dt = inputs[0].dtype
    shape = inputs[0].shape
    for t in inputs[1:]:
        if t.dtype is not dt:
            raise TypeError(f"stack: all inputs must have dtype {dt.name}, got {t.dtype.name}")
        shape = shape.merge_with(t.shape)
    if shape.ndims is None:
        return [(dt, TensorShape(None))]
    axis = attrs["axis"]
    dims = shape.as_list()
    if not -len(dims) - 1 <= axis <= len(dims):
        raise ValueError(f"axis = {axis} not in [{-len(dims) - 1}, {len(dims) + 1})")
    axis %= len(dims) + 1
    return [(dt, TensorShape([*dims[:axis], len(inputs), *dims[axis:]]))]


defop(
    "Pack",
    INJECTIVE,
    _pack_infer,
    lambda *xs, axis=0, N=None, T=None: np.stack(xs, axis=axis),
    fallback="copies N inputs; a driver link",
    attr_defaults={"axis": 0},
)


def stack(values, axis=0, name="stack") -> Tensor:
    """Stack same-shape tensors along a new ``axis`` (``tf.stack``)."""
    values = [convert_to_tensor(v) for v in values]
    return make1("Pack", values, {"T": values[0].dtype, "N": len(values), "axis": axis}, name=name)


def _squeeze_infer(inputs, attrs):
    (x,) = inputs
    if x.shape.ndims is None:
        return [(x.dtype, TensorShape(None))]
    dims = x.shape.as_list()
    axes = [a % len(dims) for a in attrs.get("squeeze_dims", [])] if dims else []
    for a in axes:
        if dims[a] not in (1, None):
            raise ValueError(f"Can not squeeze dim[{a}], expected a dimension of 1, got {dims[a]}")
    if axes:
        out = [d for i, d in enumerate(dims) if i not in axes]
    else:
        if any(d is None for d in dims):
            return [(x.dtype, TensorShape(None))]
        out = [d for d in dims if d != 1]
    return [(x.dtype, TensorShape(out))]


def _squeeze_kernel(x, *, squeeze_dims=(), T=None):
    axes = tuple(a % x.ndim for a in squeeze_dims) if squeeze_dims else None
    return np.squeeze(x, axis=axes)


defop(
    "Squeeze",
    INJECTIVE,
    _squeeze_infer,
    _squeeze_kernel,
    scalar="{0}",
    attr_defaults={"squeeze_dims": []},
)


def squeeze(input, axis=None, name=None, squeeze_dims=None) -> Tensor:
    """Remove size-1 dimensions (all of them, or those in ``axis``)."""
    input = convert_to_tensor(input)
    axis = squeeze_dims if axis is None else axis
    axis = [] if axis is None else ([axis] if isinstance(axis, int) else list(axis))
    return make1(
        "Squeeze", [input], {"T": input.dtype, "squeeze_dims": axis}, name=name or "Squeeze"
    )


def _where_infer(inputs, attrs):
    (x,) = inputs
    rank = x.shape.ndims
    return [(_dt.int64, TensorShape([None, rank]))]


def _where_kernel(x, T=None):
    if x.ndim == 0:  # TF's Where kernel has no 0-d case (checked when it runs)
        raise InvalidArgumentError(None, None, "WhereOp : Unhandled input dimensions: 0")
    return np.argwhere(x).astype(np.int64)


defop(
    "Where",
    INJECTIVE,
    _where_infer,
    _where_kernel,
    fallback="output size depends on the data",
)


def _gather_infer(inputs, attrs):
    params, indices, axis = inputs
    check_dtype(indices.dtype, {_dt.int32, _dt.int64})
    ax = constant_value(axis)
    if ax is None or params.shape.ndims is None or indices.shape.ndims is None:
        return [(params.dtype, TensorShape(None))]
    ax = int(ax)
    p = params.shape.as_list()
    if not -len(p) <= ax < len(p):
        raise ValueError(f"axis {ax} out of range for params of rank {len(p)}")
    ax %= len(p)
    return [(params.dtype, TensorShape(p[:ax] + indices.shape.as_list() + p[ax + 1 :]))]


def _gather_kernel(params, indices, axis, *, batch_dims=0, **attrs):
    ax = int(axis) % params.ndim
    n = params.shape[ax]
    if indices.size and (indices.min() < 0 or indices.max() >= n):
        bad = indices[(indices < 0) | (indices >= n)].reshape(-1)[0]
        raise InvalidArgumentError(None, None, f"indices = {bad} is not in [0, {n})")
    return np.take(params, indices, axis=ax)


defop(
    "GatherV2",
    INJECTIVE,
    _gather_infer,
    _gather_kernel,
    kernel=None,
    fallback="data-dependent gather; a driver link",
    attr_defaults={"batch_dims": 0},
)


def gather(params, indices, validate_indices=None, name=None, axis=None, batch_dims=0):
    """Gather slices of ``params`` along ``axis`` (``tf.gather``)."""
    params = convert_to_tensor(params)
    indices = convert_to_tensor(indices)
    axis_t = convert_to_tensor(np.int32(axis or 0))
    return make1(
        "GatherV2",
        [params, indices, axis_t],
        {
            "Tparams": params.dtype,
            "Tindices": indices.dtype,
            "Taxis": _dt.int32,
            "batch_dims": batch_dims,
        },
        name=name or "GatherV2",
    )


def boolean_mask(tensor, mask, name="boolean_mask", axis=None):
    """Keep the entries of ``tensor`` where ``mask`` is True (``tf.boolean_mask``).

    ``mask`` (rank k >= 1) covers dimensions ``axis .. axis + k - 1`` of ``tensor``; those are
    flattened into one, as in TF, and the selected entries gathered along it.

    >>> import graphjit.compat.v1 as tf
    >>> x = tf.constant([[1, 2], [3, 4]])
    >>> tf.Session().run(tf.boolean_mask(x, [[True, False], [False, True]])).tolist()
    [1, 4]
    """
    from .array_more import concat
    from .math import reduce_prod

    tensor = convert_to_tensor(tensor)
    mask = convert_to_tensor(mask)
    g = tensor.graph
    with g.name_scope(name):
        k = mask.shape.ndims
        if k == 0:
            raise ValueError("mask cannot be scalar.")
        if k is None:
            raise ValueError(
                "Number of mask dimensions must be specified, even if some dimensions are None."
                "  E.g. shape=[None] is ok, but shape=None is not."
            )
        axis = 0 if axis is None else int(axis)
        static = tensor.shape
        if static.ndims is not None:
            axis %= max(static.ndims, 1)
            covered = TensorShape(static.as_list()[axis : axis + k])
            if not covered.is_compatible_with(mask.shape):
                raise ValueError(f"Shapes {covered} and {mask.shape} are incompatible")
        # Always reshaped, as in TF (so the gradient comes back dense through Reshape).
        dims = shape(tensor)
        lead = reduce_prod(dims[axis : axis + k], [0])
        target = concat([dims[:axis], reshape(lead, [1]), dims[axis + k :]], 0)
        tensor = reshape(tensor, target)
        if static.ndims is not None:
            d = static.as_list()
            part = d[axis : axis + k]
            n = None if None in part else int(np.prod(part))
            tensor.set_shape([*d[:axis], n, *d[axis + k :]])
        mask = reshape(mask, [-1])
        idx = squeeze(make1("Where", [mask], {"T": mask.dtype}), axis=[1])
        return gather(tensor, idx, axis=axis)
