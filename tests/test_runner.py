"""The runner loop on a fake clock: events log, history and adapters wired together."""
import errno
import json
import sqlite3

from voicecoach import session as core
from voicecoach.adapters.silent_speaker import SilentSpeaker
from voicecoach.adapters.sqlite_store import GuardedStore, SqliteStore
from voicecoach.package_data import lines
from voicecoach.events import EventLog
from voicecoach.ports import Heard
from voicecoach.runner import Runner
from tests.fakes import FakeClock, MemoryStore, ScriptedInbox, exercise, hold, routine, say

ROUTINE = routine(exercise("Calf", say("Step forward with your {side} leg."), hold(5), sides=("left", "right")))


def run(tmp_path, script, start_index=0, listener=None):
    """script: (seconds, Heard) or (seconds, (event name, fields)) for a listener's notice."""
    clock = FakeClock(1000.0)
    inbox = ScriptedInbox(clock, [(1000.0 + t, ("notify", *h) if isinstance(h, tuple) else ("heard", h))
                                  for t, h in script])
    speaker = SilentSpeaker(clock, lambda name, fields: inbox.put(("notify", name, fields)))
    store = SqliteStore(tmp_path / "history.db")
    printed: list[str] = []
    ctx = core.Context(lines(), ROUTINE.name)
    runner = Runner(state=core.start_state(core.build_plan(ROUTINE, lines()), start_index), ctx=ctx,
                    speaker=speaker, clock=clock, inbox=inbox, events=EventLog(tmp_path / "events.jsonl"),
                    store=store, print_line=printed.append, routine_ref="test", listener=listener)
    outcome = runner.run()
    runner.events.close()
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    return outcome, events, printed, store


def test_a_whole_session_is_logged_truthfully(tmp_path):
    outcome, events, printed, store = run(tmp_path, [])
    assert outcome.completed and not outcome.interrupted
    names = [e["event"] for e in events]
    assert names[0] == "session_start" and names[-1] == "session_end"
    assert events[-1]["completed"] is True
    counts = [e for e in events if e["event"] == "count"]
    assert len(counts) == 10 and all(e["t"] == e["due"] for e in counts)
    assert [e["held"] for e in events if e["event"] == "hold_end"] == [5.0, 5.0]
    starts = [e for e in events if e["event"] == "speech_start"]
    ends = [e for e in events if e["event"] == "speech_end"]
    assert len(starts) == len(ends) and all(e["interrupted"] is False for e in ends)
    assert "Step forward with your right leg." in printed
    record = store.history()[0]
    assert record.completed and record.finished and record.steps_done == record.steps_total


def test_typed_pause_and_resume_keep_the_hold_length(tmp_path):
    # The first hold starts once the opening lines are said: at t=0 with a silent speaker.
    script = [(2.5, Heard("pause", "pause")), (10.0, Heard("resume", "resume")),
              (12.0, Heard("how long left", "time_left"))]
    outcome, events, printed, _ = run(tmp_path, script)
    assert outcome.completed
    heard = [e for e in events if e["event"] == "heard"]
    assert [h["intent"] for h in heard] == ["pause", "resume", "time_left"]
    first_end = next(e for e in events if e["event"] == "hold_end")
    assert first_end["held"] == 5.0 and first_end["t"] == 12.5
    assert "Resuming, 3 seconds left." in printed
    assert "1 second left." in printed   # asked at 12.0; the hold resumed at 10.0 with 2.5 s to go
    assert [e["to"] for e in events if e["event"] == "state"][:3] == ["running", "paused", "running"]


def test_a_voice_stop_under_way_keeps_the_place_as_ctrl_c_does(tmp_path):
    outcome, events, printed, store = run(tmp_path, [(1.5, Heard("stop", "stop"))])
    assert not outcome.completed and not outcome.interrupted
    assert events[-1] == {"t": 1.5, "event": "session_end", "completed": False, "interrupted": False}
    assert printed[-3] == "Stopping here. Well done." and printed[-1].startswith("Your place is kept")
    unfinished = store.unfinished()
    assert unfinished is not None and not unfinished.completed and unfinished.steps_done > 0
    assert unfinished.seconds == 1.5


