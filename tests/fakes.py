"""Test doubles: a fake clock and a driver that runs the session state machine in simulated milliseconds."""
from __future__ import annotations

import os
import signal
import time
from dataclasses import replace

from voicecoach import session as core
from voicecoach.package_data import lines
from voicecoach.ports import Heard
from voicecoach.routine import Exercise, Routine, Step


# A routine file of one two-sided exercise with a 2 s hold, for tests that run voicecoach on a file.
SHORT = """name: Short
exercises:
  - name: Quick calf
    sides: [left, right]
    steps:
      - say: Step forward with your {side} leg.
      - hold: 2
"""


class FakeClock:
    def __init__(self, start: float = 100.0):
        self.t = start

    def now(self) -> float:
        return self.t


def routine(*exercises: Exercise, name: str = "Test routine") -> Routine:
    return Routine(id="test", name=name, exercises=tuple(exercises), about="For tests.")


def exercise(name: str, *steps: Step, sides: tuple[str, ...] = (), tip: str = "") -> Exercise:
    return Exercise(name=name, steps=tuple(steps), sides=sides, tip=tip)


def say(text: str, detail: bool = False, once: bool = False) -> Step:
    return Step("say", text=text, detail=detail, once=once)


def hold(seconds: int, count: str = "each") -> Step:
    return Step("hold", seconds=seconds, count=count)


def rest(seconds: int) -> Step:
    return Step("rest", seconds=seconds)


class Drive:
    """Runs a session with a simulated speaker whose every utterance lasts `speech_ms`, or, given `wpm`, takes
    as long as SilentSpeaker's reading pace (counts at once)."""

    def __init__(self, r: Routine, speech_ms: int = 0, lead_ms: int = 0, start_index: int = 0,
                 verbosity: str = "normal", wpm: int = 0, **context):
        self.ctx = replace(core.Context(lines(), r.name, answers={"heat-or-ice": "Use heat on a spasm."},
                                        more={"heat-or-ice": "Heat relaxes the muscle; cold makes it clench."},
                                        out_of_scope="I can answer questions about calf cramps.",
                                        disclaimer="This is general information, not medical advice.",
                                        count_lead_ms=lead_ms), **context)
        self.state = core.start_state(core.build_plan(r, lines()), start_index, verbosity)
        self.now = 0
        self.speech_ms = speech_ms
        self.wpm = wpm
        self.actions: list[tuple[int, object]] = []
        self._speaking: list[tuple[int, int]] = []   # (ends at, utterance id)
        self._free_at = 0

    def feed(self, event) -> list:
        self.state, actions = core.step(self.state, event, self.now, self.ctx)
        for action in actions:
            self.actions.append((self.now, action))
            if isinstance(action, core.Hush):
                self._speaking.clear()
                self._free_at = self.now
            elif isinstance(action, (core.Say, core.Cue)):
                start = max(self.now, self._free_at)
                self._free_at = start + self._lasts(action)
                self._speaking.append((self._free_at, action.id))
        return actions

    def _lasts(self, action) -> int:
        if not isinstance(action, core.Say):
            return 0
        if self.wpm:
            return 0 if action.kind == "count" else round(len(action.text.split()) * 60_000 / self.wpm)
        return self.speech_ms

    def intent(self, name: str, topic: str | None = None) -> list:
        return self.feed(core.Intent(name, topic))

    def start(self) -> "Drive":
        self.feed(core.Start())
        return self

    def run_until(self, t: int) -> None:
        while self.state.mode != "ended":
            deadline = core.next_deadline(self.state, self.ctx)
            done = min(self._speaking)[0] if self._speaking else None
            candidates = [x for x in (deadline, done) if x is not None]
            if not candidates or min(candidates) > t:
                break
            self.now = max(self.now, min(candidates))
            if done is not None and done <= self.now:
                finished = min(self._speaking)
                self._speaking.remove(finished)
                self.feed(core.SpeechDone(finished[1]))
            else:
                self.feed(core.Tick())
        if self.state.mode != "ended":
            self.now = max(self.now, t)

    def run_to_end(self, limit: int = 10_000_000) -> None:
        self.run_until(limit)

    def records(self, event: str) -> list[tuple[int, dict]]:
        logged = (core.Record, core.SaveProgress, core.SwitchRoutine, core.RememberSetting)
        return [(t, a.fields) for t, a in self.actions if isinstance(a, logged) and a.event == event]

    def said(self, kind: str | None = None) -> list[tuple[int, str]]:
        return [(t, a.text) for t, a in self.actions
                if isinstance(a, core.Say) and (kind is None or a.kind == kind)]

    def run_until_hold(self, nth: int = 1) -> None:
        """Run until the nth hold has started."""
        while len(self.records("hold_start")) < nth and self.state.mode != "ended":
            before = len(self.actions)
            self.run_until(self.now + 100)
            if len(self.actions) == before and core.next_deadline(self.state, self.ctx) is None \
                    and not self._speaking:
                raise AssertionError("session stalled before the hold started")


