"""One continuously running output stream that plays queued clips in order, on time, and stops within a chunk."""
from __future__ import annotations

import contextlib
import queue
import threading
from array import array
from collections import deque
from dataclasses import dataclass
from typing import Callable

from voicecoach.audio_noise import quiet_stderr
from voicecoach.ports import Clock
from voicecoach.speech import SpeechUnavailable
from voicecoach.speech.clips import RATE, Clip

CHUNK = 512          # frames per callback: 23 ms at 22,050 Hz, the granularity of hush() and scheduling;
                     # 256 (11.6 ms) gave ALSA underruns (audible gaps) on a loaded 2-core machine
LATE_LIMIT = 0.25    # a count that cannot start by due + this is skipped


@dataclass
class Item:
    id: int
    text: str
    kind: str
    due: float | None = None
    key: tuple | None = None     # render cache key, for speech
    clip: Clip | None = None     # fixed clip, for earcons
    over: bool = False           # sounds at once, mixed over whatever is playing (an acknowledgement)


@dataclass
class _Pause:
    item: Item      # the line that gave way to the user
    since: float    # clock time at which it fell silent
    until: float    # it goes on by itself at this clock time


@dataclass
class _Overlay:
    item: Item
    samples: array
    position: int = 0


class Player:
    """The scheduling core, driven by fill(); events go to .events as (name, fields) with t in clock seconds."""

    def __init__(self, lookup: Callable[[Item], Clip | None]):
        self._lookup = lookup
        self._lock = threading.Lock()
        self._queue: deque[Item] = deque()
        self._current: tuple[Item, array] | None = None
        self._position = 0
        self._starts_at = 0
        self._next_t: float | None = None   # clock time at which the next unfilled sample will sound
        self._overlays: list[_Overlay] = []  # clips sounding over the queue's
        self._pause: _Pause | None = None
        self._paused_before: Item | None = None  # a line gives way once: after that the user talks over it
        self.gain = 1.0
        self.events: queue.Queue = queue.Queue()
        self.tap: Callable[[bytes, float], None] | None = None  # given every chunk written, with t0: the echo reference

    def add(self, item: Item) -> None:
        with self._lock:
            if item.over and item.clip is not None:
                self._overlays.append(_Overlay(item, item.clip.samples))
            else:
                self._queue.append(item)

    def busy(self) -> bool:
        with self._lock:
            return self._current is not None or bool(self._queue) or bool(self._overlays)

    def pause_line(self, now: float, until: float) -> None:
        """The user has begun to speak: the line being said falls silent at the next chunk boundary and keeps its
        place, until resume_line(), hush() or `until`. Counts keep their time; a line gives way only once."""
        with self._lock:
            item = self._current[0] if self._current is not None else None
            if item is None or item.due is not None or item is self._paused_before:
                return
            if self._pause is None:
                self._pause = _Pause(item, max(now, self._next_t or now), until)
                self._paused_before = item
                self._emit("speech_paused", item, self._pause.since)

    def resume_line(self, now: float) -> None:
        """The user has finished: a line that gave way goes on from where it fell silent."""
        with self._lock:
            self._end_pause(max(now, self._next_t or now))

    def _end_pause(self, t: float) -> None:
        pause, self._pause = self._pause, None
        if pause is not None and self._current is not None and self._current[0] is pause.item:
            self._emit("speech_resumed", pause.item, t)

    def hush(self, now: float) -> None:
        """Stop the current clip at the next chunk boundary and drop the queue."""
        with self._lock:
            self._queue.clear()
            for overlay in self._overlays:
                self._emit("speech_end", overlay.item, max(now, self._next_t or now), interrupted=True)
            self._overlays.clear()
            pause, self._pause = self._pause, None
            if self._current is not None:
                item = self._current[0]
                self._current = None
                # a line that gave way to the user ended when it fell silent
                end = pause.since if pause is not None and pause.item is item else max(now, self._next_t or now)
                self._emit("speech_end", item, end, interrupted=True)

    def drain_silently(self, now: float) -> None:
        """The device is gone: report everything as played now, so nobody waits on sound that cannot come."""
        with self._lock:
            self._pause = None
            if self._current is not None:
                self._emit("speech_end", self._current[0], now, interrupted=True)
                self._current = None
            unplayed = [overlay.item for overlay in self._overlays if overlay.position == 0]
            for overlay in self._overlays:
                if overlay.position:
                    self._emit("speech_end", overlay.item, now, interrupted=True)
            self._overlays.clear()
            while self._queue:
                unplayed.append(self._queue.popleft())
            for item in unplayed:
                self._emit("speech_start", item, now)
                self._emit("speech_end", item, now, interrupted=False)

    def fill(self, frames: int, t0: float) -> bytes:
        """Produce the next `frames` samples; t0 is the clock time at which the first of them will sound."""
        out = array("h", bytes(2 * frames))
        with self._lock:
            self._next_t = t0 + frames / RATE
            if self._pause is not None and t0 >= self._pause.until:
                self._end_pause(t0)
            i = 0
            while i < frames:
                if self._current is None and not self._start_next(out, frames, t0, i):
                    break
                if self._current is None:   # a skipped count; look at the next item
                    continue
                item, samples = self._current
                if self._pause is not None and self._pause.item is item:
                    break
                start = max(i, self._starts_at)
                self._starts_at = 0
                n = min(frames - start, len(samples) - self._position)
                self._copy(samples, self._position, out, start, n)
                self._position += n
                i = start + n
                if self._position >= len(samples):
                    self._emit("speech_end", item, t0 + i / RATE, interrupted=False)
                    self._current = None
            self._mix_overlays(out, frames, t0)
        data = out.tobytes()
        if self.tap is not None:
            self.tap(data, t0)
        return data

    def _start_next(self, out, frames: int, t0: float, i: int) -> bool:
        """Begin the head item if it can start in this chunk; False means output silence for now."""
        if not self._queue:
            return False
        item = self._queue[0]
        clip = item.clip or self._lookup(item)
        start = i
        if item.due is not None:
            wanted = round((item.due - t0) * RATE)
            if wanted >= frames:
                return False
            if wanted > i:
                start = wanted
            elif t0 + i / RATE > item.due + LATE_LIMIT:
                self._queue.popleft()
                self._emit("speech_skipped", item, t0 + i / RATE)
                return True
        if clip is None:
            return False    # still rendering; keep order and wait
        self._queue.popleft()
        self._current = (item, clip.samples)
        self._position = 0
        self._starts_at = start
        self._emit("speech_start", item, t0 + start / RATE)
        return True

    def _mix_overlays(self, out: array, frames: int, t0: float) -> None:
        for overlay in self._overlays:
            if overlay.position == 0:
                self._emit("speech_start", overlay.item, t0)
            n = min(frames, len(overlay.samples) - overlay.position)
            gain = self.gain
            for k in range(n):
                out[k] = max(-32768, min(32767, out[k] + int(overlay.samples[overlay.position + k] * gain)))
            overlay.position += n
            if overlay.position >= len(overlay.samples):
                self._emit("speech_end", overlay.item, t0 + n / RATE, interrupted=False)
        self._overlays = [overlay for overlay in self._overlays if overlay.position < len(overlay.samples)]

    def _copy(self, samples: array, position: int, out: array, start: int, n: int) -> None:
        gain = self.gain
        if gain == 1.0:
            out[start:start + n] = samples[position:position + n]
        else:
            out[start:start + n] = array("h", (int(s * gain) for s in samples[position:position + n]))

    def _emit(self, name: str, item: Item, t: float, **fields) -> None:
        event = {"id": item.id, "text": item.text, "kind": item.kind, "t": t, **fields}
        if item.due is not None:
            event["due"] = item.due
        self.events.put((name, event))


