"""A Speaker through Speech Dispatcher, so voicecoach queues with the user's screen reader in their voice."""
from __future__ import annotations

import os
import queue
import sys
import threading
from dataclasses import dataclass

from voicecoach.config import Settings
from voicecoach.ports import Clock, Notify
from voicecoach.speech import SpeechUnavailable
from voicecoach.speech.adjust import adjust_settings
from voicecoach.speech.earcons import message
from voicecoach.speech.player import LATE_LIMIT

SYSTEM_PACKAGES = "/usr/lib/python3/dist-packages"   # Debian's python3-speechd is not on PyPI
DEFAULT = Settings()


def import_speechd():
    try:
        import speechd
        return speechd
    except ImportError:
        pass
    if os.path.isdir(os.path.join(SYSTEM_PACKAGES, "speechd")):
        sys.path.append(SYSTEM_PACKAGES)   # only for this import: the module is pure Python
        try:
            import speechd
            return speechd
        except ImportError:
            pass
        finally:
            sys.path.remove(SYSTEM_PACKAGES)
    raise SpeechUnavailable("Speech Dispatcher's Python module is not installed "
                            "(on Debian or Ubuntu: apt install speech-dispatcher python3-speechd).")


def ssip_rate(wpm: int) -> int:
    """Speech Dispatcher rates run -100..100 around the voice's normal speed; 175 wpm is taken as normal."""
    return max(-100, min(100, round((wpm - DEFAULT.rate) / 2.25)))


@dataclass
class _Utterance:
    id: int
    text: str
    kind: str
    due: float | None


