"""Devices that go away mid-session, through the private PulseAudio: the coach plays again and keeps stderr clean."""
from __future__ import annotations

import contextlib
import os
import queue
import shutil
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from tests.harness import (Events, Recorder, find_clip, kill_pulse, make_speech_wav, microphone_removed, move_capture,
                           peak, play, start_pulse_again, suspend_sink)
from voicecoach.adapters.clock import MonotonicClock
from voicecoach.config import Settings
from voicecoach.listening.mic import MicListener
from voicecoach.ports import Heard
from voicecoach.speech.clips import RATE
from voicecoach.speech.pyttsx3_speaker import Pyttsx3Speaker
from voicecoach.speech.render import Renderer

MATCH = 0.8  # normalised correlation of a clip found in a recording (as in test_speech_audio)
BEFORE, AFTER = "Breathe in slowly.", "Now the other side."


@pytest.fixture()
def home(tmp_path, monkeypatch):
    for name, folder in (("HOME", ""), ("XDG_CONFIG_HOME", ".config"), ("XDG_DATA_HOME", ".local/share"),
                         ("XDG_CACHE_HOME", ".cache"), ("XDG_STATE_HOME", ".local/state")):
        monkeypatch.setenv(name, str(tmp_path / folder))
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is not installed; run scripts/setup --test")
    return tmp_path


def _said(speaker, events, text, number, timeout=15.0) -> bool:
    speaker.say(text, utterance_id=number)
    return events.wait_for(lambda items: any(n == "speech_end" and f["id"] == number for n, f in items), timeout)


def test_speech_plays_again_after_the_output_was_suspended_for_5_s(pulse, home):
    events = Events()
    renderer = Renderer(folder=home / "cache")
    speaker = Pyttsx3Speaker(Settings(), MonotonicClock(), events, renderer=renderer)
    speaker.prepare([BEFORE, AFTER])
    try:
        with Recorder(rate=RATE) as before:
            assert _said(speaker, events, BEFORE, 1)
        suspend_sink("spk", True)
        try:
            time.sleep(5)
        finally:
            suspend_sink("spk", False)
        with Recorder(rate=RATE) as after:
            assert _said(speaker, events, AFTER, 2)
            back = events.wait_for(lambda items: any(n == "output_back" for n, _ in items), 5)
            time.sleep(0.2)
        clip = renderer.get((AFTER, None, Settings().rate)).samples
    finally:
        speaker.close()
    assert peak(before.samples) > 5000, "the line before the suspend was not heard"
    assert peak(after.samples) > peak(before.samples) / 2, \
        f"after the suspend: peak {peak(after.samples)} against {peak(before.samples)} before"
    score = find_clip(after.samples, clip)[1]
    assert score >= MATCH, f"the line after the suspend was not the one asked for (match {score:.2f}; " \
                           f"events {[(n, f.get('id')) for n, f in events.items]})"
    names = [name for name, _ in events.items]
    assert back and names.count("output_lost") == 1 and names.count("output_back") == 1
    assert names.index("output_lost") < names.index("output_back")


CHILD = textwrap.dedent("""
    import sys, threading
    from pathlib import Path
    from voicecoach.adapters.clock import MonotonicClock
    from voicecoach.config import Settings
    from voicecoach.speech.pyttsx3_speaker import Pyttsx3Speaker
    from voicecoach.speech.render import Renderer

    ended, names = {}, []
    def notify(name, fields):
        names.append(name)
        if name == "speech_end":
            ended[fields["id"]] = True
    speaker = Pyttsx3Speaker(Settings(), MonotonicClock(), notify, renderer=Renderer(folder=Path(sys.argv[1])))
    speaker.prepare(sys.argv[2:4])
    for number, text in enumerate(sys.argv[2:4], 1):
        sys.stdin.readline()
        speaker.say(text, utterance_id=number)
        while number not in ended:
            threading.Event().wait(0.05)
        print("said", number, flush=True)
    sys.stdin.readline()
    speaker.close()
    print(" ".join(names), flush=True)
""")


