"""Count the instructions a program executes under user-mode qemu, by function, with a TCG
plugin of lamina's own (runtime/qemu_count_plugin.c; Debian's qemu-user ships none).

    counter = InstructionCounter(executable, scratch_dir)
    subprocess.run([*emulator, *counter.options, executable, ...])
    count = counter.read()            # count.total.instructions, count.functions["main"]

QEMU counts in the units its translator steps through: a packet on Hexagon (up to four
instructions issued together), one instruction elsewhere; those are `packets`. The
plugin counts `instructions` within a Hexagon packet from its words (a duplex word is two,
a constant extender and a nop none, as QEMU's own count); elsewhere they equal `packets`.
Counting is cheap (SqueezeNet under qemu-hexagon takes no measurably longer): two inline
adds per translation block executed, into the counters of the function holding the
block's first address. Functions are the executable's text symbols (`llvm-nm`; a symbol
without a size ends at the next one or at the end of its text section, `llvm-objdump`),
moved by where QEMU loads a position-independent executable. A block that runs past its
function's end counts there; code outside every symbol (a shared library) counts under
`OUTSIDE`. Inline adds are not atomic: a multi-threaded guest is counted inexactly.

The plugin is built once with `gcc -shared -fPIC` into `qemu-plugins` in the object cache's
directory (`$LAMINA_CACHE_DIR`, else `~/.cache/lamina/objects`: tests get a temporary one),
named by the hash of its source; without a cache directory, or where it is not writable,
into the system's temporary directory. A missing gcc or llvm-nm / llvm-objdump is a `DeviceError`
naming the Debian package.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from lamina.codegen.object_cache import default_cache_dir
from lamina.errors import DeviceError, LaminaError

PLUGIN_SOURCE = Path(__file__).with_name("qemu_count_plugin.c")
OUTSIDE = "(outside the executable's symbols)"
"""The `functions` key of code no text symbol of the executable covers."""
_TEXT_SYMBOL_TYPES = ("t", "T", "W")
_PT_LOAD, _PF_X = 1, 1
_ELF32 = {"phoff": (28, 4), "phentsize": (42, 2), "phnum": (44, 2), "p_vaddr": (8, 4)}
_ELF64 = {"phoff": (32, 8), "phentsize": (54, 2), "phnum": (56, 2), "p_vaddr": (16, 8)}
_ELF32 |= {"p_type": (0, 4), "p_flags": (24, 4)}
_ELF64 |= {"p_type": (0, 4), "p_flags": (4, 4)}
"""(offset, size) of the fields used: the ELF header's, then a program header's."""


@dataclass(frozen=True)
class Counts:
    """Executed packets (QEMU's translation steps) and instructions."""

    packets: int
    instructions: int

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.packets + other.packets, self.instructions + other.instructions)


@dataclass(frozen=True)
class InstructionCount:
    """What one run executed: in total and per function (those that ran, by symbol)."""

    target: str
    functions: dict[str, Counts]

    @property
    def total(self) -> Counts:
        """The whole run: every function's counts and `OUTSIDE`'s."""
        return sum(self.functions.values(), Counts(0, 0))


@dataclass(frozen=True)
class Function:
    """A text symbol's address range [start, end) in the executable."""

    name: str
    start: int
    end: int


