"""``tf.train``: optimizers, learning-rate schedules, the global step and checkpoints."""

from __future__ import annotations

from .global_step import (
    assert_global_step,
    create_global_step,
    get_global_step,
    get_or_create_global_step,
)
from .meta_graph import export_meta_graph, import_meta_graph, read_meta_graph_file
from .meta_graph_pb import SaverDef
from .optimizer import Optimizer
from .optimizers import (
    AdadeltaOptimizer,
    AdagradOptimizer,
    AdamOptimizer,
    GradientDescentOptimizer,
    MomentumOptimizer,
    RMSPropOptimizer,
)
from .saver import (
    CheckpointState,
    Saver,
    checkpoint_exists,
    get_checkpoint_state,
    latest_checkpoint,
    list_variables,
    load_variable,
    update_checkpoint_state,
)
from .schedules import exponential_decay, piecewise_constant, polynomial_decay
from .summary import summary_iterator

__all__ = [
    "AdadeltaOptimizer",
    "AdagradOptimizer",
    "AdamOptimizer",
    "CheckpointState",
    "GradientDescentOptimizer",
    "MomentumOptimizer",
    "Optimizer",
    "RMSPropOptimizer",
    "Saver",
    "SaverDef",
    "assert_global_step",
    "checkpoint_exists",
    "create_global_step",
    "exponential_decay",
    "export_meta_graph",
    "get_checkpoint_state",
    "get_global_step",
    "get_or_create_global_step",
    "import_meta_graph",
    "latest_checkpoint",
    "list_variables",
    "load_variable",
    "piecewise_constant",
    "polynomial_decay",
    "read_meta_graph_file",
    "summary_iterator",
    "update_checkpoint_state",
]
