"""The textual form of an enum attribute that is a memory space: its value in angle
brackets after the attribute name (`#loop.space<vtcm>`, `#ocl.space<constant>`), where
xDSL's `EnumAttribute` alone prints `#loop<space vtcm>`.
"""

from __future__ import annotations

from typing import Generic, cast

from xdsl.dialects.utils.enum_attribute import EnumAttribute, EnumType
from xdsl.parser import AttrParser
from xdsl.printer import Printer


class AngleBracketEnum(Generic[EnumType]):
    """Listed before `EnumAttribute[E]` in the bases of an enum attribute:

    class SpaceAttr(AngleBracketEnum[MemorySpace], EnumAttribute[MemorySpace]): ...
    """

    def print_parameter(self, printer: Printer) -> None:
        value = cast(EnumAttribute[EnumType], self).data
        with printer.in_angle_brackets():
            printer.print_string(value.value)

    @classmethod
    def parse_parameter(cls, parser: AttrParser) -> EnumType:
        enum_type = cast(type[EnumAttribute[EnumType]], cls).enum_type
        with parser.in_angle_brackets():
            return cast(EnumType, parser.parse_str_enum(enum_type))
