"""Settings: defaults < config.yaml < VOICECOACH_* < flags, clear errors, and saving."""
from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from voicecoach import config
from voicecoach.config import Settings, SettingsError, load_settings, save_settings


@pytest.fixture(autouse=True)
def config_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(config.platformdirs, "user_config_dir", lambda app: str(tmp_path / app))
    for name in ("VOICE", "RATE", "VOLUME", "SPEAKER", "START_WAIT", "VERBOSITY"):
        monkeypatch.delenv(f"VOICECOACH_{name}", raising=False)
    return tmp_path / "voicecoach"


def write(config_dir, text: str | bytes):
    config_dir.mkdir(parents=True, exist_ok=True)
    path = config_dir / "config.yaml"
    path.write_bytes(text) if isinstance(text, bytes) else path.write_text(text)


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
    with pytest.raises(SettingsError, match=r"config.yaml:3: the list in \[ \] that starts at line 2, column 9 is not closed"):
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


# 9 ** 9 copies of "x" once the aliases are expanded, in 250 bytes (issue 26: 363 bytes took 23 s and 1.7 GB).
def _load_in_a_subprocess(config_dir) -> subprocess.CompletedProcess:
    """load_settings in a child with 1 GiB of memory and 20 s, so a hang or a bomb fails the test, not the machine."""
    code = ("import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (2 ** 30, 2 ** 30))\n"
            "from voicecoach import config; config.config_path = lambda: config.Path(sys.argv[1])\n"
            "try:\n    config.load_settings({})\nexcept config.SettingsError as e:\n    print(e)")
    return subprocess.run([sys.executable, "-c", code, str(config_dir / "config.yaml")], capture_output=True,
                          text=True, timeout=20, env={**os.environ, "PYTHONPATH": os.getcwd()})


ALIAS_BOMB = "voice: [&a [" + ", ".join(["x"] * 9) + "], " + ", ".join(
    f"&{name} [" + ", ".join([f"*{previous}"] * 9) + "]" for previous, name in zip("abcdefgh", "bcdefghi")) + "]\n"


@pytest.mark.parametrize("text, line, words", [
    (ALIAS_BOMB, 1, "anchors and aliases (& and *) are not allowed in the settings file"),
    ("rate: !!python/object:os.system 1\n", 1, "YAML tags such as !!python/object:os.system are not allowed in the settings file"),
    ("voice: " + "[" * 30 + "]" * 30 + "\n", 1, "nesting is too deep (more than 20 levels); settings are plain"),
    ("rate: 150\n---\nrate: 160\n", 2, "only one document in the settings file"),
    (b"rate: 150\nvoice: \xff\n", 1, "not a text file: byte 0xff at line 2, column 8 is not UTF-8; save the settings file"),
])
def test_unsafe_yaml_is_refused_at_its_line_in_one_sentence(config_dir, text, line, words):
    write(config_dir, text)
    result = _load_in_a_subprocess(config_dir)
    message = result.stdout.rstrip("\n")
    assert message.startswith(f"{config_dir / 'config.yaml'}:{line}: ") and words in message, result
    assert "routine" not in message and message.endswith(".") and len(message) < 400 and "\n" not in message


@pytest.mark.parametrize("text", ["rate: " + "9" * 100_000 + "\n", "rate: 2024-13-45\n", "voice: [1, 2024-13-45]\n"])
def test_a_value_yaml_cannot_convert_is_a_located_error_shown_short(config_dir, text):
    write(config_dir, text)
    with pytest.raises(SettingsError, match=r"config.yaml:1: (rate|voice) must be") as error:
        load_settings({})
    assert len(str(error.value)) < 300


def test_a_too_large_file_is_refused(config_dir):
    write(config_dir, "# " + "x" * 300_000 + "\nrate: 150\n")
    with pytest.raises(SettingsError, match=r"config.yaml: the settings file is too large \(293 KiB, at most 256 KiB\)"):
        load_settings({})


