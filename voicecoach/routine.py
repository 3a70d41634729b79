"""Reading a routine file, hardened: size, text, YAML syntax in plain words, no aliases or tags, depth and count
limits, then the checks (routine_checks); every mistake located at file:line:col. The model (routine_model) and
the bundled files (routine_files) are re-exported here for those who import them from this module."""
from __future__ import annotations

import functools
import math
import re
from pathlib import Path

import yaml

from voicecoach.files import FileTooLarge, NotRegularFile, read_regular_file
from voicecoach.package_data import load_yaml
from voicecoach.routine_checks import (  # noqa: F401  the keys re-exported
    EXERCISE_KEYS, MAX_STEPS, NULL_TAG, ROUTINE_KEYS, STEP_KEYS, STR_TAG, YAML_TAG, Problem, routine_of, unfinished,
)
from voicecoach.routine_files import (  # noqa: F401  re-exported
    BUNDLED_DIR, bundled_routine_ids, bundled_routine_path, exists, is_dir, is_file, unknown_routine,
)
from voicecoach.routine_model import (  # noqa: F401  re-exported
    COUNT_STYLES, Exercise, Mistake, Routine, RoutineError, Step, quoted, truncated,
)

MAX_BYTES = 256 * 1024
MAX_DEPTH = 20            # a valid routine nests 5 deep
MAX_NODES = 20_000        # keys and values; the largest valid routine has about 7,000
MAX_MISTAKES = 20         # reported in one go; more would drown a screen-reader user

_Parser = getattr(yaml, "CSafeLoader", yaml.SafeLoader)   # libyaml when present: ~15x faster
_resolver = yaml.resolver.Resolver()
_NOT_YAML_TEXT = re.compile("[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF]")
_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")


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
    except Problem as problem:
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


def resolve_routine(name_or_path: str, user_dir: Path | None) -> Routine:
    """Load a routine named by path (an existing file, or anything ending .yaml/.yml or holding a
    slash), else by bundled id, else as `<user_dir>/<name>.yaml` (or .yml); RoutineError if none exists."""
    path = Path(name_or_path)
    if is_file(path) or path.suffix.lower() in (".yaml", ".yml") or "/" in name_or_path or "\\" in name_or_path:
        if not exists(path):
            raise RoutineError(name_or_path, 0, 0, "file not found; give a bundled routine name or the path of a .yaml file")
        return load_routine_file(path, routine_id=name_or_path)
    bundled = bundled_routine_ids()
    if name_or_path in bundled:
        return load_routine_file(BUNDLED_DIR / f"{name_or_path}.yaml", routine_id=name_or_path)
    for candidate in [Path(user_dir) / f"{name_or_path}{s}" for s in (".yaml", ".yml")] if user_dir is not None else []:
        if exists(candidate):  # a pipe there is loaded, to say what it is
            return load_routine_file(candidate, routine_id=name_or_path)
    users = sorted({p.stem for p in Path(user_dir).glob("*.y*ml") if p.suffix in (".yaml", ".yml")}) \
        if user_dir is not None and is_dir(Path(user_dir)) else []
    raise RoutineError(name_or_path, 0, 0, unknown_routine(name_or_path, bundled, users, user_dir))


# ---- text -> nodes -------------------------------------------------------------------------

def _load(text: str | bytes, routine_id: str) -> Routine:
    text = _as_text(text)
    report: list[Problem] = []
    root = _compose(text, report)
    if not report and (root is None or (isinstance(root, yaml.ScalarNode) and root.tag == NULL_TAG)):
        raise Problem(None, 'the file is empty; a routine needs "name:" and "exercises:"')
    if root is None:
        raise report[0]
    stop = report[:1]                      # reading stopped here: what an open [ ] or { } holds is unreliable
    routine = routine_of(root, routine_id, report)
    cut = _open_flow_start(root) if stop else None
    if cut is not None:
        report = stop + [p for p in report[1:] if (p.line, p.column) < cut]
    if report or routine is None:
        raise _in_file_order(report)
    return routine


