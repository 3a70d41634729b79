"""The checks that turn a routine file's YAML nodes into a Routine, each mistake located at its key or value."""
from __future__ import annotations

import difflib
import re
import unicodedata

import yaml

from voicecoach.routine_model import COUNT_STYLES, Exercise, Mistake, Routine, Step, quoted, truncated

MAX_TEXT = 500            # characters in any one text
MAX_STEPS = 500           # steps in a routine, counting each side
MAX_SIDES = 10
MAX_ROUNDS = 20
MIN_SECONDS, MAX_SECONDS = 1, 600

ROUTINE_KEYS = ("name", "about", "source", "exercises")
EXERCISE_KEYS = ("name", "sides", "rounds", "steps", "tip")
STEP_KINDS = ("say", "hold", "rest")
STEP_KEYS = STEP_KINDS + ("count", "detail", "once")

YAML_TAG = "tag:yaml.org,2002:"
STR_TAG, NULL_TAG, INT_TAG, FLOAT_TAG = (YAML_TAG + t for t in ("str", "null", "int", "float"))
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_DECIMAL = re.compile(r"[-+]?[0-9]+")


class Problem(Exception):
    """A validation failure at a YAML mark (or node); turned into RoutineError with the file name."""

    def __init__(self, where, message: str):
        mark = getattr(where, "start_mark", where)
        self.line: int
        self.column: int
        self.line, self.column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        self.message = message
        self.more: tuple[Mistake, ...] = ()   # the other mistakes found in the same file, in file order


def attempt(report: list[Problem], check, *args, default=None):
    """check(*args), or `default` with its problem added to `report`: the check of one part of a routine
    stops at its first problem, and the rest of the routine is still checked."""
    try:
        return check(*args)
    except Problem as problem:
        report.append(problem)
        return default


def unfinished(node: yaml.Node) -> bool:
    """A mapping or list cut short by a YAML error further on."""
    return node.end_mark is None


def routine_of(node: yaml.Node, routine_id: str, report: list[Problem]) -> Routine | None:
    if not isinstance(node, yaml.MappingNode):
        report.append(Problem(node, 'a routine file must be a mapping with "name:" and "exercises:" at the top level, '
                                    f"got {_described(node)}"))
        return None
    fields = _fields(node, ROUTINE_KEYS, "the routine", report)
    if _missing("name", fields, node):
        report.append(Problem(node, 'the routine needs a name (add "name: ..." at the top level)'))
    if _missing("exercises", fields, node):
        report.append(Problem(node, 'the routine needs exercises (add "exercises:" with a list of exercises)'))
    name = attempt(report, _text, fields["name"], "name") if fields.get("name") else None
    about = attempt(report, _text, fields["about"], "about", default="") if fields.get("about") else ""
    source = attempt(report, _text, fields["source"], "source", default="") if fields.get("source") else ""
    items = attempt(report, _list, fields["exercises"], "exercises", 'each exercise starting with "- name: ..."',
                     "exercise", default=[]) if fields.get("exercises") else []
    exercises, steps_so_far = [], [0]
    for item in items:
        exercises.append(_exercise(item, steps_so_far, report))
    if report or name is None or None in exercises:
        return None
    return Routine(routine_id, name, tuple(e for e in exercises if e is not None), about, source)


def _missing(key: str, fields: _Fields, node: yaml.MappingNode) -> bool:
    """A required key is absent: not given, not misspelt (that is reported already), and not cut off."""
    return key not in fields and key not in fields.guessed and not unfinished(node)


def _exercise(node: yaml.Node, steps_so_far: list[int], report: list[Problem]) -> Exercise | None:
    if not isinstance(node, yaml.MappingNode):
        report.append(Problem(node, f'an exercise must be a mapping starting with "name: ...", got {_described(node)}'))
        return None
    fields = _fields(node, EXERCISE_KEYS, "an exercise", report)
    if _missing("name", fields, node):
        report.append(Problem(node, 'the exercise needs a name (add "name: ..." to it)'))
    if _missing("steps", fields, node):
        report.append(Problem(node, 'the exercise needs steps (add "steps:" with a list of say, hold and rest items)'))
    name = attempt(report, _text, fields["name"], "name") if fields.get("name") else None
    has_sides = bool(fields.get("sides"))   # even if they are wrong: {side} is then not a second mistake
    sides = attempt(report, _sides, fields["sides"], default=()) if has_sides else ()
    tip = attempt(report, _text, fields["tip"], "tip", default="") if fields.get("tip") else ""
    if tip:
        attempt(report, _check_placeholders, fields["tip"][1], tip, has_sides, True)
    rounds = attempt(report, _rounds, fields["rounds"], default=1) if fields.get("rounds") else 1
    repeats = max(1, len(sides)) * rounds
    counting = "counting each side and round" if "rounds" in fields else "counting each side"
    steps = []
    items = attempt(report, _list, fields["steps"], "steps", 'each step starting with "- say:", "- hold:" or "- rest:"',
                     "step", default=[]) if fields.get("steps") else []
    for item in items:
        if steps_so_far[0] <= MAX_STEPS < steps_so_far[0] + repeats:   # said once, at the first step over
            report.append(Problem(item, f"too many steps: a routine may have at most {MAX_STEPS} "
                                        f"({counting}); split it into smaller routines"))
        steps_so_far[0] += repeats
        steps.append(_step(item, has_sides, report))
    if name is None or None in steps:
        return None
    return Exercise(name, tuple(step for step in steps if step is not None), sides, tip, rounds)


