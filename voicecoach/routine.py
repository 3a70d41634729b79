"""Routine model and the loader that validates hand-written routine YAML files."""
from __future__ import annotations

import difflib
import functools
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from voicecoach.files import FileTooLarge, NotRegularFile, read_regular_file
from voicecoach.package_data import load_yaml

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
    rounds: int = 1           # the steps run this many times, each time on every side


@dataclass(frozen=True)
class Routine:
    id: str                   # bundled id (file stem) or the path given
    name: str
    exercises: tuple[Exercise, ...]
    about: str = ""
    source: str = ""


@dataclass(frozen=True)
class Mistake:
    """One mistake in a routine file; line 0 means it has no position (e.g. the file is missing)."""
    line: int
    column: int
    message: str

    def located(self, file: str) -> str:
        return f"{file}:{self.line}:{self.column}: {self.message}" if self.line else f"{file}: {self.message}"


class RoutineError(Exception):
    """Mistakes in a routine file, each located at file:line:col, in file order; the first gives line,
    column and message, and str() has one line per mistake."""

    def __init__(self, file: str, line: int, column: int, message: str, more: tuple[Mistake, ...] = ()):
        self.file, self.line, self.column, self.message = file, line, column, message
        self.mistakes = (Mistake(line, column, message), *more)
        super().__init__("\n".join(mistake.located(file) for mistake in self.mistakes))


MAX_BYTES = 256 * 1024
MAX_DEPTH = 20            # a valid routine nests 5 deep
MAX_TEXT = 500            # characters in any one text
MAX_STEPS = 500           # steps in a routine, counting each side
MAX_SIDES = 10
MAX_ROUNDS = 20
MAX_NODES = 20_000        # keys and values; the largest valid routine has about 7,000
MIN_SECONDS, MAX_SECONDS = 1, 600
MAX_MISTAKES = 20         # reported in one go; more would drown a screen-reader user

BUNDLED_DIR = Path(__file__).parent / "data" / "routines"

ROUTINE_KEYS = ("name", "about", "source", "exercises")
EXERCISE_KEYS = ("name", "sides", "rounds", "steps", "tip")
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
        self.line: int
        self.column: int
        self.line, self.column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        self.message = message
        self.more: tuple[Mistake, ...] = ()   # the other mistakes found in the same file, in file order


def _attempt(report: list[_Problem], check, *args, default=None):
    """check(*args), or `default` with its problem added to `report`: the check of one part of a routine
    stops at its first problem, and the rest of the routine is still checked."""
    try:
        return check(*args)
    except _Problem as problem:
        report.append(problem)
        return default


def load_routine_text(text: str | bytes, file: str, routine_id: str) -> Routine:
    """Parse and validate one routine document; raise RoutineError("file:line:col: what to change"),
    listing every independent mistake in file order (reading stops at a YAML syntax error).

    The document is a mapping:
      name: text (required)          about: text (optional)          source: text (optional)
      exercises: list (required, at least one) of mappings:
        name: text (required)
        sides: list of distinct texts (optional); the steps run once per side and "{side}" in a
               say line is replaced by the side (plain string replacement; no other {placeholder})
        rounds: whole number 1..20 (optional, default 1); the steps run that many times, each round
               on every side in turn
        steps: list (required, at least one); each is a mapping with exactly one of
               say: text | hold: whole seconds 1..600 | rest: whole seconds 1..600,
               and `count: each | fives | none` (default each) allowed on hold steps only,
               and `detail: true` on say steps said only at the detailed verbosity,
               and `once: true` on say steps said on the first side only (set-up true for every side and round)
        tip: text (optional), said once after the exercise (after all rounds); it cannot use {side}
    Texts are collapsed to single spaces and must be 1..500 characters; a plain scalar such as
    `yes` or `1984` in a text field is taken as written. Seconds are decimal integers only.
    Refused: files over 256 KiB, bytes that are not UTF-8 or contain NUL, control characters,
    anchors/aliases (& and *, which also rules out "billion laughs" expansion), YAML tags other
    than !!str, nesting deeper than 20, more than 20,000 keys and values, duplicate keys,
    unknown keys (with a did-you-mean), more than one document, more than 10 sides, and more
    than 500 steps (counting each side and round). Any other exception is a bug in the loader, left to the CLI's last
    resort.
    Lines and columns are 1-based and point at the offending key or value.
    """
    try:
        return _load(text, routine_id)
    except _Problem as problem:
        raise RoutineError(file, problem.line, problem.column, problem.message, problem.more) from None


