"""What a fault is, what it found, and the fresh home each one runs in."""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator


@dataclass(frozen=True)
class Result:
    heard: str   # what the user heard or read, in short
    lost: str    # what was lost ("nothing", or what)
    ok: bool     # handled as the user should expect


@dataclass(frozen=True)
class Fault:
    name: str
    run: Callable[[Path], Result]  # given the fresh HOME folder


@contextlib.contextmanager
def isolated_home() -> Iterator[Path]:
    """A temporary HOME with every XDG folder inside it, for this process and the subprocesses it starts."""
    names = ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME")
    saved = {name: os.environ.get(name) for name in names}
    with tempfile.TemporaryDirectory(prefix="voicecoach-fault-") as folder:
        home = Path(folder)
        os.environ.update({"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
                           "XDG_DATA_HOME": str(home / ".local/share"), "XDG_CACHE_HOME": str(home / ".cache"),
                           "XDG_STATE_HOME": str(home / ".local/state")})
        try:
            yield home
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def voicecoach(*args: str, stdin: str = "", timeout: float = 120, env: dict | None = None,
               ) -> subprocess.CompletedProcess:
    """Run `python -m voicecoach ARGS` with text on standard input; never hangs past `timeout`."""
    return subprocess.run([sys.executable, "-m", "voicecoach", *args], input=stdin, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "VOICECOACH_READING_WPM": "0", **(env or {})})
