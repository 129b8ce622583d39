"""The full ONNX node conformance run (1,884 cases) through a lamina path.

    python benchmarks/conformance.py                 # reference path, every case
    python benchmarks/conformance.py --path compiled --device host

Prints the per-op table and totals; `--json out.json` keeps every case's result. The
fixed smoke subset that `make test` runs is `tools/conformance_smoke.txt`.
"""

from __future__ import annotations

import sys

from lamina.tools.conformance import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
