"""The ONNX importer: small models built with onnx.helper, the onnx wheel's light models,
ResNet-50 import time, and every kind of bad input."""

from __future__ import annotations

import io
import os
from pathlib import Path

import ml_dtypes
import numpy as np
import onnx
import pytest
from helpers_cli import assert_contains
from onnx import TensorProto, helper, numpy_helper
from xdsl.dialects.builtin import ModuleOp, NameLoc, NoneAttr, StringAttr
from xdsl.dialects.func import FuncOp
from xdsl.parser import Parser
from xdsl.printer import Printer

from lamina.context import make_context
from lamina.dialects.graph import ConstantOp
from lamina.errors import LaminaError, ModelImportError, UnsupportedError, UnsupportedOpError
from lamina.parser.onnx import import_onnx, parse_input_shape, parse_input_shapes

LIGHT_MODELS = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"

F = TensorProto.FLOAT


def make_model(
    nodes: list[onnx.NodeProto],
    inputs: list[onnx.ValueInfoProto],
    outputs: list[onnx.ValueInfoProto],
    initializers: list[TensorProto] = (),  # type: ignore[assignment]
    opset: int = 23,
    name: str = "test",
) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, name, inputs, outputs, list(initializers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def tensor(name: str, shape: list[int | str] | None, elem: int = F) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, elem, shape)


def weight(name: str, array: np.ndarray) -> TensorProto:
    return numpy_helper.from_array(array, name)


def print_ir(module: ModuleOp, debuginfo: bool = False) -> str:
    stream = io.StringIO()
    Printer(stream=stream, print_debuginfo=debuginfo).print_op(module)
    return stream.getvalue()


def round_trip(module: ModuleOp) -> str:
    """Verify, print, parse back with lamina's context and check it prints the same."""
    module.verify()
    text = print_ir(module, debuginfo=True)
    parsed = Parser(make_context(), text).parse_module()
    parsed.verify()
    assert print_ir(parsed, debuginfo=True) == text
    return print_ir(module)


def only_function(module: ModuleOp) -> FuncOp:
    (function,) = module.body.block.ops
    assert isinstance(function, FuncOp)
    return function


# --- models that import -----------------------------------------------------------------------


def conv_relu_model(batch: int | str = 1) -> onnx.ModelProto:
    rng = np.random.default_rng(0)
    return make_model(
        [
            helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv1", pads=[1, 1, 1, 1]),
            helper.make_node("Relu", ["c"], ["y"], name="relu1"),
        ],
        [tensor("x", [batch, 3, 8, 8])],
        [tensor("y", [batch, 8, 8, 8])],
        [
            weight("w", rng.random((8, 3, 3, 3), np.float32)),
            weight("b", np.zeros(8, np.float32)),
        ],
        name="conv relu",
    )


def test_conv_relu_imports_with_weights_as_constants_and_node_names_as_locations():
    module = import_onnx(conv_relu_model())
    text = round_trip(module)
    assert "func.func @conv_relu(%x: tensor<1x3x8x8xf32>) -> tensor<1x8x8x8xf32>" in text
    assert "graph.constant dense_resource<w" in text
    assert "graph.constant dense<0.000000e+00> : tensor<8xf32>" in text
    assert (
        "%c = graph.conv %x, %w, %b {pads = array<i64: 1, 1, 1, 1>} : (tensor<1x3x8x8xf32>, "
        "tensor<8x3x3x3xf32>, tensor<8xf32>) -> tensor<1x8x8x8xf32>"
    ) in text
    assert "%y = graph.relu %c" in text
    assert "func.return %y : tensor<1x8x8x8xf32>" in text
    conv = next(op for op in only_function(module).walk() if op.name == "graph.conv")
    assert conv.location == NameLoc(StringAttr("conv1"), NoneAttr())
    assert 'loc("relu1")' in print_ir(module, debuginfo=True)


