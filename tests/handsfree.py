"""A whole hands-free session driven by voice through the private PulseAudio, for the end-to-end test and benchmark."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tests.harness import RATE, Recorder, make_speech_wav, play_into_mic

ROUTINE = """name: Hands free
exercises:
  - name: Wall calf stretch
    sides: [left, right]
    steps:
      - say: Step forward with your {side} foot and lean into the wall.
      - hold: 40
        count: fives
"""
START_WAIT_S = 60   # long enough that only a spoken "start" can begin the routine in time


def is_state(to: str, came_from: str | None = None):
    return lambda e: e["event"] == "state" and e["to"] == to and came_from in (None, e["from"])


def says(kind: str, text: str = ""):
    return lambda e: e["event"] == "speech_start" and e.get("kind") == kind and text in e["text"]


def said(kind: str, text: str = ""):
    return lambda e: e["event"] == "speech_end" and e.get("kind") == kind and text in e["text"]


@dataclass(frozen=True)
class Step:
    name: str
    words: tuple[str, ...]     # what the user says, then says instead if the coach did not react
    ready: object              # events predicate: the moment to say it has come
    reaction: object           # events predicate: the coach reacted as expected
    spoken: object = None      # events predicate: the speech that shows the reaction (checked in the recording)
    settle_s: float = 0.5      # pause after `ready` before speaking, as a person would


RESUME = ("resume", "continue", "carry on then")
SCRIPT = (
    Step("start", ("start", "i'm ready", "let's go"), said("instruction", "Say start when you are ready"), lambda e: e["event"] == "begin",
         says("instruction", "Exercise 1 of 1")),
    Step("pause", ("pause", "wait a second", "hold on"), lambda e: e["event"] == "hold_start", is_state("paused"), says("info", "Paused"),
         settle_s=2.0),
    Step("question", ("should i use heat or ice", "heat or ice", "is heat better than ice"), said("info", "Paused"), says("answer"), says("answer")),
    Step("resume", RESUME, said("answer"), says("instruction", "Resuming"), says("instruction", "Resuming")),
    Step("time_left", ("how long left", "how much longer", "time left"), said("instruction", "Resuming"), says("info", "left"), says("info", "left"),
         settle_s=1.0),
    Step("pain", ("it hurts", "ouch", "that hurts"), said("info", "left"), says("safety"), says("safety"), settle_s=1.0),
    Step("resume_after_pain", RESUME, said("safety"), says("instruction", "Resuming"),
         says("instruction", "Resuming")),
    Step("carry_on", ("carry on", "keep going", "go on"), said("instruction", "Resuming"), says("info", "Keep holding"),
         says("info", "Keep holding"), settle_s=1.0),
    Step("next", ("next", "skip this", "next one"), said("info", "Keep holding"), lambda e: e["event"] == "hold_end" and e.get("early"),
         says("instruction", "right foot"), settle_s=1.0),
    Step("stop", ("stop", "stop the session", "that's enough"), lambda e: e["event"] == "hold_start", is_state("ending"),
         says("instruction", "Stopping here"), settle_s=1.0),
)


@dataclass
class Result:
    attempts: dict[str, int] = field(default_factory=dict)       # step -> how many tries it took to react
    said_at: dict[str, float] = field(default_factory=dict)      # step -> when the last try was played
    reacted_at: dict[str, float] = field(default_factory=dict)   # step -> session time of the reaction
    latency_ms: dict[str, float] = field(default_factory=dict)   # step -> the command's audio_end to its action
    sounded: dict[str, bool] = field(default_factory=dict)       # step -> its speech is in the recording
    events: list[dict] = field(default_factory=list)
    output: str = ""


class Session:
    """`voicecoach run` on the real speaker and microphone, with its events log read as it grows."""

    def __init__(self, folder: Path, routine: str = ROUTINE, args: tuple[str, ...] = (), stdin=subprocess.DEVNULL):
        self.log = folder / "events.jsonl"
        (folder / "handsfree.yaml").write_text(routine)
        env = {**os.environ, "XDG_DATA_HOME": str(folder / "data"), "XDG_CONFIG_HOME": str(folder / "config"),
               "XDG_CACHE_HOME": str(folder / "cache"), "VOICECOACH_START_WAIT": str(START_WAIT_S)}
        self.process = subprocess.Popen([sys.executable, "-m", "voicecoach", "run", str(folder / "handsfree.yaml"),
                                         "--events", str(self.log), *args], stdin=stdin,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)

    def events(self) -> list[dict]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.endswith("}")]

    def first(self, predicate, after: float, timeout: float) -> dict | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = next((e for e in self.events() if e["t"] > after and predicate(e)), None)
            if found is not None or self.process.poll() is not None:
                return found
            time.sleep(0.05)
        return None

    def now(self) -> float:
        events = self.events()
        start = next(e for e in events if e["event"] == "session_start")
        return time.monotonic() - start["clock_t0"]


def run_script(folder: Path, voice: str = "en-us+m3", speed: int = 150, noise_db: float = -60,
               engine: str = "espeak-ng", attempts: int = 3) -> Result:
    """Play the script into the microphone, each line up to `attempts` times, as a user repeats themselves.
    A line that never works is left out and the script goes on, if the session lets it (the opening starts
    by itself after its wait); it stops when the moment for the next line never comes."""
    wavs = {words: make_speech_wav(words, folder / f"said{n}.wav", voice=voice, speed=speed, noise_db=noise_db,
                                   engine=engine, pad_s=0.3)
            for n, words in enumerate({words for step in SCRIPT for words in step.words})}
    result = Result()
    with Recorder() as recording:
        session = Session(folder)
        try:
            after = -1.0
            for step in SCRIPT:
                ready = session.first(step.ready, after, timeout=90)
                if ready is None:
                    break
                time.sleep(step.settle_s)
                for attempt in range(1, attempts + 1):
                    said_at = session.now()
                    play_into_mic(wavs[step.words[(attempt - 1) % len(step.words)]])
                    reaction = session.first(step.reaction, said_at, timeout=5)
                    if reaction is not None:
                        result.attempts[step.name], result.reacted_at[step.name] = attempt, reaction["t"]
                        result.said_at[step.name] = said_at
                        after = reaction["t"] - 0.001
                        break
            if "stop" in result.attempts:
                session.process.wait(timeout=20)
        finally:
            if session.process.poll() is None:
                session.process.terminate()
            result.output = session.process.communicate()[0]
    result.events = session.events()
    _measure_latency(result)
    _check_sound(result, recording)
    return result


def _measure_latency(result: Result) -> None:
    """From the end of the command that worked to the first sign of its action: a state change, a tone or speech."""
    for name, said_at in result.said_at.items():
        heard = [e for e in result.events if e["event"] == "heard" and e.get("intent")
                 and said_at < e["t"] <= result.reacted_at[name]]
        if heard:
            acted = next(e for e in result.events if e["t"] >= heard[-1]["t"]
                         and e["event"] in ("state", "begin", "speech_start"))
            result.latency_ms[name] = (acted["t"] - heard[-1]["audio_end"]) * 1000


def _check_sound(result: Result, recording: Recorder) -> None:
    """A reaction's speech counts as heard when most of its first 600 ms is sound in the speaker's recording."""
    start = next(e for e in result.events if e["event"] == "session_start")
    samples = np.asarray(recording.samples, dtype=np.float64)
    window = RATE // 100
    loud = np.sqrt(np.convolve(samples ** 2, np.ones(window) / window, mode="same")) > 32768 * 10 ** (-40 / 20)
    for step in SCRIPT:
        if step.name not in result.reacted_at:
            continue
        spoken = next((e for e in result.events if e["t"] >= result.reacted_at[step.name] - 0.001
                       and step.spoken(e)), None)
        if spoken is not None:
            at = round((start["clock_t0"] + spoken["t"] - recording.started) * RATE)
            result.sounded[step.name] = bool(at >= 0 and loud[at: at + RATE * 6 // 10].mean() > 0.5)


# ---- the same session in simulated time: scenarios of issue 27, runnable without sound ----

SIM_ROUTINE = ROUTINE.replace("    steps:\n", "    steps:\n      - say: Stand facing a wall, an arm's length away.\n"
                                             "        once: true\n")


@dataclass
class Scenario:
    name: str
    heard: list[str] = field(default_factory=list)   # what the user heard from the key moment on
    problems: list[str] = field(default_factory=list)

    def expect(self, ok: bool, problem: str) -> None:
        if not ok:
            self.problems.append(problem)


def _drive(speech_ms: int = 800, **context):
    from voicecoach.package_data import lines
    from voicecoach.routine import load_routine_text
    from tests.fakes import Drive
    routine = load_routine_text(SIM_ROUTINE, "handsfree.yaml", "handsfree")
    ctx = dict(cues=frozenset({"halfway", "ten_left", "countdown"}), move_ms=2000, speech_wpm=0)
    return Drive(routine, speech_ms=speech_ms, safety="Sharp pain is a reason to stop.",
                 **{**ctx, **context}), lines()


def _heard_since(d, at: int) -> list[str]:
    from voicecoach import session as core
    return [a.text if isinstance(a, core.Say) else f"({a.name} tone)" for t, a in d.actions
            if t >= at and isinstance(a, (core.Say, core.Cue)) and getattr(a, "kind", "") != "count"]


def _spoken(d, name: str, topic: str | None = None):
    from voicecoach import session as core
    return d.feed(core.Intent(name, topic, spoken=True))


def continue_after_an_interruption_mid_side() -> Scenario:
    result = Scenario("continue after an interruption mid-side")
    d, _ = _drive()
    right_hold = next(i for i, s in enumerate(d.state.plan) if s.side == "right" and s.kind == "hold")
    d, _ = _drive(start_wait_ms=10_000, offer_resume_at=right_hold)   # Ctrl-C (or stop) in the right side's hold
    d.start()
    d.run_until(d.now + 1000)
    _spoken(d, "resume")                                                # "continue"
    d.run_until_hold()
    result.heard = _heard_since(d, 0)
    result.expect("Now your right side." in result.heard, "the side is not named")
    result.expect("Stand facing a wall, an arm's length away." in result.heard, "the set-up line is not said")
    result.expect(any("right foot" in line for line in result.heard), "the side's own instruction is not said")
    return result


def a_question_right_after_a_hold() -> Scenario:
    result = Scenario("a question right after a hold")
    d, _ = _drive()
    d.start()
    d.run_until_hold()
    start = d.records("hold_start")[0][0]
    d.run_until(start + 40_200)                                         # "And relax." is being said
    at = d.now
    _spoken(d, "ask", "heat-or-ice")
    d.run_until(d.now + 8000)
    result.heard = _heard_since(d, at)
    left_hold = next(i for i, s in enumerate(d.state.plan) if s.kind == "hold")
    result.expect([f["index"] for _, f in d.records("step")].count(left_hold) == 1, "the finished hold ran again")
    result.expect("Now your right side." in result.heard, "the routine did not go on to the next side")
    return result


def a_voice_stop_then_continue() -> Scenario:
    result = Scenario("a voice stop, then continue")
    d, _ = _drive()
    d.start()
    d.run_until_hold(2)                                                 # holding the right leg
    at = d.now
    _spoken(d, "stop")
    d.run_until(d.now + 15_000)                                         # goodbye, summary, how to continue
    kept = d.records("step")[-1][1]["index"]                            # what the store keeps as steps done
    result.heard = _heard_since(d, at)
    result.expect(d.state.mode == "ended" and not d.state.completed, "the session did not end")
    result.expect(any("Your place is kept" in line for line in result.heard), "the goodbye does not say so")
    again, _ = _drive(start_wait_ms=10_000, offer_resume_at=kept)       # the next "voicecoach"
    again.start()
    again.run_until(2000)
    _spoken(again, "resume")
    again.run_until_hold()
    result.heard += ["(next session)"] + _heard_since(again, 0)
    result.expect(again.records("begin")[0][1]["choice"] == "resume", "the next session did not continue")
    result.expect(again.state.step.side == "right", "it did not continue on the right side")
    return result


def carry_on_while_paused_and_holding() -> Scenario:
    from voicecoach.intents import parse
    result = Scenario('"carry on" while paused and during a hold')
    d, _ = _drive()
    d.start()
    d.run_until_hold()
    start = d.records("hold_start")[0][0]
    d.run_until(start + 6000)
    at = d.now
    _spoken(d, parse("carry on").intent)                                # holding: keep holding
    result.expect(not d.records("hold_end") and d.state.timing, "the hold ended early")
    _spoken(d, "pause")
    d.run_until(d.now + 10_000)
    _spoken(d, parse("carry on").intent)                                # paused: resume
    d.run_until(d.now + 60_000)
    result.heard = _heard_since(d, at)
    result.expect(any(line.startswith("Keep holding") for line in result.heard), "holding, it did not say so")
    result.expect(any(line.startswith("Resuming") for line in result.heard), "paused, it did not resume")
    end = d.records("hold_end")[0][1]
    result.expect(end.get("held") == 40.0 and not end.get("early"), f"the hold was not held in full: {end}")
    return result


def a_miss_then_its_feedback() -> Scenario:
    result = Scenario("a miss, then its feedback")
    d, _ = _drive()
    d.start()
    d.run_until_hold()
    at = d.now
    _spoken(d, None)                                                    # a likely-addressed miss
    _spoken(d, None)                                                    # and again
    result.heard = _heard_since(d, at)
    result.expect(result.heard.count("(not_understood tone)") == 2, "a miss is silent")
    result.expect(any("Say help to hear what you can say" in line for line in result.heard),
                  "no spoken hint the second time")
    return result


def five_minutes_paused() -> Scenario:
    result = Scenario("five minutes paused")
    d, _ = _drive()
    d.start()
    d.run_until_hold()
    _spoken(d, "pause")
    at = d.now
    d.run_until(at + 300_000)
    result.heard = [f"{(t - at) / 1000:.0f} s: {text}" for t, text in d.said() if t > at]
    reminders = [t - at for t, fields in d.records("reminder")]
    result.expect(reminders == [30_000, 90_000, 210_000], f"reminders at {reminders}")
    result.expect(d.state.mode == "paused", "the pause did not hold")
    return result


SCENARIOS = (continue_after_an_interruption_mid_side, a_question_right_after_a_hold, a_voice_stop_then_continue,
             carry_on_while_paused_and_holding, a_miss_then_its_feedback, five_minutes_paused)
