"""Echo cancellation: what the player wrote taken out of the microphone by AEC3 and by SpeexDSP's linear canceller."""
from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import math
import threading
from collections import deque
from dataclasses import dataclass
from typing import Callable, Protocol

import numpy as np

MIC_RATE = 16000
KEEP_SECONDS = 5.0      # played audio kept for the canceller; AEC3 looks for the echo within about half a second
# The output stream plays every sample in order, so each chunk continues the last one; its own stated output time
# only moves the reference when, smoothed over about half a second of chunks (SMOOTHING), it has drifted more than
# RESTART_AFTER from where the stream says the samples go (an underrun, a reopened device, clock drift). Through
# PulseAudio's ALSA plugin the stated times jump by tens of ms from one callback to the next (chunks are asked for
# in bursts): following them tore the reference 28 times in 10 s and AEC3 removed only 8-15 dB. As the stream
# starts, the stated times run up to 0.4 s ahead of the samples' count for a second or two; each restart then
# takes the chunk's own stated time.
SMOOTHING = 0.05
RESTART_AFTER = 0.04
# The reference given with a microphone frame is what sounded from this long before the frame's capture time:
# the reference must never reach the canceller after its echo (AEC3 only looks for echoes of past reference).
# The capture time is itself taken when a frame arrives, so it is late by the input latency, which widens the margin.
LEAD = 0.01
# The coach counts as sounding during an utterance when the reference, over the utterance and this long before it
# (the echo's delay and the room's tail), averages above REFERENCE_SOUNDING (mean square, full scale 1: -50 dBFS).
ECHO_REACH = 0.5
REFERENCE_SOUNDING = 1e-5
# An utterance made while the coach sounded is its echo when in none of its loud frames both cancellers kept this
# share of the microphone's energy (-6 dB): a user's voice survives both, and an echo either removed is an echo (in
# real idle sessions AEC3 at times kept -3 dB of the echo for a few frames where SpeexDSP's linear filter removed
# 25-30 dB, and the coach acted on its own words). Per frame, because the user's voice shows in the frames where it
# is louder than the echo, and AEC3's suppressor takes 2-11 dB off a user talking over the coach (the more, the
# louder the echo; the linear canceller takes none). Measured offline (espeak-ng voices, room impulse response,
# AEC3): echo alone kept at most -9 dB in any frame (-15 dB once converged, after the first 1.5 s); a user talking
# over an echo 6 dB louder kept -3 dB in the best frame, 12 dB louder -9 dB (lost: that user must speak up).
KEPT_ECHO = 0.25
# Loud frames: within 20 dB of the utterance's loudest in the microphone (in the quiet ones, the canceller's comfort
# noise can outweigh what the microphone had).
LOUD_WITHIN = 0.01
# An utterance over the coach is judged by the canceller's output only once the canceller has shown that it removes
# the echo: over the last LEARNT_FRAMES frames before the utterance in which the coach's echo was due (the reference
# sounded ECHO_ARRIVES before the frame, and the microphone was not digital silence), the median frame lost LEARNT_DB
# or more, and the played audio has not restarted since the first of them (an underrun, a new device: AEC3 must find
# the echo's path again). Until then an utterance over the coach is taken as its echo. Not every frame the coach
# sounded in: a command said as a count begins had the count's first frames before it, which hold no echo yet (0 dB
# removed), and the canceller looked unlearnt (real sessions, 100 ms -12 dB room: every command over a count dropped
# as echo, while the frames with the echo due showed 52-65 dB removed). Measured, not counted: the count it replaces
# (4 s of coach sound since the last restart) was reset by each of the 3-8 restarts while the output stream settles,
# so a command over the coach's first sentences was dropped although AEC3 already removed 50-60 dB, and on a loaded
# machine (more restarts) every one was (CI: "how long left" dropped three times).
LEARNT_FRAMES = 20
LEARNT_DB = 15.0
LEARNT_WITHIN = 10.0  # seconds before the utterance in which those frames are looked for
# The coach is audible in the microphone (speakers) when, over the last COUPLING_FRAMES frames in which it sounded,
# the microphone's energy is above this share of the reference's (-40 dB) in all but the lowest AUDIBLE_PERCENTILE
# percent of them. A low percentile, not the median, because its echo is in every frame it sounds in and a user's
# voice only in some: with headphones, a user talking over most of its lines is not its echo. Through speakers the
# 20th percentile frame holds -4 dB (room 60 ms 0 dB) to -29 dB (150 ms, -20 dB; the lowest are the frames the echo
# has not reached yet). When it is not, the microphone passes through untouched: AEC3 with nothing to cancel still
# suppresses a voice over the reference (offline: -35 dB over a tone, -8 dB over speech, and "pause" became "Born."
# in a real session with headphones).
# A frame counts only once the reference has sounded for ECHO_ARRIVES without a break: before that its echo may not
# have reached the microphone (the loop 130-150 ms, a room more), and such frames, -60 to -100 dB, were the 20th
# percentile of the first 30 in real idle sessions: the coach passed through as the user's for two frames.
AUDIBLE_COUPLING = 1e-4
AUDIBLE_PERCENTILE = 20
ECHO_ARRIVES = 0.2
COUPLING_FRAMES = 200
MIN_COUPLING_FRAMES = 30  # until then, taken as audible (the safe side: the echo is not let through)
# Once the coach has been heard in the microphone, frames of digital silence (all samples zero) no longer count
# towards the coupling: a live microphone always has some noise, so they mean a broken input, not headphones.
# Measured in a benchmark under load: the room loop gave digital silence for 10 s windows while the coach spoke,
# the median fell below AUDIBLE_COUPLING, the microphone was passed through untouched, and when the echo came
# back it was the user's: 3 false actions ("hang on" as pause, "I can't hear you" as louder) in 230 s.
# Cleaned-frame energies kept to judge an utterance: the endpointer's longest is 8.6 s, and the recognizer may be
# some seconds behind the microphone on a loaded machine.
HISTORY_SECONDS = 60.0


