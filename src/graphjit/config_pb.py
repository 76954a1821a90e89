"""TensorFlow's session configuration and run-metadata messages, wire-compatible with TF.

Field names and numbers follow ``tensorflow/core/protobuf/config.proto`` and
``tensorflow/core/framework/step_stats.proto``.  Only the commonly used fields are modelled;
others read from TensorFlow-written bytes are kept as raw bytes and written back unchanged.
Unknown keyword arguments raise ValueError, e.g. ``ConfigProto(no_such_option=1)``.
"""

from __future__ import annotations

from graphjit.graph_def import GraphDef
from graphjit.protowire import EnumType, Field, Message

__all__ = [
    "ConfigProto",
    "CostGraphDef",
    "DeviceStepStats",
    "GPUOptions",
    "GraphOptions",
    "NodeExecStats",
    "OptimizerOptions",
    "RunMetadata",
    "RunOptions",
    "SessionMetadata",
    "StepStats",
    "ThreadPoolOptionProto",
]


class _Opaque(Message):
    """A message whose contents are not modelled: kept as raw bytes, re-emitted verbatim."""


class GPUOptions(Message):
    """``tensorflow.GPUOptions``: options applying to all GPUs."""

    class Experimental(_Opaque):
        """``GPUOptions.Experimental`` (opaque)."""

    FIELDS = (
        Field(1, "per_process_gpu_memory_fraction", "double"),
        Field(2, "allocator_type", "string"),
        Field(3, "deferred_deletion_bytes", "int64"),
        Field(4, "allow_growth", "bool"),
        Field(5, "visible_device_list", "string"),
        Field(6, "polling_active_delay_usecs", "int32"),
        Field(7, "polling_inactive_delay_msecs", "int32"),
        Field(8, "force_gpu_compatible", "bool"),
        Field(9, "experimental", "message", msg=Experimental),
    )


class OptimizerOptions(Message):
    """``tensorflow.OptimizerOptions``: graph optimizer switches.

    Enums ``Level`` (``L1=0``, ``L0=-1``) and ``GlobalJitLevel`` (``DEFAULT=0``, ``OFF=-1``,
    ``ON_1=1``, ``ON_2=2``) and their values are class attributes (``OptimizerOptions.L0``).
    """

    ENUMS = (
        EnumType("Level", {"L1": 0, "L0": -1}),
        EnumType("GlobalJitLevel", {"DEFAULT": 0, "OFF": -1, "ON_1": 1, "ON_2": 2}),
    )
    FIELDS = (
        Field(1, "do_common_subexpression_elimination", "bool"),
        Field(2, "do_constant_folding", "bool"),
        Field(3, "opt_level", "enum", enum=ENUMS[0]),
        Field(4, "do_function_inlining", "bool"),
        Field(5, "global_jit_level", "enum", enum=ENUMS[1]),
        Field(6, "max_folded_constant_in_bytes", "int64"),
        Field(7, "cpu_global_jit", "bool"),
    )


class GraphOptions(Message):
    """``tensorflow.GraphOptions``: options applying to all graphs of a session."""

    class RewriterConfig(_Opaque):
        """``tensorflow.RewriterConfig`` (opaque)."""

    FIELDS = (
        Field(2, "enable_recv_scheduling", "bool"),
        Field(3, "optimizer_options", "message", msg=OptimizerOptions),
        Field(4, "build_cost_model", "int64"),
        Field(5, "infer_shapes", "bool"),
        Field(6, "place_pruned_graph", "bool"),
        Field(7, "enable_bfloat16_sendrecv", "bool"),
        Field(8, "timeline_step", "int32"),
        Field(9, "build_cost_model_after", "int64"),
        Field(10, "rewrite_options", "message", msg=RewriterConfig),
    )


class ThreadPoolOptionProto(Message):
    """``tensorflow.ThreadPoolOptionProto``: one session inter-op thread pool."""

    FIELDS = (Field(1, "num_threads", "int32"), Field(2, "global_name", "string"))


class SessionMetadata(Message):
    """``tensorflow.SessionMetadata``: name and version of a session."""

    FIELDS = (Field(1, "name", "string"), Field(2, "version", "int64"))


