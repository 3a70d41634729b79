"""Walking the plan: entering steps, the timers' ticks, finished speech, the opening's waits and the end."""
from __future__ import annotations

import math
from dataclasses import replace
from typing import Callable, Mapping

from voicecoach.plan import fill, said_at, spoken_seconds
from voicecoach.session_events import Action, End, Hush, Record, SaveProgress, SwitchRoutine, Then
from voicecoach.session_replies import summary
from voicecoach.session_state import (Context, State, cue, elapsed_ms, exercise_of, menu_wait_ms, remaining_ms,
                                      routine_name, say, schedule_of, set_mode, side_start, text_of, timer_seconds)


SKIP_LATE_MS = 500      # a count this late is dropped rather than said out of time
PAUSED_REMINDERS_S = (30, 90, 210)  # after this much silence while paused, a gentle reminder: growing intervals
PAUSED_OFFER_STOP_S = 450            # then an offer to stop, keeping the place; after it, quiet


def continue_side(state: State, ctx: Context, out: list[Action]) -> State:
    """Continue an interrupted session at the start of the interrupted side, with its set-up lines."""
    state = replace(state, index=side_start(state.plan, state.index))
    return say(state, out, fill(ctx.lines["intro_resumed"], name=routine_name(state, ctx), **exercise_of(state),
                                  safety_first=ctx.lines["safety_first"]),
                then="enter")


