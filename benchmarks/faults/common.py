"""What a fault is, what it found, and the fresh home each one runs in."""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from isolation import isolated_env  # benchmarks/ is on sys.path when run as a script


@dataclass(frozen=True)
class Result:
    heard: str   # what the user heard or read, in short
    lost: str    # what was lost ("nothing", or what)
    ok: bool     # handled as the user should expect


@dataclass(frozen=True)
class Fault:
    name: str
    run: Callable[[Path], Result]  # given the fresh HOME folder


def isolated_home() -> contextlib.AbstractContextManager[Path]:
    """A temporary HOME with every XDG folder inside it, an empty cache included, for this process and the
    subprocesses it starts."""
    return isolated_env(shared_cache=None, prefix="voicecoach-fault-")


def voicecoach(*args: str, stdin: str = "", timeout: float = 120, env: dict | None = None,
               ) -> subprocess.CompletedProcess:
    """Run `python -m voicecoach ARGS` with text on standard input; never hangs past `timeout`."""
    return subprocess.run([sys.executable, "-m", "voicecoach", *args], input=stdin, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "VOICECOACH_READING_WPM": "0", **(env or {})})
