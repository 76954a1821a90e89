"""Control-flow branches and loop bodies in GraphDefs, as TF's ``FunctionDefLibrary``.

graphjit keeps the branches of ``If`` and the cond/body of ``While`` as
:class:`~graphjit.ops.control_flow.SubGraph` attrs over ops that live in the graph but are
owned by the control-flow node. TensorFlow serializes them as functions: the node's
``then_branch``/``body`` attr names a ``FunctionDef`` of ``GraphDef.library``.

Export (:class:`LibraryWriter`): each SubGraph becomes one FunctionDef. Its arguments are the
SubGraph's feeds (captured outer tensors, loop-variable placeholders), its outputs the fetches,
its body the owned ops they need (node names kept, so a re-import restores them), and its
stateful ops become ``control_ret`` entries (they run whenever the branch runs, as in TF2).
Inside a function a tensor is named by its op's OpDef output arg (``"add:z:0"``), so
:data:`_OUT_ARGS` lists TF's output arg names. graphjit's ``While`` differs from TF's in two
ways that export rewrites: captured tensors become extra loop variables passed through by the
body, and ``maximum_iterations`` becomes a last int32 loop variable counting down
(``cond = remaining > 0 && cond``, ``body: remaining - 1``). Both land after the user's loop
variables, so output ``k`` of the node keeps its meaning. A gradient's forward loop, whose
kernel keeps per-iteration lists, is written as TF's while_v2 writes one: its iteration count
and one ``EmptyTensorList`` per accumulated tensor become loop variables right after the
user's (outputs ``n`` and ``n + 1 + k`` as in graphjit), and the body counts and
``TensorListPushBack``s; graphjit's import runs those ops as interpreted links.

Import (:class:`LibraryReader`): a function body is imported into a control-flow *frame*,
exactly as ``tf.cond``/``tf.while_loop`` build one: If arguments bind to the node's input
tensors (so gradients through an imported cond still reach them), While arguments to new
``loop_var`` placeholders. Body nodes keep their names unless one clashes with a top-level
node of the GraphDef (TF's function-local names), which then goes under the control-flow
node's name. Functions written by TensorFlow import too, as long as graphjit has their ops.

A branch that updates a TF1 ref variable (``v.assign_add`` inside ``tf.cond``; TF itself
refuses this) cannot pass the variable as an argument: TF functions take no reference types.
Its function gets a ``VariableV2`` node with the outer variable's ``shared_name`` instead
(:func:`_variable_alias`), which TF's resource manager and graphjit's import both resolve to
the outer variable.
"""

from __future__ import annotations

import re

import numpy as np

from . import dtypes as _dt
from .graph_def import AttrValue, FunctionDef, FunctionDefLibrary, NameAttrList
from .graph_io import attr_to_proto, create_node, node_def_of, topological_order
from .ops import control_flow as cf
from .shapes import TensorShape

IF_TYPES = frozenset({"If", "StatelessIf"})
WHILE_TYPES = frozenset({"While", "StatelessWhile"})
CF_TYPES = IF_TYPES | WHILE_TYPES

