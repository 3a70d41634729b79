"""What each command does: one handler table per mode, the handlers they share written once."""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Callable, Mapping

from voicecoach.plan import fill, spoken_seconds
from voicecoach.session_events import (Action, Adjust, Change, CountStyle, Hush, Intent, IntentName, Mode, Record,
                                       RememberSetting, Say, Verbosity)
from voicecoach.session_flow import advance, begin, enter, finish, offer_routines, previous, start_over, switch_routine
from voicecoach.session_replies import (current_instruction, first_sentence, help_line, progress, time_left,
                                        where, where_waiting, which_side)
from voicecoach.session_state import (Context, State, cue, done_waiting, elapsed_ms, explained, freeze, interrupted,
                                      remaining_ms, say, schedule_of, set_mode, text_of, timer_seconds)

BACK_RESTARTS_AFTER_MS = 3000  # "back" this far into a hold restarts it instead of going to the step before
MISSES_BEFORE_HINT = 2  # a gentle earcon for a miss; a spoken hint only after this many in a row

Result = tuple[State, list[Action]]
Handler = Callable[[State, Intent, int, Context, list[Action]], Result]
Guard = Callable[[State, Context], bool]


@dataclass(frozen=True)
class Table:
    """A mode's handlers; an intent with a guard is handled only while its guard holds, else by the fallback."""
    handlers: Mapping[IntentName, Handler]
    guards: Mapping[IntentName, Guard] = field(default_factory=dict)
    fallback: Handler | None = None  # None: nothing is done


def acts_on(state: State, ctx: Context) -> frozenset[IntentName]:
    """The intents the session acts on in its current mode: its table's, where their guards hold."""
    table = TABLES[state.mode]
    return frozenset(name for name in table.handlers if name not in table.guards or table.guards[name](state, ctx))


def intent(state: State, event: Intent, now: int, ctx: Context) -> Result:
    """Act on a command (or an input not understood) in the current mode."""
    out: list[Action] = []
    if state.mode not in ("ready", "ending"):  # before the session starts and while it closes, only pain counts
        if event.name is None:
            return _missed(state, ctx, out)
        state = replace(state, attention=replace(state.attention, misses=0))
    table = TABLES[state.mode]
    handler = table.handlers.get(event.name) if event.name is not None and event.name in acts_on(state, ctx) else None
    return (handler or table.fallback or _nothing)(state, event, now, ctx, out)


def acknowledge(state: State, actions: list[Action], ctx: Context) -> Result:
    """Put the "understood" tone before the reply, after any silencing. The tone's explanation (the first time)
    comes after the reply, never in front of what the user asked for, except at the opening, where the reply is a
    question that waits for the user's answer."""
    at = 1 if actions and isinstance(actions[0], Hush) else 0
    added: list[Action] = []
    told: list[Action] = []
    state = cue(state, added, "understood")
    if ctx.tones and "understood" not in state.talk.cues_explained:
        state = say(explained(state, "understood"), added if state.mode == "waiting" else told,
                    ctx.lines["understood_first"], kind="info")
    actions = actions[:at] + added + actions[at:]
    last_line = next((a.text for a in reversed(actions) if isinstance(a, Say)), state.speech.last_line)
    return replace(state, speech=replace(state.speech, last_line=last_line)), actions + told


def _missed(state: State, ctx: Context, out: list[Action]) -> Result:
    misses = state.attention.misses + 1
    state = cue(replace(state, attention=replace(state.attention, misses=misses)), out, "not_understood")
    if "not_understood" not in state.talk.cues_explained:
        state = explained(state, "not_understood")
        return say(state, out, ctx.lines["not_understood_first" if ctx.tones else "not_understood"],
                   kind="info"), out
    if misses < MISSES_BEFORE_HINT:
        return state, out
    state = replace(state, attention=replace(state.attention, misses=0))
    return say(state, out, ctx.lines["not_understood"], kind="info"), out


# ---- handlers shared by several modes, and the factories that make the one-line ones ----

def _nothing(state: State, event: Intent, now: int, ctx: Context, out: list[Action]) -> Result:
    return state, out