def _in_file_order(report: list[Problem]) -> Problem:
    """The first problem, carrying the others (each once, at most MAX_MISTAKES in all) in file order."""
    unique = {(p.line, p.column, p.message): p for p in report}
    mistakes = [Mistake(*key) for key in sorted(unique, key=lambda key: key[:2])]
    if len(mistakes) > MAX_MISTAKES:
        rest = mistakes[MAX_MISTAKES - 1]
        mistakes[MAX_MISTAKES - 1:] = [Mistake(rest.line, rest.column, f"{len(mistakes) - MAX_MISTAKES + 1} more "
                                               "mistakes from here on; fix the ones above and check again")]
    first = Problem(_Mark(mistakes[0].line, mistakes[0].column), mistakes[0].message)
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
            raise Problem(None, f"not a text file: it holds a NUL byte (first at line {line}, column {column})")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            line, column = _byte_position(data, error.start)
            raise Problem(None, f"not a text file: byte 0x{data[error.start]:02x} at line {line}, column {column} "
                                "is not UTF-8; save the routine as UTF-8 text") from None
    bad = _NOT_YAML_TEXT.search(text)
    if bad:
        char = bad.group()
        line, column = _char_position(text, bad.start())
        if char == "\0":
            raise Problem(None, f"not a text file: it holds a NUL character (first at line {line}, column {column})")
        raise Problem(_Mark(line, column), f"character U+{ord(char):04X} is not allowed in a routine file; remove it")
    return text


def _too_large(size: int) -> Problem:
    return Problem(None, f"file is too large ({math.ceil(size / 1024)} KiB); a routine file must be at most {MAX_BYTES // 1024} KiB")


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


def _compose(text: str, report: list[Problem]) -> yaml.Node | None:
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
            raise Problem(parser.get_event(), "only one routine per file; remove this second document")
    except Problem as problem:                               # nothing after it is read
        report.append(problem)
    except yaml.MarkedYAMLError as error:
        report.append(_syntax_problem(error, text))
        if roots and error.problem_mark is not None:
            mark = error.problem_mark
            _cut_off_at(roots[0], mark.index, mark.index - mark.column)
    except yaml.YAMLError as error:
        report.append(Problem(None, f"YAML error: {error}"))
    finally:
        parser.dispose()
    return roots[0] if roots else None


def _node(parser, depth: int, budget: list[int], attach) -> yaml.Node:
    """Read one node and hand it to `attach` as soon as it starts, so a YAML error leaves the tree so far."""
    event = parser.get_event()
    budget[0] -= 1
    if budget[0] < 0:
        raise Problem(event, f"too much in one file: more than {MAX_NODES} keys and values; "
                             f"a routine holds at most {MAX_STEPS} steps, so split it into smaller routines")
    if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
        raise Problem(event, "anchors and aliases (& and *) are not allowed in routine files; write each value out in full")
    if event.tag not in (None, "!", STR_TAG):
        shown = "!!" + event.tag[len(YAML_TAG):] if event.tag.startswith(YAML_TAG) else event.tag
        raise Problem(event, f"YAML tags such as {truncated(shown)} are not allowed in routine files; write plain values")
    if depth > MAX_DEPTH:
        raise Problem(event, f"nesting is too deep (more than {MAX_DEPTH} levels); a routine needs only 5")
    if isinstance(event, yaml.ScalarEvent):
        tag = STR_TAG if event.tag is not None else _resolver.resolve(yaml.ScalarNode, event.value, event.implicit)
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        attach(node)
        return node
    if isinstance(event, yaml.SequenceStartEvent):
        node = yaml.SequenceNode(YAML_TAG + "seq", [], event.start_mark, None, event.flow_style)
        attach(node)
        while not parser.check_event(yaml.SequenceEndEvent):
            _node(parser, depth + 1, budget, node.value.append)
        node.end_mark = parser.get_event().end_mark
        return node
    if isinstance(event, yaml.MappingStartEvent):
        node = yaml.MappingNode(YAML_TAG + "map", [], event.start_mark, None, event.flow_style)
        attach(node)
        while not parser.check_event(yaml.MappingEndEvent):
            key = _node(parser, depth + 1, budget, lambda _: None)
            _node(parser, depth + 1, budget, lambda value, key=key: node.value.append((key, value)))
        node.end_mark = parser.get_event().end_mark
        return node
    raise Problem(event, f"unexpected YAML {type(event).__name__}")


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
    while isinstance(node, (yaml.SequenceNode, yaml.MappingNode)) and unfinished(node):
        if node.flow_style:
            return node.start_mark.line + 1, node.start_mark.column + 1
        if not node.value:
            return None
        node = node.value[-1][1] if isinstance(node, yaml.MappingNode) else node.value[-1]
    return None


