"""The session state machine: step(state, event, now_ms) -> (state, actions); no I/O and no clock."""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Mapping, Union

from voicecoach.progress import WeekSummary
from voicecoach.routine import Routine

SKIP_LATE_MS = 500      # a count this late is dropped rather than said out of time
BACK_RESTARTS_AFTER_MS = 3000  # "back" this far into a hold restarts it instead of going to the step before
SAY_ESTIMATE_MS = 4000
ADDED_SECONDS = {"add_ten_seconds": 10, "add_thirty_seconds": 30}
COUNT_STYLE_INTENTS = {"count_each": "each", "count_fives": "fives", "count_none": "none"}
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


def build_plan(routine: Routine, lines: Mapping[str, str]) -> tuple[PlanStep, ...]:
    """Flatten a routine: an introduction, each exercise (once per side), its tip, and the close."""
    total = len(routine.exercises)
    minutes = spoken_minutes(routine_seconds(routine), lines)
    first = routine.exercises[0].name
    steps = [PlanStep("say", _fill(lines["intro"], name=routine.name, about=routine.about, minutes=minutes),
                      title=first, brief_text=_fill(lines["intro"], name=routine.name, about="", minutes=minutes))]
    for number, exercise in enumerate(routine.exercises):
        title = exercise.name
        steps.append(PlanStep("say", _fill(lines["exercise"], number=number + 1, total=total, name=title),
                              exercise=number, title=title))
        for side in exercise.sides or ("",):
            for step in exercise.steps:
                steps.append(PlanStep(step.kind, step.text.replace("{side}", side), step.seconds, step.count,
                                      number, side, title, "detailed" if step.detail else ""))
        if exercise.tip:
            steps.append(PlanStep("say", _fill(lines["tip"], tip=exercise.tip), exercise=number, title=title,
                                  level="normal"))
    steps.append(PlanStep("say", _fill(lines["outro"], name=routine.name), exercise=total - 1,
                          title=routine.exercises[-1].name))
    return tuple(steps)


def said_at(plan_step: PlanStep, verbosity: str) -> bool:
    return plan_step.level == "" or verbosity == "detailed" or (plan_step.level == "normal" and verbosity == "normal")


