"""Count onsets heard on spk.monitor versus their due times, over a routine with two 30-second `each` holds."""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from tests.harness import Recorder, correlate, require_pulse  # noqa: E402
from voicecoach.config import Settings  # noqa: E402
from voicecoach.speech.clips import RATE  # noqa: E402
from voicecoach.speech.render import Renderer  # noqa: E402
from stats import add_record_option, percentile, record  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

ROUTINE = """name: Count benchmark
exercises:
  - name: First hold
    steps:
      - say: Hold still.
      - hold: 30
        count: each
  - name: Second hold
    steps:
      - say: And once more.
      - hold: 30
        count: each
"""
MATCH = 0.8


def one_run(folder: Path, index: int, renderer: Renderer) -> tuple[list[float], list[float], int, int]:
    routine, log = folder / "counts.yaml", folder / f"events{index}.jsonl"
    routine.write_text(ROUTINE)
    env = {**os.environ, "XDG_DATA_HOME": str(folder / "data"), "XDG_CACHE_HOME": str(folder / "cache"),
           "XDG_CONFIG_HOME": str(folder / "config")}
    with Recorder(rate=RATE) as recorder:
        subprocess.run([sys.executable, "-m", "voicecoach", "run", "--start-wait", "0", str(routine),
                        "--events", str(log)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, env=env,
                       check=True, timeout=300)
        time.sleep(0.3)
    events = [json.loads(line) for line in log.read_text().splitlines()]
    t0 = next(e["clock_t0"] for e in events if e["event"] == "session_start")
    recording = np.asarray(recorder.samples, dtype=np.float64)
    heard_errors, event_errors, missing, skipped = [], [], 0, 0
    # each count's speech_start event, by its due time (both in seconds since t0, to the millisecond)
    started = {round(e["due"], 3): e["t"] for e in events if e["event"] == "speech_start" and e.get("kind") == "count"}
    counts = [e for e in events if e["event"] == "count"]
    for count in counts:
        due = t0 + count["due"]
        clip = np.array(renderer.wait((count["text"], None, Settings().rate), 10).samples, dtype=np.float64)
        low = max(0, int((due - 0.5 - recorder.started) * RATE))
        window = recording[low: low + int(1.5 * RATE) + len(clip)]
        scores = correlate(window, clip) if len(window) > len(clip) else np.zeros(1)
        best = int(np.argmax(scores))
        if count["skipped"] or scores[best] < MATCH:
            missing += 1
            skipped += count["skipped"]
            continue
        heard_errors.append(recorder.started + (low + best) / RATE - due)
        if round(count["due"], 3) in started:
            event_errors.append(started[round(count["due"], 3)] - count["due"])
    return heard_errors, event_errors, missing, len(counts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=2)
    add_record_option(parser)
    args = parser.parse_args()
    require_pulse()
    heard, from_events, missing, total = [], [], 0, 0
    with tempfile.TemporaryDirectory() as tmp:
        renderer = Renderer(folder=Path(tmp) / "cache" / "voicecoach" / "speech")
        for index in range(args.runs):
            h, e, m, n = one_run(Path(tmp), index, renderer)
            heard += h
            from_events += e
            missing += m
            total += n
        renderer.close()
    ms = [abs(x) * 1000 for x in heard]
    print(f"runs: {args.runs}; counts due: {total}; heard on spk.monitor: {len(heard)}; missing: {missing}")
    if ms:
        print(f"|recorded onset - due| ms: median {statistics.median(ms):.1f}, p95 {percentile(ms, 95):.1f}, "
              f"max {max(ms):.1f}; signed median {statistics.median(heard) * 1000:+.1f} (target p95 <= 30)")
    if from_events:
        ev = [abs(x) * 1000 for x in from_events]
        print(f"|speech_start event - due| ms (events only): median {statistics.median(ev):.1f}, "
              f"p95 {percentile(ev, 95):.1f}")
    if args.record and ms and from_events:
        offset = (statistics.median(from_events) - statistics.median(heard)) * 1000  # the event against the sound
        record("speech_counts", {"onset_p95_ms": f"{percentile(ms, 95):.1f}", "onset_p95_max_ms": percentile(ms, 95),
                                 "missing": missing, "counts": total, "event_offset_ms": f"{offset:+.1f}",
                                 "event_offset_max_abs_ms": abs(offset)}, args.runs)
    return 0 if ms and missing == 0 and percentile(ms, 95) <= 30 else 1


if __name__ == "__main__":
    from isolation import isolated_env  # benchmarks/ is on sys.path when run as a script
    with isolated_env():
        sys.exit(main())
