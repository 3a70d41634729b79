"""Whether a run continues the last unfinished session, starts afresh, or offers to resume by voice."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from voicecoach.ports import SessionRecord


@dataclass(frozen=True)
class Resume:
    routine_ref: str                       # the routine to run: the one named, or the unfinished one's
    start_index: int = 0                   # the plan step to begin at
    resumed_from: int | None = None        # the unfinished session continued, if any
    offer: bool = False                    # offer by voice to go on from start_index (not asked for with --resume)
    unfinished: SessionRecord | None = None  # the unfinished session known to this run (continued or left alone)
    notice: Literal["another_session", "nothing_to_resume"] | None = None  # to tell the user before starting


def decide(unfinished: SessionRecord | None, routine_ref: str, named: str | None, asked: bool,
           others_running: bool, start_wait: int) -> Resume:
    """Continue `unfinished` when --resume asks for it, or offer to when no other routine than its own is named; a
    session running in another process may own the unfinished record, so it is left to its owner."""
    if others_running:
        return Resume(routine_ref, notice="another_session")
    if unfinished is None:
        return Resume(routine_ref, notice="nothing_to_resume" if asked else None)
    if asked or named in (None, unfinished.routine):
        return Resume(unfinished.routine, unfinished.steps_done, unfinished.id,
                      offer=not asked and start_wait > 0 and unfinished.steps_done > 0, unfinished=unfinished)
    return Resume(routine_ref, unfinished=unfinished)


def changed(resume: Resume, steps_total: int) -> bool:
    """The routine changed length since the unfinished session: its step count means nothing now, begin again."""
    return resume.resumed_from is not None and resume.unfinished is not None \
        and resume.unfinished.steps_total != steps_total
