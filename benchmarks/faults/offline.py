"""Privacy faults: hostile settings files, files others could read, and a listening session watched for the network."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

from faults.common import Fault, Result, voicecoach

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.test_config import ALIAS_BOMB  # noqa: E402  (the 368-byte bomb: 9 ** 9 values once expanded)
from tests.test_offline import network_calls, observed_session  # noqa: E402

ROUTINE = "name: Short\nexercises:\n  - name: One\n    steps:\n      - say: Lean in.\n      - hold: 3\n"


def _config(home: Path) -> Path:
    folder = home / ".config" / "voicecoach"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / "config.yaml"


def _settings_fault(make) -> callable:
    """Every command reads config.yaml: `say` with a broken one must answer at once with one sentence, exit 2."""
    def run(home: Path) -> Result:
        path = _config(home)
        make(path)
        started = time.monotonic()
        try:
            done = voicecoach("say", "--speaker", "print", "hello", timeout=30)
        except subprocess.TimeoutExpired:
            return Result(heard="nothing: hung for 30 s", lost="the command", ok=False)
        took = time.monotonic() - started
        lines = done.stderr.strip().splitlines()
        heard = f"{lines[-1] if lines else '(nothing)'} (exit {done.returncode}, {took:.1f} s)"
        ok = done.returncode == 2 and len(lines) == 1 and "Traceback" not in done.stderr and took < 10
        return Result(heard=heard, lost="nothing (the file is left as it was)" if os.path.lexists(path) else "the file",
                      ok=ok)
    return run


def _modes(home: Path) -> Result:
    """Files an older voicecoach left 0644 in 0755 folders: the next session that writes them tightens them."""
    config = _config(home)
    config.write_text("rate: 170\n")
    events = home / "events.jsonl"
    events.write_text("")
    for path, mode in ((config.parent, 0o755), (config, 0o644), (events, 0o644)):
        os.chmod(path, mode)
    routine = home / "short.yaml"
    routine.write_text(ROUTINE)
    # At the default reading pace, so the typed line arrives while the routine is being said.
    done = voicecoach("run", "--text", "--no-speech", "--start-wait", "0", str(routine), "--events", str(events),
                      stdin="less talking\n", timeout=60, env={"VOICECOACH_READING_WPM": "180"})
    modes = {name: oct(stat.S_IMODE(os.stat(path).st_mode)) for name, path in
             (("config folder", config.parent), ("config.yaml", config), ("events log", events))}
    ok = done.returncode == 0 and list(modes.values()) == ["0o700", "0o600", "0o600"]
    said = {line.partition(":")[0]: line.partition(": ")[2] for line in config.read_text().splitlines()}
    return Result(heard=", ".join(f"{name} {mode}" for name, mode in modes.items()) + f" (exit {done.returncode})",
                  lost="nothing" if (said.get("rate"), said.get("verbosity")) == ("170", "brief")
                  else f"the spoken change or the old rate ({said})", ok=ok)


def _network(home: Path) -> Result:
    """A listening session with the default offline recognizer (Moonshine, onnxruntime) under strace."""
    observed = observed_session(home / "network")
    wrong = network_calls(observed)
    heard = [e["intent"] for e in observed.events if e["event"] == "heard"]
    connects = sum(" connect(" in line for line in observed.calls)
    cache = observed.home / ".cache" / "voicecoach"
    modes = f"cache {oct(stat.S_IMODE(os.stat(cache).st_mode))}" if cache.exists() else "no cache"
    ended = bool(observed.events) and observed.events[-1]["event"] == "session_end"
    return Result(heard=f"heard {heard}, {'ended' if ended else 'did not end'}; {connects} connects, "
                        f"{len(wrong)} beyond the sound server{': ' + wrong[0] if wrong else ''}; "
                        f"files outside voicecoach's folders: {observed.foreign or 'none'}; {modes}",
                  lost="nothing" if ended else "the session",
                  ok=not wrong and not observed.foreign and heard == ["stop"] and ended)


FAULTS = [
    Fault("offline: alias-bomb config.yaml", _settings_fault(lambda path: path.write_text(ALIAS_BOMB))),
    Fault("offline: named pipe as config.yaml", _settings_fault(os.mkfifo)),
    Fault("offline: config.yaml a symlink to /dev/zero", _settings_fault(lambda path: path.symlink_to("/dev/zero"))),
    Fault("offline: files left readable by everyone", _modes),
    Fault("offline: network during a listening session", _network),
]
