"""Session history in SQLite, written as the session happens so an interruption loses at most one step."""
from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

from voicecoach.ports import SessionRecord

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY,
    routine TEXT NOT NULL,
    routine_name TEXT NOT NULL,
    started TEXT NOT NULL,
    steps_done INTEGER NOT NULL DEFAULT 0,
    steps_total INTEGER NOT NULL,
    seconds REAL NOT NULL DEFAULT 0,
    finished INTEGER NOT NULL DEFAULT 0,
    completed INTEGER NOT NULL DEFAULT 0,
    resumed_from INTEGER
);
"""


class SqliteStore:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=5)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)

    def begin(self, routine: str, routine_name: str, steps_total: int, resumed_from: int | None = None) -> int:
        started = datetime.now().astimezone().isoformat(timespec="seconds")
        if resumed_from is not None:  # the old record is superseded by the continuation
            self._db.execute("UPDATE sessions SET finished = 1 WHERE id = ?", (resumed_from,))
        cursor = self._db.execute(
            "INSERT INTO sessions (routine, routine_name, started, steps_total, resumed_from) VALUES (?, ?, ?, ?, ?)",
            (routine, routine_name, started, steps_total, resumed_from))
        return int(cursor.lastrowid)

    def step_done(self, session_id: int, steps_done: int, seconds: float) -> None:
        self._db.execute("UPDATE sessions SET steps_done = ?, seconds = ? WHERE id = ?",
                         (steps_done, seconds, session_id))

    def switch(self, session_id: int, routine: str, routine_name: str, steps_total: int) -> None:
        self._db.execute("UPDATE sessions SET routine = ?, routine_name = ?, steps_total = ?, steps_done = 0"
                         " WHERE id = ?", (routine, routine_name, steps_total, session_id))

    def end(self, session_id: int, completed: bool, seconds: float) -> None:
        """A session stopped under way stays unfinished, so it can be continued, as after Ctrl-C."""
        self._db.execute("UPDATE sessions SET finished = CASE WHEN ? OR steps_done = 0 THEN 1 ELSE 0 END,"
                         " completed = ?, seconds = ?,"
                         " steps_done = CASE WHEN ? THEN steps_total ELSE steps_done END WHERE id = ?",
                         (completed, completed, seconds, completed, session_id))

    def unfinished(self) -> SessionRecord | None:
        rows = self._select("WHERE finished = 0 ORDER BY id DESC LIMIT 1")
        return rows[0] if rows else None

    def history(self, limit: int = 50) -> list[SessionRecord]:
        return self._select("ORDER BY id DESC LIMIT ?", (limit,))

    def _select(self, where: str, params: tuple = ()) -> list[SessionRecord]:
        cursor = self._db.execute(
            "SELECT id, routine, routine_name, started, steps_done, steps_total, seconds, finished, completed"
            f" FROM sessions {where}", params)
        return [SessionRecord(r[0], r[1], r[2], r[3], r[4], r[5], r[6], bool(r[7]), bool(r[8])) for r in cursor]

    def close(self) -> None:
        self._db.close()
