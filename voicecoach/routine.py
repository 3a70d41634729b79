"""Routine model and the loader that validates hand-written routine YAML files."""
from __future__ import annotations

import difflib
import math
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import yaml

COUNT_STYLES = ("each", "fives", "none")


@dataclass(frozen=True)
class Step:
    kind: str                 # "say" | "hold" | "rest"
    text: str = ""            # for say
    seconds: int = 0          # for hold and rest
    count: str = "each"       # for hold: each | fives | none
    detail: bool = False      # for say: only said when the user asks for more detail
    once: bool = False        # for say: said on the exercise's first side only (true for every side)


@dataclass(frozen=True)
class Exercise:
    name: str
    steps: tuple[Step, ...]
    sides: tuple[str, ...] = ()
    tip: str = ""


@dataclass(frozen=True)
class Routine:
    id: str                   # bundled id (file stem) or the path given
    name: str
    exercises: tuple[Exercise, ...]
    about: str = ""
    source: str = ""


class RoutineError(Exception):
    """A problem in a routine file, located at file:line:col."""

    def __init__(self, file: str, line: int, column: int, message: str):
        super().__init__(f"{file}:{line}:{column}: {message}")
        self.file, self.line, self.column, self.message = file, line, column, message


MAX_BYTES = 256 * 1024
MAX_DEPTH = 20            # a valid routine nests 5 deep
MAX_TEXT = 500            # characters in any one text
MAX_STEPS = 500           # steps in a routine, counting each side
MAX_SIDES = 10
MAX_NODES = 20_000        # keys and values; the largest valid routine has about 7,000
MIN_SECONDS, MAX_SECONDS = 1, 600

BUNDLED_DIR = Path(__file__).parent / "data" / "routines"

ROUTINE_KEYS = ("name", "about", "source", "exercises")
EXERCISE_KEYS = ("name", "sides", "steps", "tip")
STEP_KINDS = ("say", "hold", "rest")
STEP_KEYS = STEP_KINDS + ("count", "detail", "once")

_TAG = "tag:yaml.org,2002:"
_STR, _NULL, _INT, _FLOAT = (_TAG + t for t in ("str", "null", "int", "float"))
_Parser = getattr(yaml, "CSafeLoader", yaml.SafeLoader)   # libyaml when present: ~15x faster
_resolver = yaml.resolver.Resolver()
_NOT_YAML_TEXT = re.compile("[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF]")
_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_DECIMAL = re.compile(r"[-+]?[0-9]+")


class _Problem(Exception):
    """A validation failure at a YAML mark (or node); turned into RoutineError with the file name."""

    def __init__(self, where, message: str):
        mark = getattr(where, "start_mark", where)
        self.line, self.column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        self.message = message


def load_routine_text(text: str | bytes, file: str, routine_id: str) -> Routine:
    """Parse and validate one routine document; raise RoutineError("file:line:col: what to change").

    The document is a mapping:
      name: text (required)          about: text (optional)          source: text (optional)
      exercises: list (required, at least one) of mappings:
        name: text (required)
        sides: list of distinct texts (optional); the steps run once per side and "{side}" in a
               say line is replaced by the side (plain string replacement; no other {placeholder})
        steps: list (required, at least one); each is a mapping with exactly one of
               say: text | hold: whole seconds 1..600 | rest: whole seconds 1..600,
               and `count: each | fives | none` (default each) allowed on hold steps only,
               and `detail: true` on say steps said only at the detailed verbosity,
               and `once: true` on say steps said on the first side only (set-up true for every side)
        tip: text (optional), said once after the exercise; it cannot use {side}
    Texts are collapsed to single spaces and must be 1..500 characters; a plain scalar such as
    `yes` or `1984` in a text field is taken as written. Seconds are decimal integers only.
    Refused: files over 256 KiB, bytes that are not UTF-8 or contain NUL, control characters,
    anchors/aliases (& and *, which also rules out "billion laughs" expansion), YAML tags other
    than !!str, nesting deeper than 20, more than 20,000 keys and values, duplicate keys,
    unknown keys (with a did-you-mean), more than one document, more than 10 sides, and more
    than 500 steps (counting each side). Any other failure also becomes a RoutineError.
    Lines and columns are 1-based and point at the offending key or value.
    """
    try:
        return _load(text, routine_id)
    except _Problem as problem:
        raise RoutineError(file, problem.line, problem.column, problem.message) from None
    except Exception as error:  # the loader must never leak a traceback to the user
        raise RoutineError(file, 1, 1, f"could not read this routine ({type(error).__name__}: {error})") from None


