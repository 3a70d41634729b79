"""`voicecoach list`, `new` and `check`: the routines there are, a new one from the template, and mistakes in files."""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from voicecoach.catalogue import all_routines
from voicecoach.commands.common import UsageError, counted, print_line
from voicecoach.package_data import data_text, lines
from voicecoach.paths import user_routines_dir
from voicecoach.routine import RoutineError



def cmd_list(args: argparse.Namespace) -> int:
    yours = 0
    for routine_id, routine, origin in all_routines():
        yours += origin != "bundled"
        if isinstance(routine, RoutineError):   # the first mistake, on one line; check lists them all
            more = len(routine.mistakes) - 1
            print_line(f"{routine_id}: cannot be used: {routine.mistakes[0].located(routine.file)}"
                       + (" " + lines()["list_more_mistakes"].format(mistakes=counted(more, "more mistake"),
                                                                      path=routine.file) if more else ""))
        else:
            print_line(f"{routine_id}: {routine.name} ({origin})")
    folder = user_routines_dir()
    state = "" if yours else "routines_folder_empty" if folder.is_dir() else "routines_folder_missing"
    print_line(lines()["routines_folder"].format(folder=folder) + (" " + lines()[state] if state else ""))
    print_line(lines()["routines_new_hint"])
    return 0


PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def cmd_new(args: argparse.Namespace) -> int:
    """Write the commented template as <routines folder>/NAME.yaml, never over an existing file."""
    from string import Template
    from voicecoach.routine import bundled_routine_ids
    name = args.name
    if not PLAIN_NAME.fullmatch(name):
        raise UsageError(lines()["new_bad_name"].format(name=name))
    if name in bundled_routine_ids():
        raise UsageError(lines()["new_bundled_name"].format(name=name))
    folder = user_routines_dir()
    path = folder / f"{name}.yaml"
    if (folder / f"{name}.yml").exists():
        path = folder / f"{name}.yml"
    template = data_text("routine-template.yaml")
    text = Template(template).substitute(path=path, id=name, title=name.replace("-", " ").replace("_", " ").capitalize())
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(path, "x", encoding="utf-8") as handle:   # "x": refuses to overwrite, even in a race
            handle.write(text)
    except FileExistsError:
        raise UsageError(lines()["new_exists"].format(path=path, name=name)) from None
    except OSError as error:
        raise UsageError(lines()["new_unwritable"].format(path=path, error=error.strerror or error)) from None
    print_line(lines()["new_written"].format(path=path, name=name))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from voicecoach.routine import load_routine_file
    failed = False
    for name in args.files:
        try:
            routine = load_routine_file(Path(name), name)
            steps = sum(len(e.steps) for e in routine.exercises)
            print_line(f"{name}: ok, {counted(len(routine.exercises), 'exercise')}, {counted(steps, 'step')}")
        except RoutineError as error:   # one line per mistake, every mistake in the file
            failed = True
            print(error, file=sys.stderr, flush=True)
    return 2 if failed else 0
