"""The session machine's vocabulary: typed names, the events it takes and the actions it returns."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Mapping, Union

# Every intent the machine knows: those voicecoach/data/intents.yaml defines phrases for, and two the parsers
# make without phrases (choose_routine: a routine named at the menu; ask: a question for the knowledge base).
IntentName = Literal[
    "next", "back", "repeat", "pause", "resume", "stop", "slower", "faster", "louder", "quieter", "time_left",
    "where", "which_side", "help", "pain", "more", "more_help", "add_ten_seconds", "add_thirty_seconds",
    "other_side", "count_each", "count_fives", "count_none", "brief", "detailed", "progress", "change_routine",
    "choose_routine", "ask",
]
UNPHRASED_INTENTS: frozenset[IntentName] = frozenset({"choose_routine", "ask"})
Mode = Literal["ready", "waiting", "running", "paused", "answering", "ending", "ended"]
# What happens when the line the machine waits on has been said.
Then = Literal["advance", "end", "enter", "wait", "start_timer", "answered", "unfreeze"]
Choice = Literal["start", "resume", "routine", "ready"]  # what a waiting session waits for
Verbosity = Literal["brief", "normal", "detailed"]
CountStyle = Literal["each", "fives", "none"]
SayKind = Literal["instruction", "count", "info", "answer", "safety"]
CueName = Literal["hold_start", "hold_end", "understood", "not_understood"]
Change = Literal["slower", "faster", "louder", "quieter"]


# ---- inputs ----

@dataclass(frozen=True)
class Start:
    """The session begins."""


@dataclass(frozen=True)
class Tick:
    """The clock reached (or passed) the deadline the session asked for."""


@dataclass(frozen=True)
class SpeechDone:
    """The line (or cue) with this id has been played."""
    id: int


@dataclass(frozen=True)
class Intent:
    """A command heard or typed."""
    name: IntentName | None   # None: heard something that is not a command
    topic: str | None = None
    spoken: bool = False      # from the microphone: acknowledged with the "understood" tone


Event = Union[Start, Tick, SpeechDone, Intent]


# ---- outputs ----

@dataclass(frozen=True)
class Say:
    """Say a line."""
    text: str
    id: int
    kind: SayKind = "instruction"
    due: int | None = None      # counts: when the sound should start (ms)


@dataclass(frozen=True)
class Cue:
    """Play an earcon."""
    name: CueName
    id: int


@dataclass(frozen=True)
class Hush:
    """Silence what is playing and drop what is queued."""


@dataclass(frozen=True)
class Record:
    """Log an event."""
    event: str
    fields: Mapping = field(default_factory=dict)


# Actions the runner performs on the world besides logging them; each is logged under `event` with `fields`.
@dataclass(frozen=True)
class SaveProgress:
    """The plan's step `index` is reached: history keeps it, so an interruption resumes here."""
    index: int
    exercise: int               # 1-based, as said
    side: str | None
    kind: str                   # say | hold | rest

    @property
    def event(self) -> str:
        return "step"

    @property
    def fields(self) -> dict:
        return dict(vars(self))


@dataclass(frozen=True)
class SwitchRoutine:
    """The user picked another routine by voice: history now records that one."""
    routine: str                # its id
    name: str
    steps: int

    @property
    def event(self) -> str:
        return "routine"

    @property
    def fields(self) -> dict:
        return dict(vars(self))


@dataclass(frozen=True)
class RememberSetting:
    """A setting changed by voice, to be remembered for the next session."""
    name: Literal["verbosity", "counting", "tones_explained"]
    value: str

    @property
    def event(self) -> str:
        return "setting"

    @property
    def fields(self) -> dict:
        return dict(vars(self))


@dataclass(frozen=True)
class Adjust:
    """Change the voice: slower, faster, louder or quieter."""
    change: Change


@dataclass(frozen=True)
class End:
    """The session is over."""
    completed: bool


Action = Union[Say, Cue, Hush, Record, SaveProgress, SwitchRoutine, RememberSetting, Adjust, End]