def _informs(reply: Callable[[State, int, Context], str]) -> Handler:
    """A handler that says a line of information at once (barge-in): it cuts off the line being said while paused
    (the paused prompt, the safety advice) or an instruction the session waits on, which is said again after it.
    During a hold's counts nothing waits: the reply comes between two counts (counts handed to the player in
    advance would be lost to a hush)."""
    def handler(state: State, event: Intent, now: int, ctx: Context, out: list[Action]) -> Result:
        text = reply(state, now, ctx)
        if state.mode == "paused":
            out.append(Hush())
            return _safety_again(say(state, out, text, kind="info"), ctx, out), out
        if state.speech.waiting_for is None or state.mode != "running":
            return say(state, out, text, kind="info"), out
        out.append(Hush())
        state = set_mode(freeze(interrupted(state), now), "answering", out)
        return say(state, out, text, kind="info", then="unfreeze"), out
    return handler


def _safety_again(state: State, ctx: Context, out: list[Action]) -> State:
    """The safety advice was cut off by a reply: offer it again, in short, after the reply."""
    if state.attention.safety_id is None:
        return state
    state = replace(state, attention=replace(state.attention, safety_id=None, safety_offered=True))
    return say(state, out, ctx.lines["safety_again"], kind="info")


def _safety_advice(state: State, ctx: Context, out: list[Action]) -> State:
    """Say the safety advice, noting its id so that a reply cutting it off offers it again."""
    state = say(state, out, fill(ctx.lines["pain"], safety=ctx.safety), kind="safety")
    return replace(state, attention=replace(state.attention, safety_id=state.speech.last_id, safety_offered=False))


def _adjusts(change: Change) -> Handler:
    def handler(state: State, event: Intent, now: int, ctx: Context, out: list[Action]) -> Result:
        out.append(Adjust(change))
        return state, out
    return handler


def _sets_verbosity(verbosity: Verbosity) -> Handler:
    def handler(state: State, event: Intent, now: int, ctx: Context, out: list[Action]) -> Result:
        out.append(RememberSetting("verbosity", verbosity))
        state = replace(state, talk=replace(state.talk, verbosity=verbosity))
        return say(state, out, ctx.lines[f"verbosity_{verbosity}"], kind="info"), out
    return handler


def _sets_counting(style: CountStyle) -> Handler:
    def handler(state: State, event: Intent, now: int, ctx: Context, out: list[Action]) -> Result:
        state = replace(state, talk=replace(state.talk, count_style=style))
        out.append(RememberSetting("counting", style))
        if state.timer.running and state.step.kind == "hold":  # counts already due under the new style: not said
            passed = sum(1 for second, _ in schedule_of(state, ctx) if second * 1000 <= elapsed_ms(state, now))
            state = replace(state, timer=replace(state.timer, next_count=passed))
        return say(state, out, ctx.lines[f"counting_{style}"], kind="info"), out
    return handler


def _pain(state: State, event: Intent, now: int, ctx: Context, out: list[Action]) -> Result:
    """Pain outranks everything: silence, freeze the hold, say to ease off, and wait for the user."""
    state = replace(state, attention=replace(state.attention, misses=0))
    out.append(Hush())
    text = fill(ctx.lines["pain"], safety=ctx.safety)
    if state.mode == "ending":
        return say(state, out, text, then="end"), out
    state = set_mode(freeze(interrupted(state), now), "paused", out)
    return _safety_advice(state, ctx, out), out


def _change_routine(state: State, event: Intent, now: int, ctx: Context, out: list[Action]) -> Result:
    return offer_routines(freeze(state, now), ctx, out)


def _choose_routine(state: State, event: Intent, now: int, ctx: Context, out: list[Action]) -> Result:
    if event.topic is None or event.topic not in ctx.routines:  # not a routine on the menu
        return (TABLES[state.mode].fallback or _nothing)(state, event, now, ctx, out)
    out.append(Hush())
    return switch_routine(state, event.topic, now, ctx, out)


def _ask(state: State, event: Intent, now: int, ctx: Context, out: list[Action]) -> Result:
    return answer(state, event.topic, now, ctx, out)


