"""If, Loop and Scan on the compiled path: convert-graph-to-top checked by running the
graph reference interpreter before and the top interpreter after on the same inputs, and
the full compiled path (JIT, real LLVM branches and loops) against onnxruntime at
max|err| <= 1e-3 * max|ref| + 1e-4 (float32 on both sides, summed in other orders)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper
from xdsl.context import Context

from lamina.compiler import compile as lamina_compile
from lamina.errors import UnsupportedOpError
from lamina.lowering.plan_memory import PlanMemoryPass
from lamina.lowering.top_to_loop import ConvertTopToLoopPass
from lamina.parser.onnx import import_onnx
from lamina.runtime.reference import run_reference
from lamina.runtime.reference.loop_interpreter import run_loop
from lamina.runtime.reference.top_interpreter import run_top
from lamina.tests.test_graph_to_top import lower, rand

F, I64, B = TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL


def vi(name: str, elem: int, shape: Sequence[int] | None) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, elem, shape)


def build(nodes, inputs, outputs, opset: int = 17) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "g", inputs, outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    onnx.checker.check_model(model)
    return model


def branch(name: str, nodes, output: str, shape: Sequence[int] | None) -> onnx.GraphProto:
    return helper.make_graph(nodes, name, [], [vi(output, F, shape)])


def if_on_input() -> onnx.ModelProto:
    then = branch("then", [helper.make_node("Relu", ["x"], ["t"])], "t", [2, 3])
    other = branch("else", [helper.make_node("Mul", ["x", "x"], ["e"])], "e", [2, 3])
    node = helper.make_node("If", ["c"], ["y"], then_branch=then, else_branch=other)
    return build([node], [vi("c", B, []), vi("x", F, [2, 3])], [vi("y", F, [2, 3])])


def nested_if() -> onnx.ModelProto:
    inner_then = branch("it", [helper.make_node("Neg", ["x"], ["a"])], "a", [4])
    inner_else = branch("ie", [helper.make_node("Exp", ["x"], ["b"])], "b", [4])
    inner = helper.make_node("If", ["d"], ["r"], then_branch=inner_then, else_branch=inner_else)
    then = branch("then", [inner, helper.make_node("Add", ["r", "x"], ["t"])], "t", [4])
    other = branch("else", [helper.make_node("Sigmoid", ["x"], ["e"])], "e", [4])
    node = helper.make_node("If", ["c"], ["y"], then_branch=then, else_branch=other)
    inputs = [vi("c", B, []), vi("d", B, []), vi("x", F, [4])]
    return build([node], inputs, [vi("y", F, [4])])


def loop_model(with_cond: bool) -> onnx.ModelProto:
    """acc += x each iteration, stacked per iteration; with_cond: stop once sum(acc) > 3."""
    nodes = [helper.make_node("Add", ["acc_in", "x"], ["acc_out"])]
    if with_cond:
        nodes += [
            helper.make_node("ReduceSum", ["acc_out"], ["total"], keepdims=0),
            helper.make_node("Less", ["total", "limit"], ["cond_out"]),
        ]
    else:
        nodes += [helper.make_node("Identity", ["cond_in"], ["cond_out"])]
    outputs = [vi("cond_out", B, []), vi("acc_out", F, [3])]
    if not with_cond:
        nodes.append(helper.make_node("Mul", ["acc_out", "i_f"], ["row"]))
        nodes.insert(0, helper.make_node("Cast", ["i"], ["i_f"], to=F))
        outputs.append(vi("row", F, [3]))
    body = helper.make_graph(
        nodes, "body", [vi("i", I64, []), vi("cond_in", B, []), vi("acc_in", F, [3])], outputs
    )
    results = ["final"] + ([] if with_cond else ["rows"])
    node = helper.make_node("Loop", ["m", "c" if with_cond else "", "init"], results, body=body)
    inputs = [vi("init", F, [3]), vi("x", F, [3]), vi("limit", F, [])]
    graph_outputs = [vi("final", F, [3])] + ([] if with_cond else [vi("rows", F, [4, 3])])
    m = helper.make_tensor("m", I64, [], [4])
    nodes_out = [helper.make_node("Constant", [], ["m"], value=m)]
    if with_cond:
        nodes_out.append(
            helper.make_node("Constant", [], ["c"], value=helper.make_tensor("cv", B, [], [1]))
        )
    return build([*nodes_out, node], inputs, graph_outputs)


def loop_with_if() -> onnx.ModelProto:
    """Nested control flow: acc = acc + x on even iterations, acc * 0.5 on odd ones."""
    even = branch("even", [helper.make_node("Add", ["acc_in", "x"], ["a"])], "a", [3])
    odd = branch("odd", [helper.make_node("Mul", ["acc_in", "half"], ["h"])], "h", [3])
    nodes = [
        helper.make_node("Mod", ["i", "two"], ["parity"]),
        helper.make_node("Equal", ["parity", "zero"], ["is_even"]),
        helper.make_node("If", ["is_even"], ["acc_out"], then_branch=even, else_branch=odd),
        helper.make_node("Identity", ["cond_in"], ["cond_out"]),
    ]
    body = helper.make_graph(
        nodes,
        "body",
        [vi("i", I64, []), vi("cond_in", B, []), vi("acc_in", F, [3])],
        [vi("cond_out", B, []), vi("acc_out", F, [3])],
    )
    constants = [
        helper.make_node("Constant", [], [name], value=helper.make_tensor(name, t, [], [v]))
        for name, t, v in (("m", I64, 5), ("two", I64, 2), ("zero", I64, 0), ("half", F, 0.5))
    ]
    node = helper.make_node("Loop", ["m", "", "init"], ["final"], body=body)
    inputs = [vi("init", F, [3]), vi("x", F, [3])]
    return build([*constants, node], inputs, [vi("final", F, [3])])


def loop_swapping() -> onnx.ModelProto:
    """Carried values that trade places: (a, b) -> (b, a + b), five times (Fibonacci)."""
    body = helper.make_graph(
        [
            helper.make_node("Add", ["a", "b"], ["sum"]),
            helper.make_node("Identity", ["b"], ["b_out"]),
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
        ],
        "body",
        [vi("i", I64, []), vi("cond_in", B, []), vi("a", F, [2]), vi("b", F, [2])],
        [vi("cond_out", B, []), vi("b_out", F, [2]), vi("sum", F, [2])],
    )
    m = helper.make_node("Constant", [], ["m"], value=helper.make_tensor("m", I64, [], [5]))
    node = helper.make_node("Loop", ["m", "", "a0", "b0"], ["a_n", "b_n"], body=body)
    inputs = [vi("a0", F, [2]), vi("b0", F, [2])]
    return build([m, node], inputs, [vi("a_n", F, [2]), vi("b_n", F, [2])])


def scan_model(in_axis: int, in_dir: int, out_axis: int, out_dir: int) -> onnx.ModelProto:
    """state += row; out = state * row, over the rows of x (5 x 3) along `in_axis`."""
    body = helper.make_graph(
        [
            helper.make_node("Add", ["s_in", "row"], ["s_out"]),
            helper.make_node("Mul", ["s_out", "row"], ["out"]),
        ],
        "body",
        [vi("s_in", F, [3]), vi("row", F, [3])],
        [vi("s_out", F, [3]), vi("out", F, [3])],
    )
    node = helper.make_node(
        "Scan", ["init", "xs"], ["total", "outs"], body=body, num_scan_inputs=1,
        scan_input_axes=[in_axis], scan_input_directions=[in_dir],
        scan_output_axes=[out_axis], scan_output_directions=[out_dir],
    )  # fmt: skip
    xs_shape = [5, 3] if in_axis == 0 else [3, 5]
    outs_shape = [5, 3] if out_axis == 0 else [3, 5]
    inputs = [vi("init", F, [3]), vi("xs", F, xs_shape)]
    return build([node], inputs, [vi("total", F, [3]), vi("outs", F, outs_shape)])


def feeds(model: onnx.ModelProto, **given: np.ndarray) -> dict[str, np.ndarray]:
    out = {}
    for k, info in enumerate(model.graph.input):
        shape = [d.dim_value for d in info.type.tensor_type.shape.dim]
        out[info.name] = given.get(info.name, rand(*shape, seed=k))
    return out


def check_top(model: onnx.ModelProto, inputs: dict[str, np.ndarray]) -> None:
    module = import_onnx(model)
    expected = run_reference(module, inputs)
    got = run_top(lower(module), inputs)
    for e, g in zip(expected, got, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)


def check_top_to_loop(model: onnx.ModelProto, inputs: dict[str, np.ndarray]) -> None:
    """The top IR and the planned loop IR (loop.if / loop.while) on the same inputs."""
    module = lower(import_onnx(model))
    ordered = [inputs[i.name] for i in model.graph.input]
    expected = run_top(module, ordered)
    ConvertTopToLoopPass().apply(Context(), module)
    PlanMemoryPass().apply(Context(), module)
    module.verify()
    got = run_loop(module, ordered)
    for e, g in zip(expected, got, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)


def check_compiled(model: onnx.ModelProto, inputs: dict[str, np.ndarray]) -> None:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    expected = [np.asarray(e) for e in session.run(None, inputs)]
    got = lamina_compile(model, device="host")(**inputs)
    for e, g in zip(expected, got, strict=True):
        assert g.shape == e.shape and g.dtype == e.dtype
        assert np.max(np.abs(g - e)) <= 1e-3 * np.max(np.abs(e)) + 1e-4


def bool_(v: bool) -> np.ndarray:
    return np.array(v)


CASES = {
    "if_true": (if_on_input, {"c": bool_(True)}),
    "if_false": (if_on_input, {"c": bool_(False)}),
    "nested_tt": (nested_if, {"c": bool_(True), "d": bool_(True)}),
    "nested_tf": (nested_if, {"c": bool_(True), "d": bool_(False)}),
    "nested_f": (nested_if, {"c": bool_(False), "d": bool_(True)}),
    "loop_trips_scan": (lambda: loop_model(False), {}),
    "loop_cond": (lambda: loop_model(True), {"limit": np.array(3.0, np.float32)}),
    "loop_cond_first": (lambda: loop_model(True), {"limit": np.array(-100.0, np.float32)}),
    "loop_with_if": (loop_with_if, {}),
    "loop_swapping": (loop_swapping, {}),
    "scan_forward": (lambda: scan_model(0, 0, 0, 0), {}),
    "scan_reverse": (lambda: scan_model(0, 1, 0, 1), {}),
    "scan_axes": (lambda: scan_model(1, 0, 1, 1), {}),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_graph_to_top_matches_reference(name: str):
    make, given = CASES[name]
    model = make()
    check_top(model, feeds(model, **given))


@pytest.mark.parametrize("name", sorted(CASES))
def test_top_to_loop_matches_top_interpreter(name: str):
    make, given = CASES[name]
    model = make()
    check_top_to_loop(model, feeds(model, **given))


@pytest.mark.parametrize("name", sorted(CASES))
def test_compiled_matches_onnxruntime(name: str):
    make, given = CASES[name]
    model = make()
    check_compiled(model, feeds(model, **given))


def test_if_with_branches_of_different_shapes_is_not_supported():
    then = branch("then", [helper.make_node("Relu", ["x"], ["t"])], "t", [2, 3])
    other = branch("else", [helper.make_node("ReduceSum", ["x"], ["e"], keepdims=0)], "e", [])
    node = helper.make_node("If", ["c"], ["y"], then_branch=then, else_branch=other)
    model = build([node], [vi("c", B, []), vi("x", F, [2, 3])], [vi("y", F, [2, 3])])
    with pytest.raises(UnsupportedOpError, match="branches of different shapes"):
        lamina_compile(model, device="host")


def test_threaded_nests_inside_a_loop_and_an_if_match_onnxruntime():
    """Nests big enough for the thread pool (codegen/llvm_parallel.py) inside loop.while
    and loop.if bodies: acc = tanh(acc) + x three times, then relu or sigmoid."""
    shape = [256, 512]
    body = helper.make_graph(
        [
            helper.make_node("Tanh", ["acc_in"], ["t"]),
            helper.make_node("Add", ["t", "x"], ["acc_out"]),
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
        ],
        "body",
        [vi("i", I64, []), vi("cond_in", B, []), vi("acc_in", F, shape)],
        [vi("cond_out", B, []), vi("acc_out", F, shape)],
    )
    m = helper.make_node("Constant", [], ["m"], value=helper.make_tensor("m", I64, [], [3]))
    loop = helper.make_node("Loop", ["m", "", "init"], ["final"], body=body)
    then = branch("then", [helper.make_node("Relu", ["final"], ["r"])], "r", shape)
    other = branch("else", [helper.make_node("Sigmoid", ["final"], ["s"])], "s", shape)
    node = helper.make_node("If", ["c"], ["y"], then_branch=then, else_branch=other)
    inputs = [vi("c", B, []), vi("init", F, shape), vi("x", F, shape)]
    model = build([m, loop, node], inputs, [vi("y", F, shape)])
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    compiled = lamina_compile(model, device="host", threads=2)
    for c in (True, False):
        inputs = {"c": bool_(c), "init": rand(*shape, seed=1), "x": rand(*shape, seed=2)}
        expected = np.asarray(session.run(None, inputs)[0])
        (got,) = compiled(**inputs)
        assert np.max(np.abs(got - expected)) <= 1e-3 * np.max(np.abs(expected)) + 1e-4
