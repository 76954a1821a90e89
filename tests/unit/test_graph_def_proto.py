"""Tests of graphjit.graph_def and graphjit.config_pb: TensorFlow's messages and numpy bridges."""

from __future__ import annotations

import re

import numpy as np
import pytest

from graphjit import config_pb, graph_def
from graphjit.config_pb import (
    ConfigProto,
    OptimizerOptions,
    RunMetadata,
    RunOptions,
    StepStats,
)
from graphjit.graph_def import (
    DT_BOOL,
    DT_DOUBLE,
    DT_FLOAT,
    DT_FLOAT_REF,
    DT_HALF,
    DT_INT32,
    DT_STRING,
    AttrValue,
    DataType,
    GraphDef,
    NodeDef,
    TensorProto,
    TensorShapeProto,
    datatype_to_numpy_dtype,
    make_tensor_proto,
    numpy_dtype_to_datatype,
    tensor_proto_to_ndarray,
)
from graphjit.protowire import Field, Message

# Transcribed from TensorFlow's .proto sources (tensorflow/core/framework/*.proto and
# tensorflow/core/protobuf/config.proto), independently of the Python declarations, and
# checked against them below.  Messages TF defines elsewhere that graphjit keeps opaque are
# declared empty here.
TF_PROTOS = """
enum DataType {
  DT_INVALID = 0; DT_FLOAT = 1; DT_DOUBLE = 2; DT_INT32 = 3; DT_UINT8 = 4; DT_INT16 = 5;
  DT_INT8 = 6; DT_STRING = 7; DT_COMPLEX64 = 8; DT_INT64 = 9; DT_BOOL = 10; DT_QINT8 = 11;
  DT_QUINT8 = 12; DT_QINT32 = 13; DT_BFLOAT16 = 14; DT_QINT16 = 15; DT_QUINT16 = 16;
  DT_UINT16 = 17; DT_COMPLEX128 = 18; DT_HALF = 19; DT_RESOURCE = 20; DT_VARIANT = 21;
  DT_UINT32 = 22; DT_UINT64 = 23; DT_FLOAT8_E5M2 = 24; DT_FLOAT8_E4M3FN = 25; DT_INT4 = 29;
  DT_UINT4 = 30;
  DT_FLOAT_REF = 101; DT_DOUBLE_REF = 102; DT_INT32_REF = 103; DT_UINT8_REF = 104;
  DT_INT16_REF = 105; DT_INT8_REF = 106; DT_STRING_REF = 107; DT_COMPLEX64_REF = 108;
  DT_INT64_REF = 109; DT_BOOL_REF = 110; DT_QINT8_REF = 111; DT_QUINT8_REF = 112;
  DT_QINT32_REF = 113; DT_BFLOAT16_REF = 114; DT_QINT16_REF = 115; DT_QUINT16_REF = 116;
  DT_UINT16_REF = 117; DT_COMPLEX128_REF = 118; DT_HALF_REF = 119; DT_RESOURCE_REF = 120;
  DT_VARIANT_REF = 121; DT_UINT32_REF = 122; DT_UINT64_REF = 123; DT_FLOAT8_E5M2_REF = 124;
  DT_FLOAT8_E4M3FN_REF = 125; DT_INT4_REF = 129; DT_UINT4_REF = 130;
}
message TensorShapeProto {
  message Dim { int64 size = 1; string name = 2; }
  repeated Dim dim = 2;
  bool unknown_rank = 3;
}
message VersionDef {
  int32 producer = 1; int32 min_consumer = 2; repeated int32 bad_consumers = 3;
}
message ResourceHandleProto { message DtypeAndShape {} }
message TensorProto {
  DataType dtype = 1;
  TensorShapeProto tensor_shape = 2;
  int32 version_number = 3;
  bytes tensor_content = 4;
  repeated int32 half_val = 13 [packed = true];
  repeated float float_val = 5 [packed = true];
  repeated double double_val = 6 [packed = true];
  repeated int32 int_val = 7 [packed = true];
  repeated bytes string_val = 8;
  repeated float scomplex_val = 9 [packed = true];
  repeated int64 int64_val = 10 [packed = true];
  repeated bool bool_val = 11 [packed = true];
  repeated double dcomplex_val = 12 [packed = true];
  repeated ResourceHandleProto resource_handle_val = 14;
  repeated VariantTensorDataProto variant_val = 15;
  repeated uint32 uint32_val = 16 [packed = true];
  repeated uint64 uint64_val = 17 [packed = true];
  bytes float8_val = 18;
}
message VariantTensorDataProto {
  string type_name = 1; bytes metadata = 2; repeated TensorProto tensors = 3;
}
message AttrValue {
  message ListValue {
    repeated bytes s = 2;
    repeated int64 i = 3 [packed = true];
    repeated float f = 4 [packed = true];
    repeated bool b = 5 [packed = true];
    repeated DataType type = 6 [packed = true];
    repeated TensorShapeProto shape = 7;
    repeated TensorProto tensor = 8;
    repeated NameAttrList func = 9;
  }
  oneof value {
    bytes s = 2; int64 i = 3; float f = 4; bool b = 5; DataType type = 6;
    TensorShapeProto shape = 7; TensorProto tensor = 8; ListValue list = 1;
    NameAttrList func = 10; string placeholder = 9;
  }
}
message NameAttrList { string name = 1; map<string, AttrValue> attr = 2; }
message FullTypeDef {}
message NodeDef {
  string name = 1;
  string op = 2;
  repeated string input = 3;
  string device = 4;
  map<string, AttrValue> attr = 5;
  message ExperimentalDebugInfo {
    repeated string original_node_names = 1;
    repeated string original_func_names = 2;
  }
  ExperimentalDebugInfo experimental_debug_info = 6;
  FullTypeDef experimental_type = 7;
}
message OpDef {
  string name = 1;
  message ArgDef {
    string name = 1;
    string description = 2;
    DataType type = 3;
    string type_attr = 4;
    string number_attr = 5;
    string type_list_attr = 6;
    repeated ResourceHandleProto.DtypeAndShape handle_data = 7;
    bool is_ref = 16;
    FullTypeDef experimental_full_type = 17;
  }
  repeated ArgDef input_arg = 2;
  repeated ArgDef output_arg = 3;
  repeated string control_output = 20;
  message AttrDef {
    string name = 1;
    string type = 2;
    AttrValue default_value = 3;
    string description = 4;
    bool has_minimum = 5;
    int64 minimum = 6;
    AttrValue allowed_values = 7;
  }
  repeated AttrDef attr = 4;
  OpDeprecation deprecation = 8;
  string summary = 5;
  string description = 6;
  bool is_commutative = 18;
  bool is_aggregate = 16;
  bool is_stateful = 17;
  bool allows_uninitialized_input = 19;
  bool is_distributed_communication = 21;
}
message OpDeprecation { int32 version = 1; string explanation = 2; }
message OpList { repeated OpDef op = 1; }
message FunctionDefLibrary {
  repeated FunctionDef function = 1;
  repeated GradientDef gradient = 2;
  repeated RegisteredGradient registered_gradients = 3;
}
message FunctionDef {
  OpDef signature = 1;
  map<string, AttrValue> attr = 5;
  message ArgAttrs { map<string, AttrValue> attr = 1; }
  map<uint32, ArgAttrs> arg_attr = 7;
  map<uint32, uint32> resource_arg_unique_id = 8;
  repeated NodeDef node_def = 3;
  map<string, string> ret = 4;
  map<string, string> control_ret = 6;
}
message GradientDef { string function_name = 1; string gradient_func = 2; }
message RegisteredGradient { string gradient_func = 1; string registered_op_type = 2; }
message GraphDebugInfo {}
message GraphDef {
  repeated NodeDef node = 1;
  VersionDef versions = 4;
  int32 version = 3 [deprecated = true];
  FunctionDefLibrary library = 2;
  GraphDebugInfo debug_info = 5;
}
message GPUOptions {
  double per_process_gpu_memory_fraction = 1;
  bool allow_growth = 4;
  string allocator_type = 2;
  int64 deferred_deletion_bytes = 3;
  string visible_device_list = 5;
  int32 polling_active_delay_usecs = 6;
  int32 polling_inactive_delay_msecs = 7;
  bool force_gpu_compatible = 8;
  message Experimental {}
  Experimental experimental = 9;
}
message OptimizerOptions {
  bool do_common_subexpression_elimination = 1;
  bool do_constant_folding = 2;
  int64 max_folded_constant_in_bytes = 6;
  bool do_function_inlining = 4;
  enum Level { L1 = 0; L0 = -1; }
  Level opt_level = 3;
  enum GlobalJitLevel { DEFAULT = 0; OFF = -1; ON_1 = 1; ON_2 = 2; }
  GlobalJitLevel global_jit_level = 5;
  bool cpu_global_jit = 7;
}
message GraphOptions {
  message RewriterConfig {}
  bool enable_recv_scheduling = 2;
  OptimizerOptions optimizer_options = 3;
  int64 build_cost_model = 4;
  int64 build_cost_model_after = 9;
  bool infer_shapes = 5;
  bool place_pruned_graph = 6;
  bool enable_bfloat16_sendrecv = 7;
  int32 timeline_step = 8;
  RewriterConfig rewrite_options = 10;
}
message ThreadPoolOptionProto { int32 num_threads = 1; string global_name = 2; }
message SessionMetadata { string name = 1; int64 version = 2; }
message RPCOptions {}
message ClusterDef {}
message ConfigProto {
  map<string, int32> device_count = 1;
  int32 intra_op_parallelism_threads = 2;
  int32 inter_op_parallelism_threads = 5;
  bool use_per_session_threads = 9;
  repeated ThreadPoolOptionProto session_inter_op_thread_pool = 12;
  int32 placement_period = 3;
  repeated string device_filters = 4;
  GPUOptions gpu_options = 6;
  bool allow_soft_placement = 7;
  bool log_device_placement = 8;
  GraphOptions graph_options = 10;
  int64 operation_timeout_in_ms = 11;
  RPCOptions rpc_options = 13;
  ClusterDef cluster_def = 14;
  bool isolate_session_state = 15;
  bool share_cluster_devices_in_session = 17;
  message Experimental {
    string collective_group_leader = 1;
    string executor_type = 3;
    bool disable_thread_spinning = 9;
    SessionMetadata session_metadata = 11;
    bool optimize_for_static_graph = 12;
  }
  Experimental experimental = 16;
}
message RunOptions {
  message DebugOptions {}
  enum TraceLevel { NO_TRACE = 0; SOFTWARE_TRACE = 1; HARDWARE_TRACE = 2; FULL_TRACE = 3; }
  TraceLevel trace_level = 1;
  int64 timeout_in_ms = 2;
  int32 inter_op_thread_pool = 3;
  bool output_partition_graphs = 5;
  DebugOptions debug_options = 6;
  bool report_tensor_allocations_upon_oom = 7;
  message Experimental { int64 collective_graph_key = 1; bool use_run_handler_pool = 2; }
  Experimental experimental = 8;
}
message AllocatorMemoryUsed {}
message NodeOutput {}
message AllocationDescription {}
message MemoryStats {}
message NodeExecStats {
  string node_name = 1;
  int64 all_start_micros = 2;
  int64 op_start_rel_micros = 3;
  int64 op_end_rel_micros = 4;
  int64 all_end_rel_micros = 5;
  repeated AllocatorMemoryUsed memory = 6;
  repeated NodeOutput output = 7;
  string timeline_label = 8;
  int64 scheduled_micros = 9;
  uint32 thread_id = 10;
  repeated AllocationDescription referenced_tensor = 11;
  MemoryStats memory_stats = 12;
  int64 all_start_nanos = 13;
  int64 op_start_rel_nanos = 14;
  int64 op_end_rel_nanos = 15;
  int64 all_end_rel_nanos = 16;
  int64 scheduled_nanos = 17;
}
message DeviceStepStats {
  string device = 1;
  repeated NodeExecStats node_stats = 2;
  map<uint32, string> thread_names = 3;
}
message StepStats { repeated DeviceStepStats dev_stats = 1; }
message CostGraphDef {}
message RunMetadata {
  StepStats step_stats = 1;
  CostGraphDef cost_graph = 2;
  repeated GraphDef partition_graphs = 3;
  message FunctionGraphs {
    repeated GraphDef partition_graphs = 1;
    GraphDef pre_optimization_graph = 2;
    GraphDef post_optimization_graph = 3;
  }
  repeated FunctionGraphs function_graphs = 4;
  SessionMetadata session_metadata = 5;
}
"""

