"""Command line: parses options, picks the adapters, and hands over to the library."""
from __future__ import annotations

import argparse
import os
import re
import sys
import traceback
from functools import lru_cache
from importlib import resources
from pathlib import Path

import platformdirs
import yaml

from voicecoach import __version__
from voicecoach import session as core
from voicecoach.config import SettingsError
from voicecoach.routine import RoutineError
from voicecoach.speech import SpeechUnavailable

DEFAULT_ROUTINE = "calf-stretch"


class UsageError(Exception):
    """A mistake in how the program was called; the message says how to fix it."""


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir("voicecoach"))


def user_routines_dir() -> Path:
    return data_dir() / "routines"


@lru_cache(maxsize=1)
def lines() -> dict[str, str]:
    return yaml.safe_load(resources.files("voicecoach.data").joinpath("lines.en.yaml").read_text("utf-8"))


def print_line(text: str) -> None:
    print(text + "\n", end="", flush=True)  # one write: a line from the typed-input thread never splits another


def open_store(notify, reading: bool = False):
    """The history; it never fails, but tells `notify` once why history is not being kept."""
    from voicecoach.adapters.sqlite_store import open_history
    return open_history(data_dir() / "history.db", notify, reading)


# ---- run ----

def cmd_run(args: argparse.Namespace) -> int:
    from voicecoach.adapters.clock import MonotonicClock, QueueInbox
    from voicecoach.routine import resolve_routine
    from voicecoach.runner import Runner
    from voicecoach.adapters.sqlite_store import SessionLock

    events = open_events(args.events)  # a bad path is a usage error before anything starts
    settings = load_user_settings(args)
    clock = MonotonicClock()
    inbox = QueueInbox(clock)

    def notify(name: str, fields: dict) -> None:
        inbox.put(("notify", name, fields))

    store = open_store(notify)
    lock = SessionLock(data_dir() / "session.lock")  # held until this process ends
    given = Path(args.routine or DEFAULT_ROUTINE)
    routine_ref = str(given.resolve()) if given.is_file() else str(given)  # resumable from any folder
    start_index, resumed_from, offer = 0, None, False
    unfinished = store.unfinished()
    if lock.others_running:  # the unfinished record may be that session's own: leave it to its owner
        notify("another_session", {})  # said by the session, as the other notices are
        unfinished = None
    elif args.resume and unfinished is None:
        print_line(lines()["nothing_to_resume"])
    elif unfinished is not None and (args.resume or args.routine in (None, unfinished.routine)):
        # asked for, or offered by voice at the opening when no other routine was named
        routine_ref, start_index, resumed_from = unfinished.routine, unfinished.steps_done, unfinished.id
        offer = not args.resume and settings.start_wait > 0 and start_index > 0
    try:
        routine = resolve_routine(routine_ref, user_routines_dir())
    except RoutineError as error:
        if resumed_from is None or args.routine is not None:  # what the user named is wrong: say so
            raise
        print_line(lines()["resume_unusable"].format(problem=error))  # gone or broken since: begin anew
        store.abandon(unfinished.id)  # said once: it cannot be continued any more
        routine_ref, start_index, resumed_from, offer, unfinished = str(given), 0, None, False, None
        routine = resolve_routine(routine_ref, user_routines_dir())
    plan = core.build_plan(routine, lines())
    if resumed_from is not None and unfinished.steps_total != len(plan):
        print_line(lines()["resume_changed"].format(name=routine.name))
        start_index, offer = 0, False
    elif unfinished is not None and resumed_from is None:
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
                       safety=knowledge.topics["see-professional"].answer,
                       count_lead_ms=round(getattr(speaker, "lead_time", 0) * 1000),
                       start_wait_ms=settings.start_wait * 1000, offer_resume_at=start_index if offer else 0,
                       routines={routine_id: (routine.name, core.build_plan(routine, lines()))
                                 for routine_id, routine in choosable.items()},
                       choose_routine=args.routine_by_voice,
                       cues=frozenset(settings.hold_cues.split(",")) - {"none"},
                       move_ms=round(settings.move_seconds * 1000), wait_for_ready=settings.wait_for_ready,
                       speech_wpm=settings.reading_wpm if isinstance(speaker, SilentSpeaker) else settings.rate,
                       tones=getattr(speaker, "plays_tones", True), week=week_so_far(store),
                       first_run_hint=lines()["tutorial_offer"] if first_run(args, start_index) else "")
    state = core.start_state(plan, start_index, settings.verbosity,
                             None if settings.counting == "routine" else settings.counting)
    runner = Runner(state=state, ctx=ctx, speaker=speaker, clock=clock, inbox=inbox, events=events, store=store,
                    print_line=print_line, routine_ref=routine_ref, resumed_from=resumed_from, listener=listener,
                    remember=remember_settings)
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


