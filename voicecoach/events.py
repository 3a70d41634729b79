"""The JSON-lines events log: one object per line, flushed as it happens."""
from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import IO


class EventLog:
    def __init__(self, path: Path | None):
        self._file: IO[str] | None = open(path, "a", encoding="utf-8") if path else None
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
