"""Helpers for the CLI: list the installed voices and speak one line."""
from __future__ import annotations

import os
import threading
import time
from typing import Mapping

from voicecoach.config import Settings, SettingsError


class _Monotonic:
    def now(self) -> float:
        return time.monotonic()


def list_voices() -> list[tuple[str, str, list[str]]]:
    """(id, name, languages) for every voice pyttsx3 offers; pass an id as --voice."""
    import pyttsx3
    engine = pyttsx3.init()
    return [(voice.id, voice.name, [str(language) for language in (voice.languages or [])])
            for voice in engine.getProperty("voices")]


def default_voice() -> str | None:
    """The id of the voice pyttsx3 speaks with when none is chosen."""
    import pyttsx3
    return pyttsx3.init().getProperty("voice")


def user_language(environ: Mapping[str, str] = os.environ) -> str:
    """The user's language code ("en", "fr") from the locale variables, as gettext reads them; English if unset."""
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name, "").split(":")[0]
        if value:
            code = value.split(".")[0].split("_")[0].split("@")[0].lower()
            return "en" if code in ("c", "posix", "") else code
    return "en"


def speaks(languages: list[str], language: str) -> bool:
    """Whether a voice's languages ("en-gb", "en-us") include the language ("en")."""
    return any(spoken.lower().replace("_", "-").split("-")[0] == language for spoken in languages)


def check_voice(voice: str) -> str:
    """The id of the installed voice with this id or name; SettingsError if none (pyttsx3 would fail later)."""
    wanted = voice.lower()
    for voice_id, name, _ in list_voices():
        if wanted in (voice_id.lower(), name.lower()):
            return voice_id
    raise SettingsError(f"The voice {voice!r} is not installed; 'voicecoach voices' lists the voices you can use.")


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
        if settings.speaker == "speechd":
            from voicecoach.speech.speechd_speaker import SpeechdSpeaker as speaker_class
        else:
            from voicecoach.speech.pyttsx3_speaker import Pyttsx3Speaker as speaker_class
        self._speaker = speaker_class(settings, _Monotonic(), self._notify)

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
