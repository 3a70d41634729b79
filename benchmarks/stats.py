"""Shared helpers for benchmark reports: percentiles (voicecoach's one; mic-test uses it too), the machine, and
recorded figures."""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from voicecoach.stats import percentile  # noqa: E402, F401  the one percentile, p from 0 to 100


def machine() -> str:
    return f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


RESULTS = Path(__file__).resolve().parent / "results"


def add_record_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--record", action="store_true",
                        help="write the figures to benchmarks/results/NAME.json, from which BENCHMARKS.md is made")


def record(benchmark: str, figures: dict[str, float | int | str], runs: int, argv: list[str] | None = None) -> Path:
    """Write one benchmark's figures, with the date, the machine and the command that measured them, for the
    dashboard (benchmarks/dashboard.py)."""
    args = [a for a in (sys.argv[1:] if argv is None else argv) if a != "--record"]
    script = Path(sys.argv[0]).stem if sys.argv[0].endswith(".py") else benchmark  # one script may record two
    result = {"benchmark": benchmark, "measured": date.today().isoformat(), "machine": machine(), "runs": runs,
              "command": " ".join([f"benchmarks/{script}.py", *args]), "figures": figures}
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{benchmark}.json"
    path.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"recorded in {path.relative_to(RESULTS.parent.parent)}; run benchmarks/dashboard.py to update BENCHMARKS.md")
    return path