def _require(tool: str, package: str, why: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise DeviceError(f"{tool} is not installed (Debian package {package}): {why}")
    return path


def _cache_dirs() -> list[Path]:
    objects = default_cache_dir()
    beside_objects = [] if objects is None else [objects / "qemu-plugins"]
    return [*beside_objects, Path(tempfile.gettempdir())]


@functools.cache
def plugin_library() -> Path:
    """The built plugin (see the module docstring: once per source, cached)."""
    compiler = _require("gcc", "gcc", "it builds the instruction-counting qemu plugin")
    source = PLUGIN_SOURCE.read_bytes()
    name = f"lamina-count-{hashlib.sha256(source).hexdigest()[:16]}.so"
    errors = []
    for directory in _cache_dirs():
        library = directory / name
        if library.is_file():
            return library
        try:
            directory.mkdir(parents=True, exist_ok=True)
            handle, partial = tempfile.mkstemp(dir=directory, suffix=".so")
            os.close(handle)
        except OSError as e:
            errors.append(str(e))
            continue
        command = [compiler, "-shared", "-fPIC", "-O2", "-fvisibility=hidden"]
        done = subprocess.run(
            [*command, "-o", partial, str(PLUGIN_SOURCE)], capture_output=True, text=True
        )
        if done.returncode != 0:
            Path(partial).unlink(missing_ok=True)
            raise LaminaError(f"building the qemu plugin failed: {done.stderr.strip()}")
        os.replace(partial, library)  # a reader never sees half a library
        return library
    raise LaminaError(f"no directory to build the qemu plugin in: {'; '.join(errors)}")


def text_functions(executable: str | Path) -> list[Function]:
    """The executable's text symbols as disjoint ranges in address order: a symbol without
    a size ends at the next one or at the end of its text section; of aliases (one
    address) the shortest name stays."""
    symbols: dict[int, list[tuple[int, str]]] = {}  # start -> (size, name) of its aliases
    for fields in _llvm_lines("llvm-nm", "--defined-only", "--numeric-sort", "-S", executable):
        if len(fields) in (3, 4) and fields[-2] in _TEXT_SYMBOL_TYPES:
            size = int(fields[1], 16) if len(fields) == 4 else 0
            symbols.setdefault(int(fields[0], 16), []).append((size, fields[-1]))
    sections = [  # (start, end) of each text section: `Idx Name Size VMA TEXT`
        (int(f[3], 16), int(f[3], 16) + int(f[2], 16))
        for f in _llvm_lines("llvm-objdump", "--section-headers", executable)
        if len(f) == 5 and f[4] == "TEXT"
    ]
    starts = sorted(symbols)
    functions = []
    for start, following in zip(starts, [*starts[1:], None], strict=True):
        size = max(size for size, _ in symbols[start])
        name = min((name for _, name in symbols[start]), key=len)
        section_end = next((e for s, e in sections if s <= start < e), start + 1)
        end = min(start + size if size else section_end, following or section_end)
        functions.append(Function(name, start, end))
    return functions


def _llvm_lines(tool: str, *arguments: str | Path) -> list[list[str]]:
    """The whitespace-split lines `tool` prints (a `LaminaError` if it fails)."""
    path = _require(tool, "llvm", "it lists the functions instructions are counted by")
    done = subprocess.run([path, *map(str, arguments)], capture_output=True, text=True)
    if done.returncode != 0:
        raise LaminaError(f"{tool} failed: {done.stderr.strip()}", where=str(arguments[-1]))
    return [line.split() for line in done.stdout.splitlines()]


def code_start(executable: str | Path) -> int:
    """The lowest address of an executable (PF_X) PT_LOAD segment in the ELF program
    headers of `executable` (32- or 64-bit, little-endian)."""
    data = Path(executable).read_bytes()
    if data[:4] != b"\x7fELF" or data[5] != 1 or data[4] not in (1, 2):
        raise LaminaError("not a little-endian ELF executable", where=str(executable))
    layout = _ELF64 if data[4] == 2 else _ELF32

    def field(offset: int, name: str) -> int:
        at, size = layout[name]
        return int.from_bytes(data[offset + at : offset + at + size], "little")

    headers = [field(0, "phoff") + k * field(0, "phentsize") for k in range(field(0, "phnum"))]
    starts = [
        field(h, "p_vaddr")
        for h in headers
        if field(h, "p_type") == _PT_LOAD and field(h, "p_flags") & _PF_X
    ]
    if not starts:
        raise LaminaError("no executable segment", where=str(executable))
    return min(starts)


class InstructionCounter:
    """The qemu options that count one run of `executable` (files in `scratch`), and the
    counts that run left."""

    def __init__(self, executable: str | Path, scratch: str | Path) -> None:
        self.functions = text_functions(executable)
        self._regions = Path(scratch) / "lamina-count-regions.txt"
        self._log = Path(scratch) / "lamina-count.log"
        self._regions.write_text("".join(f"{f.start:x} {f.end:x}\n" for f in self.functions))
        self._code = code_start(executable)
        self._log.unlink(missing_ok=True)

    @property
    def options(self) -> list[str]:
        """What goes between the emulator and the program on its command line."""
        plugin = f"{plugin_library()},regions={self._regions},code={self._code:x}"
        return ["-plugin", plugin, "-d", "plugin", "-D", str(self._log)]

    def read(self) -> InstructionCount:
        """The counts of the run (the plugin writes them when the guest exits)."""
        if not self._log.is_file():
            raise LaminaError("the qemu plugin left no counts (did the program run?)")
        target, functions = "", {}
        for line in self._log.read_text().splitlines():
            fields = line.split()
            if fields[:2] == ["lamina-count", "target"]:
                target = fields[2]
            elif fields[:2] == ["lamina-count", "region"]:
                k = int(fields[2])
                name = self.functions[k - 1].name if k else OUTSIDE
                functions[name] = Counts(int(fields[4]), int(fields[6]))
        if not target:
            raise LaminaError(f"the qemu plugin's log {self._log} has no counts")
        return InstructionCount(target, functions)
