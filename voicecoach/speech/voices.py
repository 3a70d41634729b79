"""The installed voices: listing them, the default one, the user's language, and checking a chosen voice."""
from __future__ import annotations

import os
from typing import Mapping

from voicecoach.config import SettingsError


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
