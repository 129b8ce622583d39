"""Fresh names: the first spelling of a name that a namespace does not hold yet (the locals
of generated OpenCL C, the value and node names of ONNX graphs)."""

from __future__ import annotations


def unused_name(base: str, taken: set[str], separator: str = "_") -> str:
    """`base`, or `base<separator><n>` with the first n >= 1 not in `taken`; added to `taken`."""
    name, n = base, 0
    while name in taken:
        n += 1
        name = f"{base}{separator}{n}"
    taken.add(name)
    return name
