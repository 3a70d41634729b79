"""Shared helpers for benchmark reports: percentiles (voicecoach's one, mic-test uses it too) and the machine."""
from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from voicecoach.stats import percentile  # noqa: E402, F401  the one percentile, p from 0 to 100


def machine() -> str:
    return f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
