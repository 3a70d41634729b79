"""Echo cancellation on synthetic rooms (no sound server): the played-audio buffer, ERLE, the user's voice kept."""
from __future__ import annotations

import math
import os
import subprocess
import sys
import time
import wave
from collections import deque

import numpy as np
import pytest

from tests.handsfree import Session, said, says
from tests.harness import make_speech_wav, play_into_mic, speakers_in_room
from voicecoach.listening.echo import (ECHO_ARRIVES, MIC_RATE, MIN_COUPLING_FRAMES, CleanedFrame, EchoCanceller, PlayedAudio,
                                      judge)
from voicecoach.listening.mic import ANCHOR_FRAMES, steady_anchor
from voicecoach.speech.clips import RATE as PLAYER_RATE

COACH = "Rest your hands on the wall, and keep your back leg straight. Lean forward until you feel the stretch."
CHUNK = 512     # the player's chunk
FRAME = 480     # the microphone's 30 ms frame
BASE = 1000.0   # clock seconds at which the recording starts


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))


def speech(tmp_path, text: str, voice: str, rate: int) -> np.ndarray:
    """espeak-ng's voice as float samples at `rate` (sox resamples, independently of the code under test)."""
    raw, out = tmp_path / f"{voice}-raw.wav", tmp_path / f"{voice}-{rate}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", "160", "-w", str(raw), text], check=True, capture_output=True)
    subprocess.run(["sox", "-R", str(raw), "-r", str(rate), "-c", "1", "-b", "16", str(out)], check=True, capture_output=True)
    with wave.open(str(out)) as wav:
        return np.frombuffer(wav.readframes(wav.getnframes()), np.int16).astype(np.float64) / 32768


def room(delay_ms: float, gain_db: float, seed: int = 0) -> np.ndarray:
    """Impulse response: the echo's delay, a direct path and an exponential tail (RT60 0.4 s, 0 dB direct to
    reverberant) at `gain_db`."""
    rng = np.random.default_rng(seed)
    n = int(0.4 * MIC_RATE)
    tail = rng.standard_normal(n) * np.exp(-6.9 * np.arange(n) / MIC_RATE / 0.4)
    tail[:16] = 0
    tail *= np.sqrt(1 / np.sum(tail ** 2))
    tail[0] = 1.0
    return np.concatenate([np.zeros(int(delay_ms * MIC_RATE / 1000)), tail * 10 ** (gain_db / 20)])