def _lowpass(rate: int, cutoff: float, taps: int = 49) -> np.ndarray:
    """A linear-phase windowed-sinc low-pass filter (odd length: its delay is a whole number of samples)."""
    n = np.arange(taps) - (taps - 1) / 2
    h = np.sinc(2 * cutoff / rate * n) * np.hamming(taps)
    return h / h.sum()


class PlayedAudio:
    """What the speaker played, resampled to the microphone's rate on a grid of clock time: sample k sounded at
    k / MIC_RATE clock seconds. The player's thread writes; the microphone's thread reads."""

    def __init__(self, rate: int):
        self.rate = rate
        self._filter = _lowpass(rate, 0.95 * MIC_RATE / 2) if rate > MIC_RATE else np.array([1.0])
        self._delay = (len(self._filter) - 1) // 2  # samples at `rate`
        self._lock = threading.Lock()
        self._chunks: deque[tuple[int, np.ndarray]] = deque()  # (first grid index, float samples), in order
        self._history = np.zeros(len(self._filter) - 1)  # the filter's input state
        self._next_t: float | None = None  # clock time at which the sample after the last written one sounds
        self._last: tuple[float, float] | None = None  # (time, value) of the last filtered sample, to interpolate on
        self._drift = 0.0  # smoothed (stated - continued) output time of the chunks
        self.restarts = 0  # times the reference moved to the chunks' stated times (underruns, a new device, drift)

    def write(self, pcm: bytes, t0: float) -> None:
        """One chunk of int16 mono samples at `rate`, whose first sample sounds at clock time t0."""
        samples = np.frombuffer(pcm, dtype=np.int16).astype(np.float64) / 32768
        if not len(samples):
            return
        with self._lock:
            if self._next_t is not None:
                self._drift += SMOOTHING * (t0 - self._next_t - self._drift)
            if self._next_t is not None and abs(self._drift) <= RESTART_AFTER:
                t0 = self._next_t
            else:  # a new stretch: forget the filter's state
                self.restarts += self._next_t is not None  # placed at its stated time
                self._drift = 0.0
                self._history[:] = 0
                self._last = None
            self._next_t = t0 + len(samples) / self.rate
            padded = np.concatenate([self._history, samples])
            self._history = padded[len(padded) - len(self._history):] if len(self._history) else self._history
            filtered = np.convolve(padded, self._filter, mode="valid")  # filtered[j] belongs to input j - delay
            times = t0 + (np.arange(len(filtered)) - self._delay) / self.rate
            if self._last is not None:
                times = np.concatenate([[self._last[0]], times])
                filtered = np.concatenate([[self._last[1]], filtered])
            self._last = (times[-1], filtered[-1])
            first = math.ceil(times[0] * MIC_RATE)
            if self._chunks and first < self._chunks[-1][0] + len(self._chunks[-1][1]):
                first = self._chunks[-1][0] + len(self._chunks[-1][1])  # never write a grid sample twice
            last = math.floor(times[-1] * MIC_RATE)
            if last >= first:
                grid = np.arange(first, last + 1) / MIC_RATE
                self._chunks.append((first, np.interp(grid, times, filtered)))
            while self._chunks and self._chunks[0][0] < last - KEEP_SECONDS * MIC_RATE:
                self._chunks.popleft()

    def read(self, t_start: float, n: int) -> np.ndarray:
        """n int16 samples at MIC_RATE from clock time t_start; silence where nothing was played."""
        first = round(t_start * MIC_RATE)
        out = np.zeros(n)
        with self._lock:
            for begin, samples in self._chunks:
                low, high = max(first, begin), min(first + n, begin + len(samples))
                if low < high:
                    out[low - first:high - first] = samples[low - begin:high - begin]
        return np.clip(np.round(out * 32768), -32768, 32767).astype(np.int16)