def load_routine_file(path: str | Path, routine_id: str | None = None) -> Routine:
    """Read and validate a routine file; its id is `routine_id` or else the path as given."""
    name = str(path)
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
            if len(data) > MAX_BYTES:
                size = max(len(data), os.fstat(handle.fileno()).st_size)
                raise RoutineError(name, 1, 1, _too_large(size).message)
    except FileNotFoundError:
        raise RoutineError(name, 0, 0, "file not found") from None
    except IsADirectoryError:
        raise RoutineError(name, 0, 0, "this is a folder, not a routine file") from None
    except PermissionError:
        raise RoutineError(name, 0, 0, "cannot read this file: permission denied") from None
    except (OSError, ValueError) as error:
        raise RoutineError(name, 0, 0, f"cannot read this file: {getattr(error, 'strerror', None) or error}") from None
    return load_routine_text(data, name, name if routine_id is None else routine_id)


def bundled_routine_ids() -> list[str]:
    """The ids (file stems) of the routines shipped with voicecoach, sorted."""
    return sorted(path.stem for path in BUNDLED_DIR.glob("*.yaml"))


def bundled_routine_path(routine_id: str) -> Path:
    """The file of a bundled routine; RoutineError if there is no such id."""
    if routine_id not in bundled_routine_ids():
        raise RoutineError(routine_id, 0, 0, _unknown_routine(routine_id, bundled_routine_ids()))
    return BUNDLED_DIR / f"{routine_id}.yaml"


def resolve_routine(name_or_path: str, user_dir: Path | None) -> Routine:
    """Load a routine named by path (an existing file, or anything ending .yaml/.yml or holding a
    slash), else by bundled id, else as `<user_dir>/<name>.yaml` (or .yml); RoutineError if none exists."""
    path = Path(name_or_path)
    if _is_file(path) or path.suffix.lower() in (".yaml", ".yml") or "/" in name_or_path or "\\" in name_or_path:
        if not _is_file(path) and not _is_dir(path):
            raise RoutineError(name_or_path, 0, 0, "file not found; give a bundled routine name or the path of a .yaml file")
        return load_routine_file(path, routine_id=name_or_path)
    bundled = bundled_routine_ids()
    if name_or_path in bundled:
        return load_routine_file(BUNDLED_DIR / f"{name_or_path}.yaml", routine_id=name_or_path)
    for suffix in (".yaml", ".yml") if user_dir is not None else ():
        if _is_file(Path(user_dir) / f"{name_or_path}{suffix}"):
            return load_routine_file(Path(user_dir) / f"{name_or_path}{suffix}", routine_id=name_or_path)
    users = sorted({p.stem for p in Path(user_dir).glob("*.y*ml") if p.suffix in (".yaml", ".yml")}) \
        if user_dir is not None and _is_dir(Path(user_dir)) else []
    raise RoutineError(name_or_path, 0, 0, _unknown_routine(name_or_path, bundled, users, user_dir))


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):   # e.g. a name too long for the file system, or holding NUL
        return False


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except (OSError, ValueError):
        return False


def _unknown_routine(name: str, bundled: list[str], users: list[str] = (), user_dir: Path | None = None) -> str:
    message = f"no routine called {_quoted(name)}; bundled ones are: {', '.join(bundled) or 'none'}"
    if users:
        message += f"; yours in {user_dir} are: {', '.join(users)}"
    close = difflib.get_close_matches(name.lower(), [*bundled, *users], n=1, cutoff=0.6)
    return message + (f" (did you mean {_quoted(close[0])}?)" if close else "")


# ---- text -> nodes -------------------------------------------------------------------------

