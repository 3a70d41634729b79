"""User settings: defaults < config.yaml < VOICECOACH_* environment < command-line flags."""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs
import yaml

SPEAKERS = ("pyttsx3", "speechd", "print")
VERBOSITIES = ("brief", "normal", "detailed")
COUNTING = ("routine", "each", "fives", "none")
HOLD_CUES = ("halfway", "ten_left", "countdown")  # voicecoach.session.CUES
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
        low, high = VOLUME_RANGE
        return _number(value, float, low, high, f"must be a number from {low:g} to {high:g}")
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
    if not path.exists():
        return {}
    text = path.read_text("utf-8")
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise SettingsError(f"{where}: this is not valid YAML ({getattr(error, 'problem', error)}).") from None
    if root is None:
        return {}
    if not isinstance(root, yaml.MappingNode):
        raise SettingsError(f"{path}:{root.start_mark.line + 1}: expected 'setting: value' lines.")
    fields, values = _fields(), {}
    for key_node, value_node in root.value:
        line = key_node.start_mark.line + 1
        name = key_node.value
        if name not in fields:
            raise SettingsError(f"{path}:{line}: unknown setting {name!r}; known settings are {', '.join(fields)}.")
        value = yaml.safe_load(yaml.serialize(value_node)) if value_node.tag != "tag:yaml.org,2002:null" else None
        try:
            values[name] = _check(fields[name], value)
        except ValueError as error:
            raise SettingsError(f"{path}:{line}: {name} {error}, not {value!r}.") from None
    return values


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
    """Write every setting to the config file (atomically), so changes like 'slower' are remembered."""
    path = path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "# voicecoach settings; VOICECOACH_<NAME> variables and flags override these.\n"
    body += yaml.safe_dump(dataclasses.asdict(settings), sort_keys=False)
    temporary = path.with_suffix(".yaml.tmp")
    temporary.write_text(body, "utf-8")
    os.replace(temporary, path)
    return path