def open_events(path: Path | None):
    """The events log for --events; a path that cannot be written is a UsageError naming it and the fix."""
    from voicecoach.events import EventLog
    try:
        return EventLog(path)
    except IsADirectoryError:
        raise UsageError(lines()["events_folder"].format(path=path)) from None
    except FileNotFoundError as error:
        assert path is not None  # no path opens no file
        if not path.parent.is_dir():
            raise UsageError(lines()["events_no_folder"].format(path=path, folder=path.parent)) from None
        raise UsageError(lines()["events_unwritable"].format(path=path, error=error.strerror)) from None
    except OSError as error:
        raise UsageError(lines()["events_unwritable"].format(path=path, error=error.strerror or error)) from None


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


def make_speaker(args: argparse.Namespace, settings, clock, notify, played=None):
    from voicecoach.adapters.silent_speaker import SilentSpeaker
    from voicecoach.speech import SpeechUnavailable

    def save_user_settings(changed) -> None:
        try:
            remember_settings({"rate": changed.rate, "volume": changed.volume})
        except OSError as error:  # the speaker has it already: it applies for this session
            notify("setting_not_saved", {"error": f"{type(error).__name__}: {error}"})

    if args.no_speech or settings.speaker == "print":
        return SilentSpeaker(clock, notify, settings.reading_wpm)
    try:
        if settings.speaker == "speechd":
            from voicecoach.speech.speechd_speaker import SpeechdSpeaker
            return SpeechdSpeaker(settings, clock, notify, remember=save_user_settings)
        from voicecoach.speech.pyttsx3_speaker import Pyttsx3Speaker
        return Pyttsx3Speaker(settings, clock, notify, remember=save_user_settings,
                              tap=played.write if played is not None else None)
    except SpeechUnavailable as error:
        print_line(f"{error} {lines()['speech_fallback']}")
        return SilentSpeaker(clock, notify, settings.reading_wpm)


def load_user_settings(args: argparse.Namespace):
    from voicecoach.config import SettingsError, load_settings
    flags = {name: getattr(args, name, None) for name in ("voice", "rate", "volume", "speaker", "verbosity",
                                                           "start_wait", "wait_for_ready")}
    try:
        return load_settings(flags)[0]
    except SettingsError as error:
        raise UsageError(str(error)) from None


def remember_settings(changes: dict) -> None:
    from voicecoach.config import remember
    remember(changes)


def make_listener(args: argparse.Namespace, clock, notify, routine_names: dict[str, str], played=None):
    """Typed lines always; with --text nothing else, otherwise the microphone too (typed input is the fallback)."""
    from voicecoach.adapters.typed_input import TypedInput
    from voicecoach.knowledge import match_question
    typed = TypedInput(sys.stdin, match_question, routine_names,
                       report=lambda number: print_line(lines()["typed_line_unreadable"].format(line=number)))
    if args.text:
        return typed
    from voicecoach.adapters.combined import CombinedListener
    from voicecoach.listening.mic import MicListener
    from voicecoach.listening.factory import RecognizerUnavailable, recognizer_factory
    try:
        build = recognizer_factory(args.recognizer, args.model, routine_names)
    except RecognizerUnavailable as error:
        raise UsageError(str(error)) from None
    return CombinedListener(MicListener(clock, device=args.input_device, recognizer_factory=build, notify=notify,
                                        played=played), typed)