def _load(text: str | bytes, routine_id: str) -> Routine:
    text = _as_text(text)
    root = _compose(text)
    if root is None or (isinstance(root, yaml.ScalarNode) and root.tag == _NULL):
        raise _Problem(None, 'the file is empty; a routine needs "name:" and "exercises:"')
    return _routine(root, routine_id)


def _as_text(data: str | bytes) -> str:
    if isinstance(data, str):
        size = len(data) if len(data) > 4 * MAX_BYTES else len(data.encode("utf-8", "surrogatepass"))
        if size > MAX_BYTES:
            raise _too_large(size)
        text = data
    else:
        data = bytes(data)
        if len(data) > MAX_BYTES:
            raise _too_large(len(data))
        if b"\0" in data:
            line, column = _byte_position(data, data.index(b"\0"))
            raise _Problem(None, f"not a text file: it holds a NUL byte (first at line {line}, column {column})")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            line, column = _byte_position(data, error.start)
            raise _Problem(None, f"not a text file: byte 0x{data[error.start]:02x} at line {line}, column {column} "
                                 "is not UTF-8; save the routine as UTF-8 text") from None
    bad = _NOT_YAML_TEXT.search(text)
    if bad:
        char = bad.group()
        line, column = _char_position(text, bad.start())
        if char == "\0":
            raise _Problem(None, f"not a text file: it holds a NUL character (first at line {line}, column {column})")
        raise _Problem(_Mark(line, column), f"character U+{ord(char):04X} is not allowed in a routine file; remove it")
    return text


def _too_large(size: int) -> _Problem:
    return _Problem(None, f"file is too large ({math.ceil(size / 1024)} KiB); a routine file must be at most {MAX_BYTES // 1024} KiB")


class _Mark:
    """A 1-based position turned into the 0-based shape of a YAML mark."""

    def __init__(self, line: int, column: int):
        self.line, self.column = line - 1, column - 1


def _byte_position(data: bytes, index: int) -> tuple[int, int]:
    before = data[:index]
    return before.count(b"\n") + 1, index - (before.rfind(b"\n") + 1) + 1


def _char_position(text: str, index: int) -> tuple[int, int]:
    breaks = list(_LINE_BREAK.finditer(text, 0, index))
    return len(breaks) + 1, index - (breaks[-1].end() if breaks else 0) + 1


def _char_at(text: str, line: int, column: int) -> str:
    """The character at 0-based line/column, or "" past the end."""
    lines = _LINE_BREAK.split(text, maxsplit=line + 1)
    return lines[line][column:column + 1] if line < len(lines) else ""


def _compose(text: str) -> yaml.Node | None:
    """Build the node tree ourselves from parser events, so aliases, tags and depth are checked first."""
    parser = _Parser(text)
    try:
        parser.get_event()                                    # stream start
        if parser.check_event(yaml.StreamEndEvent):
            return None
        parser.get_event()                                    # document start
        root = _node(parser, 1, [MAX_NODES])
        parser.get_event()                                    # document end
        if not parser.check_event(yaml.StreamEndEvent):
            raise _Problem(parser.get_event(), "only one routine per file; remove this second document")
        return root
    except yaml.MarkedYAMLError as error:
        raise _syntax_problem(error, text) from None
    except yaml.YAMLError as error:
        raise _Problem(None, f"YAML error: {error}") from None
    finally:
        parser.dispose()


