"""Hold timing from the events of --no-speech runs: count lateness versus due, and held versus hold length."""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from stats import add_record_option, percentile, record  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

ROUTINE = """name: Timing benchmark
exercises:
  - name: Ten-second holds
    sides: [left, right]
    steps:
      - say: Hold still.
      - hold: 10
      - rest: 2
  - name: Fives
    steps:
      - hold: 10
        count: fives
"""


def one_run(folder: Path, index: int) -> list[dict]:
    routine, events = folder / "timing.yaml", folder / f"events{index}.jsonl"
    routine.write_text(ROUTINE)
    env = {**os.environ, "VOICECOACH_READING_WPM": "0", "XDG_DATA_HOME": str(folder / "data")}
    subprocess.run([sys.executable, "-m", "voicecoach", "run", "--start-wait", "0", str(routine), "--no-speech", "--text",
                    "--events", str(events)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, env=env,
                   check=True)
    return [json.loads(line) for line in events.read_text().splitlines()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    add_record_option(parser)
    args = parser.parse_args()
    count_errors, held_errors = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for index in range(args.runs):
            events = one_run(Path(tmp), index)
            count_errors += [abs(e["t"] - e["due"]) * 1000 for e in events if e["event"] == "count"]
            held_errors += [abs(e["held"] - e["seconds"]) * 1000 for e in events if e["event"] == "hold_end"]
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"runs: {args.runs}; counts: {len(count_errors)}; holds: {len(held_errors)}")
    print(f"count |t - due| ms: median {statistics.median(count_errors):.1f}, p95 {percentile(count_errors, 95):.1f}, "
          f"max {max(count_errors):.1f} (target p95 <= 5)")
    print(f"hold |held - length| ms: median {statistics.median(held_errors):.1f}, "
          f"p95 {percentile(held_errors, 95):.1f}, max {max(held_errors):.1f} (target <= 10 for every hold)")
    if args.record:
        record("hold_timing", {"count_p95_ms": percentile(count_errors, 95), "count_median_ms": statistics.median(count_errors),
                               "count_max_ms": max(count_errors), "counts": len(count_errors),
                               "held_max_ms": max(held_errors), "holds": len(held_errors)}, args.runs)


if __name__ == "__main__":
    from isolation import isolated_env  # benchmarks/ is on sys.path when run as a script
    with isolated_env():
        main()
