"""The user's folders and files (platformdirs' places): settings, routines, history, the session lock, caches."""
from __future__ import annotations

from pathlib import Path

import platformdirs

APP = "voicecoach"
TUTORIAL_OFFERED = "tutorial-offered"  # in the data folder: the first run's offer is made once


def config_path() -> Path:
    return Path(platformdirs.user_config_dir(APP)) / "config.yaml"


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP))


def user_routines_dir() -> Path:
    return data_dir() / "routines"


def history_path() -> Path:
    return data_dir() / "history.db"


def session_lock_path() -> Path:
    return data_dir() / "session.lock"


def tutorial_marker() -> Path:
    return data_dir() / TUTORIAL_OFFERED


def cache_dir() -> Path:
    """voicecoach's cache folder (Moonshine's converted model, rendered speech, sentence embeddings)."""
    return Path(platformdirs.user_cache_dir(APP))