def test_weights_keep_their_bytes():
    model = conv_relu_model()
    module = import_onnx(model)
    constant = next(op for op in only_function(module).walk() if isinstance(op, ConstantOp))
    expected = numpy_helper.to_array(model.graph.initializer[0])
    np.testing.assert_array_equal(constant.to_array(), expected)


def test_gemm_mlp_imports_from_bytes_and_from_a_file(tmp_path: Path):
    rng = np.random.default_rng(1)
    model = make_model(
        [
            helper.make_node("Gemm", ["x", "w1", "b1"], ["h"], name="fc1", transB=1),
            helper.make_node("Relu", ["h"], ["a"], name="act"),
            helper.make_node("Gemm", ["a", "w2", "b2"], ["y"], name="fc2", alpha=0.5),
        ],
        [tensor("x", [4, 16])],
        [tensor("y", [4, 10])],
        [
            weight("w1", rng.random((32, 16), np.float32)),
            weight("b1", rng.random(32, np.float32)),
            weight("w2", rng.random((32, 10), np.float32)),
            weight("b2", rng.random(10, np.float32)),
        ],
    )
    path = tmp_path / "mlp.onnx"
    onnx.save(model, path)
    for source in (model.SerializeToString(), path, str(path)):
        text = round_trip(import_onnx(source))
        assert "graph.gemm %x, %w1, %b1 {transB = 1 : i64}" in text
        assert "graph.gemm %a, %w2, %b2 {alpha = 5.000000e-01 : f32}" in text
        assert "-> tensor<4x10xf32>" in text


def test_external_data_is_read_from_beside_the_model(tmp_path: Path):
    model = conv_relu_model()
    expected = numpy_helper.to_array(model.graph.initializer[0])
    path = tmp_path / "model.onnx"
    onnx.save(model, path, save_as_external_data=True, location="weights.bin", size_threshold=0)
    assert (tmp_path / "weights.bin").exists()
    module = import_onnx(path)
    constants = [op for op in only_function(module).walk() if isinstance(op, ConstantOp)]
    np.testing.assert_array_equal(constants[0].to_array(), expected)


def test_external_data_without_a_file_is_an_import_error(tmp_path: Path):
    path = tmp_path / "model.onnx"
    onnx.save(
        conv_relu_model(), path, save_as_external_data=True, location="w.bin", size_threshold=0
    )
    proto = onnx.load(path, load_external_data=False)
    with pytest.raises(ModelImportError, match="external data") as info:
        import_onnx(proto.SerializeToString())
    assert info.value.where == "<bytes>"


def test_dynamic_batch_stays_dynamic_or_is_bound_by_input_shapes():
    model = conv_relu_model(batch="N")
    text = round_trip(import_onnx(model))
    assert "%x: tensor<?x3x8x8xf32>" in text
    assert "-> tensor<?x8x8x8xf32>" in text
    text = round_trip(import_onnx(model, input_shapes={"x": [2, 3, 8, 8]}))
    assert "%x: tensor<2x3x8x8xf32>" in text
    assert "graph.relu %c : tensor<2x8x8x8xf32>" in text


def test_bound_symbolic_dim_binds_every_input_using_it():
    model = make_model(
        [helper.make_node("Add", ["a", "b"], ["y"], name="add")],
        [tensor("a", ["N", 4]), tensor("b", ["N", 4])],
        [tensor("y", ["N", 4])],
    )
    text = round_trip(import_onnx(model, input_shapes={"a": [3, 4]}))
    assert "(%a: tensor<3x4xf32>, %b: tensor<3x4xf32>) -> tensor<3x4xf32>" in text


def test_input_shapes_that_do_not_fit_are_import_errors():
    model = conv_relu_model(batch="N")
    with pytest.raises(ModelImportError, match="'z', which is not a graph input"):
        import_onnx(model, input_shapes={"z": [1]})
    with pytest.raises(ModelImportError, match="has rank 2, but the input has rank 4"):
        import_onnx(model, input_shapes={"x": [1, 3]})
    with pytest.raises(ModelImportError, match="conflicts with its static size 3"):
        import_onnx(model, input_shapes={"x": [1, 4, 8, 8]})