# TF fields that graphjit deliberately leaves unmodelled (their bytes are preserved).
UNMODELLED = {
    "TensorProto.resource_handle_val",
    "NodeDef.experimental_type",
    "OpDef.ArgDef.handle_data",
    "OpDef.ArgDef.experimental_full_type",
    "ConfigProto.rpc_options",
    "ConfigProto.cluster_def",
    "NodeExecStats.memory",
    "NodeExecStats.output",
    "NodeExecStats.referenced_tensor",
    "NodeExecStats.memory_stats",
}
SCALARS = (
    "int32 int64 uint32 uint64 sint32 sint64 fixed32 fixed64 sfixed32 sfixed64 "
    "bool float double string bytes"
).split()


def parse_protos(text: str) -> tuple[dict, dict]:
    """A tiny .proto parser: ``{full_name: {number: spec}}`` for messages, plus enums."""
    tokens = re.findall(r"[A-Za-z_][\w.]*|-?\d+|[{}=;<>,\[\]]", re.sub(r"//.*", "", text))
    messages: dict[str, dict[int, dict]] = {}
    enums: dict[str, dict[str, int]] = {}
    pos = 0

    def block(scope: str, oneof: str | None = None) -> None:
        nonlocal pos
        while tokens[pos] != "}":
            tok = tokens[pos]
            if tok in ("message", "enum"):
                name = f"{scope}.{tokens[pos + 1]}" if scope else tokens[pos + 1]
                pos += 3
                if tok == "message":
                    messages[name] = {}
                    block(name)
                else:
                    values = enums[name] = {}
                    while tokens[pos] != "}":
                        values[tokens[pos]] = int(tokens[pos + 2])
                        pos += 4
                pos += 1
            elif tok == "oneof":
                pos += 3
                block(scope, tokens[pos - 2])
                pos += 1
            else:
                spec = {"repeated": tok == "repeated", "oneof": oneof, "scope": scope}
                pos += tok == "repeated"
                if tokens[pos] == "map":
                    spec.update(kind="map", key=tokens[pos + 2], type=tokens[pos + 4])
                    pos += 6
                else:
                    spec["type"] = tokens[pos]
                    pos += 1
                spec["name"], number = tokens[pos], int(tokens[pos + 2])
                pos += 3
                if tokens[pos] == "[":
                    pos = tokens.index("]", pos) + 1
                messages[scope][number] = spec
                pos += 1  # ';'

    tokens.append("}")
    block("")
    return messages, enums