def load_routine_file(path: str | Path, routine_id: str | None = None) -> Routine:
    """Read and validate a routine file; its id is `routine_id` or else the path as given."""
    name = str(path)
    try:
        data = read_regular_file(path, MAX_BYTES)
    except FileTooLarge as error:
        raise RoutineError(name, 1, 1, _too_large(error.size).message) from None
    except NotRegularFile:
        raise RoutineError(name, 0, 0, "this is not a regular file (a named pipe, device or socket); "
                                       "a routine must be a plain YAML file") from None
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
        if not _exists(path):
            raise RoutineError(name_or_path, 0, 0, "file not found; give a bundled routine name or the path of a .yaml file")
        return load_routine_file(path, routine_id=name_or_path)
    bundled = bundled_routine_ids()
    if name_or_path in bundled:
        return load_routine_file(BUNDLED_DIR / f"{name_or_path}.yaml", routine_id=name_or_path)
    for candidate in [Path(user_dir) / f"{name_or_path}{s}" for s in (".yaml", ".yml")] if user_dir is not None else []:
        if _exists(candidate):  # a pipe there is loaded, to say what it is
            return load_routine_file(candidate, routine_id=name_or_path)
    users = sorted({p.stem for p in Path(user_dir).glob("*.y*ml") if p.suffix in (".yaml", ".yml")}) \
        if user_dir is not None and _is_dir(Path(user_dir)) else []
    raise RoutineError(name_or_path, 0, 0, _unknown_routine(name_or_path, bundled, users, user_dir))


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):   # e.g. a name too long for the file system, or holding NUL
        return False


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except (OSError, ValueError):
        return False


def _unknown_routine(name: str, bundled: list[str], users: Sequence[str] = (), user_dir: Path | None = None) -> str:
    message = f"no routine called {_quoted(name)}; bundled ones are: {', '.join(bundled) or 'none'}"
    if users:
        message += f"; yours in {user_dir} are: {', '.join(users)}"
    close = difflib.get_close_matches(name.lower(), [*bundled, *users], n=1, cutoff=0.6)
    return message + (f" (did you mean {_quoted(close[0])}?)" if close else "")


# ---- text -> nodes -------------------------------------------------------------------------

def _load(text: str | bytes, routine_id: str) -> Routine:
    text = _as_text(text)
    report: list[_Problem] = []
    root = _compose(text, report)
    if not report and (root is None or (isinstance(root, yaml.ScalarNode) and root.tag == _NULL)):
        raise _Problem(None, 'the file is empty; a routine needs "name:" and "exercises:"')
    if root is None:
        raise report[0]
    stop = report[:1]                      # reading stopped here: what an open [ ] or { } holds is unreliable
    routine = _routine(root, routine_id, report)
    cut = _open_flow_start(root) if stop else None
    if cut is not None:
        report = stop + [p for p in report[1:] if (p.line, p.column) < cut]
    if report or routine is None:
        raise _in_file_order(report)
    return routine


def _in_file_order(report: list[_Problem]) -> _Problem:
    """The first problem, carrying the others (each once, at most MAX_MISTAKES in all) in file order."""
    unique = {(p.line, p.column, p.message): p for p in report}
    mistakes = [Mistake(*key) for key in sorted(unique, key=lambda key: key[:2])]
    if len(mistakes) > MAX_MISTAKES:
        rest = mistakes[MAX_MISTAKES - 1]
        mistakes[MAX_MISTAKES - 1:] = [Mistake(rest.line, rest.column, f"{len(mistakes) - MAX_MISTAKES + 1} more "
                                               "mistakes from here on; fix the ones above and check again")]
    first = _Problem(_Mark(mistakes[0].line, mistakes[0].column), mistakes[0].message)
    first.more = tuple(mistakes[1:])
    return first


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


