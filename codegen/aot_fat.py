"""Fat bundles: one bundle holding a model compiled for several ISA levels of one
architecture, the best this CPU supports chosen on the first call.

    bundle = write_fat_bundle([(avx2, m0), (avx512, m1)], "out/", BundleOptions("squeezenet", ...))

Each variant is a CPU device (`x86-64-avx2`, `x86-64-avx512`, `x86-64-avx512-vnni`;
`cortex-a53`, `cortex-a76`) with the same model lowered for it. Next to what a bundle of
codegen/aot.py holds, `out/` gets:

| file | what |
|---|---|
| `model-<variant>.o` | the variant's object; its entry point is `<name>__<variant>` |
| `dispatch.c` | `<name>(...)`, the bundle's one entry point with the usual C ABI, and `const char *<name>_variant(void)` |
| `weights.bin` | every variant's weights blob, each at a 64-byte aligned offset (packing depends on the ISA level) |
| `Makefile` | links `dispatch.c` and every variant into one `model.o` (`make model.o`), then the driver `run`, which also prints `variant: <name>` |

The dispatcher picks, once (pthread_once), the LAST listed variant whose requirements this
CPU meets (x86: `__builtin_cpu_supports`; AArch64: `getauxval` HWCAP bits), so variants
are listed from the baseline up; the first is the fallback. `LAMINA_VARIANT=<variant>`
forces one (a warning on stderr when the CPU lacks what it needs; an unknown name is
reported and ignored). A variant's requirements are its CPU level's and its `+features`;
one that names a CPU or feature the dispatcher cannot check is refused.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from xdsl.dialects.builtin import ModuleOp, StringAttr

from lamina.codegen import aot_dynamic
from lamina.codegen.aot import (
    ALIGNMENT,
    C_TYPES,
    check_destination,
    describe_kernel,
    driver,
    emit_object,
    header,
    kernel_function,
    makefile,
    prototype,
    weights_blob,
    write_atomically,
)
from lamina.codegen.bundle import MANIFEST, Bundle, BundleOptions
from lamina.errors import UnsupportedError
from lamina.targets import Device, device_file, is_aarch64

X86_LEVELS = {"x86-64": [], "x86-64-v2": ["x86-64-v2"], "x86-64-v3": ["x86-64-v3"]}
X86_LEVELS["x86-64-v4"] = ["x86-64-v4"]
X86_FEATURES = {
    *("sse3", "ssse3", "sse4.1", "sse4.2", "popcnt", "avx", "avx2", "fma", "bmi", "bmi2"),
    *("avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl", "avx512vnni", "avx512bf16"),
    *("avx512fp16", "avx512vbmi", "avx512ifma", "avxvnni", "gfni", "vpclmulqdq", "aes"),
}
"""LLVM features that GCC's and Clang's `__builtin_cpu_supports` know by the same name."""
_ARMV82 = ["asimd", "asimddp", "atomics", "lrcpc", "fphp", "asimdhp"]
AARCH64_CPUS: dict[str, list[str]] = {
    "generic": [],
    "cortex-a53": ["asimd"],
    "cortex-a55": _ARMV82,
    "cortex-a76": _ARMV82,
}
"""What LLVM may emit for each CPU it is told, as Linux HWCAP names."""
AARCH64_FEATURES = {
    "neon": ["asimd"],
    "dotprod": ["asimddp"],
    "fullfp16": ["fphp", "asimdhp"],
    "i8mm": ["i8mm"],
    "bf16": ["bf16"],
}
HWCAPS = {
    "asimd": ("AT_HWCAP", 1),
    "atomics": ("AT_HWCAP", 8),
    "fphp": ("AT_HWCAP", 9),
    "asimdhp": ("AT_HWCAP", 10),
    "lrcpc": ("AT_HWCAP", 15),
    "asimddp": ("AT_HWCAP", 20),
    "i8mm": ("AT_HWCAP2", 13),
    "bf16": ("AT_HWCAP2", 14),
}
"""Linux's arm64 HWCAP bits (arch/arm64/include/uapi/asm/hwcap.h)."""
VARIANT_VARIABLE = "LAMINA_VARIANT"


