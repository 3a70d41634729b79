"""The session's state and context, and the small pure helpers every part of the machine uses."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Mapping, cast

from voicecoach.plan import MINUTES, PlanStep, Schedule, count_schedule, plan_ms, spoken_minutes, with_cues
from voicecoach.progress import WeekSummary
from voicecoach.session_events import (Action, Choice, CountStyle, Cue, CueName, Mode, Record, Say, SayKind, Then,
                                       Verbosity)


@dataclass(frozen=True)
class Context:
    """Fixed inputs of a session: wording, answers to questions, and how early counts are handed over."""
    lines: Mapping[str, str]
    routine_name: str = ""
    answers: Mapping[str, str] = field(default_factory=dict)   # topic id -> spoken answer
    more: Mapping[str, str] = field(default_factory=dict)      # topic id -> the longer answer
    out_of_scope: str = ""
    disclaimer: str = ""
    safety: str = ""             # said when the user says it hurts
    count_lead_ms: int = 0
    start_wait_ms: int = 0       # after the opening, wait this long for "start" (0: begin at once)
    offer_resume_at: int = 0     # > 0: first ask whether to continue from this step or start over
    routines: Mapping[str, tuple[str, tuple[PlanStep, ...]]] = field(default_factory=dict)  # id -> name, plan
    choose_routine: bool = False  # first ask which routine to run
    cues: frozenset[str] = frozenset()  # hold cues on: halfway, ten_left, countdown (see with_cues)
    move_ms: int = 0             # quiet after a routine's own instruction, to move before the next line
    wait_for_ready: bool = False  # before each hold, wait for "ready"
    speech_wpm: int = 0          # the speech (or, printing only, reading) rate, for length estimates; 0: instant
    tones: bool = True           # the speaker plays the cues; if not, no line explains a tone
    week: WeekSummary | None = None  # the history before this session (None: no history kept)
    first_run_hint: str = ""     # said once after the opening line, as its own line (the opening stays cached)


@dataclass(frozen=True)
class Timer:
    """The hold or rest timer."""
    running: bool = False        # a hold or rest timer is running (possibly frozen)
    started_at: int = 0          # effective start of the timer, moved on by time spent frozen
    frozen_at: int | None = None
    next_count: int = 0          # index into the hold's count schedule
    added: int = 0               # seconds the user added to the current hold


@dataclass(frozen=True)
class Speech:
    """The lines said: the one the machine waits on and what follows it."""
    last_id: int = 0
    last_line: str = ""          # the text of the last Say, for the listener (see session.listening_context)
    waiting_for: int | None = None
    then: Then | None = None     # what happens when waiting_for finishes
    after: Then | None = None    # what the speech cut off by a pause or a question was to do next
    settle_until: int | None = None  # after a movement line: when the next line may start


@dataclass(frozen=True)
class Talk:
    """How the coach talks: the user's settings and what has been explained once."""
    verbosity: Verbosity = "normal"
    count_style: CountStyle | None = None  # the user's choice of counting, over the routine's
    cues_explained: frozenset[str] = frozenset()
    disclaimer_given: bool = False


@dataclass(frozen=True)
class Attention:
    """The conversation: what was not understood and the last question."""
    misses: int = 0              # inputs not understood in a row
    last_topic: str | None = None  # for "tell me more"
    fresh_answer: bool = False   # the last thing said was an answer, so "more detail" means tell me more
    answer_rest: str = ""        # the rest of an answer cut to one sentence during a hold, for "tell me more"
    safety_id: int | None = None  # the safety advice (after "it hurts") being said, until it has been said
    safety_offered: bool = False  # a reply cut the safety advice off: "repeat" says it again


@dataclass(frozen=True)
class Wait:
    """A wait for the user (mode waiting): what for, and until when."""
    choice: Choice = "start"     # start (the opening) | resume (continue or start over) | routine | ready
    until: int | None = None     # when to go on without an answer (None: wait for the user)
    stop_asked: bool = False     # a spoken "stop" while waiting was answered with "say stop again"
    ready_at: int | None = None  # the hold the user said "ready" for (--wait-for-ready)


@dataclass(frozen=True)
class Pause:
    """The silence while paused, for the reminders."""
    idle_since: int = 0          # when the user last said something (or the pause began)
    reminders: int = 0           # reminders said since then


@dataclass(frozen=True)
class State:
    """Where the session is in its plan, and the records of what it is doing there."""
    plan: tuple[PlanStep, ...]
    index: int = 0
    mode: Mode = "ready"
    routine: str = ""            # id of a routine chosen by voice ("": the one the session started with)
    completed: bool = False
    set_up: frozenset[int] = frozenset()  # exercises held at least once: their once-per-exercise lines are not repeated
    timer: Timer = Timer()
    speech: Speech = Speech()
    talk: Talk = Talk()
    attention: Attention = Attention()
    wait: Wait = Wait()
    pause: Pause = Pause()

    @property
    def step(self) -> PlanStep:
        return self.plan[self.index]

    # Read by the runner, the CLI and tests, by their names from before the records.
    @property
    def timing(self) -> bool:
        return self.timer.running

    @property
    def added(self) -> int:
        return self.timer.added

    @property
    def waiting_for(self) -> int | None:
        return self.speech.waiting_for

    @property
    def verbosity(self) -> Verbosity:
        return self.talk.verbosity

    @property
    def count_style(self) -> CountStyle | None:
        return self.talk.count_style

    @property
    def wait_until(self) -> int | None:
        return self.wait.until


