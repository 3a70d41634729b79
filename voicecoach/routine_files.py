"""Where routine files are: the bundled ones by id, and what to say when a name matches none."""
from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path

from voicecoach.routine_model import RoutineError, quoted

BUNDLED_DIR = Path(__file__).parent / "data" / "routines"


def bundled_routine_ids() -> list[str]:
    """The ids (file stems) of the routines shipped with voicecoach, sorted."""
    return sorted(path.stem for path in BUNDLED_DIR.glob("*.yaml"))


def bundled_routine_path(routine_id: str) -> Path:
    """The file of a bundled routine; RoutineError if there is no such id."""
    if routine_id not in bundled_routine_ids():
        raise RoutineError(routine_id, 0, 0, unknown_routine(routine_id, bundled_routine_ids()))
    return BUNDLED_DIR / f"{routine_id}.yaml"


def is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):   # e.g. a name too long for the file system, or holding NUL
        return False


def exists(path: Path) -> bool:
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except (OSError, ValueError):
        return False


def unknown_routine(name: str, bundled: list[str], users: Sequence[str] = (), user_dir: Path | None = None) -> str:
    message = f"no routine called {quoted(name)}; bundled ones are: {', '.join(bundled) or 'none'}"
    if users:
        message += f"; yours in {user_dir} are: {', '.join(users)}"
    close = difflib.get_close_matches(name.lower(), [*bundled, *users], n=1, cutoff=0.6)
    return message + (f" (did you mean {quoted(close[0])}?)" if close else "")
