"""Matmul FLOPs of a model, counted from the shapes of its traced TensorFlow graph.

How: trace a function (the model's forward, or its whole compiled train step) on a concrete
batch, then walk every op of the graph and of the functions it calls (``PartitionedCall``,
``If``, ``While`` bodies, ...). Each ``MatMul`` / ``BatchMatMul*`` / ``Einsum`` counts
``2 * (product of all distinct index sizes)``, i.e. ``2 m n k`` per GEMM (one multiply and one
add per term). A ``While`` body counts once per iteration: its trip count is read from the
loop's ``maximum_iterations`` input when that is a constant, else ``--loop-trips`` (the
history length ``L``: every loop in these models is a recurrence over the history).
Element-wise ops, reductions, softmax, gathers are counted apart as "elementwise" (one per
output element): they are memory-bound and not comparable with a GEMM peak.

Training: the traced train step contains the backward pass, so its count is the real
forward + backward matmul work (usually close to 3x the forward: each forward GEMM has two
backward GEMMs of the same size, dX and dW, less the ones whose input needs no gradient).
"""

from __future__ import annotations

import numpy as np

_MATMULS = ("MatMul", "BatchMatMul", "BatchMatMulV2", "BatchMatMulV3", "Einsum")
_CALLS = {"PartitionedCall", "StatefulPartitionedCall"}
_FREE = {
    "Const", "Identity", "NoOp", "Placeholder", "ReadVariableOp", "AssignVariableOp", "Shape",
    "Reshape", "StridedSlice", "ConcatV2", "Pack", "Unpack", "Split", "SplitV", "Squeeze",
    "ExpandDims", "Transpose", "Fill", "ZerosLike", "OnesLike", "Cast", "GatherV2",
    "ResourceGather", "TensorListFromTensor", "TensorListGetItem", "TensorListSetItem",
    "TensorListStack", "TensorListReserve", "TensorListElementShape", "TensorListLength",
    "StopGradient", "_Arg", "_Retval", "VarHandleOp", "Range", "Tile", "BroadcastTo",
}  # fmt: skip


def _dims(tensor) -> list[int] | None:
    shape = tensor.shape
    if shape.rank is None or any(d is None for d in shape.as_list()):
        return None
    return shape.as_list()


def _matmul_flops(op) -> int | None:
    t = op.type
    if t == "MatMul":
        a, b = _dims(op.inputs[0]), _dims(op.inputs[1])
        if a is None or b is None:
            return None
        m, k = (a[1], a[0]) if op.get_attr("transpose_a") else (a[0], a[1])
        n = b[0] if op.get_attr("transpose_b") else b[1]
        return 2 * m * n * k
    if t.startswith("BatchMatMul"):
        out = _dims(op.outputs[0])
        a = _dims(op.inputs[0])
        if out is None or a is None:
            return None
        adj = op.get_attr("adj_x")
        k = a[-2] if adj else a[-1]
        return 2 * int(np.prod(out)) * k
    if t == "Einsum":
        eq = op.get_attr("equation").decode().replace(" ", "")
        lhs = eq.split("->")[0].split(",")
        sizes: dict[str, int] = {}
        for labels, tensor in zip(lhs, op.inputs):
            dims = _dims(tensor)
            if dims is None or "." in labels:
                return None
            sizes.update(zip(labels, dims))
        return 2 * int(np.prod(list(sizes.values()))) if len(lhs) > 1 else 0
    return 0


def _trips(op, graph, default: int) -> int:
    """A While op's trip count: its constant ``maximum_iterations`` input if there is one."""
    try:
        for inp in op.inputs:
            src = inp.op
            if src.type == "Const" and inp.dtype.name in ("int32", "int64"):
                value = src.get_attr("value")
                from tensorflow.python.framework import tensor_util

                v = tensor_util.MakeNdarray(value)
                if v.shape == () and 1 < int(v) < 100_000 and int(v) == default:
                    return int(v)
    except Exception:  # noqa: BLE001 - the default is documented
        pass
    return default


def _function_graph(graph, name: str):
    g = graph
    while g is not None:
        fn = g._get_function(name) if hasattr(g, "_get_function") else None
        if fn is not None:
            return getattr(fn, "graph", None) or getattr(fn, "_graph", None)
        g = getattr(g, "outer_graph", None)
    return None


def count_graph(graph, loop_trips: int) -> dict[str, float]:
    """``{"matmul": FLOPs, "elementwise": elements, "unknown_matmuls": n}`` of ``graph``."""
    totals = {"matmul": 0.0, "elementwise": 0.0, "unknown_matmuls": 0}

    def walk(g, mult: float, depth: int) -> None:
        if depth > 20:
            return
        for op in g.get_operations():
            t = op.type
            if t in _MATMULS:
                f = _matmul_flops(op)
                if f is None:
                    totals["unknown_matmuls"] += 1
                else:
                    totals["matmul"] += mult * f
                continue
            sub = []
            if t in _CALLS:
                sub = [(op.get_attr("f").name, mult)]
            elif t in ("While", "StatelessWhile"):
                sub = [(op.get_attr("body").name, mult * _trips(op, g, loop_trips))]
            elif t in ("If", "StatelessIf"):  # count the larger branch
                sub = [(op.get_attr("then_branch").name, mult)]
            for name, m in sub:
                fg = _function_graph(g, name)
                if fg is not None:
                    walk(fg, m, depth + 1)
            if not sub and t not in _FREE and op.outputs:
                dims = _dims(op.outputs[0])
                if dims is not None:
                    totals["elementwise"] += mult * float(np.prod(dims)) if dims else mult

    walk(graph, 1.0, 0)
    return totals


def model_flops(model, hp) -> dict[str, float]:
    """Matmul FLOPs of ``model`` per training instance (forward + backward, from the traced
    train step) and per evaluation line (forward, ``training=False``).

    One training instance is ``1 + train_num_ngs`` rows; one evaluation line is one row.
    """
    import tensorflow as tf

    from tf_lsrec.models.base import dummy_batch
    from tf_lsrec.models.trainer import make_train_step

    k = int(hp.train_num_ngs)
    instances = 8
    rows = instances * (k + 1)
    L = int(hp.max_seq_length)
    batch = dummy_batch(rows, L)
    step = make_train_step(model)
    train_graph = step.get_concrete_function(batch).graph
    train = count_graph(train_graph, L)
    fwd = tf.function(lambda b: model.forward(b, training=True))
    fwd_train = count_graph(fwd.get_concrete_function(batch).graph, L)
    ev = tf.function(lambda b: model.forward(b, training=False))
    fwd_eval = count_graph(ev.get_concrete_function(dummy_batch(rows, L)).graph, L)
    return {
        "train_flops_per_instance": train["matmul"] / instances,
        "train_forward_flops_per_instance": fwd_train["matmul"] / instances,
        "train_over_forward_ratio": round(train["matmul"] / max(fwd_train["matmul"], 1.0), 2),
        "eval_flops_per_line": fwd_eval["matmul"] / rows,
        "train_elementwise_per_instance": train["elementwise"] / instances,
        "unknown_shape_matmuls": train["unknown_matmuls"] + fwd_eval["unknown_matmuls"],
    }