def test_a_stop_before_the_routine_is_under_way_keeps_nothing(tmp_path):
    store = SqliteStore(tmp_path / "history.db")
    store.end(store.begin("test", "Test", 5), False, 2.0)  # no step done yet
    assert store.unfinished() is None and store.history()[0].finished


def test_ctrl_c_leaves_the_session_resumable_from_its_step(tmp_path):
    clock = FakeClock(0.0)

    def boom(*_):
        raise KeyboardInterrupt

    store = SqliteStore(tmp_path / "history.db")
    inbox = ScriptedInbox(clock, [(3.0, ("heard", Heard("next", "next")))])
    speaker = SilentSpeaker(clock, lambda name, fields: inbox.put(("notify", name, fields)))
    plan = core.build_plan(ROUTINE, lines())
    runner = Runner(state=core.start_state(plan), ctx=core.Context(lines(), ROUTINE.name), speaker=speaker,
                    clock=clock, inbox=inbox, events=EventLog(None), store=store, print_line=lambda _: None,
                    routine_ref="test")
    original = runner._heard
    runner._heard = lambda heard: (original(heard), boom())
    outcome = runner.run()
    assert outcome.interrupted
    unfinished = store.unfinished()
    assert unfinished is not None and 0 < unfinished.steps_done < unfinished.steps_total
    assert plan[unfinished.steps_done].side == "right"


class RecordingListener:
    def __init__(self):
        self.coach_lines: list[str | None] = []
        self.contexts: list = []

    def start(self, post) -> None:
        pass

    def coach_speaking(self, text: str | None, kind: str = "instruction") -> None:
        self.coach_lines.append((text, kind))

    def expect(self, context) -> None:
        self.contexts.append(context)

    def stop(self) -> None:
        pass


def test_the_listener_is_told_the_coachs_lines_and_counts_but_not_its_tones(tmp_path):
    listener = RecordingListener()
    _, events, _, _ = run(tmp_path, [], listener=listener)
    assert ("Step forward with your left leg.", "instruction") in listener.coach_lines
    assert ("3", "count") in listener.coach_lines
    tones = {e["text"] for e in events if e["event"] == "speech_start" and e["kind"] == "cue"}
    assert "hold_start" in tones
    assert not tones & {text for text, _ in listener.coach_lines}


def test_the_listener_is_told_what_the_session_would_act_on_as_it_changes(tmp_path):
    listener = RecordingListener()
    run(tmp_path, [], listener=listener)
    modes = [context.mode for context in listener.contexts]
    assert "holding" in modes and modes[-1] == "ending"
    holding = next(context for context in listener.contexts if context.mode == "holding")
    assert {"pause", "stop", "time_left", "pain"} <= holding.acts_on
    assert any(context.last_line == "Step forward with your left leg." for context in listener.contexts)


def test_a_coach_heard_through_speakers_says_how_to_speak_to_it(tmp_path):
    _, events, printed, _ = run(tmp_path, [(3.0, ("coach_audible", {}))])
    notice = lines()["coach_audible"]
    assert printed.count(notice) == 1
    assert [e["text"] for e in events if e["event"] == "speech_start"].count(notice) == 1
    assert [e["event"] for e in events].count("coach_audible") == 1


def test_spoken_near_misses_get_the_not_understood_tone_and_other_rejected_speech_nothing(tmp_path):
    chatter = Heard("the news at six", None, audio_end=1001.0, extra={"near_miss": False})
    unclear = Heard("pause", None, audio_end=1002.0, extra={"near_miss": True})
    outcome, events, printed, _ = run(tmp_path, [(1.5, chatter), (2.5, unclear), (3.0, unclear)])
    cues = [e["text"] for e in events if e["event"] == "speech_start" and e["kind"] == "cue"]
    assert cues.count("not_understood") == 2
    assert "Sorry, I didn't catch that. Say help to hear what you can say." in printed
    assert [e["intent"] for e in events if e["event"] == "heard"] == [None, None, None]


# ---- history that cannot be kept (issue 26) ----

