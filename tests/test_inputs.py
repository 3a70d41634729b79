"""Hostile inputs and devices: bad UTF-8, named pipes, bad --events paths, no sound device, early Ctrl-C."""
import io
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import wave
from pathlib import Path

import pytest

from voicecoach.adapters.typed_input import TypedInput
from voicecoach.commands.listening import hear
from voicecoach.ports import Heard
from voicecoach.routine import RoutineError, load_routine_file

ROOT = Path(__file__).resolve().parent.parent
LONG = """name: Long
exercises:
  - name: Long calf
    steps:
      - say: Step forward.
      - hold: 120
"""
SHORT = LONG.replace("hold: 120", "hold: 1").replace("Long", "Short")


@pytest.fixture(autouse=True)
def private_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name, folder in (("XDG_DATA_HOME", "data"), ("XDG_CONFIG_HOME", "config"), ("XDG_CACHE_HOME", "cache"),
                         ("XDG_STATE_HOME", "state")):
        monkeypatch.setenv(name, str(tmp_path / folder))
    monkeypatch.setenv("VOICECOACH_READING_WPM", "0")
    monkeypatch.setenv("VOICECOACH_START_WAIT", "0")


def voicecoach(*args: str, stdin: bytes = b"", timeout: float = 60, env: dict | None = None,
               ) -> subprocess.CompletedProcess:
    """The CLI with bytes on stdin; a hang fails the test with TimeoutExpired instead of hanging it."""
    result = subprocess.run([sys.executable, "-m", "voicecoach", *args], input=stdin, capture_output=True,
                            timeout=timeout, env={**os.environ, **(env or {})})
    result.stdout, result.stderr = result.stdout.decode("utf-8", "replace"), result.stderr.decode("utf-8", "replace")
    return result


def finishes(function, *args, fifo: Path | None = None, timeout: float = 20):
    """function(*args) run in a thread, its result or exception; fails if it is still blocked after `timeout`
    (then a writer is opened on `fifo` so the blocked reader is let go)."""
    outcome: queue.Queue = queue.Queue()

    def call():
        try:
            outcome.put((True, function(*args)))
        except BaseException as error:  # noqa: BLE001 - handed to the test
            outcome.put((False, error))
    threading.Thread(target=call, daemon=True).start()
    try:
        ok, value = outcome.get(timeout=timeout)
    except queue.Empty:
        if fifo is not None:
            try:
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass
        pytest.fail(f"{function.__name__} was still blocked after {timeout} s")
    if not ok:
        raise value
    return value


# ---- item 7: one invalid UTF-8 line ----

def test_a_line_that_is_not_utf8_is_read_with_replacement_and_reported_and_the_rest_goes_on():
    from voicecoach.adapters.typed_input import typed_lines
    reported = []
    stream = io.TextIOWrapper(io.BytesIO(b"where\n\xff\xfe bad\nstop\n"), encoding="utf-8")  # errors="strict"
    assert list(typed_lines(stream, reported.append)) == ["where", "\ufffd\ufffd bad", "stop"]
    assert reported == [2]


def test_a_text_stream_that_smuggles_bad_bytes_as_surrogates_is_read_with_replacement_too():
    from voicecoach.adapters.typed_input import typed_lines
    reported = []
    stream = io.TextIOWrapper(io.BytesIO(b"ok\n\xc3 x\n"), encoding="utf-8", errors="surrogateescape")
    lines = list(typed_lines(io.StringIO(stream.read()), reported.append))
    assert lines == ["ok", "\ufffd x"] and reported == [2]


def test_a_closed_standard_input_is_no_input_not_a_crash():
    from voicecoach.adapters.typed_input import typed_lines
    assert list(typed_lines(None)) == []  # sys.stdin is None when the program starts with it closed


def test_typed_stop_after_a_bad_line_still_stops_the_session(tmp_path):
    routine = tmp_path / "long.yaml"
    routine.write_text(LONG)
    result = voicecoach("run", str(routine), "--text", "--no-speech", stdin=b"where\n\xff\xfe bad\nstop\n",
                        timeout=60)  # a two-minute hold: only "stop" ends it in time
    assert result.returncode == 0, result.stderr
    assert "Line 2 of what was typed is not UTF-8 text" in result.stdout
    assert "Stopping here. Well done." in result.stdout.splitlines()
    assert "Traceback" not in result.stderr and result.stderr == ""


@pytest.mark.slow
def test_ask_json_answers_every_line_around_a_bad_one_and_names_it():
    result = voicecoach("ask", "--json", "-", stdin=b"heat or ice\n\xff\xfe bad\nshould I stretch before bed\n")
    assert result.returncode == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(answers) == 3 and answers[0]["topic"] == "heat-or-ice"
    assert answers[1]["question"] == "\ufffd\ufffd bad"
    assert result.stderr.strip() == ("Line 2 of what was typed is not UTF-8 text, so it was read with the "
                                     "unreadable characters replaced.")


# ---- item 11: stop, pause and "it hurts" go ahead of typed questions ----