def requirements(device: Device) -> list[str]:
    """What the CPU must support to run code for `device`: `__builtin_cpu_supports` names
    on x86, HWCAP names on AArch64 (the CPU level's, then the `+features`')."""
    wanted = [f[1:] for f in device.features if f.startswith("+")]
    if is_aarch64(device):
        table, features, what = AARCH64_CPUS, AARCH64_FEATURES, "AArch64"
    elif device.triple.startswith("x86_64"):
        table, features, what = X86_LEVELS, {f: [f] for f in X86_FEATURES}, "x86-64"
    else:
        raise UnsupportedError(f"fat bundles for '{device.triple}' (x86-64 and AArch64 only)")
    if device.cpu not in table:
        raise UnsupportedError(
            f"fat bundle variant '{device.name}' with CPU '{device.cpu}': a variant names a "
            f"generic {what} level ({', '.join(table)}) whose requirements the dispatcher knows"
        )
    needed = list(table[device.cpu])
    for feature in wanted:
        if feature not in features:
            raise UnsupportedError(
                f"fat bundle variant '{device.name}' needs '+{feature}', which the dispatcher "
                "cannot detect"
            )
        needed += [n for n in features[feature] if n not in needed]
    return needed


def variant_symbol(name: str, device: Device) -> str:
    return f"{name}__{re.sub(r'[^A-Za-z0-9_]', '_', device.name)}"


def write_fat_bundle(
    variants: Sequence[tuple[Device, ModuleOp]],
    out_dir: str | Path,
    options: BundleOptions,
) -> Bundle:
    """Write the fat bundle of `variants` (device, its loop-level module), listed from the
    baseline up, into `out_dir` (see the module docstring)."""
    name, stats = options.name, options.stats
    out = Path(out_dir)
    check_destination(out)
    check_variants([device for device, _ in variants])
    files: dict[str, bytes] = {}
    blobs: list[bytes] = []
    described: list[tuple[Device, Bundle, int]] = []
    offset = 0
    start = time.perf_counter()
    for device, module in variants:
        kernel = kernel_function(module)
        kernel.sym_name = StringAttr(variant_symbol(name, device))
        part = describe_kernel(
            kernel, device, out, list(options.input_names), list(options.output_names)
        )
        if aot_dynamic.is_dynamic(part):
            raise UnsupportedError("dynamic shapes in a fat bundle", op=kernel)
        files[f"model-{device.name}.o"] = emit_object(module, device, options.opt_level)
        blob = weights_blob(kernel, part.weights_bytes).tobytes()
        blobs.append(blob + bytes(-len(blob) % ALIGNMENT))
        described.append((device, part, offset))
        offset += len(blobs[-1])
    if stats is not None:
        stats.record("llvm", time.perf_counter() - start)
    first = described[0][1]
    bundle = replace(
        first,
        name=name,
        device=",".join(device.name for device, _ in variants),
        weights_bytes=offset,
        arena_bytes=max(part.arena_bytes for _, part, _ in described),
        threads=max(part.threads for _, part, _ in described),
        variants=[_variant_entry(device, part, at) for device, part, at in described],
        stats=stats,
    )
    for _, part, _ in described:
        if (part.inputs, part.outputs) != (first.inputs, first.outputs):
            raise UnsupportedError("fat bundle variants whose tensors differ")
    objects = [f"model-{device.name}.o" for device, _ in variants]
    files |= {
        "dispatch.c": dispatcher(bundle, described).encode(),
        "model.h": fat_header(bundle).encode(),
        "weights.bin": b"".join(blobs),
        "main.c": driver(bundle, [f'printf("variant: %s\\n", {name}_variant());']).encode(),
        "Makefile": makefile(
            bundle, variants[0][0], options.cflags, linked=("dispatch.c", objects)
        ).encode(),
        MANIFEST: json.dumps(bundle.manifest(), indent=2).encode(),
    }
    write_atomically(out, files)
    return bundle


def check_variants(devices: Sequence[Device]) -> None:
    """At least two CPU variants of one triple, distinct, each with known requirements."""
    if len(devices) < 2:
        raise UnsupportedError("a fat bundle of fewer than two variants")
    names = [d.name for d in devices]
    if len(set(names)) != len(names):
        raise UnsupportedError(f"a fat bundle naming a variant twice ({', '.join(names)})")
    for device in devices:
        if device.kind != "cpu" or device.triple != devices[0].triple:
            raise UnsupportedError(
                f"fat bundle variant '{device.name}' ({device.kind}, {device.triple}): every "
                f"variant is a CPU of the first one's triple ({devices[0].triple})"
            )
        requirements(device)


def _variant_entry(device: Device, part: Bundle, offset: int) -> dict[str, Any]:
    return {
        "device": device.name,
        "device_file": str(device_file(device.source or device.name).resolve()),
        "cpu": device.cpu,
        "features": list(device.features),
        "requires": requirements(device),
        "object": f"model-{device.name}.o",
        "weights_offset": offset,
        "weights_bytes": part.weights_bytes,
        "arena_bytes": part.arena_bytes,
    }


