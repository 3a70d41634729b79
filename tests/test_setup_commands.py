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


# ---- voices: the user's language first, the one in use marked, how to pick and hear one ----

def test_voices_lists_the_users_language_first_marks_the_voice_in_use_and_says_how_to_pick_and_hear_one():
    result = voicecoach("voices", LANG="C.UTF-8", LC_ALL="", LANGUAGE="")
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert out[0].startswith("Voice in use: ") and out[1] == "English voices:"
    listed = [line for line in out if "  " in line]
    english = [line for line in listed if "(en" in line]
    assert english and listed[:len(english)] == english  # every English voice before any other
    marked = [line for line in listed if line.endswith(", in use")]
    assert len(marked) == 1 and marked[0].split()[0] in out[0]
    assert "--voice ID" in out[-2] and "VOICECOACH_VOICE" in out[-2] and "config.yaml" in out[-2]
    assert 'voicecoach say --voice ID "hello"' in out[-1]


def test_voices_follows_the_locale_and_marks_the_chosen_voice():
    result = voicecoach("voices", LANG="fr_FR.UTF-8", LC_ALL="", LANGUAGE="", VOICECOACH_VOICE="roa/fr")
    out = result.stdout.splitlines()
    assert out[0] == "Voice in use: French (France), id roa/fr." and out[1] == "French voices:"
    assert [line.split()[0] for line in out if line.endswith(", in use")] == ["roa/fr"]


def test_the_users_language_comes_from_the_locale_and_is_english_by_default():
    from voicecoach.speech.voices import user_language
    assert user_language({}) == "en"
    assert user_language({"LANG": "C.UTF-8"}) == "en"
    assert user_language({"LANG": "de_DE.UTF-8"}) == "de"
    assert user_language({"LANGUAGE": "fr:en", "LANG": "de_DE.UTF-8"}) == "fr"


# ---- devices: a heading per section, the device in use marked ----

class _FakePyAudio:
    """PortAudio as PyAudio shows it: a microphone, a speaker, a headset with both; no default output."""
    DEVICES = [{"index": 0, "name": "USB microphone", "maxInputChannels": 1, "maxOutputChannels": 0},
               {"index": 1, "name": "Speakers", "maxInputChannels": 0, "maxOutputChannels": 2},
               {"index": 2, "name": "Headset", "maxInputChannels": 1, "maxOutputChannels": 2}]

    def get_device_count(self):
        return len(self.DEVICES)

    def get_device_info_by_index(self, index):
        return self.DEVICES[index]

    def get_default_input_device_info(self):
        return self.DEVICES[2]

    def get_default_output_device_info(self):
        raise OSError("No Default Output Device Available")

    def terminate(self):
        pass


def test_devices_has_a_heading_per_section_and_marks_the_default_as_in_use(monkeypatch):
    import io
    import types
    from voicecoach.cli import lines
    from voicecoach.listening.commands import devices
    monkeypatch.setitem(sys.modules, "pyaudio", types.SimpleNamespace(PyAudio=_FakePyAudio))
    out = io.StringIO()
    assert devices(lines(), out) == 0
    assert out.getvalue().splitlines() == [
        lines()["devices_inputs"], "0  USB microphone", "2  Headset, the system default, in use",
        lines()["devices_outputs"], "1  Speakers", "2  Headset"]
    assert lines()["devices_inputs"].startswith("Inputs") and "--input-device" in lines()["devices_inputs"]
    assert lines()["devices_outputs"].startswith("Outputs")


def test_devices_through_the_private_pulseaudio_marks_one_input_and_one_output(pulse):
    result = voicecoach("devices")
    assert result.returncode == 0 and result.stderr == ""
    out = result.stdout.splitlines()
    assert out[0].startswith("Inputs") and any(line.startswith("Outputs") for line in out)
    outputs_at = next(i for i, line in enumerate(out) if line.startswith("Outputs"))
    for section in (out[1:outputs_at], out[outputs_at + 1:]):
        assert len([line for line in section if line.endswith(", in use")]) == 1
