"""The microphone Listener through the private PulseAudio: a command played into the mic arrives as a Heard."""
from __future__ import annotations

import queue
import time

from tests.harness import make_speech_wav, play_into_mic, require_pulse
from voicecoach.adapters.clock import MonotonicClock
from voicecoach.listening.mic import MicListener
from voicecoach.listening.recognizer import Recognizer


def test_a_command_played_into_the_microphone_is_heard_with_its_end_time(tmp_path):
    require_pulse()
    wav = make_speech_wav("how much longer", tmp_path / "how_long.wav", voice="en-us", noise_db=-66, pad_s=0.4)
    heard: queue.Queue = queue.Queue()
    lost = []
    listener = MicListener(MonotonicClock(), recognizer=Recognizer(), notify=lambda e, f: lost.append((e, f)))
    listener.start(heard.put)
    try:
        time.sleep(1.0)  # let the stream settle before the user speaks (test pacing, not product timing)
        played_at = time.monotonic()
        play_into_mic(wav)
        finished_at = time.monotonic()
        results = []
        while not any(h.intent for h in results):
            results.append(heard.get(timeout=10))
    finally:
        listener.stop()
    assert lost == []
    command = next(h for h in results if h.intent)
    assert command.intent == "time_left"
    assert command.audio_end is not None
    assert played_at < command.audio_end < finished_at + 0.5


def test_no_microphone_is_reported_once_and_nothing_crashes():
    events = []

    def broken_microphone(device_index):
        raise OSError("no such device")

    listener = MicListener(MonotonicClock(), recognizer=object(), notify=lambda e, f: events.append((e, f)),
                           microphone_factory=broken_microphone)
    listener.start(lambda heard: None)
    listener.stop()
    assert [e for e, _ in events] == ["input_lost"]
    assert "no such device" in events[0][1]["error"]