# TF's OpDef output arg names (checked against TensorFlow by tests/diff/test_diff_meta_graph.py).
# An op with one output arg (single tensor or list) maps to a str; an op with several
# single-tensor output args to a tuple. Op types not listed use "output".
_OUT_ARG_GROUPS = {
    "y": "Abs Acos Acosh Asin Asinh Atan Atanh Cast Ceil Cos Cosh Digamma Erf Erfc Exp Expm1 "
    "Floor Inv InvertPermutation IsFinite IsInf IsNan Lgamma Log Log1p LogicalNot Neg OnesLike "
    "Reciprocal Rint Round Rsqrt Sigmoid Sign Sin Sinh Sqrt Square Tan Tanh Transpose "
    "ZerosLike",
    "z": "Add AddV2 Atan2 BitwiseAnd BitwiseOr BitwiseXor Div DivNoNan Equal FloorDiv FloorMod "
    "Greater GreaterEqual Less LessEqual LogicalAnd LogicalOr Maximum Minimum Mod Mul MulNoNan "
    "NotEqual Pow RealDiv ReciprocalGrad RsqrtGrad SigmoidGrad SqrtGrad SquaredDifference Sub "
    "TanhGrad TruncateDiv TruncateMod Xdivy Xlogy",
    "output_ref": "Assign AssignAdd AssignSub ScatterAdd ScatterDiv ScatterMax ScatterMin "
    "ScatterMul ScatterSub ScatterUpdate",
    "activations": "Elu LeakyRelu Relu Relu6 Selu Softplus Softsign",
    "backprops": "EluGrad LeakyReluGrad Relu6Grad ReluGrad SeluGrad SoftplusGrad SoftsignGrad",
    "summary": "AudioSummaryV2 HistogramSummary ImageSummary MergeSummary ScalarSummary "
    "TensorSummaryV2",
    "out": "ApplyAdagrad ApplyAdam ApplyGradientDescent ApplyMomentum ApplyRMSProp Cumprod Cumsum",
    "diagonal": "DiagPart MatrixDiagPart",
    "sum": "AddN",
    "product": "MatMul",
    "value": "GetSessionTensor",
    "precision": "InTopKV2",
    "is_initialized": "IsVariableInitialized",
    "logsoftmax": "LogSoftmax",
    "softmax": "Softmax",
    "ref": "VariableV2",
    "index": "Where",
    "item": "TensorListGetItem",
    "handle": "EmptyTensorList GetSessionHandle TensorListReserve",
    "output_handle": "TensorListFromTensor TensorListPushBack TensorListSetItem",
    "tensor": "TensorListStack",
    "length": "TensorListLength",
}
_OUT_ARGS: dict[str, str | tuple[str, ...]] = {
    op: arg for arg, ops in _OUT_ARG_GROUPS.items() for op in ops.split()
}
_OUT_ARGS.update(
    {
        "BroadcastGradientArgs": ("r0", "r1"),
        "BroadcastArgs": ("r0",),
        "ListDiff": ("out", "idx"),
        "SoftmaxCrossEntropyWithLogits": ("loss", "backprop"),
        "SparseSoftmaxCrossEntropyWithLogits": ("loss", "backprop"),
        "TopKV2": ("values", "indices"),
        "Unique": ("y", "idx"),
        "StringSplit": ("indices", "values", "shape"),
        "StringSplitV2": ("indices", "values", "shape"),
        "TensorListPopBack": ("output_handle", "tensor"),
        "Qr": ("q", "r"),
        "Svd": ("s", "u", "v"),
        "SelfAdjointEigV2": ("e", "v"),
    }
)


def output_arg_ref(op_type: str, index: int) -> tuple[str, int]:
    """``(output arg name, index within it)`` of flat output ``index`` of an op type."""
    entry = _OUT_ARGS.get(op_type, "output")
    if isinstance(entry, tuple):
        if index >= len(entry):
            raise ValueError(f"{op_type} has no output {index}")
        return entry[index], 0
    return entry, index


def output_arg_index(op_type: str, arg: str, index: int) -> int:
    """Flat output index of ``"<node>:<arg>:<index>"`` for a node of ``op_type``."""
    entry = _OUT_ARGS.get(op_type)
    if isinstance(entry, tuple):
        if arg not in entry:
            raise ValueError(f"{op_type} has no output arg '{arg}' (it has {', '.join(entry)})")
        return entry.index(arg) + index
    return index


def _func_name(name: str) -> str:
    # TF function names must not clash with op names and are written into node names by
    # some tools; keep them to [A-Za-z0-9_].
    return re.sub(r"[^A-Za-z0-9_]", "_", name) or "function"