def _tell_more(state: State, event: Intent, now: int, ctx: Context, out: list[Action]) -> Result:
    return answer(state, state.attention.last_topic, now, ctx, out, longer=True)


def answer(state: State, topic: str | None, now: int, ctx: Context, out: list[Action], longer: bool = False) -> Result:
    """Answer a question (longer: tell more about the last one), the timer running on or frozen meanwhile."""
    if longer and topic is None:
        return say(state, out, ctx.lines["nothing_more"], kind="info"), out
    attention = state.attention
    if longer and attention.answer_rest:  # the rest of an answer cut to its first sentence during a hold
        text, attention = attention.answer_rest, replace(attention, answer_rest="")
    else:
        text = (ctx.more if longer else ctx.answers).get(topic, ctx.out_of_scope) if topic else ctx.out_of_scope
        attention = replace(attention, answer_rest="")
        holding = state.step.kind == "hold" and state.mode in ("running", "answering")
        first, _, rest = first_sentence(text)
        if holding and rest and not longer:  # while holding a stretch: one sentence, the rest on "tell me more"
            text, attention = f"{first} {ctx.lines['answer_more']}", replace(attention, answer_rest=rest)
    state = replace(state, attention=replace(attention, last_topic=topic or attention.last_topic, fresh_answer=True))
    if topic and not state.talk.disclaimer_given and ctx.disclaimer:
        text = f"{ctx.disclaimer} {text}"
        state = replace(state, talk=replace(state.talk, disclaimer_given=True))
    if state.mode == "waiting":  # the opening waits again, from the start, once the answer is said
        out.append(Hush())
        return say(replace(state, wait=replace(state.wait, until=None)), out, text, kind="answer", then="wait"), out
    if state.mode == "paused":
        out.append(Hush())
        return _safety_again(say(state, out, text, kind="answer"), ctx, out), out
    out.append(Hush())
    if state.timer.running and state.timer.frozen_at is None:  # the body keeps stretching while the coach talks
        state = set_mode(interrupted(state), "answering", out)
        return say(state, out, text, kind="answer", then="answered"), out
    state = set_mode(freeze(interrupted(state), now), "answering", out)
    state = say(state, out, text, kind="answer")
    return say(state, out, ctx.lines["back_to_stretch"], then="unfreeze"), out


def _has_routines(state: State, ctx: Context) -> bool:
    return bool(ctx.routines)


def _at_menu(state: State, ctx: Context) -> bool:
    return state.wait.choice == "routine"


# Every mode that listens: pain, the routine menu, progress, questions, the voice and the settings.
_COMMON: Mapping[IntentName, Handler] = {
    "pain": _pain,
    "change_routine": _change_routine,
    "choose_routine": _choose_routine,
    "progress": _informs(lambda state, now, ctx: progress(now, ctx)),
    "ask": _ask,
    "more": _tell_more,
    "brief": _sets_verbosity("brief"),
    "count_each": _sets_counting("each"),
    "count_fives": _sets_counting("fives"),
    "count_none": _sets_counting("none"),
    "slower": _adjusts("slower"),
    "faster": _adjusts("faster"),
    "louder": _adjusts("louder"),
    "quieter": _adjusts("quieter"),
    "time_left": _informs(time_left),
    "which_side": _informs(lambda state, now, ctx: which_side(state, ctx)),
}
_COMMON_GUARDS: Mapping[IntentName, Guard] = {"change_routine": _has_routines, "choose_routine": _at_menu}


# ---- waiting: at the opening, the offer to continue, the routine menu or "say ready" ----

def _wait_help(state: State, event: Intent, now: int, ctx: Context, out: list[Action]) -> Result:
    line = {"resume": "help_waiting_resume", "routine": "help_routine_menu", "ready": "help_ready"}.get(
        state.wait.choice, "help_waiting")
    return say(state, out, ctx.lines["help" if event.name == "more_help" else line], kind="info"), out


def _wait_begin(state: State, event: Intent, now: int, ctx: Context, out: list[Action]) -> Result:
    out.append(Hush())
    return begin(state, "user", now, ctx, out)


