"""Routine model and the loader that validates hand-written routine YAML files."""
from __future__ import annotations

from dataclasses import dataclass

COUNT_STYLES = ("each", "fives", "none")


@dataclass(frozen=True)
class Step:
    kind: str                 # "say" | "hold" | "rest"
    text: str = ""            # for say
    seconds: int = 0          # for hold and rest
    count: str = "each"       # for hold: each | fives | none


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