def test_parse_input_shape_option():
    assert parse_input_shape("data=1x3x224x224") == ("data", [1, 3, 224, 224])
    assert parse_input_shape("gpu_0/data=?x3") == ("gpu_0/data", [-1, 3])
    assert parse_input_shape("scalar=") == ("scalar", [])
    assert parse_input_shapes(["a=1x2,b=3", "c=4"]) == {"a": [1, 2], "b": [3], "c": [4]}
    for bad in ("1x3", "=1x3", "x=1xbx3", "x=1x-2"):
        with pytest.raises(ModelImportError, match="invalid input shape"):
            parse_input_shape(bad)


def test_scalars_element_types_and_unsigned_ints():
    model = make_model(
        [
            helper.make_node("Cast", ["s"], ["h"], name="to_f16", to=TensorProto.FLOAT16),
            helper.make_node("Cast", ["u"], ["b"], name="to_bool", to=TensorProto.BOOL),
            helper.make_node("Cast", ["u"], ["d"], name="to_f64", to=TensorProto.DOUBLE),
            helper.make_node("Cast", ["u"], ["i"], name="to_i8", to=TensorProto.INT8),
        ],
        [tensor("s", [], F), tensor("u", [5], TensorProto.UINT16)],
        [
            tensor("h", [], TensorProto.FLOAT16),
            tensor("b", [5], TensorProto.BOOL),
            tensor("d", [5], TensorProto.DOUBLE),
            tensor("i", [5], TensorProto.INT8),
        ],
    )
    text = round_trip(import_onnx(model))
    assert (
        "(%s: tensor<f32>, %u: tensor<5xui16>) -> "
        "(tensor<f16>, tensor<5xi1>, tensor<5xf64>, tensor<5xi8>)"
    ) in text


def test_clip_with_only_max_gets_a_none_min():
    model = make_model(
        [helper.make_node("Clip", ["x", "", "hi"], ["y"], name="clip")],
        [tensor("x", [2, 3])],
        [tensor("y", [2, 3])],
        [helper.make_tensor("hi", F, [], [6.0])],
    )
    text = round_trip(import_onnx(model))
    assert "%none = graph.none : none" in text
    assert (
        "graph.clip %x, %none, %hi : (tensor<2x3xf32>, none, tensor<f32>) -> tensor<2x3xf32>"
    ) in text


def test_missing_optional_outputs_have_none_type():
    model = make_model(
        [helper.make_node("Dropout", ["x"], ["y"], name="drop")],
        [tensor("x", [2, 3])],
        [tensor("y", [2, 3])],
    )
    text = round_trip(import_onnx(model))
    assert "%y, %{{.*}}" not in text
    assert (
        "graph.dropout %x, %none, %none : (tensor<2x3xf32>, none, none) -> (tensor<2x3xf32>, none)"
    ) in text


def test_opset_11_model_is_converted_to_opset_23():
    # Clip-11 takes min/max as inputs; Squeeze-11 takes axes as an attribute, -13 as input
    model = make_model(
        [
            helper.make_node("Squeeze", ["x"], ["s"], name="squeeze", axes=[0]),
            helper.make_node("Clip", ["s", "lo"], ["y"], name="clip"),
        ],
        [tensor("x", [1, 3])],
        [tensor("y", [3])],
        [helper.make_tensor("lo", F, [], [0.0])],
        opset=11,
    )
    text = round_trip(import_onnx(model))
    assert "graph.squeeze %x, %" in text
    assert ": (tensor<1x3xf32>, tensor<1xi64>) -> tensor<3xf32>" in text
    assert "graph.clip %s, %lo, %none" in text


def test_opset_7_attributes_become_inputs():
    model = make_model(
        [helper.make_node("Clip", ["x"], ["y"], name="relu6", min=0.0, max=6.0)],
        [tensor("x", [4])],
        [tensor("y", [4])],
        opset=7,
    )
    text = round_trip(import_onnx(model))
    assert "graph.clip %x, %" in text
    assert "dense<6.000000e+00> : tensor<f32>" in text


