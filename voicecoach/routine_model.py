"""A routine as the session uses it (exercises of say, hold and rest steps), and the mistakes a file can hold."""
from __future__ import annotations

from dataclasses import dataclass

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


def quoted(text: str) -> str:
    return f'"{truncated(text)}"'


def truncated(text: str, limit: int = 40) -> str:
    text = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in text[:limit + 1])
    return text if len(text) <= limit else text[:limit] + "…"
