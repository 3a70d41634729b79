"""Device faults: the sound output suspended or its server killed mid-session, the microphone removed mid-hold."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from faults.common import Fault, Result

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.harness import (Recorder, kill_pulse, microphone_removed, peak, require_pulse,  # noqa: E402
                           start_pulse_again, suspend_sink)

RATE = 16000
ROUTINE = """name: Devices
exercises:
  - name: Wall lean
    steps:
      - say: Lean into the wall.
      - hold: 14
        count: each
      - say: Lower your heel and relax.
"""
LOST = "The sound stopped working."
BACK = "The sound is back."
CHANGED = "The microphone changed"
RAW = ("Expression '", "ALSA lib", "PortAudio", "pa_linux_alsa")


@dataclass
class Session:
    lines: list[tuple[float, str]] = field(default_factory=list)  # (monotonic time, printed line)
    stderr: str = ""
    code: int | None = None
    events: list[dict] = field(default_factory=list)

    def when(self, text: str) -> float | None:
        return next((t for t, line in self.lines if line == text), None)

    def printed(self, start: str) -> list[str]:
        return [line for _, line in self.lines if line.startswith(start)]

    def completed(self) -> bool:
        ends = [e for e in self.events if e["event"] == "session_end"]
        return self.code == 0 and bool(ends) and ends[-1].get("completed") is True

    def said(self, start: str) -> list[str]:
        return [e["text"] for e in self.events if e["event"] == "speech_start" and e.get("text", "").startswith(start)]


def _run(home: Path, fault, text_only: bool = True, timeout: float = 90) -> Session:
    """Run a session of ROUTINE; call fault(session) on a thread once the count "2" is printed."""
    require_pulse()
    routine, events = home / "devices.yaml", home / "events.jsonl"
    routine.write_text(ROUTINE)
    command = [sys.executable, "-m", "voicecoach", "run", str(routine), "--start-wait", "0", "--events", str(events)]
    process = subprocess.Popen(command + (["--text"] if text_only else []), stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "VOICECOACH_READING_WPM": "0"})
    session = Session()
    faulting = threading.Thread(target=fault, args=(session,), daemon=True)
    try:
        for line in process.stdout:
            session.lines.append((time.monotonic(), line.rstrip("\n")))
            if line.strip() == "2" and not faulting.is_alive() and not faulting.ident:
                faulting.start()
        process.stdin.close()
        session.code = process.wait(timeout=timeout)
        session.stderr = process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
        faulting.join(timeout=30)
    session.events = [json.loads(line) for line in events.read_text().splitlines()] if events.exists() else []
    return session


def _window_peak(recorder: Recorder, start: float, end: float) -> int:
    first, last = max(0, round((start - recorder.started) * RATE)), max(0, round((end - recorder.started) * RATE))
    return peak(recorder.samples[first:last])


def _raw_lines(session: Session) -> list[str]:
    return [line for line in session.stderr.splitlines() if any(mark in line for mark in RAW)]


def _lost(session: Session, after: int, outage: str) -> str:
    if not session.completed():
        return f"the session (exit {session.code})"
    return f"nothing (session completed; {outage})" if after else "the sound for the rest of the session"


def _suspended(home: Path) -> Result:
    """`pactl suspend-sink spk 1` for 5 s during the counts, then 0: the rest of the hold must be heard."""
    marks = {}

    def fault(session: Session) -> None:
        marks["suspended"] = time.monotonic()
        suspend_sink("spk", True)
        time.sleep(5)
        suspend_sink("spk", False)
        marks["resumed"] = time.monotonic()

    with Recorder(rate=RATE) as recorder:
        session = _run(home, fault)
    first_count = session.when("1") or recorder.started
    before = _window_peak(recorder, first_count, marks.get("suspended", first_count))
    after = _window_peak(recorder, marks.get("resumed", time.monotonic()) + 0.5, time.monotonic())
    raw = _raw_lines(session)
    back = bool(session.printed(BACK)) and bool(session.said(BACK))
    heard = (f"peak {before} before the suspend, {after} after; printed {len(session.printed(LOST))}x "
             f"'{LOST}…', '{BACK}' {'printed and said' if back else 'missing'}; {len(raw)} raw stderr lines")
    ok = session.completed() and after > before / 2 and back and len(session.printed(LOST)) == 1 and not raw
    return Result(heard=heard, lost=_lost(session, after, "counts due while suspended were silent"), ok=ok)


def _server_killed(home: Path) -> Result:
    """PulseAudio killed (SIGKILL) during the counts and started again 2 s later, with the microphone listening."""
    marks, recorders = {}, {}

    def fault(session: Session) -> None:
        recorders["before"].__exit__(None, None, None)
        marks["killed"] = time.monotonic()
        kill_pulse()
        time.sleep(2)
        start_pulse_again()
        recorders["after"] = Recorder(rate=RATE).__enter__()
        marks["restarted"] = time.monotonic()

    recorders["before"] = Recorder(rate=RATE).__enter__()
    try:
        session = _run(home, fault, text_only=False)  # listening too: the microphone's stream dies with it
    finally:
        if "after" in recorders:
            recorders["after"].__exit__(None, None, None)
    first_count = session.when("1") or recorders["before"].started
    before = _window_peak(recorders["before"], first_count, marks.get("killed", first_count))
    after = _window_peak(recorders["after"], marks["restarted"] + 0.5, time.monotonic()) if "after" in recorders else 0
    raw = _raw_lines(session)
    back = bool(session.printed(BACK)) and bool(session.said(BACK))
    mic = session.printed("The microphone is not available")
    heard = (f"peak {before} before the kill, {after} after the restart; '{BACK}' "
             f"{'printed and said' if back else 'missing'}; microphone: {mic[0] if mic else 'no notice'}; "
             f"{len(raw)} raw stderr lines"
             + (f" ({raw[0][:60]}…)" if raw else ""))
    ok = session.completed() and after > before / 2 and back and not raw
    return Result(heard=heard, lost=_lost(session, after, "counts due while it was down were silent"), ok=ok)


def _microphone_removed(home: Path) -> Result:
    """The virtual source `mic` unloaded during the counts: PulseAudio moves capture to the speaker's monitor,
    where the real recognizer hears the coach's own counts."""
    removed = threading.Event()
    done = threading.Event()

    def fault(session: Session) -> None:
        with microphone_removed():
            removed.set()
            done.wait(60)

    try:
        session = _run(home, fault, text_only=False)
    finally:
        done.set()
    acted = [e for e in session.events if e["event"] == "heard" and e.get("intent") and "audio_end" in e]
    echoes = [e for e in session.events if e["event"] == "heard" and e.get("untrusted")]
    notices = session.printed(CHANGED)
    heard = (f"printed {len(notices)}x '{notices[0] if notices else CHANGED + '…'}', said {len(session.said(CHANGED))}x; "
             f"{len(echoes)} utterances from the new input set aside; commands taken from it: "
             f"{[e['intent'] for e in acted] or 'none'}")
    ok = session.completed() and not acted and len(notices) == 1 and removed.is_set()
    return Result(heard=heard, lost="nothing (session completed, no self-pause)" if session.completed() and not acted
                  else f"the session's course ({[e['intent'] for e in acted]}, exit {session.code})", ok=ok)


FAULTS = [
    Fault("devices: output suspended 5 s mid-hold", _suspended),
    Fault("devices: PulseAudio killed and restarted mid-hold", _server_killed),
    Fault("devices: microphone removed mid-hold", _microphone_removed),
]