# ---------------------------------------------------------------------------------- export
class LibraryWriter:
    """Collects the FunctionDefs of the control-flow nodes of one GraphDef export."""

    def __init__(self, add_shapes: bool = False):
        self.library = FunctionDefLibrary()
        self._add_shapes = add_shapes
        self._names: dict[tuple, str] = {}
        self._used: set[str] = set()
        self.aliased: dict[str, str] = {}  # outer variable name -> its shared_name

    def share_variables(self, graph_def) -> None:
        """Give aliased variables an explicit ``shared_name``, so that TF still resolves the
        outer node and its function aliases to one variable when imported under a scope."""
        for nd in graph_def.node:
            if nd.op == "VariableV2" and nd.name in self.aliased:
                nd.attr["shared_name"].CopyFrom(AttrValue(s=self.aliased[nd.name].encode()))

    def node_def(self, op, ref, cref, helpers=None, ref_node=None):
        """The NodeDef of control-flow ``op`` (inputs named by ``ref``, controls by ``cref``).

        A gradient's forward While needs initial values for its accumulators: those nodes
        are appended to ``helpers`` (the GraphDef's or the enclosing function's nodes), and
        ``ref_node(name, output_arg)`` names their outputs in that scope.
        """
        nd = node_def_of(op, self._add_shapes, ref=ref, cref=cref)
        attrs = op._attrs
        if op.type in IF_TYPES:
            # inputs after the captures are variables a branch reads: dependency edges for
            # gradients only (the function reaches the variable through its alias node)
            ctrl = [x for x in nd.input if x.startswith("^")]
            nd.input = [ref(t) for t in op._inputs[: 1 + len(attrs["Tin"])]] + ctrl
            holes = list(zip(attrs["Tout"], attrs["output_shapes"]))
            for k, (dtype, shape) in enumerate(holes):
                if dtype == _dt.variant:  # an inner loop's accumulated list: its element type
                    ts = (attrs[b].fetches[k] for b in ("then_branch", "else_branch"))
                    elem = _list_element_dtype(next(t for t in ts if t is not None))
                    holes[k] = (dtype, shape, elem)
            shapes, relaxed = list(attrs["output_shapes"]), False
            for key in ("then_branch", "else_branch"):
                sub = attrs[key]
                name = self._function(sub, holes=holes)
                nd.attr[key].CopyFrom(AttrValue(func=NameAttrList(name=name)))
                for k, t in enumerate(sub.fetches):
                    if t is None and not shapes[k].is_fully_defined():
                        shapes[k], relaxed = TensorShape(None), True  # the hole is a scalar
            if relaxed:
                nd.attr["output_shapes"].CopyFrom(attr_to_proto(shapes))
            return nd
        n, caps = len(attrs["T"]), list(attrs.get("Tcaptures", ()))
        has_max = bool(attrs.get("has_maximum_iterations", False))
        extra = attrs["body"].extra
        if len(op._outputs) not in (n, n + 1 + len(extra)):
            raise ValueError(f"Cannot export While node '{op.name}': {len(op._outputs)} outputs")
        inputs = list(op._inputs)
        limit = [inputs.pop(0)] if has_max else []
        # Inputs after the captures are variables the body reads: dependency edges for
        # gradients only (the function reaches the variable through its alias node).
        inputs = inputs[: n + len(caps)]
        ctrl = [x for x in nd.input if x.startswith("^")]
        refs = [ref(t) for t in inputs]
        types = [*attrs["T"], *caps]
        shapes = [*attrs["output_shapes"], *(t.shape for t in inputs[n:])]
        # A gradient's forward loop: its iteration count and accumulated lists become loop
        # variables after the user's (outputs n, n + 1 + k keep their meaning), as TF's
        # while_v2 writes them: a counter from 0 and a TensorListPushBack per iteration.
        n_acc = len(op._outputs) - n - 1 if len(op._outputs) > n else -1  # -1: none
        if len(op._outputs) > n:
            acc_refs = self._accumulator_inits(op, extra, helpers, ref_node)
            refs[n:n] = acc_refs
            types[n:n] = [_dt.int32, *([_dt.variant] * n_acc)]
            shapes[n:n] = [TensorShape([])] * (1 + n_acc)
        loop = (op.name, n, len(caps), has_max, n_acc)
        types += [_dt.int32] if has_max else []
        shapes += [TensorShape([])] if has_max else []
        nd.input = refs + [ref(t) for t in limit] + ctrl
        for key in ("Tcaptures", "has_maximum_iterations"):
            if key in nd.attr:
                del nd.attr[key]
        nd.attr["T"].CopyFrom(attr_to_proto(types))
        nd.attr["output_shapes"].CopyFrom(attr_to_proto(shapes))
        if self._add_shapes:
            nd.attr["_output_shapes"].CopyFrom(attr_to_proto(shapes))
        for key in ("cond", "body"):
            name = self._function(attrs[key], loop=(key, *loop))
            nd.attr[key].CopyFrom(AttrValue(func=NameAttrList(name=name)))
        return nd

    def _unique(self, name: str) -> str:
        base = name = _func_name(name)
        i = 0
        while name in self._used:
            i += 1
            name = f"{base}_{i}"
        self._used.add(name)
        return name

    @staticmethod
    def _accumulator_inits(op, extra, helpers, ref_node) -> list:
        """Nodes (appended to ``helpers``) starting a forward loop's count at 0 and its lists
        empty (``EmptyTensorList``); their output names, in loop-variable order."""
        if helpers is None:
            raise ValueError(f"Cannot export While node '{op.name}': no place for its inputs")
        scope = f"{op.name}/accumulators/"
        _helper_node(helpers, scope + "count", "Const", [], np.int32(0))
        _helper_node(helpers, scope + "minus_one", "Const", [], np.int32(-1))
        out = [ref_node(scope + "count", "output")]
        for k, t in enumerate(extra):
            shape = ref_node(scope + "minus_one", "output")  # unknown element shape, no limit
            _helper_node(helpers, f"{scope}list_{k}", "EmptyTensorList", [shape, shape], t.dtype)
            out.append(ref_node(f"{scope}list_{k}", "handle"))
        return out

    def _function(self, sub, holes=(), loop=None) -> str:
        """Name of the FunctionDef of SubGraph ``sub`` (written on first use)."""
        key = (id(sub), loop)
        if key in self._names:
            return self._names[key]
        name = self._names[key] = self._unique(sub.name)
        self.library.function.append(_FunctionExport(self, sub, name, holes, loop).build())
        return name


