"""Every routine a user can pick: the bundled ones, then those in their routines folder, and the names to say."""
from __future__ import annotations

from collections.abc import Iterator

from voicecoach.paths import user_routines_dir
from voicecoach.routine import Routine, RoutineError, bundled_routine_ids, bundled_routine_path, load_routine_file

DEFAULT_ROUTINE = "calf-stretch"  # run when none is named


def all_routines() -> Iterator[tuple[str, Routine | RoutineError, str]]:
    """(id, Routine or the RoutineError that spoils it, where it is from) for bundled routines, then the user's."""
    for routine_id in bundled_routine_ids():
        yield routine_id, load_routine_file(bundled_routine_path(routine_id), routine_id), "bundled"
    folder = user_routines_dir()
    for path in sorted(folder.glob("*.y*ml")) if folder.is_dir() else []:
        try:
            yield path.stem, load_routine_file(path, path.stem), f"yours, {path}"
        except RoutineError as error:
            yield path.stem, error, str(path)


def choosable_routines() -> dict[str, Routine]:
    """id -> Routine, for every routine that loads."""
    return {routine_id: routine for routine_id, routine, _ in all_routines() if not isinstance(routine, RoutineError)}


def spoken_names(choosable: dict[str, Routine]) -> dict[str, str]:
    """What a person may say to pick each routine (its name, or its id in words) -> its id."""
    return {**{routine.name: routine_id for routine_id, routine in choosable.items()},
            **{routine_id.replace("-", " "): routine_id for routine_id in choosable}}