@dataclass(frozen=True)
class CleanedFrame:
    """One microphone frame after echo cancellation; energies are mean squares with full scale 1."""
    pcm: bytes                # the cleaned frame, int16 mono at MIC_RATE, the same length as the microphone's
    captured_at: float        # clock seconds at the frame's first sample
    mic_energy: float         # of the microphone as captured
    cleaned_energy: float     # of what the canceller left
    linear_energy: float      # of what the linear canceller left (the same as cleaned_energy without it)
    reference_energy: float   # of what the speaker played over the same time (before LEAD)
    coach_audible: bool = True  # the coach is heard in the microphone: pcm is the canceller's output, else the mic's
    restarts: int = 0         # the played audio's restarts so far, when the frame was cleaned
    echo_due: bool = False    # the coach's echo should be in it: the reference sounded ECHO_ARRIVES before it
    linear: bytes = b""       # the linear canceller's output (for the recogniser), else the same as pcm


@dataclass(frozen=True)
class EchoVerdict:
    """Whether an utterance was the coach's own voice, and the figures that decided it."""
    coach_sounding: bool      # the speaker played during it (or just before, within ECHO_REACH)
    kept_db: float            # what the cancellers kept (the less of the two) / microphone energy, dB, in the
                              # frame that kept most (0: nothing removed)
    echo: bool


@dataclass(frozen=True)
class EchoSummary:
    """The canceller over the frames in which the coach sounded, since the last summary."""
    frames: int
    coach_audible: bool       # the coach is heard in the microphone (speakers), so the canceller's output is used
    in_mic_db: float          # the median frame's microphone energy against the reference's: the coach in the room
    removed_db: float         # ERLE: the median frame's microphone against cleaned energy, in dB (0: nothing removed);
                              # the median, so that the user talking over the coach in a few frames does not count
    reference_restarts: int   # so far: times the played audio did not continue where it had stopped


def _db(ratio: float) -> float:
    return 10 * math.log10(max(ratio, 1e-12))


def _energy(samples: np.ndarray) -> float:
    return float(np.mean((samples.astype(np.float64) / 32768) ** 2)) if len(samples) else 0.0


def _webrtc_processor() -> Processor:
    # Chosen by measurement against livekit's AudioProcessingModule (same AEC3, same ERLE, but a 30 MB package) and
    # speexdsp (does not build here); the 1 MB wheel releases the GIL while it works.
    from pywebrtc_audio import AudioProcessor
    return AudioProcessor(sample_rate=MIC_RATE, num_channels=1, echo_cancellation=True, high_pass_filter=True,
                          stream_delay_ms=0)


class Processor(Protocol):
    """What the canceller needs of WebRTC's audio processor (tests give a fake)."""

    def process(self, near: np.ndarray, far: np.ndarray) -> np.ndarray: ...