def _node(parser, depth: int, budget: list[int]) -> yaml.Node:
    event = parser.get_event()
    budget[0] -= 1
    if budget[0] < 0:
        raise _Problem(event, f"too much in one file: more than {MAX_NODES} keys and values; "
                              f"a routine holds at most {MAX_STEPS} steps, so split it into smaller routines")
    if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
        raise _Problem(event, "anchors and aliases (& and *) are not allowed in routine files; write each value out in full")
    if event.tag not in (None, "!", _STR):
        shown = "!!" + event.tag[len(_TAG):] if event.tag.startswith(_TAG) else event.tag
        raise _Problem(event, f"YAML tags such as {_truncated(shown)} are not allowed in routine files; write plain values")
    if depth > MAX_DEPTH:
        raise _Problem(event, f"nesting is too deep (more than {MAX_DEPTH} levels); a routine needs only 5")
    if isinstance(event, yaml.ScalarEvent):
        tag = _STR if event.tag is not None else _resolver.resolve(yaml.ScalarNode, event.value, event.implicit)
        return yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
    if isinstance(event, yaml.SequenceStartEvent):
        items = []
        while not parser.check_event(yaml.SequenceEndEvent):
            items.append(_node(parser, depth + 1, budget))
        end = parser.get_event()
        return yaml.SequenceNode(_TAG + "seq", items, event.start_mark, end.end_mark)
    if isinstance(event, yaml.MappingStartEvent):
        pairs = []
        while not parser.check_event(yaml.MappingEndEvent):
            pairs.append((_node(parser, depth + 1, budget), _node(parser, depth + 1, budget)))
        end = parser.get_event()
        return yaml.MappingNode(_TAG + "map", pairs, event.start_mark, end.end_mark)
    raise _Problem(event, f"unexpected YAML {type(event).__name__}")


def _syntax_problem(error: yaml.MarkedYAMLError, text: str) -> _Problem:
    mark = error.problem_mark or error.context_mark
    if mark is not None and _char_at(text, mark.line, mark.column) == "\t":
        return _Problem(mark, "tab character here; YAML needs spaces, not tabs, for indentation and between items")
    if error.problem and "maximum nesting depth" in error.problem:    # libyaml's own limit, met while looking ahead
        return _Problem(mark, f"nesting is too deep (more than {MAX_DEPTH} levels); a routine needs only 5")
    message = f"YAML syntax error: {error.problem or error.context}"
    context = error.context_mark
    if error.context and error.problem and context is not None and (context.line, context.column) != (mark.line, mark.column):
        message += f" ({error.context} at line {context.line + 1}, column {context.column + 1})"
    if error.problem and "mapping values are not allowed" in error.problem:
        message += '; if a text contains ": ", put the whole text in quotes'
    return _Problem(mark, message)


# ---- nodes -> model ------------------------------------------------------------------------

def _routine(node: yaml.Node, routine_id: str) -> Routine:
    if not isinstance(node, yaml.MappingNode):
        raise _Problem(node, 'a routine file must be a mapping with "name:" and "exercises:" at the top level, '
                             f"got {_described(node)}")
    fields = _fields(node, ROUTINE_KEYS, "the routine")
    if "name" not in fields:
        raise _Problem(node, 'the routine needs a name (add "name: ..." at the top level)')
    if "exercises" not in fields:
        raise _Problem(node, 'the routine needs exercises (add "exercises:" with a list of exercises)')
    name = _text(fields["name"], "name")
    about = _text(fields["about"], "about") if "about" in fields else ""
    source = _text(fields["source"], "source") if "source" in fields else ""
    items = _list(fields["exercises"], "exercises", 'each exercise starting with "- name: ..."', "exercise")
    exercises, steps_so_far = [], 0
    for item in items:
        exercise = _exercise(item, steps_so_far)
        steps_so_far += len(exercise.steps) * max(1, len(exercise.sides))
        exercises.append(exercise)
    return Routine(routine_id, name, tuple(exercises), about, source)


def _exercise(node: yaml.Node, steps_so_far: int) -> Exercise:
    if not isinstance(node, yaml.MappingNode):
        raise _Problem(node, f'an exercise must be a mapping starting with "name: ...", got {_described(node)}')
    fields = _fields(node, EXERCISE_KEYS, "an exercise")
    if "name" not in fields:
        raise _Problem(node, 'the exercise needs a name (add "name: ..." to it)')
    if "steps" not in fields:
        raise _Problem(node, 'the exercise needs steps (add "steps:" with a list of say, hold and rest items)')
    name = _text(fields["name"], "name")
    sides = _sides(fields["sides"]) if "sides" in fields else ()
    tip = _text(fields["tip"], "tip") if "tip" in fields else ""
    if "tip" in fields:
        _check_placeholders(fields["tip"][1], tip, has_sides=bool(sides), in_tip=True)
    repeats = max(1, len(sides))
    steps = []
    for item in _list(fields["steps"], "steps", 'each step starting with "- say:", "- hold:" or "- rest:"', "step"):
        if steps_so_far + (len(steps) + 1) * repeats > MAX_STEPS:
            raise _Problem(item, f"too many steps: a routine may have at most {MAX_STEPS} (counting each side); "
                                 "split it into smaller routines")
        steps.append(_step(item, has_sides=bool(sides)))
    return Exercise(name, tuple(steps), sides, tip)