def disk_full() -> sqlite3.OperationalError:
    error = sqlite3.OperationalError("database or disk is full")
    error.sqlite_errorname = "SQLITE_FULL"
    return error


def run_with(store, script=(), start_index=0, remember=None, resumed_from=None, **context):
    """A session on a fake clock whose store (a GuardedStore over `store`) reports through the runner's inbox."""
    clock = FakeClock(1000.0)
    inbox = ScriptedInbox(clock, [(1000.0 + t, ("notify", *h) if isinstance(h, tuple) else ("heard", h))
                                  for t, h in script])
    notify = lambda name, fields: inbox.put(("notify", name, fields))  # noqa: E731
    guarded = GuardedStore(lambda: store, notify)
    printed: list[str] = []
    logged: list[dict] = []
    events = EventLog(None)
    events.write = lambda t, event, fields=None: logged.append({"t": t, "event": event, **(fields or {})})
    runner = Runner(state=core.start_state(core.build_plan(ROUTINE, lines()), start_index),
                    ctx=core.Context(lines(), ROUTINE.name, **context), speaker=SilentSpeaker(clock, notify),
                    clock=clock, inbox=inbox, events=events, store=guarded, print_line=printed.append,
                    routine_ref="test", remember=remember, resumed_from=resumed_from)
    return runner, logged, printed


def spoken(events: list[dict]) -> list[str]:
    return [e["text"] for e in events if e["event"] == "speech_start"]


def test_a_full_disk_mid_session_is_said_once_and_the_session_ends_logged():
    store = MemoryStore()
    runner, events, printed = run_with(store)
    store.fail["step_done"] = disk_full()  # the record is begun, then the disk fills
    outcome = runner.run()
    assert outcome.completed
    said = lines()["history_lost"].format(why=lines()["history_why_disk_full"])
    assert printed.count(said) == 1 and spoken(events).count(said) == 1
    assert events[-1]["event"] == "session_end" and events[-1]["completed"] is True
    assert [e["reason"] for e in events if e["event"] == "history_lost"] == ["disk_full"]
    assert store.calls.count("step_done") == 1  # not tried again once it failed
    assert "end" not in store.calls


def test_a_store_failing_at_the_end_still_logs_session_end():
    store = MemoryStore({"end": OSError(errno.ENOSPC, "No space left on device")})
    runner, events, printed = run_with(store, [(1.5, Heard("stop", "stop"))])
    outcome = runner.run()
    assert not outcome.completed and not outcome.interrupted
    assert events[-1]["event"] == "session_end"
    assert printed.count(lines()["history_lost"].format(why=lines()["history_why_disk_full"])) == 1


def test_history_lost_before_the_session_is_said_once_and_nothing_else_changes():
    store = MemoryStore({"begin": sqlite3.OperationalError("attempt to write a readonly database")})
    store.fail["begin"].sqlite_errorname = "SQLITE_READONLY"
    runner, events, printed = run_with(store)
    assert runner.run().completed
    said = lines()["history_lost"].format(why=lines()["history_why_read_only"])
    assert printed.count(said) == 1 and spoken(events).count(said) == 1
    assert "Step forward with your right leg." in printed


def test_ctrl_c_at_the_opening_leaves_no_empty_unfinished_record():
    store = MemoryStore()
    runner, events, _ = run_with(store, [(2.0, Heard("where", "where"))], start_wait_ms=30_000)
    original = runner._heard
    runner._heard = lambda heard: (original(heard), interrupt())
    assert runner.run().interrupted
    assert store.records == {}
    assert events[-1]["event"] == "session_end" and events[-1]["interrupted"] is True


def test_ctrl_c_at_the_offer_to_continue_keeps_the_old_record_offered():
    store = MemoryStore()
    old = store.begin("test", ROUTINE.name, 6)
    store.step_done(old, 3, 20.0)
    runner, _, _ = run_with(store, [(2.0, Heard("where", "where"))], start_index=3, resumed_from=old,
                            start_wait_ms=30_000, offer_resume_at=3)
    original = runner._heard
    runner._heard = lambda heard: (original(heard), interrupt())
    assert runner.run().interrupted
    assert store.unfinished() == store.records[old] and store.records[old].steps_done == 3


