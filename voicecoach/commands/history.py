"""`voicecoach history`: past sessions, and how far each got as the user heard it."""
from __future__ import annotations

import argparse
import sys

from voicecoach import session as core
from voicecoach.commands.common import print_line
from voicecoach.commands.wiring import open_store
from voicecoach.package_data import lines
from voicecoach.paths import user_routines_dir
from voicecoach.routine import RoutineError



def cmd_history(args: argparse.Namespace) -> int:
    from voicecoach.runner import notice
    lost: list[dict] = []

    def notify(name: str, fields: dict) -> None:
        if name == "history_lost":
            lost.append(fields)
        else:
            print_line(notice(lines(), name, fields))

    store = open_store(notify, reading=True)
    try:
        records = store.history(args.limit)
    finally:
        store.close()
    if lost:  # not the user's mistake, and nothing to show: one sentence, and a failure's exit code
        why = lines()[f"history_why_{lost[0]['reason']}"]
        print(f"voicecoach: {lines()['history_unavailable'].format(why=why)}", file=sys.stderr, flush=True)
        return 1
    if not records:
        print_line(lines()["history_empty"])
    plans: dict = {}
    for record in reversed(records):
        minutes, seconds = divmod(round(record.seconds), 60)
        took = lines()["history_time" if minutes else "history_seconds"].format(minutes=minutes, seconds=seconds)
        print_line(f"{record.started[:16].replace('T', ' ')}  {record.routine_name}  "
                   f"{history_place(record, plans)}, {took}")
    return 0


def history_place(record, plans: dict) -> str:
    """How far a session got, as the user heard it: the exercise and side, from the routine's plan rebuilt
    (cached in `plans` by routine); the bare step number when the routine is gone or has changed."""
    from voicecoach.routine import resolve_routine
    if record.completed:
        return lines()["history_completed"]
    status = lines()["history_stopped" if record.finished else "history_unfinished"]
    if record.routine not in plans:
        try:
            plans[record.routine] = core.build_plan(resolve_routine(record.routine, user_routines_dir()), lines())
        except (RoutineError, OSError):
            plans[record.routine] = None
    plan = plans[record.routine]
    if plan is None or len(plan) != record.steps_total or not 0 <= record.steps_done < len(plan):
        return lines()["history_step"].format(status=status, done=record.steps_done, total=record.steps_total)
    if record.steps_done == 0:
        return lines()["history_opening"].format(status=status)
    if record.steps_done == len(plan) - 1:
        return lines()["history_closing"].format(status=status)
    step = plan[record.steps_done]
    side = lines()["where_side"].format(side=step.side) if step.side else ""
    return lines()["history_during"].format(status=status, number=step.exercise + 1,
                                            total=1 + max(s.exercise for s in plan), name=step.title, side=side)
