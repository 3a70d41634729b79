"""Typed commands and questions, one per line, read on a background thread."""
from __future__ import annotations

import threading
from typing import Callable, Mapping, TextIO

from voicecoach.intents import QuestionMatcher, parse
from voicecoach.ports import Heard


class TypedInput:
    """A Listener over a text stream; end of input simply means no more commands."""

    def __init__(self, stream: TextIO, questions: QuestionMatcher | None = None,
                 choices: Mapping[str, str] | None = None):
        self._stream, self._questions, self._choices = stream, questions, choices
        self._stopped = threading.Event()

    def start(self, post: Callable[[Heard], None]) -> None:
        threading.Thread(target=self._read, args=(post,), name="typed-input", daemon=True).start()

    def _read(self, post: Callable[[Heard], None]) -> None:
        if self._questions is not None:
            self._questions("")  # builds the matcher now, while the coach speaks, not on the first question
        for line in self._stream:
            if self._stopped.is_set():
                return
            if line.strip():
                post(parse(line.strip(), self._questions, choices=self._choices))

    def coach_speaking(self, text: str | None, kind: str = "instruction") -> None:
        pass

    def stop(self) -> None:
        self._stopped.set()
