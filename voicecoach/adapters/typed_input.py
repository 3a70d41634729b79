"""Typed commands and questions, one per line, read on a background thread."""
from __future__ import annotations

import queue
import threading
from typing import Callable, Iterator, Mapping, TextIO

from voicecoach.intents import URGENT_INTENTS, QuestionMatcher, normalise, parse
from voicecoach.ports import Heard, ListeningContext


def typed_lines(stream: TextIO, report: Callable[[int], None] | None = None) -> Iterator[str]:
    """Each line of the stream, stripped. A line that is not UTF-8 is read with U+FFFD for what cannot be
    decoded, and `report` is called with its number (from 1): one bad line must not end the input."""
    source = getattr(stream, "buffer", stream)  # bytes when there are: a text layer would raise or pass surrogates
    for number, line in enumerate(source or (), 1):  # None: standard input was closed, so there is no input
        if isinstance(line, str):  # a text stream: its surrogates are the bytes it could not decode
            try:
                line = line.encode("utf-8", "surrogateescape")
            except UnicodeEncodeError:  # a surrogate that stands for no byte
                line = line.encode("utf-8", "surrogatepass")
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            text = line.decode("utf-8", "replace")
            if report is not None:
                report(number)
        yield text.strip()


class TypedInput:
    """A Listener over a text stream; end of input simply means no more commands.

    Lines are read as they come; a question waits for the (slow) question matcher on a second thread, with the
    lines after it kept in order behind it, but stop, pause and "it hurts" are posted at once, ahead of them:
    "stop" waited 42 s behind 300 typed questions."""

    def __init__(self, stream: TextIO, questions: QuestionMatcher | None = None,
                 choices: Mapping[str, str] | None = None, report: Callable[[int], None] | None = None):
        self._stream, self._questions, self._choices, self._report = stream, questions, choices, report
        self._stopped = threading.Event()
        self._waiting: queue.Queue[str | None] = queue.Queue()
        self._lock = threading.Lock()
        self._backlog = 0  # lines given to the matcher's thread and not yet posted

    def start(self, post: Callable[[Heard], None]) -> None:
        threading.Thread(target=self._read, args=(post,), name="typed-input", daemon=True).start()
        threading.Thread(target=self._understand, args=(post,), name="typed-questions", daemon=True).start()

    def _read(self, post: Callable[[Heard], None]) -> None:
        try:
            for text in typed_lines(self._stream, self._report):
                if self._stopped.is_set():
                    return
                if not text:
                    continue
                heard = parse(text, choices=self._choices)  # quick: commands and routine names, no questions
                for_matcher = heard.intent is None and self._questions is not None and bool(normalise(text))
                with self._lock:
                    at_once = heard.intent in URGENT_INTENTS or not (for_matcher or self._backlog)
                    self._backlog += not at_once
                if at_once:
                    post(heard)
                else:
                    self._waiting.put(text)
        finally:
            self._waiting.put(None)

    def _understand(self, post: Callable[[Heard], None]) -> None:
        if self._questions is not None:
            self._questions("")  # builds the matcher now, while the coach speaks, not on the first question
        while (text := self._waiting.get()) is not None and not self._stopped.is_set():
            post(parse(text, self._questions, choices=self._choices))
            with self._lock:
                self._backlog -= 1

    def coach_speaking(self, text: str | None, kind: str = "instruction") -> None:
        pass

    def expect(self, context: ListeningContext) -> None:
        pass  # typed text says plainly what it means

    def stop(self) -> None:
        self._stopped.set()
