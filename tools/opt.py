"""lamina-opt: the opt-style driver (parse, run a pass pipeline, print).

Built on xDSL's `xDSLOptMain`; what lamina adds:
- every diagnostic is `file:line:col: error: message` on stderr with exit code 1, never a
  traceback, and nothing is written to `-o` unless every split succeeded;
- a real `--verify-diagnostics`: `// expected-error {{...}}` annotations are matched
  against the produced diagnostics like mlir-opt does, failing on a missing or unexpected one;
- mlir-opt's pass flags (tools/opt_instrument.py): `--pass-pipeline='builtin.module(...)'`,
  `--print-ir-before/after=<pass>`, `--print-ir-after-all` / `--print-between-passes`,
  `--print-ir-after-change`, and `--time-passes` as a tree of every phase with percentages,
  all reporting on stderr, keeping stdout the IR;
- `.onnx` inputs are imported (`--input-shape name=1x3x224x224` binds dynamic dims);
- `--view-op-graph=out.dot` and `--emit-onnx out.onnx` also write a picture of the result
  and the graph level as ONNX (tools/opt_outputs.py);
- `--print-weights` prints the bytes of `dense_resource` weights instead of eliding them.
"""

from __future__ import annotations

import argparse
import functools
import gc
import os
import re
import struct
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from io import StringIO

from xdsl.dialects.builtin import FileLineColLoc, ModuleOp, NameLoc
from xdsl.ir import AttributeInvT, Operation, SSAValue, TypeAttribute
from xdsl.parser import Parser
from xdsl.parser.core import UnresolvedOperand
from xdsl.passes import ModulePass
from xdsl.printer import Printer
from xdsl.universe import Universe
from xdsl.utils.exceptions import (
    ArgSpecParseError,
    DiagnosticException,
    ParseError,
    VerifyException,
)
from xdsl.utils.lexer import Span
from xdsl.utils.mlir_lexer import MLIRTokenKind
from xdsl.xdsl_opt_main import xDSLOptMain

import lamina.xdsl_patches  # noqa: F401  (linear-time string lexing before any parse)
from lamina.context import LazyImport
from lamina.dialects.weights import printing_weights
from lamina.errors import LaminaError
from lamina.parser.tflite_source import is_tflite_model
from lamina.tools.diagnostics import (
    Diagnostic,
    check_diagnostics,
    expected_diagnostics,
    printing_warnings,
)
from lamina.tools.flags import add_input_shape_flag
from lamina.tools.opt_instrument import (
    IRDumps,
    PhaseTimer,
    add_instrument_arguments,
    pipeline_spec,
)
from lamina.tools.opt_outputs import SideOutputs, add_output_arguments
from lamina.tools.versions import add_version_flag
from lamina.universe import LAMINA_DIALECTS, LAMINA_PASSES, parse_pass_pipeline

_SPLIT_MARKER = re.compile(r"^// -----[ \t]*$", re.MULTILINE)

_PARAMETRIZED_TYPES = frozenset({"tensor", "memref", "vector", "complex", "tuple"})
"""xDSL's builtin parametrized types: `name<...>`."""
_PLAIN_TYPE_BODY = re.compile(r"<[\w.?\[\], ]*(?:<[\w.?\[\], ]*>[\w.?\[\], ]*)*>", re.ASCII)
"""The `<...>` of such a type when it holds only names, numbers, `?`, `[]`, `,` and spaces,
nested one deep (`tensor<2xcomplex<f32>>`): no string, attribute, comment or line break,
so the text alone decides the type it parses to."""


