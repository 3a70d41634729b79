"""The set-up commands (voices, say, devices, mic-test) and the session record (history, progress) for a user
who listens rather than reads."""
from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest
from tests.fakes import SHORT


@pytest.fixture(autouse=True)
def private_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in ("CONFIG", "DATA", "CACHE", "STATE"):
        monkeypatch.setenv(f"XDG_{name}_HOME", str(tmp_path / name.lower()))
    monkeypatch.setenv("VOICECOACH_READING_WPM", "0")
    monkeypatch.setenv("VOICECOACH_START_WAIT", "0")
    monkeypatch.delenv("VOICECOACH_VOICE", raising=False)


def voicecoach(*args: str, stdin: str = "", timeout: float = 60, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "voicecoach", *args], input=stdin, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **env})


# ---- a voice that is not installed is the user's mistake ----

@pytest.mark.parametrize("args", [("say", "--voice", "klingonx", "hi"),
                                  ("run", "--voice", "klingonx", "--text", "calf-stretch")])
def test_a_voice_that_is_not_installed_is_one_sentence_and_exit_2(args):
    result = voicecoach(*args)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "klingonx" in result.stderr and "voicecoach voices" in result.stderr
    assert "report" not in result.stderr and "Traceback" not in result.stderr


def test_a_voice_from_the_environment_that_is_not_installed_is_exit_2_too():
    result = voicecoach("say", "hi", VOICECOACH_VOICE="klingonx")
    assert result.returncode == 2 and "klingonx" in result.stderr


# ---- voices: the user's language first, the one in use marked, how to pick and hear one ----

def test_voices_lists_the_users_language_first_marks_the_voice_in_use_and_says_how_to_pick_and_hear_one():
    result = voicecoach("voices", LANG="C.UTF-8", LC_ALL="", LANGUAGE="")
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert out[0].startswith("Voice in use: ") and out[1] == "English voices:"
    listed = [line for line in out if "  " in line]
    english = [line for line in listed if "(en" in line]
    assert english and listed[:len(english)] == english  # every English voice before any other
    marked = [line for line in listed if line.endswith(", in use")]
    assert len(marked) == 1 and marked[0].split()[0] in out[0]
    assert "--voice ID" in out[-2] and "VOICECOACH_VOICE" in out[-2] and "config.yaml" in out[-2]
    assert 'voicecoach say --voice ID "hello"' in out[-1]


def test_voices_follows_the_locale_and_marks_the_chosen_voice():
    result = voicecoach("voices", LANG="fr_FR.UTF-8", LC_ALL="", LANGUAGE="", VOICECOACH_VOICE="roa/fr")
    out = result.stdout.splitlines()
    assert out[0] == "Voice in use: French (France), id roa/fr." and out[1] == "French voices:"
    assert [line.split()[0] for line in out if line.endswith(", in use")] == ["roa/fr"]


def test_the_users_language_comes_from_the_locale_and_is_english_by_default():
    from voicecoach.speech.voices import user_language
    assert user_language({}) == "en"
    assert user_language({"LANG": "C.UTF-8"}) == "en"
    assert user_language({"LANG": "de_DE.UTF-8"}) == "de"
    assert user_language({"LANGUAGE": "fr:en", "LANG": "de_DE.UTF-8"}) == "fr"


# ---- devices: a heading per section, the device in use marked ----

class _FakePyAudio:
    """PortAudio as PyAudio shows it: a microphone, a speaker, a headset with both; no default output."""
    DEVICES = [{"index": 0, "name": "USB microphone", "maxInputChannels": 1, "maxOutputChannels": 0},
               {"index": 1, "name": "Speakers", "maxInputChannels": 0, "maxOutputChannels": 2},
               {"index": 2, "name": "Headset", "maxInputChannels": 1, "maxOutputChannels": 2}]

    def get_device_count(self):
        return len(self.DEVICES)

    def get_device_info_by_index(self, index):
        return self.DEVICES[index]

    def get_default_input_device_info(self):
        return self.DEVICES[2]

    def get_default_output_device_info(self):
        raise OSError("No Default Output Device Available")

    def terminate(self):
        pass


