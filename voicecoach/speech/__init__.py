"""Speech output: pyttsx3 rendering played through PyAudio, earcons, and a Speech Dispatcher speaker."""
from __future__ import annotations


class SpeechUnavailable(RuntimeError):
    """Speech cannot start; the message is one sentence the CLI can print before falling back to text."""
