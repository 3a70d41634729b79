"""Offline and owner-only: the libraries' network switches, set before any of them loads, and private folders."""
from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

# Set on importing voicecoach (its __init__), so before any library below is loaded; set even over a user's own
# value, since the README promises that nothing leaves the machine unless --recognizer google is chosen.
OFFLINE_ENVIRONMENT = {
    # onnxruntime's Linux wheels 1.29 to 1.32 (so far) start Microsoft's 1DS telemetry when the library loads: a
    # device id and an event store under ~/.cache/Microsoft/DeveloperTools/.onnxruntime, and DNS lookups of
    # mobile.events.data.microsoft.com at once and every few seconds. This variable, read when the library
    # initialises, stops all of it (its docs/Privacy.md); onnxruntime.disable_telemetry_events(), called after the
    # import, is too late: the files are written and the lookups go on. Wheels up to 1.28 carry no telemetry.
    "ORT_DISABLE_TELEMETRY": "1",
    # huggingface_hub comes with tokenizers and faster-whisper: never let it fetch a model by name.
    "HF_HUB_OFFLINE": "1",
}


def keep_offline(environ=os.environ) -> None:
    """Switch off every library's network use that the user did not choose; subprocesses inherit it."""
    environ.update(OFFLINE_ENVIRONMENT)


def private_dir(path: Path) -> Path:
    """Make `path` a folder only its owner can enter: missing folders are created 0700, and an existing `path` that
    others could read (from an older voicecoach) is tightened. Raises OSError as mkdir does."""
    path = Path(path)
    missing = []
    while not path.is_dir() and path != path.parent:
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder, 0o700)
        except FileExistsError:  # made meanwhile by another voicecoach, or a file: the next check says which
            pass
    path = missing[0] if missing else path
    info = os.stat(path)
    if not stat.S_ISDIR(info.st_mode):
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(path))
    if info.st_mode & 0o077:
        os.chmod(path, stat.S_IMODE(info.st_mode) & 0o700)
    return path
