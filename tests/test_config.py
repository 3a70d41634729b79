"""Settings: defaults < config.yaml < VOICECOACH_* < flags, clear errors, and saving."""
from __future__ import annotations

import pytest

from voicecoach import config
from voicecoach.config import Settings, SettingsError, load_settings, save_settings


@pytest.fixture(autouse=True)
def config_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(config.platformdirs, "user_config_dir", lambda app: str(tmp_path / app))
    for name in ("VOICE", "RATE", "VOLUME", "SPEAKER", "START_WAIT", "VERBOSITY"):
        monkeypatch.delenv(f"VOICECOACH_{name}", raising=False)
    return tmp_path / "voicecoach"


def write(config_dir, text):
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "config.yaml").write_text(text)


def test_defaults_without_a_file(config_dir):
    settings, path = load_settings({})
    assert settings == Settings(voice=None, rate=175, volume=0.9, speaker="pyttsx3")
    assert path == config_dir / "config.yaml"


def test_layers_file_then_environment_then_flags(config_dir, monkeypatch):
    write(config_dir, "rate: 150\nvolume: 0.5\nvoice: en-gb\n")
    monkeypatch.setenv("VOICECOACH_RATE", "160")
    monkeypatch.setenv("VOICECOACH_SPEAKER", "speechd")
    settings, _ = load_settings({"rate": 210, "volume": None, "unrelated_flag": True})
    assert settings == Settings(voice="en-gb", rate=210, volume=0.5, speaker="speechd")


def test_a_bad_value_in_the_file_names_the_file_and_line(config_dir):
    write(config_dir, "# mine\nvoice: en\nrate: fast\n")
    with pytest.raises(SettingsError) as error:
        load_settings({})
    assert str(error.value).startswith(f"{config_dir / 'config.yaml'}:3: rate must be a whole number")


def test_an_unknown_setting_names_the_line(config_dir):
    write(config_dir, "rate: 150\nspeed: 2\n")
    with pytest.raises(SettingsError, match=r"config.yaml:2: unknown setting 'speed'"):
        load_settings({})


def test_broken_yaml_names_the_line(config_dir):
    write(config_dir, "rate: 150\nvolume: [0.5\n")
    with pytest.raises(SettingsError, match=r"config.yaml:\d+: this is not valid YAML"):
        load_settings({})


def test_a_bad_environment_variable_is_named(monkeypatch):
    monkeypatch.setenv("VOICECOACH_VOLUME", "loud")
    with pytest.raises(SettingsError, match=r"^VOICECOACH_VOLUME must be a number from 0 to 1, not 'loud'\.$"):
        load_settings({})


def test_a_bad_flag_is_named():
    with pytest.raises(SettingsError, match=r"^--speaker must be one of pyttsx3, speechd, print"):
        load_settings({"speaker": "alexa"})


@pytest.mark.parametrize("rate", ["79", "401", "1.5", "true"])
def test_rate_bounds(monkeypatch, rate):
    monkeypatch.setenv("VOICECOACH_RATE", rate)
    with pytest.raises(SettingsError):
        load_settings({})


def test_saved_settings_load_back(config_dir):
    save_settings(Settings(voice="en-us", rate=155, volume=0.7, speaker="pyttsx3"))
    assert load_settings({})[0] == Settings(voice="en-us", rate=155, volume=0.7, speaker="pyttsx3")
    save_settings(Settings())
    assert load_settings({})[0] == Settings()


def test_remember_writes_a_change_over_the_file_but_not_this_run_s_flags(config_dir, monkeypatch):
    write(config_dir, "rate: 150\n")
    monkeypatch.setenv("VOICECOACH_VOLUME", "0.3")
    config.remember({"verbosity": "brief"})
    monkeypatch.delenv("VOICECOACH_VOLUME")
    settings = load_settings({})[0]
    assert (settings.rate, settings.volume, settings.verbosity) == (150, 0.9, "brief")


def test_start_wait_verbosity_and_counting_are_checked(config_dir):
    write(config_dir, "start_wait: 5\nverbosity: detailed\ncounting: fives\n")
    assert load_settings({})[0].start_wait == 5
    with pytest.raises(SettingsError, match=r"^--start-wait must be a whole number of seconds"):
        load_settings({"start_wait": -1})
    write(config_dir, "verbosity: chatty\n")
    with pytest.raises(SettingsError, match="verbosity must be one of brief, normal, detailed"):
        load_settings({})


def test_time_to_move_hold_cues_and_wait_for_ready_settings(config_dir):
    write(config_dir, "move_seconds: 1.5\nhold_cues: halfway, countdown\nwait_for_ready: true\n")
    settings, _ = load_settings({})
    assert (settings.move_seconds, settings.hold_cues, settings.wait_for_ready) == (1.5, "halfway,countdown", True)
    assert load_settings({}, {"VOICECOACH_HOLD_CUES": "none"})[0].hold_cues == "none"
    assert load_settings({"wait_for_ready": None}, {})[0].wait_for_ready is True   # an absent flag changes nothing
    for name, bad in (("MOVE_SECONDS", "11"), ("HOLD_CUES", "halfway,sometimes"), ("WAIT_FOR_READY", "maybe")):
        with pytest.raises(SettingsError, match=f"VOICECOACH_{name}"):
            load_settings({}, {f"VOICECOACH_{name}": bad})