class LocatingParser(Parser):
    """A parser that remembers where each operation starts, so diagnostics about an op
    (from its verifier or from a pass) can name its line and column, and reports a value
    that is used but never defined at its first use (xDSL reports it at the end of input).

    It parses the text of a plain builtin parametrized type (`tensor<1x16xf32>`, see
    `_PLAIN_TYPE_BODY`) once and reuses that type wherever the same text appears again:
    a graph-level module spells the same few tensor types thousands of times, and xDSL
    lexes and builds each one anew (most of the parse time). Only types that parsed
    without error are reused, so every diagnostic comes from xDSL's parser as before."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.op_spans: dict[Operation, Span[str] | Span[bytes]] = {}
        self.first_uses: dict[str, Span[str] | Span[bytes]] = {}
        self.types_by_text: dict[str, TypeAttribute] = {}

    def parse_optional_type(self) -> TypeAttribute | None:
        token = self._current_token
        if token.kind != MLIRTokenKind.BARE_IDENT or token.text not in _PARAMETRIZED_TYPES:
            return super().parse_optional_type()
        text = self.lexer.input.content
        if (
            not isinstance(text, str)
            or (body := _PLAIN_TYPE_BODY.match(text, token.span.end)) is None
        ):
            return super().parse_optional_type()
        end = body.end()
        spelling = text[token.span.start : end]
        if (known := self.types_by_text.get(spelling)) is not None:
            self._resume_from(end)
            return known
        parsed = super().parse_optional_type()
        # reusable only if xDSL's parse ended right at the `>` (what follows is blank)
        if parsed is not None and self.pos >= end and not text[end : self.pos].strip():
            self.types_by_text[spelling] = parsed
        return parsed

    def resolve_operand(
        self, operand: UnresolvedOperand, type: AttributeInvT
    ) -> SSAValue[AttributeInvT]:
        if operand.operand_name not in self.ssa_values:
            self.first_uses.setdefault(operand.operand_name, operand.span)
        return super().resolve_operand(operand, type)

    def parse_module(self, allow_implicit_module: bool = True) -> ModuleOp:
        # The parse allocates some ten objects per op and frees next to none: the cyclic
        # collector's passes over them (and over every loaded module) are wasted, ~15% of it.
        collecting = gc.isenabled()
        gc.disable()
        try:
            return super().parse_module(allow_implicit_module)
        except ParseError as e:
            undefined = [n for n in self.forward_ssa_references if n in self.first_uses]
            if not undefined or not e.msg.startswith("values used but not defined"):
                raise
            first = min(undefined, key=lambda n: self.first_uses[n].start)
            raise ParseError(
                self.first_uses[first], f"value %{first} is used but never defined"
            ) from None
        finally:
            if collecting:
                gc.enable()

    def parse_operation(self) -> Operation:
        start = self._current_token.span
        op = super().parse_operation()
        self.op_spans[op] = start
        return op


@dataclass
class Chunk:
    """One `// -----` split of the input: its text and the line number of its first line."""

    text: str
    first_line: int
    diagnostics: list[Diagnostic] = field(default_factory=list[Diagnostic])


def split_input(text: str, split: bool) -> list[Chunk]:
    """The chunks of `text`, split at lines that are exactly `// -----` when `split`; each
    chunk's `first_line` is its first line's number in `text` (the line after the marker)."""
    if not split:
        return [Chunk(text, 1)]
    chunks: list[Chunk] = []
    line, start = 1, 0
    for marker in _SPLIT_MARKER.finditer(text):
        piece = text[start : marker.start()]
        chunks.append(Chunk(piece, line))
        line += piece.count("\n") + 1
        start = marker.end() + 1
    chunks.append(Chunk(text[start:], line))
    return chunks


_HELP = {
    "disable_verify": "do not verify the IR after parsing and after each pass",
    "verify_diagnostics": "match the errors produced against the `// expected-error {{...}}` "
    "annotations of the input (like mlir-opt); exit 1 on a missing or unexpected one",
    "parsing_diagnostics": "print a parse error and exit 0 (for tests of the parser)",
    "split_input_file": "process each chunk between `// -----` lines on its own; line numbers "
    "stay those of the whole file",
    "input_file": "an .mlir file (default: stdin), an .onnx or .tflite model, imported to the graph level",
    "print_between_passes": "print the IR to stderr after every pass (as --print-ir-after-all)",
    "time_passes": "print the wall time of every phase (start-up, parse, verify, each pass, "
    "print) to stderr as a tree with percentages of the whole run",
}
"""Help of xDSL's flags where it has none or lamina does more (`--verify-diagnostics`)."""


# xDSL's driver reads every installed distribution's entry points once per registry it
# fills (dialects, passes, targets); they do not change during a run, so one read serves all.
Universe.get_multiverse = staticmethod(functools.cache(Universe.get_multiverse))

_KNOWN_DEVICES = "{known devices}"
"""The epilog of lamina-opt's help until `_DeviceListHelp` writes it out."""


class _DeviceListHelp(argparse.HelpFormatter):
    """argparse's help with the epilog `_KNOWN_DEVICES` made the list of known devices:
    listing them reads the device folders and the plugins, so only printing help does."""

    def add_text(self, text: str | None) -> None:
        if text == _KNOWN_DEVICES:
            from lamina.targets import known_devices

            text = (
                f"known devices (for convert-loop-to-llvm{{device=...}}, loop-to-neon, "
                f"convert-loop-to-ocl): {', '.join(known_devices())}, or a path to a .toml "
                "description"
            )
        super().add_text(text)


