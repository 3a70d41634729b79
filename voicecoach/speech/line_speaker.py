"""Speaking single lines outside a session (say, ask --say, mic-test, the tutorial), each waited for."""
from __future__ import annotations

import threading

from voicecoach.adapters.clock import MonotonicClock
from voicecoach.config import Settings
from voicecoach.ports import Speaker


def say_once(text: str, settings: Settings, timeout: float = 120.0) -> bool:
    """Speak one line through the chosen speaker and wait for it to finish; True if it played to the end."""
    if settings.speaker == "print":
        print(text)
        return True
    speaker = LineSpeaker(settings)
    try:
        return speaker.say(text, timeout)
    finally:
        speaker.close()


class LineSpeaker:
    """The chosen speaker kept open, to say lines one at a time, each waited for (opening a PyAudio speaker per
    line would end every other stream of the process, the microphone's too, when it closes)."""

    def __init__(self, settings: Settings):
        self._finished = threading.Event()
        self._interrupted = True
        self._id = 0
        self._speaker: Speaker
        if settings.speaker == "speechd":
            from voicecoach.speech.speechd_speaker import SpeechdSpeaker
            self._speaker = SpeechdSpeaker(settings, MonotonicClock(), self._notify)
        else:
            from voicecoach.speech.pyttsx3_speaker import Pyttsx3Speaker
            self._speaker = Pyttsx3Speaker(settings, MonotonicClock(), self._notify)

    def _notify(self, name: str, fields: dict) -> None:
        if name == "speech_end" and fields.get("id") == self._id:
            self._interrupted = fields.get("interrupted", False)
            self._finished.set()
        elif name == "output_lost":
            self._interrupted = True
            self._finished.set()

    def say(self, text: str, timeout: float = 120.0) -> bool:
        """Speak and wait; True if the line played to the end."""
        self._id += 1
        self._finished.clear()
        self._interrupted = True
        self._speaker.say(text, utterance_id=self._id)
        return self._finished.wait(timeout) and not self._interrupted

    def close(self) -> None:
        self._speaker.close()
