"""Real-sound tests of the pyttsx3 speaker through a private PulseAudio: order, hush latency, event timing."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from voicecoach.config import Settings
from voicecoach.speech.clips import RATE
from voicecoach.speech.pyttsx3_speaker import Pyttsx3Speaker
from voicecoach.speech.render import Renderer

LOUD = 300          # |sample| above this is sound (espeak speech peaks near 10,000)
MATCH = 0.8         # normalised correlation of a clip found in the recording
ECHO = 0.75        # a second match this strong would mean the clip was played twice (a repeat scores ~0.98)


# ---- helpers (shared with benchmarks/speech_*.py) ---------------------------------------------------

class MonotonicClock:
    def now(self) -> float:
        return time.monotonic()


def _pulse_answers(env) -> bool:
    try:
        return subprocess.run(["pactl", "info"], env=env, capture_output=True, timeout=5).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


class PrivatePulse:
    """Use the daemon scripts/test started (VOICECOACH_TEST_PULSE), or start our own; raise if impossible."""

    def __init__(self, keepalive: bool = True):
        self.folder = None
        self.saved = {k: os.environ.get(k) for k in ("XDG_RUNTIME_DIR", "PULSE_RUNTIME_PATH")}
        if not (os.environ.get("VOICECOACH_TEST_PULSE") and _pulse_answers(os.environ)):
            self._start()
        # A null sink with no client sleeps on a 2 s timer and stalls a new stream's start by up to 2 s;
        # a sound card does not. A silent low-latency client keeps the sink awake (adds nothing to the mix).
        self.keepalive = keepalive and subprocess.Popen(
            ["pacat", "--playback", "--device=spk", "--latency-msec=20", "--format=s16le", "--rate=22050",
             "--channels=1", "/dev/zero"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def _start(self) -> None:
        if shutil.which("pulseaudio") is None or shutil.which("pactl") is None:
            raise RuntimeError("PulseAudio (pulseaudio, pactl) is not installed; run scripts/setup --test")
        self.folder = tempfile.mkdtemp(prefix="voicecoach-speech-pulse-")
        run = Path(self.folder) / "run"
        run.mkdir(mode=0o700)
        os.environ["XDG_RUNTIME_DIR"] = str(run)
        os.environ["PULSE_RUNTIME_PATH"] = str(run / "pulse")
        subprocess.run(["pulseaudio", "--daemonize=yes", "-n", "--exit-idle-time=-1",
                        "--load=module-native-protocol-unix", "--load=module-null-sink sink_name=spk",
                        "--load=module-null-sink sink_name=micfeed",
                        "--load=module-virtual-source source_name=mic master=micfeed.monitor"],
                       check=True, capture_output=True, timeout=20)
        for _ in range(50):
            if _pulse_answers(os.environ):
                break
            time.sleep(0.1)
        else:
            raise RuntimeError("the private PulseAudio daemon did not answer")
        subprocess.run(["pactl", "set-default-sink", "spk"], check=True)
        subprocess.run(["pactl", "set-default-source", "mic"], check=True)

    def stop(self) -> None:
        if self.keepalive:
            self.keepalive.terminate()
            self.keepalive.wait(5)
        if self.folder:
            subprocess.run(["pulseaudio", "-k"], capture_output=True, timeout=10)
            for key, value in self.saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            shutil.rmtree(self.folder, ignore_errors=True)


class Recorder:
    """Records spk.monitor with pacat and maps sample indexes to clock (time.monotonic) seconds."""

    def __init__(self, device: str = "spk.monitor"):
        self._proc = subprocess.Popen(
            ["pacat", "--record", f"--device={device}", "--format=s16le", f"--rate={RATE}", "--channels=1",
             "--latency-msec=10", "--raw"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self._chunks: list[bytes] = []
        self._receipts: list[tuple[float, int]] = []  # (clock time a read returned, bytes so far)
        self._size = 0
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 5
        while not self._receipts and time.monotonic() < deadline:
            time.sleep(0.01)
        if not self._receipts:
            self.stop()
            raise RuntimeError("pacat recorded nothing from spk.monitor")

    def _read(self) -> None:
        fd = self._proc.stdout.fileno()
        while True:
            data = os.read(fd, 4096)
            if not data:
                return
            now = time.monotonic()
            self._chunks.append(data)
            self._size += len(data)
            self._receipts.append((now, self._size))

    def stop(self) -> None:
        self._proc.terminate()
        self._proc.wait(5)
        self._thread.join(5)

    @property
    def samples(self) -> np.ndarray:
        data = b"".join(self._chunks)
        return np.frombuffer(data[: len(data) // 2 * 2], dtype=np.int16).astype(np.float64)

    @property
    def started(self) -> float:
        """Clock time of sample 0: a read returns at or after its last sample was captured, so take the minimum."""
        return min(t - (size // 2) / RATE for t, size in self._receipts)

    def time_of(self, index: float) -> float:
        return self.started + index / RATE


def correlate(recording: np.ndarray, clip: np.ndarray) -> np.ndarray:
    """Normalised cross-correlation of clip against every offset of recording (1.0 = identical up to gain)."""
    n = len(recording) + len(clip)
    size = 1 << (n - 1).bit_length()
    raw = np.fft.irfft(np.fft.rfft(recording, size) * np.conj(np.fft.rfft(clip, size)), size)
    raw = raw[: len(recording) - len(clip) + 1]
    energy = np.concatenate([[0.0], np.cumsum(recording ** 2)])
    window = energy[len(clip):] - energy[: len(recording) - len(clip) + 1]
    return raw / (np.sqrt(np.maximum(window, 1e-9)) * np.sqrt(np.sum(clip ** 2)))


def find_clip(recording: np.ndarray, clip: np.ndarray) -> tuple[int, float, float]:
    """(offset of the best match, its score, the best score elsewhere, i.e. a possible repeat)."""
    scores = correlate(recording, clip)
    best = int(np.argmax(scores))
    elsewhere = scores.copy()
    elsewhere[max(0, best - len(clip)): best + len(clip)] = 0
    return best, float(scores[best]), float(elsewhere.max(initial=0.0))


def last_sound(recording: np.ndarray) -> int | None:
    loud = np.nonzero(np.abs(recording) > LOUD)[0]
    return int(loud[-1]) if len(loud) else None


class Events:
    def __init__(self):
        self.items: list[tuple[str, dict]] = []
        self.changed = threading.Condition()

    def __call__(self, name: str, fields: dict) -> None:
        with self.changed:
            self.items.append((name, dict(fields)))
            self.changed.notify_all()

    def wait_for(self, predicate, timeout: float) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: predicate(self.items), timeout)

    def named(self, name: str) -> list[dict]:
        return [fields for n, fields in self.items if n == name]


# ---- fixtures ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pulse():
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is not installed; run scripts/setup --test")
    daemon = PrivatePulse()
    yield daemon
    daemon.stop()


@pytest.fixture()
def speaker_parts(pulse, tmp_path):
    events = Events()
    renderer = Renderer(folder=tmp_path / "cache")
    speaker = Pyttsx3Speaker(Settings(), MonotonicClock(), events, renderer=renderer)
    yield speaker, events, renderer
    speaker.close()


UTTERANCES = [
    "Stand tall.", "Reach up slowly.", "Breathe in.", "Lean to the left.", "Hold it there.",
    "Relax your shoulders.", "Now the other side.", "Bend your knees a little.", "Look straight ahead.",
    "Keep your back straight.", "Roll your neck gently.", "Drop your chin.", "Open your chest.",
    "Point your toes.", "Squeeze your hands.", "Let your arms hang.", "Shake it out.", "Well done.",
    "Take a sip of water.", "See you tomorrow.",
]


@pytest.fixture(scope="module")
def twenty(pulse, tmp_path_factory):
    """Speak the 20 utterances once, recorded; shared by the order and timing tests."""
    events = Events()
    renderer = Renderer(folder=tmp_path_factory.mktemp("cache"))
    speaker = Pyttsx3Speaker(Settings(), MonotonicClock(), events, renderer=renderer)
    speaker.prepare(UTTERANCES)
    recorder = Recorder()
    try:
        for number, text in enumerate(UTTERANCES, 1):
            speaker.say(text, utterance_id=number)
        finished = events.wait_for(lambda items: sum(n == "speech_end" for n, _ in items) >= 20, 90)
        time.sleep(0.3)
    finally:
        recorder.stop()
        speaker.close()
    assert finished, f"only {len(events.named('speech_end'))} of 20 utterances finished"
    clips = [np.array(renderer.get((text, None, Settings().rate)).samples, dtype=np.float64) for text in UTTERANCES]
    return events, recorder, clips


# ---- tests ------------------------------------------------------------------------------------------

def test_twenty_utterances_are_all_heard_in_order_and_none_twice(twenty):
    events, recorder, clips = twenty
    recording = recorder.samples
    found = [find_clip(recording, clip) for clip in clips]
    for text, (offset, score, elsewhere) in zip(UTTERANCES, found):
        assert score >= MATCH, f"{text!r} not found in the recording (best match {score:.2f})"
        assert elsewhere < ECHO, f"{text!r} seems to play twice (second match {elsewhere:.2f})"
    offsets = [offset for offset, _, _ in found]
    assert offsets == sorted(offsets), "utterances were played out of order"
    assert [f["id"] for f in events.named("speech_start")] == list(range(1, 21))
    assert not any(f["interrupted"] for f in events.named("speech_end"))


def test_speech_start_events_agree_with_recorded_onsets(twenty):
    events, recorder, clips = twenty
    recording = recorder.samples
    starts = {f["id"]: f["t"] for f in events.named("speech_start")}
    errors = []
    for number, clip in enumerate(clips, 1):
        offset, _, _ = find_clip(recording, clip)
        errors.append(starts[number] - recorder.time_of(offset))
    worst = max(errors, key=abs)
    assert abs(worst) <= 0.030, f"speech_start off the recorded onset by up to {worst * 1000:.0f} ms: " + \
        ", ".join(f"{e * 1000:.0f}" for e in errors)


def test_hush_silences_the_sink_within_150_ms(speaker_parts):
    speaker, events, _ = speaker_parts
    long_text = ("Slowly lower your right ear towards your right shoulder, keep both shoulders down and relaxed, "
                 "and breathe out as you feel the stretch along the left side of your neck.")
    speaker.prepare([long_text])
    speaker.say("Ready.", utterance_id=1)   # wakes the stream before the measured utterance
    assert events.wait_for(lambda items: any(n == "speech_end" for n, _ in items), 10)
    recorder = Recorder()
    try:
        speaker.say(long_text, utterance_id=2)
        assert events.wait_for(lambda items: any(n == "speech_start" and f["id"] == 2 for n, f in items), 10)
        time.sleep(1.5)
        requested = time.monotonic()
        speaker.hush()
        time.sleep(0.6)
    finally:
        recorder.stop()
    recording = recorder.samples
    at_request = int((requested - recorder.started) * RATE)
    assert np.abs(recording[max(0, at_request - RATE // 5): at_request]).max() > LOUD, \
        "nothing was playing when hush() was called"
    end = last_sound(recording)
    silence_after = recorder.time_of(end) - requested
    assert silence_after <= 0.150, f"sound went on {silence_after * 1000:.0f} ms after hush()"
    interrupted = [f for f in events.named("speech_end") if f["id"] == 2]
    assert interrupted and interrupted[0]["interrupted"] is True
