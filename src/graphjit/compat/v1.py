"""The TF1 namespace: ``import graphjit.compat.v1 as tf`` runs TF1 graph code unchanged.

Later modules (``nn``, ``train``, ``summary`` ...) are attached here as they are built.
"""

# ruff: noqa: F401  (this module re-exports TF1 public names)
from __future__ import annotations

import types as _types

from .. import dtypes as _dt
from .. import errors as _errors
from ..config_pb import (
    ConfigProto,
    GPUOptions,
    GraphOptions,
    OptimizerOptions,
    RunMetadata,
    RunOptions,
)
from ..dtypes import (
    DType,
    as_dtype,
    bool,
    complex64,
    complex128,
    double,
    float16,
    float32,
    float64,
    half,
    int8,
    int16,
    int32,
    int64,
    resource,
    string,
    uint8,
    uint16,
    uint32,
    uint64,
)
from ..graph import (
    Graph,
    GraphKeys,
    Operation,
    Tensor,
    add_to_collection,
    add_to_collections,
    control_dependencies,
    convert_to_tensor,
    device,
    get_collection,
    get_collection_ref,
    get_default_graph,
    is_tensor,
    name_scope,
    reset_default_graph,
)
from ..graph_def import GraphDef, NodeDef
from ..graph_io import import_graph_def
from ..ops.array import (
    boolean_mask,
    cast,
    constant,
    gather,
    identity,
    placeholder,
    placeholder_with_default,
    rank,
    reshape,
    shape,
    size,
    squeeze,
    stack,
    stop_gradient,
    strided_slice,
)
from ..ops.control import group, no_op
from ..ops.control import tuple as tuple
from ..ops.math import (
    abs,
    add,
    add_n,
    divide,
    equal,
    exp,
    floordiv,
    floormod,
    greater,
    greater_equal,
    less,
    less_equal,
    log,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    matmul,
    maximum,
    minimum,
    mod,
    multiply,
    negative,
    not_equal,
    pow,
    realdiv,
    reduce_max,
    reduce_mean,
    reduce_min,
    reduce_prod,
    reduce_sum,
    scalar_mul,
    sign,
    sqrt,
    square,
    squared_difference,
    subtract,
    tanh,
    truediv,
)
from ..ops.session_ops import delete_session_tensor, get_session_handle, get_session_tensor
from ..session import InteractiveSession, Session, get_default_session
from ..shapes import Dimension, TensorShape
from ..sparse import (
    IndexedSlices,
    IndexedSlicesValue,
    SparseTensor,
    SparseTensorValue,
    sparse_placeholder,
)
from ..variables import (
    Variable,
    VariableV1,
    all_variables,
    assign,
    assign_add,
    assign_sub,
    global_variables,
    global_variables_initializer,
    initialize_all_variables,
    initialize_local_variables,
    is_variable_initialized,
    local_variables,
    local_variables_initializer,
    model_variables,
    report_uninitialized_variables,
    trainable_variables,
    variables_initializer,
)

errors = _errors
newaxis = None
sub = subtract
mul = multiply
neg = negative
div = truediv
to_float = lambda x, name="ToFloat": cast(x, float32, name=name)  # noqa: E731
to_int32 = lambda x, name="ToInt32": cast(x, int32, name=name)  # noqa: E731
to_int64 = lambda x, name="ToInt64": cast(x, int64, name=name)  # noqa: E731
to_double = lambda x, name="ToDouble": cast(x, float64, name=name)  # noqa: E731


def disable_eager_execution():
    """No-op: graphjit is always in graph mode."""


def disable_v2_behavior():
    """No-op: graphjit is always in graph mode with TF1 semantics."""


def enable_eager_execution(*args, **kwargs):
    raise NotImplementedError(
        "graphjit implements graph mode only; eager execution is not available."
    )


def executing_eagerly() -> bool:
    """Always ``False``: graphjit is graph mode only."""
    return False


def set_random_seed(seed):
    """Set the graph-level random seed of the default graph."""
    get_default_graph().seed = seed


math = _types.SimpleNamespace(
    add=add,
    subtract=subtract,
    multiply=multiply,
    divide=divide,
    truediv=truediv,
    floordiv=floordiv,
    floormod=floormod,
    mod=mod,
    pow=pow,
    negative=negative,
    abs=abs,
    sign=sign,
    square=square,
    sqrt=sqrt,
    exp=exp,
    log=log,
    tanh=tanh,
    maximum=maximum,
    minimum=minimum,
    squared_difference=squared_difference,
    equal=equal,
    not_equal=not_equal,
    less=less,
    less_equal=less_equal,
    greater=greater,
    greater_equal=greater_equal,
    logical_and=logical_and,
    logical_or=logical_or,
    logical_not=logical_not,
    logical_xor=logical_xor,
    reduce_sum=reduce_sum,
    reduce_mean=reduce_mean,
    reduce_max=reduce_max,
    reduce_min=reduce_min,
    reduce_prod=reduce_prod,
    add_n=add_n,
    realdiv=realdiv,
    scalar_mul=scalar_mul,
)
dtypes = _types.SimpleNamespace(
    DType=DType,
    as_dtype=as_dtype,
    float16=float16,
    float32=float32,
    float64=float64,
    int8=int8,
    int16=int16,
    int32=int32,
    int64=int64,
    uint8=uint8,
    uint16=uint16,
    uint32=uint32,
    uint64=uint64,
    bool=bool,
    complex64=complex64,
    complex128=complex128,
    string=string,
    resource=resource,
)
graph_util = _types.SimpleNamespace(import_graph_def=import_graph_def)