class _FunctionExport:
    """Writes one SubGraph as a FunctionDef."""

    def __init__(self, writer, sub, name, holes, loop):
        self.writer, self.sub, self.name, self.holes, self.loop = writer, sub, name, holes, loop
        # A gradient's forward loop: its count and lists are arguments after the loop
        # variables (arg_n, arg_n+1..), the captures' arguments come after them.
        n, shift = (loop[2], loop[5] + 1) if loop is not None and loop[5] >= 0 else (0, 0)
        self.args = {}
        for i, t in enumerate(sub.feeds):
            self.args.setdefault(id(t), f"arg_{i + shift if i >= n else i}")
        self.arg_types = [(f"arg_{i + shift if i >= n else i}", t.dtype)
                          for i, t in enumerate(sub.feeds)]  # fmt: skip
        for j in range(shift):
            self.arg_types.insert(n + j, (f"arg_{n + j}", _dt.int32 if j == 0 else _dt.variant))
        self.feed_ops = {id(t.op) for t in sub.feeds if id(t.op) in sub.ids}
        self.variables = {}  # outer VariableV2 ops used by reference (updates in a branch)
        self.ops = self._collect()

    def _accumulating(self) -> bool:
        """Whether this is the body of a forward loop whose lists are exported."""
        return self.loop is not None and self.loop[0] == "body" and self.loop[5] >= 0

    def _collect(self) -> dict:
        """The owned ops the fetches and targets need, ``id -> op``."""
        sub, found = self.sub, {}
        fetches = [*sub.fetches, *(sub.extra if self._accumulating() else ())]
        stack = [t.op for t in fetches if t is not None and id(t) not in self.args]
        stack += list(sub.targets)
        while stack:
            op = stack.pop()
            if id(op) in found:
                continue
            found[id(op)] = op
            for t in op._inputs:
                if id(t) in self.args:
                    continue
                if id(t.op) not in sub.ids:
                    if t.op.type != "VariableV2":
                        raise ValueError(
                            f"Cannot export the branch/body '{sub.name}' to a FunctionDef: op "
                            f"'{op.name}' ({op.type}) reads the outer tensor '{t.name}', which "
                            "is neither captured nor a variable."
                        )
                    self.variables[id(t.op)] = t.op
                    continue
                stack.append(t.op)
            stack += [c for c in op._control_inputs if id(c) in sub.ids]
        return {k: v for k, v in found.items() if k not in self.feed_ops}

    def ref(self, t) -> str:
        if id(t) in self.args:
            return self.args[id(t)]
        arg, idx = output_arg_ref(t.op.type, t.value_index)
        return f"{t.op.name}:{arg}:{idx}"

    def cref(self, c) -> str | None:
        # Control edges to outer ops were hoisted onto the control-flow node itself.
        return f"^{c.name}" if id(c) in self.ops else None

    def build(self):
        sub, fd = self.sub, FunctionDef()
        sig = fd.signature
        sig.name = self.name
        for arg, dtype in self.arg_types:
            sig.input_arg.add(name=arg, type=dtype.as_datatype_enum)
        for var in self.variables.values():
            fd.node_def.append(_variable_alias(var))
            self.writer.aliased[var.name] = var._attrs.get("shared_name") or var.name
        for op in sorted(self.ops.values(), key=lambda o: o._id):
            if op.type in CF_TYPES:
                nd = self.writer.node_def(op, self.ref, self.cref, fd.node_def, _fn_ref)
                fd.node_def.append(nd)
            else:
                fd.node_def.append(node_def_of(op, self.writer._add_shapes, self.ref, self.cref))
        rets = []
        for k, t in enumerate(sub.fetches):
            if t is None and self.holes[k][0] == _dt.variant:  # an empty list (as TF's cond_v2)
                name = f"{self.name}/empty_{k}"
                shape = self._const(fd, f"{self.name}/minus_one_{k}", np.int32(-1))
                elem = self.holes[k][2]
                _helper_node(fd.node_def, name, "EmptyTensorList", [shape, shape], elem)
                rets.append((f"{name}:handle:0", _dt.variant))
            elif t is None:  # an output only the other branch computes (gradient export)
                dtype, shape = self.holes[k]
                dims = shape.as_list() if shape.is_fully_defined() else []
                zeros = np.zeros(dims, dtype.as_numpy_dtype)
                rets.append((self._const(fd, f"{self.name}/zeros_{k}", zeros), dtype))
            else:
                rets.append((self.ref(t), t.dtype))
        if self.loop is not None:
            rets = self._loop(fd, rets)
        for k, (r, dtype) in enumerate(rets):
            sig.output_arg.add(name=f"output_{k}", type=dtype.as_datatype_enum)
            fd.ret[f"output_{k}"] = r
        for op in sub.targets:
            if id(op) in self.ops and op.name not in fd.control_ret:
                sig.control_output.append(op.name)
                fd.control_ret[op.name] = op.name
        return fd

    def _loop(self, fd, rets):
        """TF's While form: pass captures through, count ``maximum_iterations`` down, and in
        a gradient's forward loop count the iterations and push the accumulated values."""
        kind, op_name, n, ncaps, has_max, n_acc = self.loop
        shift = n_acc + 1 if n_acc >= 0 else 0
        remaining, scope = f"arg_{n + shift + ncaps}", f"{op_name}/{kind}_max_iterations/"
        if has_max:
            fd.signature.input_arg.add(name=remaining, type=_dt.int32.as_datatype_enum)
        if kind == "cond":
            if has_max:
                zero = self._const(fd, scope + "zero", np.int32(0))
                more = self._node(fd, scope + "Greater", "Greater", [remaining, zero])
                (pred, _) = rets[0]
                both = self._node(fd, scope + "LogicalAnd", "LogicalAnd", [more, pred])
                rets = [(both, _dt.bool)]
            return rets
        if len(rets) != n:
            raise ValueError(f"Cannot export loop body '{self.sub.name}': {len(rets)} outputs")
        feeds = self.sub.feeds
        if shift:
            acc = f"{op_name}/body_accumulators/"
            one = self._const(fd, acc + "one", np.int32(1))
            nd = fd.node_def.add(name=acc + "count", op="AddV2", input=[f"arg_{n}", one])
            nd.attr["T"].CopyFrom(attr_to_proto(_dt.int32))
            rets.append((f"{acc}count:z:0", _dt.int32))
            for k, t in enumerate(self.sub.extra):
                nd = fd.node_def.add(name=f"{acc}push_{k}", op="TensorListPushBack",
                                     input=[f"arg_{n + 1 + k}", self.ref(t)])  # fmt: skip
                nd.attr["element_dtype"].CopyFrom(attr_to_proto(t.dtype))
                rets.append((f"{acc}push_{k}:output_handle:0", _dt.variant))
        rets = rets + [(f"arg_{n + shift + j}", feeds[n + j].dtype) for j in range(ncaps)]
        if has_max:
            one = self._const(fd, scope + "one", np.int32(1))
            rets.append((self._node(fd, scope + "Sub", "Sub", [remaining, one]), _dt.int32))
        return rets

    @staticmethod
    def _const(fd, name, value) -> str:
        value = np.asarray(value)
        nd = fd.node_def.add(name=name, op="Const")
        nd.attr["dtype"].CopyFrom(attr_to_proto(_dt.as_dtype(value.dtype)))
        nd.attr["value"].CopyFrom(attr_to_proto(value))
        return f"{name}:output:0"

    @staticmethod
    def _node(fd, name, op_type, inputs) -> str:
        nd = fd.node_def.add(name=name, op=op_type, input=inputs)
        if op_type != "LogicalAnd":
            nd.attr["T"].CopyFrom(attr_to_proto(_dt.int32))
        return f"{name}:{_OUT_ARGS.get(op_type, 'output')}:0"