def _compose(text: str, report: list[_Problem]) -> yaml.Node | None:
    """Build the node tree ourselves from parser events, so aliases, tags and depth are checked first.

    On a YAML error the problem goes to `report` and the tree read so far is returned: its unfinished
    mappings and lists have no end_mark, so what they lack is not reported as missing."""
    parser = _Parser(text)
    roots: list[yaml.Node] = []
    try:
        parser.get_event()                                    # stream start
        if parser.check_event(yaml.StreamEndEvent):
            return None
        parser.get_event()                                    # document start
        _node(parser, 1, [MAX_NODES], roots.append)
        parser.get_event()                                    # document end
        if not parser.check_event(yaml.StreamEndEvent):
            raise _Problem(parser.get_event(), "only one routine per file; remove this second document")
    except _Problem as problem:                               # nothing after it is read
        report.append(problem)
    except yaml.MarkedYAMLError as error:
        report.append(_syntax_problem(error, text))
        if roots and error.problem_mark is not None:
            mark = error.problem_mark
            _cut_off_at(roots[0], mark.index, mark.index - mark.column)
    except yaml.YAMLError as error:
        report.append(_Problem(None, f"YAML error: {error}"))
    finally:
        parser.dispose()
    return roots[0] if roots else None


def _node(parser, depth: int, budget: list[int], attach) -> yaml.Node:
    """Read one node and hand it to `attach` as soon as it starts, so a YAML error leaves the tree so far."""
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
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        attach(node)
        return node
    if isinstance(event, yaml.SequenceStartEvent):
        node = yaml.SequenceNode(_TAG + "seq", [], event.start_mark, None, event.flow_style)
        attach(node)
        while not parser.check_event(yaml.SequenceEndEvent):
            _node(parser, depth + 1, budget, node.value.append)
        node.end_mark = parser.get_event().end_mark
        return node
    if isinstance(event, yaml.MappingStartEvent):
        node = yaml.MappingNode(_TAG + "map", [], event.start_mark, None, event.flow_style)
        attach(node)
        while not parser.check_event(yaml.MappingEndEvent):
            key = _node(parser, depth + 1, budget, lambda _: None)
            _node(parser, depth + 1, budget, lambda value, key=key: node.value.append((key, value)))
        node.end_mark = parser.get_event().end_mark
        return node
    raise _Problem(event, f"unexpected YAML {type(event).__name__}")


def _cut_off_at(root: yaml.Node, index: int, line_start: int) -> None:
    """Mark as unfinished the mappings and lists that the parser closed only on meeting the error at
    `index` (a line indented too little closes them): what they lack may be on that very line."""
    node, parent = root, None
    while isinstance(node, (yaml.SequenceNode, yaml.MappingNode)) and node.value:
        if node.end_mark is not None and node.end_mark.index >= index:
            node.end_mark = None
        node, parent = node.value[-1][1] if isinstance(node, yaml.MappingNode) else node.value[-1], node
    if isinstance(node, yaml.ScalarNode) and parent is not None and node.end_mark.index >= line_start:
        parent.value.pop()   # a plain text that ran on into the badly indented line is not what was meant


def _open_flow_start(root: yaml.Node) -> tuple[int, int] | None:
    """(line, column), 1-based, of the outermost [ ] or { } left open when reading stopped, if any."""
    node = root
    while isinstance(node, (yaml.SequenceNode, yaml.MappingNode)) and _unfinished(node):
        if node.flow_style:
            return node.start_mark.line + 1, node.start_mark.column + 1
        if not node.value:
            return None
        node = node.value[-1][1] if isinstance(node, yaml.MappingNode) else node.value[-1]
    return None


def _unfinished(node: yaml.Node) -> bool:
    """A mapping or list cut short by a YAML error further on."""
    return node.end_mark is None


@functools.lru_cache(maxsize=1)
def _yaml_mistakes() -> dict[str, str]:
    return load_yaml("yaml_mistakes.en.yaml")


_INDENTATION_CASES = ("not_lined_up_with_item", "not_lined_up_with_keys", "item_among_keys",
                      "indented_under_a_value", "generic")


