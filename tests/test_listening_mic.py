"""The microphone Listener through the private PulseAudio: a command played into the mic arrives as a Heard."""
from __future__ import annotations

import contextlib
import queue
import threading
import time

import pytest

from tests.harness import make_speech_wav, play, play_into_mic, read_wav, speakers_into_mic
from voicecoach.adapters.clock import MonotonicClock
from voicecoach.listening.echo import PlayedAudio
from voicecoach.listening.endpoint import FRAME_BYTES
from voicecoach.listening.mic import MicListener
from voicecoach.listening.recognizer import Recognizer
from voicecoach.ports import Heard
from voicecoach.speech.clips import RATE as PLAYER_RATE


def test_a_command_played_into_the_microphone_is_heard_with_its_end_time(tmp_path, pulse):
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
    assert [event for event, _ in lost if event not in ("user_speaking", "user_quiet")] == []  # turns are news
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


def test_a_recognizer_that_cannot_be_built_is_reported_once_and_typing_still_works():
    events = []

    def broken_install():
        raise RuntimeError("The Moonshine model is missing")

    listener = MicListener(MonotonicClock(), recognizer_factory=broken_install,
                           notify=lambda e, f: events.append((e, f)),
                           microphone_factory=lambda index: _Microphone(bytes(FRAME_BYTES * 10)))
    listener.start(lambda heard: None)
    listener.threads[1].join(timeout=5)
    listener.stop()
    assert [e for e, _ in events] == ["input_lost"] and "Moonshine" in events[0][1]["error"]


class _Stream:
    def __init__(self, pcm: bytes):
        self.pcm = pcm

    def read(self, frames: int) -> bytes:
        chunk, self.pcm = self.pcm[:frames * 2], self.pcm[frames * 2:]
        if not chunk:
            time.sleep(0.01)
        return chunk or bytes(frames * 2)


class _Microphone:
    def __init__(self, pcm: bytes):
        self.stream = _Stream(pcm)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class _Recognizer:
    """Accepts an utterance only when `accept(pcm)`; remembers every pcm it was given."""

    def __init__(self, accept):
        self.accept, self.calls = accept, []

    def recognize(self, pcm: bytes, audio_end=None) -> Heard:
        self.calls.append(pcm)
        return Heard("next", "next" if self.accept(pcm) else None, extra={})


def _hear_once(tmp_path, recognizer) -> Heard:
    pcm = read_wav(make_speech_wav("next", tmp_path / "next.wav", voice="en-us", pad_s=0.4)).tobytes()
    heard: queue.Queue = queue.Queue()
    listener = MicListener(MonotonicClock(), recognizer=recognizer,
                           microphone_factory=lambda index: _Microphone(pcm + bytes(FRAME_BYTES * 40)))
    listener.start(heard.put)
    try:
        return heard.get(timeout=10)
    finally:
        listener.stop()


def test_an_accepted_early_guess_is_used_without_decoding_again(tmp_path):
    recognizer = _Recognizer(accept=lambda pcm: True)
    heard = _hear_once(tmp_path, recognizer)
    assert heard.intent == "next" and heard.extra.get("early") and heard.audio_end is not None
    assert len(recognizer.calls) == 1


class _Stalling(_Stream):
    """Gives its frames, then nothing more: the endpointer never sees the quiet that ends the utterance."""

    def read(self, frames: int) -> bytes:
        chunk, self.pcm = self.pcm[:frames * 2], self.pcm[frames * 2:]
        if not chunk:
            time.sleep(0.05)
        return chunk