def _list_element_dtype(t):
    """Element dtype of a ``variant`` tensor that is a forward loop's accumulated list."""
    op = t.op
    if op.type in WHILE_TYPES:
        j = t.value_index - len(op._attrs["T"]) - 1
        extra = op._attrs["body"].extra
        if 0 <= j < len(extra):
            return extra[j].dtype
    if op.type in ("EmptyTensorList", "TensorListPushBack"):
        return op._attrs["element_dtype"]
    return _dt.float32


def _helper_node(nodes, name, op_type, inputs, value) -> None:
    """Append a ``Const`` (``value`` an array) or an ``EmptyTensorList`` (``value`` its element
    dtype) NodeDef to ``nodes``."""
    nd = nodes.add(name=name, op=op_type, input=inputs)
    if op_type == "Const":
        value = np.asarray(value)
        nd.attr["dtype"].CopyFrom(attr_to_proto(_dt.as_dtype(value.dtype)))
        nd.attr["value"].CopyFrom(attr_to_proto(value))
    else:
        nd.attr["element_dtype"].CopyFrom(attr_to_proto(value))
        nd.attr["shape_type"].CopyFrom(attr_to_proto(_dt.int32))


def _fn_ref(name: str, arg: str) -> str:
    """Output 0 of arg ``arg`` of node ``name`` as a function body names it."""
    return f"{name}:{arg}:0"