class PassError(Exception):
    """Stops the pipeline after a pass left invalid IR (its diagnostics are recorded)."""


class LaminaOptMain(xDSLOptMain):
    """xDSL's opt driver with lamina's dialects, passes, diagnostics and ONNX input."""

    def register_all_dialects(self) -> None:
        super().register_all_dialects()
        # Passes may create `dense_resource` weights in IR that never named the builtin
        # dialect; printing their blobs needs it loaded.
        self.ctx.load_registered_dialect("builtin")
        for name, factory in LAMINA_DIALECTS.items():
            if name not in self.ctx.registered_dialect_names:
                self.ctx.register_dialect(name, factory)

    def register_all_targets(self) -> None:
        super().register_all_targets()
        # xDSL owns the universe name `llvm` (for its own llvm dialect); lamina's target
        # prints the LLVM IR of convert-loop-to-llvm and passes xDSL's llvm dialect through.
        # Codegen (and llvmlite) load only when `-t` names one of them (start-up time).
        self.available_targets["llvm"] = LazyImport("lamina.codegen.loop_to_llvm", "LLVMIRTarget")
        self.available_targets["opencl"] = LazyImport("lamina.codegen.opencl", "OpenCLTarget")

    def register_all_passes(self) -> None:
        super().register_all_passes()
        for name, factory in LAMINA_PASSES.items():
            self.register_pass(name, factory)

    def register_all_arguments(self, arg_parser: argparse.ArgumentParser) -> None:
        arg_parser.prog = "lamina-opt"
        super().register_all_arguments(arg_parser)
        # lamina's -v / --version (LLVM's version loads only when asked) replaces xDSL's
        optionals = arg_parser._optionals  # pyright: ignore[reportPrivateUsage]
        optionals.conflict_handler = "resolve"
        add_version_flag(arg_parser, "lamina-opt", "-v")
        optionals.conflict_handler = "error"
        for action in arg_parser._actions:  # pyright: ignore[reportPrivateUsage]
            action.help = _HELP.get(action.dest, action.help)
        arg_parser.epilog = _KNOWN_DEVICES
        arg_parser.formatter_class = _DeviceListHelp
        add_instrument_arguments(arg_parser)
        add_output_arguments(arg_parser)
        arg_parser.add_argument(
            "--print-weights",
            action="store_true",
            help="print the bytes of dense_resource weights instead of eliding them",
        )
        add_input_shape_flag(arg_parser, "an ONNX graph input")

    def setup_pipeline(self) -> None:
        self.timer = PhaseTimer.started_now()
        self._current: _ChunkRun | None = None
        self.side_outputs = SideOutputs.from_args(self.args)
        self.dumps = IRDumps.from_args(self.args)
        self.dumps.check_names(lambda name: name in self.available_passes)
        spec = pipeline_spec(self.args.passes, self.args.pass_pipeline)
        with self.timer.phase("load passes"):
            self.pipeline = parse_pass_pipeline(spec, self._between_passes)

    # ----------------------------------------------------------------------------------
    # Running

    def run(self) -> int:  # type: ignore[override]
        """Process the input; returns the process exit code."""
        name = self.get_input_name()
        if self.args.output_file is not None and os.path.isdir(self.args.output_file):
            raise LaminaError("is a directory, not a file to write", where=self.args.output_file)
        if name.endswith(".onnx"):
            return self._run_onnx(name)
        if self.args.input_file is not None and is_tflite_model(self.args.input_file):
            from lamina.parser.tflite import import_tflite  # loaded only for TFLite inputs

            with self.timer.phase("import TFLite"):
                module = import_tflite(name)
            return self._run_imported(module, name)
        with self.timer.phase("read input"):
            text = sys.stdin.read() if self.args.input_file is None else read_text(name)
        chunks = split_input(text, self.args.split_input_file)
        outputs = [self._process(chunk, name) for chunk in chunks]
        produced = [d for chunk in chunks for d in chunk.diagnostics]
        if self.args.verify_diagnostics:
            expected = [e for c in chunks for e in expected_diagnostics(c.text, c.first_line)]
            problems = check_diagnostics(name, expected, produced)
            for problem in problems:
                print(problem, file=sys.stderr)
            if problems:
                return 1
            self._write("// -----\n".join(o for o in outputs if o is not None))
            self.side_outputs.write()
            return 0
        if produced:
            for diagnostic in produced:
                print(diagnostic, file=sys.stderr)
            return 1
        self._write("// -----\n".join(o for o in outputs if o is not None))
        self.side_outputs.write()
        self._report_times()
        return 0

    def _run_onnx(self, name: str) -> int:
        # the compile pipeline's import step, loaded only for .onnx inputs (startup time)
        from lamina.compiler import import_model
        from lamina.parser.onnx import parse_input_shapes

        shapes = parse_input_shapes(self.args.input_shape)
        with printing_warnings(name), self.timer.phase("import ONNX"):
            module = import_model(name, input_shapes=shapes)
            self.side_outputs.output_names = onnx_output_names(name)
        return self._run_imported(module, name)

    def _run_imported(self, module: ModuleOp, name: str) -> int:
        """Run the pipeline on a module imported from a model file."""
        run = _ChunkRun(self, Chunk("", 1), name, {})
        output = run.finish(module)
        for diagnostic in run.chunk.diagnostics:
            print(diagnostic, file=sys.stderr)
        if run.chunk.diagnostics:
            return 1
        self._write(output or "")
        self.side_outputs.write()
        self._report_times()
        return 0

    def _process(self, chunk: Chunk, name: str) -> str | None:
        if not chunk.text.strip():  # like mlir-opt: a blank chunk is an empty module
            return _ChunkRun(self, chunk, name, {}).finish(ModuleOp([]))
        try:
            parser = LocatingParser(self.ctx, chunk.text, name)  # lexes the first token
        except ParseError as e:
            _ChunkRun(self, chunk, name, {}).report_at_span(e.span, e.msg)
            return None
        run = _ChunkRun(self, chunk, name, parser.op_spans)
        try:
            with self.timer.phase("parse"):
                module = parser.parse_module(not self.args.no_implicit_module)
        except ParseError as e:
            run.report_at_span(e.span, e.msg)
            return None
        except (VerifyException, LaminaError, ValueError, OverflowError, struct.error) as e:
            # Attribute and type verifiers run while parsing, before any op exists.
            run.report_at_span(parser._current_token.span, _message(e))  # pyright: ignore[reportPrivateUsage]
            return None
        except NotImplementedError as e:  # xDSL packs dense arrays of 8/16/32/64-bit only
            message = f"not supported: a dense array element type ({_message(e)})"
            run.report_at_span(parser._current_token.span, message)  # pyright: ignore[reportPrivateUsage]
            return None
        return run.finish(module)

    def _between_passes(
        self, previous: ModulePass | None, module: ModuleOp, following: ModulePass | None
    ) -> None:
        run = self._current
        assert run is not None
        if previous is not None:
            self.timer.add(("pipeline", previous.name), time.perf_counter() - run.pass_started)
            with self.timer.phase("pipeline", "verify"):
                ok = self.args.disable_verify or run.verify(module, after=previous.name)
            if not ok:
                raise PassError
        if self.dumps.wanted:
            with self.timer.phase("pipeline", "IR dumps"):
                self.dumps.between(previous, module, following, self.mlir_text)
        run.pass_started = time.perf_counter()

    def print_module(self, module: ModuleOp) -> str:
        """The module as text, in the format the command line asked for."""
        if self.args.target == "mlir":
            return self.mlir_text(module)
        with printing_weights(self.args.print_weights):
            return self.output_resulting_program(module)

    def mlir_text(self, module: ModuleOp) -> str:
        """The module as MLIR text with the printing flags (what IR dumps show, whatever -t)."""
        with printing_weights(self.args.print_weights):
            out = StringIO()
            printer = Printer(
                stream=out,
                print_generic_format=self.args.print_op_generic,
                print_properties_as_attributes=self.args.print_no_properties,
                print_debuginfo=self.args.print_debuginfo,
            )
            printer.print_op(module)
            printer.print_metadata(self.ctx.loaded_dialects)
            out.write("\n")
            return out.getvalue()

    def _write(self, text: str) -> None:
        with self.timer.phase("write output"):
            self._write_text(text)

    def _write_text(self, text: str) -> None:
        if self.args.output_file is None:
            sys.stdout.write(text)
            return
        try:
            with open(self.args.output_file, "w", encoding="utf-8") as f:
                f.write(text)
        except OSError as e:
            raise LaminaError(f"cannot write: {e.strerror}", where=self.args.output_file) from None

    def _report_times(self) -> None:
        if self.args.time_passes:
            sys.stderr.write(self.timer.report())


