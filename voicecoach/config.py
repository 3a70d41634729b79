"""User settings: defaults < config.yaml < VOICECOACH_* environment < command-line flags."""
from __future__ import annotations

import dataclasses
import math
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs
import yaml

from voicecoach.privacy import private_dir
from voicecoach.routine import MAX_BYTES, RoutineError, compose_yaml

SPEAKERS = ("pyttsx3", "speechd", "print")
VERBOSITIES = ("brief", "normal", "detailed")
COUNTING = ("routine", "each", "fives", "none")
HOLD_CUES = ("halfway", "ten_left", "countdown")  # voicecoach.session.CUES
EXPLAINED_TONES = ("understood", "not_understood", "hold_start", "hold_end")  # session.State.cues_explained
RATE_RANGE = (80, 400)
VOLUME_RANGE = (0.0, 1.0)


@dataclass
class Settings:
    # Field metadata "check" names the validator below; adding a field is one line here.
    voice: str | None = field(default=None, metadata={"check": "text"})
    rate: int = field(default=175, metadata={"check": "rate"})
    volume: float = field(default=0.9, metadata={"check": "volume"})
    speaker: str = field(default="pyttsx3", metadata={"check": "speaker"})
    reading_wpm: int = field(default=180, metadata={"check": "reading"})  # --no-speech pacing; 0: none
    start_wait: int = field(default=10, metadata={"check": "wait"})  # seconds to wait for "start"; 0: none
    verbosity: str = field(default="normal", metadata={"check": "verbosity"})
    counting: str = field(default="routine", metadata={"check": "counting"})  # routine: as each hold says
    move_seconds: float = field(default=2.0, metadata={"check": "move"})  # quiet after a routine's instruction
    hold_cues: str = field(default="halfway,ten_left,countdown", metadata={"check": "cues"})  # or none
    wait_for_ready: bool = field(default=False, metadata={"check": "flag"})  # "say ready" before each hold
    # the tones whose meaning the user has been told (issue 25: once per user, not per session); written by sessions
    tones_explained: str = field(default="", metadata={"check": "explained"})


class SettingsError(ValueError):
    """A bad setting, with a one-sentence message naming where it came from."""


def config_path() -> Path:
    return Path(platformdirs.user_config_dir("voicecoach")) / "config.yaml"


def _check(kind: str, value):
    """Return the value converted to its type, or raise ValueError with what is expected."""
    if kind == "text":
        if value is None or isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return None if value is None or str(value) == "" else str(value)
        raise ValueError("must be a name")
    if kind == "rate":
        low, high = RATE_RANGE
        return _number(value, int, low, high, f"must be a whole number of words a minute from {low} to {high}")
    if kind == "volume":
        quietest, loudest = VOLUME_RANGE
        return _number(value, float, quietest, loudest, f"must be a number from {quietest:g} to {loudest:g}")
    if kind == "reading":
        return _number(value, int, 0, 600, "must be a whole number of words a minute from 0 (no pacing) to 600")
    if kind == "wait":
        return _number(value, int, 0, 600, "must be a whole number of seconds from 0 (begin at once) to 600")
    if kind == "move":
        return _number(value, float, 0, 10, "must be a number of seconds from 0 (none) to 10")
    if kind == "cues":
        chosen = [cue.strip() for cue in str(value).split(",") if cue.strip()]
        if chosen == ["none"] or chosen and all(cue in HOLD_CUES for cue in chosen):
            return ",".join(chosen)
        raise ValueError(f"must be none or a comma-separated list of {', '.join(HOLD_CUES)}")
    if kind == "explained":
        told = [tone.strip() for tone in str(value or "").split(",") if tone.strip()]
        if all(tone in EXPLAINED_TONES for tone in told):
            return ",".join(told)
        raise ValueError(f"must be a comma-separated list of {', '.join(EXPLAINED_TONES)} (or empty)")
    if kind == "flag":
        if str(value).lower() in ("true", "false"):
            return str(value).lower() == "true"
        raise ValueError("must be true or false")
    for name, allowed in (("speaker", SPEAKERS), ("verbosity", VERBOSITIES), ("counting", COUNTING)):
        if kind == name:
            if str(value) not in allowed:
                raise ValueError(f"must be one of {', '.join(allowed)}")
            return str(value)
    raise AssertionError(kind)


def _number(value, kind: type, low: float, high: float, expected: str):
    try:
        number = kind(str(value).strip())
    except ValueError:
        number = None
    if isinstance(value, bool) or number is None or not low <= number <= high:
        raise ValueError(expected)
    return number


def _fields() -> dict[str, str]:
    return {f.name: f.metadata["check"] for f in dataclasses.fields(Settings)}


