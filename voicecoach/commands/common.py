"""What every subcommand shares: the usage error, one printed line, the user's settings."""
from __future__ import annotations

import argparse

from voicecoach.config import Settings
from voicecoach.paths import tutorial_marker

MIC_TEST_MAX_SECONDS = 60  # the longest `voicecoach mic-test --seconds` (the option's help says it)
SETTING_FLAGS = ("voice", "rate", "volume", "speaker", "verbosity", "start_wait", "wait_for_ready")


class UsageError(Exception):
    """A mistake in how the program was called; the message says how to fix it."""


def print_line(text: str) -> None:
    print(text + "\n", end="", flush=True)  # one write: a line from the typed-input thread never splits another


def counted(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def load_user_settings(args: argparse.Namespace) -> Settings:
    from voicecoach.config import SettingsError, load_settings
    flags = {name: getattr(args, name, None) for name in SETTING_FLAGS}
    try:
        return load_settings(flags)[0]
    except SettingsError as error:
        raise UsageError(str(error)) from None


def remember_settings(changes: dict) -> None:
    from voicecoach.config import remember
    remember(changes)


def mark_tutorial_offered() -> bool:
    """Remember that the tutorial was offered (or taken); True if it had not been before."""
    marker = tutorial_marker()
    if marker.exists():
        return False
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
    except OSError:
        return False  # an unwritable data folder: better no offer than one at every run
    return True
