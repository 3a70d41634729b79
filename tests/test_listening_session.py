"""Spoken commands played into the private microphone drive a real `voicecoach run` session."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from tests.harness import make_speech_wav, play_into_mic

ROUTINE = """name: Spoken commands
exercises:
  - name: Long hold
    steps:
      - say: Lean into the wall.
      - hold: 12
      - say: Once more.
      - hold: 12
      - say: And one last time.
      - hold: 12
"""
# Phrasings, voices and speeds for the user; the coach speaks in the default voice.
SAID = {"pause": ("wait a second", "en-us", 150), "resume": ("please continue", "en-gb", 150),
        "next": ("skip this", "en-us", 140), "stop": ("stop the session", "en-us", 140)}


class Session:
    def __init__(self, folder: Path):
        self.events_path = folder / "events.jsonl"
        routine = folder / "spoken.yaml"
        routine.write_text(ROUTINE)
        env = {**os.environ, "XDG_DATA_HOME": str(folder / "data"), "XDG_CONFIG_HOME": str(folder / "config")}
        self.process = subprocess.Popen([sys.executable, "-m", "voicecoach", "run", "--start-wait", "0", str(routine),
                                         "--events", str(self.events_path)], stdin=subprocess.DEVNULL,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)

    def events(self) -> list[dict]:
        if not self.events_path.exists():
            return []
        return [json.loads(line) for line in self.events_path.read_text().splitlines() if line.strip()]

    def wait_for(self, predicate, timeout: float = 15) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [e for e in self.events() if predicate(e)]
            if found:
                return found[-1]
            time.sleep(0.05)
        raise AssertionError(f"timed out; events so far: {self.events()[-8:]}")


def test_spoken_pause_resume_next_and_stop_act_on_the_session(tmp_path, pulse):
    wavs = {intent: make_speech_wav(text, tmp_path / f"{intent}.wav", voice=voice, speed=speed, noise_db=-60,
                                    pad_s=0.4) for intent, (text, voice, speed) in SAID.items()}
    session = Session(tmp_path)
    try:
        session.wait_for(lambda e: e["event"] == "hold_start", timeout=40)  # after the safety line and time to move
        time.sleep(3)
        play_into_mic(wavs["pause"])
        paused = session.wait_for(lambda e: e["event"] == "state" and e["to"] == "paused")
        time.sleep(4)
        play_into_mic(wavs["resume"])
        session.wait_for(lambda e: e["event"] == "state" and e["from"] == "paused" and e["to"] == "running")
        first_end = session.wait_for(lambda e: e["event"] == "hold_end", timeout=40)
        assert abs(first_end["held"] - 12) < 0.05 and not first_end.get("early")
        hold_start = next(e for e in session.events() if e["event"] == "hold_start")
        assert first_end["t"] - hold_start["t"] > 12 + 4       # the paused time was added, not lost
        assert paused["t"] - hold_start["t"] > 2

        session.wait_for(lambda e: e["event"] == "hold_start" and e["t"] > first_end["t"])
        time.sleep(2)
        play_into_mic(wavs["next"])
        early = session.wait_for(lambda e: e["event"] == "hold_end" and e.get("early"))
        assert early["held"] < 8

        session.wait_for(lambda e: e["event"] == "hold_start" and e["t"] > early["t"])
        play_into_mic(wavs["stop"])
        end = session.wait_for(lambda e: e["event"] == "session_end")
        assert end["completed"] is False
        assert session.process.wait(timeout=15) == 0
    finally:
        if session.process.poll() is None:
            session.process.kill()
        out, err = session.process.communicate()
    heard = [e for e in session.events() if e["event"] == "heard" and e["intent"]]
    assert [h["intent"] for h in heard] == ["pause", "resume", "next", "stop"], (heard, err)
    assert all(h["audio_end"] < h["t"] for h in heard)
