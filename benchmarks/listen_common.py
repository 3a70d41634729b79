"""Shared helpers for the listening benchmarks: corpus loading and the median (percentiles: stats.py)."""
from __future__ import annotations

import json
import statistics
import sys
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CORPUS = ROOT / "benchmarks" / "out" / "listen_corpus"


def load(split: str) -> list[dict]:
    manifest = CORPUS / f"{split}.jsonl"
    if not manifest.exists():
        sys.exit(f"{manifest} is missing: run .venv/bin/python benchmarks/corpus/generate_listen.py first")
    rows = [json.loads(line) for line in manifest.open()]
    for row in rows:
        with wave.open(str(CORPUS / row["file"])) as w:
            row["pcm"] = w.readframes(w.getnframes())
    return rows


def median(values: list[float]) -> float:
    return statistics.median(values)
