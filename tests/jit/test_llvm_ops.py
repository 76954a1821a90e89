"""The registry's op tests of ``test_ops_compiled`` again, with llvmlite compiling the chains.

``GRAPHJIT_LLVM=only`` (here :func:`config.override`) makes llvmlite's lowering of the
generated segments (:mod:`graphjit.llvm_lower`) the compiled path, so every lowered
elementwise op, every reduction and the rank-0 cases are checked compiled == interpreted
(== numpy kernel) for that compiler too. L1 is cleared on the way in and out: its key does
not name the compiler, and the other modules expect numba's chains.
"""

from __future__ import annotations

import pytest
from tests.jit import test_ops_compiled as base

import graphjit
from graphjit import config, jit, kernels_rows


@pytest.fixture(scope="module", autouse=True)
def llvm_only():
    jit.clear_l1()
    kernels_rows._impls.clear()
    before = graphjit.cache_stats()
    with config.override(llvm="only"):
        yield before
    jit.clear_l1()
    kernels_rows._impls.clear()


# the module-scoped graphs are rebuilt (and compiled) under the override
elementwise = base.elementwise
scalars = base.scalars
reductions = base.reductions
_cases = base._cases

test_elementwise_compiled_matches_interpreter_and_numpy = (
    base.test_elementwise_compiled_matches_interpreter_and_numpy
)
test_numpy_kernel_agrees_with_compiled_for_float_binary_ops = (
    base.test_numpy_kernel_agrees_with_compiled_for_float_binary_ops
)
test_rank0_results_are_numpy_scalars_like_interpreter = (
    base.test_rank0_results_are_numpy_scalars_like_interpreter
)
test_reductions_compiled_match_interpreter = base.test_reductions_compiled_match_interpreter


def test_every_chain_of_this_module_was_compiled_by_llvmlite(llvm_only):
    """Nothing above fell back to numba: the lowering covers every op these tests build."""
    now = graphjit.cache_stats()
    assert now["llvm"]["chains"] > llvm_only["llvm"]["chains"]
    assert now["llvm"]["unsupported"] == llvm_only["llvm"]["unsupported"]
    assert now["llvm"]["failures"] == llvm_only["llvm"]["failures"]
    # numba neither compiled nor loaded a chain for this module
    assert now["compiles"] == llvm_only["compiles"]
    assert now["l2"]["hits"] == llvm_only["l2"]["hits"]