class _ChunkRun:
    """Verifying, transforming and printing one parsed chunk, recording its diagnostics."""

    def __init__(
        self,
        main: LaminaOptMain,
        chunk: Chunk,
        file: str,
        op_spans: dict[Operation, Span[str] | Span[bytes]],
    ) -> None:
        self.main = main
        self.chunk = chunk
        self.file = file
        self.op_spans = op_spans
        self.pass_started = 0.0

    def finish(self, module: ModuleOp) -> str | None:
        with self.main.timer.phase("verify"):
            ok = self.main.args.disable_verify or self.verify(module)
        if not ok:
            return None
        self.main._current = self
        try:
            self.main.pipeline.apply(self.main.ctx, module)
            self.main.side_outputs.add(module)
        except PassError:
            return None
        except (LaminaError, DiagnosticException) as e:
            op = getattr(e, "op", None)
            self.report(op if isinstance(op, Operation) else None, _message(e))
            return None
        finally:
            self.main._current = None
        with self.main.timer.phase("print"):
            return self.main.print_module(module)

    def verify(self, module: ModuleOp, after: str | None = None) -> bool:
        """Verify every op on its own, so that each failure becomes one diagnostic."""
        ok = True
        for op in module.walk():
            try:
                op.verify(verify_nested_ops=False)
            except (VerifyException, LaminaError) as e:
                suffix = f" (after pass {after})" if after else ""
                self.report(op, f"'{op.name}' op {_message(e)}{suffix}")
                ok = False
        return ok

    def report(self, op: Operation | None, message: str) -> None:
        """Record an error at `op`'s source position (or the nearest parent's)."""
        line, column = 0, 0
        current = op
        while current is not None:
            if (span := self.op_spans.get(current)) is not None:
                location = span.get_location()
                line, column = location.line, location.col
                break
            if isinstance(current.location, FileLineColLoc):
                line = current.location.line.data
                column = current.location.column.data
                break
            if isinstance(current.location, NameLoc):  # an imported model's node name
                node = f"node '{current.location.desc.data}'"
                message = message if node in message else f"{node}: {message}"
                break
            current = current.parent_op()
        if line:
            line += self.chunk.first_line - 1
        self.chunk.diagnostics.append(Diagnostic("error", message, self.file, line, column))

    def report_at_span(self, span: Span[str] | Span[bytes], message: str) -> None:
        location = span.get_location()
        self.chunk.diagnostics.append(
            Diagnostic(
                "error",
                message,
                self.file,
                location.line + self.chunk.first_line - 1,
                location.col,
            )
        )