def _step(node: yaml.Node, has_sides: bool) -> Step:
    if not isinstance(node, yaml.MappingNode):
        hint = f' (to speak it, write "- say: {_truncated(node.value)}")' if _is_text(node) else ""
        raise _Problem(node, f'a step must be one of "say: ...", "hold: 30" or "rest: 5", got {_described(node)}{hint}')
    fields = _fields(node, STEP_KEYS, "a step")
    kinds = [key for key in fields if key in STEP_KINDS]
    if not kinds:
        raise _Problem(node, 'the step needs one of "say: ...", "hold: seconds" or "rest: seconds"')
    if len(kinds) > 1:
        raise _Problem(fields[kinds[1]][0], f'a step does one thing, but this one has both "{kinds[0]}" and "{kinds[1]}"; '
                                            'put each in its own "- " item')
    kind = kinds[0]
    if "count" in fields and kind != "hold":
        raise _Problem(fields["count"][0], f'"count" only goes with a hold step; remove it from this {kind} step')
    if "detail" in fields and kind != "say":
        raise _Problem(fields["detail"][0], f'"detail" only goes with a say step; remove it from this {kind} step')
    if "once" in fields and kind != "say":
        raise _Problem(fields["once"][0], f'"once" only goes with a say step; remove it from this {kind} step')
    if kind == "say":
        text = _text(fields["say"], "say")
        _check_placeholders(fields["say"][1], text, has_sides=has_sides, in_tip=False)
        return Step("say", text=text, detail=_flag(fields["detail"]) if "detail" in fields else False,
                    once=_flag(fields["once"], "once") if "once" in fields else False)
    seconds = _seconds(fields[kind], kind)
    if kind == "rest":
        return Step("rest", seconds=seconds)
    return Step("hold", seconds=seconds, count=_count(fields["count"]) if "count" in fields else "each")


def _flag(field, name: str = "detail") -> bool:
    _, node = field
    if not isinstance(node, yaml.ScalarNode) or node.value not in ("true", "false"):
        raise _Problem(node, f"{name} must be true or false, got {_described(node)}")
    return node.value == "true"


def _fields(node: yaml.MappingNode, allowed: tuple[str, ...], where: str) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    """Keys of a mapping in order, each with (key node, value node); refuses duplicates and unknown keys."""
    fields: dict[str, tuple[yaml.Node, yaml.Node]] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            raise _Problem(key_node, f"keys must be plain words such as {', '.join(allowed)}, got {_described(key_node)}")
        key = key_node.value
        if key in fields:
            first = fields[key][0].start_mark.line + 1
            raise _Problem(key_node, f"duplicate key {_quoted(key)} (already given on line {first}); keep only one")
        if key not in allowed:
            close = difflib.get_close_matches(key.strip().lower(), allowed, n=1, cutoff=0.6)
            advice = f"did you mean {_quoted(close[0])}?" if close else f"allowed keys are {', '.join(allowed)}"
            raise _Problem(key_node, f"unknown key {_quoted(key)} in {where}; {advice}")
        fields[key] = (key_node, value_node)
    return fields


def _list(field, what: str, shape: str, item: str) -> list[yaml.Node]:
    key_node, node = field
    if isinstance(node, yaml.ScalarNode) and node.tag == _NULL or isinstance(node, yaml.SequenceNode) and not node.value:
        raise _Problem(node if isinstance(node, yaml.SequenceNode) else key_node, f"{what} must list at least one {item}")
    if not isinstance(node, yaml.SequenceNode):
        raise _Problem(node, f"{what} must be a list, with {shape}; got {_described(node)}")
    return node.value


