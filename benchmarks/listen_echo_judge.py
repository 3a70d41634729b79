"""Offline: the echo judgement on synthetic rooms (tests/test_echo.py's session): spans of the coach's echo alone let
through as the user's, and users talking over the coach kept, with and without a restart of the played audio. This
is a tuning set for the echo judgement; the held-out check is benchmarks/listen_echo.py through the private PulseAudio."""
from __future__ import annotations

import argparse
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from isolation import isolated_env  # noqa: E402  (benchmarks/ is on sys.path when run as a script)
from stats import add_record_option, record  # noqa: E402
from tests import test_echo  # noqa: E402
from voicecoach.listening.echo import MIC_RATE  # noqa: E402

WORDS = ("pause", "what step is this", "how long left")
ROOMS = ((60, 0), (100, -6), (150, -12))   # echo delay ms, gain dB at the microphone
RESTARTS = (None, 1.0, 2.5)                # seconds into the line at which the player's stated times jump 50 ms
ECHO_SPANS = np.arange(1.2, 6.0, 0.3)      # starts of the spans of echo alone, seconds into the recording
USER_AT = (1.3, 1.9, 2.5, 3.1, 3.7, 4.5)
USER_DB = (0, -6)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_record_option(parser)
    args = parser.parse_args()
    through, kept = [0, 0], defaultdict(lambda: [0, 0])  # echo: [spans, let through]; users by condition: [said, kept]
    speech = test_echo.speech
    with isolated_env(), tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        for words in WORDS:
            seconds = len(speech(tmp, words, "en-gb", MIC_RATE)) / MIC_RATE
            # the session says "how long left" as the user: say these words instead
            test_echo.speech = lambda path, text, voice, rate, said=words: speech(
                path, said if text == "how long left" else text, voice, rate)
            try:
                for delay, gain in ROOMS:
                    for restart in RESTARTS:
                        _, _, frames, canceller = test_echo.session(tmp, delay, gain, jump_at=restart)
                        for at in ECHO_SPANS:
                            start, end = test_echo.BASE + at, test_echo.BASE + at + seconds
                            if end <= frames[-1].captured_at:
                                through[0] += 1
                                through[1] += not canceller.judge(start, end).echo
                        for at in USER_AT:
                            for user_db in USER_DB:
                                _, _, frames, canceller = test_echo.session(tmp, delay, gain, user_at=at,
                                                                            user_db=user_db, jump_at=restart)
                                verdict = canceller.judge(test_echo.BASE + at, test_echo.BASE + at + seconds)
                                for condition in ("all", f"room {gain:+d} dB", f"user {user_db:+d} dB",
                                                  "restart" if restart else "no restart", f"at {at} s"):
                                    kept[condition][0] += 1
                                    kept[condition][1] += not verdict.echo
            finally:
                test_echo.speech = speech
    print(f"echo alone let through as the user's: {through[1]} of {through[0]} spans")
    for condition, (said, users) in kept.items():
        print(f"users kept, {condition}: {users} of {said} ({100 * users / said:.0f}%)")
    if args.record:
        record("listen_echo_judge", {"echo_spans": through[0], "echo_let_through": through[1],
                                     "users": kept["all"][0], "users_kept": kept["all"][1],
                                     "users_kept_pct": 100 * kept["all"][1] / kept["all"][0]}, 1)


if __name__ == "__main__":
    main()