def _syntax_problem(error: yaml.MarkedYAMLError, text: str) -> _Problem:
    """The parser's error (libyaml's or PyYAML's wording) in plain words about the line it is on."""
    mark = error.problem_mark or error.context_mark
    if mark is not None and _char_at(text, mark.line, mark.column) == "\t":
        return _Problem(mark, _yaml_mistakes()["tab"])
    problem, context, at = error.problem or "", error.context or "", error.context_mark
    if "maximum nesting depth" in problem:    # libyaml's own limit, met while looking ahead
        return _Problem(mark, f"nesting is too deep (more than {MAX_DEPTH} levels); a routine needs only 5")
    line = _line_of(text, mark.line) if mark is not None else ""
    before, here = line[:mark.column] if mark is not None else "", line[mark.column:] if mark is not None else ""
    fill: dict = {"line": at.line + 1, "column": at.column + 1} if at is not None else {}
    if "mapping values are not allowed" in problem:
        case = "colon_in_text" if ": " in before or before.rstrip().endswith(":") else "indented_under_a_value"
    elif "could not find expected ':'" in problem and at is not None:
        mark, case = at, "no_colon"
        fill["key"] = _truncated(_line_of(text, at.line)[at.column:].strip())
    elif "flow sequence" in context:
        case = "unclosed_list"
    elif "flow mapping" in context:
        case = "unclosed_mapping"
    elif "quoted scalar" in context and "end of stream" in problem and at is not None:
        mark, case = at, "unclosed_quote"
    elif "escape" in problem:
        case = "unknown_escape"
    elif "cannot start any token" in problem and here:
        case, fill["char"] = "cannot_start", _quoted(here[0])
    elif before.strip() and ("block mapping" in context or "block collection" in context):
        case = "more_after_the_value"
    elif "block collection" in context and at is not None:
        item = _line_of(text, at.line)[at.column:]
        words = item[1:].lstrip().split(":")[0] if item.startswith("-") else ""
        case = "not_lined_up_with_item" if words else "generic"
        fill.update(key=_truncated(words.strip() + ":"),
                    indent=_spaces(at.column + 1 + len(item[1:]) - len(item[1:].lstrip())))
    elif "block mapping" in context and at is not None:
        case = "item_among_keys" if here.startswith("-") and mark.column == at.column else "not_lined_up_with_keys"
        fill.update(spaces=_spaces(mark.column), indent=_spaces(at.column),
                    key=_truncated(_line_of(text, at.line)[at.column:].split(":")[0]))
    else:
        case = "generic"
    message = " ".join(_yaml_mistakes()[case].format(**fill).split())
    if case in _INDENTATION_CASES:
        message += " " + " ".join(_yaml_mistakes()["indentation"].split())
    return _Problem(mark, message)


def _line_of(text: str, line: int) -> str:
    """The 0-based line's text, or "" past the end (the parser's mark at the end of the file)."""
    lines = _LINE_BREAK.split(text)
    return lines[line] if line < len(lines) else ""


def _spaces(count: int) -> str:
    return "no spaces" if count == 0 else "1 space" if count == 1 else f"{count} spaces"


def compose_yaml(data: str | bytes, file: str) -> yaml.Node | None:
    """One YAML document read with the limits above (size, text, no anchors, aliases or tags, depth, count), for
    other files of voicecoach (config.yaml); None when empty; RoutineError("file:line:col: ...") otherwise."""
    try:
        report: list[_Problem] = []
        root = _compose(_as_text(data), report)
    except _Problem as problem:  # _as_text: too large, or not UTF-8 text
        raise RoutineError(file, problem.line, problem.column, problem.message) from None
    if report:
        raise RoutineError(file, report[0].line, report[0].column, report[0].message)
    return root


# ---- nodes -> model ------------------------------------------------------------------------