def _from_file(path: Path) -> dict:
    data = _read(path)
    if data is None:
        return {}
    try:
        root = compose_yaml(data, str(path))  # the routine loader's limits: no aliases, size, depth, count
    except RoutineError as error:
        raise SettingsError(f"{path}:{max(error.line, 1)}: {_of_settings(error.message)}.") from None
    if root is None or root.tag == "tag:yaml.org,2002:null":
        return {}
    if not isinstance(root, yaml.MappingNode):
        raise SettingsError(f"{path}:{root.start_mark.line + 1}: expected 'setting: value' lines.")
    fields, values = _fields(), {}
    for key_node, value_node in root.value:
        line = key_node.start_mark.line + 1
        if not isinstance(key_node, yaml.ScalarNode):
            raise SettingsError(f"{path}:{line}: expected 'setting: value' lines.")
        name = key_node.value
        if name not in fields:
            raise SettingsError(f"{path}:{line}: unknown setting {_shown(name)}; known settings are {', '.join(fields)}.")
        value = _value(value_node)
        try:
            values[name] = _check(fields[name], value)
        except ValueError as error:
            raise SettingsError(f"{path}:{line}: {name} {error}, not {_shown(value)}.") from None
    return values


def _value(node: yaml.Node):
    if node.tag == "tag:yaml.org,2002:null":
        return None
    try:
        return yaml.safe_load(yaml.serialize(node))
    except (ValueError, OverflowError, yaml.YAMLError):  # e.g. a 5,000-digit number or a date like 2024-13-45
        return node.value if isinstance(node, yaml.ScalarNode) else [item.value for item in node.value]


def _read(path: Path) -> bytes | None:
    """The settings file's bytes, None when there is none. Only a regular file is read, and at most MAX_BYTES: it is
    opened without blocking, so a named pipe (or a symlink to /dev/zero) is refused at once instead of waited on."""
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except (FileNotFoundError, NotADirectoryError):  # no file there (a file stands where a folder should)
        return None
    except OSError as error:
        raise SettingsError(f"{path}: cannot read the settings file ({error.strerror or error}); "
                            "let your user read it, or remove it.") from None
    try:
        info = os.fstat(handle)
        if not stat.S_ISREG(info.st_mode):
            raise SettingsError(f"{path}: this is {_kind(info.st_mode)}, not a settings file; replace it with a text "
                                "file of 'setting: value' lines, or remove it.")
        with open(handle, "rb", closefd=False) as file:
            data = file.read(MAX_BYTES + 1)
    finally:
        os.close(handle)
    if len(data) > MAX_BYTES:
        size = max(len(data), info.st_size)
        raise SettingsError(f"{path}: the settings file is too large ({math.ceil(size / 1024)} KiB, at most "
                            f"{MAX_BYTES // 1024} KiB); it needs only a few 'setting: value' lines.")
    return data


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device")):
        if test(mode):
            return name
    return "not a regular file"


# The routine loader's sentences, said of the settings file instead.
_REWORDED = ((re.compile(r"\ba routine file\b|\broutine files\b|\bthe routine\b"), "the settings file"),
             (re.compile(r"\bonly one routine per file\b"), "only one document in the settings file"),
             (re.compile(r"; a routine (holds|needs) .*"), "; settings are plain 'setting: value' lines"))


def _of_settings(message: str) -> str:
    for pattern, words in _REWORDED:
        message = pattern.sub(words, message)
    return message


def _shown(value, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _from_env(environ) -> dict:
    values = {}
    for name, kind in _fields().items():
        variable = f"VOICECOACH_{name.upper()}"
        if variable in environ:
            try:
                values[name] = _check(kind, environ[variable])
            except ValueError as error:
                raise SettingsError(f"{variable} {error}, not {environ[variable]!r}.") from None
    return values


def _from_flags(flags: dict) -> dict:
    fields, values = _fields(), {}
    for name, value in flags.items():
        if name in fields and value is not None:
            try:
                values[name] = _check(fields[name], value)
            except ValueError as error:
                raise SettingsError(f"--{name.replace('_', '-')} {error}, not {value!r}.") from None
    return values


def load_settings(flags: dict, environ=None) -> tuple[Settings, Path]:
    """Merge the settings layers; raise SettingsError naming the file line, variable or flag at fault."""
    path = config_path()
    merged = {**_from_file(path), **_from_env(os.environ if environ is None else environ), **_from_flags(flags)}
    return Settings(**merged), path


def remember(changes: dict, path: Path | None = None) -> Path:
    """Write changed settings over the file's own, leaving out flags and environment given for this run."""
    path = path or config_path()
    return save_settings(Settings(**{**_from_file(path), **changes}), path)


def save_settings(settings: Settings, path: Path | None = None) -> Path:
    """Write every setting to the config file (atomically), so changes like 'slower' are remembered. The file is
    0600 and its folder 0700 (a file or folder left wider by an older voicecoach is tightened here)."""
    path = path or config_path()
    private_dir(path.parent)
    body = "# voicecoach settings; VOICECOACH_<NAME> variables and flags override these.\n"
    body += yaml.safe_dump(dataclasses.asdict(settings), sort_keys=False)
    temporary = path.with_suffix(".yaml.tmp")
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0), 0o600)
    with open(handle, "w", encoding="utf-8") as file:
        os.fchmod(handle, 0o600)  # a temporary file left by an interrupted older run kept its own mode
        file.write(body)
    os.replace(temporary, path)
    return path