def session(tmp_path, delay_ms, gain_db, user_at=None, user_db=0.0, speakers=True, jitter_ms=3.0, jump_at=None,
            verdicts=None, arrival_ms=None, anchor=steady_anchor):
    """Play the coach's line 0.5 s into a recording through the player's chunks (with jittered output times), let
    the room carry it into the microphone, and clean every 30 ms frame. From `jump_at` seconds on, the output times
    the stream states are 50 ms earlier (as after an underrun), so the reference restarts about 0.7 s later.
    `verdicts` maps (start, end) seconds to None, filled with judge()'s verdict as soon as the frame after `end` is
    cleaned (as the listener asks). With `arrival_ms` (seconds into the recording -> ms), the capture times are the
    listener's `anchor` over arrivals, each frame that late. Returns (echo, user, cleaned frames, canceller)."""
    played = PlayedAudio(PLAYER_RATE)
    rng = np.random.default_rng(1)
    coach = speech(tmp_path, COACH, "en-us", PLAYER_RATE)
    seconds = 0.5 + len(coach) / PLAYER_RATE + 1.0
    out = np.zeros(int(seconds * PLAYER_RATE))
    out[int(0.5 * PLAYER_RATE):int(0.5 * PLAYER_RATE) + len(coach)] = coach
    sounded = speech(tmp_path, COACH, "en-us", MIC_RATE)  # what the speaker sounded, at the microphone's rate
    line = np.zeros(int(seconds * MIC_RATE))
    line[int(0.5 * MIC_RATE):int(0.5 * MIC_RATE) + len(sounded)] = sounded[:len(line) - int(0.5 * MIC_RATE)]
    echo = np.convolve(line, room(delay_ms, gain_db))[:len(line)] if speakers else np.zeros(len(line))
    user = np.zeros(len(line))
    if user_at is not None:
        said = speech(tmp_path, "how long left", "en-gb", MIC_RATE) * 10 ** (user_db / 20)
        begin = int(user_at * MIC_RATE)
        user[begin:begin + len(said)] = said
    mic = echo + user + np.random.default_rng(2).standard_normal(len(line)) * 10 ** (-70 / 20)
    canceller = EchoCanceller(played)
    frames, written, arrivals, start = [], 0, deque(maxlen=ANCHOR_FRAMES), None
    for k in range(0, len(mic) - FRAME + 1, FRAME):
        captured_at = BASE + k / MIC_RATE
        if arrival_ms is not None:
            arrivals.append(BASE + arrival_ms(k / MIC_RATE) / 1000)  # arrival less the frames before it
            start = anchor(start, arrivals)
            captured_at = start + k / MIC_RATE
        while written < len(out) and BASE + written / PLAYER_RATE < captured_at + 0.1:  # the player is 0.1 s ahead
            t0 = BASE + written / PLAYER_RATE + rng.uniform(-jitter_ms, jitter_ms) / 1000
            if jump_at is not None and written / PLAYER_RATE >= jump_at:
                t0 -= 0.05
            played.write((out[written:written + CHUNK] * 32767).astype(np.int16).tobytes(), t0)
            written += CHUNK
        frames.append(canceller.clean((mic[k:k + FRAME] * 32767).astype(np.int16).tobytes(), captured_at))
        for start, end in [span for span, verdict in (verdicts or {}).items() if verdict is None]:
            if captured_at > BASE + end:
                verdicts[start, end] = canceller.judge(BASE + start, BASE + end)
    return echo, user, frames, canceller


def cleaned(frames) -> np.ndarray:
    return np.concatenate([np.frombuffer(f.pcm, np.int16) for f in frames]).astype(np.float64) / 32768


@pytest.mark.parametrize("delay_ms, gain_db", [(20, -6), (60, 0), (150, -12), (150, 0)])
def test_the_canceller_removes_at_least_25_db_of_a_room_echo(tmp_path, delay_ms, gain_db):
    echo, _, frames, canceller = session(tmp_path, delay_ms, gain_db)
    out = cleaned(frames)
    speaking = np.zeros(len(out), bool)
    speaking[int(1.5 * MIC_RATE):] = True  # after the first second of the line, the canceller has converged
    speaking &= np.convolve(np.abs(echo[:len(out)]) > 1e-3, np.ones(800), "same") > 0  # within the coach's speech
    erle = 10 * np.log10(np.sum(echo[:len(out)][speaking] ** 2) / np.sum(out[speaking] ** 2))
    assert erle >= 25, f"ERLE {erle:.1f} dB"
    summary = canceller.summary()
    assert summary is not None and summary.removed_db > 15  # over every frame the coach sounded, convergence too
    start, end = BASE + 2.0, BASE + 3.0
    assert canceller.judge(start, end).echo  # the coach's voice alone, heard through the speakers


def test_the_users_voice_over_the_coach_is_kept_and_is_not_the_echo(tmp_path):
    echo, user, frames, canceller = session(tmp_path, 60, 0, user_at=3.0, user_db=0)
    out = cleaned(frames)
    span = slice(int(3.0 * MIC_RATE), int(3.0 * MIC_RATE) + int(np.flatnonzero(user)[-1]) - int(3.0 * MIC_RATE))
    kept = 10 * np.log10(np.sum(out[span] ** 2) / np.sum(user[span] ** 2))
    # AEC3's suppressor takes some of a voice talking over the echo (here about as loud as the user), not most of it
    assert kept > -10, f"the user's voice lost {-kept:.1f} dB"
    said = np.flatnonzero(user) / MIC_RATE
    verdict = canceller.judge(BASE + said[0], BASE + said[-1])
    assert verdict.coach_sounding and not verdict.echo


