"""What every benchmark script prints: the command, the machine, then a markdown table."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from collections.abc import Sequence


def cpu_name() -> str:
    """The CPU's model name (``lscpu``), since ratios differ from one CPU to another."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or "unknown"
    for line in out.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def print_table(rows: Sequence[tuple[str, str]], *header: str) -> None:
    """``command: ...``, the CPU and versions, the ``header`` lines, and ``| measure | value |``."""
    import numba
    import numpy as np

    import simsettle

    print(f"command: python {' '.join(sys.argv)}")
    print(
        f"CPU: {cpu_name()} ({os.cpu_count()} cores); simsettle {simsettle.__version__}, "
        f"numba {numba.__version__}, numpy {np.__version__}, Python {platform.python_version()}"
    )
    for line in header:
        print(line)
    print()
    print("| measure | value |")
    print("|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
