"""Target descriptions as data: devices (`targets/<name>.toml`, targets/device.py) and SoCs
combining them (`targets/soc-<name>.toml`, targets/soc.py).

    device = load_device("cortex-a76")      # or a path to a .toml file
    soc = load_soc("phone")
"""

from lamina.targets.device import (
    Device,
    has_dotprod,
    is_aarch64,
    known_devices,
    load_device,
)
from lamina.targets.soc import Soc, load_soc

__all__ = ["Device", "Soc", "has_dotprod", "is_aarch64", "known_devices", "load_device", "load_soc"]