def test_a_command_over_the_coach_is_recognised_from_the_linear_cancellers_output(tmp_path):
    """The recognizer hears the linear canceller's output: AEC3's suppressor takes the user's voice down while both
    talk (here AEC3's output was heard as "one more time", "keep going", nothing: 3 runs of 3 wrong)."""
    from voicecoach.listening.factory import make_recognizer
    _, user, frames, _ = session(tmp_path, 60, 0, user_at=3.0, user_db=-3)
    said = np.flatnonzero(user)
    linear = b"".join(f.linear for f in frames)[(said[0] - MIC_RATE // 2) * 2:(said[-1] + MIC_RATE // 2) * 2]
    assert make_recognizer().recognize(linear).intent == "time_left"


def test_an_echo_that_either_canceller_removed_is_the_echo_and_a_voice_must_survive_both():
    """Over the coach, a user's voice is what both cancellers leave: AEC3 at times keeps an echo (-3 dB, seen at the
    start of a line in real idle sessions) that the linear canceller removed (-25 dB), and that is the echo."""
    def utterance(aec3_kept_db: float, linear_kept_db: float) -> list[CleanedFrame]:
        return [CleanedFrame(b"", BASE + k * 0.03, 1e-2, 1e-2 * 10 ** (aec3_kept_db / 10),
                             1e-2 * 10 ** (linear_kept_db / 10), 1e-3) for k in range(20)]
    assert judge(utterance(-3.0, -25.0), BASE).echo
    assert judge(utterance(-25.0, -3.0), BASE).echo
    assert not judge(utterance(-3.0, -1.0), BASE).echo  # a user over the coach: both keep the voice


def test_with_headphones_the_coachs_own_words_said_by_the_user_are_the_users(tmp_path):
    _, user, frames, canceller = session(tmp_path, 60, 0, user_at=2.0, speakers=False)
    said = np.flatnonzero(user) / MIC_RATE
    verdict = canceller.judge(BASE + said[0], BASE + said[-1])
    assert verdict.coach_sounding and not verdict.echo and verdict.kept_db > -3  # the high-pass filter takes a little


def test_a_late_microphone_keeps_its_start_time_so_the_echo_stays_removed(tmp_path):
    # At 5 s the on-time first frame leaves the listener's window of arrivals: the earliest arrival moves 18 ms
    # later in the middle of the line. Following it shifts the reference against the echo (offline -15 dB kept).
    _, _, frames, _ = session(tmp_path, 60, 0, arrival_ms=lambda second: 18.0 if second else 0.0)
    assert _most_kept_db(frames, 5.0, 6.5) < -25


def test_frames_that_come_sooner_keep_the_microphones_start_time_so_the_echo_stays_removed(tmp_path):
    # Real sessions: the input's buffering shrank by 21-26 ms mid-session; following the sooner arrivals moved the echo
    # against the reference, and the linear canceller kept all of the coach's next line.
    _, _, frames, _ = session(tmp_path, 60, 0, arrival_ms=lambda second: 26.0 if second < 3.0 else 0.0)
    assert len({round(f.captured_at - BASE - k * FRAME / MIC_RATE, 6) for k, f in enumerate(frames)}) == 1
    assert _most_kept_db(frames, 3.0, 4.5) < -25


def _most_kept_db(frames, start: float, end: float, linear: bool = False) -> float:
    """The most a canceller (AEC3's, or the linear one's) kept of the microphone in the loud frames between start and
    end seconds, dB."""
    loudest = max(f.mic_energy for f in frames)
    kept = [(f.linear_energy if linear else f.cleaned_energy) / f.mic_energy for f in frames
            if start <= f.captured_at - BASE <= end and f.mic_energy > loudest * 0.01]
    assert kept
    return 10 * np.log10(max(kept))


def test_played_audio_is_placed_at_its_output_time_and_silent_elsewhere():
    played = PlayedAudio(PLAYER_RATE)
    tone = (np.sin(2 * np.pi * 440 * np.arange(PLAYER_RATE) / PLAYER_RATE) * 16000).astype(np.int16)
    for i in range(0, len(tone), CHUNK):
        played.write(tone[i:i + CHUNK].tobytes(), 50.0 + i / PLAYER_RATE)
    before = played.read(49.5, 4000)
    assert not before.any()
    got = played.read(50.2, 1600).astype(np.float64)
    want = np.sin(2 * np.pi * 440 * (50.2 - 50.0 + np.arange(1600) / MIC_RATE)) * 16000
    assert np.corrcoef(got, want)[0, 1] > 0.99 and abs(np.std(got) / np.std(want) - 1) < 0.05
    assert not played.read(51.05, 1600).any()


# ---- real sound, through the private PulseAudio: `voicecoach run` with the speaker looped into the microphone ----

def _session_until(session, predicate, after: float = -1.0, timeout: float = 60) -> dict:
    found = session.first(predicate, after, timeout)
    assert found is not None, ("the moment never came", session.events()[-8:])
    return found


def _acted(events, after: float = -1.0, before: float = 1e9) -> list[dict]:
    return [e for e in events if e["event"] == "heard" and e.get("intent") and after < e["t"] < before]


def test_with_speakers_a_command_said_over_the_coachs_sentence_acts(tmp_path, pulse):
    """Said over a sentence, and again over the next if the coach did not react, as a person repeats themselves.
    Recognition over the coach's voice is not certain: AEC3's suppressor takes part of the user's voice while both
    talk, and benchmarks/listen_echo.py counts how often one try works (well under the 90% asked for). This test
    asks that it works at all within six sentences, which a regression to "never over the coach" fails."""
    ask = make_speech_wav("how long left", tmp_path / "ask.wav", voice="en-gb", noise_db=-60, pad_s=0.3)
    with speakers_in_room(delay_ms=60, gain_db=-12.0):  # speakers at moderate volume: the user is louder
        session = Session(tmp_path, args=("--start-wait", "0"))
        try:
            first_said_at, acted, over, after = None, None, [], 4.0  # after the first sentences: see LEARNT_FRAMES
            for _ in range(6):
                line = _session_until(session, says("instruction"), after)
                after = line["t"]
                if session.now() > line["t"] + 0.3:
                    continue  # found late; the next sentence will do
                time.sleep(line["t"] + 0.6 - session.now())  # well inside the sentence
                said_at = session.now()
                first_said_at = first_said_at or said_at
                play_into_mic(ask)
                line_end = _session_until(session, said("instruction", line["text"]), line["t"], timeout=8)
                over.append(said_at < line_end["t"])
                acted = session.first(lambda e: e["event"] == "heard" and e.get("intent") == "time_left", said_at, 3)
                if acted is not None:
                    break
            # a 10 s window after the canceller has learnt the room: the first can still hold its learning
            removed = session.first(lambda e: e["event"] == "echo_removed" and e["coach_audible"]
                                    and e["removed_db"] > 10, -1, timeout=25)
        finally:
            session.process.terminate()
            session.process.communicate(timeout=10)
    events = session.events()
    assert all(over), "the command was not said over the sentence"
    assert acted is not None, [e for e in events if e["event"] == "heard"]
    assert _acted(events, before=first_said_at) == []  # the coach's own voice through the room acted on nothing
    assert removed is not None, [e for e in events if e["event"] == "echo_removed"]


def test_mic_test_says_whether_the_microphone_hears_the_coach_and_how_much_the_canceller_removes(tmp_path, pulse):
    def mic_test() -> list[str]:
        result = subprocess.run([sys.executable, "-m", "voicecoach", "mic-test", "--seconds", "1"], text=True,
                                capture_output=True, timeout=90, env=os.environ.copy())
        assert result.returncode == 0 and result.stderr == "", result.stderr
        return result.stdout.splitlines()
    with speakers_in_room(delay_ms=60, gain_db=-6.0):
        speakers = mic_test()
    headphones = mic_test()
    assert speakers[1] == "Now I say one sentence, to hear whether the microphone picks up my voice."
    assert any(line.startswith("The microphone hears my voice, as with speakers") for line in speakers), speakers
    assert "The microphone does not hear my voice, as with headphones: anything you say is taken as yours." \
        in headphones


def test_with_headphones_resume_said_during_say_resume_when_you_are_ready_acts(tmp_path, pulse):
    pause = make_speech_wav("pause", tmp_path / "pause.wav", voice="en-gb", noise_db=-60, pad_s=0.3)
    resume = make_speech_wav("resume", tmp_path / "resume.wav", voice="en-gb", noise_db=-60, pad_s=0.3)
    session = Session(tmp_path, args=("--start-wait", "0"))
    try:
        _session_until(session, lambda e: e["event"] == "hold_start")
        play_into_mic(pause)
        prompt = session.first(says("info", "Say resume"), -1, timeout=10)
        assert prompt is not None, [e for e in session.events() if e["event"] == "heard"]
        time.sleep(0.8)  # "Paused. Say resume..." is still being said
        said_at = session.now()
        play_into_mic(resume)
        resumed = session.first(says("instruction", "Resuming"), said_at, timeout=8)
        prompt_end = session.first(said("info", "Say resume"), prompt["t"], timeout=8)
    finally:
        session.process.terminate()
        session.process.communicate(timeout=10)
    events = session.events()
    assert prompt_end is not None and said_at < prompt_end["t"], "resume was not said during the prompt"
    assert resumed is not None, [e for e in events if e["event"] == "heard"][-5:]


def test_no_echo_cancel_turns_the_canceller_off_and_commands_still_act(tmp_path, pulse):
    pause = make_speech_wav("pause", tmp_path / "pause.wav", voice="en-gb", noise_db=-60, pad_s=0.3)
    session = Session(tmp_path, args=("--start-wait", "0", "--no-echo-cancel"))
    try:
        _session_until(session, lambda e: e["event"] == "hold_start")
        said_at = session.now()
        play_into_mic(pause)
        paused = session.first(lambda e: e["event"] == "heard" and e.get("intent") == "pause", said_at, 10)
        session.first(lambda e: False, -1, 11)  # long enough for a canceller's 10 s report, were there one
    finally:
        session.process.terminate()
        session.process.communicate(timeout=10)
    events = session.events()
    assert paused is not None, [e for e in events if e["event"] == "heard"]
    assert not [e for e in events if e["event"] == "echo_removed"]
    assert not [e for e in events if e["event"] == "heard" and "echo_kept_db" in e]  # judged by words, not signal


def test_the_player_hands_every_chunk_it_writes_with_its_output_time_to_the_tap():
    from array import array

    from voicecoach.speech.clips import Clip
    from voicecoach.speech.player import Item, Player
    tapped = []
    player = Player(lambda item: Clip(array("h", [1000] * 700)))
    player.tap = lambda data, t0: tapped.append((data, t0))
    player.add(Item(1, "line", "instruction"))
    chunks = [player.fill(512, 10.0), player.fill(512, 10.0 + 512 / PLAYER_RATE)]
    assert tapped == [(chunks[0], 10.0), (chunks[1], 10.0 + 512 / PLAYER_RATE)]
    assert np.frombuffer(chunks[1], np.int16)[187] == 1000 and not np.frombuffer(chunks[1], np.int16)[188:].any()


def test_a_restart_of_the_played_audio_is_judged_by_what_the_canceller_removes_after_it(tmp_path):
    """While the output stream settles its stated times jump and the reference restarts several times: the user's
    voice over the coach counts as soon as AEC3 removes the echo again, not only after 4 s of the coach's sound."""
    said = speech(tmp_path, "how long left", "en-gb", MIC_RATE)
    user = (4.0, 4.0 + len(said) / MIC_RATE)
    verdicts = {user: None, (1.85, 2.25): None}
    _, _, frames, canceller = session(tmp_path, 60, 0, user_at=4.0, user_db=0, jump_at=1.0, verdicts=verdicts)
    assert canceller.played.restarts == 1
    assert not verdicts[user].echo  # the user's, about 2 s after the restart, judged as it ends
    assert 1.5 < next(f.captured_at for f in frames if f.restarts) - BASE < 1.85
    assert verdicts[1.85, 2.25].echo  # the coach's voice just after the restart: not yet relearnt, so its echo


class _PassThrough:
    def process(self, near, far):
        return near


def test_with_headphones_a_user_talking_over_most_of_the_coach_does_not_make_it_audible():
    """The coach's echo is in every frame it sounds in; the user's voice, over 60% of them, is not its echo."""
    canceller = EchoCanceller(PlayedAudio(PLAYER_RATE), processor_factory=_PassThrough, linear_factory=None)
    tone = (np.sin(2 * np.pi * 300 * np.arange(PLAYER_RATE * 10) / PLAYER_RATE) * 8000).astype(np.int16)
    rng, frames, written = np.random.default_rng(3), [], 0
    for k in range(300):
        captured_at = BASE + k * FRAME / MIC_RATE
        while written < len(tone) and BASE + written / PLAYER_RATE < captured_at + 0.1:  # the player 0.1 s ahead
            canceller.played.write(tone[written:written + CHUNK].tobytes(), BASE + written / PLAYER_RATE)
            written += CHUNK
        loud = 3000 if k % 5 < 3 else 3  # the user's voice in three frames of five, the headset's hiss between
        frames.append(canceller.clean((rng.standard_normal(FRAME) * loud).astype(np.int16).tobytes(), captured_at))
    counted_from = math.ceil(ECHO_ARRIVES * MIC_RATE / FRAME)  # frames before the echo could have arrived
    assert not any(f.coach_audible for f in frames[counted_from + MIN_COUPLING_FRAMES:])


def test_through_speakers_the_frames_before_the_echo_arrives_do_not_make_the_coach_inaudible():
    """The coach in short words with pauses, its echo 150 ms later: the first frames of each word hold no echo yet."""
    canceller = EchoCanceller(PlayedAudio(PLAYER_RATE), processor_factory=_PassThrough, linear_factory=None)
    def words(rate: int) -> np.ndarray:  # 0.3 s on, 0.2 s off
        t = np.arange(rate * 10) / rate
        return np.sin(2 * np.pi * 300 * t) * 8000 * ((t % 0.5) < 0.3)
    played = words(PLAYER_RATE).astype(np.int16)
    echo = np.concatenate([np.zeros(round(0.15 * MIC_RATE)), words(MIC_RATE) * 0.5])
    rng, frames, written = np.random.default_rng(4), [], 0
    for k in range(300):
        captured_at = BASE + k * FRAME / MIC_RATE
        while written < len(played) and BASE + written / PLAYER_RATE < captured_at + 0.1:
            canceller.played.write(played[written:written + CHUNK].tobytes(), BASE + written / PLAYER_RATE)
            written += CHUNK
        mic = echo[k * FRAME:(k + 1) * FRAME] + rng.standard_normal(FRAME) * 3  # and the room's hiss
        frames.append(canceller.clean(mic.astype(np.int16).tobytes(), captured_at))
    assert all(f.coach_audible for f in frames)


class _KnownRoom:
    """A canceller that knows the room exactly: takes out the reference as it reaches the microphone, `frames` later."""

    def __init__(self, frames: int, gain: float):
        self.past, self.gain = deque([np.zeros(FRAME)] * frames), gain

    def process(self, near, far):
        self.past.append(np.asarray(far, dtype=np.float64))
        return (near - self.past.popleft() * self.gain).astype(np.int16)


def test_a_command_said_as_a_count_begins_is_the_users_though_the_counts_echo_has_not_arrived_yet():
    """The frames before the count's echo reaches the microphone hold only the room: nothing to remove, and no sign
    that the canceller has not learnt the room (real sessions: every command said over a count was dropped)."""
    delay = 11  # frames: 0.33 s from the reference to its echo
    canceller = EchoCanceller(PlayedAudio(PLAYER_RATE), processor_factory=lambda: _KnownRoom(delay, 0.5),
                              linear_factory=lambda: _KnownRoom(delay, 0.5))
    t = np.arange(PLAYER_RATE * 10) / PLAYER_RATE
    coach = np.sin(2 * np.pi * 300 * t) * 8000 * ((t < 3.0) | ((t >= 8.0) & (t < 9.0)))  # a line; 5 s on, a count
    rng, refs, written, user_at = np.random.default_rng(5), [], 0, 8.42
    for k in range(310):
        captured_at = BASE + k * FRAME / MIC_RATE
        while written < len(coach) and BASE + written / PLAYER_RATE < captured_at + 0.1:
            canceller.played.write(coach[written:written + CHUNK].astype(np.int16).tobytes(), BASE + written / PLAYER_RATE)
            written += CHUNK
        refs.append(canceller.played.read(captured_at - canceller.lead, FRAME).astype(np.float64))
        mic = (refs[k - delay] * 0.5 if k >= delay else 0) + rng.standard_normal(FRAME) * 3  # the room's hiss
        if user_at <= k * FRAME / MIC_RATE < user_at + 0.5:
            mic = mic + rng.standard_normal(FRAME) * 3000
        canceller.clean(np.clip(mic, -32768, 32767).astype(np.int16).tobytes(), captured_at)
    assert not canceller.judge(BASE + user_at, BASE + user_at + 0.5).echo


def test_digital_silence_from_a_microphone_that_heard_the_coach_is_a_broken_input_not_headphones(tmp_path):
    """A live microphone always has noise: all-zero frames while the coach speaks do not switch to headphones
    (which would let the coach's echo through as the user's when the sound comes back)."""
    _, _, frames, canceller = session(tmp_path, 60, 0)
    assert frames[-1].coach_audible
    tone = (np.sin(2 * np.pi * 300 * np.arange(PLAYER_RATE * 10) / PLAYER_RATE) * 8000).astype(np.int16)
    end = frames[-1].captured_at + 0.03
    for i in range(0, len(tone), CHUNK):  # the coach goes on for 10 s...
        canceller.played.write(tone[i:i + CHUNK].tobytes(), end + 0.1 + i / PLAYER_RATE)
    silent = [canceller.clean(bytes(2 * FRAME), end + 0.2 + k * FRAME / MIC_RATE) for k in range(300)]
    assert silent[-1].coach_audible  # ...and the microphone gives nothing but zeros
    assert canceller.judge(silent[-20].captured_at, silent[-1].captured_at).echo


def test_after_the_played_audio_restarts_the_canceller_learns_again_before_judging(tmp_path):
    _, user, _, canceller = session(tmp_path, 60, 0, user_at=5.0, user_db=0)
    said = np.flatnonzero(user) / MIC_RATE
    assert not canceller.judge(BASE + said[0], BASE + said[-1]).echo  # converged: the user's voice was kept
    canceller.played.write(bytes(1024), BASE + 60.0)  # an underrun: the stream goes on a minute later
    canceller.clean(bytes(960), BASE + 8.0)
    assert canceller.played.restarts == 1
    assert canceller.judge(BASE + said[0], BASE + said[-1]).echo  # over the coach, its echo until AEC3 relearns
