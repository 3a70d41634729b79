"""History that cannot be kept never stops the coach: damaged, locked, read-only or full stores, and two sessions."""
import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Callable

import pytest

from voicecoach.adapters.sqlite_store import SessionLock, SqliteStore, open_history, set_aside
from voicecoach.package_data import lines
from tests.fakes import SHORT



@pytest.fixture(autouse=True)
def private_home(tmp_path, monkeypatch):
    for name, folder in (("HOME", "home"), ("XDG_DATA_HOME", "data"), ("XDG_CONFIG_HOME", "config"),
                         ("XDG_CACHE_HOME", "cache"), ("XDG_STATE_HOME", "state")):
        monkeypatch.setenv(name, str(tmp_path / folder))
    monkeypatch.setenv("VOICECOACH_READING_WPM", "0")
    monkeypatch.setenv("VOICECOACH_START_WAIT", "0")


def data(tmp_path) -> Path:
    return tmp_path / "data" / "voicecoach"


def voicecoach(*args: str, stdin: str = "", timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "voicecoach", *args], input=stdin, capture_output=True,
                          text=True, timeout=timeout, env=os.environ.copy())


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def notices() -> tuple[list, Callable[[str, dict], None]]:
    heard: list = []
    return heard, lambda name, fields: heard.append((name, fields))


def a_real_history(path: Path, sessions: int = 40) -> None:
    store = SqliteStore(path)
    for n in range(sessions):
        store.end(store.begin(f"routine-{n}", "A routine with a long name " * 4, 28), True, 300.0)
    store.close()


# ---- private files ----

def test_history_its_journal_and_its_folder_are_readable_by_the_owner_only(tmp_path):
    store = SqliteStore(data(tmp_path) / "history.db")
    store.begin("calf-stretch", "Calf stretch", 28)
    assert mode(data(tmp_path)) == 0o700
    for name in ("history.db", "history.db-wal", "history.db-shm"):
        assert mode(data(tmp_path) / name) == 0o600, name
    store.close()


def test_wider_modes_left_from_before_are_tightened_when_opened(tmp_path):
    folder = data(tmp_path)
    a_real_history(folder / "history.db")
    os.chmod(folder, 0o755)
    for path in folder.iterdir():
        os.chmod(path, 0o644)
    SqliteStore(folder / "history.db").close()
    assert mode(folder) == 0o700
    assert {path.name: mode(path) for path in folder.iterdir()} == {path.name: 0o600 for path in folder.iterdir()}


# ---- damaged files are set aside, never deleted ----