def _step(node: yaml.Node, has_sides: bool, report: list[Problem]) -> Step | None:
    if not isinstance(node, yaml.MappingNode):
        hint = f' (to speak it, write "- say: {truncated(node.value)}")' if _is_text(node) else ""
        report.append(Problem(node, f'a step must be one of "say: ...", "hold: 30" or "rest: 5", '
                                    f"got {_described(node)}{hint}"))
        return None
    fields = _fields(node, STEP_KEYS, "a step", report)
    kinds = [key for key in fields if key in STEP_KINDS]
    if not kinds:
        if not unfinished(node) and not any(key in STEP_KINDS for key in fields.guessed):
            report.append(Problem(node, 'the step needs one of "say: ...", "hold: seconds" or "rest: seconds"'))
        return None
    if len(kinds) > 1:
        report.append(Problem(fields[kinds[1]][0], f'a step does one thing, but this one has both "{kinds[0]}" and '
                                                   f'"{kinds[1]}"; put each in its own "- " item'))
        return None
    kind = kinds[0]
    problems = len(report)
    if "count" in fields and kind != "hold":
        report.append(Problem(fields["count"][0], f'"count" only goes with a hold step; remove it from this {kind} step'))
    if "detail" in fields and kind != "say":
        report.append(Problem(fields["detail"][0], f'"detail" only goes with a say step; remove it from this {kind} step'))
    if "once" in fields and kind != "say":
        report.append(Problem(fields["once"][0], f'"once" only goes with a say step; remove it from this {kind} step'))
    if kind == "say":
        text = attempt(report, _text, fields["say"], "say")
        if text is not None:
            attempt(report, _check_placeholders, fields["say"][1], text, has_sides, False)
        detail = attempt(report, _flag, fields["detail"]) if "detail" in fields else False
        once = attempt(report, _flag, fields["once"], "once") if "once" in fields else False
        return Step("say", text=text, detail=detail, once=once) if len(report) == problems else None
    seconds = attempt(report, _seconds, fields[kind], kind)
    count = attempt(report, _count, fields["count"]) if "count" in fields and kind == "hold" else "each"
    if len(report) > problems:
        return None
    return Step("rest", seconds=seconds) if kind == "rest" else Step("hold", seconds=seconds, count=count)


def _flag(field, name: str = "detail") -> bool:
    _, node = field
    if not isinstance(node, yaml.ScalarNode) or node.value not in ("true", "false"):
        raise Problem(node, f"{name} must be true or false, got {_described(node)}")
    return node.value == "true"


class _Fields(dict):
    """Key -> (key node, value node), in order; `guessed` holds the keys suggested for misspelt ones."""
    guessed: set[str]


def _fields(node: yaml.MappingNode, allowed: tuple[str, ...], where: str, report: list[Problem]) -> _Fields:
    """Keys of a mapping in order, each with (key node, value node); duplicates and unknown keys are
    reported and left out."""
    fields = _Fields()
    fields.guessed = set()
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            report.append(Problem(key_node, f"keys must be plain words such as {', '.join(allowed)}, "
                                            f"got {_described(key_node)}"))
            continue
        key = key_node.value
        if key in fields:
            first = fields[key][0].start_mark.line + 1
            report.append(Problem(key_node, f"duplicate key {quoted(key)} (already given on line {first}); keep only one"))
            continue
        if key not in allowed:
            close = difflib.get_close_matches(key.strip().lower(), allowed, n=1, cutoff=0.6)
            advice = f"did you mean {quoted(close[0])}?" if close else f"allowed keys are {', '.join(allowed)}"
            report.append(Problem(key_node, f"unknown key {quoted(key)} in {where}; {advice}"))
            fields.guessed.update(close)
            continue
        fields[key] = (key_node, value_node)
    return fields


def _list(field, what: str, shape: str, item: str) -> list[yaml.Node]:
    key_node, node = field
    if isinstance(node, yaml.SequenceNode) and unfinished(node):
        return node.value
    if isinstance(node, yaml.ScalarNode) and node.tag == NULL_TAG or isinstance(node, yaml.SequenceNode) and not node.value:
        raise Problem(node if isinstance(node, yaml.SequenceNode) else key_node, f"{what} must list at least one {item}")
    if not isinstance(node, yaml.SequenceNode):
        raise Problem(node, f"{what} must be a list, with {shape}; got {_described(node)}")
    return node.value


