"""The scripted hands-free session (tests/handsfree.py) ten times, in different voices and noise: reactions and latency;
with --simulated, issue 27's scenarios in simulated time instead (no sound): what the user hears, and what went wrong."""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.handsfree import SCENARIOS, SCRIPT, run_script  # noqa: E402
from tests.harness import require_pulse  # noqa: E402
from stats import add_record_option, percentile, record  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

# (engine, voice, words a minute, noise floor dBFS): the user, never the coach's own voice
RUNS = [("espeak-ng", "en-us+m3", 150, -60), ("espeak-ng", "en-gb", 160, -60), ("flite", "en", 150, -60),
        ("espeak-ng", "en-us+f3", 140, -60), ("espeak-ng", "en-us", 170, -50), ("espeak-ng", "en-us+m7", 150, -45),
        ("flite", "en", 130, -45), ("espeak-ng", "en-gb-x-rp", 150, -45), ("espeak-ng", "en-us+f2", 160, -40),
        ("espeak-ng", "en-us+m1", 140, -40)]


def median_ms(values) -> str:
    values = list(values)
    return f"{statistics.median(values):.0f} ms" if values else "none"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=len(RUNS))
    parser.add_argument("--simulated", action="store_true", help="run the simulated-time scenarios only")
    add_record_option(parser)
    args = parser.parse_args()
    if args.simulated:
        sys.exit(simulated(args.record))
    require_pulse()
    first_try = total = reacted = 0
    latencies: list[float] = []
    by_step: dict[str, list[float]] = {}
    silent: list[str] = []
    for engine, voice, speed, noise in RUNS[: args.runs]:
        with tempfile.TemporaryDirectory() as tmp:
            result = run_script(Path(tmp), voice=voice, speed=speed, noise_db=noise, engine=engine)
        tries = [result.attempts.get(step.name, 0) for step in SCRIPT]
        total += len(SCRIPT)
        reacted += sum(1 for n in tries if n)
        first_try += sum(1 for n in tries if n == 1)
        latencies += result.latency_ms.values()
        for name, ms in result.latency_ms.items():
            by_step.setdefault(name, []).append(ms)
        silent += [f"{voice}:{name}" for name, heard in result.sounded.items() if not heard]
        shown = " ".join(f"{step.name}={n or 'x'}" for step, n in zip(SCRIPT, tries))
        print(f"{engine} {voice} {speed} wpm, noise {noise} dBFS: tries {shown}; "
              f"latency median {median_ms(result.latency_ms.values())}", flush=True)
    print(f"{date.today()} {platform.node()} {platform.machine()}, {os.cpu_count()} cores; "
          f"{args.runs} runs of {len(SCRIPT)} reactions")
    print(f"reacted at the first try: {first_try}/{total} ({100 * first_try / total:.1f}%); "
          f"within three tries: {reacted}/{total} ({100 * reacted / total:.1f}%)")
    print(f"audio_end -> action: median {median_ms(latencies)}, p95 {percentile(latencies, 95):.0f} ms, "
          f"max {max(latencies):.0f} ms over {len(latencies)} reactions")
    print("audio_end -> action median by step: "
          + ", ".join(f"{step.name} {median_ms(by_step.get(step.name, []))}" for step in SCRIPT))
    print(f"reaction speech missing from the recording: {silent or 'none'}")
    if args.record:
        record("handsfree_session", {"first_try_pct": 100 * first_try / total, "first_try": first_try,
                                     "three_tries_pct": 100 * reacted / total, "three_tries": reacted, "steps": total,
                                     "voices": len({voice for _, voice, _, _ in RUNS[: args.runs]}),
                                     "latency_median_ms": statistics.median(latencies),
                                     "latency_p95_ms": percentile(latencies, 95), "reactions": len(latencies)}, args.runs)


def simulated(recording: bool = False) -> int:
    """Each scenario: what the user heard from its key moment on, then ok or its problems; 1 if any failed."""
    failed = 0
    for scenario in SCENARIOS:
        result = scenario()
        failed += bool(result.problems)
        print(f"{result.name}: {'ok' if not result.problems else 'FAILED: ' + '; '.join(result.problems)}")
        for line in result.heard:
            print(f"  heard: {line}")
    print(f"{len(SCENARIOS) - failed} of {len(SCENARIOS)} scenarios ok")
    if recording:
        record("handsfree_simulated", {"ok": len(SCENARIOS) - failed, "scenarios": len(SCENARIOS), "failed": failed}, 1)
    return 1 if failed else 0


if __name__ == "__main__":
    from isolation import isolated_env  # benchmarks/ is on sys.path when run as a script
    with isolated_env():
        main()
