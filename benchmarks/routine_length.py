"""Routine lengths: the length the opening says against the real length of a --no-speech session, per verbosity."""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from isolation import isolated_env  # noqa: E402  (benchmarks/ is on sys.path when run as a script)
from stats import add_record_option, record  # noqa: E402

VERBOSITIES = ("brief", "normal", "detailed")
SAID = re.compile(r"It takes about (?:(\d+) minutes?)?(?: and )?(?:(\d+) seconds)?")


def one_session(routine: str, verbosity: str, folder: Path) -> tuple[float, float]:
    """(seconds the opening says, seconds from session_start to session_end) of one printed session."""
    events = folder / f"{routine}-{verbosity}.jsonl"
    env = {**os.environ, "VOICECOACH_READING_WPM": "180", "XDG_DATA_HOME": str(folder / f"data-{routine}-{verbosity}")}
    flags = [f"--{verbosity}"] if verbosity != "normal" else []
    result = subprocess.run([sys.executable, "-m", "voicecoach", "run", routine, *flags, "--start-wait", "0",
                             "--no-speech", "--text", "--events", str(events)], stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, env=env, check=True)
    match = SAID.search(result.stdout)
    if match is None or not any(match.groups()):
        raise SystemExit(f"{routine} ({verbosity}): the opening says no length: {result.stdout[:200]!r}")
    said = int(match[1] or 0) * 60 + int(match[2] or 0)
    log = [json.loads(line) for line in events.read_text().splitlines()]
    ended = next(e["t"] for e in log if e["event"] == "session_end")
    return said, ended


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--routines", nargs="*", default=["calf-stretch", "hamstring-stretch", "soleus-stretch",
                                                          "towel-calf-stretch"])
    add_record_option(parser)
    args = parser.parse_args()
    with isolated_env(), tempfile.TemporaryDirectory() as tmp:
        jobs = [(routine, verbosity) for routine in args.routines for verbosity in VERBOSITIES]
        with ThreadPoolExecutor(max_workers=len(jobs)) as pool:  # the sessions mostly wait on their clocks
            results = list(pool.map(lambda job: one_session(*job, Path(tmp)), jobs))
    print("routine, verbosity: said / real (said − real); reading pace 180 words a minute, default time to move")
    worst = 0.0
    for (routine, verbosity), (said, real) in zip(jobs, results):
        error = (said - real) / real
        worst = max(worst, abs(error))
        print(f"{routine}, {verbosity}: {said // 60}:{said % 60:02d} / {real:.1f} s ({100 * error:+.1f}%)")
    print(f"largest difference {100 * worst:.1f}% of the real length (target within 10%)")
    if args.record:
        record("routine_length", {"largest_difference_pct": 100 * worst, "cases": len(jobs)}, 1)


if __name__ == "__main__":
    main()
