"""History store faults: damaged, truncated, locked, read-only and full stores, two sessions, settings not saved."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import yaml

from faults.common import Fault, Result, voicecoach

ROUTINE = """name: Short
exercises:
  - name: Quick calf
    sides: [left, right]
    steps:
      - say: Step forward with your {side} leg.
      - hold: 3
"""
TEXT = ("--text", "--no-speech")


def lines() -> dict[str, str]:
    root = Path(__file__).resolve().parents[2]
    return yaml.safe_load((root / "voicecoach/data/lines.en.yaml").read_text("utf-8"))


def history_lost(reason: str) -> str:
    return lines()["history_lost"].format(why=lines()[f"history_why_{reason}"])


def data(home: Path) -> Path:
    return home / ".local/share/voicecoach"


def routine(home: Path, hold: int = 3) -> str:
    path = home / "short.yaml"
    path.write_text(ROUTINE.replace("hold: 3", f"hold: {hold}"))
    return str(path)


def a_history(home: Path) -> Path:
    """A real history with one completed session, made by the program itself."""
    voicecoach("run", routine(home), *TEXT, env={"VOICECOACH_START_WAIT": "0"})
    return data(home) / "history.db"


def ran_through(result: subprocess.CompletedProcess, said: str) -> tuple[bool, str]:
    """Whether the session ran to its end, said `said` exactly once, and left no traceback; and what was heard."""
    out = result.stdout.splitlines()
    ended = "Well done. That is the end of Short." in out  # then the summary of the session
    ok = result.returncode == 0 and ended and out.count(said) == 1 and "Traceback" not in result.stderr
    heard = f"{said!r} x{out.count(said)}, " + ("ran to the end" if ended else f"exit {result.returncode}: "
                                                 f"{(result.stderr.strip().splitlines() or ['?'])[-1]}")
    return ok, heard


def _damaged(home: Path, truncate: bool) -> Result:
    path = a_history(home)
    body = path.read_bytes()
    damaged = body[:len(body) // 2] if truncate else b"this is not a database " * 40
    path.write_bytes(damaged)
    for suffix in ("-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    aside = path.with_name(f"history.db.corrupt-{date.today().isoformat()}")
    result = voicecoach("run", routine(home), *TEXT, env={"VOICECOACH_START_WAIT": "0"})
    ok, heard = ran_through(result, lines()["history_set_aside"].format(name=aside.name))
    kept = aside.exists() and aside.read_bytes() == damaged
    new = "completed" in voicecoach("history").stdout
    return Result(heard, "nothing (the damaged file is kept as " + aside.name + ")" if kept else "the damaged file",
                  ok and kept and new)


def garbage_history(home: Path) -> Result:
    return _damaged(home, truncate=False)


def truncated_history(home: Path) -> Result:
    return _damaged(home, truncate=True)


def data_folder_is_a_file(home: Path) -> Result:
    data(home).parent.mkdir(parents=True)
    data(home).write_text("a file where the data folder should be")
    result = voicecoach("run", routine(home), *TEXT, env={"VOICECOACH_START_WAIT": "0"})
    ok, heard = ran_through(result, history_lost("read_only"))
    return Result(heard, "this session's history (said so)", ok)


def data_folder_immutable(home: Path) -> Result:
    data(home).mkdir(parents=True)
    if subprocess.run(["chattr", "+i", str(data(home))], capture_output=True).returncode:
        return Result("not run: chattr +i is not allowed here", "unknown", False)
    try:
        result = voicecoach("run", routine(home), *TEXT, env={"VOICECOACH_START_WAIT": "0"})
    finally:
        subprocess.run(["chattr", "-i", str(data(home))])
    ok, heard = ran_through(result, history_lost("read_only"))
    return Result(heard, "this session's history (said so)", ok)


def history_locked(home: Path) -> Result:
    path = a_history(home)
    holder = subprocess.Popen([sys.executable, "-c", "import sqlite3, sys, time\n"
                               f"db = sqlite3.connect({str(path)!r}, isolation_level=None)\n"
                               "db.execute('PRAGMA journal_mode=DELETE'); db.execute('BEGIN EXCLUSIVE')\n"
                               "print('locked', flush=True); time.sleep(120)"], stdout=subprocess.PIPE, text=True)
    try:
        holder.stdout.readline()
        started = time.monotonic()
        result = voicecoach("run", routine(home), *TEXT, env={"VOICECOACH_START_WAIT": "0"})
        took = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    ok, heard = ran_through(result, history_lost("locked"))
    kept = "completed" in voicecoach("history").stdout
    return Result(f"{heard} in {took:.1f} s", "this session's history (said so); the earlier one kept" if kept
                  else "the earlier history", ok and kept)


def history_command_on_a_broken_store(home: Path) -> Result:
    data(home).parent.mkdir(parents=True)
    data(home).write_text("in the way")
    result = voicecoach("history")
    said = result.stderr.strip()
    ok = result.returncode == 1 and len(said.splitlines()) == 1 and "Traceback" not in said and "unexpected" not in said
    return Result(f"exit {result.returncode}: {said!r}", "nothing", ok)


def history_command_read_only_folder(home: Path) -> Result:
    a_history(home)
    if subprocess.run(["chattr", "+i", str(data(home))], capture_output=True).returncode:
        return Result("not run: chattr +i is not allowed here", "unknown", False)
    try:
        result = voicecoach("history")
    finally:
        subprocess.run(["chattr", "-i", str(data(home))])
    shown = result.stdout.strip()
    ok = result.returncode == 0 and "Short  completed" in shown
    return Result(f"exit {result.returncode}: {shown or result.stderr.strip()!r}", "nothing", ok)


def _filled(folder: Path) -> None:
    with open(folder / "filler", "wb", buffering=0) as filler:
        try:
            while True:
                filler.write(b"\0" * 4096)
        except OSError:  # full
            pass


def disk_full_mid_session(home: Path) -> Result:
    return _disk_full(home, events_too=False)


def disk_full_with_the_events_log(home: Path) -> Result:
    return _disk_full(home, events_too=True)


def _disk_full(home: Path, events_too: bool) -> Result:
    """A real full disk: the data folder is a 1 MB tmpfs, filled up once the first hold has begun."""
    folder = data(home)
    folder.mkdir(parents=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(folder)],
                             capture_output=True).returncode == 0
    if not mounted:
        return Result("not run: cannot mount a small tmpfs here (needs root)", "unknown", False)
    events = (folder if events_too else home) / "events.jsonl"
    try:
        process = subprocess.Popen([sys.executable, "-m", "voicecoach", "run", routine(home, hold=3), *TEXT,
                                    "--events", str(events)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True,
                                   env={**os.environ, "VOICECOACH_READING_WPM": "0", "VOICECOACH_START_WAIT": "0"})
        deadline = time.monotonic() + 60
        while '"hold_start"' not in (events.read_text() if events.exists() else "") and time.monotonic() < deadline:
            time.sleep(0.02)
        _filled(folder)
        out, err = process.communicate("", timeout=60)
        last = events.read_text().splitlines()[-1] if events.exists() else ""
    finally:
        subprocess.run(["umount", "-l", str(folder)])
    ok, heard = ran_through(subprocess.CompletedProcess([], process.returncode, out, err), history_lost("disk_full"))
    if events_too:  # the log cannot be written either: said once, and the session goes on
        told = sum(line.startswith("The events log cannot be written") for line in out.splitlines())
        return Result(f"{heard}; events log notice x{told}",
                      "the rest of this session's history and events log (said so)", ok and told == 1)
    ended = '"session_end"' in last
    return Result(heard + ("; session_end logged" if ended else "; no session_end"),
                  "the rest of this session's history (said so); its record shows it unfinished", ok and ended)


def two_sessions(home: Path) -> Result:
    first_events = home / "first.jsonl"
    first = subprocess.Popen([sys.executable, "-m", "voicecoach", "run", routine(home, hold=120), *TEXT,
                              "--events", str(first_events)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True,
                             env={**os.environ, "VOICECOACH_READING_WPM": "0", "VOICECOACH_START_WAIT": "0"})
    try:
        deadline = time.monotonic() + 60
        while '"hold_start"' not in (first_events.read_text() if first_events.exists() else "") \
                and time.monotonic() < deadline:
            time.sleep(0.05)
        second = voicecoach("run", "--resume", *TEXT, stdin="stop\n", env={"VOICECOACH_START_WAIT": "0"})
    finally:
        first.send_signal(signal.SIGKILL)
        first.communicate()
    said = next((line for line in second.stdout.splitlines() if line == lines()["another_session"]), "nothing")
    own = second.stdout.splitlines().count(said) == 1 and "Continuing" not in second.stdout
    resumed = voicecoach("run", "--resume", *TEXT, stdin="stop\n", env={"VOICECOACH_START_WAIT": "0"})
    kept = resumed.stdout.startswith("Continuing Short where you left off")
    return Result(f"second: {said!r}; after kill -9 of the first, --resume: "
                  f"{(resumed.stdout.splitlines() or [''])[0][:45]!r}",
                  "nothing" if kept else "the first session's place", own and kept and second.returncode == 0)


def setting_not_saved(home: Path) -> Result:
    (home / ".config").write_text("a file where the settings folder should be")
    result = voicecoach("run", routine(home), *TEXT, stdin="less talking\ncount in fives\n",
                        env={"VOICECOACH_START_WAIT": "0"})
    ok, heard = ran_through(result, lines()["setting_not_saved"])
    applied = lines()["verbosity_brief"] in result.stdout and lines()["counting_fives"] in result.stdout
    return Result(heard, "the settings for next time (said so); applied for this session" if applied
                  else "the settings", ok and applied)


def ctrl_c_at_the_opening(home: Path) -> Result:
    process = subprocess.Popen([sys.executable, "-m", "voicecoach", "run", routine(home), *TEXT],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "VOICECOACH_READING_WPM": "0", "VOICECOACH_START_WAIT": "60"},
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    process.stdout.readline()  # the opening, then it waits for "start"
    process.send_signal(signal.SIGINT)
    said = process.communicate(timeout=30)[0].strip()
    shown = voicecoach("history").stdout.strip()
    ok = shown == lines()["history_empty"] and said == lines()["interrupted_unsaved"]
    return Result(f"{said!r}; history afterwards: {shown!r}", "nothing" if ok else "an empty unfinished record was kept"
                  if shown != lines()["history_empty"] else "nothing, but it said the place was saved", ok)


FAULTS = [
    Fault("store: garbage history.db", garbage_history),
    Fault("store: truncated history.db", truncated_history),
    Fault("store: a file where the data folder should be", data_folder_is_a_file),
    Fault("store: read-only (immutable) data folder", data_folder_immutable),
    Fault("store: history.db locked by another process", history_locked),
    Fault("store: disk full mid-session", disk_full_mid_session),
    Fault("store: disk full mid-session, events log on the same disk", disk_full_with_the_events_log),
    Fault("store: history command on a broken store", history_command_on_a_broken_store),
    Fault("store: history command, read-only folder", history_command_read_only_folder),
    Fault("store: two sessions at once", two_sessions),
    Fault("store: setting by voice, settings folder not writable", setting_not_saved),
    Fault("store: Ctrl-C at the opening", ctrl_c_at_the_opening),
]
