"""Typed questions in a running session, through the private PulseAudio: from the line written to the answer's sound."""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.harness import require_pulse  # noqa: E402
from stats import percentile  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

ROUTINE = """name: One long hold
exercises:
  - name: Wall calf stretch
    steps:
      - hold: 600
        count: none
"""
QUESTIONS = ("should I use heat or ice", "how long do I hold each stretch", "what causes calf cramps",
             "when should I see a doctor", "where does the heat pack go", "what muscles are in the calf",
             "why does the pain go behind my knee", "how can I stop cramps coming back")


def events(log: Path) -> list[dict]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.endswith("}")]


def wait_for(log: Path, predicate, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = next((e for e in events(log) if predicate(e)), None)
        if found is not None:
            return found
        time.sleep(0.02)
    raise TimeoutError(f"no such event in {log} within {timeout} s")


def one_session(folder: Path, cache: Path) -> list[tuple[float, float]]:
    """(line written -> answer's first sound, line written -> heard event) in ms, one pair per question."""
    log = folder / "events.jsonl"
    (folder / "routine.yaml").write_text(ROUTINE)
    env = {**os.environ, "XDG_DATA_HOME": str(folder / "data"), "XDG_CONFIG_HOME": str(folder / "config"),
           "XDG_CACHE_HOME": str(cache)}
    process = subprocess.Popen([sys.executable, "-m", "voicecoach", "run", str(folder / "routine.yaml"), "--text",
                                "--start-wait", "0", "--events", str(log)], stdin=subprocess.PIPE,
                               stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, text=True, env=env)
    timings = []
    try:
        clock_t0 = wait_for(log, lambda e: e["event"] == "session_start")["clock_t0"]
        wait_for(log, lambda e: e["event"] == "hold_start")
        time.sleep(1.0)
        for question in QUESTIONS:
            written = time.monotonic() - clock_t0
            process.stdin.write(question + "\n")
            process.stdin.flush()
            answer = wait_for(log, lambda e: e["event"] == "speech_start" and e.get("kind") == "answer"
                              and e["t"] > written)
            heard = wait_for(log, lambda e: e["event"] == "heard" and e["t"] > written)
            timings.append(((answer["t"] - written) * 1000, (heard["t"] - written) * 1000))
            # the hold resumes once the coach has said "back to the stretch"
            wait_for(log, lambda e: e["event"] == "state" and e["to"] == "running" and e["t"] > answer["t"])
            time.sleep(1.0)
        process.stdin.write("stop\n")
        process.stdin.flush()
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    require_pulse()
    to_sound, to_heard = [], []
    with tempfile.TemporaryDirectory() as cache:
        for run in range(args.runs):
            with tempfile.TemporaryDirectory() as tmp:
                timings = one_session(Path(tmp), Path(cache))
            to_sound += [sound for sound, _ in timings]
            to_heard += [heard for _, heard in timings]
            print(f"run {run + 1}: line -> answer sound "
                  + ", ".join(f"{sound:.0f}" for sound, _ in timings) + " ms", flush=True)
    print(f"{date.today()} {platform.node()} {platform.machine()}, {os.cpu_count()} cores; {args.runs} sessions of "
          f"{len(QUESTIONS)} typed questions")
    print(f"line written -> answer's first sound: median {statistics.median(to_sound):.0f} ms, "
          f"p95 {percentile(to_sound, 95):.0f} ms, max {max(to_sound):.0f} ms over {len(to_sound)} questions")
    print(f"line written -> heard event (matching): median {statistics.median(to_heard):.0f} ms, "
          f"p95 {percentile(to_heard, 95):.0f} ms")


if __name__ == "__main__":
    main()
