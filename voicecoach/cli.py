"""Command line: parses the options and hands each subcommand to its body in voicecoach/commands/."""
from __future__ import annotations

import argparse
import os
import sys
import traceback
from importlib import import_module
from pathlib import Path

from voicecoach import __version__
from voicecoach.catalogue import DEFAULT_ROUTINE
from voicecoach.commands.common import MIC_TEST_MAX_SECONDS, UsageError
from voicecoach.config import SettingsError
from voicecoach.package_data import lines
from voicecoach.routine import RoutineError
from voicecoach.speech import SpeechUnavailable


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
    run.set_defaults(handler="run.cmd_run")

    listing = commands.add_parser("list", help="list bundled and your own routines",
                                  description="List bundled routines and those in your routines folder.")
    listing.set_defaults(handler="routines.cmd_list")

    new = commands.add_parser("new", help="start your own routine from a commented template",
                              description="Write a commented template routine NAME.yaml to your routines folder"
                              " (never over an existing file), and say where it is.")
    new.add_argument("name", metavar="NAME", help="a plain name such as evening-calf: letters, digits, - and _")
    new.set_defaults(handler="routines.cmd_new")

    check = commands.add_parser("check", help="check routine files for mistakes",
                                description="Check routine files; exit 0 if all are valid, 2 otherwise.")
    check.add_argument("files", nargs="+", metavar="FILE")
    check.set_defaults(handler="routines.cmd_check")

    history = commands.add_parser("history", help="show past sessions",
                                  description="Show past sessions: date, routine, how far it got, how long.")
    history.add_argument("--limit", type=int, default=50, help="how many sessions to show (default 50)")
    history.set_defaults(handler="history.cmd_history")

    ask = commands.add_parser("ask", help="answer a question about calf cramps and stretching",
                              description="Answer a question from the bundled knowledge (general information,"
                              " not medical advice). Use - to read one question per line from standard input.")
    ask.add_argument("question", nargs="+", help="the question, or - for standard input")
    ask.add_argument("--json", action="store_true", help="print one JSON object per question")
    ask.add_argument("--say", action="store_true", help="also speak each answer aloud")
    add_speech_options(ask)
    ask.set_defaults(handler="ask.cmd_ask")

    voices = commands.add_parser("voices", help="list the voices you can pick with --voice",
                                 description="List the installed voices, those in your language (from the locale) first and "
                                             "the one in use marked, then how to choose one and how to hear it.")
    voices.set_defaults(handler="setup.cmd_voices")

    say = commands.add_parser("say", help="speak a line, to check your set-up",
                              description="Speak a line with your settings, to check that sound works.")
    say.add_argument("text", nargs="+")
    add_speech_options(say)
    say.set_defaults(handler="setup.cmd_say")

    hear = commands.add_parser("hear", help="recognise commands and questions in recorded WAV files",
                               description="Recognise each 16 kHz mono WAV file; one result per file.")
    hear.add_argument("files", nargs="+", metavar="FILE.wav")
    hear.add_argument("--json", action="store_true",
                      help='one JSON object per line: file, text, intent, topic, confidence, decode_ms')
    add_recognizer_options(hear)
    hear.set_defaults(handler="listening.cmd_hear")

    devices = commands.add_parser("devices", help="list audio inputs and outputs",
                                  description="List audio inputs and outputs with the index to pass as"
                                  " --input-device.")
    devices.set_defaults(handler="listening.cmd_devices")

    mic_test = commands.add_parser("mic-test", help="listen for ten seconds and say what was heard",
                                   description="Listen, then say aloud and print what was heard and whether"
                                   " the room is quiet and your voice clear; the levels in dB follow.")
    mic_test.add_argument("--seconds", type=float, default=10,
                          help=f"how long to listen, up to {MIC_TEST_MAX_SECONDS} (default 10)")
    mic_test.add_argument("--details", action="store_true",
                          help="also print what each thing heard was taken as, and how sure the recognizer was")
    add_speech_options(mic_test)
    add_input_device_option(mic_test)
    mic_test.set_defaults(handler="listening.cmd_mic_test")

    tutorial = commands.add_parser("tutorial", help="a short spoken practice that also checks the microphone",
                                   description="Practise talking to the coach (say pause, then resume), which"
                                   " checks that the microphone hears you; exit 1 if it did not.")
    add_speech_options(tutorial)
    add_input_device_option(tutorial)
    add_recognizer_options(tutorial)
    tutorial.set_defaults(handler="listening.cmd_tutorial")

    config = commands.add_parser("config", help="show your settings and where they are kept",
                                 description="Show the settings in force (file, VOICECOACH_* variables and"
                                 " defaults) and the settings file's path.")
    config.set_defaults(handler="setup.cmd_config")
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
        module, name = args.handler.split(".")  # imported only now: "list" needs no numpy nor microphone code
        return getattr(import_module(f"voicecoach.commands.{module}"), name)(args)
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
