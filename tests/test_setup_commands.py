"""The set-up commands (voices, say, devices, mic-test) and the session record (history, progress) for a user
who listens rather than reads."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest


@pytest.fixture(autouse=True)
def private_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in ("CONFIG", "DATA", "CACHE", "STATE"):
        monkeypatch.setenv(f"XDG_{name}_HOME", str(tmp_path / name.lower()))
    monkeypatch.setenv("VOICECOACH_READING_WPM", "0")
    monkeypatch.setenv("VOICECOACH_START_WAIT", "0")
    monkeypatch.delenv("VOICECOACH_VOICE", raising=False)


def voicecoach(*args: str, stdin: str = "", timeout: float = 60, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "voicecoach", *args], input=stdin, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **env})


# ---- a voice that is not installed is the user's mistake ----

@pytest.mark.parametrize("args", [("say", "--voice", "klingonx", "hi"),
                                  ("run", "--voice", "klingonx", "--text", "calf-stretch")])
def test_a_voice_that_is_not_installed_is_one_sentence_and_exit_2(args):
    result = voicecoach(*args)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "klingonx" in result.stderr and "voicecoach voices" in result.stderr
    assert "report" not in result.stderr and "Traceback" not in result.stderr


def test_a_voice_from_the_environment_that_is_not_installed_is_exit_2_too():
    result = voicecoach("say", "hi", VOICECOACH_VOICE="klingonx")
    assert result.returncode == 2 and "klingonx" in result.stderr