def test_an_accepted_early_guess_is_acted_on_at_once_without_waiting_for_the_endpointer(tmp_path):
    """Barge-in: the command counts three quiet frames after the speech, not after the endpointer's 0.3 s."""
    samples = read_wav(make_speech_wav("next", tmp_path / "next.wav", voice="en-us", pad_s=0.0))
    last = max(i for i, value in enumerate(samples) if abs(value) > 300)  # espeak's own trailing quiet cut off
    pcm = samples[:last + 1].tobytes()
    # 6 quiet frames: the voice detector's own hangover takes the first, as on any microphone's noise
    pcm = bytes(FRAME_BYTES * 20) + pcm + bytes(-len(pcm) % FRAME_BYTES + FRAME_BYTES * 6)
    microphone = _Microphone(b"")
    microphone.stream = _Stalling(pcm)
    recognizer = _Recognizer(accept=lambda pcm: True)
    heard: queue.Queue = queue.Queue()
    listener = MicListener(MonotonicClock(), recognizer=recognizer, microphone_factory=lambda index: microphone)
    listener.start(heard.put)
    try:
        got = heard.get(timeout=10)
    finally:
        listener.stopping.set()
    assert got.intent == "next" and got.extra.get("before_cut") and got.audio_end is not None
    assert len(recognizer.calls) == 1


def test_a_rejected_early_guess_falls_back_to_the_finished_utterance(tmp_path):
    recognizer = _Recognizer(accept=lambda pcm: len(recognizer.calls) > 1)
    heard = _hear_once(tmp_path, recognizer)
    assert heard.intent == "next" and not heard.extra.get("early")
    assert len(recognizer.calls) == 2 and recognizer.calls[0] != recognizer.calls[1]


def _words(tmp_path, text: str) -> bytes:
    """espeak-ng's words without its quiet either side, a whole number of frames."""
    samples = read_wav(make_speech_wav(text, tmp_path / "words.wav", voice="en-us"))
    loud = [i for i, value in enumerate(samples) if abs(value) > 300]
    pcm = samples[loud[0]:loud[-1] + 1].tobytes()
    return pcm + bytes(-len(pcm) % FRAME_BYTES)


class _InTurn:
    """Hears its intents in turn, the last one from then on; remembers every pcm it was given."""

    def __init__(self, *intents: str):
        self.intents, self.calls = intents, []

    def recognize(self, pcm: bytes, audio_end=None) -> Heard:
        self.calls.append(pcm)
        return Heard("", self.intents[min(len(self.calls), len(self.intents)) - 1], extra={})


class _Waiting(_Stream):
    """Gives its frames up to `held` bytes, then waits (up to 10 s) for `until` before giving the rest."""

    def __init__(self, pcm: bytes, held: int, until: threading.Event):
        super().__init__(pcm)
        self.held, self.until, self.given = held, until, 0

    def read(self, frames: int) -> bytes:
        if self.given >= self.held:
            self.until.wait(timeout=10)
        self.given += frames * 2
        return super().read(frames)


def test_what_the_user_says_after_a_command_acted_on_before_its_end_is_heard_too(tmp_path):
    """"Wait, it hurts": "wait" is acted on three quiet frames into the comma; the words after it are an utterance
    of their own, with the pause before them and nothing of "wait"."""
    wait, hurts = (_words(tmp_path, text) for text in ("wait", "it hurts"))
    comma = bytes(FRAME_BYTES * 6)  # 180 ms: too short for the endpointer to end the utterance
    pcm = bytes(FRAME_BYTES * 10) + wait + comma + hurts + bytes(FRAME_BYTES * 40)
    posted = threading.Event()
    microphone = _Microphone(b"")
    microphone.stream = _Waiting(pcm, FRAME_BYTES * 10 + len(wait) + FRAME_BYTES * 5, posted)  # in the comma
    recognizer = _InTurn("pause", "pain")
    heard: queue.Queue = queue.Queue()
    listener = MicListener(MonotonicClock(), recognizer=recognizer, microphone_factory=lambda index: microphone)
    listener.start(lambda got: (heard.put(got), posted.set()))
    try:
        got = [heard.get(timeout=10).intent for _ in range(2)]
    finally:
        listener.stop()
    assert got == ["pause", "pain"]
    assert len(recognizer.calls[1]) <= len(comma) + len(hurts) + FRAME_BYTES * 12  # its quiet tail, repeated
    loudest = max(range(0, len(wait), FRAME_BYTES), key=lambda at: max(wait[at:at + FRAME_BYTES]))
    assert wait[loudest:loudest + FRAME_BYTES] in recognizer.calls[0]
    assert wait[loudest:loudest + FRAME_BYTES] not in recognizer.calls[1]


