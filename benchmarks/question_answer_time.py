"""Typed questions in a running session, through the private PulseAudio: from the line written to the answer's sound."""
from __future__ import annotations

import argparse
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

from tests.handsfree import Session  # noqa: E402
from tests.harness import require_pulse  # noqa: E402
from stats import add_record_option, percentile, record  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

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


def awaited(session: Session, predicate, after: float = -1.0, timeout: float = 60) -> dict:
    found = session.first(predicate, after, timeout)
    if found is None:
        raise TimeoutError(f"no such event in {session.log} within {timeout} s")
    return found


def one_session(folder: Path) -> list[tuple[float, float]]:
    """(line written -> answer's first sound, line written -> heard event) in ms, one pair per question."""
    session = Session(folder, ROUTINE, ("--text", "--start-wait", "0"), stdin=subprocess.PIPE)
    timings = []
    try:
        awaited(session, lambda e: e["event"] == "hold_start")
        time.sleep(1.0)
        for question in QUESTIONS:
            written = session.now()
            session.process.stdin.write(question + "\n")
            session.process.stdin.flush()
            answer = awaited(session, lambda e: e["event"] == "speech_start" and e.get("kind") == "answer", written)
            heard = awaited(session, lambda e: e["event"] == "heard", written)
            timings.append(((answer["t"] - written) * 1000, (heard["t"] - written) * 1000))
            # the hold resumes once the coach has said "back to the stretch"
            awaited(session, lambda e: e["event"] == "state" and e["to"] == "running", answer["t"])
            time.sleep(1.0)
        session.process.stdin.write("stop\n")
        session.process.stdin.flush()
        session.process.wait(timeout=30)
    finally:
        if session.process.poll() is None:
            session.process.kill()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    add_record_option(parser)
    args = parser.parse_args()
    require_pulse()
    to_sound, to_heard = [], []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            timings = one_session(Path(tmp))
        to_sound += [sound for sound, _ in timings]
        to_heard += [heard for _, heard in timings]
        print(f"run {run + 1}: line -> answer sound " + ", ".join(f"{sound:.0f}" for sound, _ in timings) + " ms",
              flush=True)
    print(f"{date.today()} {platform.node()} {platform.machine()}, {os.cpu_count()} cores; {args.runs} sessions of "
          f"{len(QUESTIONS)} typed questions")
    print(f"line written -> answer's first sound: median {statistics.median(to_sound):.0f} ms, "
          f"p95 {percentile(to_sound, 95):.0f} ms, max {max(to_sound):.0f} ms over {len(to_sound)} questions")
    print(f"line written -> heard event (matching): median {statistics.median(to_heard):.0f} ms, "
          f"p95 {percentile(to_heard, 95):.0f} ms")
    if args.record:
        record("question_answer_time", {"sound_median_ms": statistics.median(to_sound),
                                        "sound_p95_ms": percentile(to_sound, 95), "questions": len(to_sound)}, args.runs)


if __name__ == "__main__":
    from isolation import isolated_env  # benchmarks/ is on sys.path when run as a script
    with isolated_env():
        main()
