"""The CLI through its entry point: subcommands, exit codes, typed sessions, history and resuming."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from voicecoach.cli import build_parser, main

SHORT = """name: Short
exercises:
  - name: Quick calf
    sides: [left, right]
    steps:
      - say: Step forward with your {side} leg.
      - hold: 2
"""


@pytest.fixture(autouse=True)
def private_dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("VOICECOACH_READING_WPM", "0")
    monkeypatch.setenv("VOICECOACH_START_WAIT", "0")


def voicecoach(*args: str, stdin: str = "", timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "voicecoach", *args], input=stdin, capture_output=True,
                          text=True, timeout=timeout, env=os.environ.copy())


def events_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_every_subcommand_has_help(capsys):
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    assert {"run", "list", "check", "history", "ask"} <= set(commands)
    for name in commands:
        assert main([name, "--help"]) == 0
        assert "usage: voicecoach " + name in capsys.readouterr().out
    assert main(["--help"]) == 0


def test_list_shows_the_bundled_routines(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for routine_id in ("calf-stretch", "soleus-stretch", "towel-calf-stretch", "hamstring-stretch"):
        assert f"{routine_id}: " in out


def test_check_passes_good_files_and_fails_bad_ones_with_a_located_message(tmp_path, capsys):
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(SHORT)
    bad.write_text(SHORT.replace("hold: 2", "hold: thirty"))
    assert main(["check", str(good)]) == 0
    assert main(["check", str(good), str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f'{bad}:7:15: hold must be a number of seconds between 1 and 600, got "thirty"'


def test_an_unknown_routine_is_a_usage_error_without_a_traceback():
    result = voicecoach("run", "no-such-routine", "--no-speech", "--text")
    assert result.returncode == 2
    assert "no-such-routine" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_typed_session_runs_to_the_end_and_is_in_history(tmp_path):
    routine, events = tmp_path / "short.yaml", tmp_path / "events.jsonl"
    routine.write_text(SHORT)
    result = voicecoach("run", str(routine), "--text", "--no-speech", "--events", str(events),
                        stdin="where\nheat or ice\n")
    assert result.returncode == 0, result.stderr
    assert "Step forward with your right leg." in result.stdout
    assert "\r" not in result.stdout and "\x1b[" not in result.stdout
    log = events_of(events)
    assert log[0]["event"] == "session_start" and log[-1] == {**log[-1], "event": "session_end", "completed": True}
    heard = [e for e in log if e["event"] == "heard"]
    assert [(h["intent"], h["topic"]) for h in heard] == [("where", None), ("ask", "heat-or-ice")]
    history = voicecoach("history")
    assert "Short  completed" in history.stdout


def test_typed_stop_ends_with_exit_zero(tmp_path):
    routine = tmp_path / "short.yaml"
    routine.write_text(SHORT)
    result = voicecoach("run", str(routine), "--text", "--no-speech", stdin="stop\n")
    assert result.returncode == 0
    out = result.stdout.strip().splitlines()
    summed_up = out[-1].startswith("You got to exercise 1 of 1, in ")  # not when stopped at the introduction
    assert out[-1 - summed_up] == "Stopping here. Well done."
    assert "stopped" in voicecoach("history").stdout


def interrupt_on_the_right_side(tmp_path) -> tuple[Path, str, str]:
    routine, events = tmp_path / "short.yaml", tmp_path / "events.jsonl"
    # No typed "next": with instant silent speech, lines read late would skip straight past the right side.
    routine.write_text(SHORT.replace("hold: 2", "hold: 5"))
    # A shell's background job ignores Ctrl-C, and so would the session: give it the default, as in a terminal.
    process = subprocess.Popen([sys.executable, "-m", "voicecoach", "run", str(routine), "--text", "--no-speech",
                                "--events", str(events)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=os.environ.copy(),
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 30
    while "right" not in (events.read_text() if events.exists() else "") and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, (out, err)  # on failure, show how far the session got
    return events, out, err


def test_ctrl_c_then_resume_continues_from_the_step_it_stopped_at(tmp_path):
    events, out, err = interrupt_on_the_right_side(tmp_path)
    assert "voicecoach run --resume" in out and "Traceback" not in err
    assert "unfinished" in voicecoach("history").stdout

    resumed = voicecoach("run", "--resume", "--text", "--no-speech", "--events", str(events))
    assert resumed.returncode == 0
    assert resumed.stdout.startswith("Continuing Short where you left off")
    assert "Step forward with your left leg." not in resumed.stdout
    starts = [e for e in events_of(events) if e["event"] == "session_start"]
    assert starts[1]["from_step"] > 0
    assert "unfinished" not in voicecoach("history").stdout


def test_the_next_start_offers_to_continue_and_continue_does(tmp_path, monkeypatch):
    events = interrupt_on_the_right_side(tmp_path)[0]
    monkeypatch.setenv("VOICECOACH_START_WAIT", "30")
    resumed = voicecoach("run", "--text", "--no-speech", "--events", str(events), stdin="continue\n")
    assert resumed.returncode == 0, resumed.stderr
    lines_out = resumed.stdout.splitlines()
    assert lines_out[0].startswith("Last time, Short stopped at exercise 1 of 1.")
    assert lines_out[1].startswith("Continuing Short where you left off")
    assert "Step forward with your left leg." not in resumed.stdout
    begin = [e for e in events_of(events) if e["event"] == "begin"]
    assert begin[-1]["choice"] == "resume" and begin[-1]["by"] == "user"
    assert "unfinished" not in voicecoach("history").stdout


def test_start_over_at_the_offer_runs_the_routine_from_the_beginning(tmp_path, monkeypatch):
    interrupt_on_the_right_side(tmp_path)
    monkeypatch.setenv("VOICECOACH_START_WAIT", "30")
    again = voicecoach("run", "--text", "--no-speech", stdin="start over\n")
    assert again.returncode == 0, again.stderr
    assert "Step forward with your left leg." in again.stdout and "Well done." in again.stdout


def test_the_opening_waits_for_start(tmp_path, monkeypatch):
    routine, events = tmp_path / "short.yaml", tmp_path / "events.jsonl"
    routine.write_text(SHORT)
    monkeypatch.setenv("VOICECOACH_START_WAIT", "60")
    result = voicecoach("run", str(routine), "--text", "--no-speech", "--brief", "--events", str(events),
                        stdin="start\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == ("Short. It takes less than a minute. Say help at any time."
                                             " Say start when you are ready, or I will begin in 60 seconds.")
    assert [e["by"] for e in events_of(events) if e["event"] == "begin"] == ["user"]
    assert events_of(events)[-1]["t"] < 30


def test_ask_json_answers_one_question_per_line(capsys, monkeypatch):
    import io
    monkeypatch.setattr(sys, "stdin", io.StringIO("should I use heat or ice?\nwhat's the weather tomorrow\n"))
    assert main(["ask", "--json", "-"]) == 0
    answers = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [a["topic"] for a in answers] == ["heat-or-ice", None]
    assert set(answers[0]) == {"question", "topic", "answer", "confidence"}


def test_no_sound_device_is_one_line_and_the_session_carries_on_in_text(tmp_path):
    routine = tmp_path / "short.yaml"
    routine.write_text(SHORT)
    env = {**os.environ, "PULSE_SERVER": f"unix:{tmp_path}/no-such-server"}
    result = subprocess.run([sys.executable, "-m", "voicecoach", "run", str(routine), "--text"], input="",
                            capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    first, *rest = result.stdout.splitlines()
    assert first.endswith("Carrying on in text only.")
    assert rest[-2:] == ["Well done. That is the end of Short.",
                         "You did 1 exercise in less than a minute. That makes 1 session this week."]
    assert "Traceback" not in result.stderr


def test_config_shows_the_settings_and_their_file(capsys, monkeypatch):
    monkeypatch.setenv("VOICECOACH_RATE", "150")
    assert main(["config"]) == 0
    out = capsys.readouterr().out
    assert "config.yaml" in out and "rate: 150" in out


def test_a_bad_setting_is_a_usage_error(capsys, monkeypatch):
    monkeypatch.setenv("VOICECOACH_RATE", "fast")
    assert main(["config"]) == 2
    assert "VOICECOACH_RATE" in capsys.readouterr().err


def test_say_and_voices_make_real_sound_and_list_voices(tmp_path, pulse):
    from tests.harness import Recorder, onsets
    voices = voicecoach("voices")
    assert voices.returncode == 0 and len(voices.stdout.splitlines()) > 10
    with Recorder() as recorder:
        result = voicecoach("say", "Checking that sound works.")
    assert result.returncode == 0, result.stderr
    assert onsets(recorder.samples), "nothing was heard on spk.monitor"


def test_ask_say_speaks_the_answer_aloud(pulse):
    from tests.harness import Recorder, onsets
    with Recorder() as recorder:
        result = voicecoach("ask", "--say", "should I use heat or ice")
    assert result.returncode == 0, result.stderr
    assert "heat" in result.stdout.lower()
    assert onsets(recorder.samples), "the answer was not heard on spk.monitor"


def test_routine_by_voice_runs_the_routine_named(tmp_path):
    events = tmp_path / "events.jsonl"
    result = voicecoach("run", "--routine-by-voice", "--text", "--no-speech", "--events", str(events),
                        stdin="soleus stretch\nstop\n")
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert first.startswith("Which routine would you like:") and "Soleus stretch" in first
    chosen = [e for e in events_of(events) if e["event"] == "routine"]
    assert chosen[0]["routine"] == "soleus-stretch"
    assert "Soleus stretch  stopped" in voicecoach("history").stdout


def test_an_unfinished_session_whose_file_is_gone_is_not_offered(tmp_path, monkeypatch):
    interrupt_on_the_right_side(tmp_path)
    (tmp_path / "short.yaml").unlink()
    monkeypatch.setenv("VOICECOACH_START_WAIT", "30")
    result = voicecoach("run", "--text", "--no-speech", "--brief", stdin="start\nstop\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Calf stretch. It takes")