TF_MESSAGES, TF_ENUMS = parse_protos(TF_PROTOS)


def _resolve(type_name: str, scope: str, names) -> str | None:
    """Protobuf scoping: look the name up from the innermost scope outwards."""
    parts = scope.split(".") if scope else []
    for i in range(len(parts), -1, -1):
        candidate = ".".join([*parts[:i], type_name])
        if candidate in names:
            return candidate
    return None


def _kind_of(spec_type: str, scope: str) -> tuple[str, str | None]:
    if spec_type in SCALARS:
        return spec_type, None
    if (name := _resolve(spec_type, scope, TF_ENUMS)) is not None:
        return "enum", name
    name = _resolve(spec_type, scope, TF_MESSAGES)
    assert name is not None, spec_type
    return "message", name


OUR_CLASSES = {
    cls.__qualname__: cls
    for module in (graph_def, config_pb)
    for cls in vars(module).values()
    if isinstance(cls, type) and issubclass(cls, Message) and cls.__module__ == module.__name__
}
for _cls in list(OUR_CLASSES.values()):
    for _nested in vars(_cls).values():
        if isinstance(_nested, type) and issubclass(_nested, Message):
            OUR_CLASSES[_nested.__qualname__] = _nested
OUR_CLASSES.pop("_Opaque", None)


