"""`voicecoach ask`: answers from the bundled knowledge, for questions given or read one per line."""
from __future__ import annotations

import argparse
import json
import sys
from typing import IO, TextIO

from voicecoach.commands.common import load_user_settings
from voicecoach.knowledge import answer
from voicecoach.package_data import lines


def cmd_ask(args: argparse.Namespace) -> int:
    read_stdin = args.question == ["-"]
    speak = None
    settings = load_user_settings(args) if args.say else None
    if settings is not None and settings.speaker != "print":  # printing it again would only repeat it
        from voicecoach.speech.line_speaker import say_once
        speak = lambda text: say_once(text, settings)  # noqa: E731
    report = lambda number: print(lines()["typed_line_unreadable"].format(line=number), file=sys.stderr)  # noqa: E731
    return ask_command(None if read_stdin else args.question, read_stdin, args.json, sys.stdout, speak=speak,
                       report=report)


def ask_command(questions: list[str] | None, read_stdin: bool, as_json: bool, out: IO[str] = sys.stdout,
                stdin: TextIO | None = None, speak=None, report=None) -> int:
    """`voicecoach ask`: answer the given questions, or one per line of stdin; 0 on success, 2 if none given.
    `speak`, if given, is called with each answer's text after it is printed; `report` with the number of a
    stdin line that is not UTF-8 (it is answered with U+FFFD for what could not be read)."""
    from voicecoach.adapters.typed_input import typed_lines
    lines = typed_lines(stdin or sys.stdin, report) if read_stdin else (questions or [])
    asked = 0
    for line in lines:
        question = line.strip()
        if not question:
            continue
        record = answer(question)
        out.write((json.dumps(record, ensure_ascii=False) if as_json else record["answer"]) + "\n")
        out.flush()
        if speak is not None:
            speak(record["answer"])
        asked += 1
    return 0 if asked else 2