# SpeexDSP's echo canceller (MDF), linear only: its adaptive filter's output without the residual-echo suppressor
# (which lives in speex's preprocessor, not run here). It keeps more echo than AEC3 but does not take the user's
# voice down while both talk. Through ctypes on the Debian library (libspeexdsp1, PulseAudio's own dependency):
# the pip wrappers are unmaintained (speexdsp 0.1.1, 2018, does not build here) or one-person ctypes wheels.
SPEEX_FRAME = 160            # 10 ms at MIC_RATE: the microphone's 30 ms frames go through in three
SPEEX_FILTER_SECONDS = 0.3   # the echo's reach: its delay and the room's tail (0.15-0.7 s tried: 0.25-0.35 best)
_SPEEX_SET_SAMPLING_RATE = 24  # speex_echo.h


class SpeexLinear:
    """A Processor: the microphone with SpeexDSP's linear estimate of the echo taken out."""

    def __init__(self, rate: int = MIC_RATE, filter_seconds: float = SPEEX_FILTER_SECONDS):
        self._lib = lib = ctypes.CDLL(ctypes.util.find_library("speexdsp") or "libspeexdsp.so.1")
        lib.speex_echo_state_init.restype = ctypes.c_void_p
        lib.speex_echo_state_init.argtypes = [ctypes.c_int, ctypes.c_int]
        lib.speex_echo_ctl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
        lib.speex_echo_cancellation.argtypes = [ctypes.c_void_p] * 4
        lib.speex_echo_state_destroy.argtypes = [ctypes.c_void_p]
        self._state = lib.speex_echo_state_init(SPEEX_FRAME, int(filter_seconds * rate))
        lib.speex_echo_ctl(self._state, _SPEEX_SET_SAMPLING_RATE, ctypes.byref(ctypes.c_int(rate)))

    def process(self, near: np.ndarray, far: np.ndarray) -> np.ndarray:
        near = np.ascontiguousarray(near, dtype=np.int16)
        far = np.ascontiguousarray(far, dtype=np.int16)
        out = np.array(near)  # a partial last block (never, with 30 ms frames) is passed through
        for k in range(0, len(near) - SPEEX_FRAME + 1, SPEEX_FRAME):
            self._lib.speex_echo_cancellation(self._state, near[k:].ctypes.data, far[k:].ctypes.data,
                                              out[k:].ctypes.data)
        return out

    def __del__(self) -> None:
        if getattr(self, "_state", None):
            self._lib.speex_echo_state_destroy(self._state)
            self._state = None


