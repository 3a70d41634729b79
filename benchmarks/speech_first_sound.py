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

import numpy as np  # noqa: E402

from tests.test_speech_audio import LOUD, PrivatePulse, Recorder  # noqa: E402
from voicecoach.speech.clips import RATE  # noqa: E402


def first_sound(folder: Path, routine: str) -> float | None:
    env = {**os.environ, "XDG_DATA_HOME": str(folder / "data"), "XDG_CACHE_HOME": str(folder / "cache"),
           "XDG_CONFIG_HOME": str(folder / "config")}
    recorder = Recorder()
    try:
        time.sleep(0.2)
        started = time.monotonic()
        process = subprocess.Popen([sys.executable, "-m", "voicecoach", "run", routine],
                                   stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env)
        time.sleep(4)
        process.terminate()
        process.wait(10)
    finally:
        recorder.stop()
    recording = recorder.samples
    begin = max(0, int((started - recorder.started) * RATE))
    loud = np.nonzero(np.abs(recording[begin:]) > LOUD)[0]
    return None if not len(loud) else recorder.time_of(begin + int(loud[0])) - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--routine", default="calf-stretch")
    parser.add_argument("--no-keepalive", action="store_true",
                        help="no silent client on spk: shows the null sink's own start-up stall (up to 2 s)")
    args = parser.parse_args()
    pulse = PrivatePulse(keepalive=not args.no_keepalive)
    cold, warm, silent = [], [], 0
    try:
        for index in range(args.runs):
            with tempfile.TemporaryDirectory() as tmp:   # a fresh cache: the first start ever
                result = first_sound(Path(tmp), args.routine)
                cold.append(result) if result is not None else None
                silent += result is None
                result = first_sound(Path(tmp), args.routine)   # the same cache again: a second start
                warm.append(result) if result is not None else None
                silent += result is None
    finally:
        pulse.stop()
    print(f"runs: {args.runs} cold + {args.runs} warm; no sound within 4 s: {silent}")
    for name, values in (("cold cache", cold), ("warm cache", warm)):
        if values:
            ms = sorted(v * 1000 for v in values)
            print(f"{name}: process start to first sound ms: median {statistics.median(ms):.0f}, "
                  f"min {ms[0]:.0f}, max {ms[-1]:.0f} (n={len(ms)}; target median <= 1500)")
    return 0 if warm and silent == 0 and statistics.median(warm) <= 1.5 else 1


if __name__ == "__main__":
    sys.exit(main())
