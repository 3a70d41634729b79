"""Audio clips: mono 16-bit samples, WAV reading and writing, trimming and resampling."""
from __future__ import annotations

import wave
from array import array
from dataclasses import dataclass
from pathlib import Path

RATE = 22050            # espeak-ng's native rate; the output stream runs at it, so clips need no resampling
SILENCE_LEVEL = 200     # |sample| at or below this counts as silence when trimming
LEAD_IN = 0.002         # seconds kept before the first sound
TAIL = 0.2              # seconds of trailing silence kept, so sentences do not run together


@dataclass(frozen=True)
class Clip:
    samples: array       # array('h') at RATE

    @property
    def seconds(self) -> float:
        return len(self.samples) / RATE


def read_wav(path: Path) -> Clip:
    with wave.open(str(path), "rb") as wav:
        if wav.getsampwidth() != 2:
            raise ValueError(f"{path}: expected 16-bit audio")
        channels, rate = wav.getnchannels(), wav.getframerate()
        samples = array("h", wav.readframes(wav.getnframes()))
    if channels > 1:
        samples = array("h", (sum(samples[i:i + channels]) // channels for i in range(0, len(samples), channels)))
    return Clip(resample(samples, rate, RATE))


def write_wav(path: Path, clip: Clip) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(clip.samples.tobytes())


def resample(samples: array, rate: int, target: int) -> array:
    if rate == target or not samples:
        return samples
    step = rate / target
    last = len(samples) - 1
    out = array("h")
    for i in range(int(len(samples) / step)):
        x = i * step
        j = int(x)
        frac = x - j
        nxt = samples[min(j + 1, last)]
        out.append(int(samples[j] + (nxt - samples[j]) * frac))
    return out


def trim(samples: array) -> array:
    """Drop leading silence (so a clip sounds the moment it starts) and all but TAIL of the trailing silence."""
    loud = [i for i in (_first_loud(samples), _last_loud(samples)) if i is not None]
    if not loud:
        return array("h")
    start = max(0, loud[0] - int(LEAD_IN * RATE))
    end = min(len(samples), loud[1] + 1 + int(TAIL * RATE))
    return samples[start:end]


def _first_loud(samples: array) -> int | None:
    return next((i for i, s in enumerate(samples) if abs(s) > SILENCE_LEVEL), None)


def _last_loud(samples: array) -> int | None:
    return next((i for i in range(len(samples) - 1, -1, -1) if abs(samples[i]) > SILENCE_LEVEL), None)