class SlowMatcher:
    """A question matcher that answers only when let go: questions pile up behind the first."""

    def __init__(self):
        self.go = threading.Event()

    def __call__(self, text: str):
        self.go.wait(30)
        return ("heat-or-ice", 0.9) if text else (None, 0.0)


def typed_session(text: str) -> tuple[SlowMatcher, "queue.Queue[Heard]", TypedInput]:
    matcher, posted = SlowMatcher(), queue.Queue()
    typed = TypedInput(io.StringIO(text), matcher, {"soleus stretch": "soleus-stretch"})
    typed.start(posted.put)
    return matcher, posted, typed


def test_stop_goes_ahead_of_300_typed_questions():
    matcher, posted, typed = typed_session("".join(f"is heat good {n}\n" for n in range(300)) + "stop\n")
    try:
        first = posted.get(timeout=20)  # the matcher has not answered a single question yet
        assert first.intent == "stop" and not matcher.go.is_set()
    finally:
        matcher.go.set()
        typed.stop()


@pytest.mark.parametrize("line, intent", [("pause", "pause"), ("it hurts", "pain")])
def test_pause_and_it_hurts_go_ahead_of_typed_questions(line, intent):
    matcher, posted, typed = typed_session(f"heat or ice\n{line}\n")
    try:
        assert posted.get(timeout=20).intent == intent
    finally:
        matcher.go.set()
        typed.stop()


def test_other_lines_keep_their_order_behind_a_question():
    matcher, posted, typed = typed_session("next\nsoleus stretch\nheat or ice\nback\nstop\n")
    try:
        got = [posted.get(timeout=20) for _ in range(3)]
        matcher.go.set()
        got += [posted.get(timeout=20) for _ in range(2)]
    finally:
        matcher.go.set()
        typed.stop()
    assert [(h.intent, h.topic) for h in got] == [("next", None), ("choose_routine", "soleus-stretch"),
                                                  ("stop", None), ("ask", "heat-or-ice"), ("back", None)]


# ---- item 8: named pipes and devices ----

@pytest.fixture
def fifo(tmp_path) -> Path:
    path = tmp_path / "pipe.yaml"
    os.mkfifo(path)
    return path


def test_a_fifo_routine_is_refused_at_once(fifo):
    with pytest.raises(RoutineError, match="not a regular file"):
        finishes(load_routine_file, fifo, fifo=fifo)


def test_a_link_to_dev_zero_is_refused_as_not_a_regular_file(tmp_path):
    link = tmp_path / "zero.yaml"
    link.symlink_to("/dev/zero")
    with pytest.raises(RoutineError, match="not a regular file"):
        finishes(load_routine_file, link)


def test_check_and_run_refuse_a_fifo_with_one_line(fifo):
    checked = voicecoach("check", str(fifo), timeout=30)
    assert checked.returncode == 2
    assert checked.stderr.strip() == (f"{fifo}: this is not a regular file (a named pipe, device or socket);"
                                      " a routine must be a plain YAML file")
    ran = voicecoach("run", str(fifo), "--text", "--no-speech", timeout=30)
    assert ran.returncode == 2 and "not a regular file" in ran.stderr and len(ran.stderr.splitlines()) == 1


@pytest.mark.slow
def test_a_fifo_in_the_routines_folder_is_listed_as_unusable_and_run_still_starts(tmp_path):
    folder = tmp_path / "data" / "voicecoach" / "routines"
    folder.mkdir(parents=True)
    os.mkfifo(folder / "pipe.yaml")
    (folder / "mine.yaml").write_text(SHORT)
    listed = voicecoach("list", timeout=30)
    assert listed.returncode == 0
    assert "pipe: cannot be used: " in listed.stdout and "not a regular file" in listed.stdout
    assert "mine: Short (yours" in listed.stdout
    ran = voicecoach("run", "mine", "--text", "--no-speech", timeout=60)
    assert ran.returncode == 0, ran.stderr
    assert "Well done. That is the end of Short." in ran.stdout.splitlines()


class FakeRecognizer:
    def recognize(self, pcm: bytes) -> Heard:
        return Heard("next", "next", extra={"decode_ms": 1.0})


def write_wav(path: Path, frames: bytes, channels: int = 1) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels), w.setsampwidth(2), w.setframerate(16000)
        w.writeframes(frames)
    return path


def test_hear_refuses_a_fifo_and_names_it(fifo, capsys):
    assert finishes(hear, [str(fifo)], False, FakeRecognizer(), io.StringIO(), fifo=fifo) == 1
    assert capsys.readouterr().err.strip() == (f"voicecoach hear: {fifo}: this is not a regular file (a named pipe,"
                                               " device or socket); give a recorded WAV file")


