"""What every bench script prints first: the machine its figures were measured on."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def describe() -> str:
    """System, CPU model and cores, memory and Python, as one line."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024**2:.0f} GB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return (
        f"{platform.system()} {platform.release()} {platform.machine()}, {os.cpu_count()} cores "
        f"({model or 'model unknown'}){mem}, Python {platform.python_version()}"
    )