@pytest.mark.parametrize("name", sorted(OUR_CLASSES))
def test_fields_match_tensorflow_protos(name):
    cls = OUR_CLASSES[name]
    assert name in TF_MESSAGES, f"{name} is not in the transcribed TF protos"
    tf_fields = TF_MESSAGES[name]
    ours = {f.number: f for f in cls.FIELDS}
    expected_missing = {n for n, s in tf_fields.items() if f"{name}.{s['name']}" in UNMODELLED}
    assert set(ours) == set(tf_fields) - expected_missing
    for number, f in ours.items():
        spec = tf_fields[number]
        assert f.name == spec["name"], (name, number)
        assert f.oneof == spec["oneof"], (name, f.name)
        if spec.get("kind") == "map":
            assert f.kind == "map" and f.key_field.kind == spec["key"]
            kind, target = _kind_of(spec["type"], spec["scope"])
            vf = f.value_field
            assert vf.kind == kind
            if kind == "message":
                assert vf.message_class.__qualname__ == target
            continue
        kind, target = _kind_of(spec["type"], spec["scope"])
        assert (f.kind, f.repeated) == (kind, spec["repeated"]), (name, f.name)
        if kind == "message":
            assert f.message_class.__qualname__ == target, (name, f.name)
        if kind == "enum":
            assert f.enum is not None and dict(f.enum.items()) == TF_ENUMS[target]


def test_enums_match_tensorflow():
    assert dict(DataType.items()) == TF_ENUMS["DataType"]
    for name, value in TF_ENUMS["DataType"].items():
        if hasattr(graph_def, name):
            assert getattr(graph_def, name) == value
    assert dict(RunOptions.TraceLevel.items()) == TF_ENUMS["RunOptions.TraceLevel"]
    assert RunOptions.FULL_TRACE == RunOptions.TraceLevel.FULL_TRACE == 3
    assert RunOptions.NO_TRACE == 0 and RunOptions.SOFTWARE_TRACE == 1
    assert OptimizerOptions.L0 == -1 and OptimizerOptions.ON_2 == 2
    assert DataType.Name(DT_FLOAT_REF) == "DT_FLOAT_REF" and DataType.Value("DT_HALF") == 19


# -- message behaviour --------------------------------------------------------------------------


def _sample_graph() -> GraphDef:
    g = GraphDef(versions={"producer": 27, "min_consumer": 12})
    const = g.node.add(name="c", op="Const")
    const.attr["dtype"].type = DT_FLOAT
    const.attr["value"].tensor.CopyFrom(make_tensor_proto(np.arange(6, dtype=np.float32)))
    ph = g.node.add(name="x", op="Placeholder", device="/device:CPU:0")
    ph.attr["dtype"].type = DT_FLOAT
    ph.attr["shape"].shape.dim.add(size=-1)
    ph.attr["shape"].shape.dim.add(size=3)
    add = g.node.add(name="add", op="AddV2", input=["x", "c:0", "^init"])
    add.attr["T"].type = DT_FLOAT
    node = g.node.add(name="misc", op="Custom")
    # (No attr name is a prefix of another: upb's "deterministic" order differs from C++'s
    # sorted order for such keys, which would break the byte comparisons with protobuf.)
    node.attr["s_val"].s = b"bytes"
    node.attr["i_val"].i = -7
    node.attr["f_val"].f = 0.5
    node.attr["b_val"].b = False
    node.attr["empty_list"].list.SetInParent()
    node.attr["list_i"].list.i.extend([1, 2, 3])
    node.attr["list_type"].list.type.extend([DT_FLOAT, DT_INT32])
    node.attr["list_shape"].list.shape.add().unknown_rank = True
    node.attr["func"].func.name = "f"
    node.attr["func"].func.attr["T"].type = DT_DOUBLE
    node.attr["placeholder"].placeholder = "T"
    node.experimental_debug_info.original_node_names.append("orig")
    return g