def test_every_hear_error_names_its_file(tmp_path, capsys):
    junk, folder = tmp_path / "junk.wav", tmp_path / "folder.wav"
    junk.write_bytes(b"not a wav")
    folder.mkdir()
    zero = tmp_path / "zero.wav"
    zero.symlink_to("/dev/zero")
    files = [tmp_path / "missing.wav", folder, junk, zero, write_wav(tmp_path / "stereo.wav", bytes(400), 2),
             write_wav(tmp_path / "empty.wav", b"")]
    good = write_wav(tmp_path / "good.wav", bytes(3200))
    out = io.StringIO()
    assert hear([str(f) for f in files] + [str(good)], False, FakeRecognizer(), out) == 1
    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == len(files)
    for path, error in zip(files, errors):
        assert error.startswith(f"voicecoach hear: {path}: "), error
    assert out.getvalue().startswith(f"{good}: \"next\"")


# ---- item 11: user mistakes, not crashes ----

@pytest.mark.parametrize("case", ["missing folder", "folder", "unwritable"])
def test_a_bad_events_path_is_one_sentence_and_exit_2_before_the_session(tmp_path, case):
    path = {"missing folder": tmp_path / "no-such-folder" / "events.jsonl", "folder": tmp_path,
            "unwritable": Path("/sys/voicecoach-events.jsonl") if os.geteuid() == 0 else Path("/proc/events.jsonl"),
            }[case]
    result = voicecoach("run", "--text", "--no-speech", "--events", str(path), stdin=b"stop\n", timeout=60)
    assert result.returncode == 2
    assert result.stdout == ""  # nothing started
    assert result.stderr.startswith(f"voicecoach: --events {path} ") and len(result.stderr.splitlines()) == 1
    assert "unexpected" not in result.stderr and "report" not in result.stderr


NO_SOUND = {"PULSE_SERVER": "unix:/nonexistent/pulse-socket"}


def test_say_with_no_sound_device_is_one_clear_sentence():
    result = voicecoach("say", "hello", env=NO_SOUND, timeout=60)
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "No audio output device could be opened" in result.stderr and "speakers or headphones" in result.stderr
    assert "unexpected" not in result.stderr and "report" not in result.stderr


@pytest.mark.slow
def test_mic_test_with_no_microphone_is_one_clear_sentence():
    result = voicecoach("mic-test", "--seconds", "1", env=NO_SOUND, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip() == ("voicecoach mic-test: no microphone (no input device could be opened); check"
                                     " that one is connected and switched on, and see: voicecoach devices")


def test_ctrl_c_during_the_imports_exits_quietly(tmp_path):
    # A module the CLI imports first, shadowed by one that presses Ctrl-C while it is being imported.
    (tmp_path / "platformdirs.py").write_text("import os, signal, time\nos.kill(os.getpid(), signal.SIGINT)\n"
                                              "time.sleep(5)\n")
    env = {"PYTHONPATH": str(tmp_path)}
    for command in ([sys.executable, "-m", "voicecoach", "list"],
                    [sys.executable, "-c", "import sys; from voicecoach.__main__ import run; sys.exit(run())"]):
        # Ctrl-C as a terminal gives it, even when the test run itself was started with SIGINT ignored (nohup, &)
        result = subprocess.run(command, capture_output=True, text=True, timeout=30, env={**os.environ, **env},
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        assert (result.returncode, result.stderr) == (0, "")
    # the console entry point is the quiet one too
    assert 'voicecoach = "voicecoach.__main__:run"' in (ROOT / "pyproject.toml").read_text().splitlines()


def unfinished_session_of(routine: Path) -> None:
    """History holding an unfinished session of `routine`, two steps in."""
    from voicecoach.adapters.sqlite_store import SqliteStore
    from voicecoach.paths import data_dir
    store = SqliteStore(data_dir() / "history.db")
    session = store.begin(str(routine), "Short", 4)
    store.step_done(session, 2, 3.0)
    store.close()


@pytest.mark.slow
@pytest.mark.parametrize("flags", [(), ("--resume",)])
def test_an_unfinished_session_whose_routine_is_deleted_says_so_and_starts_the_default_fresh(tmp_path, flags):
    routine = tmp_path / "short.yaml"
    unfinished_session_of(routine)  # and the file is not there
    result = voicecoach("run", *flags, "--text", "--no-speech", "--brief", stdin=b"stop\n", timeout=60)
    assert result.returncode == 0, result.stderr
    first, second, *_ = result.stdout.splitlines()
    assert first == (f"The unfinished session's routine cannot be used any more ({routine}: file not found"
                     "; give a bundled routine name or the path of a .yaml file), so a new session starts.")
    assert second.startswith("Calf stretch. It takes")
    again = voicecoach("run", "--text", "--no-speech", "--brief", stdin=b"stop\n", timeout=60)
    # said once, not every time (the first run's typed "stop" may come after its first step, which keeps that place)
    assert again.returncode == 0 and "cannot be used any more" not in again.stdout
    assert again.stdout.startswith(("Calf stretch. It takes", "Continuing Calf stretch where you left off"))


def test_naming_the_deleted_routine_is_still_a_usage_error(tmp_path):
    routine = tmp_path / "short.yaml"
    unfinished_session_of(routine)
    result = voicecoach("run", str(routine), "--text", "--no-speech", timeout=60)
    assert result.returncode == 2 and "file not found" in result.stderr