def _variable_alias(var):
    """A VariableV2 node naming the outer variable ``var`` by ``shared_name``.

    TF functions cannot take reference-typed arguments, so a branch that updates a TF1 ref
    variable gets its own VariableV2 node whose ``shared_name`` is the outer variable's shared
    name (TF's default is the node name): TF's resource manager resolves both nodes to one
    variable, and graphjit's import binds the node back to the outer op.
    """
    nd = node_def_of(var, cref=lambda c: None)
    shared = var._attrs.get("shared_name") or var.name
    nd.attr["shared_name"].CopyFrom(AttrValue(s=shared.encode()))
    return nd


# ---------------------------------------------------------------------------------- import
class LibraryReader:
    """Builds If/While nodes of an imported GraphDef from its function library."""

    TYPES = CF_TYPES

    def __init__(self, library, reserved=frozenset()):
        self.functions = {f.signature.name: f for f in library.function}
        # Top-level node names of the GraphDef being imported: a body node whose name clashes
        # with one (TF's function-local names: "Less", "cond/Identity") goes under its
        # control-flow node's name instead, so it cannot take the top-level node's name.
        self.reserved = reserved

    def _get(self, nd, key):
        attr = nd.attr[key] if key in nd.attr else None
        name = attr.func.name if attr is not None and attr.WhichOneof("value") == "func" else ""
        if name not in self.functions:
            raise ValueError(
                f"Node '{nd.name}' ({nd.op}): function '{name}' of attr '{key}' is not in the "
                "GraphDef's function library."
            )
        return self.functions[name]

    def create(self, g, nd, full, inputs, ctrl, attrs, prefix):
        """Create the control-flow op of NodeDef ``nd`` with its SubGraph attrs."""
        if nd.op in IF_TYPES:
            return self._create_if(g, nd, full, inputs, ctrl, attrs, prefix)
        return self._create_while(g, nd, full, inputs, ctrl, attrs, prefix)

    def _create_if(self, g, nd, full, inputs, ctrl, attrs, prefix):
        caps = inputs[1:]
        frames, subs = [], []
        for key in ("then_branch", "else_branch"):
            fd = self._get(nd, key)
            _check_arity(nd, fd, len(caps))
            with cf._frame(g) as frame:
                fetches, ctrl_ops = self._body(g, fd, caps, prefix, full)
                cf._capture_outputs(frame, fetches)
            targets = _merge_ops(cf._targets(frame), ctrl_ops)
            subs.append(cf.SubGraph(fd.signature.name, frame.ids, caps, fetches, targets))
            frames.append(frame)
        then_f, else_f = subs[0].fetches, subs[1].fetches
        if len(then_f) != len(else_f):
            raise ValueError(f"Node '{nd.name}': its branches return different output counts")
        attrs.update(
            then_branch=subs[0],
            else_branch=subs[1],
            Tcond=inputs[0].dtype,
            Tin=[t.dtype for t in caps],
            Tout=[t.dtype for t in then_f],
        )
        if len(attrs.get("output_shapes") or ()) != len(then_f):  # TF may leave it empty
            attrs["output_shapes"] = [cf._merge_shape(a.shape, b.shape)
                                      for a, b in zip(then_f, else_f)]  # fmt: skip
        with g.name_scope(None):
            op = g.create_op(nd.op, inputs, attrs, name=full + "/", control_inputs=ctrl)
        for frame in frames:
            cf._close(g, frame, op)
        return op

    def _create_while(self, g, nd, full, inputs, ctrl, attrs, prefix):
        cond_fd, body_fd = self._get(nd, "cond"), self._get(nd, "body")
        n = len(inputs)
        shapes = list(attrs.get("output_shapes") or ())
        if len(shapes) != n:  # TF may leave it empty
            shapes = [TensorShape(None)] * n
        for fd in (cond_fd, body_fd):
            _check_arity(nd, fd, n)
        with g.name_scope(None), cf._frame(g) as frame:
            phs = [
                g.create_op("Placeholder", [], {"dtype": t.dtype, "shape": s},
                            name=f"{full}/loop_var").outputs[0]
                for t, s in zip(inputs, shapes)
            ]  # fmt: skip
            (pred, *extra), cond_ctrl = self._body(g, cond_fd, phs, prefix, full)
            n_cond = len(frame.ops)
            outs, body_ctrl = self._body(g, body_fd, phs, prefix, full)
            cf._capture_outputs(frame, outs)
        if extra or len(outs) != n:
            raise ValueError(f"Node '{nd.name}': its cond/body functions have the wrong outputs")
        stateful = cf._targets(frame)
        cond_ops = {id(op) for op in frame.ops[:n_cond]}
        cond_t = _merge_ops([op for op in stateful if id(op) in cond_ops], cond_ctrl)
        body_t = _merge_ops([op for op in stateful if id(op) not in cond_ops], body_ctrl)
        attrs.update(
            T=[t.dtype for t in inputs],
            Tcaptures=[],
            output_shapes=shapes,
            has_maximum_iterations=False,
            cond=cf.SubGraph(cond_fd.signature.name, frame.ids, phs, [pred], cond_t),
            body=cf.SubGraph(body_fd.signature.name, frame.ids, phs, outs, body_t),
        )
        with g.name_scope(None):
            op = g.create_op(nd.op, inputs, attrs, name=full + "/", control_inputs=ctrl)
        cf._close(g, frame, op)
        return op

    def _body(self, g, fd, args, prefix, owner):
        """Import ``fd``'s nodes with its arguments bound to ``args``; (fetches, control ops)."""
        bound = {a.name: t for a, t in zip(fd.signature.input_arg, args)}
        nodes = {nd.name: nd for nd in fd.node_def}
        created: dict = {}

        def resolve(ref):
            if ref in bound:
                return [bound[ref]]
            node, _, rest = ref.partition(":")
            if node not in created:
                raise ValueError(f"Function '{fd.signature.name}': unknown input '{ref}'")
            op = created[node]
            if not rest:
                return [op.outputs[0]]
            arg, _, idx = rest.partition(":")
            if arg.isdigit():
                return [op.outputs[int(arg)]]
            if idx:
                return [op.outputs[output_arg_index(op.type, arg, int(idx))]]
            return list(op.outputs)  # a whole list-typed output arg

        for nd in _function_order(fd, nodes, bound):
            if nd.op == "VariableV2":
                outer = _outer_variable(g, nd, prefix)
                if outer is not None:  # an alias written by _variable_alias
                    created[nd.name] = outer
                    continue
            inputs, ctrl = [], []
            for ref in nd.input:
                if ref.startswith("^"):
                    if ref[1:] in created:
                        ctrl.append(created[ref[1:]])
                else:
                    inputs.extend(resolve(ref))
            name = prefix + nd.name
            if name in self.reserved:
                name = f"{owner}/{nd.name}"
            created[nd.name] = create_node(g, nd, name, inputs, ctrl, prefix, self)
        fetches = [resolve(fd.ret[a.name])[0] for a in fd.signature.output_arg]
        ctrl_ops = [created[fd.control_ret[c]] for c in fd.signature.control_output
                    if fd.control_ret.get(c) in created]  # fmt: skip
        return fetches, ctrl_ops


