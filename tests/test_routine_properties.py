"""Property tests: the routine loader returns a Routine or raises RoutineError, never anything else."""
from __future__ import annotations

import re

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voicecoach.routine import (
    COUNT_STYLES, EXERCISE_KEYS, ROUTINE_KEYS, STEP_KEYS, Exercise, Routine, RoutineError, Step, load_routine_text,
)

FEW = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MANY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ERROR_SHAPE = re.compile(r"^r\.yaml:(\d+):(\d+): \S.*", re.DOTALL)


def outcome(data: str | bytes) -> Routine | RoutineError:
    """Load, and check that any failure is a RoutineError with a real position and a message."""
    try:
        return load_routine_text(data, "r.yaml", "r")
    except RoutineError as error:
        shape = ERROR_SHAPE.match(str(error))
        assert shape, str(error)
        line, column = int(shape[1]), int(shape[2])
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        assert 1 <= line <= len(re.split("\r\n|[\r\n\x85\u2028\u2029]", text)) + 1
        assert column >= 1
        assert "Traceback" not in error.message and error.message
        return error


# ---- arbitrary input -------------------------------------------------------------------

@MANY
@given(st.text(max_size=400))
def test_arbitrary_text(text):
    outcome(text)


@MANY
@given(st.binary(max_size=400))
def test_arbitrary_bytes(data):
    outcome(data)


YAML_PUNCTUATION = st.sampled_from(list("-:[]{},#&*!|>'\"%@`?\t\n ") + ["- ", ": ", "\n  ", "\n    - ", "{side}", "---"])
WORDS = st.sampled_from([*ROUTINE_KEYS, *EXERCISE_KEYS, *STEP_KEYS, "30", "each", "fives", "yes", "~", "left"])


@MANY
@given(st.lists(st.one_of(YAML_PUNCTUATION, WORDS, st.text(max_size=3)), max_size=60).map("".join))
def test_yaml_like_token_soup(text):
    outcome(text)


scalars = st.one_of(st.none(), st.booleans(), st.integers(-10, 1000), st.floats(allow_nan=True),
                    st.text(max_size=20), st.sampled_from(["{side}", "{leg}", "each", "fives", "none", "left"]))
keys = st.one_of(st.sampled_from([*ROUTINE_KEYS, *EXERCISE_KEYS, *STEP_KEYS]), st.text(max_size=8))
documents = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=5),
                                                          st.dictionaries(keys, inner, max_size=5)), max_leaves=40)


@MANY
@given(documents, st.booleans())
def test_arbitrary_yaml_documents(document, flow):
    outcome(yaml.safe_dump(document, default_flow_style=flow, allow_unicode=True))


# ---- valid routines: generation, round trip, mutation -----------------------------------

def spoken(max_size: int = 60):
    letters = st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="{}")
    return st.text(letters, min_size=1, max_size=max_size).map(lambda s: " ".join(s.split())).filter(bool)


@st.composite
def steps(draw, has_sides: bool):
    kind = draw(st.sampled_from(["say", "hold", "rest"]))
    if kind == "say":
        text = draw(spoken())
        if has_sides and draw(st.booleans()):
            text = f"{text} {{side}}"
        return Step("say", text=text)
    seconds = draw(st.integers(1, 600))
    return Step(kind, seconds=seconds, count=draw(st.sampled_from(COUNT_STYLES)) if kind == "hold" else "each")


@st.composite
def exercises(draw):
    sides = tuple(draw(st.lists(spoken(12), max_size=3, unique_by=str.lower)))
    return Exercise(draw(spoken()), tuple(draw(st.lists(steps(bool(sides)), min_size=1, max_size=8))),
                    sides, draw(st.one_of(st.just(""), spoken(200))))


routines = st.builds(Routine, id=st.just("r"), name=spoken(), exercises=st.lists(exercises(), min_size=1, max_size=4)
                     .map(tuple), about=st.one_of(st.just(""), spoken()), source=st.one_of(st.just(""), spoken()))


def as_document(routine: Routine, omit_default_count: bool = False) -> dict:
    def step(s: Step) -> dict:
        if s.kind == "say":
            return {"say": s.text}
        if s.kind == "rest" or (omit_default_count and s.count == "each"):
            return {s.kind: s.seconds}
        return {"hold": s.seconds, "count": s.count}

    def exercise(e: Exercise) -> dict:
        out = {"name": e.name, **({"sides": list(e.sides)} if e.sides else {}), "steps": [step(s) for s in e.steps]}
        return {**out, "tip": e.tip} if e.tip else out

    extra = {key: getattr(routine, key) for key in ("about", "source") if getattr(routine, key)}
    return {"name": routine.name, **extra, "exercises": [exercise(e) for e in routine.exercises]}


@FEW
@given(routines, st.booleans(), st.booleans(), st.booleans())
def test_valid_routines_round_trip(routine, flow, unicode, omit_default_count):
    text = yaml.safe_dump(as_document(routine, omit_default_count), default_flow_style=flow,
                          allow_unicode=unicode, sort_keys=False)
    assert load_routine_text(text, "r.yaml", "r") == routine
    assert load_routine_text(text.encode("utf-8"), "r.yaml", "r") == routine


@st.composite
def mutated(draw):
    text = yaml.safe_dump(as_document(draw(routines)), default_flow_style=draw(st.booleans()), sort_keys=False)
    lines = text.splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 3))):
        how = draw(st.sampled_from(["delete", "insert", "replace_line", "duplicate_line", "swap_lines", "indent"]))
        at = draw(st.integers(0, max(0, len(text) - 1)))
        row = draw(st.integers(0, max(0, len(lines) - 1)))
        if how == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 20)):]
        elif how == "insert":
            text = text[:at] + draw(st.one_of(YAML_PUNCTUATION, WORDS, st.text(max_size=5))) + text[at:]
        elif how == "replace_line" and lines:
            lines[row] = draw(st.one_of(WORDS, st.text(max_size=20))) + "\n"
            text = "".join(lines)
        elif how == "duplicate_line" and lines:
            lines.insert(row, lines[row])
            text = "".join(lines)
        elif how == "swap_lines" and len(lines) > 1:
            lines[row], lines[row - 1] = lines[row - 1], lines[row]
            text = "".join(lines)
        elif how == "indent" and lines:
            lines[row] = draw(st.sampled_from([" ", "  ", "\t", "- "])) + lines[row]
            text = "".join(lines)
        lines = text.splitlines(keepends=True)
    return text


@pytest.mark.slow
@MANY
@given(mutated())
def test_mutated_valid_routines(text):
    outcome(text)


@pytest.mark.slow
@FEW
@given(mutated())
def test_mutated_routines_as_latin1_bytes(text):
    outcome(text.encode("latin-1", "replace"))
