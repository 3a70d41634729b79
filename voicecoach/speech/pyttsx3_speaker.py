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
from voicecoach.speech.earcons import earcon
from voicecoach.speech.player import Item, Player, PyAudioOutput
from voicecoach.speech.render import AHEAD, URGENT, Renderer
from voicecoach.speech.voices import check_voice

LOST_AFTER = 3.0            # seconds without an output callback before the device counts as gone;
                            # a PulseAudio null sink can stall a new stream for up to 2 s at start
OPEN_PATIENCE = 2.0         # a reopen not done by then leaves the lines waiting on it reported as played
BACK_AFTER = 0.5            # a reopened stream works once its callbacks have kept coming this long: one opened
                            # on a suspended sink is called once or twice to fill its buffer, then stalls
# Replies to what the user said sound at once, over a count or a line still playing: the user hears that they were
# heard without waiting for the count's end (in a hold nothing is cut off, so the tone would queue behind it).
ACKNOWLEDGEMENTS = ("understood", "not_understood")
# A line that gave way to the user goes on by itself after this long: a command or a question is said within it,
# and longer talk (to someone else, the television) is not for the coach to wait out.
PAUSE_LIMIT = 3.0


class Pyttsx3Speaker:
    lead_time = 0.3   # the runner hands over counts this early; each starts on the sample of its due time
    plays_tones = True

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
        # The output device is reopened, off the caller's thread, on the first line after it was lost: after a
        # 5 s `pactl suspend-sink` the old stream's callbacks did come back, but a device that went away for good
        # (PulseAudio restarted) needs a new stream, and a new one works in both cases.
        self._device_lock = threading.Lock()
        self._lost = False                            # no working output; the next line reopens it
        self._trying = False                          # a reopened output not yet heard to work
        self._opening: threading.Thread | None = None
        self._opening_since = 0.0
        self._open_seconds = 0.0                      # how long the last reopen took, for the events log
        self._opened = None                           # what the opening thread got, None if it failed
        self._output_factory = output_factory
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
        self._reopen_if_lost()
        self._renderer.request([key], URGENT)
        self._player.add(item)

    def cue(self, name: str, *, utterance_id: int) -> None:
        self._reopen_if_lost()
        self._player.add(Item(utterance_id, name, "cue", clip=earcon(name), over=name in ACKNOWLEDGEMENTS))

    def hush(self) -> None:
        self._player.hush(self._clock.now())

    def pause_line(self) -> None:
        now = self._clock.now()
        self._player.pause_line(now, now + PAUSE_LIMIT)

    def resume_line(self) -> None:
        self._player.resume_line(self._clock.now())

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
        with self._device_lock:
            self._closing.set()
            if self._opened is not None:  # reopened but not yet taken into use
                self._retire(self._opened)
                self._opened = None
        closing = self._retire(self._output)
        self._renderer.close()
        self._dispatcher.join(timeout=1)
        closing.join(timeout=1)  # a device that hangs on close must not keep the program from ending

    # --- internals ----------------------------------------------------------------------------------

    def _key(self, text: str) -> tuple:
        return (text, self.settings.voice, self.settings.rate)

    def _lookup(self, item: Item):
        # Prefer a clip at the current rate (after "slower"), else the one asked for when it was queued.
        return self._renderer.get(self._key(item.text)) or self._renderer.get(item.key)

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
        """Notice a lost output (say so once), bring in a reopened one, and say when it works again. Whatever
        cannot be played is reported as played at once, so the session never waits on sound that cannot come."""
        if self._closing.is_set():
            return
        now = self._clock.now()
        with self._device_lock:
            news = self._check_device(now)
        if news == "output_back":  # outside the lock: whoever is told may queue a line at once
            self._deliver(news, {"t": now, "open_s": round(self._open_seconds, 3)})
        elif news is not None:
            self._deliver(news, {"t": now})

    def _check_device(self, now: float) -> str | None:
        if self._opening is not None:
            if self._opening.is_alive():
                if now - self._opening_since > OPEN_PATIENCE:
                    self._player.drain_silently(now)
                return None
            self._opening = None
            if self._opened is None:  # could not open; the next line tries again
                self._player.drain_silently(now)
                return None
            self._output, self._opened, self._lost, self._trying = self._opened, None, False, True
        if self._lost:
            self._player.drain_silently(now)
            return None
        if self._output.alive(now, LOST_AFTER):
            if self._trying and self._output.playing_for() >= BACK_AFTER:
                self._trying = False
                return "output_back"
            return None
        reported, self._lost, self._trying = not self._trying, True, False
        self._retire(self._output)
        self._player.drain_silently(now)
        return "output_lost" if reported else None  # once per outage: a reopen that fails again is not news

    def _reopen_if_lost(self) -> None:
        """On a line after the output was lost, open a new one on a thread of its own: opening can block."""
        with self._device_lock:
            if not self._lost or self._opening is not None or self._closing.is_set():
                return
            self._opening_since = self._clock.now()
            self._opening = threading.Thread(target=self._open, name="voicecoach-speech-reopen", daemon=True)
            self._opening.start()

    def _open(self) -> None:
        try:
            output = self._output_factory(self._player, self._clock)
        except Exception:  # no device yet; said once already, and the next line tries again
            output = None
        with self._device_lock:
            self._open_seconds = self._clock.now() - self._opening_since
            if output is not None and self._closing.is_set():
                self._retire(output)
                output = None
            self._opened = output

    @staticmethod
    def _retire(output) -> threading.Thread:
        """Stop a stream from taking clips at once, and close it on a thread of its own: closing can block."""
        output.retired = True
        closing = threading.Thread(target=output.close, name="voicecoach-speech-close", daemon=True)
        closing.start()
        return closing

    def _deliver(self, name: str, fields: dict) -> None:
        try:
            self._notify(name, fields)
        except Exception:
            traceback.print_exc(file=sys.stderr)
