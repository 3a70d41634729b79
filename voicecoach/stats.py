"""The one percentile of voicecoach and its benchmarks (mic-test's room and voice levels, the latency figures)."""
from __future__ import annotations

from collections.abc import Sequence


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (p from 0 to 100) of values: the sorted value at round(p/100 * (n - 1)); NaN if none."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]
