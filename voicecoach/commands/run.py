"""`voicecoach run`: a session from start to finish, with the adapters the options pick."""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from voicecoach import resume as resuming
from voicecoach import session as core
from voicecoach.catalogue import DEFAULT_ROUTINE, choosable_routines, spoken_names
from voicecoach.commands.common import load_user_settings, mark_tutorial_offered, print_line, remember_settings
from voicecoach.commands.wiring import make_listener, make_speaker, open_events, open_store
from voicecoach.package_data import lines
from voicecoach.paths import session_lock_path, user_routines_dir
from voicecoach.routine import RoutineError


def cmd_run(args: argparse.Namespace) -> int:
    from voicecoach.adapters.clock import MonotonicClock, QueueInbox
    from voicecoach.adapters.sqlite_store import SessionLock
    from voicecoach.routine import resolve_routine
    from voicecoach.runner import Runner

    events = open_events(args.events)  # a bad path is a usage error before anything starts
    settings = load_user_settings(args)
    clock = MonotonicClock()
    inbox = QueueInbox(clock)

    def notify(name: str, fields: dict) -> None:
        inbox.put(("notify", name, fields))

    store = open_store(notify)
    lock = SessionLock(session_lock_path())  # held until this process ends
    given = Path(args.routine or DEFAULT_ROUTINE)
    named_ref = str(given.resolve()) if given.is_file() else str(given)  # resumable from any folder
    resume = resuming.decide(store.unfinished(), named_ref, args.routine, args.resume, lock.others_running,
                             settings.start_wait)
    if resume.notice == "another_session":
        notify("another_session", {})  # said by the session, as the other notices are
    elif resume.notice == "nothing_to_resume":
        print_line(lines()["nothing_to_resume"])
    try:
        routine = resolve_routine(resume.routine_ref, user_routines_dir())
    except RoutineError as error:
        if resume.resumed_from is None or args.routine is not None:  # what the user named is wrong: say so
            raise
        print_line(lines()["resume_unusable"].format(problem=error))  # gone or broken since: begin anew
        store.abandon(resume.resumed_from)  # said once: it cannot be continued any more
        resume = resuming.Resume(str(given))
        routine = resolve_routine(resume.routine_ref, user_routines_dir())
    plan = core.build_plan(routine, lines())
    if resuming.changed(resume, len(plan)):
        print_line(lines()["resume_changed"].format(name=routine.name))
        resume = dataclasses.replace(resume, start_index=0, offer=False)
    elif resume.unfinished is not None and resume.resumed_from is None:
        unfinished = resume.unfinished
        print_line(lines()["resume_hint"].format(name=unfinished.routine_name, started=unfinished.started[:16].replace("T", " ")))

    from voicecoach.adapters.silent_speaker import SilentSpeaker
    choosable = choosable_routines()
    played = None
    if not args.no_echo_cancel and not args.text:
        from voicecoach.listening.echo import PlayedAudio
        from voicecoach.speech.clips import RATE
        played = PlayedAudio(RATE)
    speaker = make_speaker(args, settings, clock, notify, played)
    if not getattr(speaker, "taps_output", False):
        played = None  # Speech Dispatcher plays it out of our sight (or nothing plays): the word filter stays
    listener = make_listener(args, clock, notify, spoken_names(choosable), played)
    from voicecoach import knowledge as knowledge_base
    knowledge = knowledge_base.load()
    ctx = core.Context(lines(), routine.name, answers={t.id: t.answer for t in knowledge.topics.values()},
                       more={t.id: t.more for t in knowledge.topics.values()},
                       out_of_scope=knowledge.out_of_scope, disclaimer=knowledge.disclaimer,
                       safety=knowledge.safety, count_lead_ms=round(speaker.lead_time * 1000),
                       start_wait_ms=settings.start_wait * 1000,
                       offer_resume_at=resume.start_index if resume.offer else 0,
                       routines={routine_id: (routine.name, core.build_plan(routine, lines()))
                                 for routine_id, routine in choosable.items()},
                       choose_routine=args.routine_by_voice,
                       cues=frozenset(settings.hold_cues.split(",")) - {"none"},
                       move_ms=round(settings.move_seconds * 1000), wait_for_ready=settings.wait_for_ready,
                       speech_wpm=settings.reading_wpm if isinstance(speaker, SilentSpeaker) else settings.rate,
                       tones=getattr(speaker, "plays_tones", True), week=week_so_far(store),
                       first_run_hint=lines()["tutorial_offer"] if first_run(args, resume.start_index) else "")
    state = core.start_state(plan, resume.start_index, settings.verbosity,
                             None if settings.counting == "routine" else settings.counting,
                             frozenset(settings.tones_explained.split(",")) - {""})
    runner = Runner(state=state, ctx=ctx, speaker=speaker, clock=clock, inbox=inbox, events=events, store=store,
                    print_line=print_line, routine_ref=resume.routine_ref, resumed_from=resume.resumed_from,
                    listener=listener, remember=remember_settings)
    try:
        runner.run()  # Ctrl-C included: the runner has said how the session was left
    finally:
        speaker.close()
        try:
            events.close()
        except OSError:  # its last lines cannot be written (a full disk): the runner has said so once
            pass
        store.close()
        lock.release()
    return 0


def week_so_far(store):
    """This week's sessions from the history, for the end of the session and "how am I doing"; None if the
    history cannot be read (it is a convenience: the session goes on without it)."""
    import sqlite3
    from datetime import date

    from voicecoach.progress import week_summary
    if store is None:
        return None
    try:
        return week_summary(store.history(1000), date.today())
    except (OSError, ValueError, sqlite3.Error):
        return None


def first_run(args: argparse.Namespace, start_index: int) -> bool:
    """Whether to offer the tutorial: a new session with the microphone, the tutorial not offered before."""
    return not args.text and start_index == 0 and mark_tutorial_offered()