class ScriptedInbox:
    """An inbox on a fake clock: adapters' items come at once; scripted items arrive at their times."""

    def __init__(self, clock: FakeClock, script: list[tuple[float, object]] = ()):
        self.clock = clock
        self.ready: list = []
        self.script = sorted(script, key=lambda pair: pair[0])

    def put(self, item) -> None:
        self.ready.append(item)

    def get(self, until: float | None):
        if self.ready:
            return self.ready.pop(0)
        if self.script and (until is None or self.script[0][0] <= until):
            at, item = self.script.pop(0)
            self.clock.t = max(self.clock.t, at)
            return item
        if until is None:
            raise AssertionError("the runner waits for input that will never come")
        self.clock.t = max(self.clock.t, until)
        return None


class MemoryStore:
    """A Store in memory; `fail` maps a method name to the error it raises, as a broken disk would."""

    def __init__(self, fail: dict[str, BaseException] | None = None):
        from voicecoach.ports import SessionRecord
        self._record = SessionRecord
        self.records: dict[int, object] = {}
        self.fail = dict(fail or {})
        self.calls: list[str] = []

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if name in self.fail:
            raise self.fail[name]

    def begin(self, routine: str, routine_name: str, steps_total: int, resumed_from: int | None = None) -> int:
        self._call("begin")
        if resumed_from is not None:
            self.records[resumed_from] = replace(self.records[resumed_from], finished=True)
        session_id = len(self.records) + 1
        self.records[session_id] = self._record(session_id, routine, routine_name, "2026-12-01T10:00:00+00:00",
                                                0, steps_total, 0.0, False, False)
        return session_id

    def step_done(self, session_id: int, steps_done: int, seconds: float) -> None:
        self._call("step_done")
        self.records[session_id] = replace(self.records[session_id], steps_done=steps_done, seconds=seconds)

    def switch(self, session_id: int, routine: str, routine_name: str, steps_total: int) -> None:
        self._call("switch")
        self.records[session_id] = replace(self.records[session_id], routine=routine, routine_name=routine_name,
                                           steps_total=steps_total, steps_done=0)

    def end(self, session_id: int, completed: bool, seconds: float) -> None:
        self._call("end")
        record = self.records[session_id]  # as SqliteStore: a session stopped under way stays resumable
        self.records[session_id] = replace(record, finished=completed or record.steps_done == 0, completed=completed,
                                           seconds=seconds,
                                           steps_done=record.steps_total if completed else record.steps_done)

    kept = True

    def abandon(self, session_id: int) -> None:
        self._call("abandon")
        self.records[session_id] = replace(self.records[session_id], finished=True)

    def unfinished(self):
        self._call("unfinished")
        return next((r for r in reversed(self.records.values()) if not r.finished), None)

    def history(self, limit: int = 50) -> list:
        self._call("history")
        return list(reversed(self.records.values()))[:limit]

    def close(self) -> None:
        self._call("close")


class EchoingRecognizer:
    """A recognizer for tests of the recognizer's own process: hears what the bytes say, and tells what it was told.
    `b"fail"` raises, `b"print"` prints to stdout first (which must not reach the replies), `b"die"` kills its process
    in the middle of the request; `b"until abandoned"` waits until it is abandoned."""

    def __init__(self, fail_to_build: str = ""):
        if fail_to_build:
            from voicecoach.listening import RecognizerUnavailable
            raise RecognizerUnavailable(fail_to_build)
        self.acts_on: frozenset[str] | None = None
        self.released = 0
        self.abandoned = lambda: False  # the child's loop sets it for each utterance

    def expect(self, context) -> None:
        self.acts_on = context.acts_on

    def recognize(self, pcm: bytes, audio_end: float | None = None) -> Heard:
        if pcm == b"fail":
            raise ValueError("this utterance broke it")
        if pcm == b"print":
            print("a library's chatter")
        if pcm == b"die":
            os.kill(os.getpid(), signal.SIGKILL)
        if pcm == b"until abandoned":
            while not self.abandoned():  # stands for a slow path's stages, each ending with the check
                time.sleep(0.01)
            return Heard("", None, audio_end=audio_end, extra={"abandoned": True})
        return Heard(pcm.decode(), None, audio_end=audio_end,
                     extra={"acts_on": sorted(self.acts_on or ()), "released": self.released, "pid": os.getpid(),
                            "niceness": os.nice(0)})

    def release_memory(self) -> None:
        self.released += 1