class ConfigProto(Message):
    """``tensorflow.ConfigProto``: session configuration."""

    class Experimental(Message):
        """``ConfigProto.Experimental`` (a few fields; the rest is kept as raw bytes)."""

        FIELDS = (
            Field(1, "collective_group_leader", "string"),
            Field(3, "executor_type", "string"),
            Field(9, "disable_thread_spinning", "bool"),
            Field(11, "session_metadata", "message", msg=SessionMetadata),
            Field(12, "optimize_for_static_graph", "bool"),
        )

    FIELDS = (
        Field(1, "device_count", "map", value="int32"),
        Field(2, "intra_op_parallelism_threads", "int32"),
        Field(3, "placement_period", "int32"),
        Field(4, "device_filters", "string", repeated=True),
        Field(5, "inter_op_parallelism_threads", "int32"),
        Field(6, "gpu_options", "message", msg=GPUOptions),
        Field(7, "allow_soft_placement", "bool"),
        Field(8, "log_device_placement", "bool"),
        Field(9, "use_per_session_threads", "bool"),
        Field(10, "graph_options", "message", msg=GraphOptions),
        Field(11, "operation_timeout_in_ms", "int64"),
        Field(
            12, "session_inter_op_thread_pool", "message", repeated=True, msg=ThreadPoolOptionProto
        ),
        # 13: rpc_options, 14: cluster_def are kept as unknown bytes.
        Field(15, "isolate_session_state", "bool"),
        Field(16, "experimental", "message", msg=Experimental),
        Field(17, "share_cluster_devices_in_session", "bool"),
    )


class RunOptions(Message):
    """``tensorflow.RunOptions``: options of one ``Session.run`` call.

    ``RunOptions.TraceLevel`` is the enum ``NO_TRACE=0, SOFTWARE_TRACE=1, HARDWARE_TRACE=2,
    FULL_TRACE=3``; the values are also class attributes (``RunOptions.FULL_TRACE``).
    """

    class DebugOptions(_Opaque):
        """``tensorflow.DebugOptions`` (opaque)."""

    class Experimental(Message):
        """``RunOptions.Experimental`` (a few fields; the rest is kept as raw bytes)."""

        FIELDS = (
            Field(1, "collective_graph_key", "int64"),
            Field(2, "use_run_handler_pool", "bool"),
        )

    ENUMS = (
        EnumType(
            "TraceLevel",
            {"NO_TRACE": 0, "SOFTWARE_TRACE": 1, "HARDWARE_TRACE": 2, "FULL_TRACE": 3},
        ),
    )
    FIELDS = (
        Field(1, "trace_level", "enum", enum=ENUMS[0]),
        Field(2, "timeout_in_ms", "int64"),
        Field(3, "inter_op_thread_pool", "int32"),
        Field(5, "output_partition_graphs", "bool"),
        Field(6, "debug_options", "message", msg=DebugOptions),
        Field(7, "report_tensor_allocations_upon_oom", "bool"),
        Field(8, "experimental", "message", msg=Experimental),
    )


class NodeExecStats(Message):
    """``tensorflow.NodeExecStats``: timing of one node execution (memory stats not modelled)."""

    FIELDS = (
        Field(1, "node_name", "string"),
        Field(2, "all_start_micros", "int64"),
        Field(3, "op_start_rel_micros", "int64"),
        Field(4, "op_end_rel_micros", "int64"),
        Field(5, "all_end_rel_micros", "int64"),
        Field(8, "timeline_label", "string"),
        Field(9, "scheduled_micros", "int64"),
        Field(10, "thread_id", "uint32"),
        Field(13, "all_start_nanos", "int64"),
        Field(14, "op_start_rel_nanos", "int64"),
        Field(15, "op_end_rel_nanos", "int64"),
        Field(16, "all_end_rel_nanos", "int64"),
        Field(17, "scheduled_nanos", "int64"),
    )


class DeviceStepStats(Message):
    """``tensorflow.DeviceStepStats``: the node stats of one device."""

    FIELDS = (
        Field(1, "device", "string"),
        Field(2, "node_stats", "message", repeated=True, msg=NodeExecStats),
        Field(3, "thread_names", "map", key="uint32", value="string"),
    )


class StepStats(Message):
    """``tensorflow.StepStats``: per-device execution statistics of one step."""

    FIELDS = (Field(1, "dev_stats", "message", repeated=True, msg=DeviceStepStats),)


class CostGraphDef(_Opaque):
    """``tensorflow.CostGraphDef`` (opaque: contents kept as raw bytes)."""


class RunMetadata(Message):
    """``tensorflow.RunMetadata``: non-tensor outputs of one ``Session.run`` call."""

    class FunctionGraphs(Message):
        """Graphs of one traced function."""

        FIELDS = (
            Field(1, "partition_graphs", "message", repeated=True, msg=GraphDef),
            Field(2, "pre_optimization_graph", "message", msg=GraphDef),
            Field(3, "post_optimization_graph", "message", msg=GraphDef),
        )

    FIELDS = (
        Field(1, "step_stats", "message", msg=StepStats),
        Field(2, "cost_graph", "message", msg=CostGraphDef),
        Field(3, "partition_graphs", "message", repeated=True, msg=GraphDef),
        Field(4, "function_graphs", "message", repeated=True, msg=FunctionGraphs),
        Field(5, "session_metadata", "message", msg=SessionMetadata),
    )