def _outer_variable(g, nd, prefix):
    """The graph's VariableV2 op that a function's VariableV2 node shares storage with."""
    shared = nd.attr["shared_name"].s.decode() if "shared_name" in nd.attr else ""
    if not shared:
        return None
    op = g._names.get(prefix + shared)
    if op is not None and op.type == "VariableV2" and op._attrs.get("shared_name") in ("", shared):
        return op
    for op in g._ops:
        if op.type == "VariableV2" and op._attrs.get("shared_name") == shared:
            return op
    return None


def _check_arity(nd, fd, n):
    if len(fd.signature.input_arg) != n:
        raise ValueError(
            f"Node '{nd.name}' ({nd.op}) passes {n} inputs to function "
            f"'{fd.signature.name}', which takes {len(fd.signature.input_arg)}."
        )


def _merge_ops(a, b) -> list:
    out, seen = [], set()
    for op in (*a, *b):
        if id(op) not in seen:
            seen.add(id(op))
            out.append(op)
    return out


def _function_order(fd, nodes, bound) -> list:
    """Body nodes ordered so that inputs come first (iterative, like the GraphDef import)."""
    fname = fd.signature.name

    def unknown(nd, ref):
        if ref.startswith("^") or ref in bound:
            return None
        return ValueError(f"Function '{fname}': node '{nd.name}' has unknown input '{ref}'")

    return topological_order(
        fd.node_def,
        nodes,
        lambda name: ValueError(f"Function '{fname}' has a cycle through '{name}'"),
        unknown,
    )