def test_if_imports_both_branches_as_regions():
    then_branch = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["t"], name="then_relu")],
        "then",
        [],
        [tensor("t", [2, 3])],
    )
    else_branch = helper.make_graph(
        [helper.make_node("Neg", ["x"], ["e"], name="else_neg")],
        "else",
        [],
        [tensor("e", [2, 3])],
    )
    model = make_model(
        [
            helper.make_node(
                "If", ["c"], ["y"], name="if", then_branch=then_branch, else_branch=else_branch
            )
        ],
        [tensor("c", [], TensorProto.BOOL), tensor("x", [2, 3])],
        [tensor("y", [2, 3])],
    )
    module = import_onnx(model)
    text = round_trip(module)
    assert_contains(
        text,
        "%y = graph.if %c then_branch {",
        "%t = graph.relu %x : tensor<2x3xf32>",
        "graph.yield %t : tensor<2x3xf32>",
        "} else_branch {",
        "%e = graph.neg %x",
        "} : (tensor<i1>) -> tensor<2x3xf32>",
    )
    assert 'loc("then_relu")' in print_ir(module, debuginfo=True)


def test_loop_body_block_arguments_are_the_subgraph_inputs():
    body = helper.make_graph(
        [
            helper.make_node("Add", ["acc_in", "x"], ["acc_out"], name="body_add"),
            helper.make_node("Identity", ["cond_in"], ["cond_out"], name="body_cond"),
        ],
        "body",
        [
            tensor("i", [], TensorProto.INT64),
            tensor("cond_in", [], TensorProto.BOOL),
            tensor("acc_in", [2, 3]),
        ],
        [tensor("cond_out", [], TensorProto.BOOL), tensor("acc_out", [2, 3])],
    )
    model = make_model(
        [helper.make_node("Loop", ["m", "", "init"], ["final"], name="loop", body=body)],
        [tensor("m", [], TensorProto.INT64), tensor("init", [2, 3]), tensor("x", [2, 3])],
        [tensor("final", [2, 3])],
        opset=11,
    )
    text = round_trip(import_onnx(model))
    assert_contains(
        text,
        "%final = graph.loop %m, %none, %init body {",
        "^bb0(%i: tensor<i64>, %cond_in: tensor<i1>, %acc_in: tensor<2x3xf32>):",
        "%acc_out = graph.add %acc_in, %x",
        "graph.yield %cond_out, %acc_out : tensor<i1>, tensor<2x3xf32>",
        "} : (tensor<i64>, none, tensor<2x3xf32>) -> tensor<2x3xf32>",
    )


def test_scan_imports_with_its_body_and_attributes():
    body = helper.make_graph(
        [helper.make_node("Add", ["s_in", "row"], ["s_out"], name="acc")],
        "body",
        [tensor("s_in", [3]), tensor("row", [3])],
        [tensor("s_out", [3])],
    )
    model = make_model(
        [
            helper.make_node(
                "Scan", ["init", "xs"], ["total"], name="scan", body=body, num_scan_inputs=1
            )
        ],
        [tensor("init", [3]), tensor("xs", [5, 3])],
        [tensor("total", [3])],
    )
    text = round_trip(import_onnx(model))
    assert "%total = graph.scan %init, %xs body {" in text
    assert "num_scan_inputs = 1 : i64" in text


