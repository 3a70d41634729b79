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
from tests.fakes import SHORT



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


def test_the_readme_command_table_has_every_command_and_every_option():
    """The README is how a screen-reader user learns the commands: each has its row, and each option is named."""
    import argparse
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    table = {line.split("`")[1].split()[1] for line in readme.splitlines()
             if line.startswith("| `voicecoach ") and len(line.split("`")[1].split()) > 1}
    subcommands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)).choices
    assert table == set(subcommands)
    for name, parser in subcommands.items():
        for option in (o for action in parser._actions for o in action.option_strings if o.startswith("--")):
            assert option == "--help" or f"`{option}" in readme or f"{option} " in readme, (name, option)


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


def test_check_lists_every_mistake_of_a_file_in_one_run_and_counts_in_the_singular(tmp_path, capsys):
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(SHORT.replace("    sides: [left, right]\n", "").replace(" {side}", ""))
    bad.write_text(SHORT.replace("hold: 2", "hold: thirty").replace("sides: [left, right]", "sides: left")
                   .replace("Quick calf", "Quick calf\n    colour: red"))
    assert main(["check", str(good), str(bad)]) == 2
    out, err = capsys.readouterr()
    assert out == f"{good}: ok, 1 exercise, 2 steps\n"
    assert err.splitlines() == [
        f'{bad}:4:5: unknown key "colour" in an exercise; allowed keys are name, sides, rounds, steps, tip',
        f'{bad}:5:12: sides must be a list of side names such as [left, right], got "left"',
        f'{bad}:8:15: hold must be a number of seconds between 1 and 600, got "thirty"']


def test_run_on_a_broken_file_lists_every_mistake_and_exits_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(SHORT.replace("hold: 2", "hold: thirty").replace("sides: [left, right]", "sides: left"))
    result = voicecoach("run", str(bad), "--no-speech", "--text")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        f'voicecoach: {bad}:4:12: sides must be a list of side names such as [left, right], got "left"',
        f'{bad}:7:15: hold must be a number of seconds between 1 and 600, got "thirty"']


def test_a_missing_file_or_routine_has_no_position_in_front(tmp_path, capsys):
    assert main(["check", str(tmp_path / "nonexist.yaml")]) == 2
    assert capsys.readouterr().err == f"{tmp_path / 'nonexist.yaml'}: file not found\n"
    assert main(["run", "calf", "--no-speech", "--text"]) == 2
    assert capsys.readouterr().err.startswith('voicecoach: calf: no routine called "calf"; bundled ones are: ')


def test_an_unknown_routine_is_a_usage_error_without_a_traceback():
    result = voicecoach("run", "no-such-routine", "--no-speech", "--text")
    assert result.returncode == 2
    assert "no-such-routine" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_a_typed_session_runs_to_the_end_and_is_in_history(tmp_path, monkeypatch):
    routine, events = tmp_path / "short.yaml", tmp_path / "events.jsonl"
    routine.write_text(SHORT)
    monkeypatch.setenv("VOICECOACH_START_WAIT", "120")  # typed lines can come late on a busy machine: wait
    result = voicecoach("run", str(routine), "--text", "--no-speech", "--events", str(events),
                        stdin="where\nheat or ice\nstart\n")
    assert result.returncode == 0, result.stderr
    assert "Step forward with your right leg." in result.stdout
    assert "\r" not in result.stdout and "\x1b[" not in result.stdout
    log = events_of(events)
    assert log[0]["event"] == "session_start" and log[-1] == {**log[-1], "event": "session_end", "completed": True}
    heard = [e for e in log if e["event"] == "heard"]
    assert [(h["intent"], h["topic"]) for h in heard] == [("where", None), ("ask", "heat-or-ice"), ("resume", None)]
    history = voicecoach("history")
    assert "Short  completed" in history.stdout


def test_typed_stop_ends_with_exit_zero(tmp_path, monkeypatch):
    routine = tmp_path / "short.yaml"
    routine.write_text(SHORT)
    monkeypatch.setenv("VOICECOACH_START_WAIT", "120")  # stopped at the opening: nothing under way to keep
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


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
def test_start_over_at_the_offer_runs_the_routine_from_the_beginning(tmp_path, monkeypatch):
    interrupt_on_the_right_side(tmp_path)
    monkeypatch.setenv("VOICECOACH_START_WAIT", "30")
    again = voicecoach("run", "--text", "--no-speech", stdin="start over\n")
    assert again.returncode == 0, again.stderr
    assert "Step forward with your left leg." in again.stdout and "Well done." in again.stdout


