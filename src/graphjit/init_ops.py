"""TF1 initializers (``tf.zeros_initializer``, ``tf.glorot_uniform_initializer`` ...).

An initializer is called as ``init(shape, dtype=None, partition_info=None)`` and returns a
Tensor; random ones build ``RandomStandardNormal``/``RandomUniform``/``TruncatedNormal`` ops,
so re-running a variable's initializer draws new values, as in TF.
"""

from __future__ import annotations

import math

import numpy as np

from . import dtypes as _dt
from .ops.array import constant


def _dtype(dtype, default):
    return _dt.as_dtype(dtype if dtype is not None else default)


class Initializer:
    """Base class: ``__call__(shape, dtype=None, partition_info=None) -> Tensor``."""

    def __call__(self, shape, dtype=None, partition_info=None):
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class Zeros(Initializer):
    """All zeros (``tf.zeros_initializer``)."""

    def __init__(self, dtype=_dt.float32):
        self.dtype = _dt.as_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        dt = _dtype(dtype, self.dtype)
        return constant(np.zeros(list(shape), dtype=dt.as_numpy_dtype), dtype=dt)

    def get_config(self):
        return {"dtype": self.dtype.name}


class Ones(Initializer):
    """All ones (``tf.ones_initializer``)."""

    def __init__(self, dtype=_dt.float32):
        self.dtype = _dt.as_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        dt = _dtype(dtype, self.dtype)
        return constant(np.ones(list(shape), dtype=dt.as_numpy_dtype), dtype=dt)

    def get_config(self):
        return {"dtype": self.dtype.name}


class Constant(Initializer):
    """A constant value, broadcast or reshaped to the shape (``tf.constant_initializer``)."""

    def __init__(self, value=0, dtype=_dt.float32, verify_shape=False):
        self.value = value
        self.dtype = _dt.as_dtype(dtype)
        self.verify_shape = verify_shape

    def __call__(self, shape, dtype=None, partition_info=None, verify_shape=None):
        dt = _dtype(dtype, self.dtype)
        v = np.asarray(self.value, dtype=dt.as_numpy_dtype)
        shape = list(shape)
        if v.size == 1:
            arr = np.full(shape, v.reshape(()), dtype=v.dtype)
        elif v.size == int(np.prod(shape)):
            arr = v.reshape(shape)
        elif v.size < int(np.prod(shape)):
            # TF1 pads a short list with its last element
            flat = np.concatenate(
                [v.reshape(-1), np.full(int(np.prod(shape)) - v.size, v.flat[-1])]
            )
            arr = flat.reshape(shape)
        else:
            raise TypeError(
                f"Too many elements provided. Needed at most {int(np.prod(shape))}, "
                f"but received {v.size}"
            )
        return constant(arr, dtype=dt)

    def get_config(self):
        return {"value": self.value, "dtype": self.dtype.name, "verify_shape": self.verify_shape}


class RandomNormal(Initializer):
    """Normal samples (``tf.random_normal_initializer``)."""

    def __init__(self, mean=0.0, stddev=1.0, seed=None, dtype=_dt.float32):
        self.mean, self.stddev, self.seed = mean, stddev, seed
        self.dtype = _dt.as_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        from .ops.random import random_normal

        dt = _dtype(dtype, self.dtype)
        return random_normal(list(shape), self.mean, self.stddev, dt, seed=self.seed)

    def get_config(self):
        return {
            "mean": self.mean,
            "stddev": self.stddev,
            "seed": self.seed,
            "dtype": self.dtype.name,
        }


class RandomUniform(Initializer):
    """Uniform samples in ``[minval, maxval)`` (``tf.random_uniform_initializer``)."""

    def __init__(self, minval=0.0, maxval=None, seed=None, dtype=_dt.float32):
        self.minval, self.maxval, self.seed = minval, maxval, seed
        self.dtype = _dt.as_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        from .ops.random import random_uniform

        dt = _dtype(dtype, self.dtype)
        return random_uniform(list(shape), self.minval, self.maxval, dt, seed=self.seed)


