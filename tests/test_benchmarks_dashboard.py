"""BENCHMARKS.md's first screen is what the recorded benchmark results make."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_dashboard_is_made_from_the_recorded_results():
    made = subprocess.run([sys.executable, "benchmarks/dashboard.py", "--check"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert made.returncode == 0, made.stderr