class SpeechdSpeaker:
    lead_time = 0.3   # counts are handed over this early; they are sent to Speech Dispatcher at their due time
    plays_tones = False  # cues are reported, not played (see cue)

    def __init__(self, settings: Settings, clock: Clock, notify: Notify, *, remember=None):
        speechd = import_speechd()
        self._speechd = speechd
        try:
            self._client = speechd.SSIPClient("voicecoach")
        except Exception as error:
            raise SpeechUnavailable(f"Speech Dispatcher is not running and could not be started ({error}).") from None
        self.settings = Settings(**vars(settings))
        self._clock, self._notify, self._remember = clock, notify, remember
        # Only what the user chose differently from the defaults overrides their screen-reader settings.
        if settings.voice is not None:
            self._client.set_synthesis_voice(settings.voice)
        if settings.rate != DEFAULT.rate:
            self._client.set_rate(ssip_rate(settings.rate))
        if settings.volume != DEFAULT.volume:
            self._client.set_volume(round(settings.volume * 200 - 100))
        # python3-speechd registers a speak() callback only after the server has answered with the message id,
        # so a quick BEGIN is lost. Taking the connection's events ourselves (set_callback on its private
        # connection object) lets early events wait for their id; without it, starts are estimated.
        self._events_lock = threading.Lock()
        self._handlers: dict[int, object] = {}
        self._early: dict[int, list[str]] = {}
        connection = getattr(self._client, "_conn", None)
        self._own_events = hasattr(connection, "set_callback")
        if self._own_events:
            connection.set_callback(self._on_event)
        self._queue: queue.Queue = queue.Queue()
        self._hushed = threading.Event()      # wakes the feeder out of a wait for a due time
        self._closing = threading.Event()
        self._priority = None
        self._lost = False
        self._began = False   # whether the utterance being spoken has had its BEGIN event
        self._feeder = threading.Thread(target=self._feed, name="voicecoach-speechd", daemon=True)
        self._feeder.start()

    def say(self, text: str, *, utterance_id: int, kind: str = "instruction", due: float | None = None) -> None:
        self._queue.put(_Utterance(utterance_id, text, kind, due if kind == "count" else None))

    def cue(self, name: str, *, utterance_id: int) -> None:
        # Speech Dispatcher has no tone output of ours; the cue is reported (and stays silent).
        self._queue.put(_Utterance(utterance_id, name, "cue", None))

    def hush(self) -> None:
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._hushed.set()
        try:
            self._client.cancel()
        except Exception:
            pass   # a lost service is reported by the feeder

    def pause_line(self) -> None:
        pass  # not with Speech Dispatcher: the line goes on, and a command cuts it off once recognised

    def resume_line(self) -> None:
        pass

    def prepare(self, texts) -> None:
        pass

    def adjust(self, change: str) -> str | None:
        answer = adjust_settings(self.settings, change)
        if answer is None:
            return None
        # The user asked for this change, so it may override their screen-reader settings.
        self._client.set_rate(ssip_rate(self.settings.rate))
        self._client.set_volume(round(self.settings.volume * 200 - 100))
        if self._remember is not None:
            self._remember(Settings(**vars(self.settings)))
        return answer

    def close(self) -> None:
        self._closing.set()
        self._hushed.set()
        self._queue.put(None)
        self._feeder.join(timeout=2)
        try:
            self._client.close()
        except Exception:
            pass

    def _fields(self, item: _Utterance, **extra) -> dict:
        fields = {"id": item.id, "text": item.text, "kind": item.kind, "t": self._clock.now(), **extra}
        if item.due is not None:
            fields["due"] = item.due
        return fields

    def _feed(self) -> None:
        while not self._closing.is_set():
            item = self._queue.get()
            if item is None:
                return
            self._hushed.clear()
            if item.due is not None:
                while not self._hushed.is_set() and self._clock.now() < item.due:
                    self._hushed.wait(min(0.01, max(0.0, item.due - self._clock.now())))
                if self._hushed.is_set():
                    continue
                if self._clock.now() > item.due + LATE_LIMIT:
                    self._notify("speech_skipped", self._fields(item))
                    continue
            if item.kind == "cue" or self._lost:
                self._notify("speech_start", self._fields(item))
                self._notify("speech_end", self._fields(item, interrupted=False))
                continue
            self._began = False
            try:
                self._speak(item)
            except Exception as error:   # the service went away: say so once, then carry on silently
                self._lost = True
                self._notify("output_lost", {"message": message("speechd_lost", error=error),
                                             "t": self._clock.now()})
                if not self._began:
                    self._notify("speech_start", self._fields(item))
                self._notify("speech_end", self._fields(item, interrupted=True))

    def _speak(self, item: _Utterance) -> None:
        types = self._speechd.CallbackType
        priority = self._speechd.Priority.PROGRESS if item.kind == "count" else self._speechd.Priority.MESSAGE
        if priority != self._priority:
            self._client.set_priority(priority)
            self._priority = priority
        finished = threading.Event()

        def callback(event_type, **_):
            if event_type == types.BEGIN:
                self._began = True
                self._notify("speech_start", self._fields(item))
            elif event_type == types.END:
                if not self._began:
                    # python3-speechd registers the callback only after speak() returns, so a BEGIN that comes
                    # quickly is lost; the message did play, from about when it was sent.
                    self._notify("speech_start", {**self._fields(item), "t": sent})
                self._notify("speech_end", self._fields(item, interrupted=False))
                finished.set()
            elif event_type == types.CANCEL:
                if self._began:
                    self._notify("speech_end", self._fields(item, interrupted=True))
                elif item.kind == "count":
                    self._notify("speech_skipped", self._fields(item))
                else:   # dropped before it began (or its BEGIN was lost): report it, so nothing waits forever
                    self._notify("speech_start", {**self._fields(item), "t": sent})
                    self._notify("speech_end", self._fields(item, interrupted=True))
                finished.set()

        sent = self._clock.now()
        if self._own_events:
            message_id = int(self._client.speak(item.text)[2][0])
            with self._events_lock:
                early = self._early.pop(message_id, [])
                done = {self._speechd.CallbackType.END, self._speechd.CallbackType.CANCEL}
                if not done.intersection(early):
                    self._handlers[message_id] = callback
            for event_type in early:
                callback(event_type)
        else:
            self._client.speak(item.text, callback=callback, event_types=(types.BEGIN, types.END, types.CANCEL))
        # Generous bound in case an event is lost (python3-speechd can miss a very early callback).
        deadline = self._clock.now() + 10 + len(item.text) / 5
        while not finished.wait(0.25):
            if not self._connected():
                raise ConnectionError("the connection closed")
            if self._clock.now() > deadline:
                if not self._began:
                    self._notify("speech_start", self._fields(item))
                self._notify("speech_end", self._fields(item, interrupted=True))
                return

    def _on_event(self, message_id: int, client_id: int, event_type: str, **_) -> None:
        with self._events_lock:
            handler = self._handlers.get(message_id)
            if handler is None:
                self._early.setdefault(message_id, []).append(event_type)
                return
            if event_type in (self._speechd.CallbackType.END, self._speechd.CallbackType.CANCEL):
                del self._handlers[message_id]
        handler(event_type)

    def _connected(self) -> bool:
        # python3-speechd has no public "connected" flag; its reader thread ends when the socket does.
        thread = getattr(getattr(self._client, "_conn", None), "_communication_thread", None)
        return thread is None or thread.is_alive()