def test_graph_def_round_trip_and_text():
    g = _sample_graph()
    data = g.SerializeToString()
    g2 = GraphDef.FromString(data)
    assert g2 == g and g2.SerializeToString() == data
    assert g2.node[3].attr["empty_list"].WhichOneof("value") == "list"
    assert g2.node[3].attr["b_val"].WhichOneof("value") == "b"
    assert list(g2.node[2].input) == ["x", "c:0", "^init"]
    assert g2.versions.producer == 27
    text = str(g2)
    assert text.startswith('node {\n  name: "c"\n  op: "Const"\n  attr {\n    key: "dtype"\n')
    assert "      type: DT_FLOAT\n" in text and "versions {\n  producer: 27\n" in text


def test_attr_value_oneof():
    a = AttrValue(i=3)
    assert a.WhichOneof("value") == "i"
    a.type = DT_INT32
    assert a.WhichOneof("value") == "type" and a.i == 0
    a.list.i.append(1)
    assert a.WhichOneof("value") == "list" and a.type == 0
    a.s = "text is encoded"
    assert a.s == b"text is encoded" and not a.HasField("list")
    with pytest.raises(TypeError, match=r"AttrValue\.i"):
        a.i = "x"
    with pytest.raises(TypeError, match=r"NodeDef\.attr"):
        NodeDef(attr={"T": 3})


def test_node_def_constructor_and_unknown_field():
    n = NodeDef(name="a", op="Const", attr={"dtype": AttrValue(type=DT_FLOAT)})
    assert n.attr["dtype"].type == DT_FLOAT and str(n).startswith('name: "a"\nop: "Const"\n')
    with pytest.raises(ValueError, match="no_such_field"):
        NodeDef(no_such_field=1)


def test_unmodelled_fields_preserved():
    library = b"\x0a\x05\x0a\x03\x0a\x01f"  # FunctionDefLibrary{function{signature{name:"f"}}}
    debug_info = b"\x0a\x03abc"
    experimental_type = b"\x3a\x02\x08\x01"  # NodeDef.experimental_type
    node = b"\x0a\x01n" + experimental_type
    data = b"\x0a" + bytes([len(node)]) + node
    data += b"\x12" + bytes([len(library)]) + library
    data += b"\x2a" + bytes([len(debug_info)]) + debug_info
    g = GraphDef.FromString(data)
    assert g.node[0].name == "n" and g.HasField("library") and g.HasField("debug_info")
    assert g.SerializeToString() == data
    copy = GraphDef()
    copy.CopyFrom(g)
    assert copy.SerializeToString() == data


def test_config_protos():
    c = ConfigProto(
        device_count={"CPU": 4, "GPU": 0},
        intra_op_parallelism_threads=2,
        inter_op_parallelism_threads=3,
        allow_soft_placement=True,
        gpu_options={"allow_growth": True, "per_process_gpu_memory_fraction": 0.5},
    )
    c.graph_options.optimizer_options.opt_level = OptimizerOptions.L0
    c.graph_options.optimizer_options.global_jit_level = "OFF"
    c2 = ConfigProto.FromString(c.SerializeToString())
    assert c2 == c and c2.device_count["CPU"] == 4 and c2.gpu_options.allow_growth
    assert c2.graph_options.optimizer_options.opt_level == -1
    assert "opt_level: L0" in str(c2)
    with pytest.raises(ValueError, match="bogus_option"):
        ConfigProto(bogus_option=True)
    with pytest.raises(TypeError, match="intra_op_parallelism_threads"):
        ConfigProto(intra_op_parallelism_threads="2")
    opts = RunOptions(trace_level=RunOptions.FULL_TRACE, timeout_in_ms=10)
    assert RunOptions.FromString(opts.SerializeToString()).trace_level == 3
    assert "trace_level: FULL_TRACE" in str(opts)


def test_run_metadata_and_step_stats():
    md = RunMetadata()
    dev = md.step_stats.dev_stats.add(device="/job:localhost/replica:0/task:0/device:CPU:0")
    stats = dev.node_stats.add(node_name="add", all_start_micros=10, op_end_rel_micros=5)
    stats.all_start_nanos = 10_000
    stats.thread_id = 2**32 - 1
    dev.thread_names[7] = "worker"
    md.partition_graphs.append(_sample_graph())
    assert md.HasField("step_stats") and not md.HasField("cost_graph")
    md2 = RunMetadata.FromString(md.SerializeToString())
    assert md2 == md and md2.step_stats.dev_stats[0].node_stats[0].thread_id == 2**32 - 1
    assert isinstance(md2.step_stats, StepStats)
    cost = b"\x0a\x02\x0a\x00"
    md3 = RunMetadata.FromString(b"\x12" + bytes([len(cost)]) + cost)
    assert md3.HasField("cost_graph") and md3.SerializeToString() == b"\x12\x04" + cost


