"""Offline means offline: a real listening session opens no socket but the sound server's, writes only voicecoach's
folders, and keeps what it writes to its owner."""
from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.harness import make_speech_wav, play_into_mic

ROUTINE = """name: Offline
exercises:
  - name: One hold
    steps:
      - say: Lean into the wall.
      - hold: 30
"""
# onnxruntime sends no telemetry when one of these says it runs in CI (or its own tests): a test that kept them
# would pass on a CI runner without the fix. The user's machine has none of them.
CI_VARIABLES = ("CI", "TF_BUILD", "GITHUB_ACTIONS", "GITLAB_CI", "CIRCLECI", "TRAVIS", "JENKINS_URL",
                "CODEBUILD_BUILD_ID", "BUILDKITE", "TEAMCITY_VERSION", "APPVEYOR", "BITBUCKET_BUILD_NUMBER",
                "SYSTEM_TEAMFOUNDATIONCOLLECTIONURI", "ORT_RUNNING_UNIT_TESTS")
OFFLINE_SWITCHES = ("ORT_DISABLE_TELEMETRY", "HF_HUB_OFFLINE")
# Folders voicecoach may write under HOME; .config/pulse is libpulse's cookie, written by the sound server's client
# library (on a desktop it is already there).
OWN_FOLDERS = (".config/voicecoach", ".local/share/voicecoach", ".cache/voicecoach", ".local/state/voicecoach",
               ".config/pulse")


@dataclass
class Observed:
    events: list[dict]
    calls: list[str]        # strace lines of socket, connect, sendto and sendmsg
    foreign: list[str]      # files written outside voicecoach's folders (HOME, working folder, TMPDIR)
    home: Path
    events_path: Path
    stderr: str


def user_environment(home: Path) -> dict[str, str]:
    """The environment of a user's session: a fresh HOME, no CI markers, none of voicecoach's switches set."""
    env = {name: value for name, value in os.environ.items() if name not in CI_VARIABLES + OFFLINE_SWITCHES}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_DATA_HOME=str(home / ".local/share"),
               XDG_CACHE_HOME=str(home / ".cache"), XDG_STATE_HOME=str(home / ".local/state"))
    return env