def test_devices_has_a_heading_per_section_and_marks_the_default_as_in_use(monkeypatch):
    import io
    import types
    from voicecoach.package_data import lines
    from voicecoach.commands.listening import devices
    monkeypatch.setitem(sys.modules, "pyaudio", types.SimpleNamespace(PyAudio=_FakePyAudio))
    out = io.StringIO()
    assert devices(lines(), out) == 0
    assert out.getvalue().splitlines() == [
        lines()["devices_inputs"], "0  USB microphone", "2  Headset, the system default, in use",
        lines()["devices_outputs"], "1  Speakers", "2  Headset"]
    assert lines()["devices_inputs"].startswith("Inputs") and "--input-device" in lines()["devices_inputs"]
    assert lines()["devices_outputs"].startswith("Outputs")


def test_devices_through_the_private_pulseaudio_marks_one_input_and_one_output(pulse):
    result = voicecoach("devices")
    assert result.returncode == 0 and result.stderr == ""
    out = result.stdout.splitlines()
    assert out[0].startswith("Inputs") and any(line.startswith("Outputs") for line in out)
    outputs_at = next(i for i, line in enumerate(out) if line.startswith("Outputs"))
    for section in (out[1:outputs_at], out[outputs_at + 1:]):
        assert len([line for line in section if line.endswith(", in use")]) == 1


# ---- mic-test: said aloud in plain words, levels in numbers on a line of their own ----