def _text(field, what: str) -> str:
    key_node, node = field
    if not isinstance(node, yaml.ScalarNode):
        raise Problem(node, f"{what} must be text, got {_described(node)}")
    text = "" if node.tag == NULL_TAG else " ".join(node.value.split())
    if not text:
        raise Problem(node if node.end_mark.index > node.start_mark.index else key_node, f"{what} is empty; write some words after \"{what}:\"")
    if len(text) > MAX_TEXT:
        raise Problem(node, f"{what} is too long ({len(text)} characters); keep it under {MAX_TEXT}: "
                            "short sentences are easier to follow by ear")
    odd = next((c for c in text if unicodedata.category(c) in ("Cc", "Cs")), None)
    if odd is not None:
        raise Problem(node, f"{what} holds the control character U+{ord(odd):04X}; remove it")
    return text


def _check_placeholders(node: yaml.Node, text: str, has_sides: bool, in_tip: bool) -> None:
    for name in _PLACEHOLDER.findall(text):
        if name != "side":
            raise Problem(node, f"unknown placeholder {{{truncated(name)}}}; the only one is {{side}}")
        if in_tip:
            raise Problem(node, "a tip is said once, after all sides, so it cannot use {side}; remove it")
        if not has_sides:
            raise Problem(node, '{side} is used but the exercise has no sides; '
                                'add "sides: [left, right]" to the exercise or remove {side}')


def _sides(field) -> tuple[str, ...]:
    key_node, node = field
    if not isinstance(node, yaml.SequenceNode) or not (node.value or unfinished(node)):
        raise Problem(node, f"sides must be a list of side names such as [left, right], got {_described(node)}")
    if len(node.value) > MAX_SIDES:
        raise Problem(node.value[MAX_SIDES], f"too many sides; an exercise may have at most {MAX_SIDES}")
    sides: list[str] = []
    for item in node.value:
        side = " ".join(item.value.split()) if isinstance(item, yaml.ScalarNode) and item.tag != NULL_TAG else ""
        if not side:
            raise Problem(item, f"each side must be a name such as left or right, got {_described(item)}")
        side = _text((key_node, item), "a side")
        if side.lower() in (s.lower() for s in sides):
            raise Problem(item, f"side {quoted(side)} is listed twice; list each side once, "
                                'and add "rounds: 2" to the exercise to do every side again')
        sides.append(side)
    return tuple(sides)


def _seconds(field, kind: str) -> int:
    node = field[1]
    wanted = f"{kind} must be a number of seconds between {MIN_SECONDS} and {MAX_SECONDS}, got {_described(node)}"
    if _is_text(node) and _DECIMAL.fullmatch(node.value.strip()):
        raise Problem(node, f"{wanted} (remove the quotes)")
    if not isinstance(node, yaml.ScalarNode) or node.tag not in (INT_TAG, FLOAT_TAG):
        raise Problem(node, wanted)
    if node.tag == FLOAT_TAG or not _DECIMAL.fullmatch(node.value):
        raise Problem(node, f"{kind} must be a whole number of seconds between {MIN_SECONDS} and {MAX_SECONDS}, "
                            f"written like 30, got {_described(node)}")
    digits = node.value.lstrip("+-").lstrip("0") or "0"
    if len(digits) > 4 or not MIN_SECONDS <= int(node.value) <= MAX_SECONDS:
        raise Problem(node, wanted)
    return int(node.value)


def _rounds(field) -> int:
    node = field[1]
    wanted = f"rounds must be a whole number from 1 to {MAX_ROUNDS}, such as rounds: 3, got {_described(node)}"
    if _is_text(node) and _DECIMAL.fullmatch(node.value.strip()):
        raise Problem(node, f"{wanted} (remove the quotes)")
    if not (isinstance(node, yaml.ScalarNode) and node.tag == INT_TAG and _DECIMAL.fullmatch(node.value)
            and len(node.value.lstrip("+-").lstrip("0")) <= 4 and 1 <= int(node.value) <= MAX_ROUNDS):
        raise Problem(node, wanted)
    return int(node.value)


def _count(field) -> str:
    node = field[1]
    style = node.value.strip().lower() if isinstance(node, yaml.ScalarNode) and node.tag != NULL_TAG else None
    if style not in COUNT_STYLES:
        raise Problem(node, f"count must be one of {', '.join(COUNT_STYLES)}, got {_described(node)}")
    return style


def _is_text(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == STR_TAG


def _described(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping (key: value lines)"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if node.tag == NULL_TAG:
        return "nothing"
    if node.tag == STR_TAG:
        return quoted(node.value)
    return truncated(node.value)