class PyAudioOutput:
    """A PyAudio callback stream feeding Player.fill, with the DAC time of each chunk mapped to the clock."""

    def __init__(self, player: Player, clock: Clock):
        self._player, self._clock = player, clock
        self.first_callback: float | None = None
        self.last_callback: float | None = None
        self.failed: str | None = None
        self.retired = False   # replaced by a reopened stream: a late callback must not take the player's clips
        with quiet_stderr():
            import pyaudio
            self._pyaudio_module = pyaudio
            self._audio = pyaudio.PyAudio()
            try:
                self._stream = self._audio.open(rate=RATE, channels=1, format=pyaudio.paInt16, output=True,
                                                frames_per_buffer=CHUNK, stream_callback=self._callback)
            except (OSError, ValueError) as error:
                self._audio.terminate()
                raise SpeechUnavailable(f"No audio output device could be opened ({error}).") from None
        self.started = clock.now()

    def _callback(self, _data, frames, time_info, status):
        if self.retired:
            return (bytes(2 * frames), self._pyaudio_module.paAbort)
        now = self._clock.now()
        if self.first_callback is None:
            self.first_callback = now
        self.last_callback = now
        ahead = time_info.get("output_buffer_dac_time", 0) - time_info.get("current_time", 0)
        if not 0 <= ahead < 1:
            ahead = self._stream.get_output_latency()
        try:
            data = self._player.fill(frames, now + ahead)
        except Exception as error:  # never let an exception kill the audio thread silently
            self.failed = f"speech playback failed: {error}"
            return (bytes(2 * frames), self._pyaudio_module.paAbort)
        return (data, self._pyaudio_module.paContinue)

    def alive(self, now: float, patience: float) -> bool:
        if self.failed:
            return False
        try:
            if not self._stream.is_active():
                return False
        except OSError:
            return False
        last = self.last_callback if self.last_callback is not None else self.started
        return now - last < patience

    def playing_for(self) -> float:
        """How long its callbacks have kept coming: a stream opened on a suspended sink is called once or twice
        to fill its buffer, then stalls."""
        if self.first_callback is None or self.last_callback is None:
            return 0.0
        return self.last_callback - self.first_callback

    def close(self) -> None:
        # Not stop_stream(): it drains the buffer, and on a suspended sink that blocked until the sink resumed
        # (measured: still blocked after 6 s). close() discards what is buffered and returned at once (5 ms).
        self.retired = True
        with contextlib.suppress(Exception):
            self._stream.close()
        with contextlib.suppress(Exception):
            self._audio.terminate()
