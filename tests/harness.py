"""Test and benchmark helpers: a private home, the private PulseAudio, recording, playing, test speech, finding sound."""
from __future__ import annotations

import array
import contextlib
import ctypes
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import wave
from pathlib import Path

import numpy as np

RATE = 16000
START_HINT = "run tests through scripts/test and benchmarks through scripts/bench; they start the private PulseAudio"
# The user's folders that platformdirs (and so voicecoach) reads and writes, relative to HOME. XDG_RUNTIME_DIR is not
# one: scripts/pulse.sh points it at the private PulseAudio.
HOME_FOLDERS = {"XDG_CONFIG_HOME": ".config", "XDG_DATA_HOME": ".local/share", "XDG_CACHE_HOME": ".cache",
                "XDG_STATE_HOME": ".local/state"}


def home_environment(home: Path) -> dict[str, str]:
    """HOME and every XDG user folder inside `home`: merge into a process's environment to keep it off the user's."""
    return {"HOME": str(home), **{name: str(home / folder) for name, folder in HOME_FOLDERS.items()}}


def share_cache(home: Path, cache: Path) -> None:
    """Make `home`'s voicecoach cache (the Moonshine conversion, speech clips, embeddings) the folder `cache`, so that
    fresh homes reuse what an earlier one built."""
    cache.mkdir(parents=True, exist_ok=True)
    link = home / HOME_FOLDERS["XDG_CACHE_HOME"] / "voicecoach"
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(cache, target_is_directory=True)


