"""The adapters a session runs with, picked from the options and settings: speaker, listener, history, events log."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from voicecoach.commands.common import UsageError, print_line, remember_settings
from voicecoach.package_data import lines
from voicecoach.paths import history_path


def open_store(notify, reading: bool = False):
    """The history; it never fails, but tells `notify` once why history is not being kept."""
    from voicecoach.adapters.sqlite_store import open_history
    return open_history(history_path(), notify, reading)


def open_events(path: Path | None):
    """The events log for --events; a path that cannot be written is a UsageError naming it and the fix."""
    from voicecoach.events import EventLog
    try:
        return EventLog(path)
    except IsADirectoryError:
        raise UsageError(lines()["events_folder"].format(path=path)) from None
    except FileNotFoundError as error:
        assert path is not None  # no path opens no file
        if not path.parent.is_dir():
            raise UsageError(lines()["events_no_folder"].format(path=path, folder=path.parent)) from None
        raise UsageError(lines()["events_unwritable"].format(path=path, error=error.strerror)) from None
    except OSError as error:
        raise UsageError(lines()["events_unwritable"].format(path=path, error=error.strerror or error)) from None


def make_speaker(args: argparse.Namespace, settings, clock, notify, played=None):
    from voicecoach.adapters.silent_speaker import SilentSpeaker
    from voicecoach.speech import SpeechUnavailable

    def save_user_settings(changed) -> None:
        try:
            remember_settings({"rate": changed.rate, "volume": changed.volume})
        except OSError as error:  # the speaker has it already: it applies for this session
            notify("setting_not_saved", {"error": f"{type(error).__name__}: {error}"})

    if args.no_speech or settings.speaker == "print":
        return SilentSpeaker(clock, notify, settings.reading_wpm)
    try:
        if settings.speaker == "speechd":
            from voicecoach.speech.speechd_speaker import SpeechdSpeaker
            return SpeechdSpeaker(settings, clock, notify, remember=save_user_settings)
        from voicecoach.speech.pyttsx3_speaker import Pyttsx3Speaker
        return Pyttsx3Speaker(settings, clock, notify, remember=save_user_settings,
                              tap=played.write if played is not None else None)
    except SpeechUnavailable as error:
        print_line(f"{error} {lines()['speech_fallback']}")
        return SilentSpeaker(clock, notify, settings.reading_wpm)


def make_listener(args: argparse.Namespace, clock, notify, routine_names: dict[str, str], played=None):
    """Typed lines always; with --text nothing else, otherwise the microphone too (typed input is the fallback)."""
    from voicecoach.adapters.typed_input import TypedInput
    from voicecoach.knowledge import match_question
    typed = TypedInput(sys.stdin, match_question, routine_names,
                       report=lambda number: print_line(lines()["typed_line_unreadable"].format(line=number)))
    if args.text:
        return typed
    from voicecoach.adapters.combined import CombinedListener
    from voicecoach.listening.mic import MicListener
    build = recognizer_builder(args.recognizer, args.model, routine_names)
    return CombinedListener(MicListener(clock, device=args.input_device, recognizer_factory=build, notify=notify,
                                        played=played), typed)


def recognizer_builder(name: str, model: str | None, routine_names: dict[str, str]):
    """The chosen recognizer's factory; one that cannot be used is a UsageError saying why."""
    from voicecoach.listening.factory import RecognizerUnavailable, recognizer_factory
    try:
        return recognizer_factory(name, model, routine_names)
    except RecognizerUnavailable as error:
        raise UsageError(str(error)) from None
