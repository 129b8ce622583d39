"""Writes tools/tflite_mutations.seed_model() to argv[1]; with `--truncate N`, only its
first N bytes."""

import sys

from lamina.tools.tflite_mutations import seed_model

data = seed_model()
if len(sys.argv) > 3 and sys.argv[2] == "--truncate":
    data = data[: int(sys.argv[3])]
with open(sys.argv[1], "wb") as file:
    file.write(data)