def fat_header(bundle: Bundle) -> str:
    """codegen/aot.py's header with the variants' names and `<name>_variant()`."""
    prefix = f"LAMINA_{bundle.name.upper()}_"
    names = ",".join(v["device"] for v in bundle.variants or [])
    macros = [
        f"#define {prefix}NUM_VARIANTS {len(bundle.variants or [])}",
        f'#define {prefix}VARIANTS "{names}" /* baseline first; {VARIANT_VARIABLE} forces one */',
    ]
    variant = f"const char *{bundle.name}_variant(void); /* the variant this CPU runs */"
    return header(bundle, macros=macros, declarations=[variant])


def dispatcher(bundle: Bundle, described: Sequence[tuple[Device, Bundle, int]]) -> str:
    """`dispatch.c`: the variants' prototypes, the CPU checks, the entry point."""
    name = bundle.name
    params = ["const void *weights", "void *arena", *aot_dynamic.tensor_parameters(bundle, C_TYPES)]
    arguments = ["w", "arena", *(p.split()[-1].lstrip("*") for p in params[2:])]
    lines = [
        f"/* lamina fat bundle {name}: variants {bundle.device}. Generated: do not edit. */",
        "#include <pthread.h>",
        "#include <stddef.h>",
        "#include <stdio.h>",
        "#include <stdlib.h>",
        "#include <string.h>",
        "#if defined(__aarch64__)",
        "#include <sys/auxv.h>",
        "#endif",
        '#include "model.h"',
        "",
    ]
    for device, _, _ in described:
        lines.append(f"void {prototype(replace(bundle, name=variant_symbol(name, device)))};")
    count = len(described)
    quoted = ", ".join(json.dumps(device.name) for device, _, _ in described)
    offsets = ", ".join(str(at) for _, _, at in described)
    lines += [
        "",
        f"static const char *const variant_names[{count}] = {{{quoted}}};",
        f"static const size_t weights_offsets[{count}] = {{{offsets}}};",
        "static int chosen;",
        "static pthread_once_t chosen_once = PTHREAD_ONCE_INIT;",
        "",
        "/* Whether this CPU has what variant k needs. */",
        "static int supported(int k) {",
        "#if defined(__x86_64__)",
        "    __builtin_cpu_init();",
        "#endif",
        "    switch (k) {",
    ]
    for k, (device, _, _) in enumerate(described):
        lines.append(f"    case {k}: return {_check(device)};")
    lines += [
        "    }",
        "    return 0;",
        "}",
        "",
        "static void choose(void) {",
        "    chosen = 0; /* the baseline, when nothing better fits */",
        f"    for (int k = {count - 1}; k > 0; k--)",
        "        if (supported(k)) {",
        "            chosen = k;",
        "            break;",
        "        }",
        f'    const char *forced = getenv("{VARIANT_VARIABLE}");',
        "    if (!forced || !*forced) return;",
        f"    for (int k = 0; k < {count}; k++)",
        "        if (strcmp(forced, variant_names[k]) == 0) {",
        "            if (!supported(k))",
        '                fprintf(stderr, "lamina: %s forced by '
        + VARIANT_VARIABLE
        + ', though this CPU lacks what it needs\\n", forced);',
        "            chosen = k;",
        "            return;",
        "        }",
        f'    fprintf(stderr, "lamina: {VARIANT_VARIABLE}=%s is no variant of {name} '
        f'({bundle.device}); running %s\\n", forced, variant_names[chosen]);',
        "}",
        "",
        f"const char *{name}_variant(void) {{",
        "    pthread_once(&chosen_once, choose);",
        "    return variant_names[chosen];",
        "}",
        "",
        f"void {name}({', '.join(params)}) {{",
        "    pthread_once(&chosen_once, choose);",
        "    const void *w = (const char *)weights + weights_offsets[chosen];",
        "    switch (chosen) {",
    ]
    for k, (device, _, _) in enumerate(described):
        call = f"{variant_symbol(name, device)}({', '.join(arguments)})"
        lines.append(f"    case {k}: {call}; return;")
    lines += ["    }", "}", ""]
    return "\n".join(lines)


def _check(device: Device) -> str:
    needs = requirements(device)
    if not needs:
        return "1"
    if is_aarch64(device):
        return " && ".join(f"((getauxval({HWCAPS[n][0]}) >> {HWCAPS[n][1]}) & 1)" for n in needs)
    return " && ".join(f'__builtin_cpu_supports("{n}")' for n in needs)