# -- numpy bridges ------------------------------------------------------------------------------

NUMERIC_DTYPES = [
    np.float32,
    np.float64,
    np.float16,
    np.int8,
    np.int16,
    np.int32,
    np.int64,
    np.uint8,
    np.uint16,
    np.uint32,
    np.uint64,
    np.bool_,
    np.complex64,
    np.complex128,
]


@pytest.mark.parametrize("dtype", NUMERIC_DTYPES)
@pytest.mark.parametrize("shape", [(), (0,), (3,), (2, 3), (2, 0, 4)])
def test_tensor_proto_round_trip(dtype, shape):
    rng = np.random.default_rng(0)
    arr = (rng.standard_normal(shape) * 50).astype(dtype)
    if np.dtype(dtype).kind == "c":
        arr = arr + 1j * np.asarray(rng.standard_normal(shape), dtype=dtype)
    tp = make_tensor_proto(arr)
    assert tp.dtype == numpy_dtype_to_datatype(dtype)
    assert [d.size for d in tp.tensor_shape.dim] == list(shape)
    assert tp.HasField("tensor_shape")  # also for scalars, like TensorFlow
    out = tensor_proto_to_ndarray(TensorProto.FromString(tp.SerializeToString()))
    assert out.dtype == np.dtype(dtype) and out.shape == shape
    np.testing.assert_array_equal(out, arr)
    assert out.flags.writeable


def test_make_tensor_proto_layout():
    tp = make_tensor_proto(np.array([1.0, 2.0], dtype=np.float32))
    assert tp.tensor_content == np.array([1.0, 2.0], dtype="<f4").tobytes()
    big_endian = np.array([1, 2], dtype=">i4")
    assert make_tensor_proto(big_endian).tensor_content == np.array([1, 2], "<i4").tobytes()
    tp = make_tensor_proto(np.array([True, False]))
    assert list(tp.bool_val) == [True, False] and tp.tensor_content == b""
    tp = make_tensor_proto(3.0, dtype=DT_FLOAT)
    assert tp.dtype == DT_FLOAT and len(tp.tensor_shape.dim) == 0
    tp = make_tensor_proto(7, dtype=np.int32, shape=(2, 2))
    np.testing.assert_array_equal(tensor_proto_to_ndarray(tp), np.full((2, 2), 7, np.int32))
    with pytest.raises(ValueError):
        make_tensor_proto([1, 2], shape=(3,))


@pytest.mark.parametrize(
    "values",
    [
        ["a", "bc"],
        [b"\x00\xff", b""],
        np.array([["x", "é"]]),
        "scalar",
        np.array([], dtype=object),
    ],
)
def test_string_tensors(values):
    tp = make_tensor_proto(values)
    assert tp.dtype == DT_STRING and tp.tensor_content == b""
    out = tensor_proto_to_ndarray(TensorProto.FromString(tp.SerializeToString()))
    expected = np.asarray(values, dtype=object)
    assert out.dtype == object and out.shape == expected.shape
    for got, want in zip(out.ravel(), expected.ravel()):
        assert got == (want.encode() if isinstance(want, str) else want)
    with pytest.raises(TypeError):
        make_tensor_proto(np.array([1, "a"], dtype=object))


def _typed(dtype: int, shape: tuple[int, ...], **vals) -> TensorProto:
    tp = TensorProto(dtype=dtype, **vals)
    tp.tensor_shape.SetInParent()
    for d in shape:
        tp.tensor_shape.dim.add(size=d)
    return tp


@pytest.mark.parametrize(
    ("tp", "expected"),
    [
        (_typed(DT_FLOAT, (2, 2), float_val=[1.5]), np.full((2, 2), 1.5, np.float32)),
        (_typed(DT_FLOAT, (3,), float_val=[1.0, 2.0]), np.array([1, 2, 2], np.float32)),
        (_typed(DT_FLOAT, (2,)), np.zeros(2, np.float32)),
        (_typed(DT_DOUBLE, (), double_val=[2.5]), np.array(2.5)),
        (_typed(DT_INT32, (3,), int_val=[-1, 0, 5]), np.array([-1, 0, 5], np.int32)),
        (_typed(graph_def.DT_UINT8, (2,), int_val=[255]), np.array([255, 255], np.uint8)),
        (_typed(graph_def.DT_INT8, (1,), int_val=[-128]), np.array([-128], np.int8)),
        (_typed(graph_def.DT_INT16, (2,), int_val=[-3, 3]), np.array([-3, 3], np.int16)),
        (_typed(graph_def.DT_UINT16, (1,), int_val=[65535]), np.array([65535], np.uint16)),
        (_typed(graph_def.DT_INT64, (2,), int64_val=[-(2**63)]), np.full(2, -(2**63))),
        (_typed(graph_def.DT_UINT32, (1,), uint32_val=[2**32 - 1]), np.array([2**32 - 1], "u4")),
        (_typed(graph_def.DT_UINT64, (1,), uint64_val=[2**64 - 1]), np.array([2**64 - 1], "u8")),
        (_typed(DT_BOOL, (3,), bool_val=[True]), np.ones(3, bool)),
        (
            _typed(DT_HALF, (2,), half_val=[int(np.float16(1.5).view(np.uint16)), 0x7C00]),
            np.array([1.5, np.inf], np.float16),
        ),
        (_typed(DT_HALF, (3,), half_val=[0xBC00]), np.full(3, -1.0, np.float16)),
        (
            _typed(graph_def.DT_COMPLEX64, (2,), scomplex_val=[1.0, -2.0]),
            np.array([1 - 2j, 1 - 2j], np.complex64),
        ),
        (
            _typed(graph_def.DT_COMPLEX128, (2,), dcomplex_val=[1.0, 2.0, 3.0, 4.0]),
            np.array([1 + 2j, 3 + 4j]),
        ),
        (_typed(DT_STRING, (2, 2), string_val=[b"s"]), np.full((2, 2), b"s", dtype=object)),
        (_typed(DT_STRING, (2,)), np.array([b"", b""], dtype=object)),
        (_typed(graph_def.DT_INT32_REF, (1,), int_val=[4]), np.array([4], np.int32)),
    ],
)
def test_typed_val_fields_and_broadcast(tp, expected):
    out = tensor_proto_to_ndarray(TensorProto.FromString(tp.SerializeToString()))
    assert out.dtype == expected.dtype and out.shape == expected.shape
    np.testing.assert_array_equal(out, expected)