def test_constant_nodes_become_graph_constants():
    model = make_model(
        [
            helper.make_node("Constant", [], ["k"], name="k", value_floats=[1.0, 2.0, 3.0]),
            helper.make_node("Constant", [], ["n"], name="n", value_int=7),
            helper.make_node(
                "Constant",
                [],
                ["big"],
                name="big",
                value=numpy_helper.from_array(np.arange(100, dtype=np.int32).reshape(10, 10)),
            ),
            helper.make_node("Mul", ["x", "k"], ["y"], name="mul"),
        ],
        [tensor("x", [3])],
        [
            tensor("y", [3]),
            tensor("n", [], TensorProto.INT64),
            tensor("big", [10, 10], TensorProto.INT32),
        ],
    )
    text = round_trip(import_onnx(model))
    assert (
        "%k = graph.constant dense<[1.000000e+00, 2.000000e+00, 3.000000e+00]> : tensor<3xf32>"
    ) in text
    assert "%n = graph.constant dense<7> : tensor<i64>" in text
    assert "%big = graph.constant dense_resource<big" in text


def test_attributes_of_every_kind_become_properties():
    model = make_model(
        [
            helper.make_node(
                "ConstantOfShape",
                ["shape"],
                ["c"],
                name="fill",
                value=helper.make_tensor("v", TensorProto.INT32, [1], [3]),
            ),
            helper.make_node("Resize", ["x", "", "scales"], ["r"], name="up", mode="nearest"),
            helper.make_node("LeakyRelu", ["r"], ["y"], name="leaky", alpha=0.25),
        ],
        [tensor("shape", [2], TensorProto.INT64), tensor("x", [1, 1, 2, 2])],
        [tensor("c", ["h", "w"], TensorProto.INT32), tensor("y", [1, 1, 4, 4])],
        [helper.make_tensor("scales", F, [4], [1, 1, 2, 2])],
    )
    text = round_trip(import_onnx(model))
    assert_contains(
        text,
        "{value = dense<3> : tensor<1xi32>}",
        'mode = "nearest"',
        "{alpha = 2.500000e-01 : f32}",
        "-> tensor<?x?xi32>",
    )


def test_graph_name_is_sanitized_or_main():
    model = conv_relu_model()
    model.graph.name = "9 bad/name"
    assert only_function(import_onnx(model)).sym_name.data == "_9_bad_name"
    model.graph.name = "-"
    assert only_function(import_onnx(model)).sym_name.data == "main"


@pytest.mark.parametrize("path", sorted(LIGHT_MODELS.glob("light_*.onnx")), ids=lambda p: p.stem)
def test_light_models_import_print_and_parse_back(path: Path):
    module = import_onnx(path)
    text = round_trip(module)
    assert "func.func @" in text
    assert "graph.conv" in text


def test_light_models_are_all_there():
    assert len(list(LIGHT_MODELS.glob("light_*.onnx"))) == 9


def materialized_resnet50() -> onnx.ModelProto:
    """light_resnet50 with its ConstantOfShape weights turned into real initializers (~100 MB)."""
    light = onnx.load(LIGHT_MODELS / "light_resnet50.onnx")
    shapes = {t.name: numpy_helper.to_array(t) for t in light.graph.initializer}
    nodes: list[onnx.NodeProto] = []
    initializers = [t for t in light.graph.initializer if not t.name.endswith("__SHAPE")]
    for node in light.graph.node:
        if node.op_type == "ConstantOfShape" and node.input[0] in shapes:
            value = np.full(shapes[node.input[0]], 0.02, np.float32)
            initializers.append(numpy_helper.from_array(value, node.output[0]))
        else:
            nodes.append(node)
    graph = helper.make_graph(
        nodes, light.graph.name, [light.graph.input[0]], list(light.graph.output), initializers
    )
    return helper.make_model(graph, opset_imports=list(light.opset_import))


def test_resnet50_with_100mb_of_weights_imports_from_a_file(tmp_path: Path):
    # (import speed is measured by benchmarks/import_models.py, not asserted here)
    model = materialized_resnet50()
    assert model.ByteSize() > 100_000_000
    path = tmp_path / "resnet50.onnx"
    onnx.save(model, path)
    module = import_onnx(path)
    constants = [op for op in only_function(module).walk() if isinstance(op, ConstantOp)]
    assert sum(c.to_array().nbytes for c in constants) > 100_000_000
    assert "graph.conv" in print_ir(module)


# --- bad input ----------------------------------------------------------------------------------


