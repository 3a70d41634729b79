"""Offline: a command said over the coach, recognised from AEC3's output and from SpeexDSP's linear output; ERLE idle."""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from isolation import isolated_env  # noqa: E402  (benchmarks/ is on sys.path when run as a script)
from tests.test_echo import BASE, CHUNK, COACH, FRAME, room, speech  # noqa: E402
from voicecoach.listening.echo import MIC_RATE, EchoCanceller, PlayedAudio, SpeexLinear  # noqa: E402
from voicecoach.listening.factory import make_recognizer  # noqa: E402
from voicecoach.speech.clips import RATE as PLAYER_RATE  # noqa: E402

COMMANDS = (("how long left", "time_left"), ("what step is this", "where"), ("pause", "pause"))
GAINS_DB = (0, -6, -12)   # the coach's echo at the microphone, as in the test harness's rooms
DELAY_MS = 60
USER_DB = -3.0            # the user's voice, against espeak-ng's full level
USER_AT = 6.0             # seconds into the recording: the canceller has had 5.5 s of the coach to learn the room
PAD = 0.5                 # seconds of signal either side of the user's voice handed to the recogniser
CONVERGED_AFTER = 1.5     # seconds of the coach after which ERLE counts as "learnt"


Sounding = list[tuple[float, float, float, float]]  # (time, mic, AEC3's, linear energy) of a frame of the coach's


def cancel(mic: np.ndarray, out: np.ndarray, linear: bool = True) -> tuple[dict[str, np.ndarray], Sounding]:
    """Every 30 ms frame of `mic` through the EchoCanceller, the player writing `out` 0.1 s ahead with jittered output
    times. Returns AEC3's and the linear canceller's outputs, and the energies of the frames in which the coach
    sounded."""
    played, rng = PlayedAudio(PLAYER_RATE), np.random.default_rng(1)
    canceller = EchoCanceller(played, linear_factory=SpeexLinear if linear else None)
    cleaned: dict[str, list[np.ndarray]] = {"aec3": [], "linear": []}
    sounding, written = [], 0
    for k in range(0, len(mic) - FRAME + 1, FRAME):
        t = BASE + k / MIC_RATE
        while written < len(out) and BASE + written / PLAYER_RATE < t + 0.1:
            played.write((out[written:written + CHUNK] * 32767).astype(np.int16).tobytes(),
                         BASE + written / PLAYER_RATE + rng.uniform(-3, 3) / 1000)
            written += CHUNK
        frame = canceller.clean((np.clip(mic[k:k + FRAME], -1, 1) * 32767).astype(np.int16).tobytes(), t)
        aec3, lin = np.frombuffer(frame.pcm, np.int16) / 32768, np.frombuffer(frame.linear, np.int16) / 32768
        cleaned["aec3"].append(aec3)
        cleaned["linear"].append(lin)
        if frame.reference_energy > 1e-5:
            sounding.append((k / MIC_RATE, frame.mic_energy, frame.cleaned_energy, float(np.mean(lin ** 2))))
    return {name: np.concatenate(parts) for name, parts in cleaned.items()}, sounding


def erle(sounding: Sounding, start: float, which: int) -> float:
    """Median over the coach's frames from `start` s of microphone against cleaned energy (which: 2 AEC3's,
    3 the linear's), dB."""
    return statistics.median(10 * np.log10(f[1] / max(f[which], 1e-12)) for f in sounding if f[0] >= start and f[1] > 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.parse_args()
    with isolated_env(), tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        recognizer = make_recognizer()
        coach = speech(tmp, COACH + " " + COACH, "en-us", PLAYER_RATE)
        sounded = speech(tmp, COACH + " " + COACH, "en-us", MIC_RATE)
        seconds = 0.5 + len(coach) / PLAYER_RATE + 1
        out = np.zeros(int(seconds * PLAYER_RATE))
        out[int(0.5 * PLAYER_RATE):int(0.5 * PLAYER_RATE) + len(coach)] = coach
        line = np.zeros(int(seconds * MIC_RATE))
        line[int(0.5 * MIC_RATE):int(0.5 * MIC_RATE) + len(sounded)] = sounded[:len(line) - int(0.5 * MIC_RATE)]
        noise = np.random.default_rng(2).standard_normal(len(line)) * 1e-3

        def heard(x: np.ndarray, span: slice) -> tuple[str, str | None]:
            h = recognizer.recognize((np.clip(x[span], -1, 1) * 32767).astype(np.int16).tobytes())
            return h.text, h.intent

        def place(words: str) -> tuple[np.ndarray, slice]:
            """The user's command on the microphone's timeline, and the span the recognizer is given."""
            said = speech(tmp, words, "en-gb", MIC_RATE) * 10 ** (USER_DB / 20)
            user, begin = np.zeros(len(line)), int(USER_AT * MIC_RATE)
            user[begin:begin + len(said)] = said
            return user, slice(begin - int(PAD * MIC_RATE), begin + len(said) + int(PAD * MIC_RATE))

        placed = [place(words) for words, _ in COMMANDS]  # synthesised once, not once a gain
        got: dict[str, int] = {"aec3": 0, "linear": 0, "raw": 0, "silence aec3": 0, "silence linear": 0}
        idle: dict[str, list[float]] = {"aec3": [], "linear": []}
        cpu = {True: 0.0, False: 0.0}  # with and without the linear canceller
        for gain in GAINS_DB:
            echo = np.convolve(line, room(DELAY_MS, gain))[:len(line)]
            for linear in (False, True):
                started = time.process_time()
                _, sounding = cancel(echo + noise, out, linear)
                cpu[linear] += time.process_time() - started
            idle["aec3"].append(erle(sounding, 0.5 + CONVERGED_AFTER, 2))
            idle["linear"].append(erle(sounding, 0.5 + CONVERGED_AFTER, 3))
            for (words, intent), (user, span) in zip(COMMANDS, placed):
                row = [f"{gain:>4} dB {words!r:22}"]
                outputs, _ = cancel(echo + user + noise, out)
                for processor in ("aec3", "linear"):
                    text, got_intent = heard(outputs[processor], span)
                    got[processor] += got_intent == intent
                    row.append(f"{processor}: {text!r} ({'ok' if got_intent == intent else 'MISS'})")
                text, got_intent = heard(echo + user + noise, span)
                got["raw"] += got_intent == intent
                row.append(f"raw: {text!r}")
                print(" | ".join(row), flush=True)
        for (_, intent), (user, span) in zip(COMMANDS, placed):
            outputs, _ = cancel(user + noise, np.zeros_like(out))  # the coach silent: nothing played
            for processor in ("aec3", "linear"):
                got[f"silence {processor}"] += heard(outputs[processor], span)[1] == intent
        cases = len(GAINS_DB) * len(COMMANDS)
        audio_s = len(GAINS_DB) * len(line) / MIC_RATE
        for processor in ("aec3", "linear"):
            print(f"{processor}: over the coach {got[processor]} of {cases}, in silence {got['silence ' + processor]} "
                  f"of {len(COMMANDS)}, ERLE idle (median frame after {CONVERGED_AFTER} s of coach) "
                  + ", ".join(f"{g} dB: {e:.1f}" for g, e in zip(GAINS_DB, idle[processor])))
        print(f"raw microphone: over the coach {got['raw']} of {cases}")
        print(f"CPU of the canceller (with the played audio's resampling): AEC3 alone {100 * cpu[False] / audio_s:.2f}%"
              f" of a core, AEC3 and the linear {100 * cpu[True] / audio_s:.2f}%")


if __name__ == "__main__":
    main()