def test_a_mapping_as_a_key_is_a_located_error(config_dir):
    write(config_dir, "rate: 150\n? {a: 1}\n: 2\n")
    with pytest.raises(SettingsError, match=r"config.yaml:2: expected 'setting: value' lines\.$"):
        load_settings({})


def test_a_named_pipe_as_config_yaml_is_refused_without_waiting(config_dir):
    config_dir.mkdir(parents=True)
    os.mkfifo(config_dir / "config.yaml")
    result = _load_in_a_subprocess(config_dir)
    assert result.stdout == (f"{config_dir / 'config.yaml'}: this is a named pipe, not a settings file; replace it "
                             "with a text file of 'setting: value' lines, or remove it.\n"), result.stderr


def test_a_symlink_to_dev_zero_as_config_yaml_is_refused(config_dir):
    config_dir.mkdir(parents=True)
    (config_dir / "config.yaml").symlink_to("/dev/zero")
    result = _load_in_a_subprocess(config_dir)
    assert result.stdout.startswith(f"{config_dir / 'config.yaml'}: this is a device, not a settings file;"), result


def test_a_folder_as_config_yaml_is_refused(config_dir):
    (config_dir / "config.yaml").mkdir(parents=True)
    with pytest.raises(SettingsError, match=r"config.yaml: this is a folder, not a settings file"):
        load_settings({})


def test_a_symlink_to_a_settings_file_is_read(config_dir, tmp_path):
    (tmp_path / "dotfiles.yaml").write_text("rate: 150\n")
    config_dir.mkdir(parents=True)
    (config_dir / "config.yaml").symlink_to(tmp_path / "dotfiles.yaml")
    assert load_settings({})[0].rate == 150


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_saved_settings_are_readable_by_their_owner_only(config_dir):
    path = save_settings(Settings(rate=150))
    assert (_mode(path), _mode(config_dir)) == (0o600, 0o700)
    assert sorted(p.name for p in config_dir.iterdir()) == ["config.yaml"]


def test_saving_tightens_a_file_and_folder_left_readable_by_everyone(config_dir):
    write(config_dir, "rate: 150\n")
    os.chmod(config_dir, 0o755)
    os.chmod(config_dir / "config.yaml", 0o644)
    (config_dir / "config.yaml.tmp").write_text("left by an interrupted run")
    os.chmod(config_dir / "config.yaml.tmp", 0o666)
    config.remember({"verbosity": "brief"})
    assert (_mode(config_dir / "config.yaml"), _mode(config_dir)) == (0o600, 0o700)
    assert load_settings({})[0].rate == 150


def test_time_to_move_hold_cues_and_wait_for_ready_settings(config_dir):
    write(config_dir, "move_seconds: 1.5\nhold_cues: halfway, countdown\nwait_for_ready: true\n")
    settings, _ = load_settings({})
    assert (settings.move_seconds, settings.hold_cues, settings.wait_for_ready) == (1.5, "halfway,countdown", True)
    assert load_settings({}, {"VOICECOACH_HOLD_CUES": "none"})[0].hold_cues == "none"
    assert load_settings({"wait_for_ready": None}, {})[0].wait_for_ready is True   # an absent flag changes nothing
    for name, bad in (("MOVE_SECONDS", "11"), ("HOLD_CUES", "halfway,sometimes"), ("WAIT_FOR_READY", "maybe")):
        with pytest.raises(SettingsError, match=f"VOICECOACH_{name}"):
            load_settings({}, {f"VOICECOACH_{name}": bad})


def test_the_tones_explained_to_the_user_are_remembered_across_sessions(config_dir):
    config.remember({"tones_explained": "hold_start,understood"})
    assert load_settings({})[0].tones_explained == "hold_start,understood"
    with pytest.raises(SettingsError, match="VOICECOACH_TONES_EXPLAINED"):
        load_settings({}, {"VOICECOACH_TONES_EXPLAINED": "understood,fanfare"})
