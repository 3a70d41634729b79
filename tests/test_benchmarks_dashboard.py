"""BENCHMARKS.md's first screen is what the recorded benchmark results make, and every benchmark script still loads."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_dashboard_is_made_from_the_recorded_results():
    made = subprocess.run([sys.executable, "benchmarks/dashboard.py", "--check"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert made.returncode == 0, made.stderr


def test_every_benchmark_script_imports():
    """A benchmark is a script nobody runs every day: its imports must follow the code it measures."""
    scripts = sorted(str(p) for p in (ROOT / "benchmarks").rglob("*.py") if "out" not in p.parts)
    loaded = subprocess.run(
        [sys.executable, "-c", "import runpy, sys\n"
         "sys.path[:0] = [sys.argv[1] + '/benchmarks', sys.argv[1] + '/benchmarks/corpus', sys.argv[1]]\n"
         "for path in sys.argv[2:]:\n"
         "    try:\n"
         "        runpy.run_path(path, run_name='imported')\n"
         "    except Exception as error:\n"
         "        print(path, type(error).__name__, error)", str(ROOT), *scripts],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert loaded.returncode == 0 and not loaded.stdout.strip(), loaded.stdout + loaded.stderr
