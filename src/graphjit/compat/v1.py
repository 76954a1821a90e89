"""The TF1 namespace: ``import graphjit.compat.v1 as tf`` runs TF1 graph code unchanged.

Later modules (``nn``, ``train``, ``summary`` ...) are attached here as they are built.
"""

# ruff: noqa: F401  (this module re-exports TF1 public names)
from __future__ import annotations

import types as _types

from .. import dtypes as _dt
from .. import errors as _errors
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
from ..ops.control_flow import case, cond, identity_n, while_loop
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

# ---- op library (ops/array_more, indexing, math_more, nn, nn_conv, random) and gradients
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
    (_mm, "sigmoid softplus softsign expm1 log1p sin cos tan asin acos atan atan2 sinh cosh "
          "rsqrt "
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
from ..ops import random_more as _rm  # noqa: E402

multinomial, random_shuffle = _rm.multinomial, _rm.random_shuffle
random_gamma, random_poisson, get_seed = _rm.random_gamma, _rm.random_poisson, _rm.get_seed_pair
random.categorical, random.multinomial = _rm.categorical, _rm.multinomial
random.shuffle, random.gamma = _rm.random_shuffle, _rm.random_gamma
random.poisson, random.get_seed = _rm.random_poisson, get_seed
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
    embedding_lookup=_nn.embedding_lookup,
)

# ---- op library, round 2: linalg, sorting/segments, losses, state, debugging, py_func
from ..ops import array_split as _asp  # noqa: E402
from ..ops import debug as _dbg  # noqa: E402
from ..ops import linalg as _la  # noqa: E402
from ..ops import losses as _losses_mod  # noqa: E402
from ..ops import sorting as _so  # noqa: E402
from ..ops import state_ops as _st  # noqa: E402

for _mod, _names in (
    (_la, "tensordot einsum norm trace eye diag diag_part matmul"),
    (_so, "sort argsort unique segment_sum unsorted_segment_max unsorted_segment_mean "
          "sequence_mask meshgrid linspace shape_n"),
    (_st, "scatter_update scatter_add scatter_sub scatter_mul scatter_div scatter_max "
          "scatter_min count_up_to"),
    (_dbg, "Print Assert check_numerics py_func numpy_function assert_equal assert_none_equal "
           "assert_less assert_less_equal assert_greater assert_greater_equal assert_positive "
           "assert_negative assert_non_negative assert_non_positive"),
):  # fmt: skip
    for _n in _names.split():
        globals()[_n] = getattr(_mod, _n)
for _n in "tensordot trace segment_sum unsorted_segment_max unsorted_segment_mean".split():
    setattr(math, _n, globals()[_n])
math.top_k = nn.top_k = _so.top_k
math.in_top_k = nn.in_top_k = in_top_k = _so.in_top_k
print = _dbg.print_v2  # tf.print (shadows the builtin in this module only)
lin_space = _so.linspace
matrix_diag, matrix_diag_part = _la.matrix_diag, _la.matrix_diag_part
from ..ops import broadcast_ops as _bc  # noqa: E402

broadcast_dynamic_shape = _bc.broadcast_dynamic_shape
broadcast_static_shape, setdiff1d = _bc.broadcast_static_shape, _bc.setdiff1d
for _n in "moments batch_normalization l2_normalize embedding_lookup".split():
    setattr(nn, _n, getattr(_nn, _n))
nn.conv2d_transpose = _cv.conv2d_transpose
l2_normalize = _nn.l2_normalize
linalg = _types.SimpleNamespace(
    matmul=_la.matmul, tensordot=_la.tensordot, einsum=_la.einsum, norm=_la.norm,
    trace=_la.trace, eye=_la.eye,
    diag=_la.matrix_diag, diag_part=_la.matrix_diag_part, l2_normalize=_nn.l2_normalize,
)  # fmt: skip
losses = _types.SimpleNamespace(**{_n: getattr(_losses_mod, _n) for _n in _losses_mod.__all__})
debugging = _types.SimpleNamespace(
    **{_n: getattr(_dbg, _n) for _n in "Assert check_numerics assert_equal assert_none_equal "
       "assert_less assert_less_equal assert_greater assert_greater_equal assert_positive "
       "assert_negative assert_non_negative assert_non_positive".split()},
)  # fmt: skip
debugging.assert_all_finite = _dbg.check_numerics

