"""The loop: feeds deadlines, heard intents and finished speech to the session and performs its actions."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Protocol, cast

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
    recorded: bool = True  # a history record holds its place (none before the first step, or without history)


def notice(lines: Mapping[str, str], name: str, fields: Mapping) -> str:
    """The sentence for a history or settings notice from the adapters, in plain words."""
    if name == "history_lost":
        return lines["history_lost"].format(why=lines[f"history_why_{fields['reason']}"])
    return lines[name].format(**fields)


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
        self.session_id: int | None = None  # no record until there is something to keep (see _keep)
        self.routine_name = ctx.routine_name
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
            saved = self._recorded() and (self.store is None or self.store.kept)
            self._say_last(self.ctx.lines["interrupted" if saved else "interrupted_unsaved"])
            self._log("session_end", {"completed": False, "interrupted": True})
            return Outcome(False, True, self._recorded())
        finally:
            if self.listener is not None:
                self.listener.stop()
        return Outcome(self.state.completed, False, self._recorded())

    def _say_last(self, text: str, patience: float = 8.0) -> None:
        """Print and say a line after the session has stopped (Ctrl-C's), so it is heard and not only shown: wait
        until it has played, at most `patience` seconds; another Ctrl-C ends the wait at once."""
        self._say_aside(text)
        said, until = self._extra_ids, self.clock.now() + patience
        try:
            while (item := self.inbox.get(until)) is not None:
                if item[0] != "notify" or item[1] not in ("speech_start", "speech_end"):
                    continue  # what is heard, or other news, no longer matters
                fields = dict(item[2])
                self._log(item[1], fields, self.since_start(fields.pop("t", self.clock.now())))
                if item[1] == "speech_end" and fields.get("id") == said:
                    return
        except KeyboardInterrupt:
            return

    def _recorded(self) -> bool:
        """Whether a record holds this session's place: its own, or the one it continues, not yet superseded."""
        return self.session_id is not None or self.resumed_from is not None

    def _feed(self, event) -> None:
        before = self.state
        self.state, actions = core.step(self.state, event, self.now_ms(), self.ctx)
        if self.listener is not None and self.state != before:  # what the session would act on now
            self.listener.expect(core.listening_context(self.state, self.ctx))
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
        elif isinstance(action, core.SaveProgress):
            self._log(action.event, action.fields)
            self._keep(action.index)
        elif isinstance(action, core.SwitchRoutine):
            self._log(action.event, action.fields)
            self.routine_ref, self.routine_name = action.routine, action.name
            if self.store is not None and self.session_id is not None:
                self.store.switch(self.session_id, action.routine, action.name, action.steps)
        elif isinstance(action, core.RememberSetting):
            self._log(action.event, action.fields)
            if self.remember is not None:
                try:
                    self.remember({action.name: action.value})
                except OSError as error:  # it still applies for this session: the state holds it
                    if action.name != "tones_explained":  # not the user's setting: nothing to tell them
                        self._notified("setting_not_saved", {"error": f"{type(error).__name__}: {error}"})
        elif isinstance(action, core.Adjust):
            self._adjust(action.change)
        elif isinstance(action, core.End):
            if self.store is not None and self.session_id is None:  # ended before its first step: still history
                self._keep(self.state.index, force=True)
            if self.store is not None and self.session_id is not None:
                self.store.end(self.session_id, action.completed, self.now_ms() / 1000)
            self._settle()
            self._log("session_end", {"completed": action.completed, "interrupted": False})

    def _settle(self) -> None:
        """Take in what adapters have sent already (such as word that the end could not be saved) before ending."""
        while (item := self.inbox.get(self.clock.now())) is not None:
            if item[0] == "heard":
                self._heard(item[1])
            else:
                self._notified(item[1], item[2])

    def _keep(self, index: int, force: bool = False) -> None:
        """Save that the plan's step `index` is reached; the record is begun only then, so a session left at its
        opening (Ctrl-C before the first step) leaves no empty unfinished record, and a resumed one's old record
        stays offered until the continuation has really begun."""
        if self.store is None:
            return
        if self.session_id is None:
            if index == 0 and not force:
                return
            self.session_id = self.store.begin(self.routine_ref, self.routine_name, len(self.state.plan),
                                               self.resumed_from)
            if self.session_id is None:  # history is not being kept; the store has said why
                return
        if index:
            self.store.step_done(self.session_id, index, self.now_ms() / 1000)

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
        # the parsers make only the intents the session knows (intents.INTENTS)
        self._feed(core.Intent(cast("core.IntentName | None", heard.intent), heard.topic, spoken=heard.audio_end is not None))

    def _notified(self, name: str, fields: dict) -> None:
        fields = dict(fields)
        t = self.since_start(fields.pop("t", self.clock.now()))
        if fields.get("due") is not None:
            fields["due"] = round(self.since_start(fields["due"]), 3)
        self._log(name, fields, t)
        if name in ("output_lost", "input_lost") and name not in self._lost:
            self._lost.add(name)
            self.print_line(fields.get("message") or self.ctx.lines[name].format(error=fields.get("error", "")))
        if name in ("history_lost", "history_set_aside", "setting_not_saved", "another_session") \
                and name not in self._lost:
            self._lost.add(name)  # said once: the session goes on as it was
            self._say_aside(notice(self.ctx.lines, name, fields))
        if name == "user_speaking":  # the coach gives way at once, before it knows what is being said
            self.speaker.pause_line()
        if name == "user_quiet":  # after what was said has been acted on: a line not hushed goes on
            self.speaker.resume_line()
        if name == "coach_audible":  # once: the listener now ignores speech over the coach, so say how to speak
            self._say_aside(self.ctx.lines[name])
        if name == "output_back":  # spoken, so the user knows; a later loss is news again
            self._lost.discard("output_lost")
            self._say_aside(self.ctx.lines[name])
        if name == "input_changed":  # spoken: the user may not be looking at the screen
            key = name if fields.get("changed", True) else "input_monitor"  # else a monitor from the start
            self._say_aside(self.ctx.lines[key].format(source=fields.get("source", "")))
        if self.listener is not None and name in ("speech_start", "speech_end"):
            if name == "speech_start" and fields.get("kind") != "cue":  # a tone has no words to echo
                self.listener.coach_speaking(fields["text"], fields.get("kind", "instruction"))
            else:
                self.listener.coach_speaking(None)
        if name == "speech_end":
            self._feed(core.SpeechDone(fields["id"]))

    def _log(self, event: str, fields: Mapping, t: float | None = None) -> None:
        try:
            self.events.write(self.now_ms() / 1000 if t is None else t, event, dict(fields))
        except OSError as error:  # a full disk must not stop the session for want of its log
            if "events_lost" not in self._lost:
                self._lost.add("events_lost")
                self.print_line(self.ctx.lines["events_lost"].format(error=error))
