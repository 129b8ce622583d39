"""An example lamina backend plugin (plugins.py): the device `ort-cpu`, of kind `runtime`,
whose graph segments run through onnxruntime's CPU execution provider, and the SoC
`host-ort` (this machine's CPU through lamina, plus that device as the unit `ort`).

    pip install -e examples/lamina-ort-backend
    lamina-compile --list-devices                        # lists ort-cpu
    compile_hetero("model.onnx", soc="host-ort", force=("Conv:ort",))

A segment (its graph-level module) goes back to ONNX through lamina's exporter
(tools/onnx_export.py) and becomes one onnxruntime session.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lamina.plugins import Backend


def compile_segment(module: Any, device: Any) -> Any:
    """The kernel of one segment: numpy inputs in the segment's order -> its results."""
    import numpy as np
    import onnxruntime as ort

    from lamina.tools.onnx_export import export_onnx

    model = export_onnx(module)
    options = ort.SessionOptions()
    options.intra_op_num_threads = int(device.cores)
    session = ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    names = [i.name for i in session.get_inputs()]

    def kernel(*arrays: Any) -> list[Any]:
        feeds = dict(zip(names, arrays, strict=True))
        return [np.asarray(x) for x in session.run(None, feeds)]

    return kernel


BACKEND = Backend(
    name="ort",
    device_directories=(Path(__file__).parent / "devices",),
    runtimes={"onnxruntime": compile_segment},
)
