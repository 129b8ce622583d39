"""The nine `light_*` models of the onnx wheel through the reference interpreter, against
onnxruntime.

The light models are real architectures whose weights are `ConstantOfShape` fills (every
weight one constant), which would make most outputs equal. `with_random_weights` replaces
them, seeded: conv and dense weights He-scaled normals (so activations neither vanish nor
explode over 100+ layers), biases 0.1 * normal, BatchNormalization statistics near the
identity (scale 0.5 + 0.1 * normal, variance in [0.5, 1.5]; the half keeps the residual
sums of ResNet from growing 2x per block).

    python benchmarks/reference_light_models.py [name-substring ...]
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx

from lamina.tools.models import (
    LIGHT_MODELS,
    light_model_path,
    random_inputs,
    with_logits,
    with_random_weights,
)

RTOL, ATOL = 1e-3, 1e-4
"""float32 models of 10-120 layers summed in a different order than onnxruntime's kernels
(im2col + BLAS here, direct/Winograd/MLAS there): about 1e-5 relative per layer adds up."""


@dataclass
class LightResult:
    name: str
    import_s: float
    reference_s: float
    onnxruntime_s: float
    max_abs_error: float
    max_rel_error: float
    """max |ref - ort| / max |ort| over the outputs (probabilities and logits): the error
    relative to each output's scale."""
    matches: bool


def compare(path: Path) -> LightResult:
    import onnxruntime as ort

    from lamina.parser.onnx import import_onnx
    from lamina.runtime.reference import run_reference

    model = with_logits(with_random_weights(onnx.load(path)))
    feeds = random_inputs(model)
    start = time.perf_counter()
    module = import_onnx(model)
    imported = time.perf_counter()
    outputs = run_reference(module, feeds)
    ran = time.perf_counter()
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    ort_start = time.perf_counter()
    expected = [np.asarray(e) for e in session.run(None, feeds)]
    ort_s = time.perf_counter() - ort_start
    pairs = list(zip(outputs, expected, strict=True))
    abs_err = max(float(np.abs(o - e).max()) for o, e in pairs)
    rel_err = max(float(np.abs(o - e).max() / np.abs(e).max()) for o, e in pairs)
    matches = all(np.allclose(o, e, rtol=RTOL, atol=ATOL) for o, e in pairs)
    return LightResult(
        path.stem, imported - start, ran - imported, ort_s, abs_err, rel_err, matches
    )


def main(argv: Sequence[str] = ()) -> int:
    names = [m for m in LIGHT_MODELS if not argv or any(a in m for a in argv)]
    paths = [light_model_path(m) for m in names]
    print(f"{'model':22} {'import':>8} {'reference':>10} {'ort':>8} {'max abs':>9} {'max rel':>9}")
    failed = 0
    for path in paths:
        r = compare(path)
        failed += not r.matches
        print(
            f"{r.name:22} {r.import_s:7.2f}s {r.reference_s:9.2f}s {r.onnxruntime_s:7.3f}s "
            f"{r.max_abs_error:9.2e} {r.max_rel_error:9.2e} {'ok' if r.matches else 'MISMATCH'}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
