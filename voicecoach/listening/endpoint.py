"""Cuts a stream of 30 ms frames into utterances with pocketsphinx's Endpointer; times are stream seconds."""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pocketsphinx

FRAME_BYTES = 960  # 30 ms of 16-bit mono at 16 kHz: the only frame size the Endpointer accepts
SAMPLE_RATE = 16000
FRAME_SECONDS = FRAME_BYTES / 2 / SAMPLE_RATE
# A microphone that sends digital silence (a muted or gated one, the test harness's null sink) leaves the voice
# detectors' noise model untrained, and room noise that follows reads as speech for as long as it lasts: an
# utterance then runs on through it, ending late and taking longer to decode. The detectors hear every frame over
# this steady floor, about a quiet laptop microphone's own noise, so they always know one; below a real room's noise
# it changes nothing. The utterance's audio is the frames as they came.
DETECTOR_FLOOR_DBFS = -70.0


@lru_cache(maxsize=1)
def _floor() -> np.ndarray:
    """1.5 s of white noise at DETECTOR_FLOOR_DBFS, a whole number of frames, the same in every run."""
    sigma = 32768 * 10 ** (DETECTOR_FLOOR_DBFS / 20)
    return np.round(np.random.default_rng(0).standard_normal(50 * FRAME_BYTES // 2) * sigma).astype(np.int32)


def over_floor(frame: bytes, index: int) -> bytes:
    """The frame with the detectors' floor added: the floor's `index`-th frame, so that it runs on unbroken."""
    floor = _floor()
    start = index * (FRAME_BYTES // 2) % len(floor)
    mixed = np.frombuffer(frame, np.int16).astype(np.int32) + floor[start:start + FRAME_BYTES // 2]
    return np.clip(mixed, -32768, 32767).astype(np.int16).tobytes()


@dataclass(frozen=True)
class Utterance:
    pcm: bytes     # the speech with some room sound either side, as the decoder wants it
    start: float   # seconds since the stream began
    end: float     # when the speech stopped, seconds since the stream began


class Segmenter:
    """feed(frame) -> a finished Utterance or None. Pure: no clock, no device."""

    def __init__(self, window: float = 0.3, ratio: float = 0.9, vad_mode: int = 2,
                 margin: float = 0.3, max_seconds: float = 8.0):
        self.endpointer = pocketsphinx.Endpointer(window=window, ratio=ratio, vad_mode=vad_mode,
                                                  sample_rate=SAMPLE_RATE)
        self.vad = pocketsphinx.Vad(mode=vad_mode, sample_rate=SAMPLE_RATE, frame_length=FRAME_SECONDS)
        self.quiet_frames = 0  # frames without voice since the open utterance's last voiced one
        self.pause_frames = 0  # the quiet frames that the latest voiced one ended
        self.first_frame = 0  # no utterance's audio starts before this frame (see begin_again)
        assert self.endpointer.frame_bytes == FRAME_BYTES
        self.margin_frames = round(margin / FRAME_SECONDS)
        self.history: deque[bytes] = deque(maxlen=round((max_seconds + window + margin) / FRAME_SECONDS))
        self.fed = 0
        self.start_frame: int | None = None

    def feed(self, frame: bytes) -> Utterance | None:
        if len(frame) != FRAME_BYTES:
            raise ValueError(f"frames must be exactly {FRAME_BYTES} bytes")
        was_in_speech = self.endpointer.in_speech
        detected = over_floor(frame, self.fed)
        self.endpointer.process(detected)
        self.history.append(frame)
        self.fed += 1
        if self.endpointer.in_speech and not was_in_speech:
            self.start_frame = round(self.endpointer.speech_start / FRAME_SECONDS)
        if self.start_frame is None or self.vad.is_speech(detected):
            self.pause_frames, self.quiet_frames = self.quiet_frames, 0
        else:
            self.quiet_frames += 1
        if self.start_frame is not None and self.fed - self.start_frame > self.history.maxlen - self.margin_frames:
            self.start_frame = self.fed - self.history.maxlen + self.margin_frames  # over-long speech: keep the tail
        if was_in_speech and not self.endpointer.in_speech:
            return self._cut(self.endpointer.speech_end)
        return None

    @property
    def in_speech(self) -> bool:
        return self.start_frame is not None

    def begin_again(self) -> None:
        """The open utterance was acted on before its end and the speaker went on: what follows is an utterance of
        its own, from the frame just fed, with the pause before it but none of the words before that."""
        if self.start_frame is not None:
            self.start_frame = self.fed - 1
            self.first_frame = self.fed - 1 - self.pause_frames

    def _so_far(self) -> bytes:
        first = max(self.fed - len(self.history), self.start_frame - self.margin_frames, self.first_frame)
        return b"".join(list(self.history)[first - (self.fed - len(self.history)):])

    def provisional(self) -> Utterance | None:
        """The open utterance as if it ended now, to start recognizing it while the endpointer makes sure:
        its quiet tail is repeated, so the decoder hears as much room sound after the words as it would."""
        if self.start_frame is None:
            return None
        pcm = self._so_far()
        return Utterance(pcm + pcm[-self.quiet_frames * FRAME_BYTES:] if self.quiet_frames else pcm,
                         self.start_frame * FRAME_SECONDS, self.fed * FRAME_SECONDS)

    def _cut(self, end: float) -> Utterance:
        utterance = Utterance(self._so_far(), self.start_frame * FRAME_SECONDS, end)
        self.start_frame = None
        self.quiet_frames = 0
        return utterance

    def finish(self) -> Utterance | None:
        """The stream ended: speech still open is returned as it stands."""
        if self.start_frame is None:
            return None
        return self._cut(self.fed * FRAME_SECONDS)