# ---- other subcommands ----

def all_routines():
    """(id, Routine or the RoutineError that spoils it, where it is from) for bundled routines, then the user's."""
    from voicecoach.routine import bundled_routine_ids, bundled_routine_path, load_routine_file
    for routine_id in bundled_routine_ids():
        yield routine_id, load_routine_file(bundled_routine_path(routine_id), routine_id), "bundled"
    folder = user_routines_dir()
    for path in sorted(folder.glob("*.y*ml")) if folder.is_dir() else []:
        try:
            yield path.stem, load_routine_file(path, path.stem), f"yours, {path}"
        except RoutineError as error:
            yield path.stem, error, str(path)


def choosable_routines() -> dict:
    """id -> Routine, for every routine that loads."""
    return {routine_id: routine for routine_id, routine, _ in all_routines() if not isinstance(routine, RoutineError)}


def spoken_names(choosable: dict) -> dict[str, str]:
    """What a person may say to pick each routine (its name, or its id in words) -> its id."""
    return {**{routine.name: routine_id for routine_id, routine in choosable.items()},
            **{routine_id.replace("-", " "): routine_id for routine_id in choosable}}


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
    template = resources.files("voicecoach.data").joinpath("routine-template.yaml").read_text("utf-8")
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


def counted(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


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


def cmd_voices(args: argparse.Namespace) -> int:
    """The voices in the user's language first, the one in use marked, then how to pick and hear one."""
    from voicecoach.config import config_path
    from voicecoach.speech.voices import check_voice, default_voice, list_voices, speaks, user_language
    settings = load_user_settings(args)
    try:
        in_use = check_voice(settings.voice) if settings.voice else default_voice()
    except SettingsError as error:  # a voice in the settings that is gone: still list the others
        print_line(str(error))
        in_use = None
    voices = list_voices()
    language = user_language()
    mine = [voice for voice in voices if speaks(voice[2], language)]
    for voice_id, name, _ in voices:
        if voice_id == in_use:
            print_line(lines()["voices_in_use"].format(name=name, id=voice_id))
    groups = [(lines()["voices_yours"].format(language=mine[0][1].split(" (")[0]), mine),
              (lines()["voices_other"], [voice for voice in voices if voice not in mine])] if mine else [("", voices)]
    for heading, group in groups:
        if heading and group:
            print_line(heading)
        for voice_id, name, languages in group:
            print_line(f"{voice_id}  {name}" + (f"  ({', '.join(languages)})" if languages else "")
                       + (lines()["voices_marker"] if voice_id == in_use else ""))
    print_line(lines()["voices_pick"].format(path=config_path()))
    print_line(lines()["voices_hear"])
    return 0


def cmd_say(args: argparse.Namespace) -> int:
    from voicecoach.speech.voices import say_once
    return 0 if say_once(" ".join(args.text), load_user_settings(args)) else 1


def cmd_config(args: argparse.Namespace) -> int:
    import dataclasses
    from voicecoach.config import config_path
    settings = load_user_settings(args)
    path = config_path()
    print_line(f"Settings file: {path}" + ("" if path.exists() else " (not written yet; these are the defaults)"))
    for name, value in dataclasses.asdict(settings).items():
        print_line(f"{name}: {'default' if value is None else value}")
    return 0


def cmd_hear(args: argparse.Namespace) -> int:
    from voicecoach.listening.commands import hear
    from voicecoach.listening.factory import RecognizerUnavailable, make_recognizer
    try:
        recognizer = make_recognizer(args.recognizer, args.model)
    except RecognizerUnavailable as error:
        raise UsageError(str(error)) from None
    return hear(args.files, args.json, recognizer)


def cmd_devices(args: argparse.Namespace) -> int:
    from voicecoach.listening.commands import devices
    return devices(lines())


TUTORIAL_OFFERED = "tutorial-offered"  # in the data folder: the first run's offer is made once


def cmd_tutorial(args: argparse.Namespace) -> int:
    from voicecoach.adapters.clock import MonotonicClock
    from voicecoach.listening.commands import tutorial
    from voicecoach.listening.mic import MicListener
    from voicecoach.listening.factory import RecognizerUnavailable, recognizer_factory
    settings = load_user_settings(args)
    try:
        build = recognizer_factory(args.recognizer, args.model, {})
    except RecognizerUnavailable as error:
        raise UsageError(str(error)) from None
    speaker = None
    if settings.speaker != "print":  # opened before the microphone, as in a session
        from voicecoach.speech import SpeechUnavailable
        from voicecoach.speech.voices import LineSpeaker
        try:
            speaker = LineSpeaker(settings)
        except SpeechUnavailable as error:
            print_line(f"{error} {lines()['speech_fallback']}")
    mark_tutorial_offered()
    try:
        return tutorial(lambda notify: MicListener(MonotonicClock(), device=args.input_device,
                                                   recognizer_factory=build, notify=notify),
                        lines(), speaker.say if speaker is not None else None)
    finally:
        if speaker is not None:
            speaker.close()


def first_run(args: argparse.Namespace, start_index: int) -> bool:
    """Whether to offer the tutorial: a new session with the microphone, the tutorial not offered before."""
    return not args.text and start_index == 0 and mark_tutorial_offered()


def mark_tutorial_offered() -> bool:
    """Remember that the tutorial was offered (or taken); True if it had not been before."""
    marker = data_dir() / TUTORIAL_OFFERED
    if marker.exists():
        return False
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
    except OSError:
        return False  # an unwritable data folder: better no offer than one at every run
    return True


MIC_TEST_MAX_SECONDS = 60


def cmd_mic_test(args: argparse.Namespace) -> int:
    from voicecoach.listening.commands import mic_test
    if not 0 < args.seconds <= MIC_TEST_MAX_SECONDS:  # also NaN; 0 crashed in PortAudio's thread
        raise UsageError(f"--seconds must be a number of seconds above 0 and up to {MIC_TEST_MAX_SECONDS},"
                         f" not {args.seconds:g}; for example: voicecoach mic-test --seconds 10")
    settings = load_user_settings(args)
    speak = None
    if settings.speaker != "print":  # printing it again would only repeat it
        from voicecoach.speech import SpeechUnavailable
        from voicecoach.speech.voices import say_once

        def speak(text: str) -> None:
            try:
                say_once(text, settings)
            except SpeechUnavailable:
                pass  # the lines are printed all the same
    return mic_test(args.seconds, args.input_device, wording=lines(), speak=speak, details=args.details)


def cmd_ask(args: argparse.Namespace) -> int:
    from voicecoach.knowledge import ask_command
    read_stdin = args.question == ["-"]
    speak = None
    settings = load_user_settings(args) if args.say else None
    if settings is not None and settings.speaker != "print":  # printing it again would only repeat it
        from voicecoach.speech.voices import say_once
        speak = lambda text: say_once(text, settings)  # noqa: E731
    report = lambda number: print(lines()["typed_line_unreadable"].format(line=number), file=sys.stderr)  # noqa: E731
    return ask_command(None if read_stdin else args.question, read_stdin, args.json, sys.stdout, speak=speak,
                       report=report)


# ---- parsing ----

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="voicecoach", description="A spoken stretching coach that listens for your commands. "
        "With no command it runs the calf stretch.")
    parser.add_argument("--version", action="version", version=f"voicecoach {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser("run", help="coach a routine, start to finish",
                              description="Coach a routine aloud, counting holds and taking commands.")
    run.add_argument("routine", nargs="?",
                     help=f"a bundled routine id (see 'voicecoach list') or a YAML file; default {DEFAULT_ROUTINE}")
    run.add_argument("--text", action="store_true",
                     help="read typed commands and questions from standard input, one per line")
    run.add_argument("--no-speech", action="store_true",
                     help="print only, for screen-reader users; nothing is spoken")
    run.add_argument("--events", type=Path, metavar="FILE",
                     help="append one JSON object per line for each event, as it happens")
    run.add_argument("--resume", action="store_true", help="continue the last unfinished session where it stopped"
                     " (without it, the coach offers to by voice when no routine is named)")
    verbosity = run.add_mutually_exclusive_group()
    verbosity.add_argument("--brief", dest="verbosity", action="store_const", const="brief",
                           help="say less: no routine description, tips or extra detail")
    verbosity.add_argument("--detailed", dest="verbosity", action="store_const", const="detailed",
                           help="say more: every detail line the routine has")
    run.add_argument("--routine-by-voice", action="store_true",
                     help="start by saying the routines and letting you pick one by name (or say 'change routine')")
    run.add_argument("--no-echo-cancel", action="store_true",
                     help="do not take the coach's own voice out of the microphone (then, with speakers, speak"
                     " when the coach has finished its sentence)")
    run.add_argument("--start-wait", type=int, metavar="SECONDS",
                     help="after the opening, wait this long for 'start' before beginning (0: at once; default 10)")
    run.add_argument("--wait-for-ready", action="store_true", default=None,
                     help="before each hold, say 'say ready when you are in position' and wait for 'ready'")
    add_speech_options(run)
    add_input_device_option(run)
    add_recognizer_options(run)
    run.set_defaults(handler=cmd_run)

    listing = commands.add_parser("list", help="list bundled and your own routines",
                                  description="List bundled routines and those in your routines folder.")
    listing.set_defaults(handler=cmd_list)

    new = commands.add_parser("new", help="start your own routine from a commented template",
                              description="Write a commented template routine NAME.yaml to your routines folder"
                              " (never over an existing file), and say where it is.")
    new.add_argument("name", metavar="NAME", help="a plain name such as evening-calf: letters, digits, - and _")
    new.set_defaults(handler=cmd_new)

    check = commands.add_parser("check", help="check routine files for mistakes",
                                description="Check routine files; exit 0 if all are valid, 2 otherwise.")
    check.add_argument("files", nargs="+", metavar="FILE")
    check.set_defaults(handler=cmd_check)

    history = commands.add_parser("history", help="show past sessions",
                                  description="Show past sessions: date, routine, how far it got, how long.")
    history.add_argument("--limit", type=int, default=50, help="how many sessions to show (default 50)")
    history.set_defaults(handler=cmd_history)

    ask = commands.add_parser("ask", help="answer a question about calf cramps and stretching",
                              description="Answer a question from the bundled knowledge (general information,"
                              " not medical advice). Use - to read one question per line from standard input.")
    ask.add_argument("question", nargs="+", help="the question, or - for standard input")
    ask.add_argument("--json", action="store_true", help="print one JSON object per question")
    ask.add_argument("--say", action="store_true", help="also speak each answer aloud")
    add_speech_options(ask)
    ask.set_defaults(handler=cmd_ask)

    voices = commands.add_parser("voices", help="list the voices you can pick with --voice",
                                 description="List the installed voices: id, name and languages.")
    voices.set_defaults(handler=cmd_voices)

    say = commands.add_parser("say", help="speak a line, to check your set-up",
                              description="Speak a line with your settings, to check that sound works.")
    say.add_argument("text", nargs="+")
    add_speech_options(say)
    say.set_defaults(handler=cmd_say)

    hear = commands.add_parser("hear", help="recognise commands and questions in recorded WAV files",
                               description="Recognise each 16 kHz mono WAV file; one result per file.")
    hear.add_argument("files", nargs="+", metavar="FILE.wav")
    hear.add_argument("--json", action="store_true",
                      help='one JSON object per line: file, text, intent, topic, confidence, decode_ms')
    add_recognizer_options(hear)
    hear.set_defaults(handler=cmd_hear)

    devices = commands.add_parser("devices", help="list audio inputs and outputs",
                                  description="List audio inputs and outputs with the index to pass as"
                                  " --input-device.")
    devices.set_defaults(handler=cmd_devices)

    mic_test = commands.add_parser("mic-test", help="listen for ten seconds and say what was heard",
                                   description="Listen, then say aloud and print what was heard and whether"
                                   " the room is quiet and your voice clear; the levels in dB follow.")
    mic_test.add_argument("--seconds", type=float, default=10,
                          help=f"how long to listen, up to {MIC_TEST_MAX_SECONDS} (default 10)")
    mic_test.add_argument("--details", action="store_true",
                          help="also print what each thing heard was taken as, and how sure the recogniser was")
    add_speech_options(mic_test)
    add_input_device_option(mic_test)
    mic_test.set_defaults(handler=cmd_mic_test)

    tutorial = commands.add_parser("tutorial", help="a short spoken practice that also checks the microphone",
                                   description="Practise talking to the coach (say pause, then resume), which"
                                   " checks that the microphone hears you; exit 1 if it did not.")
    add_speech_options(tutorial)
    add_input_device_option(tutorial)
    add_recognizer_options(tutorial)
    tutorial.set_defaults(handler=cmd_tutorial)

    config = commands.add_parser("config", help="show your settings and where they are kept",
                                 description="Show the settings in force (file, VOICECOACH_* variables and"
                                 " defaults) and the settings file's path.")
    config.set_defaults(handler=cmd_config)
    return parser


