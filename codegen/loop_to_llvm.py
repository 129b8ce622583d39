"""`convert-loop-to-llvm`: loop-level IR in the lamina kernel ABI -> LLVM IR.

The translation itself is `lamina.codegen.llvm.emit_llvm` (llvmlite IR builder; op tables
in `codegen/llvm_ops.py`, target machine and O3 pipeline in `codegen/llvm_target.py`).
This module wraps it as a pass, as the `-t llvm` output target and as a small CLI:

    lamina-opt k.mlir -p 'convert-loop-to-llvm{device="x86-64-avx512"}' -t llvm
    python -m lamina.codegen.loop_to_llvm k.mlir --device host -O3

After the pass the module holds no ops: the LLVM IR text is its `lamina.llvm_ir`
attribute (with `lamina.device`), which the `llvm` target prints. An op the emitter cannot
translate raises `UnsupportedOpError` with `op` set, before the module is changed.

The pass lives in codegen/, not lowering/: what it produces is the emitter's LLVM IR text
(like MLIR's translation to LLVM IR, not a dialect conversion), so it sits above the
emitter it calls (docs/architecture.md).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, ClassVar

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, StringAttr
from xdsl.parser import Parser
from xdsl.passes import ModulePass
from xdsl.utils.exceptions import ParseError
from xdsl.utils.target import Target

from lamina.codegen.llvm_target import llvm_ir_text
from lamina.errors import LaminaError

LLVM_IR_ATTR = "lamina.llvm_ir"
DEVICE_ATTR = "lamina.device"


@dataclass(frozen=True)
class ConvertLoopToLLVMPass(ModulePass):
    """Translate every `func.func` of a loop-level module to LLVM IR for `device` (a name
    in `targets/`), optimised at `opt_level` (0 prints the IR as emitted). Afterwards the
    module is empty and carries the LLVM IR in its `lamina.llvm_ir` attribute."""

    name = "convert-loop-to-llvm"

    device: str = "host"
    opt_level: int = 0

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        text = llvm_ir_text(op, self.device, self.opt_level)
        for child in reversed(list(op.ops)):
            op.body.block.erase_op(child)
        op.attributes[LLVM_IR_ATTR] = StringAttr(text)
        op.attributes[DEVICE_ATTR] = StringAttr(self.device)


def module_llvm_ir(module: ModuleOp, device: str = "host", opt_level: int = 0) -> str:
    """The LLVM IR of a module: the text `convert-loop-to-llvm` left on it, else the
    translation of its loop-level functions."""
    attr = module.attributes.get(LLVM_IR_ATTR)
    if isinstance(attr, StringAttr):
        return attr.data
    return llvm_ir_text(module, device, opt_level)


@dataclass(frozen=True)
class LLVMIRTarget(Target):
    """`-t llvm`: prints the LLVM IR `convert-loop-to-llvm` produced (or translates a
    loop-level module directly); modules in xDSL's own `llvm` dialect go to xDSL's
    translation as before."""

    name: ClassVar[str] = "llvm"

    device: str = "host"
    opt_level: int = 0

    def emit(self, ctx: Context, module: ModuleOp, output: IO[str]) -> None:
        has_funcs = any(isinstance(op, func.FuncOp) for op in module.ops)
        if LLVM_IR_ATTR in module.attributes or has_funcs:
            output.write(module_llvm_ir(module, self.device, self.opt_level))
            return
        from xdsl.backend.llvm.convert import LLVMTarget

        LLVMTarget().emit(ctx, module, output)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m lamina.codegen.loop_to_llvm file.mlir`: print the file's LLVM IR."""
    from lamina.context import make_context

    args_parser = argparse.ArgumentParser(description="print the LLVM IR of a loop-level module")
    args_parser.add_argument("input", help="a loop-level .mlir file ('-' for stdin)")
    args_parser.add_argument("--device", default="host", help="a device name in targets/")
    args_parser.add_argument("-O", dest="opt_level", type=int, default=0, choices=range(4))
    args = args_parser.parse_args(argv)
    try:
        text = sys.stdin.read() if args.input == "-" else open(args.input).read()  # noqa: SIM115
        module = Parser(make_context(), text, args.input).parse_module()
        module.verify()
        sys.stdout.write(llvm_ir_text(module, args.device, args.opt_level))
    except LaminaError as e:
        print(e if e.where else f"{args.input}: {e}", file=sys.stderr)
        return 1
    except ParseError as e:
        print(e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