def expect(error: type[LaminaError], source, message: str, **kwargs) -> LaminaError:
    with pytest.raises(error) as info:
        import_onnx(source, **kwargs)
    assert str(info.value) == message
    return info.value


def test_truncated_file_is_an_import_error(tmp_path: Path):
    data = conv_relu_model().SerializeToString()
    path = tmp_path / "cut.onnx"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelImportError) as info:
        import_onnx(path)
    assert str(info.value).startswith(f"{path}: error: cannot read the model: ")
    assert info.value.where == str(path)


def test_random_bytes_are_an_import_error():
    data = np.random.default_rng(7).bytes(1000)
    with pytest.raises(ModelImportError) as info:
        import_onnx(data)
    assert str(info.value).startswith("<bytes>: error: ")


def test_empty_bytes_are_not_a_model():
    expect(ModelImportError, b"", "<bytes>: error: not an ONNX model (no ir_version or no graph)")


def test_missing_file_is_an_import_error(tmp_path: Path):
    path = tmp_path / "absent.onnx"
    with pytest.raises(ModelImportError, match="cannot read the model") as info:
        import_onnx(path)
    assert info.value.where == str(path)


def test_model_failing_the_checker_names_the_node():
    model = make_model(
        [helper.make_node("Relu", ["x"], ["y"], name="r", bogus=1)],
        [tensor("x", [2])],
        [tensor("y", [2])],
    )
    expect(
        ModelImportError,
        model.SerializeToString(),
        "<bytes>: error: node 'r' (Relu): Unrecognized attribute: bogus for operator Relu",
    )


def test_model_failing_shape_inference_names_the_node():
    model = make_model(
        [helper.make_node("Add", ["a", "b"], ["y"], name="add")],
        [tensor("a", [2, 3]), tensor("b", [4, 5])],
        [tensor("y", [2, 3])],
    )
    with pytest.raises(ModelImportError) as info:
        import_onnx(model)
    assert str(info.value).startswith("<model>: error: node 'add' (Add): ")


def test_unknown_operator_is_unsupported():
    model = make_model(
        [helper.make_node("FancyOp", ["x"], ["y"], name="fancy")],
        [tensor("x", [2])],
        [tensor("y", [2])],
    )
    expect(
        UnsupportedOpError,
        model,
        "<model>: error: not supported: node 'fancy' (FancyOp): "
        "'FancyOp' is not an operator of ONNX",
    )


def test_operator_of_another_domain_is_unsupported():
    model = make_model(
        [helper.make_node("FusedGemm", ["x"], ["y"], name="fg", domain="com.microsoft")],
        [tensor("x", [2])],
        [tensor("y", [2])],
    )
    model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    expect(
        UnsupportedOpError,
        model,
        "<model>: error: not supported: node 'fg' (FusedGemm): operators of domain 'com.microsoft'",
    )


def test_operator_removed_before_the_models_opset_is_unsupported():
    model = make_model(
        [helper.make_node("Scatter", ["x", "i", "u"], ["y"], name="sc")],
        [tensor("x", [4]), tensor("i", [1], TensorProto.INT64), tensor("u", [1])],
        [tensor("y", [4])],
        opset=13,
    )
    expect(
        UnsupportedOpError,
        model,
        "<model>: error: not supported: node 'sc' (Scatter): 'Scatter' is deprecated in opset 13",
    )


@pytest.mark.parametrize("opset", [0, onnx.defs.onnx_opset_version() + 1])
def test_opset_outside_what_onnx_knows_is_an_import_error(opset: int):
    model = make_model(
        [helper.make_node("Relu", ["x"], ["y"], name="r")],
        [tensor("x", [2])],
        [tensor("y", [2])],
        opset=opset,
    )
    newest = onnx.defs.onnx_opset_version()
    expect(
        ModelImportError,
        model,
        f"<model>: error: opset {opset} of the default domain is outside the supported "
        f"range 1-{newest}",
    )


