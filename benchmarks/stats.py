"""Shared helpers for benchmark reports: percentiles and a line naming the machine."""
from __future__ import annotations

import os
import platform


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (p from 0 to 100) of values: the sorted value at round(p/100 * (n - 1)). The one
    percentile of the benchmarks: before it, two more took p as a share from 0 to 1."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def machine() -> str:
    return f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