def start_state(plan: tuple[PlanStep, ...], index: int = 0, verbosity: str = "normal",
                count_style: str | None = None, cues_explained: frozenset[str] = frozenset()) -> State:
    """A session at step `index`; verbosity, counting and the tones the user has been told about as the settings
    give them (already checked)."""
    return State(plan=plan, index=index, talk=Talk(cast(Verbosity, verbosity), cast("CountStyle | None", count_style),
                                                   cues_explained))


def estimate_ms(state: "State", ctx: "Context", start: int | None = None) -> int:
    """How long the plan takes from step `start` (default: the current one) to its end, as this session will say
    it (see plan.plan_ms)."""
    return plan_ms(state.plan, state.index if start is None else start, state.talk.verbosity, state.set_up,
                   state.talk.cues_explained, ctx.lines, ctx.speech_wpm, ctx.move_ms)


def exercise_of(state: State) -> dict:
    return {"exercise": state.step.exercise + 1, "exercises": 1 + max(s.exercise for s in state.plan)}


def routine_name(state: State, ctx: Context) -> str:
    return ctx.routines[state.routine][0] if state.routine else ctx.routine_name


def side_start(plan: tuple[PlanStep, ...], index: int) -> int:
    """The first step of the side (or, for an exercise without sides, of the exercise) that step `index` is on."""
    current = plan[index]
    while index > 1 and (plan[index - 1].exercise, plan[index - 1].side) == (current.exercise, current.side):
        index -= 1
    return index


def menu_wait_ms(ctx: Context) -> int:
    """How long the routine menu waits for a name: the opening's wait, but never none."""
    return max(ctx.start_wait_ms, 1000)


def timer_seconds(state: State) -> int:
    return state.step.seconds + state.timer.added


def schedule_of(state: State, ctx: "Context | None" = None) -> Schedule:
    if state.step.kind != "hold":
        return ()
    style, seconds = state.talk.count_style or state.step.count, timer_seconds(state)
    schedule = count_schedule(seconds, style)
    return with_cues(schedule, seconds, style, ctx.cues, ctx.lines) if ctx is not None and ctx.cues else schedule


def elapsed_ms(state: State, now: int) -> int:
    """Time on the running timer, not counting time spent frozen."""
    timer = state.timer
    return (timer.frozen_at if timer.frozen_at is not None else now) - timer.started_at if timer.running else 0


def remaining_ms(state: State, now: int) -> int:
    return max(0, timer_seconds(state) * 1000 - elapsed_ms(state, now))


def set_mode(state: State, mode: Mode, out: list[Action]) -> State:
    if state.mode != mode:
        out.append(Record("state", {"from": state.mode, "to": mode}))
    return replace(state, mode=mode)


def say(state: State, out: list[Action], text: str, kind: SayKind = "instruction", then: Then | None = None,
         due: int | None = None) -> State:
    said = Say(text[:1].upper() + text[1:], state.speech.last_id + 1, kind, due)
    out.append(said)
    speech = replace(state.speech, last_id=said.id, last_line=said.text)
    if then is not None:
        speech = replace(speech, waiting_for=said.id, then=then)
    return replace(state, speech=speech)


def cue(state: State, out: list[Action], name: CueName) -> State:
    out.append(Cue(name, state.speech.last_id + 1))
    return replace(state, speech=replace(state.speech, last_id=state.speech.last_id + 1))


def text_of(state: State, current: PlanStep, ctx: Context) -> str:
    """A say step's words at this verbosity, with the intro's length estimate filled in."""
    text = current.brief_text if state.talk.verbosity == "brief" and current.brief_text else current.text
    if MINUTES in text:
        text = text.replace(MINUTES, spoken_minutes(estimate_ms(state, ctx, 0) / 1000, ctx.lines))
    return text


def interrupted(state: State) -> State:
    """Stop waiting on the speech a pause, pain or a question cuts off, remembering what it was to do next."""
    speech = state.speech
    after = speech.then if speech.then not in (None, "unfreeze") else speech.after
    return replace(state, speech=replace(speech, waiting_for=None, then=None, after=after, settle_until=None))


def done_waiting(state: State) -> State:
    """No longer wait on a line."""
    return replace(state, speech=replace(state.speech, waiting_for=None, then=None))


def explained(state: State, name: str) -> State:
    """A tone, cue or line explained once, not again."""
    return replace(state, talk=replace(state.talk, cues_explained=state.talk.cues_explained | {name}))


def freeze(state: State, now: int) -> State:
    if state.timer.running and state.timer.frozen_at is None:  # no later than the end: it may have passed meanwhile
        frozen_at = min(now, state.timer.started_at + timer_seconds(state) * 1000)
        return replace(state, timer=replace(state.timer, frozen_at=frozen_at))
    return state