# ---- string ops (ops/strings.py, ops/strings_regex.py): numpy links over bytes objects
from ..ops import strings as _str_ops  # noqa: E402
from ..ops import strings_regex as _rx  # noqa: E402

as_string, string_join, substr = _str_ops.as_string, _str_ops.string_join, _str_ops.substr
string_split, string_to_number = _str_ops.string_split, _str_ops.string_to_number
string_strip, regex_replace = _str_ops.strip, _rx.regex_replace
strings = _types.SimpleNamespace(
    as_string=as_string, join=string_join, substr=substr, regex_replace=regex_replace,
    regex_full_match=_rx.regex_full_match, split=_str_ops.strings_split,
    length=_str_ops.string_length, to_number=string_to_number, lower=_str_ops.lower,
    upper=_str_ops.upper, strip=string_strip,
)  # fmt: skip

# ---- imported on first use (PEP 562 module __getattr__), so `import graphjit.compat.v1`
# does not pay for protobuf messages, GraphDef I/O, gradients or training (~40 ms):
# tf.ConfigProto/RunOptions/GraphDef, tf.gradients, tf.train, tf.summary, tf.app/flags/logging,
# get_variable & variable scopes, initializers.
_LAZY_ATTRS = {
    **dict.fromkeys(
        "ConfigProto GPUOptions GraphOptions OptimizerOptions RunMetadata RunOptions".split(),
        "config_pb",
    ),
    "GraphDef": "graph_def",
    "NodeDef": "graph_def",
    "MetaGraphDef": "train.meta_graph_pb",
    "import_graph_def": "graph_io",
    "gradients": "gradients",
    **dict.fromkeys(
        "AUTO_REUSE VariableScope get_variable get_local_variable get_variable_scope "
        "variable_scope no_regularizer".split(),
        "variable_scope",
    ),
    **dict.fromkeys(
        "zeros_initializer ones_initializer constant_initializer random_normal_initializer "
        "random_uniform_initializer truncated_normal_initializer "
        "variance_scaling_initializer glorot_uniform_initializer "
        "glorot_normal_initializer".split(),
        "init_ops",
    ),
    **dict.fromkeys(
        "Summary Event HistogramProto SummaryMetadata SessionLog".split(), "train.summary_pb"
    ),
}


def _lazy_namespace(name):
    import importlib

    def mod(m):
        return importlib.import_module(f"graphjit.{m}")

    if name == "graph_util":
        return _types.SimpleNamespace(import_graph_def=mod("graph_io").import_graph_def)
    if name == "train":
        pkg = mod("train")
        return _types.SimpleNamespace(**{n: getattr(pkg, n) for n in pkg.__all__})
    if name == "summary":
        sm, pb = mod("train.summary"), mod("train.summary_pb")
        return _types.SimpleNamespace(
            **{n: getattr(sm, n) for n in sm.__all__}, **{n: getattr(pb, n) for n in pb.__all__}
        )
    if name == "app":
        am = mod("train.app")
        return _types.SimpleNamespace(run=am.run, flags=am.flags)
    if name == "flags":
        return mod("train.app").flags
    if name == "logging":
        return mod("train.logging")
    if name == "initializers":
        init = mod("init_ops")
        return _types.SimpleNamespace(
            zeros=init.zeros_initializer,
            ones=init.ones_initializer,
            constant=init.constant_initializer,
            random_normal=init.random_normal_initializer,
            random_uniform=init.random_uniform_initializer,
            truncated_normal=init.truncated_normal_initializer,
            variance_scaling=init.variance_scaling_initializer,
            glorot_uniform=init.glorot_uniform_initializer,
            glorot_normal=init.glorot_normal_initializer,
            global_variables=global_variables_initializer,
            local_variables=local_variables_initializer,
            variables=variables_initializer,
        )
    if name in _LAZY_ATTRS:
        return getattr(mod(_LAZY_ATTRS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_LAZY_NAMES = frozenset(_LAZY_ATTRS) | {
    "graph_util", "train", "summary", "app", "flags", "logging", "initializers"
}  # fmt: skip


def __getattr__(name):
    if name not in _LAZY_NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = _lazy_namespace(name)
    globals()[name] = value  # later lookups are plain module attributes
    return value


def __dir__():
    return sorted(set(globals()) | _LAZY_NAMES)
