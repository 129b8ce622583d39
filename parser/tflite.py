"""The TFLite importer: a .tflite flatbuffer becomes a `builtin.module` of `graph` ops.

    module = import_tflite("face_detection_short_range.tflite")

Subgraph 0 becomes one `func.func` whose arguments are the model's inputs (located by
their tensor names) and which returns its outputs, in the model's order. Constant buffers
become `graph.constant` weights; each builtin operator becomes the graph ops of its ONNX
meaning (`parser/tflite_ops*.py`), NHWC data kept NHWC. The schema is read by
`parser/tflite_model.py` through the `tflite` package.

Errors are `LaminaError`s at the model's path (or `<bytes>`): `ModelImportError` for a
file that is not a valid model, `operator N (NAME): ...` for a bad operator. Every
operator lamina cannot import (an unknown builtin, a custom op, an unsupported option) is
collected and reported in one diagnostic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from xdsl.dialects.builtin import ModuleOp
from xdsl.dialects.func import FuncOp, ReturnOp
from xdsl.ir import Block, Operation, Region
from xdsl.utils.exceptions import VerifyException

from lamina.errors import (
    LaminaError,
    ModelImportError,
    UnsupportedError,
    UnsupportedOpError,
    all_unsupported,
)
from lamina.parser.graph_names import location, sanitize_symbol
from lamina.parser.tflite_graph import Converter, GraphBuilder
from lamina.parser.tflite_model import Operator, TFLiteModel, read_tflite
from lamina.parser.tflite_ops import CUSTOM_CONVERTERS, NN_CONVERTERS
from lamina.parser.tflite_ops_shape import SHAPE_CONVERTERS
from lamina.parser.tflite_quant import Quantizer
from lamina.parser.tflite_source import FILE_IDENTIFIER, TFLiteSource, is_tflite, is_tflite_model

__all__ = ["FILE_IDENTIFIER", "CONVERTERS", "import_tflite", "is_tflite", "is_tflite_model"]

CONVERTERS: dict[str, Converter] = {**NN_CONVERTERS, **SHAPE_CONVERTERS}
"""Builtin operator name -> the converter that emits its graph ops."""


def import_tflite(source: TFLiteSource, outputs: Sequence[str] | None = None) -> ModuleOp:
    """Import subgraph 0 of a TFLite model (a path or the file's bytes); `outputs` names
    the tensors to return instead of the model's outputs (e.g. the logits before a final
    LOGISTIC, to check a model at the scale of what it computes)."""
    model, where = read_tflite(source)
    if outputs is not None:
        names = {t.name: t.index for t in model.tensors}
        missing = [n for n in outputs if n not in names]
        if missing:
            raise ModelImportError(f"no tensor named '{missing[0]}'", where)
        model = replace(model, outputs=[names[n] for n in outputs])
    return _Importer(model, where).build()


class _Importer:
    def __init__(self, model: TFLiteModel, where: str) -> None:
        self.model = model
        self.where = where
        self.unsupported: list[UnsupportedError] = []
        self.stand_ins: set[int] = set()
        """Outputs of operators that could not be imported: what reads them is skipped."""

    def build(self) -> ModuleOp:
        tensors = self.model.tensors
        block = Block()
        g = GraphBuilder(list(tensors), block, self.where)
        self.quantizer = Quantizer(g)
        inputs = [tensors[i] for i in self.model.inputs if i >= 0 and i not in g.arrays]
        for tensor in inputs:
            arg = block.insert_arg(g.type_of(tensor), len(block.args))
            arg.location = location(tensor.name)
            g.define(tensor, arg)
        for op in self.model.operators:
            self._convert(g, op)
        if self.unsupported:
            raise all_unsupported(self.unsupported)
        results = [g.value_of(tensors[i]) for i in self.model.outputs if i >= 0]
        block.add_op(ReturnOp(*results))
        signature = ([a.type for a in block.args], [r.type for r in results])
        return ModuleOp([FuncOp(sanitize_symbol(self.model.name), signature, Region(block))])

    def _convert(self, g: GraphBuilder, op: Operator) -> None:
        """Emit `op`; what lamina cannot import is recorded, and the operators reading its
        outputs are skipped (unknown ones are still named), so one diagnostic lists all."""
        g.label = next((g.tensors[i].name for i in op.outputs if i >= 0), op.label)
        converter = (CUSTOM_CONVERTERS if op.custom else CONVERTERS).get(op.name)
        if converter is None:
            kind = f"custom op '{op.name}'" if op.custom else f"builtin op '{op.name}'"
            self.unsupported.append(UnsupportedOpError(f"{kind} (operator {op.index})", self.where))
            self.stand_ins.update(op.outputs)
            return
        if any(i in self.stand_ins for i in op.inputs):
            self.stand_ins.update(op.outputs)
            return
        try:
            last = g.block.last_op
            quantized = self.quantizer.prepare(op)
            (quantized.converter or converter)(g, quantized.op)
            self.quantizer.finish(quantized)
            self._verify_since(g, last, op)
        except UnsupportedError as err:
            self.unsupported.append(self._at_operator(err, op))
            self.stand_ins.update(op.outputs)
        except (KeyError, ValueError, IndexError, TypeError, ArithmeticError) as err:
            # options or constants that contradict the operator (a corrupt file)
            reason = f"invalid operator ({type(err).__name__}: {err})"
            raise ModelImportError(f"{op.label}: {reason}", self.where) from None
        except LaminaError as err:
            if not err.message.startswith("operator "):
                err.message = f"{op.label}: {err.message}"
                err.args = (err.message,)
            raise

    def _verify_since(self, g: GraphBuilder, last: Operation | None, op: Operator) -> None:
        """Verify the ops `op` became (those after `last`): the operator's shapes and
        options must agree before any pass sees them."""
        new = g.block.ops if last is None else _ops_after(last)
        for emitted in new:
            try:
                emitted.verify(verify_nested_ops=False)
            except VerifyException as e:
                raise ModelImportError(f"{op.label}: '{emitted.name}' op {e}", self.where) from None

    def _at_operator(self, err: UnsupportedError, op: Operator) -> UnsupportedError:
        what = err.message.removeprefix("not supported: ")
        if what.startswith("operator "):
            return err
        return UnsupportedOpError(f"{op.label}: {what}", self.where)


def _ops_after(op: Operation) -> list[Operation]:
    ops: list[Operation] = []
    while op.next_op is not None:
        op = op.next_op
        ops.append(op)
    return ops