class _Abandonable:
    """Its first utterance takes until abandon() (or 10 s, then it is a stop); the rest are `intent`."""

    def __init__(self, intent: str):
        self.intent, self.calls, self.abandoned = intent, [], threading.Event()

    def abandon(self) -> None:
        self.abandoned.set()

    def recognize(self, pcm: bytes, audio_end=None) -> Heard:
        self.calls.append(pcm)
        if len(self.calls) == 1:
            abandoned = self.abandoned.wait(timeout=10)
            return Heard("", None if abandoned else "stop", extra={"abandoned": abandoned})
        return Heard("", self.intent, extra={})


def test_a_guess_whose_speaker_went_on_is_abandoned_and_does_not_hold_up_the_utterance(tmp_path):
    """"Go back ... a step": the guess at the pause would have heard part of it; the whole is heard without it."""
    back, step = (_words(tmp_path, text) for text in ("go back", "a step"))
    pcm = bytes(FRAME_BYTES * 10) + back + bytes(FRAME_BYTES * 5) + step + bytes(FRAME_BYTES * 40)
    microphone = _Microphone(b"")
    microphone.stream = _Waiting(pcm, FRAME_BYTES * 10 + len(back) + FRAME_BYTES * 4, threading.Event())
    microphone.stream.until.wait = lambda timeout: recognizer.abandoned.wait(0.05) or True  # the guess has begun
    recognizer = _Abandonable("back")
    heard: queue.Queue = queue.Queue()
    listener = MicListener(MonotonicClock(), recognizer=recognizer, microphone_factory=lambda index: microphone)
    listener.start(heard.put)
    try:
        got = heard.get(timeout=5)
    finally:
        listener.stop()
    assert got.intent == "back" and recognizer.abandoned.is_set()
    assert len(recognizer.calls) == 2 and len(recognizer.calls[1]) > len(back) + len(step)


def test_wait_it_hurts_is_heard_as_pain_however_the_comma_falls(tmp_path, pulse):
    """With Moonshine the whole utterance means pain; when "wait" was acted on before the comma ended, the words
    after it are heard on their own."""
    wav = make_speech_wav("wait, it hurts", tmp_path / "wait_it_hurts.wav", voice="en-us", noise_db=-66, pad_s=0.4)
    heard: queue.Queue = queue.Queue()
    listener = MicListener(MonotonicClock(), recognizer=Recognizer.with_knowledge(transcribe=True))
    listener.start(heard.put)
    try:
        time.sleep(1.0)  # let the stream settle before the user speaks (test pacing, not product timing)
        play_into_mic(wav)
        results = []
        with contextlib.suppress(queue.Empty):
            while "pain" not in [h.intent for h in results]:
                results.append(heard.get(timeout=5))
    finally:
        listener.stop()
    assert [h.intent for h in results if h.intent] in (["pain"], ["pause", "pain"]), [(h.text, h.intent)
                                                                                      for h in results]


def test_with_the_echo_canceller_the_recognizer_hears_the_linear_cancellers_output(tmp_path):
    """Endpointing and the echo judgement hear AEC3's output; the recognizer the linear canceller's, which keeps the
    user's voice while the coach talks too (benchmarks/listen_doubletalk.py)."""
    pcm = read_wav(make_speech_wav("next", tmp_path / "next.wav", voice="en-us", pad_s=0.4)).tobytes()
    cleaned: list = []  # the canceller's frames so far, when the recognizer is asked
    recognizer = _Recognizer(accept=lambda pcm: cleaned.append(list(listener.canceller._history)) or True)
    heard: queue.Queue = queue.Queue()
    listener = MicListener(MonotonicClock(), recognizer=recognizer, played=PlayedAudio(PLAYER_RATE),
                           microphone_factory=lambda index: _Microphone(pcm + bytes(FRAME_BYTES * 40)))
    listener.start(heard.put)
    try:
        assert heard.get(timeout=10).intent == "next"
    finally:
        listener.stop()
    linear, aec3 = [f.linear for f in cleaned[0]], [f.pcm for f in cleaned[0]]
    given = [recognizer.calls[0][at:at + FRAME_BYTES] for at in range(0, len(recognizer.calls[0]), FRAME_BYTES)]
    assert len(given) > 10 and all(frame in linear for frame in given)
    assert not any(frame in aec3 for frame in given)  # AEC3's high-pass filter alone tells them apart