def observed_session(folder: Path, say_stop: bool = True, timeout: float = 120) -> Observed:
    """`voicecoach run` with the default (offline) recognizer on the private PulseAudio's microphone, under strace,
    in a fresh HOME with its own working and temporary folders; says "stop the session" once the hold starts."""
    strace = shutil.which("strace")
    if strace is None:
        raise AssertionError("strace is missing: run scripts/setup --test, which installs it")
    home, cwd, tmp = folder / "home", folder / "cwd", folder / "tmp"
    for made in (home, cwd, tmp):
        made.mkdir(parents=True)
    routine, events_path, trace = folder / "offline.yaml", home / "events.jsonl", folder / "trace.txt"
    routine.write_text(ROUTINE)
    stop_wav = make_speech_wav("stop the session", folder / "stop.wav", noise_db=-60, pad_s=0.4) if say_stop else None
    env = {**user_environment(home), "TMPDIR": str(tmp)}
    command = [strace, "-f", "-qq", "--seccomp-bpf", "-e", "trace=socket,connect,sendto,sendmsg", "-o", str(trace),
               sys.executable, "-m", "voicecoach", "run", "--start-wait", "0", str(routine), "--events",
               str(events_path)]
    process = subprocess.Popen(command, cwd=cwd, env={**env, "PYTHONPATH": str(Path(__file__).parent.parent)},
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + timeout
        if stop_wav is not None:
            while not any(e["event"] == "hold_start" for e in _events(events_path)):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"the hold never started: {process.stderr.read() if process.poll() else ''}")
                time.sleep(0.1)
            for _ in range(3):  # said again if a loaded machine made the coach miss it
                time.sleep(1)
                play_into_mic(stop_wav)
                heard_by = time.monotonic() + 6
                while time.monotonic() < heard_by and not any(e["event"] == "heard" for e in _events(events_path)):
                    time.sleep(0.1)
                if any(e["event"] == "heard" for e in _events(events_path)):
                    break
        _, stderr = process.communicate(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    own = [home / name for name in OWN_FOLDERS]
    foreign = [str(path) for path in sorted(home.rglob("*"))
               if path != events_path and not path.is_dir() and not any(path.is_relative_to(o) for o in own)]
    foreign += [str(path) for path in sorted([*cwd.rglob("*"), *tmp.rglob("*")])]
    calls = [line for line in trace.read_text().splitlines() if re.search(r"\b(socket|connect|sendto|sendmsg)\(", line)]
    return Observed(_events(events_path), calls, foreign, home, events_path, stderr)


def _events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def network_calls(observed: Observed) -> list[str]:
    """The calls that reached beyond the private sound server: any socket but a Unix one, any connect to another
    address (a DNS server, or nscd asked for a host name), any datagram sent to an address."""
    # PortAudio also looks for a JACK sound server's socket in /dev/shm.
    sound_servers = (f'sun_path="{os.environ.get("PULSE_RUNTIME_PATH", "/nonexistent")}/', 'sun_path="/dev/shm/jack_')
    wrong = []
    for line in observed.calls:
        if " socket(" in line and "AF_UNIX" not in line and "= -1" not in line:
            wrong.append(line)
        elif " connect(" in line and not any(server in line for server in sound_servers):
            wrong.append(line)
        elif re.search(r"AF_INET6?\b|sin6?_addr", line):
            wrong.append(line)
    return wrong


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_listening_session_opens_no_network_and_writes_only_its_own_folders(tmp_path, pulse):
    # Before the fix: onnxruntime 1.32 asked DNS for mobile.events.data.microsoft.com at import and every few
    # seconds, and wrote ~/.cache/Microsoft/DeveloperTools/.onnxruntime/{deviceid,onnxruntime.db}.
    observed = observed_session(tmp_path)
    heard = [e for e in observed.events if e["event"] == "heard"]
    assert [e["intent"] for e in heard] == ["stop"], (observed.events, observed.stderr)
    assert observed.events[-1]["event"] == "session_end"
    assert observed.calls, "strace saw no call at all: the sound server's socket at least should be there"
    assert (network_calls(observed)[:10], observed.foreign) == ([], [])
    cache = observed.home / ".cache" / "voicecoach"
    assert list(cache.glob("moonshine-*.onnx")), "Moonshine was not loaded: the test must cover onnxruntime"
    assert (mode(cache), mode(cache / "speech"), mode(observed.events_path)) == (0o700, 0o700, 0o600)


def test_importing_voicecoach_switches_library_telemetry_off_even_over_the_user_s_value(tmp_path):
    env = {**user_environment(tmp_path), "ORT_DISABLE_TELEMETRY": "0"}
    code = "import os, sys, voicecoach; print(os.environ['ORT_DISABLE_TELEMETRY'], os.environ['HF_HUB_OFFLINE'])"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == ["1", "1"], result.stderr


def test_the_events_log_is_created_for_its_owner_only_and_an_old_one_tightened(tmp_path):
    from voicecoach.events import EventLog
    fresh, old = tmp_path / "fresh.jsonl", tmp_path / "old.jsonl"
    old.write_text('{"t": 0, "event": "earlier"}\n')
    os.chmod(old, 0o644)
    for path in (fresh, old):
        log = EventLog(path)
        log.write(1.0, "heard", {"text": "it hurts"})
        log.close()
        assert mode(path) == 0o600
    assert old.read_text().splitlines()[0] == '{"t": 0, "event": "earlier"}'


def test_private_dir_creates_owner_only_folders_and_tightens_an_old_one(tmp_path):
    from voicecoach.privacy import private_dir
    deep = tmp_path / "cache" / "voicecoach" / "speech"
    private_dir(deep)
    assert [mode(p) for p in (tmp_path / "cache", deep.parent, deep)] == [0o700] * 3
    os.chmod(deep.parent, 0o755)
    private_dir(deep.parent)
    assert mode(deep.parent) == 0o700
    (tmp_path / "file").write_text("")
    with pytest.raises(NotADirectoryError):
        private_dir(tmp_path / "file")


def test_cached_embeddings_go_in_an_owner_only_cache_folder(tmp_path, monkeypatch):
    from voicecoach import embedding
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / "cache").mkdir()
    embedding.embed_cached(["Where should I feel the stretch of the soleus today?"])
    folder = tmp_path / "cache" / "voicecoach"
    assert len(list(folder.glob("embeddings-*.npy"))) == 1 and mode(folder) == 0o700