@pytest.mark.slow
def test_the_opening_waits_for_start(tmp_path, monkeypatch):
    routine, events = tmp_path / "short.yaml", tmp_path / "events.jsonl"
    routine.write_text(SHORT)
    monkeypatch.setenv("VOICECOACH_START_WAIT", "60")
    result = voicecoach("run", str(routine), "--text", "--no-speech", "--brief", "--events", str(events),
                        stdin="start\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == ("Short. It takes about 10 seconds. If anything hurts, say it"
                                             " hurts. Say stop at any time to finish, or help to hear what you can"
                                             " say. Say start when you are ready, or I will begin in 60 seconds.")
    assert [e["by"] for e in events_of(events) if e["event"] == "begin"] == ["user"]
    assert events_of(events)[-1]["t"] < 30


@pytest.mark.slow
def test_ask_json_answers_one_question_per_line(capsys, monkeypatch):
    import io
    monkeypatch.setattr(sys, "stdin", io.StringIO("should I use heat or ice?\nwhat's the weather tomorrow\n"))
    assert main(["ask", "--json", "-"]) == 0
    answers = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [a["topic"] for a in answers] == ["heat-or-ice", None]
    assert set(answers[0]) == {"question", "topic", "answer", "confidence"}


@pytest.mark.slow
def test_no_sound_device_is_one_line_and_the_session_carries_on_in_text(tmp_path):
    routine = tmp_path / "short.yaml"
    routine.write_text(SHORT)
    env = {**os.environ, "PULSE_SERVER": f"unix:{tmp_path}/no-such-server"}
    result = subprocess.run([sys.executable, "-m", "voicecoach", "run", str(routine), "--text"], input="",
                            capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    first, *rest = result.stdout.splitlines()
    assert first.endswith("Carrying on in text only.")
    assert rest[-2] == "Well done. That is the end of Short."
    assert rest[-1].startswith("You did 1 exercise in about") and rest[-1].endswith("That makes 1 session this week.")
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


@pytest.mark.slow
def test_routine_by_voice_runs_the_routine_named(tmp_path, monkeypatch):
    events = tmp_path / "events.jsonl"
    monkeypatch.setenv("VOICECOACH_START_WAIT", "120")  # the menu waits as long: typed lines can come late
    result = voicecoach("run", "--routine-by-voice", "--text", "--no-speech", "--events", str(events),
                        stdin="soleus stretch\nstop\n")
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert first.startswith("Which routine would you like:") and "Soleus stretch" in first
    chosen = [e for e in events_of(events) if e["event"] == "routine"]
    assert chosen[0]["routine"] == "soleus-stretch"
    assert "Soleus stretch  stopped" in voicecoach("history").stdout


@pytest.mark.slow
def test_an_unfinished_session_whose_file_is_gone_is_not_offered(tmp_path, monkeypatch):
    interrupt_on_the_right_side(tmp_path)
    (tmp_path / "short.yaml").unlink()
    monkeypatch.setenv("VOICECOACH_START_WAIT", "30")
    result = voicecoach("run", "--text", "--no-speech", "--brief", stdin="start\nstop\n")
    assert result.returncode == 0, result.stderr
    gone, opening = result.stdout.splitlines()[:2]
    assert gone.startswith("The unfinished session's routine cannot be used any more (") and "file not found" in gone
    assert opening.startswith("Calf stretch. It takes")


ROUNDS = """name: Rounds
exercises:
  - name: Quick calf
    sides: [left, right]
    rounds: 2
    steps:
      - say: Step forward with your {side} leg.
      - hold: 1
"""


@pytest.mark.slow
def test_a_routine_with_rounds_runs_and_announces_each_round(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    routine = tmp_path / "rounds.yaml"
    routine.write_text(ROUNDS)
    result = voicecoach("run", str(routine), "--no-speech", "--text", "--start-wait", "0")
    assert result.returncode == 0, result.stderr
    said = [line for line in result.stdout.splitlines() if not line.isdigit()]
    assert said[1:4] == ["Exercise 1 of 1: Quick calf.", "Round 1 of 2.", "Step forward with your left leg."]
    assert said.count("Step forward with your left leg.") == 2 and said.count("Step forward with your right leg.") == 2
    second = said.index("Round 2 of 2.")
    assert said[second - 2:second + 2] == ["Hold for 1 second.", "And relax.", "Round 2 of 2.",
                                           "Step forward with your left leg."]
    assert said[-2] == "Well done. That is the end of Rounds." and said[-1].startswith("You did 1 exercise in")


@pytest.fixture
def own_home(tmp_path, monkeypatch) -> Path:
    """HOME and every XDG folder in tmp_path; returns where the user's routines go."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return tmp_path / "data" / "voicecoach" / "routines"


def test_list_always_says_where_your_routines_go_and_how_to_start_one(own_home, capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-2:] == [f"Your own routines go in {own_home}. That folder does not exist yet.",
                        "To start one, run: voicecoach new NAME"]
    own_home.mkdir(parents=True)
    assert main(["list"]) == 0
    assert capsys.readouterr().out.splitlines()[-2] == f"Your own routines go in {own_home}. There are none in it yet."
    (own_home / "evening.yaml").write_text(SHORT)
    assert main(["list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert f"evening: Short (yours, {own_home / 'evening.yaml'})" in out
    assert out[-2] == f"Your own routines go in {own_home}."


def test_list_gives_a_broken_routine_on_one_line_with_how_to_see_every_mistake(own_home, capsys):
    own_home.mkdir(parents=True)
    broken = own_home / "broken.yaml"
    broken.write_text(SHORT.replace("hold: 2", "hold: thirty").replace("sides: [left, right]", "sides: left"))
    assert main(["list"]) == 0
    assert capsys.readouterr().out.splitlines()[4] == (
        f'broken: cannot be used: {broken}:4:12: sides must be a list of side names such as [left, right], '
        f'got "left" (1 more mistake; see them all with: voicecoach check {broken})')


def test_new_writes_a_commented_template_that_passes_check_and_runs(own_home, capsys):
    from voicecoach import session as core
    from voicecoach.routine import resolve_routine
    from tests.fakes import Drive
    assert main(["new", "evening-calf"]) == 0
    path = own_home / "evening-calf.yaml"
    assert capsys.readouterr().out == (f"Wrote a new routine to {path}. Change it in a text editor, check it with: "
                                       f"voicecoach check {path}, and run it with: voicecoach run evening-calf\n")
    text = path.read_text()
    assert text.startswith("# ") and "rounds: 2" in text and f"voicecoach check {path}" in text
    assert main(["check", str(path)]) == 0
    routine = resolve_routine("evening-calf", own_home)
    assert routine.name == "Evening calf" and routine.exercises[0].rounds == 2
    d = Drive(routine).start()
    d.run_to_end()
    assert d.state.completed and "Round 2 of 2." in [text for _, text in d.said()]
    assert len(d.records("hold_start")) == 4
    assert core.estimate_ms(Drive(routine).start().state, d.ctx, 0) >= 4 * 30_000  # 2 sides x 2 rounds of 30 s


@pytest.mark.parametrize("name, message", [
    ("../evening", '"../evening" is not a plain name; use letters, digits, - and _ only, such as evening-calf, '
                   "without a folder or .yaml."),
    ("evening.yaml", '"evening.yaml" is not a plain name; use letters, digits, - and _ only, such as evening-calf, '
                     "without a folder or .yaml."),
    ("calf-stretch", "calf-stretch is the name of a bundled routine; pick another name, such as my-calf-stretch."),
])
def test_new_refuses_a_name_that_is_not_plain_or_is_bundled(own_home, capsys, name, message):
    assert main(["new", name]) == 2
    assert capsys.readouterr().err == f"voicecoach: {message}\n"
    assert not own_home.exists()


def test_new_never_overwrites(own_home, capsys):
    own_home.mkdir(parents=True)
    (own_home / "evening.yaml").write_text(SHORT)
    assert main(["new", "evening"]) == 2
    assert capsys.readouterr().err == (f"voicecoach: {own_home / 'evening.yaml'} already exists, so it was left as "
                                       "it is; pick another name, or edit that file.\n")
    assert (own_home / "evening.yaml").read_text() == SHORT


@pytest.mark.slow
def test_a_voice_stop_keeps_the_place_and_the_next_start_offers_to_continue(tmp_path, monkeypatch):
    routine, events = tmp_path / "short.yaml", tmp_path / "events.jsonl"
    routine.write_text(SHORT.replace("hold: 2", "hold: 5"))
    monkeypatch.setenv("VOICECOACH_START_WAIT", "0")
    process = subprocess.Popen([sys.executable, "-m", "voicecoach", "run", str(routine), "--text", "--no-speech",
                                "--events", str(events)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=os.environ.copy())
    deadline = time.monotonic() + 30
    while "right" not in (events.read_text() if events.exists() else "") and time.monotonic() < deadline:
        time.sleep(0.05)
    out, err = process.communicate("stop\n", timeout=30)
    assert process.returncode == 0, (out, err)
    assert "Your place is kept" in out.splitlines()[-1]
    monkeypatch.setenv("VOICECOACH_START_WAIT", "30")
    resumed = voicecoach("run", "--text", "--no-speech", stdin="continue\n")
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.startswith("Last time, Short stopped at exercise 1 of 1.")
    assert "Now your right side." in resumed.stdout and "left leg" not in resumed.stdout