def offer_routines(state: State, ctx: Context, out: list[Action]) -> tuple[State, list[Action]]:
    """Say the routines by name and wait for one; silence or "resume" keeps the current one."""
    out.append(Hush())
    state = set_mode(replace(state, choice="routine", waiting_for=None, then=None), "waiting", out)
    names = [name for name, _ in ctx.routines.values()]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " " + ctx.lines["or"] + " " + names[-1]
    text = fill(ctx.lines["routine_menu"], routines=listed,
                 seconds=spoken_seconds(menu_wait_ms(ctx) // 1000, ctx.lines))
    return say(state, out, text, then="wait"), out


def switch_routine(state: State, routine: str, now: int, ctx: Context,
                    out: list[Action]) -> tuple[State, list[Action]]:
    name, plan = ctx.routines[routine]
    out.append(SwitchRoutine(routine, name, len(plan)))
    state = set_mode(replace(state, plan=plan, routine=routine, choice="start", wait_until=None), "running", out)
    return enter(state, 0, now, ctx, out)


def begin(state: State, by: str, now: int, ctx: Context, out: list[Action]) -> tuple[State, list[Action]]:
    """Leave the waiting at the opening: start the routine, or answer the offer to continue."""
    out.append(Record("begin", {"choice": state.choice, "by": by}))
    state = set_mode(replace(state, wait_until=None, waiting_for=None, then=None), "running", out)
    if state.choice == "resume":
        return continue_side(state, ctx, out), out
    if state.choice == "routine":  # the routine stays; its current step starts again (the opening: at once)
        return enter(replace(state, choice="start"), state.index, now, ctx, out)
    if state.choice == "ready":
        return enter(replace(state, choice="start", ready_at=state.index), state.index, now, ctx, out)
    return advance(state, now, ctx, out)


def start_over(state: State, now: int, ctx: Context, out: list[Action]) -> tuple[State, list[Action]]:
    out.append(Record("begin", {"choice": "start_over", "by": "user"}))
    state = set_mode(replace(state, wait_until=None, choice="start"), "running", out)
    return enter(state, 0, now, ctx, out)


def paused_deadline(state: State) -> int | None:
    times = PAUSED_REMINDERS_S + (PAUSED_OFFER_STOP_S,)
    return state.idle_since + times[state.reminders] * 1000 if state.reminders < len(times) else None


def remind_paused(state: State, ctx: Context, out: list[Action]) -> tuple[State, list[Action]]:
    line = "still_paused" if state.reminders < len(PAUSED_REMINDERS_S) else "paused_offer_stop"
    times = PAUSED_REMINDERS_S + (PAUSED_OFFER_STOP_S,)
    out.append(Record("reminder", {"line": line, "after": times[state.reminders]}))
    return say(replace(state, reminders=state.reminders + 1), out, ctx.lines[line], kind="info"), out


def enter(state: State, index: int, now: int, ctx: Context, out: list[Action],
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
            text += " " + fill(ctx.lines["start_wait"], seconds=spoken_seconds(ctx.start_wait_ms // 1000, ctx.lines))
            state = set_mode(replace(state, choice="start"), "waiting", out)
        then: Then = "wait" if opening and ctx.start_wait_ms > 0 else "advance"
        if opening and ctx.first_run_hint:
            state = say(state, out, text)
            return say(state, out, ctx.first_run_hint, kind="info", then=then), out
        return say(state, out, text, then=then), out
    if current.kind == "rest":
        text = fill(ctx.lines["rest"], seconds=spoken_seconds(current.seconds, ctx.lines))
        return say(state, out, text, then="start_timer"), out
    if ctx.wait_for_ready and state.ready_at != index:
        state = set_mode(replace(state, choice="ready"), "waiting", out)
        return say(state, out, ctx.lines["ready_prompt"], then="wait"), out
    first = ctx.tones and "hold_start" not in state.cues_explained
    seconds = spoken_seconds(current.seconds, ctx.lines)
    text = fill(ctx.lines["hold_first" if first else "hold"], seconds=seconds)
    return say(state, out, text, then="start_timer"), out


def advance(state: State, now: int, ctx: Context, out: list[Action]) -> tuple[State, list[Action]]:
    later = next((i for i in range(state.index + 1, len(state.plan))
                  if said_at(state.plan[i], state.verbosity, state.set_up)), None)
    if later is not None:
        return enter(state, later, now, ctx, out)
    return finish(state, True, ctx, out, say_goodbye=False, now=now)


def previous(state: State) -> int:
    return next((i for i in range(state.index - 1, -1, -1) if said_at(state.plan[i], state.verbosity, state.set_up)),
                0)


def finish(state: State, completed: bool, ctx: Context, out: list[Action],
            say_goodbye: bool = True, now: int | None = None) -> tuple[State, list[Action]]:
    ran = state.mode != "waiting" and (completed or state.index > 0) and now is not None
    state = set_mode(replace(state, completed=completed, timing=False, frozen_at=None), "ending", out)
    kept = say_goodbye and not completed and state.index > 0  # the store keeps a session stopped under way
    closing = ([ctx.lines["goodbye"]] if say_goodbye else []) + ([summary(state, now, ctx)] if ran and now is not None else []) \
        + ([ctx.lines["place_kept"]] if kept else [])  # how to continue comes last, where it is remembered
    if not closing:
        return end(state, out)
    for number, text in enumerate(closing, 1):
        state = say(state, out, text, kind="instruction" if number == 1 and say_goodbye else "info",
                     then="end" if number == len(closing) else None)
    return state, out


def end(state: State, out: list[Action]) -> tuple[State, list[Action]]:
    state = set_mode(replace(state, waiting_for=None, then=None), "ended", out)
    out.append(End(state.completed))
    return state, out


def tick(state: State, now: int, ctx: Context) -> tuple[State, list[Action]]:
    out: list[Action] = []
    if state.mode == "waiting" and state.wait_until is not None and now >= state.wait_until:
        return begin(state, "timeout", now, ctx, out)
    reminder_due = paused_deadline(state) if state.mode == "paused" else None
    if reminder_due is not None and now >= reminder_due:
        return remind_paused(state, ctx, out)
    if state.mode == "running" and state.settle_until is not None and now >= state.settle_until:
        return advance(replace(state, settle_until=None), now, ctx, out)
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
            state = say(state, out, words, kind="count", due=due)
        index += 1
    state = replace(state, next_count=index)
    if now >= end:
        return end_timer(state, now, ctx, out)
    return state, out


def end_timer(state: State, now: int, ctx: Context, out: list[Action],
               during_answer: bool = False) -> tuple[State, list[Action]]:
    """`now`: when the timer ran out (with during_answer, while an answer was being said, a little earlier)."""
    current = state.step
    if current.kind == "hold":
        held = (now - state.started_at) / 1000
        out.append(Record("hold_end", {"held": held, "seconds": timer_seconds(state),
                                       **({"during_answer": True} if during_answer else {})}))
        state = cue(state, out, "hold_end")
        first = ctx.tones and "hold_end" not in state.cues_explained
        state = replace(state, cues_explained=state.cues_explained | {"hold_end"}, timing=False)
        text = ctx.lines["hold_end_first"] + " " + ctx.lines["relax"] if first else ctx.lines["relax"]
        if during_answer:
            text = ctx.lines["hold_over_meanwhile"] + " " + text
        return say(state, out, text, then="advance"), out
    return advance(replace(state, timing=False), now, ctx, out)


def speech_done(state: State, said: int, now: int, ctx: Context) -> tuple[State, list[Action]]:
    """The line the machine waited on has been said: go on as it said (its `then`)."""
    if said != state.waiting_for:
        return state, []
    then = state.then
    state = replace(state, waiting_for=None, then=None)
    return (state, []) if then is None else CONTINUATIONS[then](state, now, ctx, [])


def _advance_after(state: State, now: int, ctx: Context, out: list[Action]) -> tuple[State, list[Action]]:
    if state.step.move and ctx.move_ms and state.mode == "running":
        return replace(state, settle_until=now + ctx.move_ms), out  # time to move before the next line
    return advance(state, now, ctx, out)


def _wait(state: State, now: int, ctx: Context, out: list[Action]) -> tuple[State, list[Action]]:
    wait = menu_wait_ms(ctx) if state.choice == "routine" else ctx.start_wait_ms
    if state.choice == "ready":  # "say ready when you are in position" waits for the user
        wait = 0
    return replace(state, wait_until=now + wait if wait else None), out


def _start_timer(state: State, now: int, ctx: Context, out: list[Action]) -> tuple[State, list[Action]]:
    state = replace(state, timing=True, started_at=now, frozen_at=None, next_count=0)
    if state.step.kind == "hold":
        out.append(Record("hold_start", {"seconds": state.step.seconds, "count": state.step.count}))
        state = cue(state, out, "hold_start")
        state = replace(state, cues_explained=state.cues_explained | {"hold_start"})
    return state, out


def _unfreeze(state: State, now: int, ctx: Context, out: list[Action]) -> tuple[State, list[Action]]:
    state = set_mode(state, "running", out)
    if state.frozen_at is not None:
        state = replace(state, started_at=state.started_at + now - state.frozen_at, frozen_at=None)
        return state, out
    if state.after == "advance" and state.step.kind != "say":  # the hold or rest was over: never again
        return advance(replace(state, after=None), now, ctx, out)
    return enter(state, state.index, now, ctx, out)


def answered(state: State, now: int, ctx: Context, out: list[Action]) -> tuple[State, list[Action]]:
    """An answer given while the timer ran is over: say how long is left, or that the hold ended meanwhile."""
    state = set_mode(state, "running", out)
    if now >= state.started_at + timer_seconds(state) * 1000:
        return end_timer(state, state.started_at + timer_seconds(state) * 1000, ctx, out, during_answer=True)
    passed = sum(1 for second, _ in schedule_of(state, ctx) if second * 1000 <= elapsed_ms(state, now))
    state = replace(state, next_count=max(state.next_count, passed))  # counts due meanwhile are not said late
    seconds = spoken_seconds(math.ceil(remaining_ms(state, now) / 1000), ctx.lines)
    return say(state, out, fill(ctx.lines["back_to_stretch_left"], seconds=seconds), kind="info"), out


CONTINUATIONS: Mapping[Then, Callable[[State, int, Context, list[Action]], tuple[State, list[Action]]]] = {
    "advance": _advance_after,
    "end": lambda state, now, ctx, out: end(state, out),
    "enter": lambda state, now, ctx, out: enter(state, state.index, now, ctx, out),
    "wait": _wait,
    "start_timer": _start_timer,
    "answered": answered,
    "unfreeze": _unfreeze,
}
