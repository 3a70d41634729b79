"""The loop: feeds deadlines, heard intents and finished speech to the session and performs its actions."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Protocol

from voicecoach import session as core
from voicecoach.events import EventLog
from voicecoach.intents import likely_addressed
from voicecoach.ports import Clock, Heard, Listener, Speaker, Store


class Inbox(Protocol):
    """What the runner waits on: items from adapters, or None once the clock reaches `until`."""

    def put(self, item) -> None: ...

    def get(self, until: float | None): ...


@dataclass
class Outcome:
    completed: bool      # the routine reached its end
    interrupted: bool    # Ctrl-C: the session is left resumable


class Runner:
    def __init__(self, *, state: core.State, ctx: core.Context, speaker: Speaker, clock: Clock,
                 inbox: Inbox, events: EventLog, store: Store | None, print_line: Callable[[str], None],
                 routine_ref: str, resumed_from: int | None = None, listener: Listener | None = None,
                 remember: Callable[[dict], None] | None = None):
        self.state, self.ctx, self.speaker, self.clock, self.inbox = state, ctx, speaker, clock, inbox
        self.events, self.store, self.print_line, self.listener = events, store, print_line, listener
        self.routine_ref, self.resumed_from, self.remember = routine_ref, resumed_from, remember
        self.start_index = state.index
        self.t0 = clock.now()
        self.session_id: int | None = None
        self._extra_ids = 0
        self._lost: set[str] = set()

    def post(self, heard: Heard) -> None:
        """Listeners call this from their own threads."""
        self.inbox.put(("heard", heard))

    def now_ms(self) -> int:
        return round((self.clock.now() - self.t0) * 1000)

    def since_start(self, clock_seconds: float) -> float:
        return clock_seconds - self.t0

    def run(self) -> Outcome:
        self.t0 = self.clock.now()
        cues = [self.ctx.lines[cue] for cue in ("halfway", "ten_left") if cue in self.ctx.cues]  # said as counts
        self.speaker.prepare([core.text_of(self.state, s, self.ctx) for s in self.state.plan if s.kind == "say"]
                             + [str(n) for n in range(1, 61)] + cues)
        self._log("session_start", {"routine": self.routine_ref, "name": self.ctx.routine_name,
                                    "steps": len(self.state.plan), "from_step": self.start_index,
                                    "clock_t0": round(self.t0, 4)})
        if self.store is not None:
            self.session_id = self.store.begin(self.routine_ref, self.ctx.routine_name, len(self.state.plan),
                                               self.resumed_from)
            if self.start_index:  # interrupted again before the first step, it still resumes from there
                self.store.step_done(self.session_id, self.start_index, 0)
        if self.listener is not None:
            self.listener.start(self.post)
        try:
            self._feed(core.Start())
            while self.state.mode != "ended":
                deadline = core.next_deadline(self.state, self.ctx)
                item = self.inbox.get(None if deadline is None else self.t0 + deadline / 1000)
                if item is None:
                    self._feed(core.Tick())
                elif item[0] == "heard":
                    self._heard(item[1])
                else:
                    self._notified(item[1], item[2])
        except KeyboardInterrupt:
            self.speaker.hush()
            self._log("session_end", {"completed": False, "interrupted": True})
            return Outcome(False, True)
        finally:
            if self.listener is not None:
                self.listener.stop()
        return Outcome(self.state.completed, False)

    def _feed(self, event) -> None:
        self.state, actions = core.step(self.state, event, self.now_ms(), self.ctx)
        for action in actions:
            self._perform(action)

    def _perform(self, action) -> None:
        if isinstance(action, core.Say):
            self.print_line(action.text)
            due = None if action.due is None else self.t0 + action.due / 1000
            self.speaker.say(action.text, utterance_id=action.id, kind=action.kind, due=due)
        elif isinstance(action, core.Cue):
            self.speaker.cue(action.name, utterance_id=action.id)
        elif isinstance(action, core.Hush):
            self.speaker.hush()
        elif isinstance(action, core.Record):
            self._log(action.event, dict(action.fields))
            if action.event == "step" and self.store is not None and self.session_id is not None:
                self.store.step_done(self.session_id, action.fields["index"], self.now_ms() / 1000)
            elif action.event == "routine":
                self.routine_ref = action.fields["routine"]
                if self.store is not None and self.session_id is not None:
                    self.store.switch(self.session_id, self.routine_ref, action.fields["name"], action.fields["steps"])
            elif action.event == "setting" and self.remember is not None:
                self.remember({action.fields["name"]: action.fields["value"]})
        elif isinstance(action, core.Adjust):
            self._adjust(action.change)
        elif isinstance(action, core.End):
            self._log("session_end", {"completed": action.completed, "interrupted": False})
            if self.store is not None and self.session_id is not None:
                self.store.end(self.session_id, action.completed, self.now_ms() / 1000)

    def _adjust(self, change: str) -> None:
        setting = self.speaker.adjust(change)
        if setting:
            self._say_aside(setting)
        else:
            self.print_line(self.ctx.lines["adjust_unavailable"].format(change=change))

    def _say_aside(self, text: str) -> None:
        """Print and say a line the session's plan does not hold."""
        self.print_line(text)
        self._extra_ids -= 1  # negative ids never collide with the session's own
        self.speaker.say(text, utterance_id=self._extra_ids, kind="info")

    def _heard(self, heard: Heard) -> None:
        fields = {"text": heard.text, "intent": heard.intent, "topic": heard.topic,
                  "confidence": round(heard.confidence, 3)}
        if heard.audio_end is not None:
            fields["audio_end"] = round(self.since_start(heard.audio_end), 3)
            if heard.intent is not None:
                self.print_line(self.ctx.lines["heard"].format(text=heard.text))
        self._log("heard", {**fields, **heard.extra})
        if heard.intent is None and heard.audio_end is not None and not likely_addressed(heard):
            return  # speech that is not a command (a cough, chatter, the coach's echo) is only logged
        self._feed(core.Intent(heard.intent, heard.topic, spoken=heard.audio_end is not None))

    def _notified(self, name: str, fields: dict) -> None:
        fields = dict(fields)
        t = self.since_start(fields.pop("t", self.clock.now()))
        if fields.get("due") is not None:
            fields["due"] = round(self.since_start(fields["due"]), 3)
        self._log(name, fields, t)
        if name in ("output_lost", "input_lost") and name not in self._lost:
            self._lost.add(name)
            self.print_line(fields.get("message") or self.ctx.lines[name].format(error=fields.get("error", "")))
        if name == "coach_audible":  # once: the listener now ignores speech over the coach, so say how to speak
            self._say_aside(self.ctx.lines[name])
        if self.listener is not None and name in ("speech_start", "speech_end"):
            if name == "speech_start" and fields.get("kind") != "cue":  # a tone has no words to echo
                self.listener.coach_speaking(fields["text"], fields.get("kind", "instruction"))
            else:
                self.listener.coach_speaking(None)
        if name == "speech_end":
            self._feed(core.SpeechDone(fields["id"]))

    def _log(self, event: str, fields: Mapping, t: float | None = None) -> None:
        self.events.write(self.now_ms() / 1000 if t is None else t, event, dict(fields))