# ---- op library (ops/array_more, indexing, math_more, nn, nn_conv, random) and gradients
from ..gradients import gradients  # noqa: E402
from ..ops import array_more as _am  # noqa: E402
from ..ops import indexing as _ix  # noqa: E402
from ..ops import math_more as _mm  # noqa: E402
from ..ops import nn as _nn  # noqa: E402
from ..ops import nn_conv as _cv  # noqa: E402
from ..ops import random as _rnd  # noqa: E402

for _mod, _names in (
    (_am, "transpose invert_permutation expand_dims concat split unstack tile pad slice "
          "reverse broadcast_to fill zeros ones zeros_like ones_like range"),
    (_ix, "one_hot gather_nd scatter_nd where where_v2 unsorted_segment_sum"),
    (_mm, "sigmoid softplus softsign expm1 log1p sin cos tan asin acos atan sinh cosh rsqrt "
          "reciprocal floor ceil round rint erf erfc is_nan is_inf is_finite clip_by_value "
          "reduce_any reduce_all reduce_logsumexp count_nonzero argmax argmin arg_max arg_min "
          "cumsum cumprod"),
    (_rnd, "random_normal random_uniform truncated_normal"),
):  # fmt: skip
    for _n in _names.split():
        globals()[_n] = getattr(_mod, _n)
        setattr(math, _n, getattr(_mod, _n))
reverse_v2 = _am.reverse
unsorted_segment_sum = _ix.unsorted_segment_sum
math.add_n = _mm.add_n_op
random = _types.SimpleNamespace(
    normal=_rnd.random_normal,
    uniform=_rnd.random_uniform,
    truncated_normal=_rnd.truncated_normal,
    set_random_seed=_rnd.set_random_seed,
    set_seed=_rnd.set_random_seed,
)
nn = _types.SimpleNamespace(
    relu=_nn.relu,
    relu6=_nn.relu6,
    elu=_nn.elu,
    selu=_nn.selu,
    leaky_relu=_nn.leaky_relu,
    softplus=_mm.softplus,
    softsign=_mm.softsign,
    sigmoid=_mm.sigmoid,
    tanh=tanh,
    softmax=_nn.softmax,
    log_softmax=_nn.log_softmax,
    bias_add=_nn.bias_add,
    l2_loss=_nn.l2_loss,
    dropout=_nn.dropout,
    softmax_cross_entropy_with_logits=_nn.softmax_cross_entropy_with_logits,
    softmax_cross_entropy_with_logits_v2=_nn.softmax_cross_entropy_with_logits_v2,
    sparse_softmax_cross_entropy_with_logits=_nn.sparse_softmax_cross_entropy_with_logits,
    sigmoid_cross_entropy_with_logits=_nn.sigmoid_cross_entropy_with_logits,
    weighted_cross_entropy_with_logits=_nn.weighted_cross_entropy_with_logits,
    conv2d=_cv.conv2d,
    conv2d_backprop_input=_cv.conv2d_backprop_input,
    conv2d_backprop_filter=_cv.conv2d_backprop_filter,
    max_pool=_cv.max_pool,
    avg_pool=_cv.avg_pool,
    embedding_lookup=lambda params, ids, name=None, **kw: gather(params, ids, name=name),
)

# ---- training: tf.train, tf.summary, tf.app/flags/logging, get_variable, initializers
from .. import init_ops as _init  # noqa: E402
from .. import train as _train_pkg  # noqa: E402
from .. import variable_scope as _vs  # noqa: E402
from ..train import app as _app_mod  # noqa: E402
from ..train import logging as _logging_mod  # noqa: E402
from ..train import summary as _summary_mod  # noqa: E402
from ..train import summary_pb as _summary_pb  # noqa: E402

train = _types.SimpleNamespace(**{_n: getattr(_train_pkg, _n) for _n in _train_pkg.__all__})
summary = _types.SimpleNamespace(
    **{_n: getattr(_summary_mod, _n) for _n in _summary_mod.__all__},
    **{_n: getattr(_summary_pb, _n) for _n in _summary_pb.__all__},
)
app = _types.SimpleNamespace(run=_app_mod.run, flags=_app_mod.flags)
flags = _app_mod.flags
logging = _logging_mod
Summary = _summary_pb.Summary
Event = _summary_pb.Event
HistogramProto = _summary_pb.HistogramProto
SummaryMetadata = _summary_pb.SummaryMetadata
SessionLog = _summary_pb.SessionLog
for _n in (
    "AUTO_REUSE VariableScope get_variable get_local_variable get_variable_scope "
    "variable_scope no_regularizer"
).split():
    globals()[_n] = getattr(_vs, _n)
for _n in (
    "zeros_initializer ones_initializer constant_initializer random_normal_initializer "
    "random_uniform_initializer truncated_normal_initializer variance_scaling_initializer "
    "glorot_uniform_initializer glorot_normal_initializer"
).split():
    globals()[_n] = getattr(_init, _n)
initializers = _types.SimpleNamespace(
    zeros=_init.zeros_initializer,
    ones=_init.ones_initializer,
    constant=_init.constant_initializer,
    random_normal=_init.random_normal_initializer,
    random_uniform=_init.random_uniform_initializer,
    truncated_normal=_init.truncated_normal_initializer,
    variance_scaling=_init.variance_scaling_initializer,
    glorot_uniform=_init.glorot_uniform_initializer,
    glorot_normal=_init.glorot_normal_initializer,
    global_variables=global_variables_initializer,
    local_variables=local_variables_initializer,
    variables=variables_initializer,
)