@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_history_file_is_set_aside_with_the_date_and_a_new_one_begun(tmp_path, damage):
    path = data(tmp_path) / "history.db"
    a_real_history(path)
    body = path.read_bytes()
    path.write_bytes(b"not a database at all " * 50 if damage == "garbage" else body[:len(body) // 2])
    damaged = path.read_bytes()
    heard, notify = notices()
    store = open_history(path, notify)
    aside = path.with_name(f"history.db.corrupt-{date.today().isoformat()}")
    assert heard == [("history_set_aside", {"name": aside.name, "error": heard[0][1]["error"]})]
    assert aside.read_bytes() == damaged
    assert store.kept and store.history() == []
    assert store.begin("calf-stretch", "Calf stretch", 28) == 1


def test_a_second_damaged_file_on_the_same_day_does_not_overwrite_the_first(tmp_path):
    path = data(tmp_path) / "history.db"
    first = set_aside(_garbage(path, b"first"), date(2026, 12, 1))
    second = set_aside(_garbage(path, b"second"), date(2026, 12, 1))
    assert (first.name, second.name) == ("history.db.corrupt-2026-12-01", "history.db.corrupt-2026-12-01-2")
    assert (first.read_bytes(), second.read_bytes()) == (b"first", b"second")


def _garbage(path: Path, body: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    return path


# ---- stores that cannot be used: history is not kept, and that is said once ----

def test_a_file_where_the_data_folder_should_be_means_no_history_and_no_failure(tmp_path):
    (tmp_path / "data").mkdir()
    data(tmp_path).write_text("in the way")
    heard, notify = notices()
    store = open_history(data(tmp_path) / "history.db", notify)
    assert not store.kept
    assert store.unfinished() is None and store.history() == [] and store.begin("r", "R", 3) is None
    store.step_done(1, 1, 1.0)
    store.end(1, True, 2.0)
    store.close()
    assert [(name, fields["reason"]) for name, fields in heard] == [("history_lost", "read_only")]


def test_a_data_folder_that_cannot_be_written_means_no_history(tmp_path):
    folder = data(tmp_path)
    folder.mkdir(parents=True)
    # Root ignores chmod, so the folder is made immutable instead (as a read-only disk would be).
    if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not allowed here (needs CAP_LINUX_IMMUTABLE); the test above covers this case")
    try:
        heard, notify = notices()
        store = open_history(folder / "history.db", notify)
        assert not store.kept and store.begin("r", "R", 3) is None
        assert [(name, fields["reason"]) for name, fields in heard] == [("history_lost", "read_only")]
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


def test_a_history_locked_by_another_program_means_no_history(tmp_path):
    path = data(tmp_path) / "history.db"
    a_real_history(path, 1)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("PRAGMA journal_mode=DELETE")
    other.execute("BEGIN EXCLUSIVE")
    try:
        heard, notify = notices()
        store = open_history(path, notify)
        assert not store.kept
        assert [(name, fields["reason"]) for name, fields in heard] == [("history_lost", "locked")]
        assert path.exists() and not list(path.parent.glob("*.corrupt-*"))  # locked is not damaged
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_a_failure_after_opening_is_said_once_and_the_store_is_not_tried_again(tmp_path):
    path = data(tmp_path) / "history.db"
    heard, notify = notices()
    store = open_history(path, notify)
    session = store.begin("calf-stretch", "Calf stretch", 28)
    store._inner._db.close()  # the connection goes bad under it, as a disk going away would leave it
    store.step_done(session, 1, 1.0)
    store.step_done(session, 2, 2.0)
    store.end(session, True, 3.0)
    assert [name for name, _ in heard] == ["history_lost"] and not store.kept


# ---- the command line ----

def test_history_on_a_store_that_cannot_be_opened_is_one_sentence_and_exit_1(tmp_path):
    (tmp_path / "data").mkdir()
    data(tmp_path).write_text("in the way")
    result = voicecoach("history")
    assert result.returncode == 1
    why = lines()["history_why_read_only"]
    assert result.stderr == f"voicecoach: {lines()['history_unavailable'].format(why=why)}\n"
    assert result.stdout == ""


def test_history_on_a_damaged_file_says_it_was_set_aside_and_shows_the_new_one(tmp_path):
    _garbage(data(tmp_path) / "history.db", b"\x00garbage" * 100)
    result = voicecoach("history")
    assert result.returncode == 0 and "Traceback" not in result.stderr
    aside = f"history.db.corrupt-{date.today().isoformat()}"
    assert result.stdout.splitlines() == [lines()["history_set_aside"].format(name=aside), lines()["history_empty"]]
    assert (data(tmp_path) / aside).exists()


@pytest.mark.slow
@pytest.mark.parametrize("broken", ["damaged", "in the way"])
def test_a_session_runs_to_its_end_on_a_broken_history(tmp_path, broken):
    routine = tmp_path / "short.yaml"
    routine.write_text(SHORT)
    if broken == "damaged":
        _garbage(data(tmp_path) / "history.db", b"garbage" * 100)
        said = lines()["history_set_aside"].format(name=f"history.db.corrupt-{date.today().isoformat()}")
    else:
        _garbage(data(tmp_path), b"in the way")
        said = lines()["history_lost"].format(why=lines()["history_why_read_only"])
    events = tmp_path / "events.jsonl"
    result = voicecoach("run", str(routine), "--text", "--no-speech", "--events", str(events))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.splitlines().count(said) == 1
    assert result.stdout.splitlines()[-2] == "Well done. That is the end of Short."  # then the summary
    assert '"event": "session_end"' in events.read_text().splitlines()[-1]


def test_a_setting_the_speaker_cannot_remember_is_reported_not_raised(tmp_path, monkeypatch):
    import argparse

    from voicecoach.commands import wiring
    from voicecoach.config import Settings
    from voicecoach.speech import pyttsx3_speaker
    (tmp_path / "config").write_text("a file where the settings folder should be")
    captured = {}

    class Speaker:
        def __init__(self, settings, clock, notify, remember, tap=None):
            captured["remember"] = remember

    monkeypatch.setattr(pyttsx3_speaker, "Pyttsx3Speaker", Speaker)
    heard, notify = notices()
    wiring.make_speaker(argparse.Namespace(no_speech=False), Settings(), None, notify)
    captured["remember"](Settings(rate=150))
    assert [name for name, _ in heard] == ["setting_not_saved"]


# ---- two sessions at once ----

def start_session(tmp_path, routine: Path, events: Path) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-m", "voicecoach", "run", str(routine), "--text", "--no-speech",
                                "--events", str(events)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=os.environ.copy())
    deadline = time.monotonic() + 30
    while '"hold_start"' not in (events.read_text() if events.exists() else "") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process.poll() is None, process.communicate()
    return process


@pytest.mark.slow
def test_a_second_session_starts_its_own_and_the_first_stays_resumable(tmp_path):
    routine = tmp_path / "long.yaml"
    routine.write_text(SHORT.replace("hold: 2", "hold: 120"))
    first = start_session(tmp_path, routine, tmp_path / "first.jsonl")
    try:
        second = voicecoach("run", "--resume", "--text", "--no-speech", "--events", str(tmp_path / "second.jsonl"),
                            stdin="stop\n")
        assert second.returncode == 0, second.stderr
        assert second.stdout.splitlines().count(lines()["another_session"]) == 1
        assert "Continuing" not in second.stdout
        log = [json.loads(line) for line in (tmp_path / "second.jsonl").read_text().splitlines()]
        assert log[0]["from_step"] == 0
        assert [e["text"] for e in log if e["event"] == "speech_start"].count(lines()["another_session"]) == 1
    finally:
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=30)
    assert "Short  unfinished" in voicecoach("history").stdout
    resumed = voicecoach("run", "--resume", "--text", "--no-speech", stdin="stop\n")
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.startswith("Continuing Short where you left off")


def test_the_session_lock_is_let_go_when_its_holder_is_killed(tmp_path):
    path = tmp_path / "session.lock"
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from pathlib import Path;"
                               "from voicecoach.adapters.sqlite_store import SessionLock;"
                               f"lock = SessionLock(Path({str(path)!r})); print('held', flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        second = SessionLock(path)
        assert second.others_running
        second.release()
    finally:
        holder.kill()
        holder.wait(timeout=30)
    alone = SessionLock(path)
    assert not alone.others_running
    alone.release()


def test_ctrl_c_at_the_opening_says_there_was_no_place_to_save_and_keeps_no_record(tmp_path, monkeypatch):
    monkeypatch.setenv("VOICECOACH_START_WAIT", "60")
    routine = tmp_path / "short.yaml"
    routine.write_text(SHORT)
    process = subprocess.Popen([sys.executable, "-m", "voicecoach", "run", str(routine), "--text", "--no-speech"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONFAULTHANDLER": "1"},
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert "Say start when you are ready" in process.stdout.readline()
    process.send_signal(signal.SIGINT)
    try:
        out, err = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGABRT)  # the fault handler prints where each thread is
        raise AssertionError(f"Ctrl-C did not end the session; its threads:\n{process.communicate()[1]}") from None
    assert process.returncode == 0 and "Traceback" not in err
    assert out.strip() == lines()["interrupted_unsaved"]
    assert voicecoach("history").stdout.strip() == lines()["history_empty"]


def test_a_file_system_without_locks_does_not_stop_a_session(tmp_path, monkeypatch):
    from voicecoach.adapters import sqlite_store

    def no_locks(fd, operation):
        raise OSError(37, "No locks available")

    monkeypatch.setattr(sqlite_store.fcntl, "flock", no_locks)
    lock = SessionLock(tmp_path / "session.lock")
    assert not lock.others_running
    lock.release()


@pytest.mark.slow
def test_an_events_log_on_a_full_disk_is_said_once_and_the_session_runs_to_its_end(tmp_path):
    routine = tmp_path / "short.yaml"
    routine.write_text(SHORT)
    result = voicecoach("run", str(routine), "--text", "--no-speech", "--events", "/dev/full")  # always full
    assert result.returncode == 0 and result.stderr == ""
    out = result.stdout.splitlines()
    assert [line for line in out if line.startswith("The events log cannot be written")] == [
        lines()["events_lost"].format(error="[Errno 28] No space left on device")]
    assert out[-2] == "Well done. That is the end of Short."  # then the summary


@pytest.mark.slow
def test_history_in_a_folder_that_cannot_be_written_is_still_shown(tmp_path):
    routine = tmp_path / "short.yaml"
    routine.write_text(SHORT)
    assert voicecoach("run", str(routine), "--text", "--no-speech").returncode == 0
    if subprocess.run(["chattr", "+i", str(data(tmp_path))], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not allowed here (needs CAP_LINUX_IMMUTABLE)")
    try:
        result = voicecoach("history")
    finally:
        subprocess.run(["chattr", "-i", str(data(tmp_path))], check=True)
    assert result.returncode == 0, result.stderr
    assert "Short  completed, " in result.stdout