def require_pulse() -> None:
    """Fail (never skip) unless the private PulseAudio of scripts/pulse.sh is up and is the one clients reach."""
    runtime = os.environ.get("PULSE_RUNTIME_PATH", "")
    if os.environ.get("VOICECOACH_TEST_PULSE") != "1" or not runtime:
        raise AssertionError(f"no private PulseAudio in the environment: {START_HINT}")
    try:
        info = subprocess.run(["pactl", "info"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise AssertionError(f"pactl info failed ({error}): {START_HINT}") from None
    if info.returncode != 0 or runtime not in info.stdout:
        raise AssertionError(f"the private PulseAudio does not answer ({info.stderr.strip()}): {START_HINT}")


class Recorder:
    """Record a Pulse source (default spk.monitor: what the program plays) as mono int16 at `rate`.

    `started` is the monotonic time of sample 0, so sample i plays at started + i / rate.
    How: pacat delivers a chunk at the moment the null sink renders it, which is the sink's latency
    before that chunk's play time; the earliest (arrival - samples so far / rate) over all chunks,
    plus that latency, is sample 0's play time. Scheduling delays only make single arrivals late,
    and the minimum ignores them. The sink's latency is the lowest any of its streams asks, which is
    our `latency_ms` as long as no stream asks less (scripts/pulse.sh's keep-alive leaves it at 10 ms).
    Measured error: see `python tests/harness.py calibrate`.

    A null sink left idle renders two seconds ahead, so without scripts/pulse.sh's keep-alive a new
    recording gets its first data only up to 2 s after it connects; sound played in that gap would be
    delayed, so entering waits for the first data (at most `start_timeout` s) before returning.
    """

    def __init__(self, device: str = "spk.monitor", rate: int = RATE, latency_ms: int = 10,
                 start_timeout: float = 5.0):
        self.device = device
        self.rate = rate
        self.latency_ms = latency_ms
        self.start_timeout = start_timeout
        self.samples = array.array("h")
        self._raw = bytearray()
        self._earliest = math.inf
        self._first_data = threading.Event()
        self._process: subprocess.Popen | None = None
        self._reader: threading.Thread | None = None

    @property
    def started(self) -> float:
        return self._earliest + self.latency_ms / 1000

    def __enter__(self) -> "Recorder":
        self._process = subprocess.Popen(
            ["pacat", "--record", f"--device={self.device}", "--format=s16le", f"--rate={self.rate}",
             "--channels=1", "--raw", f"--latency-msec={self.latency_ms}"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
        self._reader = threading.Thread(target=self._read, name="Recorder", daemon=True)
        self._reader.start()
        if not self._first_data.wait(self.start_timeout) or not self._raw:
            self._stop()
            raise AssertionError(f"no audio from {self.device} (waited up to {self.start_timeout} s): "
                                 f"{self._process.stderr.read().decode(errors='replace').strip()}")
        return self

    def __exit__(self, *exc) -> None:
        self._stop()

    def _read(self) -> None:
        stream = self._process.stdout
        while chunk := stream.read(4096):
            arrived = time.monotonic()
            self._raw += chunk
            self._earliest = min(self._earliest, arrived - len(self._raw) // 2 / self.rate)
            self._first_data.set()
        self._first_data.set()  # at end of stream too, so a failed start is reported at once

    def _stop(self) -> None:
        self._process.terminate()
        self._process.wait(timeout=5)
        self._reader.join(timeout=5)
        usable = len(self._raw) - len(self._raw) % 2
        self.samples = array.array("h", bytes(self._raw[:usable]))


def play(wav_path: str | Path, device: str, wait: bool = True) -> subprocess.Popen:
    """Play a WAV file into a Pulse sink with paplay; returns the (finished, if wait) process."""
    process = subprocess.Popen(["paplay", f"--device={device}", str(wav_path)], stderr=subprocess.PIPE)
    if wait:
        _, err = process.communicate(timeout=60)
        if process.returncode != 0:
            raise AssertionError(f"paplay into {device} failed: {err.decode(errors='replace').strip()}")
    return process


def play_into_mic(wav_path: str | Path, wait: bool = True) -> subprocess.Popen:
    """Play a WAV file so the program hears it on the default source, `mic`."""
    return play(wav_path, "micfeed", wait)


@contextlib.contextmanager
def speakers_into_mic(latency_ms: int = 60):
    """Within the block, everything played on the speaker (`spk`) also reaches the microphone, `latency_ms` late:
    speakers beside the microphone rather than headphones."""
    module = subprocess.run(["pactl", "load-module", "module-loopback", "source=spk.monitor", "sink=micfeed",
                             f"latency_msec={latency_ms}"], capture_output=True, text=True, check=True).stdout.strip()
    try:
        yield
    finally:
        subprocess.run(["pactl", "unload-module", module], check=False)


@contextlib.contextmanager
def microphone_removed():
    """Within the block the microphone `mic` is gone (its module unloaded), as when a USB headset is pulled out:
    PulseAudio moves whatever recorded from it to another source. Afterwards `mic` is back as the default."""
    modules = subprocess.run(["pactl", "list", "short", "modules"], capture_output=True, text=True, check=True,
                             timeout=10).stdout
    module = next(line.split()[0] for line in modules.splitlines()
                  if "module-virtual-source" in line and "source_name=mic" in line)
    subprocess.run(["pactl", "unload-module", module], check=True, timeout=10)
    try:
        yield
    finally:
        subprocess.run(["pactl", "load-module", "module-virtual-source", "source_name=mic", "master=micfeed.monitor"],
                       capture_output=True, check=True, timeout=10)
        subprocess.run(["pactl", "set-default-source", "mic"], check=True, timeout=10)


def move_capture(pid: int, source: str) -> None:
    """Move the recording stream(s) of process `pid` to another Pulse source, as pavucontrol or PulseAudio's
    policy does (`pactl move-source-output`)."""
    import json
    outputs = json.loads(subprocess.run(["pactl", "-f", "json", "list", "source-outputs"], capture_output=True,
                                        text=True, check=True, timeout=10).stdout)
    mine = [o["index"] for o in outputs if o["properties"].get("application.process.id") == str(pid)]
    if not mine:
        raise AssertionError(f"process {pid} records from no Pulse source")
    for index in mine:
        subprocess.run(["pactl", "move-source-output", str(index), source], check=True, timeout=10)


def peak(samples) -> int:
    """The largest absolute sample value (0 for no samples)."""
    return max((abs(value) for value in samples), default=0)


def suspend_sink(name: str, suspended: bool) -> None:
    """Suspend or resume a Pulse sink, as PulseAudio does when a device goes idle or a laptop lid closes."""
    subprocess.run(["pactl", "suspend-sink", name, "1" if suspended else "0"], check=True, timeout=10)


def kill_pulse() -> None:
    """Kill the private PulseAudio outright (SIGKILL), as a crashed sound server."""
    pid_file = Path(os.environ["PULSE_RUNTIME_PATH"]) / "pid"
    os.kill(int(pid_file.read_text().strip()), 9)
    for _ in range(50):
        if subprocess.run(["pactl", "info"], capture_output=True, timeout=5).returncode != 0:
            break
        time.sleep(0.1)
    # The killed daemon may linger as a zombie (nothing reaps it in a container): a new one would take its pid
    # file as a daemon still running.
    pid_file.unlink(missing_ok=True)


def start_pulse_again() -> None:
    """Start the private PulseAudio again after kill_pulse(), with the devices and keep-alives of scripts/pulse.sh
    (the keep-alive players end on their own when the daemon is stopped)."""
    folder = os.environ["VOICECOACH_PULSE_DIR"]
    subprocess.run(["pulseaudio", "--daemonize=yes", "-n", "--exit-idle-time=-1", f"--log-target=file:{folder}/pulse.log",
                    "--load=module-native-protocol-unix", "--load=module-null-sink sink_name=spk",
                    "--load=module-null-sink sink_name=micfeed",
                    "--load=module-virtual-source source_name=mic master=micfeed.monitor"],
                   check=True, capture_output=True, timeout=20)
    for _ in range(50):
        if subprocess.run(["pactl", "info"], capture_output=True, timeout=5).returncode == 0:
            break
        time.sleep(0.1)
    subprocess.run(["pactl", "set-default-sink", "spk"], check=True, timeout=10)
    subprocess.run(["pactl", "set-default-source", "mic"], check=True, timeout=10)
    with open("/dev/zero", "rb") as zeros:
        for sink in ("spk", "micfeed"):
            subprocess.Popen(["pacat", "--playback", f"--device={sink}", "--latency-msec=40"], stdin=zeros,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with Recorder():  # returns once the sinks render at the keep-alive's pace again
        pass


def room_response(delay_ms: float, gain_db: float, rt60: float = 0.25, drr_db: float = 0.0, seed: int = 0) -> np.ndarray:
    """A speaker-to-microphone impulse response at RATE: `delay_ms` of nothing, a direct path, then an exponentially
    decaying noise tail (RT60 `rt60` s) `drr_db` below it in energy, the whole at `gain_db`."""
    rng = np.random.default_rng(seed)
    n = int(rt60 * RATE)
    tail = rng.standard_normal(n) * np.exp(-6.9 * np.arange(n) / RATE / rt60)
    tail[:16] = 0
    tail *= np.sqrt(10 ** (-drr_db / 10) / np.sum(tail ** 2))
    tail[0] = 1.0
    return np.concatenate([np.zeros(int(delay_ms * RATE / 1000)), tail * 10 ** (gain_db / 20)])


PLAYBACK_MS = 60


@contextlib.contextmanager
def speakers_in_room(delay_ms: float = 60, gain_db: float = 0.0, rt60: float = 0.25, drr_db: float = 0.0):
    """Within the block, what the speaker (`spk`) plays reaches the microphone through a room: recorded from
    spk.monitor, convolved with room_response(delay_ms, gain_db, ...) and played into micfeed. The loop itself
    (two pacat streams and 20 ms blocks) adds its own 80-100 ms to `delay_ms`: see `python tests/harness.py
    room-delay`."""
    response, block = room_response(delay_ms, gain_db, rt60, drr_db), 320
    size = 1 << (block + len(response) - 1).bit_length()
    spectrum = np.fft.rfft(response, size)
    pacat = ["--format=s16le", f"--rate={RATE}", "--channels=1", "--raw"]
    record = subprocess.Popen(["pacat", "--record", "--device=spk.monitor", "--latency-msec=10", *pacat],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0)
    # A deeper playback buffer, so a late block on a loaded machine never underruns: an underrun would shift the
    # echo in time, which no real room does.
    playback = subprocess.Popen(["pacat", "--playback", "--device=micfeed", f"--latency-msec={PLAYBACK_MS}", *pacat],
                                stdin=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0)
    stopping = threading.Event()

    def pump() -> None:  # overlap-add: each 20 ms block's echo spreads over the response's length
        pending = np.zeros(size)
        while not stopping.is_set():
            raw = b""
            while len(raw) < 2 * block and (chunk := record.stdout.read(2 * block - len(raw))):
                raw += chunk
            if len(raw) < 2 * block:
                return
            x = np.frombuffer(raw, np.int16).astype(np.float64)
            pending += np.fft.irfft(np.fft.rfft(x, size) * spectrum, size)
            out, pending = pending[:block], np.concatenate([pending[block:], np.zeros(block)])
            try:
                playback.stdin.write(np.clip(np.round(out), -32768, 32767).astype(np.int16).tobytes())
            except (BrokenPipeError, ValueError):
                return

    pumping = threading.Thread(target=pump, name="room", daemon=True)
    pumping.start()
    try:
        yield
    finally:
        stopping.set()
        record.terminate()
        record.wait(timeout=5)
        pumping.join(timeout=5)
        with contextlib.suppress(BrokenPipeError, OSError):
            playback.stdin.close()
        playback.terminate()
        playback.wait(timeout=5)


def room_delay(delay_ms: float = 0.0) -> float:
    """The delay (ms) from spk to mic through speakers_in_room(delay_ms, 0 dB), measured by cross-correlation."""
    tone = np.random.default_rng(3).standard_normal(RATE // 2) * 3000
    with tempfile.TemporaryDirectory() as tmp:
        wav_path = Path(tmp) / "noise.wav"
        with wave.open(str(wav_path), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(RATE)
            wav.writeframes(np.concatenate([np.zeros(RATE // 2), tone, np.zeros(RATE // 2)]).astype(np.int16).tobytes())
        with speakers_in_room(delay_ms, 0.0, rt60=0.05, drr_db=20), Recorder("spk.monitor") as speaker, \
                Recorder("mic") as mic:
            time.sleep(0.3)
            play(wav_path, "spk")
            time.sleep(0.5)
    at_speaker = find_clip(speaker.samples, tone)[0] / RATE + speaker.started
    at_mic = find_clip(mic.samples, tone)[0] / RATE + mic.started
    return (at_mic - at_speaker) * 1000


def _segments(samples, rate: int, threshold_db: float, min_gap_ms: float) -> list[tuple[float, float]]:
    """(start, end) seconds of stretches whose 1 ms peak reaches threshold_db (dBFS), split by quiet >= min_gap_ms."""
    frame = max(1, rate // 1000)
    threshold = 32768 * 10 ** (threshold_db / 20)
    min_gap = min_gap_ms / 1000
    segments: list[list[float]] = []
    for begin in range(0, len(samples), frame):
        window = samples[begin:begin + frame]
        if max(max(window), -min(window)) < threshold:
            continue
        start, end = begin / rate, min(begin + frame, len(samples)) / rate
        if segments and start - segments[-1][1] < min_gap:
            segments[-1][1] = end
        else:
            segments.append([start, end])
    return [(start, end) for start, end in segments]


def onsets(samples, rate: int = RATE, threshold_db: float = -40, min_gap_ms: float = 150) -> list[float]:
    """Times (s from sample 0) where sound starts after at least min_gap_ms of quiet; 1 ms resolution."""
    return [start for start, _ in _segments(samples, rate, threshold_db, min_gap_ms)]


def offsets(samples, rate: int = RATE, threshold_db: float = -40, min_gap_ms: float = 150) -> list[float]:
    """Times (s from sample 0) where sound ends and at least min_gap_ms of quiet (or the end) follows."""
    return [end for _, end in _segments(samples, rate, threshold_db, min_gap_ms)]


def read_wav(path: str | Path) -> array.array:
    """The int16 samples of a 16-bit mono WAV file."""
    with wave.open(str(path), "rb") as wav:
        if wav.getsampwidth() != 2 or wav.getnchannels() != 1:
            raise ValueError(f"{path}: want 16-bit mono")
        return array.array("h", wav.readframes(wav.getnframes()))


def make_speech_wav(text: str, path: str | Path, voice: str = "en", speed: int = 160,
                    noise_db: float | None = None, engine: str = "espeak-ng", pad_s: float = 0.0) -> Path:
    """Synthesise text to a 16 kHz mono 16-bit WAV, with pad_s of silence each side and an optional
    white-noise floor at noise_db dBFS RMS (decoders return nothing on pure digital silence).
    engine "flite" uses flite's voice (voice "en" means its default) and stretches duration to
    approximate `speed` words per minute from its ~170 wpm default."""
    path = Path(path)
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        if engine == "espeak-ng":
            command = ["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(raw), text]
        elif engine == "flite":
            command = ["flite", "-t", text, "-o", str(raw), "--setf", f"duration_stretch={170 / speed:.3f}"]
            if voice != "en":
                command += ["-voice", voice]
        else:
            raise ValueError(f"unknown engine {engine!r}")
        subprocess.run(command, check=True, capture_output=True)
        sox = ["sox", "-R", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(path)]
        if pad_s:
            sox += ["pad", str(pad_s), str(pad_s)]
        subprocess.run(sox, check=True, capture_output=True)
    if noise_db is not None:
        samples = read_wav(path)
        sigma = 32768 * 10 ** (noise_db / 20)
        noisy = random.Random(len(samples))
        for i, value in enumerate(samples):
            samples[i] = max(-32768, min(32767, value + round(noisy.gauss(0, sigma))))
        with wave.open(str(path), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(RATE)
            wav.writeframes(samples.tobytes())
    return path


def correlate(recording, clip) -> np.ndarray:
    """Normalised cross-correlation of clip against every offset of recording (1.0 = identical up to gain)."""
    recording, clip = np.asarray(recording, dtype=np.float64), np.asarray(clip, dtype=np.float64)
    size = 1 << (len(recording) + len(clip) - 1).bit_length()
    raw = np.fft.irfft(np.fft.rfft(recording, size) * np.conj(np.fft.rfft(clip, size)), size)
    raw = raw[: len(recording) - len(clip) + 1]
    energy = np.concatenate([[0.0], np.cumsum(recording ** 2)])
    window = energy[len(clip):] - energy[: len(recording) - len(clip) + 1]
    return raw / (np.sqrt(np.maximum(window, 1e-9)) * np.sqrt(np.sum(clip ** 2)))


def find_clip(recording, clip) -> tuple[int, float, float]:
    """Where clip plays in recording: (sample offset of the best match, its score, the best score
    elsewhere, i.e. a possible repeat)."""
    scores = correlate(recording, clip)
    best = int(np.argmax(scores))
    elsewhere = scores.copy()
    elsewhere[max(0, best - len(clip)): best + len(clip)] = 0
    return best, float(scores[best]), float(elsewhere.max(initial=0.0))


class Events:
    """A speaker's event sink that keeps (name, fields) and lets a test wait for the ones it needs."""

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


def _reference_clicks(play_at: list[float], device: str = "spk") -> list[float]:
    """Write 10 ms clicks into a continuous libpulse-simple stream; return each click's play time, taken
    from the stream's own latency report (independent of Recorder's method)."""
    pulse = ctypes.CDLL("libpulse-simple.so.0")

    class SampleSpec(ctypes.Structure):
        _fields_ = [("format", ctypes.c_int), ("rate", ctypes.c_uint32), ("channels", ctypes.c_uint8)]

    class BufferAttr(ctypes.Structure):
        _fields_ = [(name, ctypes.c_uint32) for name in ("maxlength", "tlength", "prebuf", "minreq", "fragsize")]

    handle, error_p = ctypes.c_void_p, ctypes.POINTER(ctypes.c_int)
    pulse.pa_simple_new.restype = handle
    pulse.pa_simple_new.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_char_p,
                                    ctypes.POINTER(SampleSpec), ctypes.c_void_p, ctypes.POINTER(BufferAttr), error_p]
    pulse.pa_simple_write.argtypes = [handle, ctypes.c_void_p, ctypes.c_size_t, error_p]
    pulse.pa_simple_get_latency.restype = ctypes.c_uint64
    pulse.pa_simple_get_latency.argtypes = [handle, error_p]
    pulse.pa_simple_drain.argtypes = [handle, error_p]
    pulse.pa_simple_free.argtypes = [handle]
    block = 160  # samples: 10 ms
    unset = 0xFFFFFFFF
    error = ctypes.c_int()
    stream = pulse.pa_simple_new(None, b"voicecoach-calibrate", 1, device.encode(), b"clicks",
                                 ctypes.byref(SampleSpec(3, RATE, 1)), None,
                                 ctypes.byref(BufferAttr(unset, block * 2 * 10, unset, unset, unset)), ctypes.byref(error))
    if not stream:
        raise AssertionError(f"libpulse-simple could not open {device}: error {error.value}")
    silence = bytes(block * 2)
    click = array.array("h", (round(20000 * math.sin(2 * math.pi * 1000 * i / RATE)) for i in range(block))).tobytes()
    played, pending = [], list(play_at)
    try:
        while pending:
            next_sample_plays = time.monotonic() + pulse.pa_simple_get_latency(stream, ctypes.byref(error)) / 1e6
            if next_sample_plays >= pending[0]:
                pending.pop(0)
                played.append(next_sample_plays)
                pulse.pa_simple_write(stream, click, len(click), ctypes.byref(error))
            else:
                pulse.pa_simple_write(stream, silence, len(silence), ctypes.byref(error))
        for _ in range(20):
            pulse.pa_simple_write(stream, silence, len(silence), ctypes.byref(error))
        pulse.pa_simple_drain(stream, ctypes.byref(error))
    finally:
        pulse.pa_simple_free(stream)
    return played


def calibrate(runs: int = 10, clicks: int = 12) -> list[float]:
    """Recorder.started error in ms, one per click: (started + recorded onset) - reference play time."""
    errors = []
    for _ in range(runs):
        with Recorder() as recorder:
            first = time.monotonic() + 0.2
            played = _reference_clicks([first + 0.25 * k for k in range(clicks)])
            time.sleep(0.1)  # let the tail of the last click arrive
        found = onsets(recorder.samples, min_gap_ms=100)
        for when in played:
            nearest = min(found, key=lambda onset: abs(recorder.started + onset - when))
            errors.append((recorder.started + nearest - when) * 1000)
    return errors


if __name__ == "__main__":
    if sys.argv[1:2] == ["room-delay"]:
        require_pulse()
        for wanted in (0, 20, 60, 150):
            print(f"speakers_in_room({wanted}): spk to mic {room_delay(wanted):.0f} ms")
        sys.exit(0)
    if sys.argv[1:] != ["calibrate"]:
        sys.exit("usage: python tests/harness.py calibrate|room-delay   (under scripts/pulse.sh's pulse_start)")
    require_pulse()
    runs = 10
    errors = calibrate(runs=runs)
    ordered = sorted(errors)
    p95 = ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]
    print(f"Recorder.started error over {runs} recordings, {len(errors)} clicks: "
          f"median {statistics.median(errors):+.1f} ms, min {ordered[0]:+.1f}, p95 {p95:+.1f}, max {ordered[-1]:+.1f}; "
          f"p95 of |error| {sorted(abs(e) for e in errors)[math.ceil(0.95 * len(errors)) - 1]:.1f} ms")
