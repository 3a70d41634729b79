"""CPU and memory of the microphone Listener while the room is silent (needs a PulseAudio, e.g. scripts/pulse.sh).

Usage: bash -c 'source scripts/pulse.sh; pulse_start; .venv/bin/python benchmarks/listen_idle.py; pulse_stop'
"""
from __future__ import annotations

import argparse
import os
import resource
import signal
import subprocess
import time

from listen_common import median
from stats import percentile

from voicecoach.listening.mic import MicListener


class MonotonicClock:
    def now(self) -> float:
        return time.monotonic()


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--window", type=float, default=5)
    parser.add_argument("--noise-db", type=float, default=-55,
                        help="pink room noise played into the micfeed sink (dBFS gain; 0 to play none)")
    args = parser.parse_args()
    room = None
    if args.noise_db:
        room = subprocess.Popen(f"sox -q -n -r 16000 -c 1 -b 16 -t wav - synth {args.seconds + 10} pinknoise "
                                f"gain {args.noise_db} 2>/dev/null | paplay --device=micfeed", shell=True,
                                start_new_session=True)
    problems = []
    listener = MicListener(MonotonicClock(), notify=lambda event, fields: problems.append(fields))
    listener.start(lambda heard: None)
    time.sleep(2)  # recognizer load is a one-off start-up cost, not idle cost
    shares = []
    for _ in range(int(args.seconds / args.window)):
        cpu0, wall0 = time.process_time(), time.monotonic()
        time.sleep(args.window)
        shares.append((time.process_time() - cpu0) / (time.monotonic() - wall0) * 100)
    listener.stop()
    if room is not None:
        os.killpg(room.pid, signal.SIGTERM)
    if problems:
        raise SystemExit(f"the microphone failed: {problems}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"room noise {args.noise_db:g} dBFS pink; idle CPU over {len(shares)} windows of {args.window:g} s: median {median(shares):.1f}% "
          f"p95 {percentile(shares, 95):.1f}% of one core; RSS now {rss_mb():.0f} MB, peak {peak:.0f} MB")


if __name__ == "__main__":
    from isolation import isolated_env  # benchmarks/ is on sys.path when run as a script
    with isolated_env():
        main()