def test_mic_test_says_what_it_heard_in_plain_words_through_the_speaker(tmp_path, pulse):
    from tests.harness import Recorder, find_clip, make_speech_wav, play_into_mic
    from voicecoach.speech.clips import RATE as CLIP_RATE
    from voicecoach.speech.render import Renderer, cache_dir
    wav = make_speech_wav("how much longer", tmp_path / "how_long.wav", voice="en-us", noise_db=-66, pad_s=0.4)
    with Recorder(rate=CLIP_RATE) as recorder:
        process = subprocess.Popen([sys.executable, "-m", "voicecoach", "mic-test", "--seconds", "5"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy())
        out = []
        for line in process.stdout:
            out.append(line.rstrip("\n"))
            if line.startswith("Listening for 5 seconds"):  # printed once the microphone is open
                play_into_mic(wav)
        assert process.wait(timeout=60) == 0, process.stderr.read()
    assert process.stderr.read() == ""
    assert out[1:] == ["Now I say one sentence, to hear whether the microphone picks up my voice.",
                       "I heard: How much longer, which is the command time left.",
                       "Your room is quiet and your voice is clear.",
                       "The microphone does not hear my voice, as with headphones: anything you say is taken as yours.",
                       out[5]]
    assert out[5].startswith("Room level -") and ", voice -" in out[5] and out[5].endswith(" dB.")
    renderer = Renderer(folder=cache_dir())  # the very clip the speaker played (espeak varies a little each time)
    try:
        spoken = renderer._load((" ".join(out[2:5]), None, 175)).samples[:CLIP_RATE * 3 // 2]  # its first 1.5 s:
        # a whole 6 s line scored 0.55 once under load, a gap in playback shifting the rest
    finally:
        renderer.close()
    _, score, _ = find_clip(recorder.samples, spoken)
    assert score >= 0.8, f"the result was not heard on spk.monitor (best match {score:.2f})"


@pytest.mark.parametrize("seconds", ["0", "-3", "61", "nan"])
def test_mic_test_seconds_out_of_range_is_one_sentence_and_exit_2(seconds):
    result = voicecoach("mic-test", "--seconds", seconds)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "--seconds" in result.stderr and "60" in result.stderr
    assert "terminate called" not in result.stderr


def test_mic_report_names_room_and_voice_in_words():
    from voicecoach.package_data import lines
    from voicecoach.commands.listening import mic_report
    from voicecoach.ports import Heard
    said, numbers = mic_report([Heard("heat or ice", "ask", "heat-or-ice")], [-55.0] * 90 + [-20.0] * 10,
                               [-20.0] * 10, lines())
    assert said == ["I heard: heat or ice, a question I can answer.", "Your room is quiet and your voice is clear."]
    assert numbers == "Room level -55 dB, voice -20 dB."
    said, _ = mic_report([Heard("banana", None)], [-30.0] * 100, [-25.0] * 10, lines())
    assert said == ["I heard: banana, which is not a command I know.",
                    "Your room is noisy and your voice is hard to tell from the noise: come closer to the microphone."]
    said, _ = mic_report([Heard("pause", "pause")], [-60.0] * 100, [-45.0] * 10, lines())
    assert said[1] == "Your room is quiet and your voice is faint: come closer to the microphone or speak up."
    said, numbers = mic_report([], [-90.0] * 100, [], lines())
    assert said[0].startswith("I heard no sound at all") and numbers == "Room level -90 dB, loudest -90 dB."


# ---- without tones (--no-speech, Speech Dispatcher), no line explains a tone ----



def test_a_session_without_tones_explains_none():
    from tests.fakes import Drive, exercise, hold, routine, say
    from voicecoach import session as core
    calf = routine(exercise("Calf", say("Step forward with your {side} leg."), hold(3), sides=("left", "right")))
    d = Drive(calf, tones=False).start()
    d.run_until_hold()
    d.feed(core.Intent("time_left", spoken=True))
    from voicecoach.package_data import lines
    assert [a for a in d.intent(None) if isinstance(a, core.Say)][-1].text == lines()["not_understood"]
    d.run_to_end()
    said = [text for _, text in d.said()]
    assert "Hold for 3 seconds." in said and not any("tone" in text for text in said)
    with_tones = Drive(calf).start()
    with_tones.run_to_end()
    assert "Hold for 3 seconds. This tone means the hold has started." in [t for _, t in with_tones.said()]


@pytest.mark.slow
def test_no_speech_says_nothing_about_tones(tmp_path):
    routine = tmp_path / "short.yaml"
    routine.write_text(SHORT)
    result = voicecoach("run", str(routine), "--text", "--no-speech", stdin="banana\n")
    assert result.returncode == 0, result.stderr
    assert "Hold for 2 seconds." in result.stdout and "tone" not in result.stdout


# ---- history: how far each session got, as the user heard it ----

def test_history_names_the_exercise_and_side_a_session_got_to(tmp_path, capsys):
    from voicecoach.adapters.sqlite_store import SqliteStore
    from voicecoach.cli import main
    from voicecoach.paths import data_dir
    routine, gone = tmp_path / "short.yaml", tmp_path / "gone.yaml"
    routine.write_text(SHORT)  # plan: intro, exercise, left say, left hold, switch, right say, right hold, outro
    store = SqliteStore(data_dir() / "history.db")
    for ref, done, total, seconds, end in [(routine, 8, 8, 165, "completed"), (routine, 5, 8, 130.4, "stopped"),
                                           (routine, 0, 8, 5, None), (routine, 7, 8, 70, "stopped"),
                                           (gone, 3, 7, 60, "stopped"), (routine, 3, 9, 61, "stopped")]:
        session = store.begin(str(ref), "Short", total)
        store.step_done(session, done, seconds)
        if end:
            store.end(session, end == "completed", seconds)
    store.close()
    assert main(["history"]) == 0
    places = [line.split("  ", 2)[2] for line in capsys.readouterr().out.splitlines()]
    assert places == ["completed, 2 min 45 s",
                      # a session stopped under way stays unfinished: the next start offers to continue it
                      "unfinished during exercise 1 of 1, Quick calf, right side, 2 min 10 s",
                      "unfinished during the introduction, 5 s",
                      "unfinished during the closing words, 1 min 10 s",
                      "unfinished, step 3 of 7, 1 min 0 s",    # the routine file is gone
                      "unfinished, step 3 of 9, 1 min 1 s"]    # the routine has changed since


# ---- progress: the week so far, asked for by voice and summed up at the end ----

def _record(started: str, seconds: float, steps_done: int = 7, completed: bool = True):
    from voicecoach.ports import SessionRecord
    return SessionRecord(1, "calf-stretch", "Calf stretch", started, steps_done, 7, seconds, True, completed)


def test_the_week_summary_counts_this_weeks_sessions_and_the_days_in_a_row_before_today():
    from datetime import date
    from voicecoach.progress import WeekSummary, week_summary
    wednesday = date(2026, 12, 2)
    records = [_record("2026-11-27T09:00:00+00:00", 600),   # Friday of the week before: streak only
               _record("2026-11-28T09:00:00+00:00", 600), _record("2026-11-29T21:00:00+00:00", 300),
               _record("2026-11-30T08:00:00+00:00", 120),   # Monday
               _record("2026-11-30T18:00:00+00:00", 5, steps_done=0, completed=False),  # left at the opening
               _record("2026-12-01T07:30:00+00:00", 180, steps_done=3, completed=False),
               _record("2026-12-02T07:00:00+00:00", 60)]    # earlier today
    assert week_summary(records, wednesday) == WeekSummary(sessions=3, seconds=360, days_in_a_row=5)
    assert week_summary(records, date(2026, 12, 4)) == WeekSummary(3, 360, 0)  # Thursday was missed
    assert week_summary([], wednesday) == WeekSummary(0, 0, 0)


def test_how_am_i_doing_is_answered_from_the_week_and_the_session_sums_itself_up():
    from tests.fakes import Drive, exercise, hold, routine, say
    from voicecoach.progress import WeekSummary
    calf = routine(exercise("Calf", say("Step forward with your {side} leg."), hold(3), sides=("left", "right")))
    d = Drive(calf, week=WeekSummary(sessions=2, seconds=20 * 60, days_in_a_row=3)).start()
    d.run_until_hold()
    d.now = 5 * 60_000
    answer = d.intent("progress")[-1]
    assert answer.kind == "info" and answer.text == (
        "This week you have done 3 sessions, counting this one, about 25 minutes in all. That is 4 days in a row.")
    d.run_to_end()
    assert d.said()[-1][1] == "You did 1 exercise in about 5 minutes. That makes 3 sessions this week."
    stopped = Drive(calf, speech_ms=100).start()
    stopped.run_until_hold()
    stopped.intent("stop")
    stopped.run_to_end()
    closing = [text for _, text in stopped.said()][-3:]
    assert closing[0] == "Stopping here. Well done." and closing[1].startswith("You got to exercise 1 of 1, in about")
    assert closing[2].startswith("Your place is kept")
    first = Drive(calf, week=WeekSummary(0, 0, 0)).start()
    assert first.intent("progress")[-1].text.endswith(
        "1 session, counting this one, about 10 seconds in all. Stretch again tomorrow to make it two days in a row.")
    assert Drive(calf).start().intent("progress")[-1].text.startswith("I have no record of your past sessions")


def test_a_stop_at_the_opening_has_no_summary():
    from tests.fakes import Drive, exercise, hold, routine, say
    calf = routine(exercise("Calf", say("Step forward."), hold(3)))
    d = Drive(calf, start_wait_ms=10_000).start()
    d.intent("stop")
    d.run_to_end()
    assert d.said()[-1][1] == "Stopping here. Well done." and d.state.mode == "ended"


@pytest.mark.parametrize("text", ["how am I doing this week", "how am i doing", "what's my streak"])
def test_progress_phrasings_are_the_progress_command(text):
    from voicecoach.intents import command_of
    assert command_of(text)[0] == "progress"


@pytest.mark.slow
def test_a_typed_session_answers_how_am_i_doing_from_the_history(tmp_path, monkeypatch):
    import sqlite3
    from datetime import datetime, timedelta
    from voicecoach.adapters.sqlite_store import SqliteStore
    from voicecoach.paths import data_dir
    store = SqliteStore(data_dir() / "history.db")
    for _ in range(2):
        store.end(store.begin("calf-stretch", "Calf stretch", 28), True, 150)
    yesterday = store.begin("calf-stretch", "Calf stretch", 28)
    store.end(yesterday, True, 150)
    store.close()
    now = datetime.now().astimezone()
    with sqlite3.connect(data_dir() / "history.db") as db:
        db.execute("UPDATE sessions SET started = ? WHERE id = ?",
                   ((now - timedelta(days=1)).isoformat(timespec="seconds"), yesterday))
    sessions = 3 + (now.weekday() > 0)  # yesterday is in this week unless today is Monday
    whole_minutes = 150 * (sessions - 1) // 60  # of the past sessions; the one under way adds a few seconds
    routine = tmp_path / "short.yaml"
    routine.write_text(SHORT)
    monkeypatch.setenv("VOICECOACH_START_WAIT", "60")  # wait for the typed start
    result = voicecoach("run", str(routine), "--text", "--no-speech", stdin="how am I doing this week\nstart\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    said = [line for line in out if line.startswith(f"This week you have done {sessions} sessions, counting this one, "
                                                    f"about {whole_minutes} minutes")]
    assert said and said[0].endswith(" in all. That is 2 days in a row."), out
    assert out[-1].startswith("You did 1 exercise in about") and out[-1].endswith(f"That makes {sessions} sessions this week.")


# ---- tutorial: a spoken practice that checks the microphone, offered once at the first run ----

class _ScriptedListener:
    """Answers each prompt the coach finishes with the next scripted reply (None: silence)."""

    def __init__(self, replies, lose_with: str | None = None, notify=None):
        self.replies, self.lose_with, self.notify = list(replies), lose_with, notify
        self.post = None
        self.stopped = False

    def start(self, post):
        self.post = post

    def expect(self, context):
        pass

    def coach_speaking(self, text, kind="instruction"):
        from voicecoach.ports import Heard
        if text is not None and text.startswith(("Try saying", "Now say")):
            self.asked = True
        elif text is None and getattr(self, "asked", False):
            self.asked = False
            if self.lose_with:
                self.notify("input_lost", {"error": self.lose_with})
            elif self.replies and (reply := self.replies.pop(0)) is not None:
                threading.Timer(0.05, self.post, (Heard(reply[0], reply[1], audio_end=1.0),)).start()

    def stop(self):
        self.stopped = True


def _tutorial(replies, lose_with=None):
    import io
    from voicecoach.package_data import lines
    from voicecoach.commands.listening import tutorial
    out, made = io.StringIO(), []

    def listen(notify):
        made.append(_ScriptedListener(replies, lose_with, notify))
        return made[0]
    code = tutorial(listen, lines(), out=out, wait_s=1.0)
    assert made[0].stopped
    return code, out.getvalue().splitlines()


def test_the_tutorial_praises_each_command_heard_and_tries_again_once():
    code, out = _tutorial([("Pause.", "pause"), ("next", "next"), ("resume", "resume")])
    assert code == 0
    assert out[1:] == ["Try saying pause now, as if you needed a moment.",
                       "Good. In a session, pause freezes the hold until you say resume.",
                       "Now say resume, to carry on.", "I heard next, not resume. Let us try once more.",
                       "Now say resume, to carry on.",
                       out[6], "That is all. Start a session with voicecoach run."]
    assert out[6].startswith("Good. You can also say next")


def test_the_tutorial_says_how_to_check_the_microphone_when_it_hears_nothing_or_it_is_gone():
    code, out = _tutorial([None, None])
    assert code == 1 and out[2] == "I did not hear anything. Let us try once more."
    assert out[-1].startswith("I could not hear that. Check your microphone with voicecoach mic-test")
    code, out = _tutorial([], lose_with="no such device")
    assert code == 1 and out[-1] == ("The microphone is not available (no such device). Check it with"
                                     " voicecoach devices and voicecoach mic-test.")


def test_the_tutorial_through_the_private_pulseaudio_hears_pause_and_resume_and_says_good(tmp_path, pulse):
    from tests.harness import Recorder, find_clip, make_speech_wav, play_into_mic
    from voicecoach.speech.clips import RATE as CLIP_RATE
    from voicecoach.speech.render import Renderer, cache_dir
    wavs = {word: make_speech_wav(word, tmp_path / f"{word}.wav", voice="en-us", noise_db=-66, pad_s=0.4)
            for word in ("pause", "resume")}
    with Recorder(rate=CLIP_RATE) as recorder:
        process = subprocess.Popen([sys.executable, "-m", "voicecoach", "tutorial"], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, env=os.environ.copy())
        out = []
        for line in process.stdout:
            out.append(line.rstrip("\n"))
            if line.startswith(("Try saying pause", "Now say resume")):  # printed once said: time to answer
                play_into_mic(wavs["pause" if "pause" in line else "resume"])
        assert process.wait(timeout=120) == 0, "\n".join(out) + process.stderr.read()
    assert out[2].startswith("Good.") and out[4].startswith("Good.") and out[-1].startswith("That is all.")
    renderer = Renderer(folder=cache_dir())
    try:
        praise = renderer._load((out[2], None, 175)).samples[:CLIP_RATE * 3 // 2]  # see the mic-test test
    finally:
        renderer.close()
    _, score, _ = find_clip(recorder.samples, praise)
    assert score >= 0.8, f"the praise was not heard on spk.monitor (best match {score:.2f})"


def test_the_first_run_offers_the_tutorial_once(tmp_path, pulse):
    from voicecoach.paths import data_dir
    routine = tmp_path / "short.yaml"
    routine.write_text(SHORT)
    typed = voicecoach("run", str(routine), "--text", "--no-speech")
    assert "voicecoach tutorial" not in typed.stdout and not (data_dir() / "tutorial-offered").exists()
    first = voicecoach("run", str(routine), "--no-speech", "--recognizer", "pocketsphinx")
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[1] == (
        "New here? For a short spoken practice that also checks your microphone, run voicecoach tutorial after"
        " this session.")
    again = voicecoach("run", str(routine), "--no-speech", "--recognizer", "pocketsphinx")
    assert again.returncode == 0 and "voicecoach tutorial" not in again.stdout
    assert again.stdout.splitlines()[0] == first.stdout.splitlines()[0]  # the opening line itself is unchanged


def test_the_first_run_hint_is_its_own_line_after_the_opening_and_the_wait_follows_it():
    from tests.fakes import Drive, exercise, hold, routine, say
    calf = routine(exercise("Calf", say("Step forward."), hold(3)))
    d = Drive(calf, start_wait_ms=10_000, first_run_hint="New here?", speech_ms=1000).start()
    assert d.said()[-1][1] == "New here?" and d.said()[-2][1].endswith("10 seconds.")
    d.run_until(1500)
    assert d.state.mode == "waiting" and d.state.wait_until is None  # still saying the hint
    d.run_until(2000)
    assert d.state.wait_until == 12_000
    assert "New here?" not in [text for _, text in Drive(calf, start_wait_ms=0).start().said()]


# ---- Ctrl-C: its message is said aloud, not only printed ----

def test_ctrl_c_during_a_session_is_said_aloud_and_recorded_on_the_speaker(tmp_path, pulse):
    import json
    import signal
    import time
    from tests.harness import Recorder, find_clip
    from voicecoach.package_data import lines
    from voicecoach.speech.clips import RATE as CLIP_RATE
    from voicecoach.speech.render import Renderer, cache_dir
    routine, events = tmp_path / "short.yaml", tmp_path / "events.jsonl"
    routine.write_text(SHORT.replace("hold: 2", "hold: 20"))
    with Recorder(rate=CLIP_RATE) as recorder:
        process = subprocess.Popen([sys.executable, "-m", "voicecoach", "run", str(routine), "--text", "--start-wait",
                                    "0", "--events", str(events)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, env=os.environ.copy(),
                                   preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        deadline = time.monotonic() + 60
        while '"hold_start"' not in (events.read_text() if events.exists() else "") and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0 and "Traceback" not in err, (out, err)
    said = lines()["interrupted"]
    assert out.splitlines()[-1] == said
    log = [json.loads(line) for line in events.read_text().splitlines()]
    assert log[-1]["event"] == "session_end" and log[-1]["interrupted"] is True
    ends = [e for e in log if e["event"] == "speech_end" and e["text"] == said]
    assert ends and ends[0]["interrupted"] is False, "the line was cut off before it had been said"
    renderer = Renderer(folder=cache_dir())  # the very clip the speaker played
    try:
        clip = renderer._load((said, None, 175)).samples[:CLIP_RATE * 3 // 2]
    finally:
        renderer.close()
    _, score, _ = find_clip(recorder.samples, clip)
    assert score >= 0.8, f"the Ctrl-C line was not heard on spk.monitor (best match {score:.2f})"
