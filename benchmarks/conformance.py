"""The full ONNX node conformance run (1,884 cases) through a lamina path.

    python benchmarks/conformance.py                 # reference path, every case
    python benchmarks/conformance.py --path compiled --device host --jobs 2

Prints the per-op table and totals; `--json out.json` keeps every case's result. The
fixed smoke subsets that `make test` runs (`--smoke`) are `tools/conformance_smoke.txt`
(reference) and `tools/conformance_smoke_compiled.txt` (compiled).
"""

from __future__ import annotations

import sys

from lamina.tools.conformance import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
