"""Walking the plan: entering steps, the timers' ticks, finished speech, the opening's waits and the end."""
from __future__ import annotations

import math
from dataclasses import replace
from typing import Callable, Mapping

from voicecoach.plan import fill, said_at, spoken_seconds
from voicecoach.session_events import Action, End, Hush, Record, SaveProgress, SwitchRoutine, Then
from voicecoach.session_replies import summary
from voicecoach.session_state import (Context, State, cue, done_waiting, elapsed_ms, exercise_of, explained,
                                      menu_wait_ms, remaining_ms, routine_name, say, schedule_of, set_mode,
                                      side_start, text_of, timer_seconds)


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
    state = set_mode(done_waiting(replace(state, wait=replace(state.wait, choice="routine"))), "waiting", out)
    names = [name for name, _ in ctx.routines.values()]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " " + ctx.lines["or"] + " " + names[-1]
    text = fill(ctx.lines["routine_menu"], routines=listed,
                 seconds=spoken_seconds(menu_wait_ms(ctx) // 1000, ctx.lines))
    return say(state, out, text, then="wait"), out


def switch_routine(state: State, routine: str, now: int, ctx: Context,
                    out: list[Action]) -> tuple[State, list[Action]]:
    name, plan = ctx.routines[routine]
    out.append(SwitchRoutine(routine, name, len(plan)))
    state = set_mode(replace(state, plan=plan, routine=routine, wait=replace(state.wait, choice="start", until=None)),
                     "running", out)
    return enter(state, 0, now, ctx, out)


def begin(state: State, by: str, now: int, ctx: Context, out: list[Action]) -> tuple[State, list[Action]]:
    """Leave the waiting at the opening: start the routine, or answer the offer to continue."""
    out.append(Record("begin", {"choice": state.wait.choice, "by": by}))
    state = set_mode(done_waiting(replace(state, wait=replace(state.wait, until=None))), "running", out)
    if state.wait.choice == "resume":
        return continue_side(state, ctx, out), out
    if state.wait.choice == "routine":  # the routine stays; its current step starts again (the opening: at once)
        return enter(replace(state, wait=replace(state.wait, choice="start")), state.index, now, ctx, out)
    if state.wait.choice == "ready":
        wait = replace(state.wait, choice="start", ready_at=state.index)
        return enter(replace(state, wait=wait), state.index, now, ctx, out)
    return advance(state, now, ctx, out)


def start_over(state: State, now: int, ctx: Context, out: list[Action]) -> tuple[State, list[Action]]:
    out.append(Record("begin", {"choice": "start_over", "by": "user"}))
    state = set_mode(replace(state, wait=replace(state.wait, until=None, choice="start")), "running", out)
    return enter(state, 0, now, ctx, out)


def paused_deadline(state: State) -> int | None:
    times = PAUSED_REMINDERS_S + (PAUSED_OFFER_STOP_S,)
    pause = state.pause
    return pause.idle_since + times[pause.reminders] * 1000 if pause.reminders < len(times) else None


def remind_paused(state: State, ctx: Context, out: list[Action]) -> tuple[State, list[Action]]:
    reminders = state.pause.reminders
    line = "still_paused" if reminders < len(PAUSED_REMINDERS_S) else "paused_offer_stop"
    times = PAUSED_REMINDERS_S + (PAUSED_OFFER_STOP_S,)
    out.append(Record("reminder", {"line": line, "after": times[reminders]}))
    state = replace(state, pause=replace(state.pause, reminders=reminders + 1))
    return say(state, out, ctx.lines[line], kind="info"), out


def enter(state: State, index: int, now: int, ctx: Context, out: list[Action],
           opening: bool = False) -> tuple[State, list[Action]]:
    """Start the plan's step `index`; the session's opening (the first step) then waits for "start"."""
    state = replace(state, index=index, timer=replace(state.timer, running=False, frozen_at=None, next_count=0, added=0),
                    speech=replace(state.speech, waiting_for=None, then=None, after=None, settle_until=None),
                    attention=replace(state.attention, fresh_answer=False))
    current = state.step
    if current.kind == "hold":
        state = replace(state, set_up=state.set_up | {current.exercise})
    out.append(SaveProgress(index, current.exercise + 1, current.side, current.kind))
    if current.kind == "say":
        text = text_of(state, current, ctx)
        if opening and ctx.start_wait_ms > 0:
            text += " " + fill(ctx.lines["start_wait"], seconds=spoken_seconds(ctx.start_wait_ms // 1000, ctx.lines))
            state = set_mode(replace(state, wait=replace(state.wait, choice="start")), "waiting", out)
        then: Then = "wait" if opening and ctx.start_wait_ms > 0 else "advance"
        if opening and ctx.first_run_hint:
            state = say(state, out, text)
            return say(state, out, ctx.first_run_hint, kind="info", then=then), out
        return say(state, out, text, then=then), out
    if current.kind == "rest":
        text = fill(ctx.lines["rest"], seconds=spoken_seconds(current.seconds, ctx.lines))
        return say(state, out, text, then="start_timer"), out
    if ctx.wait_for_ready and state.wait.ready_at != index:
        state = set_mode(replace(state, wait=replace(state.wait, choice="ready")), "waiting", out)
        return say(state, out, ctx.lines["ready_prompt"], then="wait"), out
    first = ctx.tones and "hold_start" not in state.talk.cues_explained
    seconds = spoken_seconds(current.seconds, ctx.lines)
    text = fill(ctx.lines["hold_first" if first else "hold"], seconds=seconds)
    return say(state, out, text, then="start_timer"), out


def advance(state: State, now: int, ctx: Context, out: list[Action]) -> tuple[State, list[Action]]:
    later = next((i for i in range(state.index + 1, len(state.plan))
                  if said_at(state.plan[i], state.talk.verbosity, state.set_up)), None)
    if later is not None:
        return enter(state, later, now, ctx, out)
    return finish(state, True, ctx, out, say_goodbye=False, now=now)


def previous(state: State) -> int:
    return next((i for i in range(state.index - 1, -1, -1)
                 if said_at(state.plan[i], state.talk.verbosity, state.set_up)), 0)


def finish(state: State, completed: bool, ctx: Context, out: list[Action],
            say_goodbye: bool = True, now: int | None = None) -> tuple[State, list[Action]]:
    ran = state.mode != "waiting" and (completed or state.index > 0) and now is not None
    state = set_mode(replace(state, completed=completed, timer=replace(state.timer, running=False, frozen_at=None)),
                     "ending", out)
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
    state = set_mode(done_waiting(state), "ended", out)
    out.append(End(state.completed))
    return state, out


def tick(state: State, now: int, ctx: Context) -> tuple[State, list[Action]]:
    out: list[Action] = []
    if state.mode == "waiting" and state.wait.until is not None and now >= state.wait.until:
        return begin(state, "timeout", now, ctx, out)
    reminder_due = paused_deadline(state) if state.mode == "paused" else None
    if reminder_due is not None and now >= reminder_due:
        return remind_paused(state, ctx, out)
    settle_until = state.speech.settle_until
    if state.mode == "running" and settle_until is not None and now >= settle_until:
        return advance(replace(state, speech=replace(state.speech, settle_until=None)), now, ctx, out)
    timer = state.timer
    if not timer.running or timer.frozen_at is not None or state.mode != "running":
        return state, out
    end = timer.started_at + timer_seconds(state) * 1000
    schedule = schedule_of(state, ctx)
    index = timer.next_count
    while index < len(schedule) and timer.started_at + schedule[index][0] * 1000 - ctx.count_lead_ms <= now:
        second, words = schedule[index]
        due = timer.started_at + second * 1000
        late = now - due > SKIP_LATE_MS
        out.append(Record("count", {"n": second, "text": words, "due": due / 1000, "skipped": late}))
        if not late:
            state = say(state, out, words, kind="count", due=due)
        index += 1
    state = replace(state, timer=replace(state.timer, next_count=index))
    if now >= end:
        return end_timer(state, now, ctx, out)
    return state, out


def end_timer(state: State, now: int, ctx: Context, out: list[Action],
               during_answer: bool = False) -> tuple[State, list[Action]]:
    """`now`: when the timer ran out (with during_answer, while an answer was being said, a little earlier)."""
    current = state.step
    if current.kind == "hold":
        held = (now - state.timer.started_at) / 1000
        out.append(Record("hold_end", {"held": held, "seconds": timer_seconds(state),
                                       **({"during_answer": True} if during_answer else {})}))
        state = cue(state, out, "hold_end")
        first = ctx.tones and "hold_end" not in state.talk.cues_explained
        state = replace(explained(state, "hold_end"), timer=replace(state.timer, running=False))
        text = ctx.lines["hold_end_first"] + " " + ctx.lines["relax"] if first else ctx.lines["relax"]
        if during_answer:
            text = ctx.lines["hold_over_meanwhile"] + " " + text
        return say(state, out, text, then="advance"), out
    return advance(replace(state, timer=replace(state.timer, running=False)), now, ctx, out)


def speech_done(state: State, said: int, now: int, ctx: Context) -> tuple[State, list[Action]]:
    """The line the machine waited on has been said: go on as it said (its `then`)."""
    if said == state.attention.safety_id:  # the safety advice was heard to its end
        state = replace(state, attention=replace(state.attention, safety_id=None))
    if said != state.speech.waiting_for:
        return state, []
    then = state.speech.then
    state = done_waiting(state)
    return (state, []) if then is None else CONTINUATIONS[then](state, now, ctx, [])


def _advance_after(state: State, now: int, ctx: Context, out: list[Action]) -> tuple[State, list[Action]]:
    if state.step.move and ctx.move_ms and state.mode == "running":
        return replace(state, speech=replace(state.speech, settle_until=now + ctx.move_ms)), out  # time to move
    return advance(state, now, ctx, out)


def _wait(state: State, now: int, ctx: Context, out: list[Action]) -> tuple[State, list[Action]]:
    wait = menu_wait_ms(ctx) if state.wait.choice == "routine" else ctx.start_wait_ms
    if state.wait.choice == "ready":  # "say ready when you are in position" waits for the user
        wait = 0
    return replace(state, wait=replace(state.wait, until=now + wait if wait else None)), out


def _start_timer(state: State, now: int, ctx: Context, out: list[Action]) -> tuple[State, list[Action]]:
    state = replace(state, timer=replace(state.timer, running=True, started_at=now, frozen_at=None, next_count=0))
    if state.step.kind == "hold":
        out.append(Record("hold_start", {"seconds": state.step.seconds, "count": state.step.count}))
        state = explained(cue(state, out, "hold_start"), "hold_start")
    return state, out


def _unfreeze(state: State, now: int, ctx: Context, out: list[Action]) -> tuple[State, list[Action]]:
    state = set_mode(state, "running", out)
    timer = state.timer
    if timer.frozen_at is not None:
        return replace(state, timer=replace(timer, started_at=timer.started_at + now - timer.frozen_at,
                                            frozen_at=None)), out
    if state.speech.after == "advance" and state.step.kind != "say":  # the hold or rest was over: never again
        return advance(replace(state, speech=replace(state.speech, after=None)), now, ctx, out)
    return enter(state, state.index, now, ctx, out)


def answered(state: State, now: int, ctx: Context, out: list[Action]) -> tuple[State, list[Action]]:
    """An answer given while the timer ran is over: say how long is left, or that the hold ended meanwhile."""
    state = set_mode(state, "running", out)
    ends_at = state.timer.started_at + timer_seconds(state) * 1000
    if now >= ends_at:
        return end_timer(state, ends_at, ctx, out, during_answer=True)
    passed = sum(1 for second, _ in schedule_of(state, ctx) if second * 1000 <= elapsed_ms(state, now))
    # counts due meanwhile are not said late
    state = replace(state, timer=replace(state.timer, next_count=max(state.timer.next_count, passed)))
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
