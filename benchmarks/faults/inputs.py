"""Faults in what the user gives the coach: bad typed bytes, named pipes, bad paths, no sound device, early Ctrl-C."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import wave
from pathlib import Path

from faults.common import Fault, Result

from tests.test_inputs import LONG  # noqa: E402  (the same two-minute hold the tests use)
NO_SOUND = {"PULSE_SERVER": "unix:/nonexistent/pulse-socket"}


def run(*args: str, stdin: bytes = b"", timeout: float = 60, env: dict | None = None):
    """`python -m voicecoach ARGS` with bytes on stdin: (exit code, stdout, stderr), or None if it hung."""
    try:
        done = subprocess.run([sys.executable, "-m", "voicecoach", *args], input=stdin, capture_output=True,
                              timeout=timeout, env={**os.environ, "VOICECOACH_READING_WPM": "0",
                                                    "VOICECOACH_START_WAIT": "0", **(env or {})},
                              # as in a terminal: a benchmark started in the background inherits Ctrl-C ignored
                              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    except subprocess.TimeoutExpired:
        return None
    return done.returncode, done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace")


def hung(seconds: float, lost: str) -> Result:
    return Result(heard=f"nothing: still running after {seconds:g} s", lost=lost, ok=False)


def last_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[-1]


def routines_folder(home: Path) -> Path:
    folder = home / ".local/share/voicecoach/routines"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def history(home: Path) -> str:
    done = run("history")
    return last_line(done[1]) if done else "history hung"


# ---- item 7 ----

def typed_bad_utf8_then_stop(home: Path) -> Result:
    routine = home / "long.yaml"
    routine.write_text(LONG)
    done = run("run", str(routine), "--text", "--no-speech", stdin=b"where\n\xff\xfe bad\nstop\n", timeout=60)
    if done is None:
        return hung(60, "the stop (the two-minute hold ran on)")
    code, out, err = done
    report = next((line for line in out.splitlines() if line.startswith("Line 2")), "no report of line 2")
    stopped = "Stopping here. Well done." in out.splitlines()
    return Result(heard=f"{report!r}, then {last_line(out)!r} (exit {code})",
                  lost="nothing (its place kept)" if stopped and "unfinished" in history(home)
                  else f"the stop; stderr {err[-120:]!r}",
                  ok=code == 0 and stopped and not err and report.startswith("Line 2"))


def ask_json_bad_utf8(home: Path) -> Result:
    done = run("ask", "--json", "-", stdin=b"heat or ice\n\xff\xfe bad\nshould I stretch before bed\n")
    if done is None:
        return hung(60, "every answer")
    code, out, err = done
    answers = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return Result(heard=f"{len(answers)} answers of 3, stderr {err.strip()!r} (exit {code})",
                  lost="nothing" if len(answers) == 3 else f"{3 - len(answers)} questions unanswered",
                  ok=code == 0 and len(answers) == 3 and "Line 2" in err)


# ---- item 8 ----

def fifo_in_routines_folder(home: Path) -> Result:
    os.mkfifo(routines_folder(home) / "pipe.yaml")
    listed = run("list", timeout=30)
    if listed is None:
        return hung(30, "the list of routines")
    ran = run("run", "--text", "--no-speech", "--brief", stdin=b"stop\n", timeout=60)
    if ran is None:
        return hung(60, "the session (list worked)")
    pipe = next((line for line in listed[1].splitlines() if line.startswith("pipe:")), "pipe not listed")
    return Result(heard=f"list: {pipe!r}; run: {last_line(ran[1])!r}",
                  lost="nothing" if ran[0] == 0 else "the session",
                  ok=listed[0] == 0 and "not a regular file" in pipe and ran[0] == 0)


def fifo_or_dev_zero_as_routine(home: Path) -> Result:
    fifo, zero = home / "pipe.yaml", home / "zero.yaml"
    os.mkfifo(fifo)
    zero.symlink_to("/dev/zero")
    heard, ok = [], True
    for args in (("check", str(fifo)), ("check", str(zero)), ("run", str(fifo), "--text", "--no-speech")):
        done = run(*args, timeout=30)
        if done is None:
            return hung(30, f"`{args[0]} {Path(args[1]).name}` never answered")
        heard.append(f"{args[0]} {Path(args[1]).name}: exit {done[0]}")
        ok = ok and done[0] == 2 and "not a regular file" in done[2] and len(done[2].splitlines()) == 1
    return Result(heard="; ".join(heard) + f"; {last_line(done[2])!r}", lost="nothing", ok=ok)


def fifo_to_hear(home: Path) -> Result:
    fifo = home / "pipe.wav"
    os.mkfifo(fifo)
    done = run("hear", "--recognizer", "pocketsphinx", str(fifo), timeout=60)
    if done is None:
        return hung(60, "the answer for every file")
    return Result(heard=f"{done[2].strip()!r} (exit {done[0]})", lost="nothing",
                  ok=done[0] == 1 and done[2].startswith(f"voicecoach hear: {fifo}: ") and "regular" in done[2])


# ---- item 11 ----

def bad_events_path(home: Path) -> Result:
    heard, ok = [], True
    for path in (home / "no-such-folder" / "events.jsonl", home, Path("/sys/voicecoach-events.jsonl")):
        done = run("run", "--text", "--no-speech", "--events", str(path), stdin=b"stop\n")
        if done is None:
            return hung(60, "the session")
        heard.append(f"exit {done[0]}: {done[2].strip()!r}")
        ok = ok and done[0] == 2 and done[1] == "" and done[2].startswith(f"voicecoach: --events {path} ") \
            and len(done[2].splitlines()) == 1
    return Result(heard="; ".join(heard), lost="nothing (no session started)", ok=ok)


def say_without_sound_device(home: Path) -> Result:
    done = run("say", "hello", env=NO_SOUND)
    if done is None:
        return hung(60, "the line")
    return Result(heard=f"{done[2].strip()!r} (exit {done[0]})", lost="the line (no device to play it on)",
                  ok=done[0] == 1 and len(done[2].splitlines()) == 1 and "report" not in done[2])


def mic_test_without_microphone(home: Path) -> Result:
    done = run("mic-test", "--seconds", "1", env=NO_SOUND)
    if done is None:
        return hung(60, "the test")
    return Result(heard=f"{done[2].strip()!r} (exit {done[0]})", lost="nothing",
                  ok=done[0] == 1 and len(done[2].splitlines()) == 1 and "report" not in done[2]
                  and "no microphone" in done[2])


def ctrl_c_during_imports(home: Path) -> Result:
    # platformdirs is among the CLI's first imports: this one presses Ctrl-C while it is imported.
    (home / "platformdirs.py").write_text("import os, signal, time\nos.kill(os.getpid(), signal.SIGINT)\n"
                                          "time.sleep(5)\n")
    done = run("list", env={"PYTHONPATH": str(home)}, timeout=30)
    if done is None:
        return hung(30, "nothing")
    return Result(heard=f"exit {done[0]}, stderr {done[2].strip()[-80:]!r}", lost="nothing",
                  ok=done[0] == 0 and done[2] == "")


def write_wav(path: Path, frames: bytes, channels: int = 1) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels), w.setsampwidth(2), w.setframerate(16000)
        w.writeframes(frames)
    return path


def hear_errors_name_the_file(home: Path) -> Result:
    junk = home / "junk.wav"
    junk.write_bytes(b"not a wav")
    files = [home / "missing.wav", home, junk, write_wav(home / "stereo.wav", bytes(400), 2),
             write_wav(home / "empty.wav", b"")]
    done = run("hear", "--recognizer", "pocketsphinx", *map(str, files))
    if done is None:
        return hung(60, "every answer")
    errors = done[2].splitlines()
    named = sum(error.startswith(f"voicecoach hear: {path}: ") for path, error in zip(files, errors))
    return Result(heard=f"{named} of {len(files)} errors name their file; e.g. {errors[-1] if errors else ''!r}",
                  lost="nothing", ok=named == len(files) == len(errors))


def unfinished_routine_deleted(home: Path) -> Result:
    from voicecoach.adapters.sqlite_store import SqliteStore
    store = SqliteStore(home / ".local/share/voicecoach/history.db")
    session = store.begin(str(home / "gone.yaml"), "Gone", 4)
    store.step_done(session, 2, 3.0)
    store.close()
    outcomes = [run("run", "--text", "--no-speech", "--brief", stdin=b"stop\n") for _ in range(2)]
    if None in outcomes:
        return hung(60, "the session")
    first = (outcomes[0][1].splitlines() + ["", ""])[:2]
    started = all(o[0] == 0 for o in outcomes) and first[1].startswith("Calf stretch.")
    return Result(heard=f"{first[0] or last_line(outcomes[0][2])!r}, then {first[1][:40]!r}...; "
                        f"exits {[o[0] for o in outcomes]}",
                  lost="the unfinished session's place (its routine is gone); nothing else" if started
                  else "every session: none could start",
                  ok=started and "cannot be used any more" in first[0])


def stop_behind_300_questions(home: Path) -> Result:
    events = home / "events.jsonl"
    questions = "".join(f"should I use heat or ice, number {n}\n" for n in range(300)) + "stop\n"
    done = run("run", "--text", "--no-speech", "--events", str(events), stdin=questions.encode(), timeout=120)
    if done is None:
        return hung(120, "the stop")
    log = [json.loads(line) for line in events.read_text().splitlines()]
    stop = next((e["t"] for e in log if e["event"] == "heard" and e["intent"] == "stop"), None)
    return Result(heard=f"stop acted on at {stop} s after the start; {last_line(done[1])!r}",
                  lost="the questions typed before the stop (not answered: the session ended)" if stop is not None
                  else "the stop: the session ran on to its end",
                  ok=stop is not None and stop < 2 and done[0] == 0)


FAULTS = [
    Fault("inputs/typed-line-not-utf8-then-stop", typed_bad_utf8_then_stop),
    Fault("inputs/ask-json-line-not-utf8", ask_json_bad_utf8),
    Fault("inputs/fifo-in-routines-folder", fifo_in_routines_folder),
    Fault("inputs/fifo-or-dev-zero-as-routine", fifo_or_dev_zero_as_routine),
    Fault("inputs/fifo-to-hear", fifo_to_hear),
    Fault("inputs/bad-events-path", bad_events_path),
    Fault("inputs/say-without-sound-device", say_without_sound_device),
    Fault("inputs/mic-test-without-microphone", mic_test_without_microphone),
    Fault("inputs/ctrl-c-during-imports", ctrl_c_during_imports),
    Fault("inputs/hear-errors-name-the-file", hear_errors_name_the_file),
    Fault("inputs/unfinished-routine-deleted", unfinished_routine_deleted),
    Fault("inputs/stop-behind-300-typed-questions", stop_behind_300_questions),
]
