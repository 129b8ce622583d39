"""Two bundles' headers in one C file (issue 17): each has its own include guard and its
macros start with `LAMINA_<NAME>_`, so they neither clash nor warn."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from lamina.compiler import compile_bundle


def _model(inner: int) -> onnx.ModelProto:
    weight = numpy_helper.from_array(np.ones((inner, 3), np.float32), "W")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, inner])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
        [weight],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


USER = """#include "detector/model.h"
#include "classifier/model.h"
#include "detector/model.h" /* twice: the include guard keeps it once */

_Static_assert(LAMINA_DETECTOR_IN0_ELEMENTS == 4, "detector input");
_Static_assert(LAMINA_CLASSIFIER_IN0_ELEMENTS == 6, "classifier input");
_Static_assert(LAMINA_DETECTOR_NUM_INPUTS == 1 && LAMINA_CLASSIFIER_NUM_OUTPUTS == 1, "counts");

int main(void) {
    void (*entries[2])(void) = {(void (*)(void))detector, (void (*)(void))classifier};
    return entries[0] == entries[1];
}
"""


def test_two_bundles_headers_compile_in_one_c_file(tmp_path: Path):
    detector = compile_bundle(_model(4), "host", tmp_path / "detector", name="detector")
    classifier = compile_bundle(_model(6), "host", tmp_path / "classifier", name="classifier")
    assert "#ifndef LAMINA_DETECTOR_H" in (detector.directory / "model.h").read_text()
    (tmp_path / "user.c").write_text(USER)
    command = ["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-c", "user.c", "-o", "user.o"]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert classifier.name == "classifier"
