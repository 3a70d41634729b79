"""What the coach says when asked: where the user is, how long is left, which side, help, and the summaries."""
from __future__ import annotations

import math
import re

from voicecoach.plan import fill, spoken_minutes, spoken_seconds
from voicecoach.session_state import Context, State, estimate_ms, exercise_of, remaining_ms, routine_name


def plural(count: int, name: str, ctx: Context) -> str:
    return ctx.lines[f"{name}_one"] if count == 1 else fill(ctx.lines[f"{name}_many"], count=count)


def summary(state: State, now: int, ctx: Context) -> str:
    total = 1 + max(s.exercise for s in state.plan)
    minutes = spoken_minutes(now / 1000, ctx.lines)
    if state.completed:
        text = fill(ctx.lines["summary_completed"], exercises=plural(total, "exercises", ctx), minutes=minutes)
    else:
        text = fill(ctx.lines["summary_stopped"], number=state.step.exercise + 1, total=total, minutes=minutes)
    if ctx.week is None:
        return text
    return text + " " + fill(ctx.lines["summary_week"], sessions=plural(ctx.week.sessions + 1, "sessions", ctx))


def progress(now: int, ctx: Context) -> str:
    """This week so far, counting the session under way: sessions, minutes, days in a row."""
    if ctx.week is None:
        return ctx.lines["progress_unknown"]
    days = ctx.week.days_in_a_row + 1
    return fill(ctx.lines["progress"], sessions=plural(ctx.week.sessions + 1, "sessions", ctx),
                 minutes=spoken_minutes(ctx.week.seconds + now / 1000, ctx.lines),
                 days=ctx.lines["streak_one"] if days == 1 else fill(ctx.lines["streak_many"], count=days))


def help_line(state: State, ctx: Context) -> str:
    """The few commands that matter right now; "more help" gives the rest."""
    if state.mode == "paused":
        return ctx.lines["help_paused"]
    if state.timer.running and state.step.kind == "hold":
        return ctx.lines["help_hold"]
    return ctx.lines["help_step"]


def current_instruction(state: State, ctx: Context) -> str:
    for index in range(state.index, -1, -1):
        candidate = state.plan[index]
        if candidate.kind == "say" and candidate.exercise == state.step.exercise:
            return candidate.text
    return state.plan[state.index].text or ctx.lines["help"]


def time_left(state: State, now: int, ctx: Context) -> str:
    if state.step.kind in ("hold", "rest"):
        seconds = spoken_seconds(math.ceil(remaining_ms(state, now) / 1000), ctx.lines)
        return fill(ctx.lines["seconds_left_paused" if state.timer.frozen_at is not None else "seconds_left"],
                     seconds=seconds)
    return fill(ctx.lines["routine_left"], minutes=spoken_minutes(estimate_ms(state, ctx) / 1000, ctx.lines))


def where_waiting(state: State, ctx: Context) -> str:
    """Where am I, while the coach waits at the opening, at the offer to continue or at the routine menu."""
    name = routine_name(state, ctx)
    if state.wait.choice == "resume":
        return fill(ctx.lines["where_offer"], name=name, **exercise_of(state))
    if state.wait.choice == "routine":
        return fill(ctx.lines["where_menu"], name=name)
    return fill(ctx.lines["where_opening"], name=name)


def which_side(state: State, ctx: Context) -> str:
    side = state.step.side
    return fill(ctx.lines["which_side"], side=side) if side else ctx.lines["no_side"]


def where(state: State, now: int, ctx: Context) -> str:
    current = state.step
    total = 1 + max(s.exercise for s in state.plan)
    seconds = spoken_seconds(math.ceil(remaining_ms(state, now) / 1000), ctx.lines)
    if state.mode == "paused":
        doing = ctx.lines["doing_paused"]
    elif state.mode == "waiting":  # only for "ready": the other waits have their own answer
        doing = ctx.lines["doing_ready"]
    elif current.kind == "hold":
        doing = fill(ctx.lines["doing_hold"], seconds=seconds)
    elif current.kind == "rest":
        doing = fill(ctx.lines["doing_rest"], seconds=seconds)
    else:
        doing = ctx.lines["doing_say"]
    side = fill(ctx.lines["where_side"], side=current.side) if current.side else ""
    rounds = max(s.round for s in state.plan if s.exercise == current.exercise)
    round_ = fill(ctx.lines["where_round"], round=current.round, rounds=rounds) if current.round else ""
    return fill(ctx.lines["where"], number=current.exercise + 1, total=total, name=current.title, side=side,
                 round=round_, doing=doing)


def first_sentence(text: str) -> tuple[str, str, str]:
    first, *rest = re.split(r"(?<=[.!?])\s+", text.strip(), maxsplit=1)
    return first, " ", rest[0] if rest else ""
