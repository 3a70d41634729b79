"""The plan: a routine flattened into the steps a session walks through, its counts and its spoken lengths."""
from __future__ import annotations

from dataclasses import dataclass
from typing import AbstractSet, Literal, Mapping, cast

from voicecoach.routine import Routine
from voicecoach.session_events import CountStyle, Verbosity

StepKind = Literal["say", "hold", "rest"]
Level = Literal["", "normal", "detailed"]  # "": always said; normal: not when brief (tips); detailed: only then
Schedule = tuple[tuple[int, str], ...]     # (second after the hold starts, what is said)


@dataclass(frozen=True)
class PlanStep:
    """One step of the plan: a line to say, a hold or a rest."""
    kind: StepKind
    text: str = ""       # what is said (say steps)
    seconds: int = 0     # hold and rest
    count: CountStyle = "each"  # hold counting style
    exercise: int = 0    # 0-based exercise index
    side: str = ""
    title: str = ""      # the exercise's name
    level: Level = ""
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
    steps = [PlanStep("say", fill(lines["intro"], name=routine.name, about=routine.about, minutes=minutes,
                                  safety_first=safety),
                      title=first, brief_text=fill(lines["intro"], name=routine.name, about="", minutes=minutes,
                                                   safety_first=safety))]
    for number, exercise in enumerate(routine.exercises):
        title = exercise.name
        steps.append(PlanStep("say", fill(lines["exercise"], number=number + 1, total=total, name=title),
                              exercise=number, title=title))
        for round_ in range(1, exercise.rounds + 1):
            counted = round_ if exercise.rounds > 1 else 0
            if counted:  # the first round too: the user hears at once that the exercise repeats, and how often
                steps.append(PlanStep("say", fill(lines["round"], round=round_, rounds=exercise.rounds),
                                      exercise=number, title=title, round=round_))
            for turn, side in enumerate(exercise.sides or ("",)):
                if turn:  # the switch is said before anything else on the new side
                    steps.append(PlanStep("say", fill(lines["side_switch"], side=side), exercise=number, side=side,
                                          title=title, round=counted))
                again = bool(turn) or round_ > 1  # once-per-exercise lines were said on its first side
                for step in exercise.steps:
                    # the routine loader admits only these kinds and counting styles
                    steps.append(PlanStep(cast(StepKind, step.kind), step.text.replace("{side}", side), step.seconds,
                                          cast(CountStyle, step.count), number, side, title,
                                          "detailed" if step.detail else "", round=counted,
                                          once=again and step.once, move=step.kind == "say" and not step.detail))
        if exercise.tip:
            steps.append(PlanStep("say", fill(lines["tip"], tip=exercise.tip), exercise=number, title=title,
                                  level="normal"))
    steps.append(PlanStep("say", fill(lines["outro"], name=routine.name), exercise=total - 1,
                          title=routine.exercises[-1].name))
    return tuple(steps)


def said_at(plan_step: PlanStep, verbosity: Verbosity, set_up: AbstractSet[int] = frozenset()) -> bool:
    """Whether the step is said at this verbosity, given the exercises whose set-up lines were said."""
    if plan_step.once and plan_step.exercise in set_up:
        return False
    return plan_step.level == "" or verbosity == "detailed" or (plan_step.level == "normal" and verbosity == "normal")


MINUTES = "{minutes}"  # left in the intro's text by build_plan, for the estimate


def speech_ms(text: str, wpm: int) -> int:
    """How long a line takes to say at this speech rate (words a minute; 0: no time)."""
    return round(len(text.split()) * 60_000 / wpm) if wpm else 0


def plan_ms(plan: tuple[PlanStep, ...], start: int, verbosity: Verbosity, set_up: frozenset[int],
            explained: frozenset[str], lines: Mapping[str, str], wpm: int, move_ms: int) -> int:
    """How long the plan takes from step `start` to its end, as this session will say it: the steps said at its
    verbosity, once-per-exercise lines skipped as they will be, each line at the speech rate, the time to move
    after instructions, and every hold and rest in full."""
    total = 0
    for index in range(start, len(plan)):
        current = plan[index]
        if not said_at(current, verbosity, set_up):
            continue
        if current.kind == "say":
            text = current.brief_text if verbosity == "brief" and current.brief_text else current.text
            total += speech_ms(text, wpm) + (move_ms if current.move else 0)
        elif current.kind == "rest":
            total += speech_ms(fill(lines["rest"], seconds=spoken_seconds(current.seconds, lines)), wpm)
            total += current.seconds * 1000
        else:
            seconds = spoken_seconds(current.seconds, lines)
            said = [fill(lines["hold" if "hold_start" in explained else "hold_first"], seconds=seconds),
                    lines["relax"] if "hold_end" in explained else lines["hold_end_first"] + " " + lines["relax"]]
            total += sum(speech_ms(text, wpm) for text in said) + current.seconds * 1000
            set_up, explained = set_up | {current.exercise}, explained | {"hold_start", "hold_end"}
    return total


def spoken_minutes(seconds: float, lines: Mapping[str, str]) -> str:
    """A length said to the nearest 10 seconds (to the minute from ten minutes): whole minutes were 20% off."""
    if seconds >= 600:
        minutes = round(seconds / 60)
        return fill(lines["minutes_many"], count=minutes)
    rounded = max(10, round(seconds / 10) * 10)
    minutes, rest = divmod(rounded, 60)
    if not minutes:
        return fill(lines["about"], length=spoken_seconds(rest, lines))
    whole = lines["minute_one"] if minutes == 1 else fill(lines["minutes_plain"], count=minutes)
    if not rest:
        return fill(lines["about"], length=whole)
    return fill(lines["about"], length=fill(lines["minutes_and_seconds"], minutes=whole,
                                            seconds=spoken_seconds(rest, lines)))


def count_schedule(seconds: int, style: str) -> Schedule:
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


def with_cues(schedule: Schedule, seconds: int, style: str, cues: AbstractSet[str],
              lines: Mapping[str, str]) -> Schedule:
    """The count schedule with the cues timer apps give: the halfway point and "10 seconds left" of a long hold,
    and a final 3, 2, 1 in every counting style (fives has its own). A cue takes the place of a count."""
    said = dict(schedule)
    if "countdown" in cues and style != "fives":
        said.pop(seconds, None)  # the end tone marks the last second
        said.update({seconds - k: str(k) for k in (3, 2, 1) if seconds - k > 0})
    if seconds >= CUES_FROM_S:
        marks: dict[int, str] = {}
        if "halfway" in cues:
            marks[seconds // 2] = lines["halfway"]
        if "ten_left" in cues:
            marks[seconds - 10] = (marks[seconds - 10] + " " if seconds - 10 in marks else "") + lines["ten_left"]
        said.update(marks)
    return tuple(sorted(said.items()))


def spoken_seconds(seconds: int, lines: Mapping[str, str]) -> str:
    """A number of seconds in words: "1 second", "30 seconds"."""
    return lines["second_one"] if seconds == 1 else fill(lines["seconds_many"], count=seconds)


def fill(template: str, **values: object) -> str:
    """A line with its blanks filled in and its spaces tidied."""
    return " ".join(template.format(**values).split())
