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
    string=string,
    resource=resource,
)
graph_util = _types.SimpleNamespace(import_graph_def=import_graph_def)