def _text(field, what: str) -> str:
    key_node, node = field
    if not isinstance(node, yaml.ScalarNode):
        raise _Problem(node, f"{what} must be text, got {_described(node)}")
    text = "" if node.tag == _NULL else " ".join(node.value.split())
    if not text:
        raise _Problem(node if node.end_mark.index > node.start_mark.index else key_node, f"{what} is empty; write some words after \"{what}:\"")
    if len(text) > MAX_TEXT:
        raise _Problem(node, f"{what} is too long ({len(text)} characters); keep it under {MAX_TEXT}: "
                             "short sentences are easier to follow by ear")
    odd = next((c for c in text if unicodedata.category(c) in ("Cc", "Cs")), None)
    if odd is not None:
        raise _Problem(node, f"{what} holds the control character U+{ord(odd):04X}; remove it")
    return text


def _check_placeholders(node: yaml.Node, text: str, has_sides: bool, in_tip: bool) -> None:
    for name in _PLACEHOLDER.findall(text):
        if name != "side":
            raise _Problem(node, f"unknown placeholder {{{_truncated(name)}}}; the only one is {{side}}")
        if in_tip:
            raise _Problem(node, "a tip is said once, after all sides, so it cannot use {side}; remove it")
        if not has_sides:
            raise _Problem(node, '{side} is used but the exercise has no sides; '
                                 'add "sides: [left, right]" to the exercise or remove {side}')


def _sides(field) -> tuple[str, ...]:
    key_node, node = field
    if not isinstance(node, yaml.SequenceNode) or not node.value:
        raise _Problem(node, f"sides must be a list of side names such as [left, right], got {_described(node)}")
    if len(node.value) > MAX_SIDES:
        raise _Problem(node.value[MAX_SIDES], f"too many sides; an exercise may have at most {MAX_SIDES}")
    sides: list[str] = []
    for item in node.value:
        side = " ".join(item.value.split()) if isinstance(item, yaml.ScalarNode) and item.tag != _NULL else ""
        if not side:
            raise _Problem(item, f"each side must be a name such as left or right, got {_described(item)}")
        side = _text((key_node, item), "a side")
        if side.lower() in (s.lower() for s in sides):
            raise _Problem(item, f"side {_quoted(side)} is listed twice; list each side once")
        sides.append(side)
    return tuple(sides)


def _seconds(field, kind: str) -> int:
    node = field[1]
    wanted = f"{kind} must be a number of seconds between {MIN_SECONDS} and {MAX_SECONDS}, got {_described(node)}"
    if _is_text(node) and _DECIMAL.fullmatch(node.value.strip()):
        raise _Problem(node, f"{wanted} (remove the quotes)")
    if not isinstance(node, yaml.ScalarNode) or node.tag not in (_INT, _FLOAT):
        raise _Problem(node, wanted)
    if node.tag == _FLOAT or not _DECIMAL.fullmatch(node.value):
        raise _Problem(node, f"{kind} must be a whole number of seconds between {MIN_SECONDS} and {MAX_SECONDS}, "
                             f"written like 30, got {_described(node)}")
    digits = node.value.lstrip("+-").lstrip("0") or "0"
    if len(digits) > 4 or not MIN_SECONDS <= int(node.value) <= MAX_SECONDS:
        raise _Problem(node, wanted)
    return int(node.value)


def _count(field) -> str:
    node = field[1]
    style = node.value.strip().lower() if isinstance(node, yaml.ScalarNode) and node.tag != _NULL else None
    if style not in COUNT_STYLES:
        raise _Problem(node, f"count must be one of {', '.join(COUNT_STYLES)}, got {_described(node)}")
    return style


def _is_text(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == _STR


def _described(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping (key: value lines)"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if node.tag == _NULL:
        return "nothing"
    if node.tag == _STR:
        return _quoted(node.value)
    return _truncated(node.value)


def _quoted(text: str) -> str:
    return f'"{_truncated(text)}"'


def _truncated(text: str, limit: int = 40) -> str:
    text = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in text[:limit + 1])
    return text if len(text) <= limit else text[:limit] + "…"