def test_tensor_proto_errors():
    with pytest.raises(ValueError):
        tensor_proto_to_ndarray(_typed(DT_FLOAT, (1,), float_val=[1.0, 2.0]))
    with pytest.raises(ValueError):
        tensor_proto_to_ndarray(_typed(DT_FLOAT, (3,), tensor_content=b"\x00" * 8))
    with pytest.raises(ValueError):
        tensor_proto_to_ndarray(_typed(DT_FLOAT, (-1,)))
    with pytest.raises(TypeError):
        tensor_proto_to_ndarray(_typed(graph_def.DT_RESOURCE, ()))


def test_dtype_mappings():
    for dtype in NUMERIC_DTYPES:
        dt = numpy_dtype_to_datatype(dtype)
        assert datatype_to_numpy_dtype(dt) == np.dtype(dtype)
        assert datatype_to_numpy_dtype(dt + 100) == np.dtype(dtype)  # *_REF
    assert numpy_dtype_to_datatype(np.dtype(object)) == DT_STRING
    assert numpy_dtype_to_datatype("U3") == DT_STRING == numpy_dtype_to_datatype("S2")
    assert datatype_to_numpy_dtype(DT_STRING) == np.dtype(object)
    assert numpy_dtype_to_datatype(np.dtype(">f4")) == DT_FLOAT
    with pytest.raises(TypeError):
        numpy_dtype_to_datatype(np.dtype("datetime64[s]"))
    with pytest.raises(TypeError):
        datatype_to_numpy_dtype(graph_def.DT_VARIANT)


# -- cross-checks against protobuf / TensorFlow (optional) -------------------------------------


def _file_descriptor():
    descriptor_pb2 = pytest.importorskip("google.protobuf.descriptor_pb2")
    fdp = descriptor_pb2.FieldDescriptorProto
    fproto = descriptor_pb2.FileDescriptorProto(name="tf_subset.proto", package="tensorflow")
    fproto.syntax = "proto3"
    containers: dict[str, object] = {"": fproto}
    for name in sorted(TF_MESSAGES, key=lambda n: n.count(".")):
        parent, _, short = name.rpartition(".")
        owner = containers[parent]
        containers[name] = (
            owner.message_type.add(name=short)
            if parent == ""
            else owner.nested_type.add(name=short)
        )
    for name, values in TF_ENUMS.items():
        parent, _, short = name.rpartition(".")
        owner = containers[parent]
        enum = owner.enum_type.add(name=short)
        for value_name, number in values.items():
            enum.value.add(name=value_name, number=number)

    def set_type(fd, spec_type: str, scope: str) -> None:
        kind, target = _kind_of(spec_type, scope)
        if kind in SCALARS:
            fd.type = getattr(fdp, "TYPE_" + kind.upper())
        else:
            fd.type = fdp.TYPE_ENUM if kind == "enum" else fdp.TYPE_MESSAGE
            fd.type_name = f".tensorflow.{target}"

    for name, fields in TF_MESSAGES.items():
        msg = containers[name]
        oneofs: dict[str, int] = {}
        for number, spec in fields.items():
            fd = msg.field.add(name=spec["name"], number=number)
            fd.label = fdp.LABEL_REPEATED if spec["repeated"] else fdp.LABEL_OPTIONAL
            if spec.get("kind") == "map":
                entry = msg.nested_type.add(name="".join(p.title() for p in fd.name.split("_")))
                entry.name += "Entry"
                entry.options.map_entry = True
                for number_, field_name, type_name in (
                    (1, "key", spec["key"]),
                    (2, "value", spec["type"]),
                ):
                    entry_field = entry.field.add(name=field_name, number=number_)
                    entry_field.label = fdp.LABEL_OPTIONAL
                    set_type(entry_field, type_name, name)
                fd.label, fd.type = fdp.LABEL_REPEATED, fdp.TYPE_MESSAGE
                fd.type_name = f".tensorflow.{name}.{entry.name}"
                continue
            set_type(fd, spec["type"], spec["scope"])
            if spec["oneof"] is not None:
                if spec["oneof"] not in oneofs:
                    oneofs[spec["oneof"]] = len(msg.oneof_decl)
                    msg.oneof_decl.add(name=spec["oneof"])
                fd.oneof_index = oneofs[spec["oneof"]]
    return fproto


