"""A speaker that makes no sound: for --no-speech, where a screen reader reads the printed lines."""
from __future__ import annotations

import threading
from typing import Iterable

from voicecoach.ports import Clock, Notify


class SilentSpeaker:
    """Reports each utterance as spoken; with a reading pace, each lasts as long as reading it aloud would."""
    plays_tones = False  # so the session explains no tone
    lead_time = 0.0      # nothing to render: a count is reported at its due time

    def __init__(self, clock: Clock, notify: Notify, words_per_minute: float = 0):
        self._clock, self._notify, self._wpm = clock, notify, words_per_minute
        self._busy_until = 0.0
        self._pending: dict[int, dict] = {}
        self._lock = threading.Lock()

    def say(self, text: str, *, utterance_id: int, kind: str = "instruction", due: float | None = None) -> None:
        self._utter({"id": utterance_id, "text": text, "kind": kind}, len(text.split()))

    def cue(self, name: str, *, utterance_id: int) -> None:
        self._utter({"id": utterance_id, "text": name, "kind": "cue"}, 0)

    def _utter(self, fields: dict, words: int) -> None:
        now = self._clock.now()
        if not self._wpm or fields["kind"] in ("count", "cue"):
            self._notify("speech_start", {**fields, "t": now})
            self._notify("speech_end", {**fields, "t": now, "interrupted": False})
            return
        with self._lock:
            start = max(now, self._busy_until)
            self._busy_until = start + words * 60 / self._wpm
            self._pending[fields["id"]] = fields
        self._notify("speech_start", {**fields, "t": start})
        timer = threading.Timer(self._busy_until - now, self._finish, (fields,))
        timer.daemon = True
        timer.start()

    def _finish(self, fields: dict) -> None:
        with self._lock:
            if self._pending.pop(fields["id"], None) is None:
                return
        self._notify("speech_end", {**fields, "t": self._clock.now(), "interrupted": False})

    def hush(self) -> None:
        with self._lock:
            pending, self._pending, self._busy_until = self._pending, {}, 0.0
        for fields in pending.values():
            self._notify("speech_end", {**fields, "t": self._clock.now(), "interrupted": True})

    def pause_line(self) -> None:
        pass  # a screen reader speaks the printed lines, not this speaker

    def resume_line(self) -> None:
        pass

    def prepare(self, texts: Iterable[str]) -> None:
        pass

    def adjust(self, change: str) -> str | None:
        return None

    def close(self) -> None:
        self.hush()
