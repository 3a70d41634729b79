"""The session state machine: step(state, event, now_ms) -> (state, actions); no I/O and no clock."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from typing import Mapping, Union

from voicecoach.progress import WeekSummary
from voicecoach.routine import Routine

SKIP_LATE_MS = 500      # a count this late is dropped rather than said out of time
BACK_RESTARTS_AFTER_MS = 3000  # "back" this far into a hold restarts it instead of going to the step before
ADDED_SECONDS = {"add_ten_seconds": 10, "add_thirty_seconds": 30}
COUNT_STYLE_INTENTS = {"count_each": "each", "count_fives": "fives", "count_none": "none"}
PAUSED_REMINDERS_S = (30, 90, 210)  # after this much silence while paused, a gentle reminder: growing intervals
PAUSED_OFFER_STOP_S = 450            # then an offer to stop, keeping the place; after it, quiet
MISSES_BEFORE_HINT = 2  # a gentle earcon for a miss; a spoken hint only after this many in a row
VERBOSITY_INTENTS = ("brief", "detailed")  # each names the verbosity it sets; "normal" is the default


# ---- the plan: a routine flattened into the steps a session walks through ----

@dataclass(frozen=True)
class PlanStep:
    kind: str            # say | hold | rest
    text: str = ""       # what is said (say steps)
    seconds: int = 0     # hold and rest
    count: str = "each"  # hold counting style
    exercise: int = 0    # 0-based exercise index
    side: str = ""
    title: str = ""      # the exercise's name
    level: str = ""      # "": always said; normal: not when brief (tips); detailed: only when detailed
    brief_text: str = ""  # said instead of text when brief
    round: int = 0       # 1-based round of an exercise with rounds; 0: the exercise has none
    once: bool = False   # a set-up line already said on the exercise's first side: skipped once it was said
    move: bool = False   # a routine's own instruction (not a detail line): time to move follows it


def build_plan(routine: Routine, lines: Mapping[str, str]) -> tuple[PlanStep, ...]:
    """Flatten a routine: an introduction, each exercise (each round announced, once per side in each
    round), its tip, and the close."""
    total = len(routine.exercises)
    minutes = MINUTES  # filled in when said: the estimate depends on the session's verbosity and speech rate
    first = routine.exercises[0].name
    safety = lines["safety_first"]  # stop and "it hurts" at the start of every session, at every verbosity
    steps = [PlanStep("say", _fill(lines["intro"], name=routine.name, about=routine.about, minutes=minutes,
                                   safety_first=safety),
                      title=first, brief_text=_fill(lines["intro"], name=routine.name, about="", minutes=minutes,
                                                    safety_first=safety))]
    for number, exercise in enumerate(routine.exercises):
        title = exercise.name
        steps.append(PlanStep("say", _fill(lines["exercise"], number=number + 1, total=total, name=title),
                              exercise=number, title=title))
        for round_ in range(1, exercise.rounds + 1):
            counted = round_ if exercise.rounds > 1 else 0
            if counted:  # the first round too: the user hears at once that the exercise repeats, and how often
                steps.append(PlanStep("say", _fill(lines["round"], round=round_, rounds=exercise.rounds),
                                      exercise=number, title=title, round=round_))
            for turn, side in enumerate(exercise.sides or ("",)):
                if turn:  # the switch is said before anything else on the new side
                    steps.append(PlanStep("say", _fill(lines["side_switch"], side=side), exercise=number, side=side,
                                          title=title, round=counted))
                again = bool(turn) or round_ > 1  # once-per-exercise lines were said on its first side
                for step in exercise.steps:
                    steps.append(PlanStep(step.kind, step.text.replace("{side}", side), step.seconds, step.count,
                                          number, side, title, "detailed" if step.detail else "", round=counted,
                                          once=again and step.once, move=step.kind == "say" and not step.detail))
        if exercise.tip:
            steps.append(PlanStep("say", _fill(lines["tip"], tip=exercise.tip), exercise=number, title=title,
                                  level="normal"))
    steps.append(PlanStep("say", _fill(lines["outro"], name=routine.name), exercise=total - 1,
                          title=routine.exercises[-1].name))
    return tuple(steps)


def said_at(plan_step: PlanStep, verbosity: str, set_up: frozenset = frozenset()) -> bool:
    """Whether the step is said at this verbosity, given the exercises whose set-up lines were said."""
    if plan_step.once and plan_step.exercise in set_up:
        return False
    return plan_step.level == "" or verbosity == "detailed" or (plan_step.level == "normal" and verbosity == "normal")


MINUTES = "{minutes}"  # left in the intro's text by build_plan, for the estimate


def speech_ms(text: str, ctx: "Context") -> int:
    """How long a line takes to say at the session's speech rate (words a minute; 0: no time)."""
    return round(len(text.split()) * 60_000 / ctx.speech_wpm) if ctx.speech_wpm else 0


def estimate_ms(state: "State", ctx: "Context", start: int | None = None) -> int:
    """How long the plan takes from step `start` (default: the current one) to its end, as this session will say
    it: the steps said at its verbosity, once-per-exercise lines skipped as they will be, each line at the speech
    rate, the time to move after instructions, and every hold and rest in full."""
    lines, set_up, explained = ctx.lines, state.set_up, state.cues_explained
    total = 0
    for index in range(state.index if start is None else start, len(state.plan)):
        current = state.plan[index]
        if not said_at(current, state.verbosity, set_up):
            continue
        if current.kind == "say":
            text = current.brief_text if state.verbosity == "brief" and current.brief_text else current.text
            total += speech_ms(text, ctx) + (ctx.move_ms if current.move else 0)
        elif current.kind == "rest":
            total += speech_ms(_fill(lines["rest"], seconds=spoken_seconds(current.seconds, lines)), ctx)
            total += current.seconds * 1000
        else:
            seconds = spoken_seconds(current.seconds, lines)
            said = [_fill(lines["hold" if "hold_start" in explained else "hold_first"], seconds=seconds),
                    lines["relax"] if "hold_end" in explained else lines["hold_end_first"] + " " + lines["relax"]]
            total += sum(speech_ms(text, ctx) for text in said) + current.seconds * 1000
            set_up, explained = set_up | {current.exercise}, explained | {"hold_start", "hold_end"}
    return total


