"""Fat bundles (codegen/aot_fat.py): a small YOLOv8-style detector (convs, SiLU, C2f, a
Resize + Concat neck, seeded weights; its class scores are logits) as one bundle of three x86-64 ISA levels, each forced by $LAMINA_VARIANT on this host and the
default the best this host's CPU flags allow; as one AArch64 bundle of Cortex-A53 and
Cortex-A76 code under qemu-aarch64, whose `-cpu` model (QEMU_CPU) picks the variant; the
variants it refuses before compiling."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import onnx
import pytest
from helpers_cli import DiagnosticOf, assert_close_at_scale, onnxruntime_outputs, saved

from lamina.codegen.bundle import Bundle
from lamina.compiler import compile_fat_bundle
from lamina.runtime.qemu import build_bundle, run_bundle
from lamina.tools.compile import main as compile_main
from lamina.tools.model_builders import yolo_detector
from lamina.tools.models import light_model, random_inputs

X86 = ["x86-64-avx2", "x86-64-avx512", "x86-64-avx512-vnni"]
AARCH64 = ["cortex-a53", "cortex-a76"]


Reference = tuple[onnx.ModelProto, dict[str, np.ndarray], list[np.ndarray]]
"""The model, its inputs, onnxruntime's outputs."""


@pytest.fixture(scope="module")
def detector() -> Reference:
    model = yolo_detector(size=64)
    feeds = random_inputs(model)
    return model, feeds, onnxruntime_outputs(model, feeds)


@pytest.fixture(scope="module")
def x86_bundle(detector: Reference, tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    out = tmp_path_factory.mktemp("fat") / "detector"
    return compile_fat_bundle(detector[0], X86, out, name="detector")


def host_best() -> str:
    """The last of X86 this host's /proc/cpuinfo flags allow (what the dispatcher picks)."""
    flags = set(
        next(
            line
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("flags")
        )
        .split(":")[1]
        .split()
    )
    avx512 = {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"} <= flags
    return X86[2] if avx512 and "avx512_vnni" in flags else X86[1] if avx512 else X86[0]


def variant_and_outputs(
    directory: Path, feeds: dict[str, np.ndarray]
) -> tuple[str, list[np.ndarray]]:
    run = run_bundle(directory, feeds)
    (variant,) = [line.split()[1] for line in run.stdout.splitlines() if line.startswith("variant")]
    return variant, run.outputs


def test_fat_x86_bundle_holds_every_variant_behind_one_entry_point(x86_bundle: Bundle):
    files = {p.name for p in x86_bundle.directory.iterdir()}
    assert {f"model-{v}.o" for v in X86} | {"dispatch.c", "model.h", "weights.bin"} <= files
    header = (x86_bundle.directory / "model.h").read_text()
    assert f'#define LAMINA_DETECTOR_VARIANTS "{",".join(X86)}"' in header
    assert "const char *detector_variant(void);" in header
    manifest = Bundle.load(x86_bundle.directory)
    assert [v["device"] for v in manifest.variants or []] == X86
    offsets = [v["weights_offset"] for v in manifest.variants or []]
    assert offsets[0] == 0 and all(o % 64 == 0 for o in offsets)


@pytest.mark.parametrize("variant", X86)
def test_each_forced_x86_variant_matches_onnxruntime(
    x86_bundle: Bundle, detector: Reference, variant: str, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("LAMINA_VARIANT", variant)
    ran, outputs = variant_and_outputs(x86_bundle.directory, detector[1])
    assert ran == variant
    assert_close_at_scale(outputs, detector[2])


def test_the_default_x86_variant_is_the_best_this_host_supports(
    x86_bundle: Bundle, detector: Reference, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv("LAMINA_VARIANT", raising=False)
    ran, outputs = variant_and_outputs(x86_bundle.directory, detector[1])
    assert ran == host_best()
    assert_close_at_scale(outputs, detector[2])


def test_an_unknown_forced_variant_is_reported_and_the_default_runs(x86_bundle: Bundle):
    executable = build_bundle(x86_bundle.directory)
    result = subprocess.run(
        [str(executable.resolve()), "-w", "weights.bin", "-o", "."],
        cwd=x86_bundle.directory,
        env={"LAMINA_VARIANT": "x86-64-avx9"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert "LAMINA_VARIANT=x86-64-avx9 is no variant of detector" in result.stderr
    assert f"variant: {host_best()}" in result.stdout


def test_fat_aarch64_bundle_picks_its_variant_by_the_cpu_under_qemu(
    detector: Reference, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    model, feeds, want = detector
    compile_fat_bundle(model, AARCH64, tmp_path / "fat", name="detector")
    for cpu in AARCH64:
        monkeypatch.setenv("QEMU_CPU", cpu)
        ran, outputs = variant_and_outputs(tmp_path / "fat", feeds)
        assert ran == cpu
        assert_close_at_scale(outputs, want)


@pytest.mark.parametrize(
    ("variants", "message"),
    [
        ("x86-64-avx2", "a fat bundle of fewer than two variants"),
        ("x86-64-avx2,x86-64-avx2", "naming a variant twice"),
        ("x86-64-avx2,cortex-a76", "every variant is a CPU of the first one's triple"),
        ("x86-64-avx2,host", "whose requirements the dispatcher knows"),
        ("x86-64-avx2,opencl", "every variant is a CPU"),
    ],
)
def test_bad_variant_lists_get_one_diagnostic_and_no_bundle(
    variants: str, message: str, tmp_path: Path, diagnostic_of: DiagnosticOf
):
    model = saved(light_model("squeezenet"), tmp_path / "squeezenet.onnx")
    out = tmp_path / "out"
    assert message in diagnostic_of(compile_main, model, "--fat", variants, "-o", out, "-q")
    assert not out.exists()
