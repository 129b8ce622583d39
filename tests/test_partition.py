"""graph-partition (lowering/partition.py, partition_cost.py) and SoC descriptions
(targets/soc.py): placement by cost, forcing, and the errors users see."""

from __future__ import annotations

from pathlib import Path

import pytest
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp

from lamina.context import make_context
from lamina.dialects.partition import SegmentOp, TransferOp
from lamina.errors import DeviceError, LaminaError, UnsupportedOpError
from lamina.lowering.partition import GraphPartitionPass
from lamina.parser.onnx import import_onnx
from lamina.targets import known_devices
from lamina.targets.soc import known_socs, load_soc
from lamina.tools.models import light_model

SOC_TEXT = """name = "tiny"
[units.cpu]
device = "host"
dtypes = ["f32", "i1", "i64"]
gflops = {{ f32 = 10.0 }}
memory_gbs = 10.0
[units.gpu]
device = "{device}"
gflops = {{ f32 = {gpu_gflops} }}
memory_gbs = 10.0
launch_us = 1.0
[[transfers]]
between = ["cpu", "gpu"]
latency_us = 1.0
gbs = 10.0
"""


def write_soc(tmp_path: Path, gpu_gflops: str = "1000.0", device: str = "opencl") -> str:
    path = tmp_path / "tiny.toml"
    path.write_text(SOC_TEXT.format(gpu_gflops=gpu_gflops, device=device))
    return str(path)


def partitioned(soc: str, force: tuple[str, ...] = ()) -> ModuleOp:
    module = import_onnx(light_model("squeezenet"))
    GraphPartitionPass(soc=soc, force=force).apply(make_context(), module)
    module.verify()
    return module


def units_of(module: ModuleOp) -> list[str]:
    return [op.unit.data for op in module.walk() if isinstance(op, SegmentOp)]


def test_soc_descriptions_load_and_are_not_devices():
    assert {"host", "phone"} <= set(known_socs())
    phone = load_soc("phone")
    assert set(phone.units) == {"cpu", "gpu", "dsp"}
    assert phone.units["dsp"].device == "hexagon-v66-hvx128"
    assert not any(name.startswith("soc-") for name in known_devices())
    assert phone.transfer_seconds("cpu", "gpu", 20e9) == pytest.approx(1.0 + 30e-6)


def test_malformed_soc_names_its_line(tmp_path: Path):
    path = tmp_path / "bad.toml"
    path.write_text('name = "x"\n[units.cpu]\ndevice = "host"\ngflops = { f32 = }\n')
    with pytest.raises(DeviceError) as error:
        load_soc(str(path))
    assert str(error.value).startswith(f"{path}:4: error: ")


def test_soc_with_unknown_device_names_its_line(tmp_path: Path):
    path = write_soc(tmp_path, device="no-such-gpu")
    with pytest.raises(DeviceError, match="unit 'gpu': unknown device 'no-such-gpu'") as error:
        load_soc(path)
    assert error.value.where == f"{path}:8"


def test_unknown_soc_lists_the_known_ones():
    with pytest.raises(DeviceError, match=r"unknown SoC 'toaster' \(known SoCs: .*phone"):
        load_soc("toaster")


def test_squeezenet_stays_on_the_cpu_of_this_machine():
    module = partitioned("host")
    assert units_of(module) == ["cpu"]
    assert not any(isinstance(op, TransferOp) for op in module.walk())


def test_a_fast_gpu_takes_the_convolutions(tmp_path: Path):
    module = partitioned(write_soc(tmp_path, gpu_gflops="1000.0"))
    convs = [
        seg.unit.data
        for seg in module.walk()
        if isinstance(seg, SegmentOp)
        for op in seg.block.ops
        if op.name == "graph.conv"
    ]
    assert convs and set(convs) == {"gpu"}
    function = next(op for op in module.walk() if isinstance(op, func.FuncOp))
    ret = function.body.block.last_op
    assert ret is not None
    for value in ret.operands:  # outputs come back to the host unit
        owner = value.owner
        assert (isinstance(owner, TransferOp) and owner.dest.data == "cpu") or (
            isinstance(owner, SegmentOp) and owner.unit.data == "cpu"
        )


def test_force_by_op_type_and_node_name(tmp_path: Path):
    module = partitioned("host", force=("Conv:gpu", "n0:cpu"))
    for seg in (op for op in module.walk() if isinstance(op, SegmentOp)):
        for op in seg.block.ops:
            if op.name == "graph.conv":
                first = "n0" in str(op.location)
                assert seg.unit.data == ("cpu" if first else "gpu")


def test_force_errors_name_the_entry():
    with pytest.raises(LaminaError, match="SoC 'host' has no unit 'npu'"):
        partitioned("host", force=("Conv:npu",))
    with pytest.raises(LaminaError, match="force entry 'Conv' is not"):
        partitioned("host", force=("Conv",))


def test_op_no_unit_supports_is_not_supported(tmp_path: Path):
    path = tmp_path / "gpu-only-convs.toml"
    path.write_text(
        SOC_TEXT.format(gpu_gflops="10.0", device="opencl").replace(
            "[units.gpu]", '[units.gpu]\nops = ["Conv"]'
        )
    )
    with pytest.raises(UnsupportedOpError, match=r"not supported: .*\(Relu\) .* on unit 'gpu'"):
        partitioned(str(path), force=("Relu:gpu",))


def test_dump_writes_a_dot_picture(tmp_path: Path):
    module = import_onnx(light_model("squeezenet"))
    dot = tmp_path / "graph.dot"
    GraphPartitionPass(soc="host", force=("Concat:gpu",), dump=str(dot)).apply(
        make_context(), module
    )
    text = dot.read_text()
    assert text.startswith("digraph partition {") and 'label="gpu #' in text
    assert text.count("color=red") >= 8  # each concat's inputs and output cross units


def test_fused_and_nhwc_convs_cost_their_multiply_accumulates():
    from xdsl.dialects.builtin import TensorType, f32
    from xdsl.dialects.test import TestOp

    from lamina.dialects.graph import ConvOp, NhwcConvOp, NoneOp
    from lamina.lowering.partition_cost import op_flops

    def value(shape: list[int]):
        return TestOp(result_types=[TensorType(f32, shape)]).results[0]

    none = NoneOp().results[0]
    out = TensorType(f32, [1, 8, 6, 6])
    nchw = ConvOp.create(
        operands=[value([1, 3, 8, 8]), value([8, 3, 3, 3]), none], result_types=[out]
    )
    expected = 2.0 * 8 * 6 * 6 * 3 * 3 * 3
    assert op_flops(nchw, "Conv") == expected
    assert op_flops(nchw, "graph.fused_conv") == expected
    nhwc = NhwcConvOp.create(
        operands=[value([1, 8, 8, 3]), value([3, 3, 3, 8]), none],
        result_types=[TensorType(f32, [1, 6, 6, 8])],
    )
    assert op_flops(nhwc, "graph.nhwc_conv") == expected