class TruncatedNormal(Initializer):
    """Normal samples within two standard deviations (``tf.truncated_normal_initializer``)."""

    def __init__(self, mean=0.0, stddev=1.0, seed=None, dtype=_dt.float32):
        self.mean, self.stddev, self.seed = mean, stddev, seed
        self.dtype = _dt.as_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        from .ops.random import truncated_normal

        dt = _dtype(dtype, self.dtype)
        return truncated_normal(list(shape), self.mean, self.stddev, dt, seed=self.seed)


def _compute_fans(shape):
    shape = list(shape)
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = int(np.prod(shape[:-2]))
    return shape[-2] * receptive, shape[-1] * receptive


class VarianceScaling(Initializer):
    """Samples scaled to the layer's fan (``tf.variance_scaling_initializer``).

    ``n`` is ``fan_in``, ``fan_out`` or their mean (``mode``); ``distribution`` is
    ``"truncated_normal"`` (stddev ``sqrt(scale / n) / .87962566103423978``),
    ``"untruncated_normal"`` (stddev ``sqrt(scale / n)``) or ``"uniform"`` (limit
    ``sqrt(3 * scale / n)``). ``"normal"`` means truncated normal, as in TF1.
    """

    def __init__(
        self,
        scale=1.0,
        mode="fan_in",
        distribution="truncated_normal",
        seed=None,
        dtype=_dt.float32,
    ):
        if scale <= 0.0:
            raise ValueError("`scale` must be positive float.")
        if mode not in {"fan_in", "fan_out", "fan_avg"}:
            raise ValueError(f"Invalid `mode` argument: {mode}")
        distribution = distribution.lower()
        if distribution not in {"normal", "uniform", "truncated_normal", "untruncated_normal"}:
            raise ValueError(f"Invalid `distribution` argument: {distribution}")
        self.scale, self.mode, self.distribution, self.seed = scale, mode, distribution, seed
        self.dtype = _dt.as_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        from .ops.random import random_normal as _normal
        from .ops.random import random_uniform, truncated_normal

        dt = _dtype(dtype, self.dtype)
        shape = list(shape)
        fan_in, fan_out = _compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        scale = self.scale / max(1.0, n)
        if self.distribution in ("normal", "truncated_normal"):
            stddev = math.sqrt(scale) / 0.87962566103423978
            return truncated_normal(shape, 0.0, stddev, dt, seed=self.seed)
        if self.distribution == "untruncated_normal":
            return _normal(shape, 0.0, math.sqrt(scale), dt, seed=self.seed)
        limit = math.sqrt(3.0 * scale)
        return random_uniform(shape, -limit, limit, dt, seed=self.seed)

    def get_config(self):
        return {
            "scale": self.scale,
            "mode": self.mode,
            "distribution": self.distribution,
            "seed": self.seed,
            "dtype": self.dtype.name,
        }


class GlorotUniform(VarianceScaling):
    """Glorot/Xavier uniform: limit ``sqrt(6 / (fan_in + fan_out))``."""

    def __init__(self, seed=None, dtype=_dt.float32):
        super().__init__(1.0, "fan_avg", "uniform", seed, dtype)


class GlorotNormal(VarianceScaling):
    """Glorot/Xavier truncated normal: stddev ``sqrt(2 / (fan_in + fan_out))``."""

    def __init__(self, seed=None, dtype=_dt.float32):
        super().__init__(1.0, "fan_avg", "truncated_normal", seed, dtype)


zeros_initializer = Zeros
ones_initializer = Ones
constant_initializer = Constant
random_normal_initializer = RandomNormal
random_uniform_initializer = RandomUniform
truncated_normal_initializer = TruncatedNormal
variance_scaling_initializer = VarianceScaling
glorot_uniform_initializer = GlorotUniform
glorot_normal_initializer = GlorotNormal