def test_a_killed_and_restarted_sound_server_leaves_stderr_clean_and_the_next_line_plays(pulse, home):
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(home / "cache"), BEFORE, AFTER], text=True,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    try:
        child.stdin.write("go\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "said 1"
        kill_pulse()
        try:
            time.sleep(1.0)  # the coach notices at once: its stream stops
        finally:
            start_pulse_again()
        with Recorder(rate=RATE) as after:
            child.stdin.write("go\n")
            child.stdin.flush()
            assert child.stdout.readline().strip() == "said 2"
            time.sleep(1.0)
        out, err = child.communicate("go\n", timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert err == "", f"raw lines on stderr: {err!r}"
    assert "output_lost" in out.split() and "output_back" in out.split(), out
    assert peak(after.samples) > 5000, f"nothing heard after the sound server came back (peak {peak(after.samples)})"


class _HearsPause:
    """A recognizer that takes every utterance for "pause", as the real one took the coach's count "4"."""

    def recognize(self, pcm: bytes, audio_end=None) -> Heard:
        return Heard("pause", "pause", extra={})


@contextlib.contextmanager
def _capture_moved():
    move_capture(os.getpid(), "spk.monitor")
    yield


@pytest.mark.parametrize("fault", [microphone_removed, _capture_moved], ids=["mic-unloaded", "capture-moved"])
def test_a_removed_microphone_is_said_once_and_the_coach_counting_on_the_new_input_is_no_command(pulse, home, fault):
    count = make_speech_wav("four", home / "four.wav", voice="en-us", noise_db=-60, pad_s=0.2)
    user = make_speech_wav("pause", home / "pause.wav", voice="en-gb", noise_db=-60, pad_s=0.4)
    heard: queue.Queue = queue.Queue()
    notices = []
    listener = MicListener(MonotonicClock(), recognizer=_HearsPause(), notify=lambda e, f: notices.append((e, f)))
    listener.start(heard.put)
    try:
        time.sleep(1.0)  # capture is running on `mic`, and its source has been looked up
        with fault():
            time.sleep(1.0)  # the capture stream now records the speaker's monitor
            for _ in range(3):
                listener.coach_speaking("4", kind="count")
                play(count, "spk")
                listener.coach_speaking(None)
                time.sleep(0.7)
            # The user, while the coach is quiet; on this input only what the speaker plays is heard.
            user_began = time.monotonic()
            play(user, "spk")
            time.sleep(1.0)
    finally:
        listener.stop()
    results = []
    while not heard.empty():
        results.append(heard.get())
    acted = [h for h in results if h.intent]
    assert len(results) >= 4, f"the counts did not reach the new input: {results}"
    assert [h.audio_end > user_began for h in acted] == [True], \
        f"commands taken from the coach's own count: {[h for h in acted if h.audio_end <= user_began]}"
    changed = [fields for name, fields in notices if name == "input_changed"]
    assert len(changed) == 1 and changed[0]["monitor"] is True, notices


def test_the_runner_says_once_that_the_sound_went_and_came_back_and_that_the_microphone_changed(tmp_path):
    from tests.test_runner import run
    script = [(1.0, ("output_lost", {})), (1.5, ("output_lost", {})), (2.0, ("output_back", {})),
              (3.0, ("input_changed", {"source": "Monitor of Speakers", "monitor": True})),
              (4.0, ("output_lost", {}))]
    outcome, events, printed, _ = run(tmp_path, script)
    assert outcome.completed
    lost = "The sound stopped working. I will carry on in text, and try the sound again at the next line."
    assert printed.count(lost) == 2  # once for each outage
    said = [e["text"] for e in events if e["event"] == "speech_start"]
    assert "The sound is back." in said and "The sound is back." in printed
    changed = [text for text in said if text.startswith("The microphone changed: I now hear Monitor of Speakers.")]
    assert len(changed) == 1


class _Watch:
    def __init__(self, source):
        self.source, self.closed = source, False

    def current(self):
        return self.source

    def close(self):
        self.closed = True


def test_an_output_monitor_from_the_start_is_said_and_not_trusted_until_the_user_speaks_in_a_quiet_moment(tmp_path):
    from tests.test_listening_mic import _Microphone
    from voicecoach.listening.endpoint import FRAME_BYTES
    from voicecoach.listening.mic import Source
    notices = []
    watch = _Watch(Source("spk.monitor", "Monitor of Speakers", monitor=True))
    listener = MicListener(MonotonicClock(), recognizer=_HearsPause(), notify=lambda e, f: notices.append((e, f)),
                           microphone_factory=lambda index: _Microphone(bytes(FRAME_BYTES * 100)), source_watch=watch)
    listener.start(lambda heard: None)
    try:
        deadline = time.monotonic() + 10
        while not notices and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        listener.stop()
    assert [(name, fields["changed"], fields["monitor"]) for name, fields in notices] == [("input_changed", False, True)]
    assert listener.untrusted and watch.closed


def test_the_runner_words_a_monitor_from_the_start_as_such(tmp_path):
    from tests.test_runner import run
    notice = {"source": "Monitor of Speakers", "monitor": True, "changed": False}
    _, events, printed, _ = run(tmp_path, [(1.0, ("input_changed", notice))])
    assert [line for line in printed if "Monitor of Speakers" in line] == [
        "I am listening to Monitor of Speakers, which plays back what I say. Until I hear you speak while I am "
        "quiet, I will not take spoken commands."]


class _Output:
    """Stands in for PyAudioOutput: alive until told otherwise; close() can be made to hang."""

    def __init__(self, hang: threading.Event):
        self.is_alive, self.hang = True, hang

    def alive(self, now, patience):
        return self.is_alive

    def playing_for(self):
        return 0.0

    def close(self):
        self.hang.wait()


@pytest.mark.slow
def test_a_device_that_hangs_on_reopen_and_on_close_stalls_neither_the_session_nor_the_exit(tmp_path):
    from tests.test_speech_core import FakeSynth
    never = threading.Event()
    opened = []

    def factory(player, clock):
        if opened:
            never.wait()  # the reopen never returns, as an open on a hung sound server can
        opened.append(_Output(never))
        return opened[-1]

    events = Events()
    speaker = Pyttsx3Speaker(Settings(), MonotonicClock(), events, output_factory=factory,
                             renderer=Renderer(lambda: FakeSynth([]), folder=tmp_path))
    opened[0].is_alive = False
    assert events.wait_for(lambda items: any(n == "output_lost" for n, _ in items), 10)
    speaker.say("Lower your heel.", utterance_id=1)  # returns at once: the reopen is on a thread of its own
    assert events.wait_for(lambda items: any(n == "speech_end" and f["id"] == 1 for n, f in items), 10), \
        "a line waiting on a hung reopen was never reported, so the session would wait for ever"
    closing = threading.Thread(target=speaker.close, daemon=True)
    closing.start()
    closing.join(timeout=10)
    assert not closing.is_alive(), "close() hung on a device that hangs on close"
    never.set()
