"""Synthesis time per utterance with pyttsx3 save_to_file (espeak-ng), and the disk-cache load time."""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from voicecoach.speech.render import Pyttsx3Synth, Renderer  # noqa: E402
from stats import percentile  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

LINES = ["Find something steady to lean on, like a wall or the back of a sturdy chair.",
         "Rest your hands on it to keep your balance.", "Take a step forward with your left foot.",
         "The back of your lower leg should now feel a gentle pull.", "Stay there while I count."]


def timed(call) -> float:
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    init = timed(lambda: globals().setdefault("synth", Pyttsx3Synth()))
    synth = globals()["synth"]
    counts, lines, seconds = [], [], []
    for round_ in range(args.rounds):
        rate = 175 + 20 * round_   # a new rate each round, as after "faster"
        counts += [timed(lambda n=n: synth(str(n), None, rate)) for n in range(1, 61)]
        for text in LINES:
            lines.append(timed(lambda: seconds.append(synth(text, None, rate).seconds)))
    with tempfile.TemporaryDirectory() as folder:
        first = Renderer(folder=Path(folder))
        keys = [(str(n), None, 175) for n in range(1, 61)] + [(text, None, 175) for text in LINES]
        cold = timed(lambda: [first.wait(key, 30) for key in keys])
        first.close()
        second = Renderer(folder=Path(folder))
        warm = timed(lambda: [second.wait(key, 30) for key in keys])
        second.close()
    print(f"pyttsx3 engine start: {init:.0f} ms")
    for name, values in (("count '1'..'60'", counts), ("instruction line", lines)):
        print(f"render {name}: median {statistics.median(values):.1f} ms, p95 {percentile(values, 95):.1f} ms "
              f"(n={len(values)})")
    print(f"instruction audio length: median {statistics.median(seconds):.2f} s")
    print(f"prepare 60 counts + {len(LINES)} lines: fresh cache {cold:.0f} ms, from disk cache {warm:.0f} ms")


if __name__ == "__main__":
    from isolation import isolated_env  # benchmarks/ is on sys.path when run as a script
    with isolated_env():
        main()