def _routine(node: yaml.Node, routine_id: str, report: list[_Problem]) -> Routine | None:
    if not isinstance(node, yaml.MappingNode):
        report.append(_Problem(node, 'a routine file must be a mapping with "name:" and "exercises:" at the top level, '
                                     f"got {_described(node)}"))
        return None
    fields = _fields(node, ROUTINE_KEYS, "the routine", report)
    if _missing("name", fields, node):
        report.append(_Problem(node, 'the routine needs a name (add "name: ..." at the top level)'))
    if _missing("exercises", fields, node):
        report.append(_Problem(node, 'the routine needs exercises (add "exercises:" with a list of exercises)'))
    name = _attempt(report, _text, fields["name"], "name") if fields.get("name") else None
    about = _attempt(report, _text, fields["about"], "about", default="") if fields.get("about") else ""
    source = _attempt(report, _text, fields["source"], "source", default="") if fields.get("source") else ""
    items = _attempt(report, _list, fields["exercises"], "exercises", 'each exercise starting with "- name: ..."',
                     "exercise", default=[]) if fields.get("exercises") else []
    exercises, steps_so_far = [], [0]
    for item in items:
        exercises.append(_exercise(item, steps_so_far, report))
    if report or name is None or None in exercises:
        return None
    return Routine(routine_id, name, tuple(e for e in exercises if e is not None), about, source)


def _missing(key: str, fields: _Fields, node: yaml.MappingNode) -> bool:
    """A required key is absent: not given, not misspelt (that is reported already), and not cut off."""
    return key not in fields and key not in fields.guessed and not _unfinished(node)


def _exercise(node: yaml.Node, steps_so_far: list[int], report: list[_Problem]) -> Exercise | None:
    if not isinstance(node, yaml.MappingNode):
        report.append(_Problem(node, f'an exercise must be a mapping starting with "name: ...", got {_described(node)}'))
        return None
    fields = _fields(node, EXERCISE_KEYS, "an exercise", report)
    if _missing("name", fields, node):
        report.append(_Problem(node, 'the exercise needs a name (add "name: ..." to it)'))
    if _missing("steps", fields, node):
        report.append(_Problem(node, 'the exercise needs steps (add "steps:" with a list of say, hold and rest items)'))
    name = _attempt(report, _text, fields["name"], "name") if fields.get("name") else None
    has_sides = bool(fields.get("sides"))   # even if they are wrong: {side} is then not a second mistake
    sides = _attempt(report, _sides, fields["sides"], default=()) if has_sides else ()
    tip = _attempt(report, _text, fields["tip"], "tip", default="") if fields.get("tip") else ""
    if tip:
        _attempt(report, _check_placeholders, fields["tip"][1], tip, has_sides, True)
    rounds = _attempt(report, _rounds, fields["rounds"], default=1) if fields.get("rounds") else 1
    repeats = max(1, len(sides)) * rounds
    counting = "counting each side and round" if "rounds" in fields else "counting each side"
    steps = []
    items = _attempt(report, _list, fields["steps"], "steps", 'each step starting with "- say:", "- hold:" or "- rest:"',
                     "step", default=[]) if fields.get("steps") else []
    for item in items:
        if steps_so_far[0] <= MAX_STEPS < steps_so_far[0] + repeats:   # said once, at the first step over
            report.append(_Problem(item, f"too many steps: a routine may have at most {MAX_STEPS} "
                                         f"({counting}); split it into smaller routines"))
        steps_so_far[0] += repeats
        steps.append(_step(item, has_sides, report))
    if name is None or None in steps:
        return None
    return Exercise(name, tuple(step for step in steps if step is not None), sides, tip, rounds)