def test_the_coach_is_told_the_user_began_before_what_they_said_and_that_they_finished_after(tmp_path):
    pcm = read_wav(make_speech_wav("next", tmp_path / "next.wav", voice="en-us", pad_s=0.4)).tobytes()
    told: queue.Queue = queue.Queue()
    listener = MicListener(MonotonicClock(), recognizer=_Recognizer(accept=lambda pcm: True),
                           notify=lambda name, fields: told.put(name),
                           microphone_factory=lambda index: _Microphone(pcm + bytes(FRAME_BYTES * 40)))
    listener.start(lambda heard: told.put(heard.intent))
    try:
        got = [told.get(timeout=10) for _ in range(3)]
    finally:
        listener.stop()
    assert got == ["user_speaking", "next", "user_quiet"]


class _Failing(_Recognizer):
    def recognize(self, pcm: bytes, audio_end=None) -> Heard:
        heard = super().recognize(pcm, audio_end)
        if heard.intent is None:
            raise RuntimeError("onnxruntime failed")
        return heard


def test_an_utterance_the_recognizer_fails_on_is_not_understood_and_listening_goes_on(tmp_path):
    recognizer = _Failing(accept=lambda pcm: len(recognizer.calls) > 1)
    assert _hear_once(tmp_path, recognizer).intent == "next"  # the early guess failed, the finished utterance not
    heard = _hear_once(tmp_path, _Failing(accept=lambda pcm: False))
    assert heard.intent is None and "onnxruntime failed" in heard.extra["recognizer_error"]


LINE = "Rest your hands on the wall, and keep your back leg straight."


@pytest.mark.parametrize("speakers", [False, True], ids=["headphones", "speakers"])
def test_the_coach_heard_through_speakers_is_no_command_but_the_user_over_headphones_is(tmp_path, speakers, pulse):
    line = make_speech_wav(LINE, tmp_path / "line.wav", voice="en-us", pad_s=0.2)
    user = make_speech_wav("next", tmp_path / "next.wav", voice="en-gb", pad_s=0.4)
    heard: queue.Queue = queue.Queue()
    notices = []
    listener = MicListener(MonotonicClock(), recognizer=_Recognizer(accept=lambda pcm: True),
                           notify=lambda event, fields: notices.append(event))
    listener.start(heard.put)
    try:
        with speakers_into_mic() if speakers else contextlib.nullcontext():
            time.sleep(0.5)
            for n in range(4):
                listener.coach_speaking(LINE)
                coach = play(line, "spk", wait=False)
                if n == 0:
                    first_line_began = time.monotonic()
                if n == 3:
                    time.sleep(0.8)
                    play_into_mic(user)  # the user talks over the coach's last line
                coach.wait(timeout=30)
                listener.coach_speaking(None)
                if n == 0:
                    first_line_ended = time.monotonic()
                time.sleep(0.5)
            time.sleep(1.0)
    finally:
        listener.stop()
    results = []
    while not heard.empty():
        results.append(heard.get())
    assert listener.echo.coach_audible() == speakers
    turns = ("user_speaking", "user_quiet")
    assert [n for n in notices if n not in turns] == (["coach_audible"] if speakers else [])  # said once
    if not speakers:  # the coach would have given way to the user as they began
        assert [n for n in notices if n in turns] == list(turns)
    if speakers:  # from the second line on the coach is known to be audible (the first is judged as it goes)
        assert any(h.audio_end > first_line_began for h in results), "the loop did not reach the microphone"
        assert [h.text for h in results if h.intent and h.audio_end > first_line_ended + 0.5] == []
        assert any(h.extra.get("echo") for h in results)
    else:
        assert [h.intent for h in results] == ["next"]
