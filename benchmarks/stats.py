"""Shared helpers for benchmark reports: percentiles and a line naming the machine."""
from __future__ import annotations

import os
import platform


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (0..100) by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def machine() -> str:
    return f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