def _step(node: yaml.Node, has_sides: bool, report: list[_Problem]) -> Step | None:
    if not isinstance(node, yaml.MappingNode):
        hint = f' (to speak it, write "- say: {_truncated(node.value)}")' if _is_text(node) else ""
        report.append(_Problem(node, f'a step must be one of "say: ...", "hold: 30" or "rest: 5", '
                                     f"got {_described(node)}{hint}"))
        return None
    fields = _fields(node, STEP_KEYS, "a step", report)
    kinds = [key for key in fields if key in STEP_KINDS]
    if not kinds:
        if not _unfinished(node) and not any(key in STEP_KINDS for key in fields.guessed):
            report.append(_Problem(node, 'the step needs one of "say: ...", "hold: seconds" or "rest: seconds"'))
        return None
    if len(kinds) > 1:
        report.append(_Problem(fields[kinds[1]][0], f'a step does one thing, but this one has both "{kinds[0]}" and '
                                                    f'"{kinds[1]}"; put each in its own "- " item'))
        return None
    kind = kinds[0]
    problems = len(report)
    if "count" in fields and kind != "hold":
        report.append(_Problem(fields["count"][0], f'"count" only goes with a hold step; remove it from this {kind} step'))
    if "detail" in fields and kind != "say":
        report.append(_Problem(fields["detail"][0], f'"detail" only goes with a say step; remove it from this {kind} step'))
    if "once" in fields and kind != "say":
        report.append(_Problem(fields["once"][0], f'"once" only goes with a say step; remove it from this {kind} step'))
    if kind == "say":
        text = _attempt(report, _text, fields["say"], "say")
        if text is not None:
            _attempt(report, _check_placeholders, fields["say"][1], text, has_sides, False)
        detail = _attempt(report, _flag, fields["detail"]) if "detail" in fields else False
        once = _attempt(report, _flag, fields["once"], "once") if "once" in fields else False
        return Step("say", text=text, detail=detail, once=once) if len(report) == problems else None
    seconds = _attempt(report, _seconds, fields[kind], kind)
    count = _attempt(report, _count, fields["count"]) if "count" in fields and kind == "hold" else "each"
    if len(report) > problems:
        return None
    return Step("rest", seconds=seconds) if kind == "rest" else Step("hold", seconds=seconds, count=count)


def _flag(field, name: str = "detail") -> bool:
    _, node = field
    if not isinstance(node, yaml.ScalarNode) or node.value not in ("true", "false"):
        raise _Problem(node, f"{name} must be true or false, got {_described(node)}")
    return node.value == "true"


class _Fields(dict):
    """Key -> (key node, value node), in order; `guessed` holds the keys suggested for misspelt ones."""
    guessed: set[str]


def _fields(node: yaml.MappingNode, allowed: tuple[str, ...], where: str, report: list[_Problem]) -> _Fields:
    """Keys of a mapping in order, each with (key node, value node); duplicates and unknown keys are
    reported and left out."""
    fields = _Fields()
    fields.guessed = set()
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            report.append(_Problem(key_node, f"keys must be plain words such as {', '.join(allowed)}, "
                                             f"got {_described(key_node)}"))
            continue
        key = key_node.value
        if key in fields:
            first = fields[key][0].start_mark.line + 1
            report.append(_Problem(key_node, f"duplicate key {_quoted(key)} (already given on line {first}); keep only one"))
            continue
        if key not in allowed:
            close = difflib.get_close_matches(key.strip().lower(), allowed, n=1, cutoff=0.6)
            advice = f"did you mean {_quoted(close[0])}?" if close else f"allowed keys are {', '.join(allowed)}"
            report.append(_Problem(key_node, f"unknown key {_quoted(key)} in {where}; {advice}"))
            fields.guessed.update(close)
            continue
        fields[key] = (key_node, value_node)
    return fields


def _list(field, what: str, shape: str, item: str) -> list[yaml.Node]:
    key_node, node = field
    if isinstance(node, yaml.SequenceNode) and _unfinished(node):
        return node.value
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
    if not isinstance(node, yaml.SequenceNode) or not (node.value or _unfinished(node)):
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
            raise _Problem(item, f"side {_quoted(side)} is listed twice; list each side once, "
                                 'and add "rounds: 2" to the exercise to do every side again')
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


def _rounds(field) -> int:
    node = field[1]
    wanted = f"rounds must be a whole number from 1 to {MAX_ROUNDS}, such as rounds: 3, got {_described(node)}"
    if _is_text(node) and _DECIMAL.fullmatch(node.value.strip()):
        raise _Problem(node, f"{wanted} (remove the quotes)")
    if not (isinstance(node, yaml.ScalarNode) and node.tag == _INT and _DECIMAL.fullmatch(node.value)
            and len(node.value.lstrip("+-").lstrip("0")) <= 4 and 1 <= int(node.value) <= MAX_ROUNDS):
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
