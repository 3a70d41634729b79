"""Command line: parses options, picks the adapters, and hands over to the library."""
from __future__ import annotations

import argparse
import os
import sys
import traceback
from functools import lru_cache
from importlib import resources
from pathlib import Path

import platformdirs
import yaml

from voicecoach import __version__
from voicecoach import session as core
from voicecoach.routine import RoutineError

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
    print(text, flush=True)


def open_store():
    from voicecoach.adapters.sqlite_store import SqliteStore
    return SqliteStore(data_dir() / "history.db")


# ---- run ----

def cmd_run(args: argparse.Namespace) -> int:
    from voicecoach.adapters.clock import MonotonicClock, QueueInbox
    from voicecoach.events import EventLog
    from voicecoach.routine import resolve_routine
    from voicecoach.runner import Runner

    settings = load_user_settings(args)
    store = open_store()
    given = Path(args.routine or DEFAULT_ROUTINE)
    routine_ref = str(given.resolve()) if given.is_file() else str(given)  # resumable from any folder
    start_index, resumed_from, offer = 0, None, False
    unfinished = store.unfinished()
    if args.resume and unfinished is None:
        print_line(lines()["nothing_to_resume"])
    elif unfinished is not None and (args.resume or args.routine in (None, unfinished.routine)):
        # asked for, or offered by voice at the opening when no other routine was named
        routine_ref, start_index, resumed_from = unfinished.routine, unfinished.steps_done, unfinished.id
        offer = not args.resume and settings.start_wait > 0 and start_index > 0
    try:
        routine = resolve_routine(routine_ref, user_routines_dir())
    except RoutineError:
        if not offer:
            raise
        routine_ref, start_index, resumed_from, offer, unfinished = str(given), 0, None, False, None  # file gone
        routine = resolve_routine(routine_ref, user_routines_dir())
    plan = core.build_plan(routine, lines())
    if resumed_from is not None and unfinished.steps_total != len(plan):
        print_line(lines()["resume_changed"].format(name=routine.name))
        start_index, offer = 0, False
    elif unfinished is not None and resumed_from is None:
        print_line(lines()["resume_hint"].format(name=unfinished.routine_name, started=unfinished.started[:16].replace("T", " ")))

    clock = MonotonicClock()
    inbox = QueueInbox(clock)

    def notify(name: str, fields: dict) -> None:
        inbox.put(("notify", name, fields))

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
                       choose_routine=args.routine_by_voice)
    events = EventLog(args.events)
    state = core.start_state(plan, start_index, settings.verbosity,
                             None if settings.counting == "routine" else settings.counting)
    runner = Runner(state=state, ctx=ctx, speaker=speaker, clock=clock, inbox=inbox, events=events, store=store,
                    print_line=print_line, routine_ref=routine_ref, resumed_from=resumed_from, listener=listener,
                    remember=remember_settings)
    try:
        outcome = runner.run()
    finally:
        speaker.close()
        events.close()
        store.close()
    if outcome.interrupted:
        print_line(lines()["interrupted"])
    return 0


def make_speaker(args: argparse.Namespace, settings, clock, notify, played=None):
    from voicecoach.adapters.silent_speaker import SilentSpeaker
    from voicecoach.speech import SpeechUnavailable

    def save_user_settings(changed) -> None:
        remember_settings({"rate": changed.rate, "volume": changed.volume})

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
                                                           "start_wait")}
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
    typed = TypedInput(sys.stdin, match_question, routine_names)
    if args.text:
        return typed
    from voicecoach.adapters.combined import CombinedListener
    from voicecoach.listening.mic import MicListener
    from voicecoach.listening.optional import RecognizerUnavailable, recognizer_factory
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
    for routine_id, routine, origin in all_routines():
        if isinstance(routine, RoutineError):
            print_line(f"{routine_id}: cannot be used: {routine}")
        else:
            print_line(f"{routine_id}: {routine.name} ({origin})")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from voicecoach.routine import load_routine_file
    failed = False
    for name in args.files:
        try:
            routine = load_routine_file(Path(name), name)
            steps = sum(len(e.steps) for e in routine.exercises)
            print_line(f"{name}: ok, {len(routine.exercises)} exercises, {steps} steps")
        except RoutineError as error:
            failed = True
            print(error, file=sys.stderr, flush=True)
    return 2 if failed else 0


def cmd_history(args: argparse.Namespace) -> int:
    store = open_store()
    try:
        records = store.history(args.limit)
    finally:
        store.close()
    if not records:
        print_line(lines()["history_empty"])
    for record in reversed(records):
        status = "completed" if record.completed else "stopped" if record.finished else "unfinished"
        minutes, seconds = divmod(round(record.seconds), 60)
        print_line(f"{record.started[:16].replace('T', ' ')}  {record.routine_name}  {status}, "
                   f"step {record.steps_done} of {record.steps_total}, {minutes} min {seconds:02d} s")
    return 0


def cmd_voices(args: argparse.Namespace) -> int:
    from voicecoach.speech.voices import list_voices
    for voice_id, name, languages in list_voices():
        print_line(f"{voice_id}  {name}" + (f"  ({', '.join(languages)})" if languages else ""))
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
    from voicecoach.listening.optional import RecognizerUnavailable, make_recognizer
    try:
        recognizer = make_recognizer(args.recognizer, args.model)
    except RecognizerUnavailable as error:
        raise UsageError(str(error)) from None
    return hear(args.files, args.json, recognizer)


def cmd_devices(args: argparse.Namespace) -> int:
    from voicecoach.listening.commands import devices
    return devices()


def cmd_mic_test(args: argparse.Namespace) -> int:
    from voicecoach.listening.commands import mic_test
    return mic_test(args.seconds, args.input_device)


def cmd_ask(args: argparse.Namespace) -> int:
    from voicecoach.knowledge import ask_command
    read_stdin = args.question == ["-"]
    speak = None
    settings = load_user_settings(args) if args.say else None
    if settings is not None and settings.speaker != "print":  # printing it again would only repeat it
        from voicecoach.speech.voices import say_once
        speak = lambda text: say_once(text, settings)  # noqa: E731
    return ask_command(None if read_stdin else args.question, read_stdin, args.json, sys.stdout, speak=speak)


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
    add_speech_options(run)
    add_input_device_option(run)
    add_recognizer_options(run)
    run.set_defaults(handler=cmd_run)

    listing = commands.add_parser("list", help="list bundled and your own routines",
                                  description="List bundled routines and those in your routines folder.")
    listing.set_defaults(handler=cmd_list)

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
                                   description="Listen, then say what was heard and how loud the room is.")
    mic_test.add_argument("--seconds", type=float, default=10, help="how long to listen (default 10)")
    add_input_device_option(mic_test)
    mic_test.set_defaults(handler=cmd_mic_test)

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
    except (RoutineError, UsageError) as error:
        print(f"voicecoach: {error}", file=sys.stderr, flush=True)
        return 2
    except KeyboardInterrupt:
        return 0
    except BrokenPipeError:  # the reader of our output went away (e.g. "| head"); nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as error:  # a bug, not the user's mistake: one line, details on request
        if os.environ.get("VOICECOACH_DEBUG"):
            traceback.print_exc()
        print(f"voicecoach: unexpected error ({type(error).__name__}: {error}); "
              "set VOICECOACH_DEBUG=1 to see details and please report it.", file=sys.stderr, flush=True)
        return 1
