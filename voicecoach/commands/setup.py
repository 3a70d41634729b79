"""`voicecoach voices`, `say` and `config`: the voices to pick from, a spoken check, the settings in force."""
from __future__ import annotations

import argparse

from voicecoach.commands.common import load_user_settings, print_line
from voicecoach.config import SettingsError
from voicecoach.package_data import lines



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
    from voicecoach.speech.line_speaker import say_once
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