def spoken_minutes(seconds: float, lines: Mapping[str, str]) -> str:
    """A length said to the nearest 10 seconds (to the minute from ten minutes): whole minutes were 20% off."""
    if seconds >= 600:
        minutes = round(seconds / 60)
        return _fill(lines["minutes_many"], count=minutes)
    rounded = max(10, round(seconds / 10) * 10)
    minutes, rest = divmod(rounded, 60)
    if not minutes:
        return _fill(lines["about"], length=spoken_seconds(rest, lines))
    whole = lines["minute_one"] if minutes == 1 else _fill(lines["minutes_plain"], count=minutes)
    if not rest:
        return _fill(lines["about"], length=whole)
    return _fill(lines["about"], length=_fill(lines["minutes_and_seconds"], minutes=whole,
                                               seconds=spoken_seconds(rest, lines)))


def count_schedule(seconds: int, style: str) -> tuple[tuple[int, str], ...]:
    """(second after the hold starts, what is said) for each count of a hold."""
    if style == "each":
        return tuple((n, str(n)) for n in range(1, seconds + 1))
    if style == "fives":
        countdown = [(seconds - k, str(k)) for k in (3, 2, 1) if seconds - k > 0]
        first_countdown = countdown[0][0] if countdown else seconds
        return tuple([(n, str(n)) for n in range(5, first_countdown, 5)] + countdown)
    return ()


CUES = ("halfway", "ten_left", "countdown")
CUES_FROM_S = 20  # holds at least this long get the halfway and "10 seconds left" cues


