"""Set-up mistakes shown as crashes before (issue 26 item 11, issue 28): a voice that is not installed."""
from __future__ import annotations

from pathlib import Path

from faults.common import Fault, Result, voicecoach


def _voice_not_installed(*args: str, env: dict | None = None):
    def run(home: Path) -> Result:
        result = voicecoach(*args, env=env)
        said = result.stderr.strip()
        one_sentence = said.count("\n") == 0 and "klingonx" in said and "voicecoach voices" in said
        return Result(heard=f"exit {result.returncode}: {said}", lost="nothing (nothing had started)",
                      ok=result.returncode == 2 and one_sentence and "report" not in said)
    return run


def _seconds_zero() -> Result:
    result = voicecoach("mic-test", "--seconds", "0")
    said = result.stderr.strip()
    return Result(heard=f"exit {result.returncode}: {said}", lost="nothing",
                  ok=result.returncode == 2 and "--seconds" in said and "terminate called" not in said)


FAULTS = [
    Fault("setup: say --voice that is not installed", _voice_not_installed("say", "--voice", "klingonx", "hi")),
    Fault("setup: run --voice that is not installed",
          _voice_not_installed("run", "--voice", "klingonx", "--text", "calf-stretch")),
    Fault("setup: VOICECOACH_VOICE that is not installed",
          _voice_not_installed("say", "hi", env={"VOICECOACH_VOICE": "klingonx"})),
    Fault("setup: mic-test --seconds 0", lambda home: _seconds_zero()),
]