@pytest.mark.parametrize("op_type", ["Relu", "Identity", "Flatten"])
def test_model_of_the_newest_opset_imports(op_type: str):
    model = make_model(
        [helper.make_node(op_type, ["x"], ["y"], name="n")],
        [tensor("x", [2, 3])],
        [tensor("y", [2, 3])],
        opset=onnx.defs.onnx_opset_version(),
    )
    assert f"graph.{op_type.lower()} %x" in print_ir(import_onnx(model))


def refuse_conversion(model: onnx.ModelProto, target: int) -> onnx.ModelProto:
    raise AssertionError("the version converter ran")


@pytest.mark.parametrize(("op_type", "opset"), [("Relu", 14), ("Flatten", 23), ("Mod", 13)])
def test_model_whose_definitions_the_dialect_extends_imports_unconverted(
    op_type: str, opset: int, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(onnx.version_converter, "convert_version", refuse_conversion)
    inputs = ["x", "x"] if op_type == "Mod" else ["x"]
    model = make_model(
        [helper.make_node(op_type, inputs, ["y"], name="n")],
        [tensor("x", [2, 3], TensorProto.INT32)],
        [tensor("y", [2, 3], TensorProto.INT32)],
        opset=opset,
    )
    assert f"graph.{op_type.lower()} %x" in print_ir(import_onnx(model))


def test_node_of_a_changed_definition_is_converted():
    split = helper.make_node("Split", ["x"], ["a", "b"], name="s", axis=0, split=[1, 3])
    model = make_model([split], [tensor("x", [4])], [tensor("a", [1]), tensor("b", [3])], opset=11)
    text = print_ir(import_onnx(model))
    assert "graph.split %x, %" in text  # the split sizes became an input (opset 13)
    assert "tensor<1xf32>, tensor<3xf32>" in text


def test_opset_28_cast_imports_with_its_round_mode():
    model = make_model(
        [helper.make_node("Cast", ["x"], ["y"], name="c", to=TensorProto.INT32)],
        [tensor("x", [2])],
        [tensor("y", [2], TensorProto.INT32)],
        opset=28,
    )
    assert "graph.cast %x {to = 6 : i64}" in print_ir(import_onnx(model))


def test_sparse_tensor_attribute_is_unsupported():
    sparse = helper.make_sparse_tensor(
        helper.make_tensor("v", F, [2], [1.0, 2.0]),
        helper.make_tensor("i", TensorProto.INT64, [2], [0, 3]),
        [5],
    )
    model = make_model(
        [helper.make_node("Constant", [], ["y"], name="sparse", sparse_value=sparse)],
        [],
        [tensor("y", [5])],
    )
    expect(
        UnsupportedOpError,
        model,
        "<model>: error: not supported: node 'sparse' (Constant): "
        "attribute 'sparse_value' of type SPARSE_TENSOR",
    )


@pytest.mark.parametrize(
    ("elem", "name"),
    [
        (TensorProto.STRING, "STRING"),
        (TensorProto.COMPLEX64, "COMPLEX64"),
        (TensorProto.COMPLEX128, "COMPLEX128"),
    ],
)
def test_unsupported_element_types_name_the_tensor(elem: int, name: str):
    model = make_model(
        [helper.make_node("Identity", ["x"], ["y"], name="id")],
        [tensor("x", [2], elem)],
        [tensor("y", [2], elem)],
    )
    err = expect(
        UnsupportedError,
        model,
        f"<model>: error: not supported: tensor 'x' has element type {name}, "
        "which has no MLIR type",
    )
    assert not isinstance(err, UnsupportedOpError)


def test_string_constant_is_unsupported():
    model = make_model(
        [helper.make_node("Constant", [], ["y"], name="s", value_string="hi")],
        [],
        [tensor("y", [], TensorProto.STRING)],
    )
    with pytest.raises(UnsupportedError, match=r"node 's' \(Constant\): string constants"):
        import_onnx(model)


def test_no_onnx_exception_escapes_for_corrupted_models():
    data = bytearray(conv_relu_model().SerializeToString())
    rng = np.random.default_rng(3)
    for _ in range(40):
        corrupted = bytearray(data)
        for index in rng.integers(0, len(corrupted), 4):
            corrupted[index] = int(rng.integers(0, 256))
        try:
            import_onnx(bytes(corrupted))
        except LaminaError as err:
            assert str(err).startswith("<bytes>: error: ")


def test_caller_model_is_not_modified():
    model = conv_relu_model(batch="N")
    before = model.SerializeToString()
    import_onnx(model, input_shapes={"x": [1, 3, 8, 8]})
    assert model.SerializeToString() == before


def test_import_is_available_from_a_path_string():
    path = os.fspath(LIGHT_MODELS / "light_squeezenet.onnx")
    assert only_function(import_onnx(path)).sym_name.data == "squeezenet_old"


def test_version_converter_failure_is_an_import_error(monkeypatch: pytest.MonkeyPatch):
    def fail(model: onnx.ModelProto, target: int) -> onnx.ModelProto:
        raise RuntimeError("No Adapter From Version $11 for Frobnicate")

    monkeypatch.setattr(onnx.version_converter, "convert_version", fail)
    model = make_model(
        [helper.make_node("Relu", ["x"], ["y"], name="r")],
        [tensor("x", [2])],
        [tensor("y", [2])],
        opset=11,
    )
    expect(
        ModelImportError,
        model,
        "<model>: error: cannot convert the model from opset 11 to 28: "
        "No Adapter From Version $11 for Frobnicate",
    )


def test_bfloat16_weights_import_as_bf16_constants():
    values = np.array([1.5, -2.0, 0.0, 3.25], ml_dtypes.bfloat16)
    model = make_model(
        [helper.make_node("Identity", ["w"], ["y"], name="id")],
        [],
        [tensor("y", [4], TensorProto.BFLOAT16)],
        [
            helper.make_tensor(
                "w", TensorProto.BFLOAT16, [4], values.view(np.uint16).tobytes(), raw=True
            )
        ],
    )
    constants = [
        op for op in only_function(import_onnx(model)).walk() if isinstance(op, ConstantOp)
    ]
    assert len(constants) == 1
    np.testing.assert_array_equal(constants[0].to_array(), values)
    assert constants[0].to_array().dtype == ml_dtypes.bfloat16


def test_bfloat16_inputs_are_bf16_tensors():
    model = make_model(
        [helper.make_node("Cast", ["x"], ["y"], name="c", to=F)],
        [tensor("x", [3], TensorProto.BFLOAT16)],
        [tensor("y", [3])],
    )
    assert "(%x: tensor<3xbf16>) -> tensor<3xf32>" in round_trip(import_onnx(model))


def test_unused_optional_output_in_the_middle_has_none_type():
    model = make_model(
        [
            helper.make_node(
                "BatchNormalization",
                ["x", "s", "b", "m", "v"],
                ["y", "", "var"],
                name="bn",
                training_mode=1,
            )
        ],
        [tensor(name, [1, 2, 3] if name == "x" else [2]) for name in "xsbmv"],
        [tensor("y", [1, 2, 3]), tensor("var", [2])],
    )
    text = round_trip(import_onnx(model))
    assert "-> (tensor<1x2x3xf32>, none, tensor<2xf32>)" in text


def test_model_local_functions_are_inlined():
    twice = helper.make_function(
        "local",
        "Twice",
        ["a"],
        ["b"],
        [helper.make_node("Add", ["a", "a"], ["b"])],
        [helper.make_opsetid("", 23)],
    )
    model = make_model(
        [helper.make_node("Twice", ["x"], ["y"], name="tw", domain="local")],
        [tensor("x", [2])],
        [tensor("y", [2])],
    )
    model.opset_import.append(helper.make_opsetid("local", 1))
    model.functions.append(twice)
    text = round_trip(import_onnx(model))
    assert "graph.add %x, %x : tensor<2xf32>" in text
