"""Session history in SQLite, written as the session happens so an interruption loses at most one step."""
from __future__ import annotations

import errno
import fcntl
import os
import sqlite3
from datetime import date, datetime
from pathlib import Path
from typing import Callable, TypeVar

from voicecoach.ports import HistoryReason, Notify, SessionRecord, Store

T = TypeVar("T")
# A write waits this long for another process's lock before history is given up: long enough for another
# session's one-row update, short enough that a count is not noticeably late.
BUSY_TIMEOUT = 0.5

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


def private_folder(folder: Path) -> Path:
    """Make the folder (its parents as usual) readable by its owner only, tightening a wider existing one."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.mkdir(mode=0o700, exist_ok=True)
    _tighten(folder)
    return folder


def _tighten(path: Path) -> None:
    try:
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            os.chmod(path, mode & 0o700)
    except OSError:  # not ours to change (or gone): it is used as it is
        pass


class Damaged(sqlite3.DatabaseError):
    """The file opened, but its own check found it damaged."""


class SqliteStore:
    def __init__(self, path: Path, read_only: bool = False):
        if read_only:  # to show history from a folder that cannot be written: the file as it is, no lock files
            self._db = sqlite3.connect(f"{path.resolve().as_uri()}?immutable=1", uri=True, check_same_thread=False)
            try:
                self._db.execute("SELECT count(*) FROM sessions").fetchone()
            except BaseException:
                self._db.close()
                raise
            return
        private_folder(path.parent)
        # Created owner-only before SQLite sees it; SQLite gives the -wal and -shm files the same mode.
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        _tighten(path)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(SCHEMA)
            # A truncated file can open and still be damaged further on; the check reads every page (a few ms).
            problems = [row[0] for row in self._db.execute("PRAGMA quick_check")]
            if problems != ["ok"]:
                raise Damaged(f"database disk image is malformed: {problems[0]}")
        except BaseException:
            self._db.close()
            raise
        for suffix in ("-wal", "-shm"):
            _tighten(path.with_name(path.name + suffix))

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

    kept = True  # a store that raises on failure; GuardedStore turns failures into kept = False

    def abandon(self, session_id: int) -> None:
        self._db.execute("UPDATE sessions SET finished = 1 WHERE id = ?", (session_id,))

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


def reason_of(error: BaseException) -> HistoryReason:
    """What a storage failure means to the user."""
    name = getattr(error, "sqlite_errorname", "") or ""
    if isinstance(error, Damaged) or name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")):
        return "corrupt"
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return "locked"
    if name.startswith("SQLITE_FULL") or getattr(error, "errno", None) in (errno.ENOSPC, errno.EDQUOT):
        return "disk_full"
    if name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM")) or getattr(error, "errno", None) in (
            errno.EROFS, errno.EACCES, errno.EPERM, errno.EEXIST, errno.ENOTDIR):
        return "read_only"
    return "unusable"


def set_aside(path: Path, today: date | None = None) -> Path:
    """Rename a damaged history file (and its -wal and -shm) to history.db.corrupt-YYYY-MM-DD[-n]; never delete."""
    stamp = (today or date.today()).isoformat()
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while aside.exists():
        n += 1
        aside = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    os.rename(path, aside)
    for suffix in ("-wal", "-shm"):  # kept next to it, under names SQLite would pair with it
        if path.with_name(path.name + suffix).exists():
            os.rename(path.with_name(path.name + suffix), aside.with_name(aside.name + suffix))
    return aside


def open_sqlite(path: Path, notify: Notify, reading: bool = False) -> SqliteStore:
    """The history at `path`; a damaged file is set aside (and said so) and a new one begun. With `reading`, a
    history in a folder that cannot be written is still opened, to be read."""
    try:
        return SqliteStore(path)
    except (sqlite3.Error, OSError) as error:
        if reading and reason_of(error) == "read_only" and path.is_file():
            try:
                return SqliteStore(path, read_only=True)
            except sqlite3.Error:
                raise error from None
        if not isinstance(error, sqlite3.DatabaseError) or reason_of(error) != "corrupt":
            raise
        try:
            aside = set_aside(path)
        except OSError:
            raise error from None  # cannot be renamed: reported as damaged, and left as it is
        notify("history_set_aside", {"name": aside.name, "error": str(error)})
    return SqliteStore(path)


class GuardedStore:
    """A Store that never fails: the first failure is reported once, and history is not kept after it.

    History is a convenience; a session must go on whatever the disk does. After one failure the store is not
    tried again this session, so a locked or failing disk costs at most one short wait.
    """

    def __init__(self, opener: Callable[[], Store], notify: Notify):
        self._notify = notify
        self._inner: Store | None = None
        self._inner = self._guard(opener, None)

    def _guard(self, call: Callable[[], T], default: T) -> T:
        try:
            return call()
        except (sqlite3.Error, OSError) as error:
            inner, self._inner = self._inner, None
            if inner is not None and hasattr(inner, "close"):
                try:
                    inner.close()
                except (sqlite3.Error, OSError):
                    pass
            self._notify("history_lost", {"reason": reason_of(error), "error": f"{type(error).__name__}: {error}"})
            return default

    @property
    def kept(self) -> bool:
        return self._inner is not None

    def begin(self, routine: str, routine_name: str, steps_total: int, resumed_from: int | None = None) -> int | None:
        if self._inner is None:
            return None
        return self._guard(lambda: self._inner.begin(routine, routine_name, steps_total, resumed_from), None)

    def step_done(self, session_id: int, steps_done: int, seconds: float) -> None:
        if self._inner is not None:
            self._guard(lambda: self._inner.step_done(session_id, steps_done, seconds), None)

    def switch(self, session_id: int, routine: str, routine_name: str, steps_total: int) -> None:
        if self._inner is not None:
            self._guard(lambda: self._inner.switch(session_id, routine, routine_name, steps_total), None)

    def end(self, session_id: int, completed: bool, seconds: float) -> None:
        if self._inner is not None:
            self._guard(lambda: self._inner.end(session_id, completed, seconds), None)

    def abandon(self, session_id: int) -> None:
        if self._inner is not None:
            self._guard(lambda: self._inner.abandon(session_id), None)

    def unfinished(self) -> SessionRecord | None:
        return None if self._inner is None else self._guard(self._inner.unfinished, None)

    def history(self, limit: int = 50) -> list[SessionRecord]:
        return [] if self._inner is None else self._guard(lambda: self._inner.history(limit), [])

    def close(self) -> None:
        if self._inner is not None and hasattr(self._inner, "close"):
            self._guard(self._inner.close, None)
        self._inner = None


def open_history(path: Path, notify: Notify, reading: bool = False) -> GuardedStore:
    return GuardedStore(lambda: open_sqlite(path, notify, reading), notify)


class SessionLock:
    """Held (shared) by every running session for its life; the OS lets go when the process ends, even on kill -9.

    A session that can take it exclusively, if only for a moment, is the only one running, so an unfinished record
    is nobody else's and may be offered; otherwise another session is running and its record is left alone.
    """

    def __init__(self, path: Path):
        self.others_running = False
        self._fd: int | None = None
        try:
            private_folder(path.parent)
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:  # no folder to lock in: history cannot be kept either, so there is no record to guard
            return
        try:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                self.others_running = True
            fcntl.flock(self._fd, fcntl.LOCK_SH)  # waits only while another session is making this same check
        except OSError:  # a file system without locks: no way to tell, so as before, as if alone
            self.release()

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