class EchoCanceller:
    """clean(frame, captured_at) takes what the player played out of a microphone frame. AEC3 estimates and tracks
    the speaker-to-microphone delay itself (it searches the recent reference), so drift and a changed device cost
    only a moment of re-convergence. clean() from one thread; judge() from any."""

    def __init__(self, played: PlayedAudio, processor_factory: Callable[[], Processor] = _webrtc_processor,
                 lead: float = LEAD, linear_factory: Callable[[], Processor] | None = SpeexLinear):
        self.played = played
        self.lead = lead
        self._processor = processor_factory()
        self._linear: Processor | None = None  # without libspeexdsp, the recogniser gets AEC3's output
        if linear_factory is not None:
            with contextlib.suppress(OSError):
                self._linear = linear_factory()
        self._history: deque[CleanedFrame] = deque()
        self._lock = threading.Lock()
        self._summary: list[tuple[float, float]] = []  # (mic, reference) energy, dB removed, while the coach sounded
        self._coupling: deque[float] = deque(maxlen=COUPLING_FRAMES)  # mic / reference energy while it sounded
        self._heard_coach = False  # the coach has been audible in the microphone (see MIN_COUPLING_FRAMES)
        self._sounded_for = 0.0  # seconds the reference has sounded without a break, up to this frame
        self._sounded: deque[tuple[float, bool]] = deque(maxlen=16)  # (captured_at, reference sounding), lately

    def clean(self, frame: bytes, captured_at: float) -> CleanedFrame:
        near = np.frombuffer(frame, dtype=np.int16)
        far = self.played.read(captured_at - self.lead, len(near))
        cleaned = np.asarray(self._processor.process(near, far), dtype=np.int16)  # always: AEC3 keeps learning
        linear = cleaned if self._linear is None else np.asarray(self._linear.process(near, far), dtype=np.int16)
        mic_energy, reference_energy = _energy(near), _energy(far)
        sounding = reference_energy > REFERENCE_SOUNDING
        self._sounded_for = self._sounded_for + len(near) / MIC_RATE if sounding else 0.0
        if sounding and self._sounded_for > ECHO_ARRIVES and not (mic_energy == 0.0 and self._heard_coach):
            self._coupling.append(mic_energy / reference_energy)
        self._sounded.append((captured_at, sounding))
        earlier = [was for at, was in self._sounded if at <= captured_at - ECHO_ARRIVES]
        echo_due = bool(earlier) and earlier[-1] and mic_energy > 0.0
        measured = len(self._coupling) >= MIN_COUPLING_FRAMES
        audible = not measured or float(np.percentile(self._coupling, AUDIBLE_PERCENTILE)) > AUDIBLE_COUPLING
        self._heard_coach = self._heard_coach or (measured and audible)
        if not audible:
            cleaned = linear = near
        result = CleanedFrame(cleaned.tobytes(), captured_at, mic_energy, _energy(cleaned), _energy(linear),
                              reference_energy, audible, self.played.restarts, echo_due, linear.tobytes())
        with self._lock:
            self._history.append(result)
            while self._history and self._history[0].captured_at < captured_at - HISTORY_SECONDS:
                self._history.popleft()
        if result.reference_energy > REFERENCE_SOUNDING:
            self._summary.append((mic_energy / reference_energy, _db(mic_energy / max(result.cleaned_energy, 1e-12))))
        return result

    def judge(self, start: float, end: float) -> EchoVerdict:
        """Was the utterance between clock times start and end the coach's own voice? Only when the coach sounded
        during it and the canceller left almost none of the microphone's energy: with headphones nothing is
        removed, so whatever the user says is the user's, even the coach's own words."""
        with self._lock:
            frames = [frame for frame in self._history if start - ECHO_REACH <= frame.captured_at <= end]
            before = [frame for frame in self._history
                      if start - LEARNT_WITHIN <= frame.captured_at < start and frame.echo_due][-LEARNT_FRAMES:]
            latest = self._history[-1].restarts if self._history else 0
        return judge(frames, start, learnt(before, latest))

    def summary(self) -> EchoSummary | None:
        """Figures since the last call, over the frames in which the coach sounded; None if it did not."""
        frames, self._summary = self._summary, []
        if not frames:
            return None
        audible = self._history[-1].coach_audible if self._history else True
        return EchoSummary(len(frames), audible, _db(float(np.median([ratio for ratio, _ in frames]))),
                           round(float(np.median([removed for _, removed in frames])), 1), self.played.restarts)


def learnt(before: list[CleanedFrame], restarts_now: int) -> bool:
    """The canceller removed the echo over these frames of the coach's sound, and the played audio has not restarted
    since the first of them."""
    return len(before) >= LEARNT_FRAMES and before[0].restarts == restarts_now and float(np.median(
        [_db(f.mic_energy / max(f.cleaned_energy, 1e-12)) for f in before])) >= LEARNT_DB


def judge(frames: list[CleanedFrame], start: float, converged: bool = True) -> EchoVerdict:
    """The verdict on an utterance from its frames (and those up to ECHO_REACH before `start`)."""
    if not frames:
        return EchoVerdict(False, 0.0, False)
    sounding = sum(f.reference_energy for f in frames) / len(frames) > REFERENCE_SOUNDING
    audible = frames[-1].coach_audible
    own = [f for f in frames if f.captured_at >= start] or frames
    loudest = max(f.mic_energy for f in own)
    kept = max((min(f.cleaned_energy, f.linear_energy) / f.mic_energy for f in own
                if f.mic_energy >= loudest * LOUD_WITHIN and f.mic_energy > 0), default=1.0)
    return EchoVerdict(sounding, round(_db(kept), 1), sounding and audible and (kept < KEPT_ECHO or not converged))
