"""Time from starting `voicecoach run` to its first sound on spk.monitor (cold and warm speech cache)."""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from stats import add_record_option, record  # noqa: E402  (benchmarks/ is on sys.path when run as a script)
from tests.harness import Recorder, onsets, require_pulse  # noqa: E402
from voicecoach.speech.clips import RATE  # noqa: E402


def first_sound(folder: Path, routine: str) -> float | None:
    env = {**os.environ, "XDG_DATA_HOME": str(folder / "data"), "XDG_CACHE_HOME": str(folder / "cache"),
           "XDG_CONFIG_HOME": str(folder / "config")}
    with Recorder(rate=RATE) as recorder:
        time.sleep(0.2)
        started = time.monotonic()
        process = subprocess.Popen([sys.executable, "-m", "voicecoach", "run", "--start-wait", "0", routine],
                                   stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env)
        time.sleep(4)
        process.terminate()
        process.wait(10)
    begin = max(0, int((started - recorder.started) * RATE))
    heard = onsets(recorder.samples[begin:], RATE)
    return recorder.started + begin / RATE + heard[0] - started if heard else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, epilog="Run it with scripts/bench; "
                                     "VOICECOACH_PULSE_KEEPALIVE=0 shows an idle null sink's start-up stall.")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--routine", default="calf-stretch")
    add_record_option(parser)
    args = parser.parse_args()
    require_pulse()
    cold, warm, silent = [], [], 0
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:   # a fresh cache: the first start ever
            result = first_sound(Path(tmp), args.routine)
            cold.append(result) if result is not None else None
            silent += result is None
            result = first_sound(Path(tmp), args.routine)   # the same cache again: a second start
            warm.append(result) if result is not None else None
            silent += result is None
    print(f"runs: {args.runs} cold + {args.runs} warm; no sound within 4 s: {silent}")
    for name, values in (("cold cache", cold), ("warm cache", warm)):
        if values:
            ms = sorted(v * 1000 for v in values)
            print(f"{name}: process start to first sound ms: median {statistics.median(ms):.0f}, "
                  f"min {ms[0]:.0f}, max {ms[-1]:.0f} (n={len(ms)}; target median <= 1500)")
    if args.record and cold and warm:
        record("speech_first_sound", {"cold_median_ms": statistics.median(cold) * 1000,
                                      "warm_median_ms": statistics.median(warm) * 1000, "starts": args.runs}, args.runs)
    return 0 if warm and silent == 0 and statistics.median(warm) <= 1.5 else 1


if __name__ == "__main__":
    from isolation import isolated_env  # benchmarks/ is on sys.path when run as a script
    with isolated_env():
        sys.exit(main())