def add_input_device_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input-device", metavar="DEVICE",
                        help="microphone by index or part of its name (see 'voicecoach devices'); default: the system's")


def add_recognizer_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--recognizer", default="offline",
                        choices=("offline", "pocketsphinx", "vosk", "whisper", "google"),
                        help="offline (default: pocketsphinx and Moonshine); pocketsphinx alone (less memory, fewer"
                        " commands understood); vosk or whisper with --model; google (online)")
    parser.add_argument("--model", metavar="PATH", help="model directory or file for vosk or whisper")


def add_speech_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--speaker", choices=("pyttsx3", "speechd", "print"),
                        help="how to speak: pyttsx3 (default), speechd (Speech Dispatcher, as screen readers"
                        " use), or print")
    parser.add_argument("--voice", help="a voice id or name from 'voicecoach voices'")
    parser.add_argument("--rate", type=int, help="speech rate in words a minute (default 175)")
    parser.add_argument("--volume", type=float, help="volume from 0 to 1 (default 0.9)")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")):
        argv.insert(0, "run")
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    if args.command == "ask" and args.question != ["-"]:
        args.question = [" ".join(args.question)]
    try:
        return args.handler(args)
    except (RoutineError, UsageError, SettingsError) as error:  # SettingsError: e.g. a voice not installed
        print(f"voicecoach: {error}", file=sys.stderr, flush=True)
        return 2
    except KeyboardInterrupt:
        return 0
    except SpeechUnavailable as error:  # no sound device: say so, it is not a bug to report
        print(f"voicecoach: {str(error).rstrip('.')}; {lines()['no_sound_output']}", file=sys.stderr, flush=True)
        return 1
    except BrokenPipeError:  # the reader of our output went away (e.g. "| head"); nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as error:  # a bug, not the user's mistake: one line, details on request
        if os.environ.get("VOICECOACH_DEBUG"):
            traceback.print_exc()
        print(f"voicecoach: unexpected error ({type(error).__name__}: {error}); "
              "set VOICECOACH_DEBUG=1 to see details and please report it.", file=sys.stderr, flush=True)
        return 1
