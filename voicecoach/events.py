"""The JSON-lines events log: one object per line, flushed as it happens."""
from __future__ import annotations

import contextlib
import json
import os
import stat
import threading
from pathlib import Path
from typing import IO


class EventLog:
    def __init__(self, path: Path | None):
        self._file: IO[str] | None = _open_private(path) if path else None
        self._lock = threading.Lock()

    def write(self, t: float, event: str, fields: dict | None = None) -> None:
        if self._file is None:
            return
        line = json.dumps({"t": round(t, 3), "event": event, **(fields or {})}, ensure_ascii=False)
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _open_private(path: Path) -> IO[str]:
    """Open for appending, created 0600: the log holds what the user said. A regular file someone else could read
    (from an older voicecoach) is tightened; anything else (a pipe, /dev/stdout) is left as it is."""
    handle = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        info = os.fstat(handle)
        if stat.S_ISREG(info.st_mode) and info.st_mode & 0o077:
            with contextlib.suppress(OSError):  # another user's file we may append to: theirs to decide
                os.fchmod(handle, stat.S_IMODE(info.st_mode) & 0o700)
        return open(handle, "a", encoding="utf-8")
    except BaseException:
        os.close(handle)
        raise
