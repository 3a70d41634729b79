"""The Speaker: pyttsx3 renders each utterance to a clip; one PyAudio stream plays clips in order, on time."""
from __future__ import annotations

import dataclasses
import sys
import queue
import threading
import traceback
from typing import Callable, Iterable

from voicecoach.config import Settings
from voicecoach.ports import Clock, Notify
from voicecoach.speech.adjust import adjust_settings
from voicecoach.speech.earcons import earcon, message
from voicecoach.speech.player import Item, Player, PyAudioOutput
from voicecoach.speech.render import AHEAD, URGENT, Renderer
from voicecoach.speech.voices import check_voice

LOST_AFTER = 3.0            # seconds without an output callback before the device counts as gone;
                            # a PulseAudio null sink can stall a new stream for up to 2 s at start


class Pyttsx3Speaker:
    lead_time = 0.3   # the runner hands over counts this early; each starts on the sample of its due time

    def __init__(self, settings: Settings, clock: Clock, notify: Notify, *,
                 remember: Callable[[Settings], None] | None = None,
                 renderer: Renderer | None = None, output_factory=PyAudioOutput,
                 tap: Callable[[bytes, float], None] | None = None):
        """Opens the output device at once; raises SpeechUnavailable with a one-sentence reason if it cannot,
        and SettingsError for a voice that is not installed. `tap` gets every chunk played, with the clock time it
        sounds at (the echo canceller's reference)."""
        self.settings = dataclasses.replace(settings)
        if settings.voice is not None and renderer is None:
            self.settings.voice = check_voice(settings.voice)
        self._clock, self._notify, self._remember = clock, notify, remember
        self._renderer = renderer or Renderer()
        self._player = Player(self._lookup)
        self._player.gain = settings.volume
        self._player.tap = tap
        self.taps_output = tap is not None
        self._prepared: list[str] = []
        self._lost = False
        self._closing = threading.Event()
        try:
            self._output = output_factory(self._player, clock)
        except Exception:
            self._renderer.close()
            raise
        self._dispatcher = threading.Thread(target=self._dispatch, name="voicecoach-speech-events", daemon=True)
        self._dispatcher.start()

    # --- Speaker port -------------------------------------------------------------------------------

    def say(self, text: str, *, utterance_id: int, kind: str = "instruction", due: float | None = None) -> None:
        key = self._key(text)
        item = Item(utterance_id, text, kind, due if kind == "count" else None, key=key)
        if self._lost:
            self._report_silently(item)
            return
        self._renderer.request([key], URGENT)
        self._player.add(item)

    def cue(self, name: str, *, utterance_id: int) -> None:
        item = Item(utterance_id, name, "cue", clip=earcon(name))
        if self._lost:
            self._report_silently(item)
            return
        self._player.add(item)

    def hush(self) -> None:
        self._player.hush(self._clock.now())

    def prepare(self, texts: Iterable[str]) -> None:
        new = [text for text in texts if text not in self._prepared]
        self._prepared.extend(new)
        self._renderer.request([self._key(text) for text in new], AHEAD)

    def adjust(self, change: str) -> str | None:
        rate = self.settings.rate
        answer = adjust_settings(self.settings, change)
        if answer is None:
            return None
        self._player.gain = self.settings.volume
        if self.settings.rate != rate:
            # Counts first: they are on the clock; then the rest of what was prepared.
            upcoming = sorted(self._prepared, key=lambda text: not text.isdigit())
            self._renderer.request([self._key(text) for text in upcoming], AHEAD)
        if self._remember is not None:
            self._remember(dataclasses.replace(self.settings))
        return answer

    def close(self) -> None:
        self._closing.set()
        self._output.close()
        self._renderer.close()
        self._dispatcher.join(timeout=1)

    # --- internals ----------------------------------------------------------------------------------

    def _key(self, text: str) -> tuple:
        return (text, self.settings.voice, self.settings.rate)

    def _lookup(self, item: Item):
        # Prefer a clip at the current rate (after "slower"), else the one asked for when it was queued.
        return self._renderer.get(self._key(item.text)) or self._renderer.get(item.key)

    def _report_silently(self, item: Item) -> None:
        now = self._clock.now()
        self._player.events.put(("speech_start", {"id": item.id, "text": item.text, "kind": item.kind, "t": now}))
        self._player.events.put(("speech_end", {"id": item.id, "text": item.text, "kind": item.kind, "t": now,
                                                "interrupted": False}))

    def _dispatch(self) -> None:
        """Deliver player events when their sound actually reaches the output; watch for a lost device."""
        while not self._closing.is_set():
            try:
                name, fields = self._player.events.get(timeout=0.1)
            except queue.Empty:
                self._watch()
                continue
            while not self._closing.is_set():
                remaining = fields["t"] - self._clock.now()
                if remaining <= 0:
                    break
                self._closing.wait(min(remaining, 0.05))
            self._deliver(name, fields)
            self._watch()

    def _watch(self) -> None:
        if self._lost or self._closing.is_set():
            return
        now = self._clock.now()
        if self._output.alive(now, LOST_AFTER):
            return
        self._lost = True
        self._deliver("output_lost", {"message": message("output_lost"), "t": now})
        self._player.drain_silently(now)

    def _deliver(self, name: str, fields: dict) -> None:
        try:
            self._notify(name, fields)
        except Exception:
            traceback.print_exc(file=sys.stderr)
