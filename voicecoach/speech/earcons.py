"""Earcons generated from the tone definitions in data/earcons.yaml (no sound files)."""
from __future__ import annotations

import math
from array import array
from functools import lru_cache


from voicecoach.package_data import load_yaml
from voicecoach.speech.clips import RATE, Clip

FADE = 0.005  # seconds of fade in/out per note, so notes do not click


@lru_cache(maxsize=1)
def _definitions() -> dict:
    return load_yaml("earcons.yaml")


def names() -> tuple[str, ...]:
    return tuple(_definitions()["earcons"])


def adjust_wording() -> dict[str, str]:
    return dict(_definitions()["adjust"])


def message(name: str, **values) -> str:
    return _definitions()["messages"][name].format(**values)


@lru_cache(maxsize=None)
def earcon(name: str) -> Clip:
    notes = _definitions()["earcons"].get(name)
    if notes is None:
        raise KeyError(f"unknown earcon {name!r}; known: {', '.join(names())}")
    samples = array("h")
    for note in notes:
        samples.extend(_note(note["hz"], note.get("to_hz", note["hz"]), note["ms"] / 1000, note.get("level", 0.5)))
        samples.extend(array("h", bytes(2 * int(note.get("rest_ms", 0) / 1000 * RATE))))
    return Clip(samples)


def _note(hz: float, to_hz: float, seconds: float, level: float) -> array:
    count = int(seconds * RATE)
    fade = max(1, int(FADE * RATE))
    out = array("h")
    phase = 0.0
    for i in range(count):
        frequency = hz + (to_hz - hz) * i / count
        phase += 2 * math.pi * frequency / RATE
        envelope = min(1.0, i / fade, (count - 1 - i) / fade)
        out.append(int(32767 * level * envelope * math.sin(phase)))
    return out