@pytest.fixture(scope="module")
def pb():
    pytest.importorskip("google.protobuf")
    from google.protobuf import descriptor_pool, message_factory

    pool = descriptor_pool.DescriptorPool()
    pool.Add(_file_descriptor())

    def get(name: str):
        return message_factory.GetMessageClass(pool.FindMessageTypeByName(f"tensorflow.{name}"))

    return get


def _samples() -> list[Message]:
    config = ConfigProto(device_count={"CPU": 1}, log_device_placement=True)
    config.gpu_options.visible_device_list = "0,1"
    config.graph_options.optimizer_options.global_jit_level = OptimizerOptions.OFF
    config.experimental.executor_type = "X"
    md = RunMetadata()
    md.step_stats.dev_stats.add(device="cpu").node_stats.add(node_name="n", scheduled_nanos=5)
    md.partition_graphs.append(_sample_graph())
    md.cost_graph.SetInParent()
    return [
        _sample_graph(),
        make_tensor_proto(np.arange(4.0).reshape(2, 2)),
        make_tensor_proto(np.array(["a", "b"])),
        _typed(DT_HALF, (2,), half_val=[15360, 0]),
        config,
        RunOptions(trace_level=RunOptions.FULL_TRACE, inter_op_thread_pool=-1),
        md,
    ]


@pytest.mark.parametrize("index", range(7))
def test_bytes_equal_protobuf(pb, index):
    from google.protobuf import text_format

    ours = _samples()[index]
    cls = pb(type(ours).__qualname__)
    data = ours.SerializeToString()
    theirs = cls.FromString(data)
    assert theirs.SerializeToString(deterministic=True) == data
    assert type(ours).FromString(theirs.SerializeToString()) == ours
    assert text_format.Parse(str(ours), cls()) == theirs
    assert str(ours) == text_format.MessageToString(theirs)  # same text format, too
    # And the other way round: a message built with protobuf reads back identically.
    rebuilt = cls()
    text_format.Parse(text_format.MessageToString(theirs), rebuilt)
    assert type(ours).FromString(rebuilt.SerializeToString(deterministic=True)) == ours


def test_protobuf_built_graph_reads_back(pb):
    node_cls = pb("NodeDef")
    n = node_cls(name="a", op="Const", input=["b", "^c"])
    n.attr["dtype"].type = DT_FLOAT
    n.attr["value"].tensor.dtype = DT_FLOAT
    n.attr["value"].tensor.float_val.append(2.0)
    n.attr["value"].tensor.tensor_shape.dim.add(size=3)
    n.attr["list"].list.f.extend([1.0, 2.0])
    ours = NodeDef.FromString(n.SerializeToString())
    assert ours.attr["list"].list.f == [1.0, 2.0]
    np.testing.assert_array_equal(tensor_proto_to_ndarray(ours.attr["value"].tensor), [2, 2, 2])
    assert ours.SerializeToString() == n.SerializeToString(deterministic=True)


def test_tensorflow_reads_our_graph_def():
    tf = pytest.importorskip("tensorflow")
    g = _sample_graph()
    tf_graph_def = tf.compat.v1.GraphDef.FromString(g.SerializeToString())
    assert [n.name for n in tf_graph_def.node] == [n.name for n in g.node]
    assert tf_graph_def.SerializeToString(deterministic=True) == g.SerializeToString()
    value = tf.make_ndarray(tf_graph_def.node[0].attr["value"].tensor)
    np.testing.assert_array_equal(value, np.arange(6, dtype=np.float32))
    tf_config = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=2)
    tf_config.gpu_options.allow_growth = True
    ours = ConfigProto.FromString(tf_config.SerializeToString())
    assert ours.intra_op_parallelism_threads == 2 and ours.gpu_options.allow_growth
    assert ours.SerializeToString() == tf_config.SerializeToString(deterministic=True)
    tp = tf.make_tensor_proto(np.array([[1, 2]], np.int64))
    np.testing.assert_array_equal(
        tensor_proto_to_ndarray(TensorProto.FromString(tp.SerializeToString())), [[1, 2]]
    )


def test_field_decl_types_are_fields():
    # Guard for the schema test: every declared field is a protowire Field.
    for cls in OUR_CLASSES.values():
        assert all(isinstance(f, Field) for f in cls.FIELDS)
    assert TensorShapeProto.Dim.__qualname__ == "TensorShapeProto.Dim"
    assert isinstance(StepStats(), Message)