def _message(error: Exception) -> str:
    """A lamina error's message (one that lists several problems spans lines), or the first
    line of another error's, without xDSL's generic prefixes."""
    if isinstance(error, LaminaError):
        return error.message
    text = str(error)
    for prefix in ("Operation does not verify: ",):
        text = text.removeprefix(prefix)
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__


def onnx_output_names(path: str) -> list[str]:
    """The graph output names of the ONNX model in `path` (read without its weights)."""
    import onnx

    return [value.name for value in onnx.load(path, load_external_data=False).graph.output]


def read_text(path: str) -> str:
    """The UTF-8 text of the file `path`; an unreadable file raises `LaminaError`."""
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except UnicodeDecodeError as e:
        raise LaminaError(f"not UTF-8 text (byte {e.start})", where=path) from None
    except FileNotFoundError:
        raise LaminaError("no such file", where=path) from None
    except OSError as e:
        raise LaminaError(f"cannot read: {e.strerror}", where=path) from None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `lamina-opt`; returns the exit code."""
    try:
        return LaminaOptMain(description="lamina modular optimizer driver", args=argv).run()
    except LaminaError as e:
        print(e, file=sys.stderr)
        return 1
    except FileNotFoundError as e:
        print(f"{e.filename}: error: no such file", file=sys.stderr)
        return 1
    except ArgSpecParseError as e:  # `-t` parses as a spec; a BaseException in xDSL
        where = str(e).splitlines()[1:]  # "pass-pipeline:1:1", the text, a caret, the message
        column = where[0].rsplit(":", 1)[-1] if where else "?"
        message = where[-1].strip() if where else str(e)
        print(f"error: bad target (-t): column {column}: {message}", file=sys.stderr)
        return 1
    except Exception as e:  # a bug in lamina, not bad input: say so, keep the trace opt-in
        if os.environ.get("LAMINA_DEBUG"):
            raise
        print(
            f"error: internal error: {type(e).__name__}: {e} (set LAMINA_DEBUG=1 for a traceback)",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":
    sys.exit(main())