def with_cues(schedule: tuple[tuple[int, str], ...], seconds: int, style: str, cues: frozenset,
              lines: Mapping[str, str]) -> tuple[tuple[int, str], ...]:
    """The count schedule with the cues timer apps give: the halfway point and "10 seconds left" of a long hold,
    and a final 3, 2, 1 in every counting style (fives has its own). A cue takes the place of a count."""
    said = dict(schedule)
    if "countdown" in cues and style != "fives":
        said.pop(seconds, None)  # the end tone marks the last second
        said.update({seconds - k: str(k) for k in (3, 2, 1) if seconds - k > 0})
    if seconds >= CUES_FROM_S:
        marks = {}
        if "halfway" in cues:
            marks[seconds // 2] = lines["halfway"]
        if "ten_left" in cues:
            marks[seconds - 10] = (marks[seconds - 10] + " " if seconds - 10 in marks else "") + lines["ten_left"]
        said.update(marks)
    return tuple(sorted(said.items()))


def spoken_seconds(seconds: int, lines: Mapping[str, str]) -> str:
    return lines["second_one"] if seconds == 1 else _fill(lines["seconds_many"], count=seconds)


def _fill(template: str, **values) -> str:
    return " ".join(template.format(**values).split())


# ---- inputs ----

@dataclass(frozen=True)
class Start:
    pass


@dataclass(frozen=True)
class Tick:
    """The clock reached (or passed) the deadline the session asked for."""


@dataclass(frozen=True)
class SpeechDone:
    id: int


@dataclass(frozen=True)
class Intent:
    name: str | None          # None: heard something that is not a command
    topic: str | None = None
    spoken: bool = False      # from the microphone: acknowledged with the "understood" tone


Event = Union[Start, Tick, SpeechDone, Intent]


# ---- outputs ----

@dataclass(frozen=True)
class Say:
    text: str
    id: int
    kind: str = "instruction"   # instruction | count | info | answer
    due: int | None = None      # counts: when the sound should start (ms)


@dataclass(frozen=True)
class Cue:
    name: str                   # hold_start | hold_end | not_understood
    id: int


@dataclass(frozen=True)
class Hush:
    pass


@dataclass(frozen=True)
class Record:
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
    name: str                   # verbosity | counting | tones_explained
    value: str

    @property
    def event(self) -> str:
        return "setting"

    @property
    def fields(self) -> dict:
        return dict(vars(self))


@dataclass(frozen=True)
class Adjust:
    change: str                 # slower | faster | louder | quieter


@dataclass(frozen=True)
class End:
    completed: bool


Action = Union[Say, Cue, Hush, Record, SaveProgress, SwitchRoutine, RememberSetting, Adjust, End]


# ---- state ----

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
    cues: frozenset = frozenset()  # hold cues on: halfway, ten_left, countdown (see with_cues)
    move_ms: int = 0             # quiet after a routine's own instruction, to move before the next line
    wait_for_ready: bool = False  # before each hold, wait for "ready"
    speech_wpm: int = 0          # the speech (or, printing only, reading) rate, for length estimates; 0: instant
    tones: bool = True           # the speaker plays the cues; if not, no line explains a tone
    week: WeekSummary | None = None  # the history before this session (None: no history kept)
    first_run_hint: str = ""     # said once after the opening line, as its own line (the opening stays cached)


@dataclass(frozen=True)
class State:
    plan: tuple[PlanStep, ...]
    index: int = 0
    mode: str = "ready"          # ready | waiting | running | paused | answering | ending | ended
    timing: bool = False         # a hold or rest timer is running (possibly frozen)
    started_at: int = 0          # effective start of the timer, moved on by time spent frozen
    frozen_at: int | None = None
    next_count: int = 0          # index into the hold's count schedule
    waiting_for: int | None = None
    then: str | None = None      # what happens when waiting_for finishes
    last_id: int = 0
    cues_explained: frozenset = frozenset()
    disclaimer_given: bool = False
    completed: bool = False
    misses: int = 0              # inputs not understood in a row
    last_topic: str | None = None  # for "tell me more"
    added: int = 0               # seconds the user added to the current hold
    count_style: str | None = None  # the user's choice of counting, over the routine's
    verbosity: str = "normal"    # brief | normal | detailed
    wait_until: int | None = None  # waiting: when to go on without an answer (None: wait for the user)
    choice: str = "start"        # waiting for: start (the opening) | resume (continue or start over) | routine
    routine: str = ""            # id of a routine chosen by voice ("": the one the session started with)
    fresh_answer: bool = False   # the last thing said was an answer, so "more detail" means tell me more
    stop_asked: bool = False     # a spoken "stop" while waiting was answered with "say stop again"
    set_up: frozenset = frozenset()  # exercises held at least once: their once-per-exercise lines are not repeated
    after: str | None = None     # what the speech cut off by a pause or a question was to do next
    answer_rest: str = ""        # the rest of an answer cut to one sentence during a hold, for "tell me more"
    idle_since: int = 0          # paused: when the user last said something (or the pause began)
    settle_until: int | None = None  # after a movement line: when the next line may start
    ready_at: int | None = None  # the hold the user said "ready" for (--wait-for-ready)
    reminders: int = 0           # paused: reminders said since then
    safety_id: int | None = None  # the safety advice (after "it hurts") being said, until it has been said
    safety_offered: bool = False  # a reply cut the safety advice off: "repeat" says it again

    @property
    def step(self) -> PlanStep:
        return self.plan[self.index]


def start_state(plan: tuple[PlanStep, ...], index: int = 0, verbosity: str = "normal",
                count_style: str | None = None) -> State:
    return State(plan=plan, index=index, verbosity=verbosity, count_style=count_style)


# ---- the machine ----

def step(state: State, event: Event, now: int, ctx: Context) -> tuple[State, list[Action]]:
    """Advance the session by one event at time `now` (ms); return the new state and what to do."""
    return _remember_explained(state, _step(state, event, now, ctx))


def _step(state: State, event: Event, now: int, ctx: Context) -> tuple[State, list[Action]]:
    if state.mode == "ended":
        return state, []
    if isinstance(event, Start):
        out: list[Action] = []
        if ctx.choose_routine and ctx.routines:
            return _offer_routines(state, ctx, out)
        if ctx.offer_resume_at > 0:
            state = _set_mode(replace(state, index=ctx.offer_resume_at, choice="resume"), "waiting", out)
            text = _fill(ctx.lines["resume_offer"], name=_routine_name(state, ctx), **_exercise_of(state),
                         seconds=spoken_seconds(ctx.start_wait_ms // 1000, ctx.lines))
            return _say(state, out, text, then="wait"), out
        state = _set_mode(state, "running", out)
        if state.index > 0:
            return _continue(state, ctx, out), out
        return _enter(state, 0, now, ctx, out, opening=True)
    if isinstance(event, Tick):
        return _tick(state, now, ctx)
    if isinstance(event, SpeechDone):
        return _speech_done(state, event.id, now, ctx)
    before = state.mode
    state, actions = _intent(state, event, now, ctx)
    if state.mode == "paused":  # silence while paused is counted from the user's last words
        state = replace(state, idle_since=now, reminders=0)
    if event.spoken and event.name not in (None, "pain") and before not in ("ready", "ending"):
        state, actions = _acknowledge(state, actions, ctx)
    return state, actions


def _remember_explained(before: State, result: tuple[State, list[Action]]) -> tuple[State, list[Action]]:
    """A tone explained for the first time is remembered for the user's next sessions (issue 25: once per user)."""
    state, actions = result
    if state.cues_explained != before.cues_explained:
        actions = [*actions, RememberSetting("tones_explained", ",".join(sorted(state.cues_explained)))]
    return state, actions


def _exercise_of(state: State) -> dict:
    return {"exercise": state.step.exercise + 1, "exercises": 1 + max(s.exercise for s in state.plan)}


def _routine_name(state: State, ctx: Context) -> str:
    return ctx.routines[state.routine][0] if state.routine else ctx.routine_name


def side_start(plan: tuple[PlanStep, ...], index: int) -> int:
    """The first step of the side (or, for an exercise without sides, of the exercise) that step `index` is on."""
    current = plan[index]
    while index > 1 and (plan[index - 1].exercise, plan[index - 1].side) == (current.exercise, current.side):
        index -= 1
    return index


def _continue(state: State, ctx: Context, out: list[Action]) -> State:
    """Continue an interrupted session at the start of the interrupted side, with its set-up lines."""
    state = replace(state, index=side_start(state.plan, state.index))
    return _say(state, out, _fill(ctx.lines["intro_resumed"], name=_routine_name(state, ctx), **_exercise_of(state),
                                  safety_first=ctx.lines["safety_first"]),
                then="enter")


def _menu_wait_ms(ctx: Context) -> int:
    """How long the routine menu waits for a name: the opening's wait, but never none."""
    return max(ctx.start_wait_ms, 1000)


def _offer_routines(state: State, ctx: Context, out: list[Action]) -> tuple[State, list[Action]]:
    """Say the routines by name and wait for one; silence or "resume" keeps the current one."""
    out.append(Hush())
    state = _set_mode(replace(state, choice="routine", waiting_for=None, then=None), "waiting", out)
    names = [name for name, _ in ctx.routines.values()]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " " + ctx.lines["or"] + " " + names[-1]
    text = _fill(ctx.lines["routine_menu"], routines=listed,
                 seconds=spoken_seconds(_menu_wait_ms(ctx) // 1000, ctx.lines))
    return _say(state, out, text, then="wait"), out


def _switch_routine(state: State, routine: str, now: int, ctx: Context,
                    out: list[Action]) -> tuple[State, list[Action]]:
    name, plan = ctx.routines[routine]
    out.append(SwitchRoutine(routine, name, len(plan)))
    state = _set_mode(replace(state, plan=plan, routine=routine, choice="start", wait_until=None), "running", out)
    return _enter(state, 0, now, ctx, out)


def _begin(state: State, by: str, now: int, ctx: Context, out: list[Action]) -> tuple[State, list[Action]]:
    """Leave the waiting at the opening: start the routine, or answer the offer to continue."""
    out.append(Record("begin", {"choice": state.choice, "by": by}))
    state = _set_mode(replace(state, wait_until=None, waiting_for=None, then=None), "running", out)
    if state.choice == "resume":
        return _continue(state, ctx, out), out
    if state.choice == "routine":  # the routine stays; its current step starts again (the opening: at once)
        return _enter(replace(state, choice="start"), state.index, now, ctx, out)
    if state.choice == "ready":
        return _enter(replace(state, choice="start", ready_at=state.index), state.index, now, ctx, out)
    return _advance(state, now, ctx, out)


def _start_over(state: State, now: int, ctx: Context, out: list[Action]) -> tuple[State, list[Action]]:
    out.append(Record("begin", {"choice": "start_over", "by": "user"}))
    state = _set_mode(replace(state, wait_until=None, choice="start"), "running", out)
    return _enter(state, 0, now, ctx, out)


def _acknowledge(state: State, actions: list[Action], ctx: Context) -> tuple[State, list[Action]]:
    """Put the "understood" tone before the reply, after any silencing; the tone's explanation (the first time)
    comes after the reply, never in front of what the user asked for, except at the opening, where the reply
    is a question that waits for the user's answer."""
    at = 1 if actions and isinstance(actions[0], Hush) else 0
    added: list[Action] = []
    state = _cue(state, added, "understood")
    explained: list[Action] = []
    if ctx.tones and "understood" not in state.cues_explained:
        state = _say(replace(state, cues_explained=state.cues_explained | {"understood"}),
                     added if state.mode == "waiting" else explained, ctx.lines["understood_first"], kind="info")
    return state, actions[:at] + added + actions[at:] + explained


def timer_seconds(state: State) -> int:
    return state.step.seconds + state.added


def schedule_of(state: State, ctx: "Context | None" = None) -> tuple[tuple[int, str], ...]:
    if state.step.kind != "hold":
        return ()
    style, seconds = state.count_style or state.step.count, timer_seconds(state)
    schedule = count_schedule(seconds, style)
    return with_cues(schedule, seconds, style, ctx.cues, ctx.lines) if ctx is not None and ctx.cues else schedule


def next_deadline(state: State, ctx: Context) -> int | None:
    """When the session next needs a Tick (ms), or None if it is waiting on speech or the user."""
    if state.mode == "waiting":
        return state.wait_until
    if state.mode == "paused":
        return _paused_deadline(state)
    if state.mode == "running" and state.settle_until is not None:
        return state.settle_until
    if state.mode in ("ended", "answering") or not state.timing or state.frozen_at is not None:
        return None  # answering: the timer runs on, and is looked at when the answer has been said
    end = state.started_at + timer_seconds(state) * 1000
    schedule = schedule_of(state, ctx)
    if state.next_count < len(schedule):
        return min(end, state.started_at + schedule[state.next_count][0] * 1000 - ctx.count_lead_ms)
    return end


def _paused_deadline(state: State) -> int | None:
    times = PAUSED_REMINDERS_S + (PAUSED_OFFER_STOP_S,)
    return state.idle_since + times[state.reminders] * 1000 if state.reminders < len(times) else None


def _remind_paused(state: State, ctx: Context, out: list[Action]) -> tuple[State, list[Action]]:
    line = "still_paused" if state.reminders < len(PAUSED_REMINDERS_S) else "paused_offer_stop"
    times = PAUSED_REMINDERS_S + (PAUSED_OFFER_STOP_S,)
    out.append(Record("reminder", {"line": line, "after": times[state.reminders]}))
    return _say(replace(state, reminders=state.reminders + 1), out, ctx.lines[line], kind="info"), out


def elapsed_ms(state: State, now: int) -> int:
    """Time on the running timer, not counting time spent frozen."""
    return (state.frozen_at if state.frozen_at is not None else now) - state.started_at if state.timing else 0


def remaining_ms(state: State, now: int) -> int:
    return max(0, timer_seconds(state) * 1000 - elapsed_ms(state, now))


def _set_mode(state: State, mode: str, out: list[Action]) -> State:
    if state.mode != mode:
        out.append(Record("state", {"from": state.mode, "to": mode}))
    return replace(state, mode=mode)


def _say(state: State, out: list[Action], text: str, kind: str = "instruction", then: str | None = None,
         due: int | None = None) -> State:
    said = Say(text[:1].upper() + text[1:], state.last_id + 1, kind, due)
    out.append(said)
    state = replace(state, last_id=said.id)
    if then is not None:
        state = replace(state, waiting_for=said.id, then=then)
    return state


def _cue(state: State, out: list[Action], name: str) -> State:
    out.append(Cue(name, state.last_id + 1))
    return replace(state, last_id=state.last_id + 1)


def _enter(state: State, index: int, now: int, ctx: Context, out: list[Action],
           opening: bool = False) -> tuple[State, list[Action]]:
    """Start the plan's step `index`; the session's opening (the first step) then waits for "start"."""
    state = replace(state, index=index, timing=False, frozen_at=None, next_count=0, waiting_for=None, then=None,
                    added=0, fresh_answer=False, after=None, settle_until=None)
    current = state.step
    if current.kind == "hold":
        state = replace(state, set_up=state.set_up | {current.exercise})
    out.append(SaveProgress(index, current.exercise + 1, current.side, current.kind))
    if current.kind == "say":
        text = text_of(state, current, ctx)
        if opening and ctx.start_wait_ms > 0:
            text += " " + _fill(ctx.lines["start_wait"], seconds=spoken_seconds(ctx.start_wait_ms // 1000, ctx.lines))
            state = _set_mode(replace(state, choice="start"), "waiting", out)
        then = "wait" if opening and ctx.start_wait_ms > 0 else "advance"
        if opening and ctx.first_run_hint:
            state = _say(state, out, text)
            return _say(state, out, ctx.first_run_hint, kind="info", then=then), out
        return _say(state, out, text, then=then), out
    if current.kind == "rest":
        text = _fill(ctx.lines["rest"], seconds=spoken_seconds(current.seconds, ctx.lines))
        return _say(state, out, text, then="start_timer"), out
    if ctx.wait_for_ready and state.ready_at != index:
        state = _set_mode(replace(state, choice="ready"), "waiting", out)
        return _say(state, out, ctx.lines["ready_prompt"], then="wait"), out
    first = ctx.tones and "hold_start" not in state.cues_explained
    seconds = spoken_seconds(current.seconds, ctx.lines)
    text = _fill(ctx.lines["hold_first" if first else "hold"], seconds=seconds)
    return _say(state, out, text, then="start_timer"), out


def text_of(state: State, current: PlanStep, ctx: Context) -> str:
    """A say step's words at this verbosity, with the intro's length estimate filled in."""
    text = current.brief_text if state.verbosity == "brief" and current.brief_text else current.text
    if MINUTES in text:
        text = text.replace(MINUTES, spoken_minutes(estimate_ms(state, ctx, 0) / 1000, ctx.lines))
    return text


def _advance(state: State, now: int, ctx: Context, out: list[Action]) -> tuple[State, list[Action]]:
    later = next((i for i in range(state.index + 1, len(state.plan))
                  if said_at(state.plan[i], state.verbosity, state.set_up)), None)
    if later is not None:
        return _enter(state, later, now, ctx, out)
    return _finish(state, True, ctx, out, say_goodbye=False, now=now)


def _previous(state: State) -> int:
    return next((i for i in range(state.index - 1, -1, -1) if said_at(state.plan[i], state.verbosity, state.set_up)),
                0)


def _finish(state: State, completed: bool, ctx: Context, out: list[Action],
            say_goodbye: bool = True, now: int | None = None) -> tuple[State, list[Action]]:
    ran = state.mode != "waiting" and (completed or state.index > 0) and now is not None
    state = _set_mode(replace(state, completed=completed, timing=False, frozen_at=None), "ending", out)
    kept = say_goodbye and not completed and state.index > 0  # the store keeps a session stopped under way
    closing = ([ctx.lines["goodbye"]] if say_goodbye else []) + ([_summary(state, now, ctx)] if ran and now is not None else []) \
        + ([ctx.lines["place_kept"]] if kept else [])  # how to continue comes last, where it is remembered
    if not closing:
        return _end(state, out)
    for number, text in enumerate(closing, 1):
        state = _say(state, out, text, kind="instruction" if number == 1 and say_goodbye else "info",
                     then="end" if number == len(closing) else None)
    return state, out


def _plural(count: int, name: str, ctx: Context) -> str:
    return ctx.lines[f"{name}_one"] if count == 1 else _fill(ctx.lines[f"{name}_many"], count=count)


def _summary(state: State, now: int, ctx: Context) -> str:
    total = 1 + max(s.exercise for s in state.plan)
    minutes = spoken_minutes(now / 1000, ctx.lines)
    if state.completed:
        text = _fill(ctx.lines["summary_completed"], exercises=_plural(total, "exercises", ctx), minutes=minutes)
    else:
        text = _fill(ctx.lines["summary_stopped"], number=state.step.exercise + 1, total=total, minutes=minutes)
    if ctx.week is None:
        return text
    return text + " " + _fill(ctx.lines["summary_week"], sessions=_plural(ctx.week.sessions + 1, "sessions", ctx))


def _progress(now: int, ctx: Context) -> str:
    """This week so far, counting the session under way: sessions, minutes, days in a row."""
    if ctx.week is None:
        return ctx.lines["progress_unknown"]
    days = ctx.week.days_in_a_row + 1
    return _fill(ctx.lines["progress"], sessions=_plural(ctx.week.sessions + 1, "sessions", ctx),
                 minutes=spoken_minutes(ctx.week.seconds + now / 1000, ctx.lines),
                 days=ctx.lines["streak_one"] if days == 1 else _fill(ctx.lines["streak_many"], count=days))


def _end(state: State, out: list[Action]) -> tuple[State, list[Action]]:
    state = _set_mode(replace(state, waiting_for=None, then=None), "ended", out)
    out.append(End(state.completed))
    return state, out


def _tick(state: State, now: int, ctx: Context) -> tuple[State, list[Action]]:
    out: list[Action] = []
    if state.mode == "waiting" and state.wait_until is not None and now >= state.wait_until:
        return _begin(state, "timeout", now, ctx, out)
    reminder_due = _paused_deadline(state) if state.mode == "paused" else None
    if reminder_due is not None and now >= reminder_due:
        return _remind_paused(state, ctx, out)
    if state.mode == "running" and state.settle_until is not None and now >= state.settle_until:
        return _advance(replace(state, settle_until=None), now, ctx, out)
    if not state.timing or state.frozen_at is not None or state.mode != "running":
        return state, out
    end = state.started_at + timer_seconds(state) * 1000
    schedule = schedule_of(state, ctx)
    index = state.next_count
    while index < len(schedule) and state.started_at + schedule[index][0] * 1000 - ctx.count_lead_ms <= now:
        second, words = schedule[index]
        due = state.started_at + second * 1000
        late = now - due > SKIP_LATE_MS
        out.append(Record("count", {"n": second, "text": words, "due": due / 1000, "skipped": late}))
        if not late:
            state = _say(state, out, words, kind="count", due=due)
        index += 1
    state = replace(state, next_count=index)
    if now >= end:
        return _end_timer(state, now, ctx, out)
    return state, out


def _end_timer(state: State, now: int, ctx: Context, out: list[Action],
               during_answer: bool = False) -> tuple[State, list[Action]]:
    """`now`: when the timer ran out (with during_answer, while an answer was being said, a little earlier)."""
    current = state.step
    if current.kind == "hold":
        held = (now - state.started_at) / 1000
        out.append(Record("hold_end", {"held": held, "seconds": timer_seconds(state),
                                       **({"during_answer": True} if during_answer else {})}))
        state = _cue(state, out, "hold_end")
        first = ctx.tones and "hold_end" not in state.cues_explained
        state = replace(state, cues_explained=state.cues_explained | {"hold_end"}, timing=False)
        text = ctx.lines["hold_end_first"] + " " + ctx.lines["relax"] if first else ctx.lines["relax"]
        if during_answer:
            text = ctx.lines["hold_over_meanwhile"] + " " + text
        return _say(state, out, text, then="advance"), out
    return _advance(replace(state, timing=False), now, ctx, out)


def _speech_done(state: State, said: int, now: int, ctx: Context) -> tuple[State, list[Action]]:
    if said == state.safety_id:
        state = replace(state, safety_id=None)
    if said != state.waiting_for:
        return state, []
    then = state.then
    out: list[Action] = []
    state = replace(state, waiting_for=None, then=None)
    if then == "advance" and state.step.move and ctx.move_ms and state.mode == "running":
        return replace(state, settle_until=now + ctx.move_ms), out  # time to move before the next line
    if then == "advance":
        return _advance(state, now, ctx, out)
    if then == "end":
        return _end(state, out)
    if then == "enter":
        return _enter(state, state.index, now, ctx, out)
    if then == "wait":
        wait = _menu_wait_ms(ctx) if state.choice == "routine" else ctx.start_wait_ms
        if state.choice == "ready":  # "say ready when you are in position" waits for the user
            wait = 0
        return replace(state, wait_until=now + wait if wait else None), out
    if then == "start_timer":
        state = replace(state, timing=True, started_at=now, frozen_at=None, next_count=0)
        if state.step.kind == "hold":
            out.append(Record("hold_start", {"seconds": state.step.seconds, "count": state.step.count}))
            state = _cue(state, out, "hold_start")
            state = replace(state, cues_explained=state.cues_explained | {"hold_start"})
        return state, out
    if then == "answered":
        return _answered(state, now, ctx, out)
    if then == "unfreeze":
        state = _set_mode(state, "running", out)
        if state.frozen_at is not None:
            state = replace(state, started_at=state.started_at + now - state.frozen_at, frozen_at=None)
            return state, out
        if state.after == "advance" and state.step.kind != "say":  # the hold or rest was over: never again
            return _advance(replace(state, after=None), now, ctx, out)
        return _enter(state, state.index, now, ctx, out)
    return state, out


def _interrupted(state: State) -> State:
    """Stop waiting on the speech a pause, pain or a question cuts off, remembering what it was to do next."""
    after = state.then if state.then not in (None, "unfreeze") else state.after
    return replace(state, waiting_for=None, then=None, after=after, settle_until=None)


def _freeze(state: State, now: int) -> State:
    if state.timing and state.frozen_at is None:  # no later than the end: it may have passed during an answer
        return replace(state, frozen_at=min(now, state.started_at + timer_seconds(state) * 1000))
    return state


def _intent(state: State, event: Intent, now: int, ctx: Context) -> tuple[State, list[Action]]:
    out: list[Action] = []
    name = event.name
    if name == "pain":
        return _pain(replace(state, misses=0), now, ctx, out)
    if state.mode in ("ready", "ending"):
        return state, out
    if name is None:
        state = _cue(replace(state, misses=state.misses + 1), out, "not_understood")
        if "not_understood" not in state.cues_explained:
            state = replace(state, cues_explained=state.cues_explained | {"not_understood"})
            return _say(state, out, ctx.lines["not_understood_first" if ctx.tones else "not_understood"],
                        kind="info"), out
        if state.misses < MISSES_BEFORE_HINT:
            return state, out
        return _say(replace(state, misses=0), out, ctx.lines["not_understood"], kind="info"), out
    state = replace(state, misses=0)
    if name == "change_routine" and ctx.routines:
        return _offer_routines(_freeze(state, now), ctx, out)
    if name == "choose_routine" and state.choice == "routine" and event.topic is not None and event.topic in ctx.routines:
        out.append(Hush())
        return _switch_routine(state, event.topic, now, ctx, out)
    if name == "progress":
        return _say(state, out, _progress(now, ctx), kind="info"), out
    if state.mode == "waiting":
        return _while_waiting(state, event, now, ctx, out)
    if name in VERBOSITY_INTENTS and not (name == "detailed" and state.fresh_answer):
        return _verbosity(state, name, ctx, out)
    if name == "stop":
        out.append(Hush())
        return _finish(state, False, ctx, out, now=now)
    if name == "pause":
        if state.mode == "paused":
            return _say(state, out, ctx.lines["already_paused"], kind="info"), out
        out.append(Hush())
        state = _set_mode(_freeze(_interrupted(state), now), "paused", out)
        return _say(state, out, ctx.lines["paused"], kind="info"), out
    if name == "resume":
        if state.mode != "paused" and state.timing and state.frozen_at is None:  # "carry on" in a hold: keep holding
            seconds = spoken_seconds(math.ceil(remaining_ms(state, now) / 1000), ctx.lines)
            line = "keep_holding" if state.step.kind == "hold" else "doing_rest"
            return _say(state, out, _fill(ctx.lines[line], seconds=seconds), kind="info"), out
        if state.mode != "paused":
            return _say(state, out, ctx.lines["not_paused"], kind="info"), out
        out.append(Hush())
        if state.frozen_at is not None and remaining_ms(state, now) > 0:
            seconds = spoken_seconds(math.ceil(remaining_ms(state, now) / 1000), ctx.lines)
            return _say(state, out, _fill(ctx.lines["resuming_timer"], seconds=seconds), then="unfreeze"), out
        return _say(state, out, ctx.lines["resuming"], then="unfreeze"), out
    if name in ADDED_SECONDS:
        return _add_time(state, ADDED_SECONDS[name], now, ctx, out)
    if name in COUNT_STYLE_INTENTS:
        return _count_style(state, COUNT_STYLE_INTENTS[name], now, ctx, out)
    if name == "other_side":
        return _other_side(state, now, ctx, out)
    if name in ("next", "back"):
        out.append(Hush())
        state = _set_mode(state, "running", out)
        in_hold = state.timing and state.step.kind == "hold"
        if in_hold:
            out.append(Record("hold_end", {"held": elapsed_ms(state, now) / 1000, "seconds": timer_seconds(state),
                                           "early": True}))
        if name == "next":
            return _advance(state, now, ctx, out)
        restart = in_hold and elapsed_ms(state, now) >= BACK_RESTARTS_AFTER_MS
        return _enter(state, state.index if restart else _previous(state), now, ctx, out)
    if name == "repeat" and state.safety_offered and state.mode == "paused":
        out.append(Hush())
        state = _say(replace(state, safety_offered=False), out, _fill(ctx.lines["pain"], safety=ctx.safety),
                     kind="safety")
        return replace(state, safety_id=state.last_id), out
    if name == "repeat":
        return _reply(state, _current_instruction(state, ctx), now, ctx, out)
    if name == "time_left":
        return _reply(state, _time_left(state, now, ctx), now, ctx, out)
    if name == "where":
        return _reply(state, _where(state, now, ctx), now, ctx, out)
    if name == "which_side":
        return _reply(state, _which_side(state, ctx), now, ctx, out)
    if name == "help":
        return _reply(state, _help(state, ctx), now, ctx, out)
    if name == "more_help":
        return _reply(state, ctx.lines["help"], now, ctx, out)
    if name in ("slower", "faster", "louder", "quieter"):
        out.append(Adjust(name))
        return state, out
    if name == "ask":
        return _answer(state, event.topic, now, ctx, out)
    if name in ("more", "detailed"):
        return _answer(state, state.last_topic, now, ctx, out, longer=True)
    return state, out


def _while_waiting(state: State, event: Intent, now: int, ctx: Context,
                   out: list[Action]) -> tuple[State, list[Action]]:
    """At the opening, before the routine starts: wait for start (or continue / start over)."""
    name = event.name
    if name in ("resume", "next"):
        out.append(Hush())
        return _begin(state, "user", now, ctx, out)
    if name == "back" and state.choice == "resume":
        out.append(Hush())
        return _start_over(state, now, ctx, out)
    if name == "stop" and event.spoken and not state.stop_asked:  # "start" is easily heard as "stop"
        # a question the coach asks waits for its answer: the opening's timer must not start the routine over it
        return _say(replace(state, stop_asked=True, wait_until=None), out, ctx.lines["confirm_stop"], kind="info"), out
    if name == "stop":
        out.append(Hush())
        return _finish(state, False, ctx, out)
    if name == "pause":
        state = replace(state, wait_until=None, waiting_for=None, then=None)
        return _say(state, out, ctx.lines["waiting_for_start"], kind="info"), out
    if name in VERBOSITY_INTENTS:
        return _verbosity(state, name, ctx, out)
    if name in COUNT_STYLE_INTENTS:
        return _count_style(state, COUNT_STYLE_INTENTS[name], now, ctx, out)
    if name in ("slower", "faster", "louder", "quieter"):
        out.append(Adjust(name))
        return state, out
    if name == "ask":
        return _answer(state, event.topic, now, ctx, out)
    if name == "more":
        return _answer(state, state.last_topic, now, ctx, out, longer=True)
    if name == "time_left":
        return _say(state, out, _time_left(state, now, ctx), kind="info"), out
    if name in ("where", "which_side"):
        where = _where(state, now, ctx) if state.choice == "ready" else _where_waiting(state, ctx)
        return _say(state, out, where if name == "where" else _which_side(state, ctx), kind="info"), out
    if name == "repeat":
        return _say(state, out, text_of(state, state.plan[0], ctx), kind="info"), out
    help_line = {"resume": "help_waiting_resume", "routine": "help_routine_menu",
                 "ready": "help_ready"}.get(state.choice, "help_waiting")
    return _say(state, out, ctx.lines["help" if name == "more_help" else help_line], kind="info"), out


def _verbosity(state: State, verbosity: str, ctx: Context, out: list[Action]) -> tuple[State, list[Action]]:
    out.append(RememberSetting("verbosity", verbosity))
    return _say(replace(state, verbosity=verbosity), out, ctx.lines[f"verbosity_{verbosity}"], kind="info"), out


def _help(state: State, ctx: Context) -> str:
    """The few commands that matter right now; "more help" gives the rest."""
    if state.mode == "paused":
        return ctx.lines["help_paused"]
    if state.timing and state.step.kind == "hold":
        return ctx.lines["help_hold"]
    return ctx.lines["help_step"]


def _add_time(state: State, seconds: int, now: int, ctx: Context, out: list[Action]) -> tuple[State, list[Action]]:
    if not (state.timing and state.step.kind == "hold"):
        return _say(state, out, ctx.lines["add_time_no_hold"], kind="info"), out
    state = replace(state, added=state.added + seconds)
    left = spoken_seconds(math.ceil(remaining_ms(state, now) / 1000), ctx.lines)
    return _say(state, out, _fill(ctx.lines["time_added"], added=spoken_seconds(seconds, ctx.lines), left=left),
                kind="info"), out


def _count_style(state: State, style: str, now: int, ctx: Context, out: list[Action]) -> tuple[State, list[Action]]:
    state = replace(state, count_style=style)
    out.append(RememberSetting("counting", style))
    if state.timing and state.step.kind == "hold":  # counts already due under the new style are not said late
        passed = sum(1 for second, _ in schedule_of(state, ctx) if second * 1000 <= elapsed_ms(state, now))
        state = replace(state, next_count=passed)
    return _say(state, out, ctx.lines[f"counting_{style}"], kind="info"), out


def _other_side(state: State, now: int, ctx: Context, out: list[Action]) -> tuple[State, list[Action]]:
    current = state.step
    target = next((i for i in range(state.index + 1, len(state.plan))
                   if state.plan[i].exercise == current.exercise and state.plan[i].side
                   and state.plan[i].side != current.side), None)
    if not current.side or target is None:
        return _say(state, out, ctx.lines["no_other_side"], kind="info"), out
    out.append(Hush())
    if state.timing and state.step.kind == "hold":
        out.append(Record("hold_end", {"held": elapsed_ms(state, now) / 1000, "seconds": timer_seconds(state),
                                       "early": True}))
    return _enter(_set_mode(state, "running", out), target, now, ctx, out)


def _pain(state: State, now: int, ctx: Context, out: list[Action]) -> tuple[State, list[Action]]:
    """Pain outranks everything: silence, freeze the hold, say to ease off, and wait for the user."""
    out.append(Hush())
    text = _fill(ctx.lines["pain"], safety=ctx.safety)
    if state.mode == "ending":
        return _say(state, out, text, then="end"), out
    state = _set_mode(_freeze(_interrupted(state), now), "paused", out)
    state = _say(state, out, text, kind="safety")
    return replace(state, safety_id=state.last_id, safety_offered=False), out


def _answer(state: State, topic: str | None, now: int, ctx: Context, out: list[Action],
            longer: bool = False) -> tuple[State, list[Action]]:
    if longer and topic is None:
        return _say(state, out, ctx.lines["nothing_more"], kind="info"), out
    if longer and state.answer_rest:  # the rest of an answer cut to its first sentence during a hold
        text, state = state.answer_rest, replace(state, answer_rest="")
    else:
        text = (ctx.more if longer else ctx.answers).get(topic, ctx.out_of_scope) if topic else ctx.out_of_scope
        state = replace(state, answer_rest="")
        holding = state.step.kind == "hold" and state.mode in ("running", "answering")
        first, _, rest = _first_sentence(text)
        if holding and rest and not longer:  # while holding a stretch: one sentence, the rest on "tell me more"
            text, state = f"{first} {ctx.lines['answer_more']}", replace(state, answer_rest=rest)
    state = replace(state, last_topic=topic or state.last_topic, fresh_answer=True)
    if topic and not state.disclaimer_given and ctx.disclaimer:
        text = f"{ctx.disclaimer} {text}"
        state = replace(state, disclaimer_given=True)
    if state.mode == "waiting":  # the opening waits again, from the start, once the answer is said
        out.append(Hush())
        return _say(replace(state, wait_until=None), out, text, kind="answer", then="wait"), out
    if state.mode == "paused":
        out.append(Hush())
        return _safety_again(_say(state, out, text, kind="answer"), ctx, out), out
    out.append(Hush())
    if state.timing and state.frozen_at is None:  # the body keeps stretching while the coach talks
        state = _set_mode(_interrupted(state), "answering", out)
        return _say(state, out, text, kind="answer", then="answered"), out
    state = _set_mode(_freeze(_interrupted(state), now), "answering", out)
    state = _say(state, out, text, kind="answer")
    return _say(state, out, ctx.lines["back_to_stretch"], then="unfreeze"), out


def _reply(state: State, text: str, now: int, ctx: Context, out: list[Action]) -> tuple[State, list[Action]]:
    """Barge-in: a reply cuts off the line being said (a paused prompt, the safety advice, an instruction the
    session waits on) and is said at once; an instruction it cut is said again after it. During a hold's counts
    nothing waits: the reply comes between two counts."""
    if state.mode == "paused":
        out.append(Hush())
        return _safety_again(_say(state, out, text, kind="info"), ctx, out), out
    if state.waiting_for is None or state.mode != "running":
        return _say(state, out, text, kind="info"), out
    out.append(Hush())
    state = _set_mode(_freeze(_interrupted(state), now), "answering", out)
    return _say(state, out, text, kind="info", then="unfreeze"), out


def _safety_again(state: State, ctx: Context, out: list[Action]) -> State:
    """The safety advice was cut off by a reply: offer it again, in short, after the reply."""
    if state.safety_id is None:
        return state
    return _say(replace(state, safety_id=None, safety_offered=True), out, ctx.lines["safety_again"], kind="info")


def _first_sentence(text: str) -> tuple[str, str, str]:
    first, *rest = re.split(r"(?<=[.!?])\s+", text.strip(), maxsplit=1)
    return first, " ", rest[0] if rest else ""


def _answered(state: State, now: int, ctx: Context, out: list[Action]) -> tuple[State, list[Action]]:
    """An answer given while the timer ran is over: say how long is left, or that the hold ended meanwhile."""
    state = _set_mode(state, "running", out)
    if now >= state.started_at + timer_seconds(state) * 1000:
        return _end_timer(state, state.started_at + timer_seconds(state) * 1000, ctx, out, during_answer=True)
    passed = sum(1 for second, _ in schedule_of(state, ctx) if second * 1000 <= elapsed_ms(state, now))
    state = replace(state, next_count=max(state.next_count, passed))  # counts due meanwhile are not said late
    seconds = spoken_seconds(math.ceil(remaining_ms(state, now) / 1000), ctx.lines)
    return _say(state, out, _fill(ctx.lines["back_to_stretch_left"], seconds=seconds), kind="info"), out


def _current_instruction(state: State, ctx: Context) -> str:
    for index in range(state.index, -1, -1):
        candidate = state.plan[index]
        if candidate.kind == "say" and candidate.exercise == state.step.exercise:
            return candidate.text
    return state.plan[state.index].text or ctx.lines["help"]


def _time_left(state: State, now: int, ctx: Context) -> str:
    if state.step.kind in ("hold", "rest"):
        seconds = spoken_seconds(math.ceil(remaining_ms(state, now) / 1000), ctx.lines)
        return _fill(ctx.lines["seconds_left_paused" if state.frozen_at is not None else "seconds_left"],
                     seconds=seconds)
    return _fill(ctx.lines["routine_left"], minutes=spoken_minutes(estimate_ms(state, ctx) / 1000, ctx.lines))


def _where_waiting(state: State, ctx: Context) -> str:
    """Where am I, while the coach waits at the opening, at the offer to continue or at the routine menu."""
    name = _routine_name(state, ctx)
    if state.choice == "resume":
        return _fill(ctx.lines["where_offer"], name=name, **_exercise_of(state))
    if state.choice == "routine":
        return _fill(ctx.lines["where_menu"], name=name)
    return _fill(ctx.lines["where_opening"], name=name)


def _which_side(state: State, ctx: Context) -> str:
    side = state.step.side
    return _fill(ctx.lines["which_side"], side=side) if side else ctx.lines["no_side"]


def _where(state: State, now: int, ctx: Context) -> str:
    current = state.step
    total = 1 + max(s.exercise for s in state.plan)
    seconds = spoken_seconds(math.ceil(remaining_ms(state, now) / 1000), ctx.lines)
    if state.mode == "paused":
        doing = ctx.lines["doing_paused"]
    elif state.mode == "waiting":  # only for "ready": the other waits have their own answer
        doing = ctx.lines["doing_ready"]
    elif current.kind == "hold":
        doing = _fill(ctx.lines["doing_hold"], seconds=seconds)
    elif current.kind == "rest":
        doing = _fill(ctx.lines["doing_rest"], seconds=seconds)
    else:
        doing = ctx.lines["doing_say"]
    side = _fill(ctx.lines["where_side"], side=current.side) if current.side else ""
    rounds = max(s.round for s in state.plan if s.exercise == current.exercise)
    round_ = _fill(ctx.lines["where_round"], round=current.round, rounds=rounds) if current.round else ""
    return _fill(ctx.lines["where"], number=current.exercise + 1, total=total, name=current.title, side=side,
                 round=round_, doing=doing)