def routine_seconds(routine: Routine) -> int:
    seconds = 0
    for exercise in routine.exercises:
        for step in exercise.steps:
            seconds += (step.seconds or SAY_ESTIMATE_MS // 1000) * max(1, len(exercise.sides))
    return seconds


def spoken_minutes(seconds: float, lines: Mapping[str, str]) -> str:
    minutes = round(seconds / 60)
    if minutes < 1:
        return lines["under_a_minute"]
    return lines["minutes_one"] if minutes == 1 else _fill(lines["minutes_many"], count=minutes)


def count_schedule(seconds: int, style: str) -> tuple[tuple[int, str], ...]:
    """(second after the hold starts, what is said) for each count of a hold."""
    if style == "each":
        return tuple((n, str(n)) for n in range(1, seconds + 1))
    if style == "fives":
        countdown = [(seconds - k, str(k)) for k in (3, 2, 1) if seconds - k > 0]
        first_countdown = countdown[0][0] if countdown else seconds
        return tuple([(n, str(n)) for n in range(5, first_countdown, 5)] + countdown)
    return ()


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


@dataclass(frozen=True)
class Adjust:
    change: str                 # slower | faster | louder | quieter


@dataclass(frozen=True)
class End:
    completed: bool


Action = Union[Say, Cue, Hush, Record, Adjust, End]


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

    @property
    def step(self) -> PlanStep:
        return self.plan[self.index]


def start_state(plan: tuple[PlanStep, ...], index: int = 0, verbosity: str = "normal",
                count_style: str | None = None) -> State:
    return State(plan=plan, index=index, verbosity=verbosity, count_style=count_style)


# ---- the machine ----

def step(state: State, event: Event, now: int, ctx: Context) -> tuple[State, list[Action]]:
    """Advance the session by one event at time `now` (ms); return the new state and what to do."""
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
    if event.spoken and event.name not in (None, "pain") and before not in ("ready", "ending"):
        return _acknowledge(state, actions, ctx)
    return state, actions


def _exercise_of(state: State) -> dict:
    return {"exercise": state.step.exercise + 1, "exercises": 1 + max(s.exercise for s in state.plan)}


def _routine_name(state: State, ctx: Context) -> str:
    return ctx.routines[state.routine][0] if state.routine else ctx.routine_name


def _continue(state: State, ctx: Context, out: list[Action]) -> State:
    return _say(state, out, _fill(ctx.lines["intro_resumed"], name=_routine_name(state, ctx), **_exercise_of(state)),
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
    out.append(Record("routine", {"routine": routine, "name": name, "steps": len(plan)}))
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
    return _advance(state, now, ctx, out)


def _start_over(state: State, now: int, ctx: Context, out: list[Action]) -> tuple[State, list[Action]]:
    out.append(Record("begin", {"choice": "start_over", "by": "user"}))
    state = _set_mode(replace(state, wait_until=None, choice="start"), "running", out)
    return _enter(state, 0, now, ctx, out)


def _acknowledge(state: State, actions: list[Action], ctx: Context) -> tuple[State, list[Action]]:
    """Put the "understood" tone (explained the first time) before the reply, after any silencing."""
    at = 1 if actions and isinstance(actions[0], Hush) else 0
    added: list[Action] = []
    state = _cue(state, added, "understood")
    if ctx.tones and "understood" not in state.cues_explained:
        state = _say(replace(state, cues_explained=state.cues_explained | {"understood"}), added,
                     ctx.lines["understood_first"], kind="info")
    return state, actions[:at] + added + actions[at:]


def timer_seconds(state: State) -> int:
    return state.step.seconds + state.added


def schedule_of(state: State) -> tuple[tuple[int, str], ...]:
    if state.step.kind != "hold":
        return ()
    return count_schedule(timer_seconds(state), state.count_style or state.step.count)


def next_deadline(state: State, ctx: Context) -> int | None:
    """When the session next needs a Tick (ms), or None if it is waiting on speech or the user."""
    if state.mode == "waiting":
        return state.wait_until
    if state.mode == "ended" or not state.timing or state.frozen_at is not None:
        return None
    end = state.started_at + timer_seconds(state) * 1000
    schedule = schedule_of(state)
    if state.next_count < len(schedule):
        return min(end, state.started_at + schedule[state.next_count][0] * 1000 - ctx.count_lead_ms)
    return end


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
                    added=0, fresh_answer=False)
    current = state.step
    out.append(Record("step", {"index": index, "exercise": current.exercise + 1, "side": current.side,
                               "kind": current.kind}))
    if current.kind == "say":
        text = current.brief_text if state.verbosity == "brief" and current.brief_text else current.text
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
    first = ctx.tones and "hold_start" not in state.cues_explained
    seconds = spoken_seconds(current.seconds, ctx.lines)
    text = _fill(ctx.lines["hold_first" if first else "hold"], seconds=seconds)
    return _say(state, out, text, then="start_timer"), out


def _advance(state: State, now: int, ctx: Context, out: list[Action]) -> tuple[State, list[Action]]:
    later = next((i for i in range(state.index + 1, len(state.plan)) if said_at(state.plan[i], state.verbosity)),
                 None)
    if later is not None:
        return _enter(state, later, now, ctx, out)
    return _finish(state, True, ctx, out, say_goodbye=False, now=now)


def _previous(state: State) -> int:
    return next((i for i in range(state.index - 1, -1, -1) if said_at(state.plan[i], state.verbosity)), 0)


def _finish(state: State, completed: bool, ctx: Context, out: list[Action],
            say_goodbye: bool = True, now: int | None = None) -> tuple[State, list[Action]]:
    ran = state.mode != "waiting" and (completed or state.index > 0) and now is not None
    state = _set_mode(replace(state, completed=completed, timing=False, frozen_at=None), "ending", out)
    if say_goodbye:
        state = _say(state, out, ctx.lines["goodbye"], then=None if ran else "end")
    if ran:  # what was done and how long, once the session has got past its opening
        return _say(state, out, _summary(state, now, ctx), kind="info", then="end"), out
    return (state, out) if say_goodbye else _end(state, out)


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
    if not state.timing or state.frozen_at is not None or state.mode != "running":
        return state, out
    end = state.started_at + timer_seconds(state) * 1000
    schedule = schedule_of(state)
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


def _end_timer(state: State, now: int, ctx: Context, out: list[Action]) -> tuple[State, list[Action]]:
    current = state.step
    if current.kind == "hold":
        held = (now - state.started_at) / 1000
        out.append(Record("hold_end", {"held": held, "seconds": timer_seconds(state)}))
        state = _cue(state, out, "hold_end")
        first = ctx.tones and "hold_end" not in state.cues_explained
        state = replace(state, cues_explained=state.cues_explained | {"hold_end"}, timing=False)
        text = ctx.lines["hold_end_first"] + " " + ctx.lines["relax"] if first else ctx.lines["relax"]
        return _say(state, out, text, then="advance"), out
    return _advance(replace(state, timing=False), now, ctx, out)


def _speech_done(state: State, said: int, now: int, ctx: Context) -> tuple[State, list[Action]]:
    if said != state.waiting_for:
        return state, []
    then, out = state.then, []
    state = replace(state, waiting_for=None, then=None)
    if then == "advance":
        return _advance(state, now, ctx, out)
    if then == "end":
        return _end(state, out)
    if then == "enter":
        return _enter(state, state.index, now, ctx, out)
    if then == "wait":
        wait = _menu_wait_ms(ctx) if state.choice == "routine" else ctx.start_wait_ms
        return replace(state, wait_until=now + wait if wait else None), out
    if then == "start_timer":
        state = replace(state, timing=True, started_at=now, frozen_at=None, next_count=0)
        if state.step.kind == "hold":
            out.append(Record("hold_start", {"seconds": state.step.seconds, "count": state.step.count}))
            state = _cue(state, out, "hold_start")
            state = replace(state, cues_explained=state.cues_explained | {"hold_start"})
        return state, out
    if then == "unfreeze":
        state = _set_mode(state, "running", out)
        if state.frozen_at is not None:
            state = replace(state, started_at=state.started_at + now - state.frozen_at, frozen_at=None)
            return state, out
        return _enter(state, state.index, now, ctx, out)
    return state, out


def _freeze(state: State, now: int) -> State:
    if state.timing and state.frozen_at is None:
        return replace(state, frozen_at=now)
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
    if name == "choose_routine" and state.choice == "routine" and event.topic in ctx.routines:
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
        state = _set_mode(_freeze(replace(state, waiting_for=None, then=None), now), "paused", out)
        return _say(state, out, ctx.lines["paused"], kind="info"), out
    if name == "resume":
        if state.mode != "paused":
            return _say(state, out, ctx.lines["not_paused"], kind="info"), out
        out.append(Hush())
        if state.frozen_at is not None:
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
    if name == "repeat":
        return _say(state, out, _current_instruction(state, ctx), kind="info"), out
    if name == "time_left":
        return _say(state, out, _time_left(state, now, ctx), kind="info"), out
    if name == "where":
        return _say(state, out, _where(state, now, ctx), kind="info"), out
    if name == "help":
        return _say(state, out, _help(state, ctx), kind="info"), out
    if name == "more_help":
        return _say(state, out, ctx.lines["help"], kind="info"), out
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
        return _say(replace(state, stop_asked=True), out, ctx.lines["confirm_stop"], kind="info"), out
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
    if name in ("time_left", "where"):
        return _say(state, out, _time_left(state, now, ctx), kind="info"), out
    if name == "repeat":
        return _say(state, out, state.plan[0].text, kind="info"), out
    help_line = {"resume": "help_waiting_resume", "routine": "help_routine_menu"}.get(state.choice, "help_waiting")
    return _say(state, out, ctx.lines["help" if name == "more_help" else help_line], kind="info"), out


def _verbosity(state: State, verbosity: str, ctx: Context, out: list[Action]) -> tuple[State, list[Action]]:
    out.append(Record("setting", {"name": "verbosity", "value": verbosity}))
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
    out.append(Record("setting", {"name": "counting", "value": style}))
    if state.timing and state.step.kind == "hold":  # counts already due under the new style are not said late
        passed = sum(1 for second, _ in schedule_of(state) if second * 1000 <= elapsed_ms(state, now))
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
    state = _set_mode(_freeze(replace(state, waiting_for=None, then=None), now), "paused", out)
    return _say(state, out, text, kind="safety"), out


def _answer(state: State, topic: str | None, now: int, ctx: Context, out: list[Action],
            longer: bool = False) -> tuple[State, list[Action]]:
    if longer and topic is None:
        return _say(state, out, ctx.lines["nothing_more"], kind="info"), out
    text = (ctx.more if longer else ctx.answers).get(topic, ctx.out_of_scope) if topic else ctx.out_of_scope
    state = replace(state, last_topic=topic or state.last_topic, fresh_answer=True)
    if topic and not state.disclaimer_given and ctx.disclaimer:
        text = f"{ctx.disclaimer} {text}"
        state = replace(state, disclaimer_given=True)
    if state.mode == "waiting":  # the opening waits again, from the start, once the answer is said
        out.append(Hush())
        return _say(replace(state, wait_until=None), out, text, kind="answer", then="wait"), out
    if state.mode == "paused":
        return _say(state, out, text, kind="answer"), out
    out.append(Hush())
    state = _set_mode(_freeze(replace(state, waiting_for=None, then=None), now), "answering", out)
    state = _say(state, out, text, kind="answer")
    return _say(state, out, ctx.lines["back_to_stretch"], then="unfreeze"), out


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
    later = sum((s.seconds * 1000 if s.kind != "say" else SAY_ESTIMATE_MS) for s in state.plan[state.index:])
    return _fill(ctx.lines["routine_left"], minutes=spoken_minutes(later / 1000, ctx.lines))


def _where(state: State, now: int, ctx: Context) -> str:
    current = state.step
    total = 1 + max(s.exercise for s in state.plan)
    seconds = spoken_seconds(math.ceil(remaining_ms(state, now) / 1000), ctx.lines)
    if state.mode == "paused":
        doing = ctx.lines["doing_paused"]
    elif current.kind == "hold":
        doing = _fill(ctx.lines["doing_hold"], seconds=seconds)
    elif current.kind == "rest":
        doing = _fill(ctx.lines["doing_rest"], seconds=seconds)
    else:
        doing = ctx.lines["doing_say"]
    side = _fill(ctx.lines["where_side"], side=current.side) if current.side else ""
    return _fill(ctx.lines["where"], number=current.exercise + 1, total=total, name=current.title, side=side,
                 doing=doing)
