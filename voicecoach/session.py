"""The session state machine: step(state, event, now_ms) -> (state, actions); no I/O and no clock.

Its parts: session_events (names, inputs, outputs), plan (the routine flattened), session_state (State, Context),
session_flow (walking the plan), session_intents (what each command does, per mode), session_replies (answers)."""
from __future__ import annotations

from dataclasses import replace

from voicecoach.plan import (CUES, CUES_FROM_S, MINUTES, PlanStep, build_plan, count_schedule, fill, said_at,
                             spoken_minutes, spoken_seconds, with_cues)
from voicecoach.session_events import (Action, Adjust, Cue, End, Event, Hush, Intent, IntentName, Mode, Record,
                                       RememberSetting, Say, SaveProgress, SpeechDone, Start, SwitchRoutine, Tick)
from voicecoach.session_flow import (PAUSED_OFFER_STOP_S, PAUSED_REMINDERS_S, SKIP_LATE_MS, continue_side, enter,
                                     offer_routines, paused_deadline, speech_done, tick)
from voicecoach.ports import ListeningContext, SessionMode
from voicecoach.session_intents import BACK_RESTARTS_AFTER_MS, MISSES_BEFORE_HINT, acknowledge, acts_on, intent
from voicecoach.session_state import (Attention, Context, Pause, Speech, State, Talk, Timer, Wait, elapsed_ms, estimate_ms, exercise_of, remaining_ms,
                                      routine_name, say, schedule_of, set_mode, side_start, start_state, text_of,
                                      timer_seconds)

__all__ = ["Action", "Adjust", "BACK_RESTARTS_AFTER_MS", "CUES", "CUES_FROM_S", "Context", "Cue", "End", "Event",
           "Hush", "Intent", "IntentName", "MINUTES", "MISSES_BEFORE_HINT", "Mode", "PAUSED_OFFER_STOP_S",
           "PAUSED_REMINDERS_S", "PlanStep", "Record", "RememberSetting", "SKIP_LATE_MS", "Say", "SaveProgress",
           "SpeechDone", "Start", "State", "Attention", "Pause", "Speech", "Talk", "Timer", "Wait", "SwitchRoutine", "Tick", "build_plan", "count_schedule", "elapsed_ms",
           "estimate_ms", "listening_context", "next_deadline", "remaining_ms", "said_at", "schedule_of", "side_start", "spoken_minutes",
           "spoken_seconds", "start_state", "step", "text_of", "timer_seconds", "with_cues"]


def step(state: State, event: Event, now: int, ctx: Context) -> tuple[State, list[Action]]:
    """Advance the session by one event at time `now` (ms); return the new state and what to do. A tone explained
    for the first time is remembered for the user's next sessions (once per user, not per session)."""
    after, actions = _step(state, event, now, ctx)
    if ctx.tones and after.talk.cues_explained != state.talk.cues_explained:  # without tones, nothing was told
        actions = [*actions, RememberSetting("tones_explained", ",".join(sorted(after.talk.cues_explained)))]
    return after, actions


def _step(state: State, event: Event, now: int, ctx: Context) -> tuple[State, list[Action]]:
    if state.mode == "ended":
        return state, []
    if isinstance(event, Start):
        out: list[Action] = []
        if ctx.choose_routine and ctx.routines:
            return offer_routines(state, ctx, out)
        if ctx.offer_resume_at > 0:
            state = set_mode(replace(state, index=ctx.offer_resume_at, wait=replace(state.wait, choice="resume")), "waiting", out)
            text = fill(ctx.lines["resume_offer"], name=routine_name(state, ctx), **exercise_of(state),
                         seconds=spoken_seconds(ctx.start_wait_ms // 1000, ctx.lines))
            return say(state, out, text, then="wait"), out
        state = set_mode(state, "running", out)
        if state.index > 0:
            return continue_side(state, ctx, out), out
        return enter(state, 0, now, ctx, out, opening=True)
    if isinstance(event, Tick):
        return tick(state, now, ctx)
    if isinstance(event, SpeechDone):
        return speech_done(state, event.id, now, ctx)
    before = state.mode
    state, actions = intent(state, event, now, ctx)
    if state.mode == "paused":  # silence while paused is counted from the user's last words
        state = replace(state, pause=Pause(idle_since=now))
    if event.spoken and event.name not in (None, "pain") and before not in ("ready", "ending"):
        return acknowledge(state, actions, ctx)
    return state, actions


def next_deadline(state: State, ctx: Context) -> int | None:
    """When the session next needs a Tick (ms), or None if it is waiting on speech or the user."""
    timer = state.timer
    if state.mode == "waiting":
        return state.wait.until
    if state.mode == "paused":
        return paused_deadline(state)
    if state.mode == "running" and state.speech.settle_until is not None:
        return state.speech.settle_until
    if state.mode in ("ended", "answering") or not timer.running or timer.frozen_at is not None:
        return None  # answering: the timer runs on, and is looked at when the answer has been said
    end = timer.started_at + timer_seconds(state) * 1000
    schedule = schedule_of(state, ctx)
    if timer.next_count < len(schedule):
        return min(end, timer.started_at + schedule[timer.next_count][0] * 1000 - ctx.count_lead_ms)
    return end


def listening_context(state: State, ctx: Context) -> ListeningContext:
    """What the session would act on now, for the listener: its mode in the listener's words, the intents its
    handler table for this mode acts on (so the two cannot disagree) and the last line it said."""
    return ListeningContext(_listening_mode(state), acts_on(state, ctx), state.speech.last_line)


def _listening_mode(state: State) -> SessionMode:
    if state.mode == "waiting":  # the welcome or the offer to continue; the menu; "say ready" before a hold
        return "menu" if state.wait.choice == "routine" else "resting" if state.wait.choice == "ready" else "opening"
    if state.mode in ("paused", "answering"):
        return state.mode
    if state.mode in ("ending", "ended"):
        return "ending"
    if state.mode == "ready":
        return "opening"
    if state.timer.running and state.timer.frozen_at is None:
        return "holding" if state.step.kind == "hold" else "resting"
    return "resting" if state.speech.settle_until is not None else "saying"  # time to move after an instruction