def _wait_start_over(state: State, event: Intent, now: int, ctx: Context, out: list[Action]) -> Result:
    out.append(Hush())
    return start_over(state, now, ctx, out)


def _wait_stop(state: State, event: Intent, now: int, ctx: Context, out: list[Action]) -> Result:
    out.append(Hush())
    if event.spoken and not state.wait.stop_asked:  # "start" is easily heard as "stop"
        # a question the coach asks waits for its answer: the line it cuts off (the opening, still being said) must
        # not start the wait for "start" when it ends, nor that wait's timer begin the routine over the question
        state = done_waiting(replace(state, wait=replace(state.wait, stop_asked=True, until=None)))
        return say(state, out, ctx.lines["confirm_stop"], kind="info"), out
    return finish(state, False, ctx, out)


def _wait_pause(state: State, event: Intent, now: int, ctx: Context, out: list[Action]) -> Result:
    state = done_waiting(replace(state, wait=replace(state.wait, until=None)))
    return say(state, out, ctx.lines["waiting_for_start"], kind="info"), out


def _wait_where(state: State, now: int, ctx: Context) -> str:
    return where(state, now, ctx) if state.wait.choice == "ready" else where_waiting(state, ctx)


_WAITING = Table({
    **_COMMON,
    "resume": _wait_begin,
    "next": _wait_begin,
    "back": _wait_start_over,
    "stop": _wait_stop,
    "pause": _wait_pause,
    "detailed": _sets_verbosity("detailed"),
    "where": _informs(_wait_where),
    "repeat": _informs(lambda state, now, ctx: text_of(state, state.plan[0], ctx)),
    "help": _wait_help,
    "more_help": _wait_help,
}, {**_COMMON_GUARDS, "back": lambda state, ctx: state.wait.choice == "resume"}, fallback=_wait_help)


# ---- under way: running, answering or paused ----

def _stop(state: State, event: Intent, now: int, ctx: Context, out: list[Action]) -> Result:
    out.append(Hush())
    return finish(state, False, ctx, out, now=now)


def _pause(state: State, event: Intent, now: int, ctx: Context, out: list[Action]) -> Result:
    out.append(Hush())
    state = set_mode(freeze(interrupted(state), now), "paused", out)
    return say(state, out, ctx.lines["paused"], kind="info"), out


def _carry_on(state: State, event: Intent, now: int, ctx: Context, out: list[Action]) -> Result:
    """"Carry on" when not paused: in a hold, keep holding; otherwise say there is nothing to resume."""
    if state.timer.running and state.timer.frozen_at is None:
        seconds = spoken_seconds(math.ceil(remaining_ms(state, now) / 1000), ctx.lines)
        line = "keep_holding" if state.step.kind == "hold" else "doing_rest"
        return say(state, out, fill(ctx.lines[line], seconds=seconds), kind="info"), out
    return say(state, out, ctx.lines["not_paused"], kind="info"), out


def _resume(state: State, event: Intent, now: int, ctx: Context, out: list[Action]) -> Result:
    out.append(Hush())
    if state.timer.frozen_at is not None and remaining_ms(state, now) > 0:
        seconds = spoken_seconds(math.ceil(remaining_ms(state, now) / 1000), ctx.lines)
        return say(state, out, fill(ctx.lines["resuming_timer"], seconds=seconds), then="unfreeze"), out
    return say(state, out, ctx.lines["resuming"], then="unfreeze"), out


def _detailed(state: State, event: Intent, now: int, ctx: Context, out: list[Action]) -> Result:
    """"More detail" right after an answer means tell me more; otherwise it sets the verbosity."""
    if state.attention.fresh_answer:
        return _tell_more(state, event, now, ctx, out)
    return _sets_verbosity("detailed")(state, event, now, ctx, out)


def _adds(seconds: int) -> Handler:
    def handler(state: State, event: Intent, now: int, ctx: Context, out: list[Action]) -> Result:
        if not (state.timer.running and state.step.kind == "hold"):
            return say(state, out, ctx.lines["add_time_no_hold"], kind="info"), out
        state = replace(state, timer=replace(state.timer, added=state.timer.added + seconds))
        left = spoken_seconds(math.ceil(remaining_ms(state, now) / 1000), ctx.lines)
        return say(state, out, fill(ctx.lines["time_added"], added=spoken_seconds(seconds, ctx.lines), left=left),
                   kind="info"), out
    return handler