@functools.lru_cache(maxsize=1)
def _yaml_mistakes() -> dict[str, str]:
    return load_yaml("yaml_mistakes.en.yaml")


_INDENTATION_CASES = ("not_lined_up_with_item", "not_lined_up_with_keys", "item_among_keys",
                      "indented_under_a_value", "generic")


def _syntax_problem(error: yaml.MarkedYAMLError, text: str) -> Problem:
    """The parser's error (libyaml's or PyYAML's wording) in plain words about the line it is on."""
    mark = error.problem_mark or error.context_mark
    if mark is not None and _char_at(text, mark.line, mark.column) == "\t":
        return Problem(mark, _yaml_mistakes()["tab"])
    problem, context, at = error.problem or "", error.context or "", error.context_mark
    if "maximum nesting depth" in problem:    # libyaml's own limit, met while looking ahead
        return Problem(mark, f"nesting is too deep (more than {MAX_DEPTH} levels); a routine needs only 5")
    line = _line_of(text, mark.line) if mark is not None else ""
    before, here = line[:mark.column] if mark is not None else "", line[mark.column:] if mark is not None else ""
    fill: dict = {"line": at.line + 1, "column": at.column + 1} if at is not None else {}
    if "mapping values are not allowed" in problem:
        case = "colon_in_text" if ": " in before or before.rstrip().endswith(":") else "indented_under_a_value"
    elif "could not find expected ':'" in problem and at is not None:
        mark, case = at, "no_colon"
        fill["key"] = truncated(_line_of(text, at.line)[at.column:].strip())
    elif "flow sequence" in context:
        case = "unclosed_list"
    elif "flow mapping" in context:
        case = "unclosed_mapping"
    elif "quoted scalar" in context and "end of stream" in problem and at is not None:
        mark, case = at, "unclosed_quote"
    elif "escape" in problem:
        case = "unknown_escape"
    elif "cannot start any token" in problem and here:
        case, fill["char"] = "cannot_start", quoted(here[0])
    elif before.strip() and ("block mapping" in context or "block collection" in context):
        case = "more_after_the_value"
    elif "block collection" in context and at is not None:
        item = _line_of(text, at.line)[at.column:]
        words = item[1:].lstrip().split(":")[0] if item.startswith("-") else ""
        case = "not_lined_up_with_item" if words else "generic"
        fill.update(key=truncated(words.strip() + ":"),
                    indent=_spaces(at.column + 1 + len(item[1:]) - len(item[1:].lstrip())))
    elif "block mapping" in context and at is not None:
        case = "item_among_keys" if here.startswith("-") and mark.column == at.column else "not_lined_up_with_keys"
        fill.update(spaces=_spaces(mark.column), indent=_spaces(at.column),
                    key=truncated(_line_of(text, at.line)[at.column:].split(":")[0]))
    else:
        case = "generic"
    message = " ".join(_yaml_mistakes()[case].format(**fill).split())
    if case in _INDENTATION_CASES:
        message += " " + " ".join(_yaml_mistakes()["indentation"].split())
    return Problem(mark, message)


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
        report: list[Problem] = []
        root = _compose(_as_text(data), report)
    except Problem as problem:  # _as_text: too large, or not UTF-8 text
        raise RoutineError(file, problem.line, problem.column, problem.message) from None
    if report:
        raise RoutineError(file, report[0].line, report[0].column, report[0].message)
    return root