def interrupt():
    raise KeyboardInterrupt


def test_a_setting_that_cannot_be_remembered_is_said_once_and_still_applies(tmp_path, monkeypatch):
    from voicecoach.commands.common import remember_settings
    (tmp_path / "config").write_text("a file where the settings folder should be")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    store = MemoryStore()
    runner, events, printed = run_with(store, [(0.5, Heard("less talking", "brief")),
                                               (0.7, Heard("count in fives", "count_fives"))],
                                       remember=remember_settings)
    assert runner.run().completed
    assert printed.count(lines()["setting_not_saved"]) == 1 and spoken(events).count(lines()["setting_not_saved"]) == 1
    assert runner.state.verbosity == "brief" and runner.state.count_style == "fives"


def test_an_events_log_on_a_full_disk_is_reported_once_and_the_session_goes_on():
    store = MemoryStore()
    runner, _, printed = run_with(store)

    def full(t, event, fields=None):
        raise OSError(errno.ENOSPC, "No space left on device")

    runner.events.write = full
    assert runner.run().completed
    assert [line for line in printed if line.startswith("The events log cannot be written")] == [
        lines()["events_lost"].format(error=OSError(errno.ENOSPC, "No space left on device"))]
    assert store.records[1].completed


def test_progress_routine_switches_and_settings_are_their_own_actions_not_log_records():
    from tests.fakes import Drive
    d = Drive(ROUTINE).start()
    d.intent("brief")
    d.run_to_end()
    kinds = {type(a) for _, a in d.actions}
    assert {core.SaveProgress, core.RememberSetting} <= kinds
    assert not [a for _, a in d.actions if isinstance(a, core.Record) and a.event in ("step", "routine", "setting")]


def test_a_log_record_is_only_logged_and_history_follows_the_typed_actions():
    store = MemoryStore()
    remembered: list[dict] = []
    runner, events, _ = run_with(store, remember=remembered.append)
    runner._perform(core.Record("step", {"index": 3}))
    runner._perform(core.Record("setting", {"name": "verbosity", "value": "brief"}))
    assert store.records == {} and remembered == []
    runner._perform(core.SaveProgress(3, 1, "right", "hold"))
    runner._perform(core.RememberSetting("counting", "fives"))
    assert store.records[1].steps_done == 3 and remembered == [{"counting": "fives"}]
    assert [e["event"] for e in events] == ["step", "setting", "step", "setting"]


def test_a_miss_whose_transcript_comes_close_to_a_command_gets_the_tone_chatter_and_echo_do_not(tmp_path):
    def missed(at, transcript, **extra):
        return at, Heard(transcript, None, audio_end=1000.0 + at, extra={"near_miss": False, "transcript": transcript,
                                                                        **extra})
    script = [missed(1.0, "The news at six."), missed(1.2, "Eight."), missed(1.4, "Carry one.", echo=True),
              missed(1.6, "Where am eye?"), missed(1.8, "How long lift?")]
    _, events, printed, _ = run(tmp_path, script)
    cues = [e["text"] for e in events if e["event"] == "speech_start" and e["kind"] == "cue"]
    assert cues.count("not_understood") == 2
    assert printed.count("Sorry, I didn't catch that. Say help to hear what you can say.") == 1


def test_the_coach_gives_way_when_the_user_begins_and_goes_on_after_what_they_said(tmp_path, monkeypatch):
    turns: list[str] = []
    monkeypatch.setattr(SilentSpeaker, "pause_line", lambda self: turns.append("pause"))
    monkeypatch.setattr(SilentSpeaker, "resume_line", lambda self: turns.append("resume"))
    script = [(2.0, ("user_speaking", {})), (2.5, Heard("how long left", "time_left", audio_end=1002.4)),
              (2.6, ("user_quiet", {}))]
    outcome, events, _, _ = run(tmp_path, script)
    assert outcome.completed and turns == ["pause", "resume"]
    assert [e["event"] for e in events if e["event"] in ("user_speaking", "heard", "user_quiet")] == [
        "user_speaking", "heard", "user_quiet"]
