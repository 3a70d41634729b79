"""Ports: the interfaces between the pure core and the world outside it."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Literal, Protocol

# Adapters report what really happened through this callback: (event name, fields).
# Speakers report "speech_start" / "speech_end" with fields
#   id (the Say action's id), text, kind, t (clock seconds), interrupted (speech_end only),
# and "speech_skipped" (a late count that was dropped) and "output_lost" (device gone; optional message),
# and "output_back" (a reopened device plays again).
# Listeners report "input_lost" (error) the same way, "coach_audible" once the microphone is found to hear
# the coach's lines (speakers rather than headphones), and "input_changed" (source, monitor, changed) when capture
# moved to another source, or (changed false) records an output's monitor from the start.
# The history store reports "history_lost" (reason: a HistoryReason, error) when it stops keeping history and
# "history_set_aside" (name) when a damaged file was renamed and a new one begun; the CLI reports
# "setting_not_saved" (error) when a setting changed by voice cannot be written, and "another_session" when
# another session is running (so this one leaves its record alone).
Notify = Callable[[str, dict], None]

# Why history is not being kept, as the user is told it.
HistoryReason = Literal["corrupt", "read_only", "locked", "disk_full", "unusable"]


class Clock(Protocol):
    def now(self) -> float:
        """Monotonic seconds; only differences mean anything."""


class Speaker(Protocol):
    lead_time: float  # seconds: the runner hands over each count this much before it is due (0: at its time)

    def say(self, text: str, *, utterance_id: int, kind: str = "instruction", due: float | None = None) -> None:
        """Queue text and return at once. A "count" whose start would be late past `due` may be skipped."""

    def cue(self, name: str, *, utterance_id: int) -> None:
        """Queue a short earcon (hold_start, hold_end, understood, not_understood)."""

    def hush(self) -> None:
        """Silence the current sound and drop everything queued, at once."""

    def pause_line(self) -> None:
        """The user has begun to speak: let the line being said fall silent, keeping its place (or do nothing)."""

    def resume_line(self) -> None:
        """The user has finished without a command that hushed it: the line that fell silent goes on."""

    def prepare(self, texts: Iterable[str]) -> None:
        """Render texts ahead of time so they start without delay; may do nothing."""

    def adjust(self, change: str) -> str | None:
        """Apply slower/faster/louder/quieter; return the new setting in words, or None if unsupported."""

    def close(self) -> None:
        """Finish and release the device."""


@dataclass(frozen=True)
class Heard:
    """One understood (or not understood) input, typed or spoken."""
    text: str
    intent: str | None
    topic: str | None = None
    confidence: float = 1.0
    audio_end: float | None = None  # clock seconds when the speaker stopped talking; None for typed input
    extra: dict = field(default_factory=dict)


SessionMode = Literal["opening", "saying", "holding", "resting", "paused", "answering", "menu", "ending"]


@dataclass(frozen=True)
class ListeningContext:
    """What the session would act on now, told to the listener after every change: a prior for the decision."""
    mode: SessionMode
    acts_on: frozenset[str]  # intent names (intents.yaml) the session would act on in this mode
    last_line: str = ""      # the text the coach said last, e.g. "Paused. Say resume when you are ready."


class Listener(Protocol):
    def start(self, post: Callable[[Heard], None]) -> None:
        """Begin delivering Heard results to `post` from a background thread."""

    def coach_speaking(self, text: str | None, kind: str = "instruction") -> None:
        """Told what the coach is saying now (None when silent) and its kind ("count" for a counted number), so
        its own voice is not taken as a command."""

    def expect(self, context: ListeningContext) -> None:
        """Told, after every change, what the session would act on now: what it hears is weighed against it."""

    def stop(self) -> None:
        """Stop listening and release the device."""


@dataclass(frozen=True)
class SessionRecord:
    id: int
    routine: str          # bundled id or file path, as given to `run`
    routine_name: str
    started: str          # ISO 8601 local time
    steps_done: int       # count of completed plan steps
    steps_total: int
    seconds: float
    finished: bool        # the session ended (completed or stopped), rather than being interrupted
    completed: bool


class Store(Protocol):
    @property
    def kept(self) -> bool: ...  # history is being kept (False once it could not be)
    def begin(self, routine: str, routine_name: str, steps_total: int,
              resumed_from: int | None = None) -> int | None: ...  # None: history is not being kept
    def step_done(self, session_id: int, steps_done: int, seconds: float) -> None: ...
    def switch(self, session_id: int, routine: str, routine_name: str, steps_total: int) -> None: ...
    def end(self, session_id: int, completed: bool, seconds: float) -> None: ...  # stopped under way: resumable
    def abandon(self, session_id: int) -> None: ...  # an unfinished session that can no longer be continued
    def unfinished(self) -> SessionRecord | None: ...
    def history(self, limit: int = 50) -> list[SessionRecord]: ...