def _end_hold_early(state: State, now: int, out: list[Action]) -> None:
    out.append(Record("hold_end", {"held": elapsed_ms(state, now) / 1000, "seconds": timer_seconds(state),
                                   "early": True}))


def _other_side(state: State, event: Intent, now: int, ctx: Context, out: list[Action]) -> Result:
    current = state.step
    target = next((i for i in range(state.index + 1, len(state.plan))
                   if state.plan[i].exercise == current.exercise and state.plan[i].side
                   and state.plan[i].side != current.side), None)
    if not current.side or target is None:
        return say(state, out, ctx.lines["no_other_side"], kind="info"), out
    out.append(Hush())
    if state.timer.running and state.step.kind == "hold":
        _end_hold_early(state, now, out)
    return enter(set_mode(state, "running", out), target, now, ctx, out)


def _leave_step(state: State, now: int, out: list[Action]) -> tuple[State, bool]:
    """Silence, run again, and log a hold left early; whether it was a hold."""
    out.append(Hush())
    state = set_mode(state, "running", out)
    in_hold = state.timer.running and state.step.kind == "hold"
    if in_hold:
        _end_hold_early(state, now, out)
    return state, in_hold


def _next(state: State, event: Intent, now: int, ctx: Context, out: list[Action]) -> Result:
    state, _ = _leave_step(state, now, out)
    return advance(state, now, ctx, out)


def _back(state: State, event: Intent, now: int, ctx: Context, out: list[Action]) -> Result:
    state, in_hold = _leave_step(state, now, out)
    restart = in_hold and elapsed_ms(state, now) >= BACK_RESTARTS_AFTER_MS
    return enter(state, state.index if restart else previous(state), now, ctx, out)


_UNDER_WAY: Mapping[IntentName, Handler] = {
    **_COMMON,
    "stop": _stop,
    "pause": _pause,
    "resume": _carry_on,
    "detailed": _detailed,
    "add_ten_seconds": _adds(10),
    "add_thirty_seconds": _adds(30),
    "other_side": _other_side,
    "next": _next,
    "back": _back,
    "repeat": _informs(lambda state, now, ctx: current_instruction(state, ctx)),
    "where": _informs(where),
    "help": _informs(lambda state, now, ctx: help_line(state, ctx)),
    "more_help": _informs(lambda state, now, ctx: ctx.lines["help"]),
}


_still_paused = _informs(lambda state, now, ctx: ctx.lines["already_paused"])


def _pause_paused(state: State, event: Intent, now: int, ctx: Context, out: list[Action]) -> Result:
    """"Pause" while paused. Said over "Resuming…", it pauses as it would in the hold: the line is cut off and its
    end no longer restarts the hold. Otherwise the session says it is still paused."""
    handler = _pause if state.speech.then == "unfreeze" else _still_paused
    return handler(state, event, now, ctx, out)


def _repeat_paused(state: State, event: Intent, now: int, ctx: Context, out: list[Action]) -> Result:
    """Paused, after a reply cut the safety advice off and offered it again: "repeat" says the advice."""
    if not state.attention.safety_offered:
        return _UNDER_WAY["repeat"](state, event, now, ctx, out)
    out.append(Hush())
    return _safety_advice(state, ctx, out), out


_RUNNING = Table(_UNDER_WAY, _COMMON_GUARDS)
_PAUSED = Table({**_UNDER_WAY, "pause": _pause_paused, "resume": _resume, "repeat": _repeat_paused},
                _COMMON_GUARDS)
_CLOSED = Table({"pain": _pain})  # before the start and while closing: only pain is heard

TABLES: Mapping[Mode, Table] = {"ready": _CLOSED, "waiting": _WAITING, "running": _RUNNING, "answering": _RUNNING,
                                "paused": _PAUSED, "ending": _CLOSED, "ended": Table({})}
